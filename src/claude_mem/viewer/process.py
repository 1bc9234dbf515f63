"""The viewer's own process: start it on demand, find it, stop it.

Contract:
- The viewer runs as ``python -m claude_mem.viewer``, apart from the worker: the worker
  exits when idle and must stay small, while a page people keep open must outlive it and
  show "worker not running" truthfully. One viewer per data dir: it holds an ``flock`` on
  ``viewer.lock`` while it runs and writes ``viewer.json`` (pid, port) once it listens.
- ``ensure()`` returns the running viewer, or starts one and waits for its first line on a
  pipe: ``ready PORT``, or ``error REASON`` (e.g. the port is taken, and by what), raised
  as ``ViewerError`` with that reason. ``stop()`` ends it (SIGTERM, then SIGKILL), never a
  process that is not a claude-mem viewer, whatever the state file says.
- ``address(port)`` is the URL that lets the owner in: it carries the access token.
- ``state(settings)``: whether the viewer runs, where (the address without the key), or
  why not, as the status report shows it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from claude_mem import config
from claude_mem.viewer import access


class ViewerError(Exception):
    """The viewer cannot be started or reached; the message says why."""


def lock_path() -> str:
    return os.path.join(config.data_dir(), "viewer.lock")


def state_path() -> str:
    return os.path.join(config.data_dir(), "viewer.json")


def address(port: int) -> str:
    return f"http://127.0.0.1:{port}/?token={access.token()}"


def state(settings) -> dict:
    """Whether the web viewer runs, where (the address without the key), or why not."""
    port = int(settings.viewer_port)
    if port <= 0:
        return {"running": False, "port": 0,
                "text": "viewer turned off (viewer_port is 0; `claude-mem config set viewer_port 37737`)"}
    live = running()
    if live:
        url = f"http://127.0.0.1:{live['port']}/"
        return {"running": True, "pid": live["pid"], "port": live["port"], "url": url,
                "text": f"viewer on {url} (pid {live['pid']}; `claude-mem viewer` opens it with your key)"}
    return {"running": False, "port": port,
            "text": f"viewer not running (`claude-mem viewer` starts it on 127.0.0.1:{port})"}


def lock_held() -> bool:
    """True while a viewer process holds the lock (the kernel drops it when it dies)."""
    import fcntl

    try:
        fd = os.open(lock_path(), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops our probe lock too
    return False


def _is_viewer_process(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"claude_mem.viewer" in fh.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return sys.platform == "darwin"  # no /proc: alive is the best we can know


def running() -> dict | None:
    """``{"pid", "port"}`` of the live viewer (plus ``viewer_port`` and ``taken_by`` when that
    port was taken and it listens on a free one instead), or None."""
    if not lock_held():
        return None
    try:
        with open(state_path(), encoding="utf-8") as fh:
            state = json.load(fh)
        pid, port = int(state["pid"]), int(state["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # starting: it writes the file once it listens
    if not _is_viewer_process(pid):
        return None
    found = {"pid": pid, "port": port}
    if state.get("taken_by"):  # viewer_port was taken when it started: it took a free port
        found.update(viewer_port=state.get("viewer_port"), taken_by=state["taken_by"])
    return found


def ensure(timeout: float = 20.0) -> dict:
    """The running viewer, started if needed: ``{"pid", "port", "url", "started"}``."""
    deadline = time.monotonic() + timeout
    while True:
        current = running()
        if current:
            return {**current, "url": address(current["port"]), "started": False}
        if lock_held():  # another starter got there first and it is binding: wait for it
            if time.monotonic() > deadline:
                raise ViewerError("a viewer process holds the lock but never reported its port")
            time.sleep(0.1)
            continue
        port = int(config.load().viewer_port)
        if port <= 0:
            raise ViewerError("the viewer is turned off (viewer_port is 0); turn it on with "
                              "`claude-mem config set viewer_port 37737`")
        first = _spawn(deadline)
        if first.startswith("ready "):
            current = running()
            if current:
                return {**current, "url": address(current["port"]), "started": True}
            raise ViewerError("the viewer started but exited at once; see " + config.log_path())
        if first.startswith("error "):
            raise ViewerError(first[len("error "):])
        if first != "running":
            raise ViewerError(f"the viewer did not start ({first or 'no answer'}); see "
                              + config.log_path())
        # "running": another viewer took the lock between our check and its start; loop.


def _spawn(deadline: float) -> str:
    """Start the viewer process; its first meaningful line (or what it printed before dying)."""
    import selectors

    config.ensure_data_dir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_mem.viewer"], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        cwd=config.data_dir())
    output: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        buffer = b""
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.05, deadline - time.monotonic())):
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip()
                if text.startswith(("ready ", "error ")) or text == "running":
                    proc.stdout.close()
                    return text
                output.append(text)
    proc.stdout.close()
    if proc.poll() is None:
        return "no answer in time"
    return " / ".join(line for line in output if line)[-500:] or f"exit status {proc.returncode}"


def stop(timeout: float = 5.0) -> bool:
    """End the viewer; True when none is left."""
    current = running()
    if not current:
        return not lock_held()
    pid = current["pid"]
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 3.0)):
        try:
            os.kill(pid, sig)
        except OSError:
            pass
        give_up = time.monotonic() + wait
        while lock_held() and time.monotonic() < give_up:
            time.sleep(0.05)
        if not lock_held():
            return True
    return not lock_held()
