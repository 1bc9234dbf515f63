"""Forgetting: memory removed from the tables, the search index and the file's bytes.

Contract: ``forget_observations(ids)``, ``forget_session(session_id)`` and
``forget_project(name)`` delete and return what they deleted (counts per table, and the
observation ids). A session goes with its prompts, observations, summaries, processed-tool
marks and any queue rows still waiting for it; a project with all its sessions and every
memory row filed under it. Every forget also drops the start contexts' text that prompt
recall keeps (``shown_context``: it quotes memory). ``scrub()`` then makes the bytes leave the files: the FTS5
indexes are merged (a deleted row's terms live in old index segments until a merge), the
free pages are given back to the file system and the WAL is checkpointed and truncated.
The connection runs with ``secure_delete``, so a deleted row is zeroed in the table pages
(and in the pages it leaves free) by the delete itself.

The lock budget (``budget``): a large project is thousands of rows, and one transaction
deleting them held the write lock for seconds while hooks spooled their events. So every
delete, merge and vacuum goes in steps sized by time (about ``budget.STEP_MS`` each) with
the lock free in between. Children go before their parents (observations, summaries,
prompts, marks, queue rows, then the session rows), so an interrupted ``forget`` leaves no
orphan, only less memory; running it again finishes the job.
"""

import time

from claude_mem.store import budget
from claude_mem.store.driver import sqlite3

FTS_TABLES = ("observations_fts", "summaries_fts", "user_prompts_fts")

# At most this many merge steps per index (see ``merge_search_index``).
_MERGE_STEPS = 400
# At most this many levels added to an index by one ``forget`` (see ``merge_search_index``).
_MAX_NEW_LEVELS = 8
# An index with this many levels is rebuilt from its table instead (see
# ``merge_search_index``): FTS5 refuses an index past 2,000 levels.
_REBUILD_LEVELS = 512

_COUNTS = ("sessions", "prompts", "observations", "summaries", "queued")


