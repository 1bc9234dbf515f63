"""A bulk writer asks for the database's and the WAL's pages before it takes the write lock.

Why (measured with ``bench/lock_budget.py --stacks``, which samples a lock holder's kernel
stack): a hold that is neither on a CPU nor waiting for one was, besides the WAL restart's
sync and the TRUNCATE's discard, most often *reading a page from the disk*:
``pread`` of a database page (``filemap_read``, waiting for the page's read), or a
``pwrite`` of a WAL frame that had to read the page it lands in first
(``ext4_block_write_begin``: WAL frames are 4,120 bytes, so every write covers part of a
4 KiB page, and a partly written page that is not in memory is read first). 14-20 ms of
one hold each on this machine's busy disk, where the drain writes ~100 MB/s. They were
not in memory because this machine pages out file pages nobody touched for about a
minute (its kernel runs DAMON with a ``pageout`` scheme for cold unmapped file pages); a
laptop evicts them too, under memory pressure. The WAL's tail beyond the usual length
of a cycle, and parts of the database a ``forget`` or an index merge reaches, go cold that
way.

So ``warm(path)`` asks the kernel to read the database file and the WAL into memory
(``posix_fadvise(WILLNEED)``, in pieces of ``PIECE_BYTES``: the kernel reads ahead at most
that much per call; pages already in memory cost nothing; the reads run outside any
lock, and this returns once they are queued; a database bigger than ``MEMORY_SHARE`` of
the available memory is left to the kernel). ``wal_pace.WalPace`` calls it when a bulk
writer starts and after each of its checkpoints (every few MB written), so a page a
step is about to touch is in memory, or on its way, before the step takes the lock.

The database file is reached through a descriptor SQLite already has open in this
process (found in ``/proc/self/fd``): opening it and closing it again would drop this
process's POSIX locks on it, SQLite's included (the WAL file carries none: it is opened
and closed here). Linux only (elsewhere, and on any error, it does nothing); standard
library; never on the hook path.
"""
from __future__ import annotations

import os

PIECE_BYTES = 8 * 1024 * 1024
# At most this much of the database is asked for per call (a huge file is not read whole
# after every checkpoint; each call goes on where the last one stopped).
MOST_BYTES = 512 * 1024 * 1024
# A database bigger than this share of the memory the kernel says is available is not
# asked for at all (the WAL still is): it would push out other programs' pages, and its
# own would push each other out.
MEMORY_SHARE = 0.25


def proc_number(path: str, name: bytes) -> int | None:
    """The number after ``name`` in a Linux ``/proc`` file of ``name value`` lines
    (``/proc/meminfo``, ``/proc/self/io``); None where there is none."""
    try:
        with open(path, "rb") as fh:
            for line in fh:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _available_bytes() -> int | None:
    kib = proc_number("/proc/meminfo", b"MemAvailable:")
    return None if kib is None else kib * 1024


def _willneed(fd: int, start: int, end: int) -> None:
    for offset in range(start, end, PIECE_BYTES):
        os.posix_fadvise(fd, offset, min(PIECE_BYTES, end - offset), os.POSIX_FADV_WILLNEED)


def sqlite_descriptor(path: str) -> int | None:
    """A descriptor this process has open on ``path``'s file (SQLite's), or None."""
    try:
        wanted = os.stat(path)
        for name in os.listdir("/proc/self/fd"):
            try:
                fd = int(name)
                st = os.fstat(fd)
            except (OSError, ValueError):
                continue
            if st.st_ino == wanted.st_ino and st.st_dev == wanted.st_dev:
                return fd
    except OSError:
        pass
    return None


class Warmer:
    """``warm()`` the files of one database; remembers where a huge one was left off."""

    def __init__(self, path: str):
        self.path = path
        self.resume_at = 0
        self.calls = 0  # tests, logs

    def warm(self) -> bool:
        """Ask for the WAL whole and the database (up to ``MOST_BYTES`` of it, from where
        the last call stopped). True when anything was asked for."""
        if not hasattr(os, "posix_fadvise") or not os.path.isdir("/proc/self/fd"):
            return False
        asked = False
        try:
            fd = os.open(self.path + "-wal", os.O_RDONLY)
        except OSError:
            fd = None
        if fd is not None:
            try:
                _willneed(fd, 0, os.fstat(fd).st_size)
                asked = True
            except OSError:
                pass
            finally:
                os.close(fd)
        fd = sqlite_descriptor(self.path)  # never closed here: see the module docstring
        if fd is not None:
            try:
                size = os.fstat(fd).st_size
                available = _available_bytes()
                if available is not None and size > available * MEMORY_SHARE:
                    size = 0  # too big to keep in memory: see MEMORY_SHARE
                start = self.resume_at if self.resume_at < size else 0
                end = min(size, start + MOST_BYTES)
                _willneed(fd, start, end)
                self.resume_at = end if end < size else 0
                asked = True
            except OSError:
                pass
        self.calls += asked
        return asked
