"""Bulk writers pay the disk themselves, outside the write lock (the lock budget's disk part).

Why: a write unit holds SQLite's write lock while it appends its pages to the WAL. Those
writes go to the page cache and cost microseconds, with one exception: the first commit
after a checkpoint that copied the whole WAL restarts the WAL from its beginning, and
before writing anything it writes a new header and syncs it (``fdatasync``; a process's
first time, the folder too), holding the lock. A sync waits for the disk to flush its
cache, and a flush waits for what the disk was given before it; during bulk writing (a
``forget`` with ``secure_delete``, giving space back, an import, the drain of a backlog)
that took hundreds of milliseconds now and then (round 7: a SessionStart hook's commit
held the lock 436 ms with 0.7 ms on a CPU; an index merge step 263 ms with 8.7 ms).
Such checkpoints came every few megabytes of WAL, from whoever happened to cross the
threshold (the worker after a pass, a hook's or a ``forget``'s automatic checkpoint), and
whoever wrote next paid the restart's sync: as often as not a hook.

So a process that writes in bulk (the worker, ``forget``, ``import``) checkpoints itself,
in pieces, and begins the next WAL at once:

- ``WalPace(database).after_write()``, called right after a commit (the lock free): once
  this process has written ``CHECKPOINT_BYTES`` since its last checkpoint, a PASSIVE
  checkpoint copies the WAL into the database file and syncs both, outside the lock (hooks
  go on writing meanwhile). The caller's next step waits for it, so a bulk writer dirties
  pages no faster than the disk takes them (a housekeeping step's gap, ``budget.gap``,
  grows with the time the checkpoint took). When the checkpoint copied everything,
  ``Database.start_wal`` begins the next WAL right away: the restart's sync comes right
  after the checkpoint's own, with nothing of this process left to flush, and in no
  hook's commit.
- The connection's automatic checkpoints are turned off on first use: SQLite's run inside
  a commit and leave the restart to whoever writes next.
- ``CHECKPOINT_BYTES`` (8 MB): every checkpoint that copies the whole WAL costs one
  restart, one sync under the lock, however quick; a bigger piece means fewer of them (a
  100k drain made about 360 at 2 MB). It stays below ``db.AUTOCHECKPOINT_PAGES``, where a
  hook's connection (which keeps SQLite's automatic checkpoint, for when no worker runs)
  checkpoints by itself, so during bulk work the bulk writer's checkpoint comes first; and
  it keeps the WAL file small: truncating it (``scrub_files``, which holds the lock) costs
  in proportion to its size (the file system gives its blocks back then).
- How much this process wrote: Linux's ``/proc/self/io`` (``wchar``, every write call,
  WAL frames being most of it), read after each commit; where there is none, every
  ``STEPS_PER_CHECKPOINT``-th call counts as enough.
- A checkpoint that could not copy everything, or a restart a reader kept off (the WAL's
  salt, bytes 16-24 of its header, did not change), is tried again at the next call, until
  the WAL restarts: its file stays small.
- The pages the next steps will touch are asked for before they take the lock
  (``warm_pages``): when the pace starts (a bulk writer's first step) and after each of
  its checkpoints, and at least every ``WARM_EVERY_S`` while the writer keeps calling.
  A hold then reads no page from the disk (measured: 14-20 ms of a hold were such reads,
  of pages this machine's kernel had paged out after a minute unused).
- Never raises: a failed checkpoint is retried at the next call (the WAL just grows).
- Standard library only; nothing here runs on the hook path.
"""
from __future__ import annotations

import os
import time

from claude_mem.store.driver import sqlite3
from claude_mem.store.warm_pages import Warmer, proc_number

CHECKPOINT_BYTES = 8 * 1024 * 1024
STEPS_PER_CHECKPOINT = 32
WARM_EVERY_S = 10.0


def _written() -> int | None:
    """Bytes this process has passed to write calls so far (None where not known)."""
    return proc_number("/proc/self/io", b"wchar:")


class WalPace:
    """A bulk writer's checkpoints (see the module docstring); one per connection."""

    def __init__(self, database):
        self.database = database
        database.stop_automatic_checkpoints()
        self.mark = _written()
        self.calls = 0
        self.checkpoints = 0  # how many this connection ran (tests, logs)
        self.restarts = 0  # how many of them were followed by beginning the WAL
        self.warmer = Warmer(database.path)
        self.warmed_at = 0.0
        self.warm()

    def warm(self, stale_after: float = 0.0) -> None:
        """Ask for the database's and WAL's pages (``warm_pages``), outside the lock; only
        when the last time was ``stale_after`` seconds ago or more."""
        now = time.monotonic()
        if now - self.warmed_at >= stale_after:
            self.warmed_at = now
            self.warmer.warm()

    def due(self, count: bool = True) -> bool:
        """Has this process written enough since its last checkpoint? (``count``: this is
        a call of ``after_write``, which counts where written bytes are not known.)"""
        self.calls += count
        written = _written()
        if written is None or self.mark is None:
            return (self.calls + (not count)) % STEPS_PER_CHECKPOINT == 0
        return written - self.mark >= CHECKPOINT_BYTES

    def after_write(self, checkpoint: bool = True) -> bool:
        """Right after a commit: checkpoint and begin the next WAL when due (and
        ``checkpoint``: the worker passes False while a hook is about to write). True when
        a checkpoint ran."""
        if self.database.in_transaction:
            return False
        if not checkpoint or not self.due():
            self.warm(WARM_EVERY_S)
            return False
        try:
            salt = self._salt()  # read first: nothing between the checkpoint and start_wal
            busy, log, copied = self.database.checkpoint_passive()
            self.checkpoints += 1
            if busy == 0 and 0 < log == copied:
                # The WAL was copied whole: the next commit restarts it. Be that commit.
                # (A reader still on the old WAL keeps SQLite from restarting it; the
                # commit then only appends, and the WAL's salt stays what it was.)
                self.database.start_wal()
                if salt is None or self._salt() != salt:
                    self.restarts += 1
                    self.mark = _written()
            # Not copied whole, or not restarted: the next call tries again instead of
            # 8 MB later, else the WAL grows 8 MB a miss (a 100k drain left a 47-79 MB WAL
            # file, where the worker's checkpoint after every pass, with every next commit
            # trying to restart it, left 20-38 MB), and truncating it costs the more,
            # holding the lock.
        except (sqlite3.Error, OSError):
            return False
        finally:
            self.warm()  # the next cycle's WAL pages and what the next steps will read
        return True

    def _salt(self) -> bytes | None:
        """The WAL header's salts (bytes 16-24): a restart changes them. (The WAL file
        carries no lock, so opening and closing it here leaves SQLite's locks alone.)"""
        try:
            fd = os.open(self.database.path + "-wal", os.O_RDONLY)
        except OSError:
            return None
        try:
            return os.pread(fd, 8, 16)
        finally:
            os.close(fd)
