"""Forgetting: memory removed from the tables, the search index and the file's bytes.

Contract: ``forget_observations(ids)``, ``forget_session(session_id)`` and
``forget_project(name)`` delete in one transaction and return what they deleted (counts
per table, and the observation ids). A session goes with its prompts, observations,
summaries, processed-tool marks and any queue rows still waiting for it; a project with
all its sessions and every memory row filed under it. ``scrub()`` then makes the bytes
leave the files: the FTS5 indexes are merged (``optimize``: a deleted row's terms live in
old index segments until a merge), the database is rebuilt (``VACUUM``: only live content
is copied) and the WAL is checkpointed and truncated. The connection runs with
``secure_delete`` too, so nothing waits for the scrub to be zeroed in the table pages.
"""

import time

from claude_mem.store.driver import sqlite3

FTS_TABLES = ("observations_fts", "summaries_fts", "user_prompts_fts")


class ForgetRoom:
    """Forgetting methods of ``Store`` (mixed in; uses ``self.db`` and ``self.write()``)."""

    db: sqlite3.Connection

    def forget_observations(self, ids) -> dict:
        ids = sorted({int(i) for i in ids})
        with self.write():
            found = [row[0] for row in self.db.execute(
                "SELECT id FROM observations WHERE id IN (SELECT value FROM json_each(?))",
                (_json_list(ids),))]
            self.db.execute("DELETE FROM observations WHERE id IN (SELECT value FROM json_each(?))",
                            (_json_list(found),))
        return {"observations": len(found), "ids": found}

    def forget_session(self, session_id: int) -> dict:
        with self.write():
            return self._forget_sessions([session_id])

    def forget_project(self, project: str) -> dict:
        with self.write():
            ids = [row[0] for row in self.db.execute(
                "SELECT id FROM sessions WHERE project = ?", (project,))]
            counts = self._forget_sessions(ids)
            # Rows filed under the project but in a session of another (imports, renames).
            counts["observations"] += self.db.execute(
                "DELETE FROM observations WHERE project = ?", (project,)).rowcount
            counts["summaries"] += self.db.execute(
                "DELETE FROM summaries WHERE project = ?", (project,)).rowcount
        return counts

    def project_row_count(self, project: str) -> int:
        """How many observations and summaries are filed under ``project``."""
        return self.db.execute(
            "SELECT (SELECT COUNT(*) FROM observations WHERE project = ?)"
            " + (SELECT COUNT(*) FROM summaries WHERE project = ?)", (project, project)).fetchone()[0]

    def _forget_sessions(self, ids) -> dict:
        counts = {"sessions": 0, "prompts": 0, "observations": 0, "summaries": 0, "queued": 0}
        for session_id in ids:
            row = self.db.execute("SELECT claude_session_id FROM sessions WHERE id = ?",
                                  (session_id,)).fetchone()
            if row is None:
                continue
            # Children by name rather than by cascade: the counts are for the person.
            counts["observations"] += self.db.execute(
                "DELETE FROM observations WHERE session_id = ?", (session_id,)).rowcount
            counts["summaries"] += self.db.execute(
                "DELETE FROM summaries WHERE session_id = ?", (session_id,)).rowcount
            counts["prompts"] += self.db.execute(
                "DELETE FROM user_prompts WHERE session_id = ?", (session_id,)).rowcount
            self.db.execute("DELETE FROM processed_tool_uses WHERE session_id = ?", (session_id,))
            counts["queued"] += self.db.execute(
                "DELETE FROM pending WHERE json_valid(payload)"
                " AND json_extract(payload, '$.session_id') = ?", (row[0],)).rowcount
            counts["sessions"] += self.db.execute(
                "DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
        return counts

    def scrub(self) -> bool:
        """Make deleted content leave the files (see the module doc); True when complete."""
        for table in FTS_TABLES:
            with self.write():
                self.db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
        self.db.execute("VACUUM")
        for _ in range(30):  # a reader (a hook, the worker) may hold the WAL for a moment
            if self.scrub_files():
                return True
            time.sleep(0.1)
        return False


def _json_list(values) -> str:
    import json

    return json.dumps(list(values))
