"""What a session was already given from memory, for recall at the prompt.

Contract: ``record_shown(session, [(kind, id)...], at)`` remembers items shown to a
Claude Code session (its SessionStart context, earlier prompt recalls): kind
``observation`` or ``summary`` for an item shown whole (recall's own blocks), ``LISTED``
kinds for an item the start context listed (an observation by its title, a summary by
its request and what fitted of it), and one ``(CONTEXT_TEXT, text)`` item for the start
context's text itself. ``shown_memory(session)`` is the set of ``(kind, id)`` shown to it;
``shown_context(session)`` the text of its start context(s) ("" when none), so recall can
show a listed memory's other lines and never a line the start context already said.
``forget_shown_before(at)`` drops older records (the worker's housekeeping, off the hooks'
path, with ``SHOWN_KEEP_SECONDS``); every ``forget`` drops all start contexts' text
(store/forgetting.py: a copy of memory text must not outlive the memory). Standard library
only: the hooks use it.
"""

from claude_mem.store.driver import sqlite3

# Rows older than this are dropped (a session resumed after that may repeat).
SHOWN_KEEP_SECONDS = 14 * 86400
# Kinds of an item the start context listed without showing all of it (its index prints
# an observation's title; a summary may be cut to the budget): recall may still show its
# other lines.
TITLE_SHOWN = "observation-title"
SUMMARY_LISTED = "summary-listed"
LISTED = {TITLE_SHOWN: "observation", SUMMARY_LISTED: "summary"}
# The "kind" of the item that carries the start context's text.
CONTEXT_TEXT = "context-text"
# A start context is at most ~CONTEXT_HARD_LIMIT; resumes append to it up to this.
_CONTEXT_KEEP_CHARS = 64 * 1024


class ShownRoom:
    db: sqlite3.Connection

    def shown_memory(self, session: str) -> set:
        return {(kind, item) for kind, item in self.db.execute(
            "SELECT kind, item_id FROM shown_memory WHERE claude_session_id = ?", (session,))}

    def shown_context(self, session: str) -> str:
        row = self.db.execute("SELECT text FROM shown_context WHERE claude_session_id = ?",
                              (session,)).fetchone()
        return row[0] if row else ""

    def record_shown(self, session: str, items, at: float) -> None:
        items = list(items)
        if not items:
            return
        texts = [str(item) for kind, item in items if kind == CONTEXT_TEXT]
        with self.write():
            self.db.executemany(
                "INSERT OR IGNORE INTO shown_memory (claude_session_id, kind, item_id, shown_at)"
                " VALUES (?, ?, ?, ?)",
                [(session, kind, item, at) for kind, item in items if kind != CONTEXT_TEXT])
            for text in texts:  # a resume's or compaction's context adds to the first
                self.db.execute(
                    "INSERT INTO shown_context (claude_session_id, text, shown_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (claude_session_id) DO UPDATE SET shown_at = excluded.shown_at,"
                    " text = substr(shown_context.text || char(10) || excluded.text, -?)",
                    (session, text[-_CONTEXT_KEEP_CHARS:], at, _CONTEXT_KEEP_CHARS))

    def forget_shown_before(self, at: float) -> int:
        with self.write():
            self.db.execute("DELETE FROM shown_context WHERE shown_at < ?", (at,))
            return self.db.execute("DELETE FROM shown_memory WHERE shown_at < ?", (at,)).rowcount


def open_recall_store(*, busy_timeout_ms: int = 2000):
    """Search, the queue and what a session was shown: the UserPromptSubmit hook queues the
    prompt and looks for earlier memory on one connection (recall.py). Only these rooms: each
    module imported costs every prompt."""
    from claude_mem import config
    from claude_mem.store.db import Database
    from claude_mem.store.queue import QueueRoom
    from claude_mem.store.fts import IndexRoom

    class RecallStore(IndexRoom, QueueRoom, ShownRoom, Database):
        announces_writes = False  # a hook announces itself by hand (``hooks._announce``)

    return RecallStore(config.db_path(), busy_timeout_ms=busy_timeout_ms)


def open_recall_reader(*, busy_timeout_ms: int = 2000):
    """Search and what a session was shown, without the queue: the UserPromptSubmit hook
    that leaves its prompt in the worker's inbox (``hook_inbox``) only reads. What the
    prompts and starts of a session whose files still wait in the inbox showed counts as
    shown (``hook_inbox.shown_waiting``, ``context_waiting``)."""
    from claude_mem import config
    from claude_mem.store.db import Database
    from claude_mem.store.fts import IndexRoom

    class RecallReader(IndexRoom, ShownRoom, Database):
        def shown_memory(self, session: str) -> set:
            # Earlier prompts' files may still wait in the inbox: what they showed counts.
            # The inbox first: the worker removes a file only after committing what it
            # showed, so a file gone by then is in the database read next.
            from claude_mem import hook_inbox

            waiting = hook_inbox.shown_waiting(session)
            return waiting | ShownRoom.shown_memory(self, session)

        def shown_context(self, session: str) -> str:
            # A start whose file still waits (``hooks.start_through_inbox``), the inbox first
            # as above; a line apart, as ``record_shown`` joins a session's contexts.
            from claude_mem import hook_inbox

            waiting = hook_inbox.context_waiting(session)
            recorded = ShownRoom.shown_context(self, session)
            return "\n".join(text for text in (recorded, waiting) if text)

    return RecallReader(config.db_path(), busy_timeout_ms=busy_timeout_ms)
