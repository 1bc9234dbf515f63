"""The viewer's HTML pages, rendered on the server from what the store returns.

Contract: pure functions from dicts to ``str`` (no I/O). Every stored text goes through
``esc`` (HTML-escaped), so memory that contains markup shows as text and never runs; the
model's prose (summaries, replies, narratives) goes through ``markdown.to_html``, which escapes
everything first and then adds only attribute-free tags (bold, code, lists).
Pages link one stylesheet and one script from ``/static/`` (served locally, no CDN); they
work without the script, which only adds the live feed, the status panel's updates and
keyboard shortcuts.
"""
from __future__ import annotations

import html
import json
import time

from claude_mem.models import OBSERVATION_TYPES
from claude_mem.text import when
from claude_mem.viewer import markdown

# What the type filter offers: prompts, summaries, then each observation type.
FEED_TYPES = ("prompt", "summary", *OBSERVATION_TYPES)
# Markers the store puts around matched words in FTS5 snippets; made into <mark> here.
MATCH_START, MATCH_END = "\x02", "\x03"


def esc(value) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def time_tag(epoch) -> str:
    if not epoch:
        return ""
    iso = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))
    return f"<time datetime='{iso}'>{when(epoch)}</time>"


def mark(kind: str) -> str:
    """The small coloured label that says what a line is (prompt, summary, bugfix, ...)."""
    return f"<span class='mark mark-{esc(kind)}'>{esc(kind)}</span>"


def highlighted(snippet: str) -> str:
    """An FTS5 snippet as HTML: the text escaped, the matched words in <mark>."""
    return (esc(snippet).replace(MATCH_START, "<mark>").replace(MATCH_END, "</mark>"))


def layout(title: str, body: str, *, active: str = "", query: str = "", data: dict | None = None) -> str:
    nav = "".join(
        f"<a href='{href}'{' aria-current=page' if name == active else ''}>{label}</a>"
        for name, href, label in (("feed", "/", "Feed"), ("search", "/search", "Search"),
                                  ("status", "/status", "Status"), ("settings", "/settings", "Settings")))
    boot = (f"<script type='application/json' id='boot'>{_script_json(data)}</script>"
            if data is not None else "")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='color-scheme' content='light dark'>"
        f"<title>{esc(title)} · claude-mem</title>"
        "<link rel='stylesheet' href='/static/style.css'>"
        "<script src='/static/app.js' defer></script></head><body>"
        "<a class='skip' href='#main'>Skip to content</a>"
        "<header><a class='brand' href='/'>claude-mem</a>"
        f"<nav aria-label='Pages'>{nav}</nav>"
        "<form class='quick-search' action='/search' role='search'>"
        "<label class='sr' for='q'>Search memory</label>"
        f"<input id='q' name='q' type='search' value='{esc(query)}' placeholder='Search memory  ( / )' "
        "autocomplete='off' maxlength='1000'></form></header>"
        f"<main id='main' tabindex='-1'>{body}</main>{boot}</body></html>"
    )


