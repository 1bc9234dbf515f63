"""A small read-only web viewer of the memory, served by the worker on 127.0.0.1 only.

Contract:
- ``start_viewer(port)`` binds ``127.0.0.1:port`` (never another interface) and serves
  from a daemon thread; returns the server, or None when the port is taken (logged).
- Pages: ``/`` (projects, recent sessions, summaries and observations; ``?q=`` searches,
  ``?project=`` filters), ``/session/<id>``, ``/obs/<id>``. JSON: ``/api/search?q=``,
  ``/api/sessions``, ``/api/observations/<id>``, ``/api/status``.
- GET and HEAD only. A request whose ``Host`` is not this loopback address and port, or
  that carries a foreign ``Origin``, is refused with 403: a web page elsewhere cannot read
  the memory through the browser (DNS rebinding, cross-site requests).
- Every request opens its own read connection; the viewer never writes.
"""
from __future__ import annotations

import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from claude_mem import log

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}
.meta{color:#777;font-size:.9em}.type{display:inline-block;min-width:5.5em;color:#555}
code{background:#f3f3f3;padding:0 .2em}li{margin:.2em 0}pre{white-space:pre-wrap}
form input{width:60%;padding:.3em}a{color:#0645ad;text-decoration:none}
"""


def _when(epoch) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch)) if epoch else "-"


def _e(value) -> str:
    return html.escape(str(value if value is not None else ""))


def _page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body><p><a href='/'>claude-mem</a></p>{body}"
            "</body></html>").encode()


def _obs_line(obs: dict) -> str:
    files = ", ".join(obs.get("files_modified") or obs.get("files_read") or [])
    return (f"<li><a href='/obs/{obs['id']}'>#{obs['id']}</a> <span class='meta'>"
            f"{_when(obs.get('created_at'))}</span> <span class='type'>{_e(obs.get('type'))}</span> "
            f"{_e(obs.get('title'))} <span class='meta'>{_e(files)}</span></li>")


class Handler(BaseHTTPRequestHandler):
    server_version = "claude-mem-viewer"

    def log_message(self, fmt, *args):  # keep stderr quiet; the worker has its own log
        return

    # -- safety --------------------------------------------------------------------------

    def _allowed(self) -> bool:
        port = self.server.server_address[1]
        allowed_hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in allowed_hosts:
            return False
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower().rstrip("/") not in {f"http://{h}" for h in allowed_hosts}:
            return False
        return True

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value, status: int = 200) -> None:
        self._send(status, json.dumps(value, ensure_ascii=False, default=str).encode(),
                   "application/json; charset=utf-8")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if not self._allowed():
            self._send(403, b"forbidden: claude-mem's viewer answers only to 127.0.0.1\n",
                       "text/plain; charset=utf-8")
            return
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        from claude_mem.store import open_store

        try:
            with open_store() as store:
                self._route(store, parts, query)
        except Exception as exc:  # one bad request must not stop the viewer
            log.error(f"viewer {self.path!r}: {exc!r}")
            self._json({"error": str(exc)}, 500)

    def _route(self, store, parts, query) -> None:
        if parts[:1] == ["api"]:
            return self._api(store, parts[1:], query)
        if not parts:
            return self._send(200, self._home(store, query), "text/html; charset=utf-8")
        if len(parts) == 2 and parts[1].isdigit():
            from claude_mem import render

            if parts[0] == "obs" and (item := store.observation(int(parts[1]))):
                text = render.observation_text(item)
            elif parts[0] == "session" and (row := store.session(int(parts[1]))):
                text = render.session_text(store.session_detail(row["id"]))
            else:
                return self._send(404, _page("not found", "<p>Not found.</p>"), "text/html; charset=utf-8")
            return self._send(200, _page(parts[0], f"<pre>{_e(text)}</pre>"), "text/html; charset=utf-8")
        self._send(404, _page("not found", "<p>Not found.</p>"), "text/html; charset=utf-8")

    def _api(self, store, parts, query) -> None:
        if parts == ["search"]:
            return self._json(store.search(query.get("q", ""), project=query.get("project") or None,
                                           limit=min(int(query.get("limit", 20)), 100)))
        if parts == ["sessions"]:
            return self._json(store.sessions(query.get("project") or None, 100))
        if parts == ["status"]:
            return self._json({"counts": store.counts(), "queue": store.queue_stats()})
        if len(parts) == 2 and parts[0] == "observations" and parts[1].isdigit():
            item = store.observation(int(parts[1]))
            return self._json(item) if item else self._json({"error": "not found"}, 404)
        self._json({"error": "not found"}, 404)

    def _home(self, store, query) -> bytes:
        project = query.get("project") or None
        q = query.get("q", "").strip()
        projects = store.projects_by_recency()
        body = [f"<h1>Memory{(' of ' + _e(project)) if project else ''}</h1>",
                "<form><input name='q' placeholder='search observations, summaries, prompts' "
                f"value='{_e(q)}'>" + (f"<input type='hidden' name='project' value='{_e(project)}'>"
                                       if project else "") + " <button>Search</button></form>",
                "<p class='meta'>Projects: " + " · ".join(
                    f"<a href='/?project={_e(p)}'>{_e(p)}</a>" for p in projects) + "</p>"]
        if q:
            hits = store.search(q, project=project, limit=50)
            body.append(f"<h2>{len(hits)} result(s) for {_e(q)}</h2><ul>")
            for hit in hits:
                if hit["kind"] == "observation":
                    body.append(_obs_line(hit))
                else:
                    body.append(f"<li><span class='type'>{hit['kind']}</span> "
                                f"<a href='/session/{hit['session_id']}'>{_e(hit.get('title'))}</a></li>")
            body.append("</ul>")
        sessions = store.sessions(project, 15)
        body.append("<h2>Sessions</h2><ul>")
        for s in sessions:
            body.append(f"<li><a href='/session/{s['id']}'>{_e(s['claude_session_id'][:8])}</a> "
                        f"<span class='meta'>{_when(s['started_at'])} · {_e(s['project'])} · "
                        f"{_e(s['status'])} · {s['observation_count']} observations</span> "
                        f"{_e((s['first_prompt'] or '')[:100])}</li>")
        body.append("</ul>")
        if project:
            body.append("<h2>Recent observations</h2><ul>")
            body += [_obs_line(o) for o in store.recent_observations(project, 50)]
            body.append("</ul>")
        return _page("claude-mem", "".join(body))


def start_viewer(port: int) -> ThreadingHTTPServer | None:
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        log.warning(f"viewer not started: 127.0.0.1:{port} is unavailable ({exc})")
        return None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="viewer", daemon=True).start()
    log.info(f"viewer on http://127.0.0.1:{server.server_address[1]}/")
    return server
