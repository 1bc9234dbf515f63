"""LLM accounting and the store's own figures (counts, integrity).

Contract: ``record_llm_usage`` adds to one row per (session, back-end, model, local day),
so a day's spend is a sum, never a scan of calls.
"""

import time

from claude_mem.store.db import dicts
from claude_mem.store.driver import sqlite3


class AccountingRoom:
    """Accounting and health-figure methods of ``Store`` (mixed in)."""

    db: sqlite3.Connection

    def record_llm_usage(self, session_id: int | None, backend: str, model: str, *,
                         calls: int = 1, input_tokens: int = 0, output_tokens: int = 0,
                         failures: int = 0) -> None:
        day = time.strftime("%Y-%m-%d", time.localtime())
        with self.write():
            self.db.execute(
                "INSERT INTO llm_usage (session_id, backend, model, calls, input_tokens,"
                " output_tokens, failures, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (session_id, backend, model, day) DO UPDATE SET"
                " calls = calls + excluded.calls,"
                " input_tokens = input_tokens + excluded.input_tokens,"
                " output_tokens = output_tokens + excluded.output_tokens,"
                " failures = failures + excluded.failures",
                (session_id, backend, model, calls, input_tokens, output_tokens, failures, day),
            )

    def llm_usage_for_session(self, session_id: int) -> dict:
        row = self.db.execute(
            "SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(input_tokens + output_tokens), 0)"
            " FROM llm_usage WHERE session_id = ?", (session_id,)
        ).fetchone()
        return {"calls": row[0], "tokens": row[1]}

    def llm_usage_by_day(self, days: int = 7) -> list[dict]:
        return dicts(self.db.execute(
            "SELECT day, backend, model, SUM(calls) AS calls, SUM(input_tokens) AS input_tokens,"
            " SUM(output_tokens) AS output_tokens, SUM(failures) AS failures FROM llm_usage"
            " GROUP BY day, backend, model ORDER BY day DESC LIMIT ?", (days * 4,)
        ))

    def llm_usage_by_session(self, limit: int = 10) -> list[dict]:
        """Calls and tokens per session and model, the most recently charged first."""
        return dicts(self.db.execute(
            "SELECT s.claude_session_id, u.backend, u.model, SUM(u.calls) AS calls,"
            " SUM(u.input_tokens + u.output_tokens) AS tokens FROM llm_usage u"
            " JOIN sessions s ON s.id = u.session_id GROUP BY u.session_id, u.backend, u.model"
            " ORDER BY MAX(u.id) DESC LIMIT ?", (limit,)))

    def counts(self) -> dict:
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "sessions": one("SELECT COUNT(*) FROM sessions"),
            "active_sessions": one("SELECT COUNT(*) FROM sessions WHERE status = 'active'"),
            "prompts": one("SELECT COUNT(*) FROM user_prompts"),
            "observations": one("SELECT COUNT(*) FROM observations"),
            "summaries": one("SELECT COUNT(*) FROM summaries"),
        }

    def integrity(self) -> str:
        return self.db.execute("PRAGMA quick_check").fetchone()[0]

