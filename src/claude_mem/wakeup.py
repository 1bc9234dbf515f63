"""The worker's wake-up FIFO (``<data dir>/worker.wake``), both ends.

Why a FIFO next to the control socket: a hook that has committed its event only needs to
say "look at the queue". Writing one byte to a FIFO costs it ~0.02 ms; importing
``_socket``, connecting and sending costs ~0.8 ms, about a twentieth of a hook's run.
Commands with an answer (ping, stop, status) stay on the socket (``control``).

Contract:
- ``poke()`` (hook end) writes one byte; True only when the path is a FIFO that a worker
  holds open. A dead worker's FIFO has no reader (the open fails with ENXIO), and a regular
  file in its place is not believed, so ``False`` sends the caller to ``control.ensure_worker``
  (socket, then the lock and a start). A full pipe means unread wake-ups: the worker is awake.
- ``make()`` (worker end, lock held) replaces whatever is at the path with a new FIFO and
  opens it read-write and non-blocking (read-only would read EOF whenever no hook writes).
- ``announce()`` (hook, just before its insert) writes ``h``: "a hook is about to write";
  like ``poke`` it says whether a worker reads (the hook then leaves checkpoints to it).
  The worker counts them against the ``w`` each hook writes once it has committed
  (``presence.HookPresence``) and leaves the write lock free while one waits: the lock
  budget's cheap way of knowing a hook is there. Nothing else changes if no worker reads.
- ``about_to_write(path)`` / ``done(path)``: the same for any other writer of ours
  (``forget``, ``import``, team sync, a CLI command): ``store.db``'s write units send ``a``
  before their ``BEGIN IMMEDIATE`` and ``d`` once they committed or rolled back, to the
  FIFO at ``path``. Bytes of their own: a hook's ``w`` is also every plain wake-up, so the
  worker counts hooks and these writers apart (``presence``); and ``d`` wakes nobody: a
  ``forget``'s hundreds of steps must not start as many idle passes. Neither blocks or
  raises: no FIFO, no reader, a full pipe, and the write goes on as without.
- ``open_fifo()`` / ``send(fd, byte)``: the two halves of a poke, for a hook that must know
  a worker reads before it does its work (``hook_inbox``) and pokes afterwards.
- ``drain(fd)`` reads every byte waiting and returns them; ``remove()`` unlinks the path, which the worker
  does *before* closing it and releasing the lock when it leaves, so from then on a hook's
  ``poke`` fails and it goes on to the lock: no wake-up lands in a leaving worker.
- Hook path: ``os`` only.
"""
import os

from claude_mem import config

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_S_IFMT, _S_IFIFO = 0o170000, 0o010000


def poke() -> bool:
    """Wake the running worker through its FIFO; False when no worker reads it."""
    return _write(b"w")


def announce() -> bool:
    """Tell a running worker a hook is about to write (see the module docstring); True
    when a worker reads the FIFO."""
    return _write(b"h")


def about_to_write(path: str) -> bool:
    """Tell the worker reading the FIFO at ``path`` that a writer other than a hook is about
    to write; True when a worker reads it."""
    return _write(b"a", path)


def done(path: str) -> bool:
    """That writer has committed (or given up): counted, no wake-up."""
    return _write(b"d", path)


def _write(byte: bytes, path: str | None = None) -> bool:
    fd = open_fifo(path)
    if fd is None:
        return False
    try:
        return send(fd, byte)
    finally:
        os.close(fd)


def open_fifo(path: str | None = None) -> int | None:
    """The write end of the wake-up FIFO when a worker reads it, else None (ENXIO: no
    reader; ENOENT: no FIFO made; a regular file in its place is not believed)."""
    try:
        fd = os.open(path or config.wake_path(), os.O_WRONLY | os.O_NONBLOCK | _CLOEXEC)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_mode & _S_IFMT == _S_IFIFO:
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def send(fd: int, byte: bytes) -> bool:
    """One byte into the FIFO open on ``fd``; False when its reader has gone. A full pipe
    means unread wake-ups: the worker is awake."""
    try:
        os.write(fd, byte)
    except BlockingIOError:
        pass
    except OSError:
        return False
    return True


def make() -> int:
    """A fresh FIFO at the wake path, opened for the worker; raises OSError when impossible."""
    path = config.wake_path()
    try:
        os.unlink(path)  # the caller holds the worker lock: anything here is stale
    except FileNotFoundError:
        pass
    os.mkfifo(path, 0o600)
    return os.open(path, os.O_RDWR | os.O_NONBLOCK | _CLOEXEC)


def drain(fd: int) -> bytes:
    """Read every byte waiting: ``w`` wake-ups (all alike), ``h`` and ``a`` announcements
    and ``d`` (done, no wake-up)."""
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks)


def remove() -> None:
    try:
        os.unlink(config.wake_path())
    except OSError:
        pass
