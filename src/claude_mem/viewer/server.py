"""The viewer's HTTP server: pages, JSON, and a live stream of what memory is being made.

Contract:
- Runs in its own process (``python -m claude_mem.viewer``, see ``process.py``), bound to
  ``127.0.0.1:viewer_port`` only, on the standard library's threading HTTP server.
- Every request passes ``access.check`` first (Host, Origin, Sec-Fetch-Site, then the
  owner's token as cookie, bearer header or ``?token=``); refused requests get 401/403
  and nothing else. A page opened with ``?token=`` gets the cookie and is redirected to
  the same address without it. GET and HEAD read; the one write is POST ``/settings``
  from the page's own form (``access.check_write``: our exact Origin, a form, the form key,
  through the CLI's checked ``config.set_value``); anything else gets 405. The viewer
  never writes to the database.
- Input is bounded: numbers must be whole and in range, ids beyond SQLite's integers are
  simply not found, search text is at most ``MAX_QUERY_CHARS``; a bad value gets a 400
  with a sentence saying what is expected, never a 500 or a traceback.
- Pages: ``/`` live feed and status panel, ``/session/ID`` timeline, ``/obs/ID``,
  ``/search``, ``/status``, ``/settings``; ``/static/`` the stylesheet and script.
  JSON under ``/api/``: ``feed``, ``events`` (server-sent events: ``item`` for each
  prompt, observation or summary as it is stored, ``status`` when anything changed),
  ``status`` (``health.status()``, the same report as ``claude-mem status --json``),
  ``search``, ``sessions``, ``sessions/ID``, ``observations/ID``, ``settings``.
- New rows are noticed by one thread polling ``PRAGMA data_version`` (it changes on every
  commit by another connection: the hooks' and the worker's), which wakes the streams.
- Connections are bounded (``limits``): at most 32 at once (one more gets a 503), closed
  after 10 s without a byte either way, and a request must be in within 30 s.
- The process exits on SIGTERM, when its data dir disappears, or after ``IDLE_EXIT_SECONDS``
  with no request and no open stream.

Why one module over 400 lines: the access door (token, cookie, Host/Origin, form key)
and every route live together, so no route can be added that skips the door.
"""
from __future__ import annotations

import errno
import json
import math
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from claude_mem import config, log
from claude_mem.models import OBSERVATION_TYPES
from claude_mem.viewer import access, pages
from claude_mem.viewer.limits import BoundedConnections, DeadlineHandler

MAX_QUERY_CHARS = 1000        # search text; longer is refused (and i8's reduction trims terms)
MAX_PARAM_CHARS = 2000        # any other query-string value
MAX_ID = 2**63 - 1            # SQLite's largest integer: beyond it nothing can exist
MAX_FORM_BYTES = 8192         # the settings form
REFUSAL_LOG_SECONDS = 10.0
IDLE_EXIT_SECONDS = 12 * 3600
STATUS_EVERY_SECONDS = 5.0    # the stream's status refresh when nothing was committed
POLL_SECONDS = 0.25           # how often the change watcher asks SQLite for data_version
STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
STATIC_TYPES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not "no-referrer": with it, browsers send "Origin: null" on the settings form's POST.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class BadRequest(Exception):
    status = 400


class NotFound(Exception):
    status = 404


def settings_editable() -> bool:
    """The page can change settings only through the CLI's own checked writer (config.set_value)."""
    return hasattr(config, "set_value") and hasattr(config, "unset_value")


