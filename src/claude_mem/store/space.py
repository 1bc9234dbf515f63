"""Giving disk space back: the file shrinks when what filled it is gone.

Contract (the worker calls these when it has nothing else to do; nothing here runs on
the hook path):
- New databases are created with ``auto_vacuum = INCREMENTAL`` (see ``migrations.apply``).
  ``convert_to_incremental()`` is the migration for files made before that: it needs a
  ``VACUUM``, which rewrites the whole file and must not run inside a transaction, so it
  is not one of the numbered migrations; the worker runs it once, when its queue is empty.
- ``reclaim_space(max_pages)`` is one step of bounded work: once free pages are a
  noticeable share of the file it gives some back to the file system (``PRAGMA
  incremental_vacuum``): as many as fit in about ``budget.STEP_MS`` of holding the write
  lock (measured as it goes, so a slow disk gets smaller steps), never more than
  ``max_pages``. When none are left to give back, it truncates the write-ahead log
  (``db.scrub_files``). The caller leaves the lock free between steps (``budget.pause``
  or the worker's loop): one 8,192-page step held it for up to 0.8 s after a 100k
  backlog, and hooks spooled their events meanwhile.
- ``space_stats()`` reports the file, its WAL and its live data.

Why: every event passes through the ``pending`` queue (~1.25 kB a row) and is deleted
once it became memory. Without this, a 100k-event backlog left a 197 MB file holding
85 MB of live data, forever.
"""

import os
import time

from claude_mem.store import budget
from claude_mem.store.driver import sqlite3

# Free pages below this share of the file (or this count) are left for reuse.
RECLAIM_SHARE = 0.10
RECLAIM_MIN_PAGES = 256


class SpaceRoom:
    db: sqlite3.Connection
    path: str

    def _pragma(self, name: str) -> int:
        return self.db.execute(f"PRAGMA {name}").fetchone()[0]

    def space_stats(self) -> dict:
        page_size = self._pragma("page_size")
        pages, free = self._pragma("page_count"), self._pragma("freelist_count")
        wal = self.path + "-wal"
        return {
            "file_bytes": pages * page_size,
            "wal_bytes": os.path.getsize(wal) if os.path.exists(wal) else 0,
            "live_bytes": (pages - free) * page_size,
            "free_pages": free,
            "auto_vacuum": {0: "none", 1: "full", 2: "incremental"}.get(self._pragma("auto_vacuum")),
        }

    def convert_to_incremental(self) -> bool:
        """Switch an older file to incremental auto-vacuum (one VACUUM); True if it did."""
        if self._pragma("auto_vacuum") != 0:
            return False
        self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        # Once per old file, when the worker's queue is empty; not cut into steps (a
        # VACUUM cannot be), so it is outside the lock budget: the log says when it ran.
        # Its temporary copy of the whole database goes to a file, not to memory (the
        # worker's connection keeps temporary files in memory: ``serve_the_worker``).
        temp_store = self._pragma("temp_store")
        self.db.execute("PRAGMA temp_store = FILE")
        try:
            self.locked("VACUUM", "VACUUM (conversion to incremental auto-vacuum)")
        finally:
            self.db.execute(f"PRAGMA temp_store = {int(temp_store)}")
        return True

    def reclaim_space(self, max_pages: int | None = None, *, wait: bool = True) -> int | None:
        """One step: give free pages back to the file system; the number given back.

        None (with ``wait=False``) when another process's step has the turn
        (``budget.StepTurn``): ask again a little later."""
        pages, free = self._pragma("page_count"), self._pragma("freelist_count")
        if free < RECLAIM_MIN_PAGES or free < pages * RECLAIM_SHARE:
            # Nothing (more) to give back: the write-ahead log goes too, by the same
            # short-waiting checkpoint the queue scrub uses.
            self.scrub_files()
            return 0
        steps = self.__dict__.get("_reclaim_steps")
        if steps is None:
            steps = self.__dict__["_reclaim_steps"] = budget.Steps(first=128, least=16)
        count = min(free, steps.size(), max_pages or free)
        with self.housekeeping_step(wait) as mine:
            if not mine:
                return None
            began = time.perf_counter()
            self.locked(f"PRAGMA incremental_vacuum({int(count)})", "incremental_vacuum",
                        to_the_end=True)
            steps.done(count, time.perf_counter() - began)
        return count
