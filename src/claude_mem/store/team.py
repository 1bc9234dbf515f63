"""The local SQLite side of team memory: shared projects, the outbox, teammates' rows.

Contract:
- ``migrations.m004_team_memory`` adds ``member`` and ``machine`` to sessions, observations and summaries (NULL: made here; set: pulled from
  a teammate or from another machine), a ``uid`` on pulled rows, the ``team_projects`` /
  ``team_roots`` tables (which local folders share which project) and ``team_outbox``.
- Triggers put every observation and summary made here for a shared project into
  ``team_outbox`` in the same transaction that stores it: nothing is queued for a
  project that was not shared, pulled rows are never queued back, and a summary updated
  again before it was pushed is pushed once, in its newest version (``version``).
  A session belongs to a shared project when its project name is the shared folder's and
  its cwd is that folder or below it (so a nested repository is not swept in).
- Deleting a row made here of a shared project (``forget``) leaves a tombstone in
  ``team_tombstones`` (triggers of migration 7, in the same transaction) and drops the row
  from the outbox; ``unshare`` leaves one for every row of the folder it stops sharing.
- ``TeamStore(store)`` reads and writes those tables for ``claude-mem team`` and the sync:
  ``share``/``unshare``, ``outbox_batch``/``outbox_done``, ``tombstone_batch``/
  ``tombstones_done``, ``apply_pulled`` (rows and the project's pull cursor in the same
  transactions, short ones (the lock budget): a crash half way repeats nothing; a pulled
  tombstone deletes our copy of the row, and the teammate's session here once it is
  empty), the machine's random id (new with each database) and the last sync's outcome.
  Pulled rows are keyed here by ``member/uid``, as on the server.
"""
from __future__ import annotations

import json
import secrets
import time

_OBS_FIELDS = ("type", "title", "subtitle", "narrative", "tool_name", "generated_by",
               "prompt_number")
_OBS_LISTS = ("facts", "concepts", "files_read", "files_modified")
_SUMMARY_FIELDS = ("request", "investigated", "learned", "completed", "next_steps", "notes",
                   "generated_by", "prompt_number")
_SUMMARY_LISTS = ("files_read", "files_edited")


def _agent_of(rec: dict) -> str:
    """The agent a pulled record's session was recorded by (older clients did not say)."""
    agent = (rec.get("body") or {}).get("agent")
    return agent if isinstance(agent, str) and agent.strip() else "claude-code"


def _list(text) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


