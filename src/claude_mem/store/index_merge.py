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
  connection and process follows it), and has the steps below merge a level as soon as
  it holds two segments (``usermerge = 2``, FTS5's default 4). A level that reaches
  ``crisismerge`` segments (FTS5's default, 16) is still merged inside the commit that
  filled it; that bounds the index when nobody merges (no worker running). Idempotent;
  True when it changed a table.
- ``merge_index_step(wait)``: one step of merging: FTS5's positive ``merge`` command
  (a level with ``usermerge`` segments or more, or a merge in progress, goes first), a few
  pages a statement (at most 64), statements
  until the step has held the lock ``budget.STEP_MS`` (``budget.StepClock``); taken in
  turn with other processes' steps (``budget.StepTurn``). Returns True when it merged something (more
  may wait), False when nothing was left, None when it was not this caller's turn
  (``wait=False``).
- ``index_levels(table)``: how many levels an index's structure has (read from its
  structure record; ``forget``'s incremental optimize adds one each time other writers
  added segments between two of its steps); ``index_segments(table)``: how many segments.

Why two segments: every word a query looks up is looked up in every segment (a b-tree
search and its pages each), so what a search costs grows with their number. At 100k
observations the steps kept 13 segments with FTS5's 4 and 3-6 with 2: prompt recall in the
UserPromptSubmit hook (a dozen word lookups) 0.4-0.5 ms less CPU per prompt. The price is
more merging (each row is rewritten once per level, and levels fill twice as often):
measured with worker-sized transactions at 100k, the steps' CPU +0.07 ms a transaction.
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
# Every search index's merge settings once the worker has started (see the docstring).
_MERGE_CONFIG = {"automerge": 0, "usermerge": 2}


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
            config = dict(self.db.execute(
                f"SELECT k, v FROM {table}_config WHERE k IN ('automerge', 'usermerge')"))
            if config == _MERGE_CONFIG:
                continue
            with self.write():
                for key, value in _MERGE_CONFIG.items():
                    self.db.execute(f"INSERT INTO {table}({table}, rank) VALUES (?, ?)",
                                    (key, value))
            changed = True
        return changed

    def _structure(self, table: str) -> tuple[int, int]:
        # FTS5 keeps its list of segments in row 10 of its data table: a 4-byte cookie
        # (newer SQLite may follow it with a 4-byte version mark), then the number of
        # levels and the number of segments as varints.
        row = self.db.execute(f"SELECT block FROM {table}_data WHERE id = 10").fetchone()
        data = bytes(row[0]) if row and row[0] else b""
        at = 8 if data[4:8] == b"\xff\x00\x00\x01" else 4
        if len(data) < at + 2:
            return 0, 0
        levels, at = _varint(data, at)
        return levels, _varint(data, at)[0]

    def index_levels(self, table: str) -> int:
        return self._structure(table)[0]

    def index_segments(self, table: str) -> int:
        return self._structure(table)[1]

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
