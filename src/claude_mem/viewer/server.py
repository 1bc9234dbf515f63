"""The viewer's HTTP plumbing and its door: every request is admitted here or nowhere.

Contract:
- Runs in its own process (``launcher``, started by ``process.ensure``), bound to
  ``127.0.0.1:viewer_port`` only, on the standard library's threading HTTP server.
- Every request passes ``access.check`` first (Host, Origin, Sec-Fetch-Site, then the
  owner's token as cookie, bearer header or ``?token=``); refused requests get 401/403
  and nothing else (a log line at most every ``REFUSAL_LOG_SECONDS``). A page opened with
  ``?token=`` gets the cookie and is redirected to the same address without it. GET and
  HEAD read (``routes.page``); the one write is POST ``/settings`` from the page's own form
  (``access.check_write``: our exact Origin, a form of at most ``MAX_FORM_BYTES``, the form
  key; then ``routes.change_setting``); anything else gets 405.
- Input is bounded (``params``): a bad value gets a 400 with a sentence saying what is
  expected, never a 500 or a traceback; an unexpected failure is logged and answered 500.
- Every answer carries ``SECURITY_HEADERS`` (a strict CSP, no framing, no sniffing).
- Connections are bounded (``limits``): at most 32 at once (one more gets a 503), closed
  after 10 s without a byte either way, and a request must be in within 30 s.

Routes (``routes``) and the live stream (``feed``) are reached only through ``Handler``,
so none can skip the door.
"""
from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from claude_mem import log
from claude_mem.viewer import access, pages, routes
from claude_mem.viewer.feed import Changes
from claude_mem.viewer.limits import BoundedConnections, DeadlineHandler
from claude_mem.viewer.params import BadRequest, NotFound, parse_query

MAX_FORM_BYTES = 8192         # the settings form
REFUSAL_LOG_SECONDS = 10.0
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

    def send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_html(self, text: str, status: int = 200) -> None:
        self.send(status, text.encode("utf-8"), "text/html; charset=utf-8")

    def send_json(self, value, status: int = 200) -> None:
        self.send(status, json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"),
                  "application/json; charset=utf-8")

    def send_problem(self, status: int, message: str) -> None:
        if self.path.startswith("/api/"):
            self.send_json({"error": message}, status)
        else:
            self.send_html(pages.error_page(status, message), status)

    def begin_stream(self) -> bool:
        """Answer 200 with an event stream's headers; False for a HEAD (nothing follows)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        return self.command != "HEAD"

    def _not_allowed(self):
        self.send(405, b"claude-mem's viewer only reads: GET and HEAD\n",
                  "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.server.last_request = time.monotonic()
        url = urlsplit(self.path)
        try:
            query = parse_query(url.query)
        except BadRequest as exc:
            if self._admit(url.path, None) is not None:  # strangers learn nothing, not even that
                self.send_problem(400, str(exc))
            return
        decision = self._admit(url.path, query.pop("token", None))
        if decision is None:
            return
        if decision.set_cookie and not url.path.startswith("/api/"):
            # Trade the token in the address for a cookie, and drop it from the address bar.
            target = url.path + (f"?{urlencode(query)}" if query else "")
            return self.send(303, b"", "text/plain", {"Location": target,
                                                      "Set-Cookie": decision.set_cookie})
        parts = [p for p in url.path.split("/") if p]
        try:
            routes.page(self, parts, query)
        except (BadRequest, NotFound) as exc:
            self.send_problem(exc.status, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # one bad request must not stop the viewer, nor show a trace
            import traceback

            log.error(f"viewer {url.path!r}: {exc!r}\n{traceback.format_exc()}")
            self.send_problem(500, "the viewer failed on this request; the details are in the log")

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
            return self.send_json({"error": f"no access: {decision.reason}"}, decision.status)
        self.send(decision.status, pages.refused_page(decision.reason).encode(),
                  "text/html; charset=utf-8")

    def do_POST(self):
        """The one change the viewer makes: a setting, from its own settings form."""
        self.server.last_request = time.monotonic()
        url = urlsplit(self.path)
        if url.path != "/settings" or not routes.settings_editable():
            return self._not_allowed()
        if url.query:  # the key never travels in a change's address
            return self.send_problem(400, "a change takes no query string")
        if self._admit(url.path, None) is None:
            return
        length = self.headers.get("Content-Length") or ""
        if not (length.isascii() and length.isdigit()) or int(length) > MAX_FORM_BYTES:
            return self.send_problem(413, f"a change is a form of at most {MAX_FORM_BYTES} bytes")
        body = self.rfile.read(int(length))
        try:
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True,
                                                   max_num_fields=10).items()}
        except (UnicodeDecodeError, ValueError):
            return self.send_problem(400, "the form could not be read")
        decision = access.check_write(
            port=self.server.server_address[1], secret=self.server.secret,
            origin=self.headers.get("Origin"), content_type=self.headers.get("Content-Type"),
            form_field=form.get("form_key"))
        if not decision.ok:
            return self._refuse(url.path, decision)
        routes.change_setting(self, form)
