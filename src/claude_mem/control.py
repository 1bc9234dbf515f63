"""The worker's control socket, both ends, and the commands built on it: wake, start,
ping, stop.

Contract:
- ``wake()`` pokes a running worker: one byte into its wake-up FIFO (``wakeup.poke``),
  else over its Unix socket; returns False if none answered.
- ``ensure_worker()`` wakes the worker or, when none runs, starts one detached. Exactly
  one process can start it: the starter takes the worker lock (``flock``) itself and
  hands the locked file descriptor down to the worker through ``exec``, so there is no
  window where two starters both see "no worker". A lock held by a dead process is
  released by the kernel, so a crash never leaves a lock behind.
- ``request(command)`` sends one JSON command and returns the worker's JSON reply.
- ``stop_worker()`` never kills a process that is not a claude-mem worker, whatever the
  pid file says (pids are reused). The lock and pid file themselves belong to ``pidlock``.
- ``ControlServer`` is the worker's end: one-line JSON commands (``{"cmd": "ping"}``)
  answered by a table of handlers the worker passes in; a handler returning None sends
  no reply (``wake``: hooks do not wait).
- Hook path: standard library only, no ``socket``/``threading``/``subprocess``/``json``
  imports at module load (``_socket`` and ``fcntl`` are small C modules; the spawn uses
  ``os.fork``); the server's imports happen in the worker only.
"""

import os
import sys

from claude_mem import config, log
from claude_mem.pidlock import (is_alive, is_worker_process, read_pid, remove_stale_files,
                                try_lock, worker_lock_held)

__all__ = ["ControlServer", "ensure_worker", "is_alive", "is_worker_process", "read_pid",
           "remove_stale_files", "request", "start_worker", "stop_worker", "try_lock", "wake",
           "worker_lock_held"]

# Unix socket paths are limited to ~107 bytes; deeper data dirs connect by relative name.
_MAX_SOCKET_PATH = 100


def connect(path: str, timeout: float):
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


def exchange(request: bytes, budget: float) -> bytes | None:
    """One request line to the worker and its reply line, all within ``budget`` seconds
    (the connect included); None when no worker listens, it refused, or the time ran out.
    For the hooks' questions (prompt recall, the SessionStart row), which do the work
    themselves rather than wait longer."""
    import time

    deadline = time.monotonic() + budget
    reply = b""
    try:
        sock = connect(config.socket_path(), budget)
        try:
            sock.sendall(request)
            while not reply.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                reply += chunk
        finally:
            sock.close()
    except OSError:
        return None
    return reply


def wake(timeout: float = 0.25) -> bool:
    from claude_mem import wakeup

    if wakeup.poke():
        return True
    try:
        sock = connect(config.socket_path(), timeout)
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
        sock = connect(config.socket_path(), timeout)
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


class ControlServer:
    """The worker's end of the socket: accepts connections, answers from ``handlers``.

    ``handlers`` maps a command name to a function that gets the request (a dict) and
    returns the reply's extra fields (a dict), the whole reply line as JSON text (a str), or
    None for "no reply". Unknown commands get ``{"ok": false, "error": ...}``.
    """

    def __init__(self, handlers: dict, stopping):
        self.handlers = handlers
        self.stopping = stopping  # a threading.Event: set when the worker stops
        self.sock = None
        self.fifo = None  # the read end of worker.wake (opened read-write: never EOF)

    @property
    def listening(self) -> bool:
        return self.sock is not None

    def listen(self) -> bool:
        """Bind and serve ``worker.sock``; False when it cannot be made (the caller polls)."""
        import socket
        import threading

        path = config.socket_path()
        try:
            try:
                os.unlink(path)  # the caller holds the lock: any socket file here is stale
            except FileNotFoundError:
                pass
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                os.chdir(os.path.dirname(path))  # relative bind: no 107-byte path limit
                server.bind(os.path.basename(path))
                os.chmod(path, 0o600)
                server.listen(64)
            except OSError:
                server.close()
                raise
        except OSError as exc:
            log.error(f"cannot listen on {path} ({exc}); running without a control socket")
            return False
        server.settimeout(0.5)
        self.sock = server
        self.fifo = self._open_fifo()
        threading.Thread(target=self._serve, args=(server, self.fifo), name="control",
                         daemon=True).start()
        return True

    @staticmethod
    def _open_fifo() -> int | None:
        """Make and open ``worker.wake``; None (hooks use the socket) when it cannot be."""
        from claude_mem import wakeup

        try:
            return wakeup.make()
        except OSError as exc:
            log.warning(f"cannot make {config.wake_path()} ({exc}); hooks wake the worker "
                        "over the socket")
            return None

    def close(self, *, remove_file: bool) -> None:
        """Stop serving; remove the socket file only when it is surely ours (lock held)."""
        server, self.sock = self.sock, None
        # The serving thread owns the FIFO's descriptor and closes it within its 0.5 s
        # select; what must happen now is the unlink, before the lock goes: from then on
        # a hook's poke fails and it goes on to the lock, so no wake-up can land in a
        # worker that is leaving.
        had_fifo, self.fifo = self.fifo is not None, None
        if had_fifo and remove_file:
            from claude_mem import wakeup

            wakeup.remove()
        if server is not None:
            try:
                server.close()
            except OSError:
                pass
        if remove_file:
            try:
                os.unlink(config.socket_path())
            except OSError:
                pass

    def _serve(self, server, fifo) -> None:
        import select
        import socket
        import threading

        from claude_mem import wakeup

        watched = [server] + ([fifo] if fifo is not None else [])
        try:
            while not self.stopping.is_set() and self.sock is server:
                try:
                    ready, _, _ = select.select(watched, [], [], 0.5)
                except (OSError, ValueError):  # the socket was closed: the worker is leaving
                    return
                if self.sock is not server:
                    return
                if fifo in ready:
                    data = wakeup.drain(fifo)  # every byte waiting, then one wake
                    heard = self.handlers.get("fifo")
                    if heard is not None:
                        heard(data)
                    wake = self.handlers.get("wake")
                    # Announcements (``h``, ``a``) and a writer's "done" (``d``) wake nobody.
                    if wake is not None and (not data or data.strip(b"had")):
                        wake({"cmd": "wake"})
                if server not in ready:
                    continue
                try:
                    conn, _ = server.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        finally:
            if fifo is not None:  # only this thread reads it, so only it closes it
                os.close(fifo)

    def _handle(self, conn) -> None:
        import json

        try:
            conn.settimeout(2.0)
            data = b""
            while not data.endswith(b"\n") and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            try:
                message = json.loads(data or b"{}")
                command = message.get("cmd", "")
            except (ValueError, AttributeError):
                message, command = {}, ""
            handler = self.handlers.get(command) if isinstance(command, str) else None
            if handler is None:
                reply = {"ok": False, "error": f"unknown command {command!r}"}
            else:
                extra = handler(message)
                if extra is None:
                    return
                if isinstance(extra, str):  # a reply written by the handler (``prompt_recall``)
                    conn.sendall(extra.encode("utf-8", "replace") + b"\n")
                    return
                reply = {"ok": True, **extra}
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass
        finally:
            conn.close()