def whole_number(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def record_id(raw: str, what: str) -> int:
    """An id from the path; anything that cannot be a stored id is simply not found."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_ID:
        raise NotFound(f"no {what} {raw[:40]!r}")
    return int(raw)


def moment(raw: str | None, name: str) -> float:
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a time in seconds") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be a time in seconds")
    return value


def feed_filters(query: dict) -> dict:
    """The feed's project and type filters as arguments of ``Store.feed``."""
    project = query.get("project") or None
    type_ = query.get("type") or ""
    if type_ and type_ not in pages.FEED_TYPES:
        raise BadRequest(f"type must be one of: {', '.join(pages.FEED_TYPES)}")
    if type_ in ("prompt", "summary"):
        return {"project": project, "kinds": (type_,), "obs_type": None}
    if type_ in OBSERVATION_TYPES:
        return {"project": project, "kinds": ("observation",), "obs_type": type_}
    return {"project": project, "kinds": ("prompt", "observation", "summary"), "obs_type": None}


def feed_item(item: dict) -> dict:
    """One row of the live feed, with only what the page shows."""
    kind = item["kind"]
    out = {"kind": kind, "id": item["id"], "key": f"{kind}-{item['id']}", "at": item["at"],
           "session_id": item["session_id"], "claude_session_id": item["claude_session_id"],
           "project": item["project"], "prompt_number": item.get("prompt_number") or 0}
    if kind == "prompt":
        out.update(type="prompt", title=item["prompt"][:400], files=[],
                   link=f"/session/{item['session_id']}#prompt-{out['prompt_number']}")
    elif kind == "observation":
        files = list(dict.fromkeys([*item["files_modified"], *item["files_read"]]))
        out.update(type=item["type"], title=item["title"], subtitle=item["subtitle"][:300],
                   files=files[:8], link=f"/obs/{item['id']}")
    else:
        text = item["completed"] or item["learned"] or item["investigated"] or ""
        out.update(type="summary", title=item["request"][:300], text=text[:400],
                   files=item["files_edited"][:8], updated_at=item["updated_at"],
                   link=f"/session/{item['session_id']}#summary-{out['prompt_number']}")
    return out


def status_report() -> dict:
    """``claude-mem status --json``'s report, with its text form for the page's first paint."""
    from claude_mem import health

    report = health.status()
    report["text"] = health.format_status(report)
    return report


def _open_store():
    from claude_mem.store import open_store

    return open_store()


class Changes:
    """Notices commits by other processes and wakes whoever waits for one."""

    def __init__(self):
        self.generation = 0
        self.condition = threading.Condition()
        self.stopping = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._watch, name="changes", daemon=True).start()

    def _watch(self) -> None:
        store = None
        last = None
        while not self.stopping.wait(POLL_SECONDS):
            try:
                store = store or _open_store()
                version = store.data_version()
            except Exception as exc:  # the database is being replaced or is locked: retry
                log.warning(f"viewer: cannot watch the database ({exc!r})")
                if store is not None:
                    store.close()
                store = None
                self.stopping.wait(2.0)
                continue
            if version != last:
                last = version
                with self.condition:
                    self.generation += 1
                    self.condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        with self.condition:
            self.condition.wait_for(lambda: self.generation != seen or self.stopping.is_set(), timeout)
            return self.generation


class ViewerServer(BoundedConnections, ThreadingHTTPServer):
    """The viewer's server; ``limits`` bounds its connections (the numbers may be given)."""

    daemon_threads = True

    def __init__(self, address, secret: str, **limits):
        for name, value in limits.items():  # idle_seconds, request_seconds, max_connections
            setattr(self, name, value)
        super().__init__(address, Handler)
        self.secret = secret
        self.changes = Changes()
        self.streams = 0
        self.last_request = time.monotonic()
        self.refused = 0
        self.refusal_logged_at = -REFUSAL_LOG_SECONDS