class TeamStore:
    """Team-memory reads and writes over an open ``Store``."""

    def __init__(self, store):
        self.store = store
        self.db = store.db

    # -- small state ------------------------------------------------------------------

    def get_state(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM team_state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_state(self, **values) -> None:
        with self.store.write():
            self.db.executemany(
                "INSERT INTO team_state (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [(k, json.dumps(v)) for k, v in values.items()])

    def machine_id(self) -> str:
        """This database's random id: every uid it pushes starts with it."""
        current = self.get_state("machine_id")
        if current:
            return current
        with self.store.write():
            self.db.execute("INSERT OR IGNORE INTO team_state (key, value) VALUES"
                            " ('machine_id', ?)", (json.dumps(secrets.token_hex(8)),))
        return self.get_state("machine_id")

    # -- sharing ----------------------------------------------------------------------

    def share(self, project_key: str, name: str, root: str) -> int:
        """Share the folder ``root`` as ``project_key``; returns how many rows were queued.

        What this folder's sessions recorded before is queued too: sharing a project
        shares its memory, not only what comes after.
        """
        now = time.time()
        with self.store.write():
            self.db.execute(
                "INSERT INTO team_projects (project_key, name, shared_at) VALUES (?, ?, ?)"
                " ON CONFLICT (project_key) DO NOTHING", (project_key, name, now))
            self.db.execute(
                "INSERT INTO team_roots (root, project_key, name) VALUES (?, ?, ?)"
                " ON CONFLICT (root) DO UPDATE SET project_key = excluded.project_key,"
                " name = excluded.name", (root, project_key, name))
            before = self.outbox_depth()
            for kind, table in (("observation", "observations"), ("summary", "summaries")):
                self.db.execute(
                    f"INSERT OR IGNORE INTO team_outbox (kind, row_id, project_key, queued_at)"
                    f" SELECT ?, t.id, ?, ? FROM {table} t JOIN sessions s ON s.id = t.session_id"
                    f" WHERE t.member IS NULL AND s.project = ? AND (s.cwd = ?"
                    f" OR substr(s.cwd, 1, length(?) + 1) = ? || '/')",
                    (kind, project_key, now, name, root, root, root))
            return self.outbox_depth() - before

    def unshare(self, root: str) -> tuple[str, str] | None:
        """Stop sharing the folder ``root``; the project too when no folder shares it any more.

        Returns (project_key, name), or None when ``root`` was not shared. What this folder's
        sessions made leaves the outbox and gets a tombstone: the next sync takes it off the
        server and out of teammates' memory.
        """
        now = time.time()
        with self.store.write():
            row = self.db.execute("SELECT project_key, name FROM team_roots WHERE root = ?",
                                  (root,)).fetchone()
            if row is None:
                return None
            for kind, table in (("observation", "observations"), ("summary", "summaries")):
                mine = (f"SELECT t.id FROM {table} t JOIN sessions s ON s.id = t.session_id"
                        f" WHERE t.member IS NULL AND s.project = ? AND (s.cwd = ?"
                        f" OR substr(s.cwd, 1, length(?) + 1) = ? || '/')")
                args = (row[1], root, root, root)
                self.db.execute(
                    f"INSERT OR IGNORE INTO team_tombstones (kind, row_id, project_key, name,"
                    f" queued_at) SELECT ?, id, ?, ?, ? FROM ({mine})",
                    (kind, row[0], row[1], now, *args))
                self.db.execute(f"DELETE FROM team_outbox WHERE kind = ? AND row_id IN ({mine})",
                                (kind, *args))
            self.db.execute("DELETE FROM team_roots WHERE root = ?", (root,))
            left = self.db.execute("SELECT 1 FROM team_roots WHERE project_key = ?",
                                   (row[0],)).fetchone()
            if not left:
                self.db.execute("DELETE FROM team_projects WHERE project_key = ?", (row[0],))
                self.db.execute("DELETE FROM team_outbox WHERE project_key = ?", (row[0],))
            return row[0], row[1]

    def shared_projects(self) -> list[dict]:
        projects = []
        for row in self.db.execute("SELECT * FROM team_projects ORDER BY name, project_key"):
            item = dict(row)
            item["roots"] = [r[0] for r in self.db.execute(
                "SELECT root FROM team_roots WHERE project_key = ? ORDER BY root",
                (row["project_key"],))]
            item["outbox"] = self.db.execute(
                "SELECT COUNT(*) FROM team_outbox WHERE project_key = ?",
                (row["project_key"],)).fetchone()[0]
            projects.append(item)
        return projects

    def root_share(self, root: str) -> dict | None:
        row = self.db.execute("SELECT * FROM team_roots WHERE root = ?", (root,)).fetchone()
        return dict(row) if row else None

    def outbox_depth(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM team_outbox").fetchone()[0]

    def tombstone_depth(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM team_tombstones").fetchone()[0]

    # -- forgetting -------------------------------------------------------------------

    def tombstone_batch(self, limit: int, *, machine_id: str, author: str,
                        machine_name: str) -> tuple[list[tuple], list[dict]]:
        """The oldest tombstones waiting (left by ``forget`` and ``unshare``: the triggers of
        migration 7), as entries for ``tombstones_done`` and as rows for ``bury``."""
        entries = self.db.execute(
            "SELECT kind, row_id, project_key, name, queued_at FROM team_tombstones"
            " ORDER BY queued_at, kind, row_id LIMIT ?", (limit,)).fetchall()
        records = [{"uid": f"{machine_id}:{kind[0]}:{row_id}", "project_key": key,
                    "project_name": name, "author": author, "machine_id": machine_id,
                    "machine_name": machine_name, "at": at}
                   for kind, row_id, key, name, at in entries]
        return [(e[0], e[1]) for e in entries], records

    def tombstones_done(self, entries: list[tuple]) -> None:
        with self.store.write():
            self.db.executemany("DELETE FROM team_tombstones WHERE kind = ? AND row_id = ?",
                                entries)

    # -- pushing ----------------------------------------------------------------------

    def outbox_batch(self, limit: int, *, machine_id: str, author: str,
                     machine_name: str) -> tuple[list[tuple], list[dict]]:
        """The oldest queued entries and the records to push for them.

        Entries whose row is gone (forgotten since) come back with no record: pushing
        them is done by dropping them.
        """
        entries = self.db.execute(
            "SELECT b.kind, b.row_id, b.version, b.project_key, p.name FROM team_outbox b"
            " JOIN team_projects p ON p.project_key = b.project_key"
            " ORDER BY b.queued_at, b.kind, b.row_id LIMIT ?", (limit,)).fetchall()
        records = []
        for kind, row_id, _, project_key, name in entries:
            table = "observations" if kind == "observation" else "summaries"
            row = self.db.execute(
                f"SELECT t.*, s.claude_session_id, s.agent FROM {table} t JOIN sessions s"
                f" ON s.id = t.session_id WHERE t.id = ? AND t.member IS NULL", (row_id,)).fetchone()
            if row is None:
                continue
            fields, lists = ((_OBS_FIELDS, _OBS_LISTS) if kind == "observation"
                             else (_SUMMARY_FIELDS, _SUMMARY_LISTS))
            body = {f: row[f] for f in fields}
            body.update({f: _list(row[f]) for f in lists})
            # Which coding agent recorded the session travels inside the body: the server's
            # schema stays as it is, and a teammate on an older version ignores the key.
            body["agent"] = row["agent"]
            records.append({
                "uid": f"{machine_id}:{kind[0]}:{row_id}", "kind": kind,
                "project_key": project_key, "project_name": name, "author": author,
                "machine_id": machine_id, "machine_name": machine_name,
                "claude_session_id": row["claude_session_id"],
                "created_at": row["created_at"],
                "updated_at": row["updated_at"] if kind == "summary" else row["created_at"],
                "body": body,
            })
        return [tuple(e[:3]) for e in entries], records

    def outbox_done(self, entries: list[tuple]) -> None:
        """Drop pushed entries, unless their row changed again meanwhile (then it goes again)."""
        with self.store.write():
            self.db.executemany(
                "DELETE FROM team_outbox WHERE kind = ? AND row_id = ? AND version = ?", entries)

    # -- pulling ----------------------------------------------------------------------

    def cursor(self, project_key: str) -> tuple[int, str]:
        row = self.db.execute("SELECT cursor_tx, cursor_uid FROM team_projects"
                              " WHERE project_key = ?", (project_key,)).fetchone()
        return (row[0], row[1]) if row else (0, "")

    def apply_pulled(self, project_key: str, records: list[dict]) -> int:
        """Store teammates' rows and move the project's cursor past them.

        Returns how many rows were new or newer here. Rows of this machine (no body) only
        move the cursor. Storing a row twice changes nothing (its uid is unique). The rows
        go in steps of about ``budget.STEP_MS`` of holding the write lock (a 500-row
        batch in one transaction kept hooks waiting), each step with the cursor moved to
        its last row in the same transaction, so a crash half way repeats nothing.
        """
        from claude_mem.store import budget

        steps = budget.Steps(first=32)
        stored = start = 0
        sessions: dict[str, int] = {}  # claude session id -> local mirror session id
        while start < len(records):
            chunk = records[start:start + steps.size()]
            began = time.perf_counter()
            done = self._apply_pulled_step(project_key, chunk, sessions)
            steps.done(len(chunk), time.perf_counter() - began)
            if done is None:  # unshared while we pulled
                break
            stored += done
            start += len(chunk)
        return stored

    def _apply_pulled_step(self, project_key: str, records: list[dict],
                           sessions: dict) -> int | None:
        from claude_mem.store.driver import sqlite3

        stored = 0
        with self.store.write():
            share = self.db.execute("SELECT name FROM team_projects WHERE project_key = ?",
                                    (project_key,)).fetchone()
            if share is None:
                return None
            name = share[0]
            for rec in records:
                if rec["body"] is None:
                    continue
                if rec["kind"] == "tombstone":
                    self._bury_pulled(rec)
                    continue
                try:
                    stored += self._store_pulled(name, rec, sessions)
                except (sqlite3.IntegrityError, KeyError, TypeError) as exc:
                    from claude_mem import log

                    log.warning(f"team: pulled row {rec['uid']} not stored ({exc!r})")
            last = records[-1]
            self.db.execute(
                "UPDATE team_projects SET cursor_tx = ?, cursor_uid = ?, last_pull_at = ?"
                " WHERE project_key = ? AND (cursor_tx < ? OR (cursor_tx = ? AND cursor_uid < ?))",
                (last["tx"], last["uid"], time.time(), project_key,
                 last["tx"], last["tx"], last["uid"]))
        return stored

    @staticmethod
    def local_uid(rec: dict) -> str:
        """A pulled row's key here: its member's role and its uid (the server's key), so a
        teammate's row under someone else's uid can never stand in for theirs."""
        return f"{rec['member']}/{rec['uid']}"

    def _bury_pulled(self, rec: dict) -> None:
        """A teammate forgot a row (or stopped sharing it): our copy goes, and the session
        standing for theirs goes too once nothing is left in it. Rows pulled before keys
        had the member in them are matched by their uid alone."""
        keys = (self.local_uid(rec), rec["uid"])
        sessions = set()
        for table in ("observations", "summaries"):
            for row in self.db.execute(
                    f"DELETE FROM {table} WHERE uid IN (?, ?) AND member IS NOT NULL"
                    " RETURNING session_id", keys).fetchall():
                sessions.add(row[0])
        for session in sessions:
            self.db.execute(
                "DELETE FROM sessions WHERE id = ? AND member IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM observations WHERE session_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM summaries WHERE session_id = ?)",
                (session, session, session))

    def _mirror_session(self, project: str, rec: dict, who: str, where: str) -> int:
        """The local session row standing for a teammate's session (made on first sight)."""
        self.db.execute(
            "INSERT OR IGNORE INTO sessions (claude_session_id, project, cwd, status, started_at,"
            " last_activity_at, completed_at, member, machine, agent)"
            " VALUES (?, ?, '', 'completed', ?, ?, ?, ?, ?, ?)",
            (rec["claude_session_id"], project, rec["created_at"], rec["updated_at"],
             rec["updated_at"], who, where, _agent_of(rec)))
        return self.db.execute("SELECT id FROM sessions WHERE claude_session_id = ?",
                               (rec["claude_session_id"],)).fetchone()[0]

    def _store_pulled(self, project: str, rec: dict, sessions: dict) -> int:
        body = rec["body"]
        who, where = rec["author"] or rec["member"], rec["machine_name"]
        session = sessions.get(rec["claude_session_id"])
        if session is None:
            session = sessions[rec["claude_session_id"]] = self._mirror_session(
                project, rec, who, where)
        self.db.execute("UPDATE sessions SET last_activity_at = MAX(last_activity_at, ?)"
                        " WHERE id = ? AND member IS NOT NULL AND last_activity_at < ?",
                        (rec["updated_at"], session, rec["updated_at"]))
        dumps = lambda v: json.dumps(list(v or []), ensure_ascii=False)  # noqa: E731
        uid = self.local_uid(rec)
        if rec["kind"] == "observation":
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO observations (session_id, project, prompt_number, type,"
                " title, subtitle, facts, narrative, concepts, files_read, files_modified,"
                " tool_name, tool_use_id, content_hash, generated_by, created_at, uid, member,"
                " machine) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)",
                (session, project, body.get("prompt_number"), str(body["type"]),
                 str(body["title"]), body.get("subtitle") or "", dumps(body.get("facts")),
                 body.get("narrative") or "", dumps(body.get("concepts")),
                 dumps(body.get("files_read")), dumps(body.get("files_modified")),
                 body.get("tool_name") or "", "team:" + uid,
                 body.get("generated_by") or "?", rec["created_at"], uid, who, where))
            return cursor.rowcount
        # A summary pulled before keys had the member in them takes the new key, so that
        # its next version updates it instead of clashing with it.
        self.db.execute("UPDATE summaries SET uid = ? WHERE uid = ? AND member IS NOT NULL",
                        (uid, rec["uid"]))
        cursor = self.db.execute(
            "INSERT INTO summaries (session_id, project, prompt_number, request, investigated,"
            " learned, completed, next_steps, notes, files_read, files_edited, generated_by,"
            " created_at, updated_at, uid, member, machine)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (uid) WHERE uid IS NOT NULL DO UPDATE SET request = excluded.request,"
            " investigated = excluded.investigated, learned = excluded.learned,"
            " completed = excluded.completed, next_steps = excluded.next_steps,"
            " notes = excluded.notes, files_read = excluded.files_read,"
            " files_edited = excluded.files_edited, generated_by = excluded.generated_by,"
            " updated_at = excluded.updated_at WHERE excluded.updated_at > summaries.updated_at",
            (session, project, int(body.get("prompt_number") or 0), body.get("request") or "",
             body.get("investigated") or "", body.get("learned") or "",
             body.get("completed") or "", body.get("next_steps") or "", body.get("notes") or "",
             dumps(body.get("files_read")), dumps(body.get("files_edited")),
             body.get("generated_by") or "?", rec["created_at"], rec["updated_at"], uid,
             who, where))
        return cursor.rowcount
