"""The SessionStart context rendered ahead: one row per (project, key) in ``context_cache``.

Contract (the table: ``migrations.m010_start_context_cache``; its triggers as they are now:
``m011_cheap_context_triggers`` and ``m012_rendering_needs_its_mark``):
- ``cached_context(project, key)``: ``(output, shown, valid_until)`` of a current row, or
  None when there is none or it is to be rendered again. One indexed read; the hook's.
- ``knows_session(claude_session_id)``: whether ``sessions`` holds it (one indexed read).
- ``want_context(project, key, at)``: a SessionStart hook that rendered itself asks the
  worker to keep this context rendered (in the hook's own write unit).
- ``contexts_to_render(now)``: ``(project, key, generation)`` of each row to render:
  asked for and never rendered, made stale by a change of the memory, or past its
  ``valid_until``.
- ``begin_rendering(project, key)``: the row's ``generation`` (None if the row is gone),
  read in a write of its own that marks a rendering under way; the memory must be read
  after it. From then until the rendering is stored, a change of the project's memory
  moves the generation (the triggers leave a row whose text is already dropped alone
  unless it is so marked: that is what keeps them cheap during ingest).
- ``store_context(project, key, generation, output, shown, valid_until, at)``: stores a
  rendering, and only if no change of the memory happened since ``begin_rendering`` gave
  ``generation`` (or, for a row whose text was current, since it was read); True if stored.
  A dropped row takes a text only while it is marked (trigger ``context_store_needs_mark``,
  ``m012``): a writer that skips ``begin_rendering`` is refused.
- ``drop_contexts(rows)`` removes rows (keys no longer in use: ``prune``'s choice).
- ``context_expiries()`` ``(project, key, valid_until)`` of the current rows with a clock.
- ``context_rows()`` every row's ``(project, key, asked_at, made_at)`` (pruning, doctor).
Standard library only: the SessionStart hook imports this room.
"""

from claude_mem.store.driver import sqlite3


class ContextCacheRoom:
    db: sqlite3.Connection

    def cached_context(self, project: str, key: str):
        return self.db.execute(
            "SELECT output, shown, valid_until FROM context_cache WHERE project = ? AND key = ?"
            " AND output IS NOT NULL", (project, key)).fetchone()

    def knows_session(self, claude_session_id: str) -> bool:
        """Whether the memory holds this session (a SessionStart of one it does not hold has
        nothing for the worker to do: ``handlers.handle_start``)."""
        return self.db.execute("SELECT 1 FROM sessions WHERE claude_session_id = ?",
                               (claude_session_id,)).fetchone() is not None

    def want_context(self, project: str, key: str, at: float) -> None:
        self.db.execute(
            "INSERT INTO context_cache (project, key, asked_at) VALUES (?, ?, ?)"
            " ON CONFLICT (project, key) DO UPDATE SET asked_at = excluded.asked_at",
            (project, key, at))

    def contexts_to_render(self, now: float) -> list[tuple]:
        return [tuple(row) for row in self.db.execute(
            "SELECT project, key, generation FROM context_cache"
            " WHERE output IS NULL OR valid_until <= ? ORDER BY asked_at DESC", (now,))]

    def begin_rendering(self, project: str, key: str) -> int | None:
        with self.write():
            row = self.db.execute(
                "UPDATE context_cache SET rendering = 1 WHERE project = ? AND key = ?"
                " RETURNING generation", (project, key)).fetchone()
        return None if row is None else row[0]

    def store_context(self, project: str, key: str, generation: int, output: str, shown: str,
                      valid_until: float | None, at: float) -> bool:
        with self.write():
            return self.db.execute(
                "UPDATE context_cache SET output = ?, shown = ?, valid_until = ?, made_at = ?,"
                " rendering = 0"
                " WHERE project = ? AND key = ? AND generation = ?",
                (output, shown, valid_until, at, project, key, generation)).rowcount > 0

    def context_expiries(self) -> list[tuple]:
        """``(project, key, valid_until)`` of every current row whose text has a clock in it."""
        return [tuple(row) for row in self.db.execute(
            "SELECT project, key, valid_until FROM context_cache"
            " WHERE output IS NOT NULL AND valid_until IS NOT NULL")]

    def context_rows(self) -> list[tuple]:
        return [tuple(row) for row in self.db.execute(
            "SELECT project, key, asked_at, made_at FROM context_cache ORDER BY project, asked_at DESC")]

    def drop_contexts(self, rows) -> int:
        rows = [(project, key) for project, key in rows]
        if not rows:
            return 0
        with self.write():
            return sum(self.db.execute(
                "DELETE FROM context_cache WHERE project = ? AND key = ?", row).rowcount
                for row in rows)

    def drop_project_contexts(self, project: str) -> int:
        """Every cached context of ``project`` (forgetting the project: not even its name stays)."""
        with self.write():
            return self.db.execute("DELETE FROM context_cache WHERE project = ?",
                                   (project,)).rowcount
