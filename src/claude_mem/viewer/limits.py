"""Bounds on the viewer's connections: how many, how long idle, how long to send a request.

Contract:
- ``BoundedConnections`` (a mixin before ``ThreadingHTTPServer``) serves at most
  ``max_connections`` connections at once, one thread each; one more is answered
  ``503 Service Unavailable`` (``Retry-After``) and closed on the accepting thread, so a
  flood of connections never becomes a flood of threads. ``connections`` says how many are
  being served.
- ``DeadlineHandler`` (a mixin before ``BaseHTTPRequestHandler``) closes a connection that
  sends nothing for ``idle_seconds`` (and one whose reader stops reading for as long: the
  same timeout bounds every send), and one whose request line, headers and body are not all
  in within ``request_seconds`` of its first byte being awaited, however slowly they
  trickle in (a slow-loris client). A live stream, which only writes, is not cut.
Both take their numbers from the server (``idle_seconds``, ``request_seconds``,
``max_connections``), so a test can serve with small ones.
"""
from __future__ import annotations

import io
import threading
import time

IDLE_SECONDS = 10.0
REQUEST_SECONDS = 30.0
MAX_CONNECTIONS = 32
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Retry-After: 2\r\nConnection: close\r\nContent-Length: 41\r\n\r\n"
         b"claude-mem's viewer is busy; retry soon.\n")


class BoundedConnections:
    """Mixin for ``socketserver.ThreadingMixIn`` servers: a cap on concurrent connections."""

    idle_seconds = IDLE_SECONDS
    request_seconds = REQUEST_SECONDS
    max_connections = MAX_CONNECTIONS
    request_queue_size = 64  # a burst is accepted and answered (served or 503), not left in SYN retries

    def __init__(self, *args, **kwargs):
        self._slots = threading.BoundedSemaphore(self.max_connections)
        self._count_lock = threading.Lock()
        self.connections = 0
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(request)
            return
        self._count(+1)
        try:
            super().process_request(request, client_address)  # starts the thread
        except BaseException:
            self._count(-1)
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._count(-1)
            self._slots.release()

    def _count(self, step: int) -> None:
        with self._count_lock:
            self.connections += step

    def _refuse_busy(self, request) -> None:
        try:
            request.setblocking(False)
            request.send(_BUSY)  # small enough for any socket buffer; never waits
        except OSError:
            pass
        self.shutdown_request(request)


class _DeadlineReader(io.RawIOBase):
    """The socket's bytes, each read bounded by the idle time and the request's deadline."""

    def __init__(self, handler):
        self.handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        handler = self.handler
        left = handler.request_deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request was not sent in time")
        handler.connection.settimeout(min(handler.server.idle_seconds, left))
        return handler.connection.recv_into(buffer)


class DeadlineHandler:
    """Mixin for ``BaseHTTPRequestHandler``: idle and whole-request timeouts."""

    request_deadline = float("inf")

    def setup(self):
        self.timeout = self.server.idle_seconds  # applied to the socket by setup()
        super().setup()
        self.request_deadline = time.monotonic() + self.server.request_seconds
        self.rfile = io.BufferedReader(_DeadlineReader(self))

    def handle_one_request(self):
        # Each request on a kept-alive connection gets its own deadline.
        self.request_deadline = time.monotonic() + self.server.request_seconds
        super().handle_one_request()

    def parse_request(self):
        parsed = super().parse_request()
        # Past the head, sends are bounded by the idle time alone (not what is left of the
        # read deadline): a live stream writes for as long as its reader reads.
        self.connection.settimeout(self.server.idle_seconds)
        return parsed
