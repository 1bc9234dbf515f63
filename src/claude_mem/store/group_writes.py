"""Writes of a shared (group) transaction that wait for its commit, and the session rows it
already knows: the worker's heuristic stores several units of work per transaction
(``drain._GroupCommit``), and each unit wrote as if alone.

Why: a short request's three units (prompt, tools, reply) each deleted their queue rows in
a statement of their own, and each found and moved its session on (``UPDATE sessions ...
RETURNING *``, ~25 µs, twice a request, plus a ``SELECT`` of the same row twice and a
``touch``). Inside one write transaction the worker is the only writer, so what it read
stays true until it writes again, and a write nobody reads before the commit can wait.
Measured (``bench/ingest_instructions.py``): short requests ~0.94x the instructions,
500-tool requests unchanged (see docs/performance.md, round 13).

Contract (``Store.begin_group()`` / ``flush_group()`` / ``end_group()``, called by the drain
around its shared transaction; every other transaction, and every other process, writes at
once as before):
- Queue rows a unit is done with (``delete_pending``) are deleted at the group's flush, in
  one statement per run of consecutive ids: still inside the transaction that stores what
  was made from them (at-least-once). A rollback takes the list with it (``end_group``).
  Nothing reads ``pending`` inside a group (the pass read its batch before it).
- A session row read or written inside the group (``session_by_claude_id``,
  ``open_session``) is remembered. An active session's next ``open_session`` and a
  ``touch_session`` only move the remembered ``last_activity_at`` on (the same ``MAX`` the
  statement takes) and note it; the flush writes each noted session once (``MAX`` again,
  so the value that lands is the one the statements would have left). ``add_prompt``
  counts a remembered session's prompt in the row too (its number the row's counter plus
  one, as the statement's), written with the time (``MAX`` again); ``prompt_number_for``
  reads the remembered counter. ``complete_session`` writes
  the session's noted time and forgets its row (read again after); a session not active
  goes through the statement (its noted time written first). The other readers of the
  sessions' times (``silent_sessions`` and the like, never called inside a group) write
  every noted time and forget every row first (``settle``).
- What a unit read or wrote of its request is known to the next units: the prompt row
  ``add_prompt`` made (``prompt_by_id`` and the redelivery check need not read it; its
  columns are checked once against the table), a summary read as missing (until
  ``upsert_summary``), and the request's ``(count, highest id)`` of observations
  (``prompt_observations_mark``, ``PromptMemory``'s check), moved on by
  ``store_observations`` with the rows it made and forgotten by ``add_observation``.
- ``flush_group`` runs right before the commit (the drain's ``_GroupCommit.commit``);
  ``end_group`` forgets everything whatever happened (commit, rollback, a transaction
  SQLite ended itself).
"""

from claude_mem.store.queue import id_runs


# A session's noted time and prompt counter, as the statements it stands for leave them.
_MOVE_ON = ("UPDATE sessions SET last_activity_at = MAX(last_activity_at, ?),"
            " prompt_counter = MAX(prompt_counter, ?) WHERE id = ?")


class GroupWrites:
    """What one group transaction has deferred and what it knows (see the module doc)."""

    __slots__ = ("deletes", "sessions", "by_id", "moved", "prompts", "no_summary", "marks")

    def __init__(self):
        self.deletes: list[int] = []
        self.sessions: dict[str, dict] = {}  # claude_session_id -> the row as it now is
        self.by_id: dict[int, dict] = {}  # the same rows by id
        # session id -> (last_activity_at, prompt_counter) not yet written
        self.moved: dict[int, tuple] = {}
        self.prompts: dict[tuple, dict] = {}  # (session id, prompt_id) -> its row
        self.no_summary: set[tuple] = set()  # (session id, prompt number) without a summary
        self.marks: dict[tuple, tuple] = {}  # (session id, prompt number) -> (count, top id)

    def remember(self, row: dict | None) -> dict | None:
        """Keep a session row just read or written (its own copy); returns the row."""
        if row is not None:
            kept = dict(row)
            self.sessions[kept["claude_session_id"]] = kept
            self.by_id[kept["id"]] = kept
        return row

    def move_on(self, kept: dict, at) -> None:
        """``last_activity_at = MAX(last_activity_at, at)``, in the remembered row now and
        in the table at the flush."""
        if at > kept["last_activity_at"]:  # else the statement would change nothing
            kept["last_activity_at"] = float(at)  # what a REAL column gives back
            self.moved[kept["id"]] = (kept["last_activity_at"], kept["prompt_counter"])

    def count_prompt(self, kept: dict) -> int:
        """``prompt_counter = prompt_counter + 1``, in the remembered row now and in the
        table at the flush; returns the new number."""
        kept["prompt_counter"] = number = kept["prompt_counter"] + 1
        self.moved[kept["id"]] = (kept["last_activity_at"], number)
        return number

    def flush(self, db) -> None:
        """Write what waited (right before the commit)."""
        if self.moved:
            db.executemany(_MOVE_ON, [(at, counter, session_id)
                                      for session_id, (at, counter) in self.moved.items()])
            self.moved.clear()
        if self.deletes:
            db.executemany("DELETE FROM pending WHERE id BETWEEN ? AND ?", id_runs(self.deletes))
            self.deletes.clear()

    def write_moved(self, db, session_id: int) -> None:
        """What was noted of one session, written now (before a statement that reads it)."""
        noted = self.moved.pop(session_id, None)
        if noted is not None:
            db.execute(_MOVE_ON, (*noted, session_id))

    def forget(self, db, session_id: int) -> None:
        """One session's noted time written now and its row forgotten (it is about to
        change another way: read it again after)."""
        self.write_moved(db, session_id)
        kept = self.by_id.pop(session_id, None)
        if kept is not None:
            self.sessions.pop(kept["claude_session_id"], None)

    def settle(self, db) -> None:
        """Every noted time written now, and no row remembered: for a statement that reads
        sessions itself (none of the drain's units do)."""
        for session_id in list(self.moved):
            self.write_moved(db, session_id)
        self.sessions.clear()
        self.by_id.clear()


class GroupRoom:
    """The group's deferred writes as ``Store`` methods (mixed in; see the module doc)."""

    def begin_group(self) -> None:
        """Right after the group's ``BEGIN``: writes wait, session rows are remembered."""
        self.__dict__["_group"] = GroupWrites()

    def flush_group(self) -> None:
        """Right before the group's ``COMMIT``: what waited is written."""
        group = self.__dict__.get("_group")
        if group is not None:
            group.flush(self.db)

    def end_group(self) -> None:
        """After the commit or the rollback: every write is made at once again."""
        self.__dict__["_group"] = None