class Handler(DeadlineHandler, BaseHTTPRequestHandler):
    server_version = "claude-mem-viewer"
    server: ViewerServer

    def log_message(self, fmt, *args):  # quiet: stderr is /dev/null; errors go to the log
        return

    # -- answering -----------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, text: str, status: int = 200) -> None:
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8")

    def _json(self, value, status: int = 200) -> None:
        self._send(status, json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _problem(self, status: int, message: str) -> None:
        if self.path.startswith("/api/"):
            self._json({"error": message}, status)
        else:
            self._html(pages.error_page(status, message), status)

    def _not_allowed(self):
        self._send(405, b"claude-mem's viewer only reads: GET and HEAD\n",
                   "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.server.last_request = time.monotonic()
        url = urlsplit(self.path)
        try:
            query = self._query(url.query)
        except BadRequest as exc:
            if self._admit(url.path, None) is not None:  # strangers learn nothing, not even that
                self._problem(400, str(exc))
            return
        decision = self._admit(url.path, query.pop("token", None))
        if decision is None:
            return
        if decision.set_cookie and not url.path.startswith("/api/"):
            # Trade the token in the address for a cookie, and drop it from the address bar.
            target = url.path + (f"?{urlencode(query)}" if query else "")
            return self._send(303, b"", "text/plain", {"Location": target,
                                                       "Set-Cookie": decision.set_cookie})
        parts = [p for p in url.path.split("/") if p]
        try:
            self._route(parts, query)
        except (BadRequest, NotFound) as exc:
            self._problem(exc.status, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # one bad request must not stop the viewer, nor show a trace
            import traceback

            log.error(f"viewer {url.path!r}: {exc!r}\n{traceback.format_exc()}")
            self._problem(500, "the viewer failed on this request; the details are in the log")

    def _admit(self, path: str, query_token: str | None) -> access.Decision | None:
        """Apply ``access.check``; None when the request was refused (and answered)."""
        decision = access.check(
            port=self.server.server_address[1], secret=self.server.secret,
            host=self.headers.get("Host"), origin=self.headers.get("Origin"),
            fetch_site=self.headers.get("Sec-Fetch-Site"), cookie_header=self.headers.get("Cookie"),
            authorization=self.headers.get("Authorization"), query_token=query_token)
        if decision.ok:
            return decision
        self._refuse(path, decision)
        return None

    def _refuse(self, path: str, decision: access.Decision) -> None:
        # At most one log line per REFUSAL_LOG_SECONDS: someone knocking in a loop must not
        # rotate the useful lines out of the log.
        server = self.server
        server.refused += 1
        now = time.monotonic()
        if now - server.refusal_logged_at >= REFUSAL_LOG_SECONDS:
            log.info(f"viewer refused {server.refused} request(s); the latest: {self.command} "
                     f"{path[:120]!r} ({decision.reason})")
            server.refused, server.refusal_logged_at = 0, now
        if path.startswith("/api/"):
            return self._json({"error": f"no access: {decision.reason}"}, decision.status)
        self._send(decision.status, pages.refused_page(decision.reason).encode(),
                   "text/html; charset=utf-8")

    def do_POST(self):
        """The one change the viewer makes: a setting, from its own settings form."""
        self.server.last_request = time.monotonic()
        url = urlsplit(self.path)
        if url.path != "/settings" or not settings_editable():
            return self._not_allowed()
        if url.query:  # the key never travels in a change's address
            return self._problem(400, "a change takes no query string")
        if self._admit(url.path, None) is None:
            return
        length = self.headers.get("Content-Length") or ""
        if not (length.isascii() and length.isdigit()) or int(length) > MAX_FORM_BYTES:
            return self._problem(413, f"a change is a form of at most {MAX_FORM_BYTES} bytes")
        body = self.rfile.read(int(length))
        try:
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True,
                                                   max_num_fields=10).items()}
        except (UnicodeDecodeError, ValueError):
            return self._problem(400, "the form could not be read")
        decision = access.check_write(
            port=self.server.server_address[1], secret=self.server.secret,
            origin=self.headers.get("Origin"), content_type=self.headers.get("Content-Type"),
            form_field=form.get("form_key"))
        if not decision.ok:
            return self._refuse(url.path, decision)
        name, value = form.get("name", ""), form.get("value", "")
        if name in getattr(config, "SECRET_SETTINGS", ()) and form.get("action") != "reset" and not value:
            return self._html(pages.settings_page(**self._settings(), error=f"not saved: type the new "
                                                  f"{name} (the page never shows the old one)"), 400)
        try:
            if form.get("action") == "reset":
                config.unset_value(name)
            else:
                config.set_value(name, value)
        except (KeyError, ValueError, getattr(config, "SettingsFileError", ValueError)) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return self._html(pages.settings_page(**self._settings(), error=f"not saved: {message}"), 400)
        log.info(f"viewer: setting {name} changed from the settings page")
        from claude_mem import control

        # As `claude-mem config set` does: the worker reads settings at start, so stop it
        # and the next hook event starts one with the new value.
        restarted = control.worker_lock_held() and control.stop_worker()
        self._send(303, b"", "text/plain", {"Location": f"/settings?saved={name}"
                                                        + ("&restarted=1" if restarted else "")})

    @staticmethod
    def _query(text: str) -> dict:
        if len(text) > 8 * MAX_PARAM_CHARS:
            raise BadRequest("the query string is too long")
        try:
            values = parse_qs(text, keep_blank_values=True, strict_parsing=False,
                              max_num_fields=20)
        except ValueError:
            raise BadRequest("too many query parameters") from None
        query = {name: items[-1] for name, items in values.items()}
        for name, value in query.items():
            limit = MAX_QUERY_CHARS if name == "q" else MAX_PARAM_CHARS
            if len(value) > limit:
                raise BadRequest(f"{name} is too long (at most {limit} characters)")
            if "\x00" in value:
                raise BadRequest(f"{name} contains a NUL character")
        return query

    # -- routing -------------------------------------------------------------------------

    def _route(self, parts: list[str], query: dict) -> None:
        if parts[:1] == ["api"]:
            return self._api(parts[1:], query)
        if parts[:1] == ["static"] and len(parts) == 2 and parts[1] in STATIC_TYPES:
            with open(os.path.join(STATIC_DIR, parts[1]), "rb") as fh:
                return self._send(200, fh.read(), STATIC_TYPES[parts[1]])
        if parts == ["favicon.ico"]:
            return self._send(204, b"", "image/x-icon")
        if not parts:
            filters = feed_filters(query)  # validates; the script reads them from the address
            with _open_store() as store:
                projects = store.projects_by_recency()
            return self._html(pages.feed_page(projects, status_report()["text"],
                                              project=filters["project"] or "",
                                              type_=query.get("type") or ""))
        if parts == ["status"]:
            return self._html(pages.status_page(status_report()["text"]))
        if parts == ["settings"]:
            saved = query.get("saved", "")
            notice = (f"{saved} saved" + ("; the worker was stopped and restarts with it on the next "
                                          "event" if query.get("restarted") else "")) if saved else ""
            return self._html(pages.settings_page(**self._settings(), notice=notice))
        if parts == ["search"]:
            return self._html(pages.search_page(**self._search(query)))
        if len(parts) == 2 and parts[0] == "session":
            with _open_store() as store:
                return self._html(pages.session_page(self._session(store, parts[1])))
        if len(parts) == 2 and parts[0] == "obs":
            with _open_store() as store:
                obs, session, neighbours = self._observation(store, parts[1])
            return self._html(pages.observation_page(obs, session, neighbours))
        raise NotFound("no such page")

    def _api(self, parts: list[str], query: dict) -> None:
        if parts == ["events"]:
            return self._events(query)
        if parts == ["status"]:
            return self._json(status_report())
        if parts == ["settings"]:
            return self._json({k: v for k, v in self._settings().items() if k not in ("form_key", "secret")})
        if parts == ["search"]:
            found = self._search(query)
            hits = [{**hit, "link": pages.result_link(hit),
                     "snippet_html": pages.highlighted(found["snippets"].get((hit["kind"], hit["id"]), ""))}
                    for hit in found["hits"]]
            return self._json(hits)
        with _open_store() as store:
            if parts == ["feed"]:
                filters = feed_filters(query)
                limit = whole_number(query.get("limit"), "limit", 100, 1, 500)
                cursor = store.feed_cursor()
                items = [feed_item(i) for i in store.feed(**filters, limit=limit)]
                return self._json({"items": items, "cursor": cursor})
            if parts == ["sessions"]:
                limit = whole_number(query.get("limit"), "limit", 50, 1, 500)
                return self._json(store.sessions(query.get("project") or None, limit))
            if len(parts) == 2 and parts[0] == "sessions":
                return self._json(self._session(store, parts[1]))
            if len(parts) == 2 and parts[0] == "observations":
                obs, _, (before, after) = self._observation(store, parts[1])
                return self._json({**obs, "previous": before, "next": after})
        raise NotFound("no such endpoint")

    # -- what the pages and the API share ------------------------------------------------

    @staticmethod
    def _session(store, raw: str) -> dict:
        session_id = record_id(raw, "session")
        if store.session(session_id) is None:
            raise NotFound(f"no session {session_id}")
        return store.session_detail(session_id)

    @staticmethod
    def _observation(store, raw: str):
        obs_id = record_id(raw, "observation")
        obs = store.observation(obs_id)
        if obs is None:
            raise NotFound(f"no observation {obs_id}")
        session = store.session(obs["session_id"])
        around = store.observations_around(obs["session_id"], obs_id, 1, 1)
        return obs, session, ((around["earlier"] or [None])[-1], (around["later"] or [None])[0])

    @staticmethod
    def _search(query: dict) -> dict:
        q = query.get("q", "")
        project = query.get("project") or ""
        type_ = query.get("type") or ""
        kinds = ("observation", "summary", "prompt")
        if type_ and type_ not in kinds:
            raise BadRequest(f"type must be one of: {', '.join(kinds)}")
        limit = whole_number(query.get("limit"), "limit", 30, 1, 100)
        mode = query.get("mode") or None
        if mode is not None and mode not in ("words", "meaning", "both"):
            raise BadRequest("mode must be one of: words, meaning, both")
        from claude_mem import semantic
        from claude_mem.semantic.base import SemanticUnavailable

        with _open_store() as store:
            projects = store.projects_by_recency()
            hits, snippets = [], {}
            if q.strip():
                try:
                    hits = semantic.search(store, q, mode=mode, project=project or None,
                                           kinds=(type_,) if type_ else kinds, limit=limit)
                except SemanticUnavailable as exc:
                    raise BadRequest(str(exc)) from None
                snippets = store.search_snippets(q, hits, start=pages.MATCH_START,
                                                 end=pages.MATCH_END)
        return {"q": q, "project": project, "type_": type_, "hits": hits, "snippets": snippets,
                "projects": projects, "limit": limit, "mode": mode or ""}

    def _settings(self) -> dict:
        settings = config.load()
        # The CLI's settings schema (config.SCHEMA: name -> Setting) says what each one means.
        descriptions = {}
        for name, spec in (getattr(config, "SCHEMA", None) or {}).items():
            allowed = getattr(spec, "allowed", None)
            descriptions[name] = " ".join(filter(None, (
                getattr(spec, "help", ""), f"({allowed()})" if callable(allowed) else "")))
        # Secrets (a team database URL's password) are masked as `claude-mem config` masks them.
        shown = getattr(config, "display_value", lambda name, value: value)
        return {"values": {name: shown(name, value) for name, value in settings.as_dict().items()},
                "secret": set(getattr(config, "SECRET_SETTINGS", ())),
                "defaults": dict(config.DEFAULTS),
                "problems": list(settings.problems), "descriptions": descriptions,
                "form_key": access.form_key(self.server.secret) if settings_editable() else None}

    # -- the live stream -----------------------------------------------------------------

    def _events(self, query: dict) -> None:
        filters = feed_filters(query)
        # Where the page stands: from the browser's Last-Event-ID on a reconnect, else ?p=&o=&s=.
        last = (self.headers.get("Last-Event-ID") or "").split("_")
        if len(last) == 3:
            query = {**query, "p": last[0], "o": last[1], "s": last[2]}
        after_prompt = whole_number(query.get("p"), "p", 0, 0, MAX_ID)
        after_obs = whole_number(query.get("o"), "o", 0, 0, MAX_ID)
        summaries_at = moment(query.get("s"), "s")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        changes = self.server.changes
        self.server.streams += 1
        # Summaries are rewritten in place and stamped with the time their event arrived,
        # so look a little back and skip the versions already shown.
        seen_summaries: dict[int, float] = {}
        window = 300.0
        try:
            self.wfile.write(b"retry: 2000\n\n")
            with _open_store() as store:
                for item in store.feed(kinds=("summary",), summaries_since=max(0.0, summaries_at - window),
                                       limit=500):
                    if item["updated_at"] <= summaries_at:
                        seen_summaries[item["id"]] = item["updated_at"]
                generation = changes.generation  # read before the query: no commit is missed
                changed, status_at = True, 0.0
                while not changes.stopping.is_set():
                    fresh = []
                    for item in reversed(store.feed(**filters, after_prompt=after_prompt,
                                                    after_observation=after_obs,
                                                    summaries_since=max(0.0, summaries_at - window),
                                                    limit=200)):
                        if item["kind"] == "summary":
                            if seen_summaries.get(item["id"]) == item["updated_at"]:
                                continue
                            seen_summaries[item["id"]] = item["updated_at"]
                        fresh.append(item)
                    # The cursor moves over everything stored, filtered out or not.
                    cursor = store.feed_cursor()
                    after_prompt, after_obs = cursor["prompt"], cursor["observation"]
                    summaries_at = max(summaries_at, cursor["summary"])
                    event_id = f"{after_prompt}_{after_obs}_{summaries_at!r}"
                    out = [f"event: item\nid: {event_id}\ndata: "
                           f"{json.dumps(feed_item(i), ensure_ascii=False)}\n\n" for i in fresh]
                    now = time.monotonic()
                    if changed or now - status_at >= STATUS_EVERY_SECONDS:
                        out.append(f"event: status\nid: {event_id}\ndata: "
                                   f"{json.dumps(status_report(), ensure_ascii=False, default=str)}\n\n")
                        status_at = now
                    self.wfile.write("".join(out).encode("utf-8") if out else b": still here\n\n")
                    self.wfile.flush()
                    latest = changes.wait(generation, STATUS_EVERY_SECONDS)
                    changed, generation = latest != generation, latest
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the page was closed
        finally:
            self.server.streams -= 1


def bind_problem(port: int, exc: OSError) -> str:
    """Why the viewer could not listen, in words a person can act on."""
    if exc.errno == errno.EADDRINUSE:
        holder = _port_holder(port)
        return (f"127.0.0.1:{port} is already in use{f' by {holder}' if holder else ' by another program'}"
                f"; choose another port with `claude-mem config set viewer_port N`")
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port} ({exc.strerror}); choose a port above 1024"
    return f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"