class ForgetRoom:
    """Forgetting methods of ``Store`` (mixed in; uses ``self.db`` and ``self.write()``)."""

    db: sqlite3.Connection

    def forget_observations(self, ids) -> dict:
        self._drop_shown_context()
        ids = sorted({int(i) for i in ids})
        found = [row[0] for row in self.db.execute(
            "SELECT id FROM observations WHERE id IN (SELECT value FROM json_each(?))",
            (_json_list(ids),))]
        self._delete_ids("observations", found)
        return {"observations": len(found), "ids": found}

    def forget_session(self, session_id: int) -> dict:
        return self._forget(session_ids=[session_id], project=None)

    def forget_project(self, project: str) -> dict:
        ids = [row[0] for row in self.db.execute(
            "SELECT id FROM sessions WHERE project = ?", (project,))]
        return self._forget(session_ids=ids, project=project)

    def project_row_count(self, project: str) -> int:
        """How many observations and summaries are filed under ``project``."""
        return self.db.execute(
            "SELECT (SELECT COUNT(*) FROM observations WHERE project = ?)"
            " + (SELECT COUNT(*) FROM summaries WHERE project = ?)", (project, project)).fetchone()[0]

    def _forget(self, *, session_ids, project) -> dict:
        """Delete the sessions ``session_ids`` with everything in them, and (``project``)
        every observation and summary filed under that project, in steps (module doc)."""
        self._drop_shown_context()
        counts = dict.fromkeys(_COUNTS, 0)
        sessions = dict(self.db.execute(
            "SELECT id, claude_session_id FROM sessions WHERE id IN (SELECT value FROM json_each(?))",
            (_json_list(session_ids),)).fetchall())
        ids = sorted(sessions)
        # Rows are looked up without the lock, then deleted by id in steps.
        in_sessions = "session_id IN (SELECT value FROM json_each(?))"
        for table, key in (("observations", "observations"), ("summaries", "summaries")):
            found = self._ids_where(table, in_sessions, (_json_list(ids),)) if ids else []
            if project is not None:
                found = sorted(set(found) | set(self._ids_where(table, "project = ?", (project,))))
            counts[key] += self._delete_ids(table, found)
        if ids:
            counts["prompts"] += self._delete_ids(
                "user_prompts", self._ids_where("user_prompts", in_sessions, (_json_list(ids),)))
            self._delete_marks(ids)
            counts["queued"] += self._delete_ids("pending", self._queued_for(set(sessions.values())))
            counts["sessions"] += self._delete_ids("sessions", ids)
        if project is not None:  # the triggers dropped its cached text; now its rows go too
            self.drop_project_contexts(project)
        return counts

    def _drop_shown_context(self) -> None:
        """The start contexts' text kept for prompt recall (store/shown.py) quotes memory,
        so any forget drops all of it (a few rows; recall then only risks a repeat)."""
        with self.housekeeping_step(), self.write():
            self.db.execute("DELETE FROM shown_context")

    def _ids_where(self, table: str, where: str, params) -> list[int]:
        return [row[0] for row in self.db.execute(
            f"SELECT id FROM {table} WHERE {where} ORDER BY id", params)]

    def _queued_for(self, claude_ids: set) -> list[int]:
        """The queue rows still waiting for any of these Claude Code sessions (one scan)."""
        if not claude_ids:
            return []
        return [row[0] for row in self.db.execute(
            "SELECT id, CASE WHEN json_valid(payload) THEN json_extract(payload, '$.session_id')"
            " END AS sid FROM pending ORDER BY id") if row[1] in claude_ids]

    def _delete_ids(self, table: str, ids: list[int]) -> int:
        """``DELETE FROM table WHERE id IN ids``, in steps of about ``budget.STEP_MS``.

        A step is several small deletes, ended by its clock (``budget.StepClock``): the
        cost of a row varies with its text (every term leaves the search index), so a
        step sized by a count alone ran past the budget now and then."""
        per_statement = budget.Steps(first=4, most=64, aim_ms=budget.STEP_MS / 8)
        commit = self.__dict__.setdefault("_delete_commit", budget.CommitCost())
        deleted = 0
        start = 0
        while start < len(ids):
            # The commit adds its own work (it writes the search index's deletions): the
            # statements stop as much earlier as it took.
            with self.housekeeping_step(), commit.step(self.write) as clock:
                while start < len(ids) and not clock.over():
                    chunk = ids[start:start + per_statement.size()]
                    began = time.perf_counter()
                    deleted += self.db.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?))",
                        (_json_list(chunk),)).rowcount
                    per_statement.done(len(chunk), time.perf_counter() - began)
                    start += len(chunk)
        return deleted

    def _delete_marks(self, session_ids: list[int]) -> None:
        """The processed-tool marks of these sessions (a table without row ids), in steps."""
        steps = budget.Steps(first=200)
        for session_id in session_ids:
            while True:
                with self.housekeeping_step(), self.write():
                    began = time.perf_counter()
                    size = steps.size()
                    count = self.db.execute(
                        "DELETE FROM processed_tool_uses WHERE session_id = ? AND tool_use_id IN"
                        " (SELECT tool_use_id FROM processed_tool_uses WHERE session_id = ?"
                        " LIMIT ?)", (session_id, session_id, size)).rowcount
                steps.done(count, time.perf_counter() - began)
                if count < size:
                    break

    def merge_search_index(self) -> bool:
        """Merge each full-text index into one segment, in steps of bounded work; True
        when every index got there.

        Same end as FTS5's ``optimize`` (which rewrote a 100k-row index in one transaction):
        a negative ``merge`` first puts every segment on one level, then merges about that
        many pages per call; a call that changed fewer than two rows found nothing to do.
        While another process keeps writing (the worker, hooks' events), the merge chases
        the new segments and never finishes, and on SQLite 3.40 about a thousand such steps
        corrupted the index (reproduced: its structure record grew with every step). So it
        stops once it has merged twice the pages the index had when it began (all of the
        old segments have then been through a merge), after ``_MERGE_STEPS`` steps, once
        that record has doubled, or once the index has ``_MAX_NEW_LEVELS`` more levels: a
        negative merge that finds segments on more than one level puts them all on a new
        level above the others, and levels are never taken away (one ``forget`` beside a
        draining worker left the observations index with 230 levels, and FTS5's automerge
        then did 64 pages of work per level inside a single commit). What is left is
        merged in steps by the worker (``store.index_merge``) and by the next ``forget``.

        Those levels add up over many forgets beside a writing worker (about two a
        forget; measured in round 14: 3 to 411 levels over 204 forgets of probe sessions),
        and past 2,000 FTS5 takes the index for corrupt: every search of it, and every
        write to its table, fails. Only a rebuild takes levels away (``optimize`` and
        merges keep them). So an index that has reached ``_REBUILD_LEVELS`` is rebuilt
        from its content table in one transaction instead of merged: the forgotten rows'
        terms go with it, as a merge would take them. That transaction is long (about 2 s
        at 100k observations, against the steps' ~25 ms): hooks that meet it spool their
        events and lose nothing, and it comes once in a few hundred forgets.
        """
        complete = True
        for table in FTS_TABLES:
            if self.index_levels(table) >= _REBUILD_LEVELS:
                self._rebuild_search_index(table)
                continue
            steps = budget.Steps(first=16, least=4, most=4096)
            first_size = self._fts_structure_size(table)
            first_levels = self.index_levels(table)
            enough = 2 * self.db.execute(f"SELECT count(*) FROM {table}_data").fetchone()[0] + 16
            merged = 0
            for _ in range(_MERGE_STEPS):
                if merged >= enough:
                    complete = False
                    break
                with self.housekeeping_step(), self.write():
                    began = time.perf_counter()
                    before = self.db.total_changes
                    pages = steps.size()
                    self.db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('merge', ?)",
                                    (-pages,))
                    changed = self.db.total_changes - before
                steps.done(pages, time.perf_counter() - began)
                merged += pages
                if changed < 2:
                    break
                if (self._fts_structure_size(table) > 2 * first_size + 1024
                        or self.index_levels(table) > first_levels + _MAX_NEW_LEVELS):
                    complete = False
                    break
            else:
                complete = False
        return complete

    def _rebuild_search_index(self, table: str) -> None:
        from claude_mem import log

        levels = self.index_levels(table)
        began = time.perf_counter()
        with self.housekeeping_step(), self.write():
            self.db.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
        log.warning(f"forget: {table} had {levels} levels (FTS5 refuses an index past 2,000);"
                    f" rebuilt from its table in {time.perf_counter() - began:.2f} s")

    def _fts_structure_size(self, table: str) -> int:
        # FTS5 keeps its list of segments in row 10 of its data table.
        row = self.db.execute(f"SELECT length(block) FROM {table}_data WHERE id = 10").fetchone()
        return row[0] if row and row[0] else 0

    def scrub(self) -> tuple[bool, bool]:
        """Make deleted content leave the files (see the module doc):
        ``(index merged, WAL truncated)``."""
        merged = self.merge_search_index()
        while self.reclaim_space():  # free pages back to the file system, step by step
            pass
        for _ in range(30):  # a reader (a hook, the worker) may hold the WAL for a moment
            if self.scrub_files():
                return merged, True
            time.sleep(0.1)
        return merged, False


def _json_list(values) -> str:
    import json

    return json.dumps(list(values))
