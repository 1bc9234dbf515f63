"""The viewer's process entry (``python -m claude_mem.viewer``): one per data dir.

Contract: takes ``viewer.lock`` (another viewer running: says ``running`` and exits), binds
``127.0.0.1:viewer_port`` and tells the starting ``claude-mem viewer`` one line on its pipe
(``ready PORT``, or ``error REASON`` in words a person can act on, such as which process
holds the port), writes ``viewer.json`` (pid, port), then serves until SIGTERM, until its
data dir disappears, or after ``IDLE_EXIT_SECONDS`` with no request and no open stream.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import sys
import threading
import time

from claude_mem import config, log
from claude_mem.viewer import access
from claude_mem.viewer.server import ViewerServer

IDLE_EXIT_SECONDS = 12 * 3600


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
