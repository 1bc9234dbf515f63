"""The HTTP plumbing the scripted model fakes share (Responses for Codex, Gemini; stdlib only).

``JsonPostHandler`` reads a JSON ``POST`` body and asks the subclass's ``answer(server, path,
body)`` for ``(status, payload, content_type)``; a body that is not JSON gets 400, ``GET`` 404,
and a bug in ``answer`` (or in a test's script) answers 500 and is kept in ``server.errors``.
``ScriptedServer`` owns the thread, the 127.0.0.1 port, ``script``, ``requests`` (parsed bodies)
and ``errors``; it is a context manager, and ``url`` is its base address.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["JsonPostHandler", "ScriptedServer"]


class JsonPostHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(404, b'{"error": {"message": "not here"}}')

    def do_POST(self):
        server = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send(400, b'{"error": {"message": "not JSON"}}')
            return
        try:
            status, payload, kind = self.answer(server, self.path.split("?")[0], body)
        except Exception as exc:  # a bug in a script: answer 500, keep it for the test
            server.errors.append(repr(exc))
            self._send(500, json.dumps({"error": {"message": repr(exc)}}).encode())
            return
        self._send(status, payload, kind)

    def answer(self, server: "ScriptedServer", path: str, body) -> tuple[int, bytes, str]:
        raise NotImplementedError


class ScriptedServer:
    handler: type[JsonPostHandler] = JsonPostHandler

    def __init__(self, script):
        self.script = script
        self.requests: list[dict] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def record(self, body: dict) -> None:
        with self.lock:
            self.requests.append(body)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
