"""Giving disk space back: the file shrinks when what filled it is gone.

Contract (the worker calls these when it has nothing else to do; nothing here runs on
the hook path):
- New databases are created with ``auto_vacuum = INCREMENTAL`` (see ``migrations.apply``).
  ``convert_to_incremental()`` is the migration for files made before that: it needs a
  ``VACUUM``, which rewrites the whole file and must not run inside a transaction, so it
  is not one of the numbered migrations; the worker runs it once, when its queue is empty.
- ``reclaim_space(max_pages)`` does bounded work: it gives at most ``max_pages`` free
  pages back to the file system (``PRAGMA incremental_vacuum``) once free pages are a
  noticeable share of the file, and truncates the write-ahead log after a checkpoint.
- ``space_stats()`` reports the file, its WAL and its live data.

Why: every event passes through the ``pending`` queue (~1.25 kB a row) and is deleted
once it became memory. Without this, a 100k-event backlog left a 197 MB file holding
85 MB of live data, forever.
"""

import os

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
        self.db.execute("VACUUM")
        return True

    def reclaim_space(self, max_pages: int = 4096) -> int:
        """Return up to ``max_pages`` free pages to the file system; the number returned."""
        pages, free = self._pragma("page_count"), self._pragma("freelist_count")
        returned = 0
        if free >= RECLAIM_MIN_PAGES and free >= pages * RECLAIM_SHARE:
            returned = min(free, max_pages)
            self.db.execute(f"PRAGMA incremental_vacuum({int(returned)})").fetchall()
        # The WAL is truncated by the same short-waiting checkpoint the queue scrub uses
        # (``db.scrub_files``): a TRUNCATE checkpoint holds off writers, hooks included.
        self.scrub_files()
        return returned
