"""Talking to the worker from outside it: wake, start, ping, stop.

Contract:
- ``wake()`` pokes a running worker over its Unix socket; returns False if none answered.
- ``ensure_worker()`` wakes the worker or, when none runs, starts one detached. Exactly
  one process can start it: the starter takes the worker lock (``flock``) itself and
  hands the locked file descriptor down to the worker through ``exec``, so there is no
  window where two starters both see "no worker". A lock held by a dead process is
  released by the kernel, so a crash never leaves a lock behind.
- ``request(command)`` sends one JSON command and returns the worker's JSON reply.
- ``stop_worker()`` never kills a process that is not a claude-mem worker, whatever the
  pid file says (pids are reused); ``remove_stale_files()`` deletes a dead worker's socket
  and pid file only while holding the lock, so it cannot race a worker being started.
- Hook path: standard library only, no ``socket``/``subprocess``/``json`` imports at
  module load (``_socket`` and ``fcntl`` are small C modules; the spawn uses ``os.fork``).
"""

import os
import sys

from claude_mem import config

# Unix socket paths are limited to ~107 bytes; deeper data dirs connect by relative name.
_MAX_SOCKET_PATH = 100


def _connect(path: str, timeout: float):
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if len(path.encode()) <= _MAX_SOCKET_PATH:
        sock.connect(path)
        return sock
    previous = os.getcwd()
    os.chdir(os.path.dirname(path))
    try:
        sock.connect(os.path.basename(path))
    finally:
        os.chdir(previous)
    return sock


def wake(timeout: float = 0.25) -> bool:
    try:
        sock = _connect(config.socket_path(), timeout)
    except OSError:
        return False
    try:
        sock.sendall(b'{"cmd":"wake"}\n')
    except OSError:
        return False
    finally:
        sock.close()
    return True


def request(command: dict, timeout: float = 5.0) -> dict | None:
    """Send one command; None when no worker answers."""
    import json

    try:
        sock = _connect(config.socket_path(), timeout)
    except OSError:
        return None
    try:
        sock.sendall(json.dumps(command).encode() + b"\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                break
        data = b"".join(chunks).strip()
        return json.loads(data) if data else None
    except (OSError, ValueError):
        return None
    finally:
        sock.close()


def read_pid() -> int | None:
    try:
        with open(config.pid_path()) as fh:
            return int(fh.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def is_worker_process(pid: int) -> bool:
    """True only if ``pid`` is alive and really is a claude-mem worker (not a reused pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): alive is the best we can know
    return b"claude_mem.worker" in cmdline


def is_alive(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def try_lock() -> int | None:
    """Take the worker lock without waiting: its fd, or None when a live process holds it.

    Closing the fd releases the lock. An OSError opening the lock file is the caller's.
    """
    import fcntl

    fd = os.open(config.lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def worker_lock_held() -> bool:
    """True when some live process holds the worker lock (a worker runs or is starting)."""
    try:
        fd = try_lock()
    except OSError:
        return False
    if fd is None:
        return True
    os.close(fd)  # drops the lock we just took
    return False


def _package_parent() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_worker() -> bool:
    """Start a detached worker unless one runs or is starting. True if this call started it."""
    config.ensure_data_dir()
    fd = try_lock()
    if fd is None:
        return False  # a live worker (or another starter) holds it
    env = dict(os.environ)
    # The worker outlives the session whose hook starts it and serves every session:
    # nothing session-specific from that hook's environment belongs in it.
    for name in ("CLAUDE_CODE_SESSION_ID", "CLAUDE_PROJECT_DIR", "CLAUDECODE", "CLAUDE_ENV_FILE"):
        env.pop(name, None)
    env["CLAUDE_MEM_LOCK_FD"] = str(fd)
    env["PYTHONPATH"] = _package_parent() + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    # The worker must not see the hook's -S/-I: it may need site-packages (LLM back-ends).
    argv = [sys.executable, "-m", "claude_mem.worker"]
    pid = os.fork()
    if pid == 0:  # first child: new session, then fork again so the worker is not our child
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            os.set_inheritable(fd, True)
            devnull = os.open(os.devnull, os.O_RDWR)
            # Claude Code waits for EOF on the hook's stdout/stderr: never hand them down.
            for target in (0, 1, 2):
                os.dup2(devnull, target)
            os.chdir(config.data_dir())
            os.execve(sys.executable, argv, env)
        except BaseException:
            pass
        os._exit(1)
    os.close(fd)  # the worker keeps the lock through its inherited copy
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    return True


def remove_stale_files() -> list[str]:
    """Delete a dead worker's socket and pid file; returns what was removed.

    Does nothing while a worker runs or starts (the lock is taken here for the duration,
    so no worker can bind a fresh socket in between).
    """
    try:
        fd = try_lock()
    except OSError:
        return []
    if fd is None:
        return []
    removed = []
    try:
        for path in (config.socket_path(), config.pid_path()):
            try:
                os.unlink(path)
                removed.append(path)
            except OSError:
                pass
    finally:
        os.close(fd)
    return removed


def ensure_worker() -> str:
    """Wake the worker, or start one. Returns "woken", "started" or "starting"."""
    if wake():
        return "woken"
    return "started" if start_worker() else "starting"


def stop_worker(timeout: float = 10.0) -> bool:
    """Ask the worker to stop; kill it if it will not. True when no worker remains.

    A worker that is still starting (lock held, socket not yet listening) is asked
    again until it answers, so a stop right after a start is not lost.
    """
    import time

    deadline = time.monotonic() + timeout
    next_ask = 0.0
    pid = None
    while time.monotonic() < deadline:
        pid = read_pid() or pid
        if not worker_lock_held() and not (pid and is_alive(pid) and is_worker_process(pid)):
            return True
        if time.monotonic() >= next_ask:
            request({"cmd": "stop"}, timeout=1.0)
            next_ask = time.monotonic() + 0.5
        time.sleep(0.05)
    pid = read_pid() or pid
    if pid and is_worker_process(pid):
        import signal

        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        # Death is not instant on a loaded machine; the kernel frees the lock on exit.
        give_up = time.monotonic() + 3.0
        while worker_lock_held() and time.monotonic() < give_up:
            time.sleep(0.05)
    return not worker_lock_held()