def _port_holder(port: int) -> str:
    """Best effort: the process listening on a local TCP port (Linux, our own processes)."""
    try:
        inodes = set()
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(name) as fh:
                for line in fh.read().splitlines()[1:]:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{fields[9]}]")
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                    with open(f"/proc/{pid}/cmdline", "rb") as fh:
                        command = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
                    return f"pid {pid} ({command[:80]})"
            except OSError:
                continue
    except (OSError, ValueError, IndexError):
        pass
    return ""


def _say(line: str) -> None:
    """Tell the starting ``claude-mem viewer`` how it went (one line on the pipe)."""
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError:
        pass


def main() -> int:
    import fcntl

    from claude_mem.viewer import process

    os.umask(0o077)
    config.ensure_data_dir()
    lock_fd = os.open(process.lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        _say("running")
        return 0
    port = int(config.load().viewer_port)
    if port <= 0:
        _say("error the viewer is turned off (viewer_port is 0)")
        return 1
    taken_by = None
    try:
        server = ViewerServer(("127.0.0.1", port), access.token())
    except OSError as exc:
        server = None
        if exc.errno == errno.EADDRINUSE:
            # Typically another data dir's viewer (a second memory, the demo's --keep copy):
            # this one takes a free port for itself instead, and the stored setting is left
            # alone, so each data dir keeps its own configuration.
            taken_by = _port_holder(port) or "another program"
            try:
                server = ViewerServer(("127.0.0.1", 0), access.token())
            except OSError:
                server = None
        if server is None:
            reason = bind_problem(port, exc)
            log.warning(f"viewer not started: {reason}")
            _say("error " + reason)
            return 1
    wanted, port = port, server.server_address[1]
    state = process.state_path()
    with open(state + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({"pid": os.getpid(), "port": port, "started_at": time.time(),
                   **({"viewer_port": wanted, "taken_by": taken_by} if taken_by else {})}, fh)
    os.replace(state + ".tmp", state)
    log.info(f"viewer on http://127.0.0.1:{port}/ (pid {os.getpid()})")
    _say(f"ready {port}")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)

    def stop(*_):
        server.changes.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    server.changes.start()

    def leave_when_idle():
        while not server.changes.stopping.wait(30.0):
            idle = time.monotonic() - server.last_request
            if not os.path.isdir(config.data_dir()):
                log.info("viewer: the data dir is gone, exiting")
                return stop()
            if server.streams == 0 and idle > IDLE_EXIT_SECONDS:
                log.info(f"viewer idle for {idle:.0f}s, exiting")
                return stop()

    threading.Thread(target=leave_when_idle, name="idle", daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.changes.stopping.set()
        server.server_close()
        try:
            with open(state, encoding="utf-8") as fh:
                if json.load(fh).get("pid") == os.getpid():
                    os.unlink(state)
        except (OSError, ValueError):
            pass
        log.info("viewer stopped")
    return 0
