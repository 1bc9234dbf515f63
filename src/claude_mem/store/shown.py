"""What a session was already given from memory: ids only, for recall at the prompt.

Contract: ``record_shown(session, [(kind, id)...], at)`` remembers items shown to a
Claude Code session (its SessionStart context, earlier prompt recalls);
``shown_memory(session)`` is the set of ``(kind, id)`` shown to it;
``forget_shown_before(at)`` drops older records (the worker's housekeeping, off the hooks'
path, with ``SHOWN_KEEP_SECONDS``). Standard library only: the hooks use it.
"""

from claude_mem.store.driver import sqlite3

# Rows older than this are dropped (a session resumed after that may repeat).
SHOWN_KEEP_SECONDS = 14 * 86400


class ShownRoom:
    db: sqlite3.Connection

    def shown_memory(self, session: str) -> set:
        return {(kind, item) for kind, item in self.db.execute(
            "SELECT kind, item_id FROM shown_memory WHERE claude_session_id = ?", (session,))}

    def record_shown(self, session: str, items, at: float) -> None:
        items = list(items)
        if not items:
            return
        with self.write():
            self.db.executemany(
                "INSERT OR IGNORE INTO shown_memory (claude_session_id, kind, item_id, shown_at)"
                " VALUES (?, ?, ?, ?)", [(session, kind, item, at) for kind, item in items])

    def forget_shown_before(self, at: float) -> int:
        with self.write():
            return self.db.execute("DELETE FROM shown_memory WHERE shown_at < ?", (at,)).rowcount


def open_recall_store(*, busy_timeout_ms: int = 2000):
    """Search, the queue and what a session was shown: the UserPromptSubmit hook queues the
    prompt and looks for earlier memory on one connection (recall.py). Only these rooms: each
    module imported costs every prompt."""
    from claude_mem import config
    from claude_mem.store.db import Database
    from claude_mem.store.queue import QueueRoom
    from claude_mem.store.search import SearchRoom

    class RecallStore(SearchRoom, QueueRoom, ShownRoom, Database):
        pass

    return RecallStore(config.db_path(), busy_timeout_ms=busy_timeout_ms)