def _script_json(data) -> str:
    # Inside <script>, "</" could end the element: escape it (and friends) in the JSON.
    text = json.dumps(data, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _options(values, selected, everything: str) -> str:
    out = [f"<option value=''>{esc(everything)}</option>"]
    for value in values:
        chosen = " selected" if value == selected else ""
        out.append(f"<option value='{esc(value)}'{chosen}>{esc(value)}</option>")
    return "".join(out)


def feed_page(projects: list[str], status_text: str, *, project: str = "", type_: str = "") -> str:
    body = (
        "<div class='columns'><section class='feed' aria-labelledby='feed-title'>"
        "<div class='toolbar'><h1 id='feed-title'>Live memory</h1>"
        "<form id='filters' class='filters'>"
        "<label>Project <select name='project' id='project'>"
        f"{_options(projects, project, 'all projects')}</select></label>"
        "<label>Type <select name='type' id='type'>"
        f"{_options(FEED_TYPES, type_, 'everything')}</select></label>"
        "<noscript><button>Filter</button></noscript></form>"
        "<button type='button' id='pause' aria-pressed='false'>Pause</button>"
        "<span id='live' class='live' role='status' aria-live='polite'>connecting…</span></div>"
        "<div id='feed' aria-live='polite'><p class='empty'>Loading…</p></div>"
        "<noscript><p>The live feed needs JavaScript; the <a href='/search'>search</a>, "
        "session and observation pages work without it.</p></noscript></section>"
        f"<aside class='status-panel' aria-labelledby='status-title'>{status_panel(status_text)}</aside>"
        "</div>")
    return layout("Live memory", body, active="feed")


def status_panel(status_text: str) -> str:
    # The first paint is `claude-mem status` itself; the script replaces it with a live panel.
    return ("<h2 id='status-title'>Status</h2>"
            f"<div id='status'><pre class='status-text'>{esc(status_text)}</pre></div>")


def status_page(status_text: str) -> str:
    return layout("Status", f"<section class='status-page'>{status_panel(status_text)}</section>",
                  active="status")


def _files(files) -> str:
    if not files:
        return ""
    return "<span class='files'>" + ", ".join(f"<code>{esc(f)}</code>" for f in files) + "</span>"


def _obs_line(obs: dict) -> str:
    files = list(obs.get("files_modified") or []) + list(obs.get("files_read") or [])
    return (f"<li class='obs' id='obs-{obs['id']}'>{mark(obs.get('type'))} "
            f"<a href='/obs/{obs['id']}'>#{obs['id']} {esc(obs.get('title'))}</a> "
            f"{_files(files)} <span class='meta'>{time_tag(obs.get('created_at'))}</span></li>")


def _summary_block(summary: dict) -> str:
    rows = []
    for label, key in (("Request", "request"), ("Investigated", "investigated"),
                       ("Learned", "learned"), ("Completed", "completed"),
                       ("Next steps", "next_steps"), ("Notes", "notes")):
        value = (summary.get(key) or "").strip()
        if value:  # the model writes Markdown: shown as such, every character escaped first
            rows.append(f"<dt>{label}</dt><dd class='md'>{markdown.to_html(value)}</dd>")
    for label, key in (("Files read", "files_read"), ("Files edited", "files_edited")):
        if summary.get(key):
            rows.append(f"<dt>{label}</dt><dd>{_files(summary[key])}</dd>")
    return (f"<div class='summary' id='summary-{summary['prompt_number']}'>"
            f"<h4>{mark('summary')} Summary <span class='meta'>{time_tag(summary.get('updated_at'))}"
            f" · {esc(summary.get('generated_by'))}</span></h4><dl>{''.join(rows)}</dl></div>")


AGENT_NAMES = {"claude-code": "Claude Code", "codex": "Codex", "gemini": "Gemini CLI"}


def session_page(detail: dict) -> str:
    s = detail["session"]
    prompts = detail["prompts"]
    numbers = {p["prompt_number"] for p in prompts}
    steps = []
    loose = [o for o in detail["observations"] if o["prompt_number"] not in numbers]
    loose_summaries = [m for m in detail["summaries"] if m["prompt_number"] not in numbers]
    if loose or loose_summaries:
        steps.append("<li class='step'><h3>Before the first prompt</h3><ol class='observations'>"
                     + "".join(_obs_line(o) for o in loose) + "</ol>"
                     + "".join(_summary_block(m) for m in loose_summaries) + "</li>")
    for prompt in prompts:
        number = prompt["prompt_number"]
        observations = [o for o in detail["observations"] if o["prompt_number"] == number]
        summaries = [m for m in detail["summaries"] if m["prompt_number"] == number]
        steps.append(
            f"<li class='step' id='prompt-{number}'><h3>{mark('prompt')} Prompt {number} "
            f"<span class='meta'>{time_tag(prompt['created_at'])}</span></h3>"
            f"<blockquote class='prompt'>{esc(prompt['prompt'])}</blockquote>"
            + (f"<ol class='observations'>{''.join(_obs_line(o) for o in observations)}</ol>"
               if observations else "<p class='meta'>No observations for this prompt.</p>")
            + "".join(_summary_block(m) for m in summaries) + "</li>")
    status = esc(s["status"]) + (f" ({esc(s['end_reason'])})" if s.get("end_reason") else "")
    body = (
        f"<p class='crumbs'><a href='/?project={esc(s['project'])}'>{esc(s['project'])}</a> ›</p>"
        f"<h1>Session #{s['id']} <code>{esc(s['claude_session_id'][:8])}</code></h1>"
        f"<p class='meta'>{esc(s['project'])} · <code>{esc(s['cwd'])}</code> · "
        f"<span class='agent'>{esc(AGENT_NAMES.get(s.get('agent') or 'claude-code', s.get('agent')))}</span> · "
        f"{status} · started "
        f"{time_tag(s['started_at'])} · last activity {time_tag(s['last_activity_at'])} · "
        f"{len(prompts)} prompts · {len(detail['observations'])} observations · "
        f"runs {s['runs']}</p>"
        f"<ol class='timeline'>{''.join(steps) or '<li>Nothing recorded yet.</li>'}</ol>")
    return layout(f"Session {s['claude_session_id'][:8]}", body)


def observation_page(obs: dict, session: dict, neighbours: tuple) -> str:
    before, after = neighbours
    facts = "".join(f"<li>{esc(f)}</li>" for f in obs.get("facts") or [])
    parts = [
        f"<p class='crumbs'><a href='/?project={esc(obs['project'])}'>{esc(obs['project'])}</a> › "
        f"<a href='/session/{session['id']}#prompt-{obs.get('prompt_number') or 0}'>session "
        f"<code>{esc(session['claude_session_id'][:8])}</code>, prompt {obs.get('prompt_number')}</a></p>",
        f"<h1>{mark(obs['type'])} {esc(obs['title'])}</h1>",
        f"<p class='subtitle'>{esc(obs['subtitle'])}</p>" if obs.get("subtitle") else "",
        f"<p class='meta'>#{obs['id']} · {time_tag(obs['created_at'])} · "
        f"{esc(obs.get('tool_name') or 'no tool')} · {esc(obs.get('generated_by'))}</p>",
        f"<h2>Facts</h2><ul class='facts'>{facts}</ul>" if facts else "",
        f"<h2>Narrative</h2><div class='narrative md'>{markdown.to_html(obs['narrative'])}</div>"
        if obs.get("narrative") else "",
    ]
    for label, key in (("Files modified", "files_modified"), ("Files read", "files_read"),
                       ("Concepts", "concepts")):
        if obs.get(key):
            parts.append(f"<h2>{label}</h2><ul class='files-list'>"
                         + "".join(f"<li><code>{esc(v)}</code></li>" for v in obs[key]) + "</ul>")
    links = []
    if before:
        links.append(f"<a rel='prev' href='/obs/{before['id']}'>← #{before['id']} {esc(before['title'])}</a>")
    links.append(f"<a href='/session/{session['id']}#obs-{obs['id']}'>the whole session</a>")
    if after:
        links.append(f"<a rel='next' href='/obs/{after['id']}'>#{after['id']} {esc(after['title'])} →</a>")
    parts.append(f"<nav class='neighbours' aria-label='Neighbouring observations'>{''.join(links)}</nav>")
    return layout(f"#{obs['id']} {obs['title']}", "".join(parts))


def result_link(hit: dict) -> str:
    if hit["kind"] == "observation":
        return f"/obs/{hit['id']}"
    anchor = "summary" if hit["kind"] == "summary" else "prompt"
    return f"/session/{hit['session_id']}#{anchor}-{hit.get('prompt_number') or 0}"


def search_page(q: str, project: str, type_: str, hits: list[dict], snippets: dict,
                projects: list[str], limit: int, mode: str = "") -> str:
    form = (
        "<form class='search-form' action='/search' role='search'>"
        "<label class='grow'>Words <input name='q' type='search' maxlength='1000' "
        f"value='{esc(q)}'{'' if q else ' autofocus'}></label>"
        f"<label>Project <select name='project'>{_options(projects, project, 'all projects')}</select></label>"
        "<label>Kind <select name='type'>"
        f"{_options(('observation', 'summary', 'prompt'), type_, 'everything')}</select></label>"
        "<label>By <select name='mode'>"
        f"{_options(('words', 'meaning', 'both'), mode, 'default')}</select></label>"
        "<button>Search</button></form>")
    if not q.strip():
        return layout("Search", "<h1>Search</h1>" + form
                      + "<p class='meta'>Any of the words finds a result, more of them and rarer ones rank it "
                      "higher; \"words in double quotes\" match as a phrase; a trailing * matches a "
                      "prefix. With search by meaning installed, results close in meaning come too.</p>",
                      active="search")
    rows = []
    for hit in hits:
        snippet = snippets.get((hit["kind"], hit["id"]))
        label = hit.get("type") if hit["kind"] == "observation" else hit["kind"]
        title = " ".join(str(hit.get("title") or "").split())[:200]
        rows.append(
            f"<li class='hit'>{mark(label)} <a href='{result_link(hit)}'>{esc(title)}</a> "
            f"<span class='meta'>{esc(hit.get('project'))} · "
            f"{time_tag(hit.get('created_at') or hit.get('updated_at'))}</span>"
            + (f"<p class='snippet'>{highlighted(snippet)}</p>" if snippet else
               ("<p class='snippet meta'>close in meaning</p>" if hit.get("matched") == "meaning"
                else "")) + "</li>")
    more = (f"<p class='meta'>Showing the best {limit}; narrow the words or the filters.</p>"
            if len(hits) >= limit else "")
    body = ("<h1>Search</h1>" + form
            + f"<h2>{len(hits)} result{'s' if len(hits) != 1 else ''} for “{esc(q)}”</h2>"
            + (f"<ol class='hits'>{''.join(rows)}</ol>" if rows else "<p>No matches.</p>") + more)
    return layout(f"Search: {q}", body, active="search")


def _setting_value(name: str, value, changed: bool, form_key: str | None, secret: bool) -> str:
    shown = f"<code>{esc(json.dumps(value))}</code>{' <em>(changed)</em>' if changed else ''}"
    if not form_key:
        return shown
    # A secret is shown masked and never put back in the field: saving must not write the mask.
    text = "" if secret else ", ".join(value) if isinstance(value, list) else str(value)
    hidden = (f"<input type='hidden' name='form_key' value='{esc(form_key)}'>"
              f"<input type='hidden' name='name' value='{esc(name)}'>")
    return (f"<form method='post' action='/settings' class='setting-form'>{hidden}"
            f"<input name='value' value='{esc(text)}' aria-label='{esc(name)}' maxlength='2000'"
            + (f" placeholder='{esc(value) or 'not set'} (type a new one)'" if secret else "") + ">"
            f"<button name='action' value='set'>Save</button>"
            + ("<button name='action' value='reset'>Default</button>" if changed else "")
            + f"</form>{' <em>(changed)</em>' if changed else ''}")


def settings_page(values: dict, defaults: dict, problems: list[str], descriptions: dict,
                  form_key: str | None = None, notice: str = "", error: str = "",
                  secret: frozenset | set = frozenset()) -> str:
    rows = []
    for name, value in values.items():
        changed = value != defaults.get(name)
        rows.append(
            f"<tr id='setting-{esc(name)}'{' class=changed' if changed else ''}>"
            f"<th scope='row'><code>{esc(name)}</code></th>"
            f"<td>{_setting_value(name, value, changed, form_key, name in secret)}</td>"
            f"<td><code>{esc(json.dumps(defaults.get(name)))}</code></td>"
            f"<td>{esc(descriptions.get(name, ''))}</td></tr>")
    warn = "".join(f"<p class='warning'>{esc(p)}</p>" for p in problems)
    if error:
        warn = f"<p class='warning' role='alert'>{esc(error)}</p>" + warn
    if notice:
        warn = f"<p class='notice' role='status'>{esc(notice)}</p>" + warn
    how = ("Save writes <code>settings.json</code>, checked as <code>claude-mem config set</code> "
           "checks it (an environment variable still wins)." if form_key else
           "Change one with <code>claude-mem config set NAME VALUE</code>.")
    body = ("<h1>Settings</h1><p class='meta'>The effective settings (defaults &lt; settings.json "
            "&lt; CLAUDE_MEM_* environment), as <code>claude-mem config</code> shows them. "
            f"{how}</p>" + warn
            + "<div class='table-wrap'><table><thead><tr><th>setting</th><th>value</th><th>default</th>"
            "<th>meaning</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")
    return layout("Settings", body, active="settings")


def error_page(status: int, message: str) -> str:
    return layout(str(status), f"<h1>{status}</h1><p>{esc(message)}</p><p><a href='/'>Back to the feed</a></p>")


def refused_page(reason: str) -> str:
    # No stylesheet: the static files are behind the same door.
    return ("<!doctype html><meta charset='utf-8'><title>claude-mem: no access</title>"
            "<h1>No access</h1><p>This viewer opens only for the user whose memory it shows. "
            "Open the address that <code>claude-mem viewer</code> prints (it carries a key) "
            f"in this browser.</p><p><small>{esc(reason)}</small></p>")
