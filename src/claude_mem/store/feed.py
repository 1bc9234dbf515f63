"""The live feed: what was stored after a cursor, across prompts, observations and summaries.

Contract: ``feed_cursor()`` says where storage stands now; ``feed(...)`` returns the rows
stored after a cursor, newest first, each a dict with ``kind`` and ``at``; ``data_version()``
changes whenever another connection commits (the viewer's cheap "anything new?" poll).
Prompts and observations are only ever inserted, so their ids order them by storage;
summaries are rewritten in place (one per request, after each reply), so they are found
by ``updated_at`` and the caller drops versions it has already shown.
"""

from claude_mem.store.db import observation_dict, summary_dict
from claude_mem.store.driver import sqlite3


class FeedRoom:
    """The live-feed methods of ``Store`` (mixed in)."""

    db: sqlite3.Connection

    def data_version(self) -> int:
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def feed_cursor(self) -> dict:
        row = self.db.execute(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM user_prompts),"
            " (SELECT COALESCE(MAX(id), 0) FROM observations),"
            " (SELECT COALESCE(MAX(updated_at), 0) FROM summaries)").fetchone()
        return {"prompt": row[0], "observation": row[1], "summary": row[2]}

    def feed(self, *, after_prompt: int = 0, after_observation: int = 0,
             summaries_since: float = 0.0, project: str | None = None,
             kinds=("prompt", "observation", "summary"), obs_type: str | None = None,
             limit: int = 100) -> list[dict]:
        by_project = " AND s.project = ?" if project else ""
        extra = (project,) if project else ()
        items: list[dict] = []
        if "prompt" in kinds and not obs_type:
            for row in self.db.execute(
                    "SELECT p.*, s.project, s.claude_session_id, s.agent FROM user_prompts p"
                    " JOIN sessions s ON s.id = p.session_id WHERE p.id > ?" + by_project
                    + " ORDER BY p.id DESC LIMIT ?", (after_prompt, *extra, limit)):
                items.append({**dict(row), "kind": "prompt", "at": row["created_at"]})
        if "observation" in kinds:
            typed = " AND o.type = ?" if obs_type else ""
            for row in self.db.execute(
                    "SELECT o.*, s.claude_session_id, s.agent FROM observations o"
                    " JOIN sessions s ON s.id = o.session_id WHERE o.id > ?" + by_project + typed
                    + " ORDER BY o.id DESC LIMIT ?",
                    (after_observation, *extra, *((obs_type,) if obs_type else ()), limit)):
                items.append({**observation_dict(row), "kind": "observation", "at": row["created_at"]})
        if "summary" in kinds and not obs_type:
            for row in self.db.execute(
                    "SELECT m.*, s.claude_session_id, s.agent FROM summaries m"
                    " JOIN sessions s ON s.id = m.session_id WHERE m.updated_at > ?" + by_project
                    + " ORDER BY m.updated_at DESC, m.id DESC LIMIT ?",
                    (summaries_since, *extra, limit)):
                items.append({**summary_dict(row), "kind": "summary", "at": row["updated_at"]})
        items.sort(key=lambda item: item["at"], reverse=True)
        return items[:limit]
