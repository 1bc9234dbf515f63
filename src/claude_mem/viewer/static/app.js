// claude-mem viewer: the live feed, the live status panel and keyboard shortcuts.
// Plain script, no dependencies, no build. Stored text is only ever set as textContent.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const feed = $("feed");
  const statusBox = $("status");
  const live = $("live");
  const pauseButton = $("pause");
  let source = null;
  let paused = false;
  let held = [];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === "") continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function when(epoch, withSeconds) {
    if (!epoch) return "-";
    const d = new Date(epoch * 1000);
    const today = new Date().toDateString() === d.toDateString();
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: withSeconds ? "2-digit" : undefined });
    return today ? time : d.toLocaleDateString() + " " + time;
  }

  function timeTag(epoch) {
    return el("time", { datetime: new Date(epoch * 1000).toISOString() }, when(epoch));
  }

  function mark(kind) {
    return el("span", { class: "mark mark-" + kind }, kind);
  }

  // -- the feed ------------------------------------------------------------------------

  function filters() {
    const params = new URLSearchParams();
    for (const id of ["project", "type"]) {
      const value = $(id) && $(id).value;
      if (value) params.set(id, value);
    }
    return params;
  }

  function groupFor(item, live) {
    let group = $("session-" + item.session_id);
    if (!group) {
      group = el("section", { class: "session", id: "session-" + item.session_id, "aria-label": "Session " + item.claude_session_id.slice(0, 8) },
        el("h2", {},
          el("a", { href: "/session/" + item.session_id }, "Session " + item.claude_session_id.slice(0, 8)),
          el("span", { class: "meta" }, item.project + (item.agent && item.agent !== "claude-code" ? " · " + ({ codex: "Codex", gemini: "Gemini CLI" }[item.agent] || item.agent) : ""))),
        el("ol", { class: "items", reversed: "" }));
      if (live) feed.prepend(group); else feed.append(group);
    } else if (live && feed.firstElementChild !== group) {
      feed.prepend(group);  // the session with the newest work goes first
    }
    return group.querySelector(".items");
  }

  // The model's `code` and **bold**, as elements whose text is set as text: nothing in a
  // summary can become markup (the same shapes viewer/markdown.py renders on the pages).
  function inlineMarkdown(text) {
    const nodes = [];
    String(text).split(/(`[^`\n]+`)/).forEach(function (part, i) {
      if (i % 2) { nodes.push(el("code", {}, part.slice(1, -1))); return; }
      part.split(/(\*\*(?=\S)[^*]+?\*\*)/).forEach(function (bit, j) {
        if (j % 2 && bit.length > 4) nodes.push(el("strong", {}, bit.slice(2, -2)));
        else if (bit) nodes.push(bit);
      });
    });
    return nodes;
  }

  function itemNode(item) {
    const body = el("span", { class: "body" },
      el("a", { href: item.link }, (item.kind === "observation" ? "#" + item.id + " " : "") + item.title));
    if (item.kind === "summary" && item.text) body.append(el("span", { class: "text" }, ...inlineMarkdown(item.text)));
    if (item.kind === "observation" && item.subtitle) body.append(el("span", { class: "text" }, item.subtitle));
    if (item.files && item.files.length) body.append(el("span", { class: "files" }, item.files.join(", ")));
    return el("li", { class: "item kind-" + item.kind, id: "item-" + item.key, "data-at": String(item.at) },
      mark(item.type), body, timeTag(item.at));
  }

  function show(item, live) {
    const existing = $("item-" + item.key);
    if (existing && existing.dataset.at === String(item.at)) return;
    const empty = feed.querySelector(".empty");
    if (empty) empty.remove();
    const list = groupFor(item, live);
    const node = itemNode(item);
    if (live) node.classList.add("fresh");
    if (existing) existing.remove();
    if (live) list.prepend(node); else list.append(node);
  }

  function setLive(text, on) {
    if (!live) return;
    live.textContent = text;
    live.classList.toggle("on", !!on);
  }

  async function loadFeed() {
    if (source) source.close();
    held = [];
    const params = filters();
    const query = params.toString();
    history.replaceState(null, "", "/" + (query ? "?" + query : ""));
    const response = await fetch("/api/feed?" + query, { credentials: "same-origin" });
    if (!response.ok) {
      feed.replaceChildren(el("p", { class: "empty" }, "Could not load the feed (" + response.status + ")."));
      return;
    }
    const data = await response.json();
    feed.replaceChildren();
    for (const item of data.items) show(item, false);
    if (!data.items.length) feed.append(el("p", { class: "empty" }, "Nothing stored yet. Memory appears here as Claude Code works."));
    connect(params, data.cursor);
  }

  function connect(params, cursor) {
    params.set("p", cursor.prompt);
    params.set("o", cursor.observation);
    params.set("s", cursor.summary);
    source = new EventSource("/api/events?" + params.toString());
    source.onopen = () => setLive(paused ? "paused" : "live", !paused);
    source.onerror = () => setLive("reconnecting…", false);
    source.addEventListener("item", (event) => {
      if (!feed) return;
      const item = JSON.parse(event.data);
      if (paused) {
        held.push(item);
        setLive("paused — " + held.length + " new", false);
      } else {
        show(item, true);
      }
    });
    source.addEventListener("status", (event) => renderStatus(JSON.parse(event.data)));
  }

  function togglePause() {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      for (const item of held) show(item, true);
      held = [];
    }
    setLive(paused ? "paused" : "live", !paused);
  }

  // -- the status panel (the same report as `claude-mem status --json`) ---------------

  function number(n) {
    return Number(n || 0).toLocaleString();
  }

  function bytes(n) {
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MB";
    if (n >= 1024) return (n / 1024).toFixed(0) + " KB";
    return n + " B";
  }

  function meter(used, cap) {
    const share = cap ? Math.min(1, used / cap) : 0;
    const bar = el("span", { class: "meter", role: "img", "aria-label": Math.round(share * 100) + "% of the cap" }, el("span"));
    bar.firstChild.style.width = (share * 100).toFixed(1) + "%";
    return bar;
  }

  function renderStatus(r) {
    if (!statusBox) return;
    const rows = [];
    const row = (label, id, ...value) => rows.push(el("dt", {}, label), el("dd", { id: "status-" + id }, ...value));
    const w = r.worker || {};
    if (w.running) {
      row("Worker", "worker", el("span", { class: "ok" }, "running"), ", pid " + w.pid + ", " + number(w.processed) + " events processed");
    } else if (w.lock_held) {
      row("Worker", "worker", el("span", { class: "warn" }, "not answering"), " (pid " + (w.pid || "?") + " holds the lock): starting, or hung if this persists");
    } else {
      row("Worker", "worker", el("span", { class: "meta" }, "not running"), " — it starts with the next hook event");
    }
    if (!r.queue) {
      row("Memory", "memory", r.note || "no database yet");
    } else {
      const q = r.queue;
      const oldest = q.oldest_pending_at ? ", oldest " + when(q.oldest_pending_at, true) + " (" + Math.max(0, Math.round(Date.now() / 1000 - q.oldest_pending_at)) + "s ago)" : "";
      row("Queue", "queue", el("span", { class: q.pending ? "warn" : "ok" }, number(q.pending) + " pending"), oldest, r.spooled ? ", " + r.spooled + " spooled" : "");
      const parked = el("span", { class: q.parked ? "bad" : "ok" }, number(q.parked) + " parked");
      const reasons = (r.parked || []).slice(0, 3).map((p) => el("span", { class: "files" }, "#" + p.id + " " + p.event + ": " + (p.last_error || "")));
      row("Parked", "parked", parked, ...reasons);
      row("Compressor", "compressor", (w.running && w.compressor) || r.compressor || "-");
      const today = r.llm_today || { calls: 0, tokens: 0 };
      const caps = r.llm_caps || {};
      const busiest = (r.llm_usage_by_session || [])[0];
      const llm = [number(today.calls) + " calls, " + number(today.tokens) + " tokens today"];
      if (busiest) {
        llm.push(el("span", { class: "files" }, "latest session " + busiest.claude_session_id.slice(0, 8) + ": " + number(busiest.calls) + " / " + number(caps.calls_per_session) + " calls, " + number(busiest.tokens) + " / " + number(caps.tokens_per_session) + " tokens"));
        llm.push(meter(busiest.tokens, caps.tokens_per_session));
      } else {
        llm.push(el("span", { class: "files" }, "caps per session: " + number(caps.calls_per_session) + " calls, " + number(caps.tokens_per_session) + " tokens"));
      }
      row("LLM", "llm", ...llm);
      const c = r.counts || {};
      row("Memory", "memory", number(c.sessions) + " sessions (" + number(c.active_sessions) + " active), " + number(c.observations) + " observations, " + number(c.summaries) + " summaries");
      row("Database", "database", bytes(r.database_bytes || 0));
    }
    for (const line of (r.recent_errors || []).slice(-2)) row("Error", "error", el("span", { class: "bad" }, line));
    statusBox.replaceChildren(el("dl", { class: "status-list" }, ...rows),
      el("p", { class: "meta" }, "updated " + new Date().toLocaleTimeString()));
  }

  async function statusOnly() {
    // The status page: the same stream, starting from now, only for its status events.
    const response = await fetch("/api/feed?limit=1", { credentials: "same-origin" });
    if (response.ok) connect(new URLSearchParams({ type: "summary" }), (await response.json()).cursor);
  }

  // -- keyboard ------------------------------------------------------------------------

  function typing(target) {
    return target && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "/") {
      event.preventDefault();
      $("q").focus();
    } else if (event.key === "p" && pauseButton) {
      togglePause();
    } else if ((event.key === "j" || event.key === "k") && feed) {
      const links = Array.from(feed.querySelectorAll(".item .body > a"));
      if (!links.length) return;
      const at = links.indexOf(document.activeElement);
      const next = event.key === "j" ? Math.min(links.length - 1, at + 1) : Math.max(0, at - 1);
      links[next].focus();
    }
  });

  if (feed) {
    const params = new URLSearchParams(location.search);
    for (const id of ["project", "type"]) if ($(id) && params.get(id)) $(id).value = params.get(id);
    $("filters").addEventListener("change", loadFeed);
    $("filters").addEventListener("submit", (event) => { event.preventDefault(); loadFeed(); });
    pauseButton.addEventListener("click", togglePause);
    loadFeed();
  } else if (statusBox) {
    statusOnly();
  }
})();
