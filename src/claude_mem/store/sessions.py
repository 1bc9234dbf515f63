"""Sessions and their user prompts, as the worker records them.

Contract: a session is keyed by Claude Code's session id; activity reopens a finished
one; prompt numbers are stable across redelivery (a known ``prompt_id`` keeps its number).
"""

import time

from claude_mem.store.db import dicts, one, row_id
from claude_mem.store.driver import sqlite3

# ``user_prompts``' columns in ``SELECT *`` order, as ``add_prompt`` knows its new row.
_PROMPT_COLUMNS = ("id", "session_id", "prompt_number", "prompt_id", "prompt", "created_at")


class SessionsRoom:
    """Session and prompt methods of ``Store`` (mixed in)."""

    db: sqlite3.Connection

    def session_by_claude_id(self, claude_session_id: str) -> dict | None:
        group = self.__dict__.get("_group")  # the drain's shared transaction (group_writes)
        if group is not None:
            kept = group.sessions.get(claude_session_id)
            if kept is not None:
                return dict(kept)
            return group.remember(self._session_row(claude_session_id))
        return self._session_row(claude_session_id)

    def _session_row(self, claude_session_id: str) -> dict | None:
        return one(self.db.execute(
            "SELECT * FROM sessions WHERE claude_session_id = ?", (claude_session_id,)
        ).fetchone())

    def session(self, session_id: int) -> dict | None:
        if row_id(session_id) is None:
            return None
        group = self.__dict__.get("_group")
        if group is not None and session_id in group.by_id:
            return dict(group.by_id[session_id])
        return one(self.db.execute("SELECT * FROM sessions WHERE id = ?",
                                   (session_id,)).fetchone())

    def open_session(self, claude_session_id: str, project: str, cwd: str,
                     at: float, *, new_run: bool = False, agent: str = "claude-code") -> dict:
        """Find or create the session; a finished session that sees new activity reopens.
        ``agent``: the coding agent that recorded it, set when the session is created."""
        # One statement (the worker opens a session for every unit of work): a new row,
        # or the known one reopened if it had finished, its activity moved on. In an
        # UPDATE's SET every column names its value before the update (``status`` in the
        # CASEs is the old one). RETURNING: the row as it now is, without reading it again.
        group = self.__dict__.get("_group")
        if group is not None:  # the drain's shared transaction: see ``group_writes``
            kept = group.sessions.get(claude_session_id)
            if kept is not None:
                if not new_run and kept["status"] == "active":
                    group.move_on(kept, at)  # written once, at the group's commit
                    return dict(kept)
                group.write_moved(self.db, kept["id"])  # the statements below read it
        updated = self._open_session(claude_session_id, project, cwd, at, new_run, agent)
        return updated if group is None else group.remember(updated)

    def _open_session(self, claude_session_id: str, project: str, cwd: str, at: float,
                      new_run: bool, agent: str) -> dict:
        if not new_run:
            # The common case, an active session's next unit of work: the UPSERT below
            # would only move ``last_activity_at`` on. This UPDATE does exactly that at
            # under half its cost (no insert tried first); no row: the UPSERT decides.
            cursor = self.db.execute(
                "UPDATE sessions SET last_activity_at = MAX(last_activity_at, ?)"
                " WHERE claude_session_id = ? AND status = 'active' RETURNING *",
                (at, claude_session_id))
            updated = cursor.fetchone()
            cursor.close()  # a RETURNING statement is finished only once stepped to its end
            if updated is not None:
                return one(updated)
        cursor = self.db.execute(
            "INSERT INTO sessions (claude_session_id, project, cwd, started_at,"
            " last_activity_at, agent) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (claude_session_id) DO UPDATE SET"
            " runs = runs + CASE WHEN status != 'active' THEN 1 ELSE ? END,"
            " completed_at = CASE WHEN status != 'active' THEN NULL ELSE completed_at END,"
            " end_reason = CASE WHEN status != 'active' THEN NULL ELSE end_reason END,"
            " status = 'active', last_activity_at = MAX(last_activity_at, ?) RETURNING *",
            (claude_session_id, project, cwd, at, at, agent, 1 if new_run else 0, at),
        )
        updated = one(cursor.fetchone())
        cursor.close()  # a RETURNING statement is finished only once stepped to its end
        return updated

    def _number_of_prompt(self, session_id: int, prompt_id: str | None) -> int | None:
        if not prompt_id:
            return None
        group = self.__dict__.get("_group")
        if group is not None and (session_id, prompt_id) in group.prompts:
            return group.prompts[(session_id, prompt_id)]["prompt_number"]
        row = self.db.execute(
            "SELECT prompt_number FROM user_prompts WHERE session_id = ? AND prompt_id = ?",
            (session_id, prompt_id),
        ).fetchone()
        return row[0] if row else None

    def add_prompt(self, session_id: int, prompt_id: str | None, text: str, at: float) -> int:
        """Store a user prompt once; returns its prompt number (stable across retries)."""
        known = self._number_of_prompt(session_id, prompt_id)
        if known is not None:
            return known
        group = self.__dict__.get("_group")
        if group is not None and session_id in group.by_id:
            number = group.count_prompt(group.by_id[session_id])  # written at the commit
        else:
            number = self.db.execute(
                "UPDATE sessions SET prompt_counter = prompt_counter + 1 WHERE id = ?"
                " RETURNING prompt_counter", (session_id,)
            ).fetchone()[0]
        cursor = self.db.execute(
            "INSERT INTO user_prompts (session_id, prompt_number, prompt_id, prompt, created_at)"
            " VALUES (?, ?, ?, ?, ?)", (session_id, number, prompt_id, text, at),
        )
        if group is not None and prompt_id and type(text) is str and _PROMPT_COLUMNS == (
                self.__dict__.get("_prompt_columns") or self._read_prompt_columns()):
            # The row as ``prompt_by_id`` reads it back (its columns checked once).
            group.prompts[(session_id, prompt_id)] = {
                "id": cursor.lastrowid, "session_id": session_id, "prompt_number": number,
                "prompt_id": prompt_id, "prompt": text, "created_at": float(at)}
        return number

    def _read_prompt_columns(self) -> tuple:
        columns = self.__dict__["_prompt_columns"] = tuple(
            row[1] for row in self.db.execute("PRAGMA table_info(user_prompts)"))
        return columns

    def prompt_number_for(self, session_id: int, prompt_id: str | None) -> int:
        """The prompt a tool event belongs to: by prompt_id, else the latest one (0 if none)."""
        known = self._number_of_prompt(session_id, prompt_id)
        if known is not None:
            return known
        group = self.__dict__.get("_group")
        if group is not None and session_id in group.by_id:
            return group.by_id[session_id]["prompt_counter"]
        row = self.db.execute(
            "SELECT prompt_counter FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return row[0] if row else 0

    def prompt_by_id(self, session_id: int, prompt_id: str | None) -> dict | None:
        """The request a ``prompt_id`` names, as ``prompt`` reads it (None: no id, or not
        stored): its number and text in one read (``prompt_number_for``, then ``prompt``)."""
        if not prompt_id:
            return None
        group = self.__dict__.get("_group")
        if group is not None and (session_id, prompt_id) in group.prompts:
            return dict(group.prompts[(session_id, prompt_id)])
        row = one(self.db.execute(
            "SELECT * FROM user_prompts WHERE session_id = ? AND prompt_id = ?",
            (session_id, prompt_id),
        ).fetchone())
        if row is not None and group is not None:
            group.prompts[(session_id, prompt_id)] = dict(row)
        return row

    def prompt(self, session_id: int, prompt_number: int) -> dict | None:
        return one(self.db.execute(
            "SELECT * FROM user_prompts WHERE session_id = ? AND prompt_number = ?",
            (session_id, prompt_number),
        ).fetchone())

    def prompts(self, session_id: int) -> list[dict]:
        return dicts(self.db.execute(
            "SELECT * FROM user_prompts WHERE session_id = ? ORDER BY prompt_number",
            (session_id,),
        ))

    def touch_session(self, session_id: int, at: float) -> None:
        group = self.__dict__.get("_group")
        if group is not None and session_id in group.by_id:
            group.move_on(group.by_id[session_id], at)  # written at the group's commit
            return
        self.db.execute(
            "UPDATE sessions SET last_activity_at = MAX(last_activity_at, ?) WHERE id = ?",
            (at, session_id),
        )

    def complete_session(self, session_id: int, reason: str, at: float,
                         status: str = "completed") -> None:
        group = self.__dict__.get("_group")
        if group is not None:
            group.forget(self.db, session_id)  # the row changes: read again after this
        self.db.execute(
            "UPDATE sessions SET status = ?, completed_at = ?, end_reason = ? WHERE id = ?",
            (status, at, reason, session_id),
        )

    def silent_sessions(self, older_than: float) -> list[dict]:
        self._settle_group()
        return dicts(self.db.execute(
            "SELECT * FROM sessions WHERE status = 'active' AND last_activity_at < ?"
            " ORDER BY last_activity_at", (older_than,),
        ))

    def active_sessions(self, limit: int = 20) -> list[dict]:
        """Active sessions, the most recently busy first."""
        self._settle_group()
        return dicts(self.db.execute(
            "SELECT * FROM sessions WHERE status = 'active'"
            " ORDER BY last_activity_at DESC LIMIT ?", (limit,),
        ))

    def projects_by_recency(self, limit: int = -1) -> list[str]:
        """Project names, the most recently active first (all of them by default)."""
        self._settle_group()
        return [row[0] for row in self.db.execute(
            "SELECT project FROM sessions GROUP BY project ORDER BY MAX(last_activity_at) DESC"
            " LIMIT ?", (limit,))]

    def project_folders(self) -> list[tuple[str, str]]:
        """(project, a folder it was recorded in) for every project, most recent first."""
        self._settle_group()
        return [(row[0], row[1] or "") for row in self.db.execute(
            "SELECT project, MAX(cwd) FROM sessions GROUP BY project"
            " ORDER BY MAX(last_activity_at) DESC")]

    def expire_sessions(self, started_before: float, *, dry_run: bool = False) -> list[dict]:
        """Mark sessions left active since before ``started_before`` as failed."""
        self._settle_group()
        rows = dicts(self.db.execute(
            "SELECT * FROM sessions WHERE status = 'active' AND last_activity_at < ?"
            " ORDER BY started_at", (started_before,),
        ))
        if rows and not dry_run:
            with self.write():
                self.db.executemany(
                    "UPDATE sessions SET status = 'failed', completed_at = ?,"
                    " end_reason = 'expired' WHERE id = ? AND status = 'active'",
                    [(time.time(), row["id"]) for row in rows],
                )
        return rows

    def sessions(self, project: str | None = None, limit: int = 50) -> list[dict]:
        where, args = ("WHERE s.project = ?", [project]) if project else ("", [])
        return dicts(self.db.execute(
            "SELECT s.*,"
            " (SELECT COUNT(*) FROM observations o WHERE o.session_id = s.id) AS observation_count,"
            " (SELECT COUNT(*) FROM summaries m WHERE m.session_id = s.id) AS summary_count,"
            " (SELECT prompt FROM user_prompts p WHERE p.session_id = s.id"
            "  ORDER BY prompt_number LIMIT 1) AS first_prompt"
            f" FROM sessions s {where} ORDER BY s.started_at DESC, s.id DESC LIMIT ?",
            (*args, limit),
        ))

    def find_session(self, ident: str) -> dict | None:
        """By numeric id, full Claude session id, or a unique prefix of it."""
        if ident.isdigit():
            row = self.session(int(ident))
            if row:
                return row
        row = self.session_by_claude_id(ident)
        if row:
            return row
        rows = dicts(self.db.execute(
            "SELECT * FROM sessions WHERE claude_session_id LIKE ? LIMIT 2",
            (ident.replace("%", "").replace("_", "") + "%",),
        ))
        return rows[0] if len(rows) == 1 else None

    def _settle_group(self) -> None:
        """Inside the drain's shared transaction, before a statement that reads or changes
        sessions by itself: the times it noted are written and its rows forgotten."""
        group = self.__dict__.get("_group")
        if group is not None:
            group.settle(self.db)
