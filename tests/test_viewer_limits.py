"""The viewer's connections are bounded (issue 22), with real sockets: a flood of idle
connections holds at most ``max_connections`` threads, the rest are told 503 at once, idle
ones are closed after the idle time, a slow-loris request is cut at its deadline, and the
viewer keeps answering throughout. In-process with small numbers, then the real process."""
from __future__ import annotations

import os
import socket
import threading
import time

from claude_mem.viewer import limits
from claude_mem.viewer.server import ViewerServer
from helpers import wait_for
from viewer_kit import fetch, start_viewer, stop_viewer


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_idle_connections_are_capped_and_closed(tmp_path):
    server = ViewerServer(("127.0.0.1", 0), "secret", idle_seconds=4.0, request_seconds=2.0,
                          max_connections=8)
    port = server.server_address[1]
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    base_threads = threading.active_count()
    try:
        idle = [_connect(port) for _ in range(50)]
        wait_for(lambda: server.connections == 8, what="8 connections served")
        assert threading.active_count() <= base_threads + 8
        answers = [_closed_by_server(sock) for sock in idle]
        busy = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
        assert len(busy) == 42 and b"Retry-After" in busy[0]
        # The 8 that were served were closed for idling, without an answer.
        assert sum(1 for a in answers if a == b"") == 8
        wait_for(lambda: server.connections == 0, what="idle connections closed")
        wait_for(lambda: threading.active_count() <= base_threads, what="their threads gone")
        for sock in idle:
            sock.close()

        # A slow-loris request: one header byte at a time, never finished.
        slow = _connect(port)
        slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sent = 0
        cut = False
        while sent < 200:  # 200 bytes at 0.1 s is 20 s; the deadline is 2 s
            try:
                slow.sendall(b"a")
            except OSError:
                cut = True
                break
            sent += 1
            time.sleep(0.1)
            slow.setblocking(False)
            try:
                if slow.recv(1) == b"":
                    cut = True
                    break
            except BlockingIOError:
                pass
            finally:
                slow.setblocking(True)
        slow.close()
        assert cut, "a request trickling in was never cut"
        # Still serving: a stranger is refused, which takes a whole answer.
        status, _, _ = fetch(port, "/api/status")
        assert status == 401
    finally:
        server.shutdown()
        server.server_close()
        serving.join(10)


def test_the_real_viewer_holds_no_thread_per_idle_connection(monkeypatch):
    viewer = start_viewer(monkeypatch)
    from claude_mem.viewer import process

    pid = process.running()["pid"]
    try:
        idle = [_connect(viewer.port) for _ in range(50)]
        refused = 0
        for sock in idle[limits.MAX_CONNECTIONS:]:
            refused += _closed_by_server(sock).startswith(b"HTTP/1.1 503")
        assert refused == 50 - limits.MAX_CONNECTIONS
        tasks = len(os.listdir(f"/proc/{pid}/task"))
        assert tasks <= limits.MAX_CONNECTIONS + 8  # main, change watcher, idle watch...
        for sock in idle:
            sock.close()
        wait_for(lambda: fetch(viewer.port, "/api/status", token=viewer.token)[0] == 200,
                 what="the viewer answering once the idle connections are gone")
    finally:
        stop_viewer()
