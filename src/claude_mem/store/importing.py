"""Copying memory in: what ``claude-mem import`` needs beyond the worker's own writes.

Contract: ``session_import_state`` tells an import what memory already holds of one Claude
Code session; ``stage_events``/``commit_staged`` put a replayed session on the queue
in large parts (staged in a connection-private temp table, so memory stays bounded and the
queue gets each part in one short transaction); the ``copy_*`` methods insert rows copied from elsewhere (the
original claude-mem, an export) once, never overwriting what is here, under their old ids
when those are free.
"""

import time

from claude_mem.store import budget
from claude_mem.store.db import _dumps, one
from claude_mem.store.driver import sqlite3


class ImportRoom:
    """Import methods of ``Store`` (mixed in)."""

    db: sqlite3.Connection

    def session_import_state(self, claude_session_id: str) -> dict | None:
        """What memory holds of one Claude Code session, for an import to add only the rest."""
        session = self.session_by_claude_id(claude_session_id)
        if session is None:
            return None
        sid = session["id"]
        prompts = [dict(row) for row in self.db.execute(
            "SELECT prompt_number, prompt_id, prompt FROM user_prompts WHERE session_id = ?"
            " ORDER BY prompt_number", (sid,))]
        processed = {row[0] for row in self.db.execute(
            "SELECT tool_use_id FROM processed_tool_uses WHERE session_id = ?", (sid,))}
        processed.update(row[0] for row in self.db.execute(
            "SELECT tool_use_id FROM observations WHERE session_id = ? AND tool_use_id != ''",
            (sid,)))
        summarized = {row[0] for row in self.db.execute(
            "SELECT p.prompt_id FROM summaries m JOIN user_prompts p ON p.session_id ="
            " m.session_id AND p.prompt_number = m.prompt_number WHERE m.session_id = ?"
            " AND p.prompt_id IS NOT NULL", (sid,))}
        return {"session": dict(session), "prompts": prompts, "processed": processed,
                "summarized_prompt_ids": summarized}

    def stage_events(self, rows) -> None:
        """Hold ``(event, payload, received_at)`` rows in a connection-private temp table.

        The temp table lives outside the database file (no write lock, spilled to disk
        when large), so a big session is staged with bounded memory and then enters the
        queue in one short transaction with ``commit_staged``.
        """
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS import_staging (seq INTEGER PRIMARY KEY,"
            " event TEXT NOT NULL, payload TEXT NOT NULL, received_at REAL NOT NULL)")
        self.db.executemany(
            "INSERT INTO temp.import_staging (event, payload, received_at) VALUES (?, ?, ?)",
            rows)

    def discard_staged(self) -> None:
        self.db.execute("DROP TABLE IF EXISTS temp.import_staging")

    def commit_staged(self) -> tuple[int, int]:
        """Move the staged rows to the queue, in order; ``(rows, highest id)``.

        In steps of about ``budget.STEP_MS`` of holding the write lock (several inserts
        each, ended by the step's clock), taken in turn with other housekeeping
        (``budget``): a long session staged at once is thousands of rows, and hooks must
        not wait for them. A crash between steps leaves the first
        steps queued; the import, run again, sees them as what memory already has.
        """
        exists = self.db.execute(
            "SELECT 1 FROM temp.sqlite_master WHERE name = 'import_staging'").fetchone()
        if not exists:
            return 0, 0
        bounds = self.db.execute("SELECT MIN(seq), MAX(seq) FROM temp.import_staging").fetchone()
        count = last = 0
        if bounds[0] is not None:
            per_statement = budget.Steps(first=16, aim_ms=budget.STEP_MS / 4)
            seq, end = bounds
            while seq <= end:
                with self.housekeeping_step(), self.write():
                    clock = budget.StepClock()
                    while seq <= end and not clock.over():
                        size = per_statement.size()
                        began = time.perf_counter()
                        count += self.db.execute(
                            "INSERT INTO pending (event, payload, received_at) SELECT event,"
                            " payload, received_at FROM temp.import_staging WHERE seq >= ?"
                            " AND seq < ? ORDER BY seq", (seq, seq + size)).rowcount
                        per_statement.done(size, time.perf_counter() - began)
                        seq += size
                    last = self.db.execute("SELECT MAX(id) FROM pending").fetchone()[0] or 0
        self.discard_staged()
        return count, last

    def _insert_copy(self, table: str, values: dict, keep_id) -> int | None:
        """INSERT OR IGNORE a copied row, under its old id when that id is free here."""
        if keep_id is not None and not self.db.execute(
                f"SELECT 1 FROM {table} WHERE id = ?", (keep_id,)).fetchone():
            values = {"id": keep_id, **values}
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        cursor = self.db.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})",
                                 tuple(values.values()))
        return cursor.lastrowid if cursor.rowcount else None

    def copy_session(self, claude_session_id: str, *, project: str, cwd: str, started_at: float,
                     last_activity_at: float, completed_at: float | None, status: str,
                     end_reason: str | None, runs: int = 1, keep_id=None,
                     agent: str = "claude-code") -> tuple[dict, bool]:
        """The session of a copied memory: ``(row, created)``; an existing one is left as is."""
        row = self.session_by_claude_id(claude_session_id)
        if row is not None:
            return row, False
        status = status if status in ("active", "completed", "failed") else "completed"
        self._insert_copy("sessions", {
            "claude_session_id": claude_session_id, "project": project, "cwd": cwd or "",
            "status": status, "started_at": started_at, "completed_at": completed_at,
            "last_activity_at": max(last_activity_at, started_at), "runs": max(1, int(runs or 1)),
            "end_reason": end_reason, "agent": agent}, keep_id)
        return self.session_by_claude_id(claude_session_id), True

    def copy_prompt(self, session_id: int, prompt_id: str, text: str, at: float,
                    number: int | None = None, own_prefix: str | None = None) -> tuple[int, bool]:
        """A copied prompt's number here: ``(number, created)``. Known by id or by its text.

        With ``own_prefix``, prompts whose id starts with it (copied by the same importer)
        never match by text: they are other prompts that happen to say the same thing.
        """
        known = self._number_of_prompt(session_id, prompt_id)
        if known is not None:
            return known, False
        same = self.db.execute(
            "SELECT prompt_number FROM user_prompts WHERE session_id = ? AND prompt = ?"
            " AND (? IS NULL OR prompt_id IS NULL OR substr(prompt_id, 1, length(?)) != ?)"
            " ORDER BY prompt_number LIMIT 1",
            (session_id, text, own_prefix, own_prefix, own_prefix)).fetchone()
        if same is not None:
            return same[0], False
        taken = number is None or number < 1 or self.db.execute(
            "SELECT 1 FROM user_prompts WHERE session_id = ? AND prompt_number = ?",
            (session_id, number)).fetchone()
        if taken:
            number = self.db.execute(
                "SELECT MAX(prompt_counter, COALESCE((SELECT MAX(prompt_number) FROM user_prompts"
                " WHERE session_id = ?), 0)) + 1 FROM sessions WHERE id = ?",
                (session_id, session_id)).fetchone()[0]
        self.db.execute(
            "INSERT INTO user_prompts (session_id, prompt_number, prompt_id, prompt, created_at)"
            " VALUES (?, ?, ?, ?, ?)", (session_id, number, prompt_id, text, at))
        self.db.execute("UPDATE sessions SET prompt_counter = MAX(prompt_counter, ?) WHERE id = ?",
                        (number, session_id))
        return number, True

    def copy_observation(self, session_id: int, project: str, prompt_number, fields: dict,
                         content_hash: str, generated_by: str, created_at: float,
                         keep_id=None) -> bool:
        """Insert a copied observation once (by content hash); True if it was new."""
        values = {"session_id": session_id, "project": project, "prompt_number": prompt_number,
                  "type": fields.get("type") or "change", "title": fields.get("title") or "",
                  "subtitle": fields.get("subtitle") or "", "narrative": fields.get("narrative") or "",
                  "tool_name": fields.get("tool_name") or "",
                  "tool_use_id": fields.get("tool_use_id") or "",
                  "content_hash": content_hash, "generated_by": generated_by,
                  "created_at": created_at}
        for key in ("facts", "concepts", "files_read", "files_modified"):
            values[key] = _dumps(fields.get(key) or ())
        return self._insert_copy("observations", values, keep_id) is not None

    def copy_summary(self, session_id: int, project: str, prompt_number: int, fields: dict,
                     generated_by: str, created_at: float, updated_at: float | None = None,
                     keep_id=None) -> bool:
        """Insert a copied summary unless that request has one already; True if it was new."""
        values = {"session_id": session_id, "project": project, "prompt_number": prompt_number,
                  "generated_by": generated_by, "created_at": created_at,
                  "updated_at": updated_at if updated_at is not None else created_at}
        for key in ("request", "investigated", "learned", "completed", "next_steps", "notes"):
            values[key] = fields.get(key) or ""
        for key in ("files_read", "files_edited"):
            values[key] = _dumps(fields.get(key) or ())
        return self._insert_copy("summaries", values, keep_id) is not None

    def pending_up_to(self, last_id: int) -> dict:
        """How many queued rows with ``id <= last_id`` are still waiting, and how many parked."""
        row = self.db.execute(
            "SELECT SUM(status = 'pending'), SUM(status = 'parked') FROM pending WHERE id <= ?",
            (last_id,)).fetchone()
        return {"pending": row[0] or 0, "parked": row[1] or 0}
