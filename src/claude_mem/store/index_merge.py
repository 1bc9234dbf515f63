"""The search index's merges, taken out of the commits and done in steps within the lock budget.

Why: FTS5 writes each transaction's new terms as a small segment and merges segments
itself ("automerge") inside the COMMIT of whichever transaction crosses a unit of work:
up to 64 pages for each level the index has. Traced at 100k observations
(``bench/lock_budget.py``), worker units of a few rows held the write lock for 190-230 ms
of CPU, continuing inside their commits the merge a ``forget`` had begun (whose
incremental optimize had also grown the observations index to 230 levels). So the FTS5
tables' own merging is turned off and the worker merges in steps, like any other
housekeeping.

Contract:
- ``defer_index_merges()``: turns FTS5's merging inside commits off for every search
  index (``automerge = 0``, kept in the database's ``*_config`` tables, so every
  connection and process follows it). A level that reaches ``crisismerge`` segments
  (FTS5's default, 16) is still merged inside the commit that filled it; that bounds the
  index when nobody merges (no worker running). Idempotent; True when it changed a table.
- ``merge_index_step(wait)``: one step of merging: FTS5's positive ``merge`` command,
  the same policy as its automerge (a level with ``usermerge`` = 4 segments or more, or
  a merge in progress, goes first), a few pages a statement (at most 64), statements
  until the step has held the lock ``budget.STEP_MS`` (``budget.StepClock``); taken in
  turn with other processes' steps (``budget.StepTurn``). Returns True when it merged something (more
  may wait), False when nothing was left, None when it was not this caller's turn
  (``wait=False``).
- ``index_levels(table)``: how many levels an index's structure has (read from its
  structure record; ``forget``'s incremental optimize adds one each time other writers
  added segments between two of its steps).
- Only positive merges run here: the negative ones (optimize in steps) are ``forget``'s,
  bounded there, since on SQLite 3.40 they corrupted an index when repeated without
  bound while another process wrote (``store.forgetting``).
"""
from __future__ import annotations

import time

from claude_mem.store import budget
from claude_mem.store.driver import sqlite3

from claude_mem.store.forgetting import FTS_TABLES

# Pages a merge statement starts with; then sized to about an eighth of a step.
_FIRST_PAGES = 16


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``at``: ``(value, next position)``."""
    value = 0
    for k in range(9):
        byte = data[at]
        at += 1
        if k == 8:
            return (value << 8) | byte, at
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at
    return value, at


class IndexMergeRoom:
    """Merging methods of ``Store`` (mixed in; uses ``self.db`` and ``self.write()``)."""

    db: sqlite3.Connection

    def defer_index_merges(self) -> bool:
        changed = False
        for table in FTS_TABLES:
            row = self.db.execute(f"SELECT v FROM {table}_config WHERE k = 'automerge'").fetchone()
            if row is not None and row[0] == 0:
                continue
            with self.write():
                self.db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', 0)")
            changed = True
        return changed

    def index_levels(self, table: str) -> int:
        # FTS5 keeps its list of segments in row 10 of its data table: a 4-byte cookie,
        # then the number of levels as a varint.
        row = self.db.execute(f"SELECT block FROM {table}_data WHERE id = 10").fetchone()
        if not row or not row[0] or len(row[0]) < 5:
            return 0
        return _varint(bytes(row[0]), 4)[0]

    def merge_index_step(self, wait: bool = True) -> bool | None:
        pages = self.__dict__.get("_merge_pages")
        if pages is None:
            pages = self.__dict__["_merge_pages"] = budget.Steps(
                first=_FIRST_PAGES, least=4, most=64, aim_ms=budget.STEP_MS / 8)
        left = self.__dict__.setdefault("_merge_left", set(FTS_TABLES))
        if not left:
            left.update(FTS_TABLES)
        commit = self.__dict__.setdefault("_merge_commit", budget.CommitCost())
        merged = False
        with self.housekeeping_step(wait) as mine:
            if not mine:
                return None
            with commit.step(self.write) as clock:  # room left for the commit's own writes
                for table in FTS_TABLES:
                    while table in left and not clock.over():
                        size = pages.size()
                        before = self.db.total_changes
                        began = time.perf_counter()
                        self.db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('merge', ?)",
                                        (size,))
                        # The command itself counts as one change; a merge writes more.
                        if self.db.total_changes - before < 2:
                            left.discard(table)  # nothing to merge there (for now)
                        else:
                            # Sized by merges that did work only: finding nothing is quick.
                            pages.done(size, time.perf_counter() - began)
                            merged = True
        return merged
