"""Who the worker is: the worker lock, the pid file, and the handshakes built on them.

Contract:
- Exactly one process may run as the worker: the one holding ``flock`` on
  ``worker.lock``. ``try_lock()`` takes it without waiting; a lock held by a dead process
  is released by the kernel, so a crash never leaves a lock behind. A starter takes the
  lock itself and hands the locked descriptor down to the worker (``CLAUDE_MEM_LOCK_FD``),
  which ``take_worker_lock()`` adopts.
- ``worker.pid`` is written atomically by the worker and removed only by the process it
  names; it is a hint (pids are reused), so ``is_worker_process`` checks the command line.
- ``leave_lock(fd, new_work)`` is the idle-exit handshake: release first, then look for
  work, and retake the lock only if the look found some (see ``Worker.leave_when_idle``).
- Hook path: imports only ``os`` at load time (``fcntl`` lazily, a small C module).
"""

import os

from claude_mem import config


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


def take_worker_lock() -> int | None:
    """In the worker: the lock fd handed down by the starter, or one taken here; None if
    another worker runs."""
    import fcntl

    inherited = os.environ.pop("CLAUDE_MEM_LOCK_FD", None)
    if inherited:
        try:
            fd = int(inherited)
            os.set_inheritable(fd, False)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # already ours: a no-op check
            return fd
        except (ValueError, OSError):
            pass
    return try_lock()


def leave_lock(fd: int, new_work) -> bool:
    """Release the worker lock; if ``new_work()`` then says work came, try to retake it.

    Returns True when this process holds the lock again (it must stay and drain), False
    when it is released for good (nothing came, or a new worker took it meanwhile).
    """
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)
    if not new_work():
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def read_pid() -> int | None:
    try:
        with open(config.pid_path()) as fh:
            return int(fh.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def write_pid_file() -> None:
    tmp = config.pid_path() + f".{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(tmp, config.pid_path())  # readers never see a half-written pid


def remove_own_pid_file() -> None:
    """Remove ``worker.pid`` if it names this process (never a successor's)."""
    try:
        if read_pid() == os.getpid():
            os.unlink(config.pid_path())
    except OSError:
        pass


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
        for path in (config.socket_path(), config.wake_path(), config.pid_path()):
            try:
                os.unlink(path)
                removed.append(path)
            except OSError:
                pass
    finally:
        os.close(fd)
    return removed
