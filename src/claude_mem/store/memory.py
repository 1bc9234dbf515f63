"""Observations and summaries: what the compressors made, stored once and read back.

Contract: observations are unique by content hash (a redelivered event adds nothing);
a summary is one row per (session, prompt), replaced when re-made; readers return dicts
with list columns decoded (``observation_dict``/``summary_dict``).
"""

from claude_mem.store.db import Database, _dumps, observation_dict, row_id, summary_dict, with_agents
from claude_mem.store.driver import sqlite3


class MemoryRoom:
    """Observation and summary methods of ``Store`` (mixed in)."""

    db: sqlite3.Connection

    def add_observation(self, session_id: int, project: str, prompt_number: int, obs,
                        content_hash: str, generated_by: str, at: float) -> int | None:
        """Insert once per content hash; returns the new id, or None for a duplicate."""
        group = self.__dict__.get("_group")
        if group is not None:
            group.marks.pop((session_id, prompt_number), None)  # read again after this
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO observations " + _INSERT_COLUMNS + " VALUES " + _ROW_MARKS,
            _insert_values(session_id, project, prompt_number, obs, content_hash,
                           generated_by, at),
        )
        return cursor.lastrowid if cursor.rowcount else None

    def store_observation(self, session_id: int, project: str, prompt_number: int, obs,
                          content_hash: str, generated_by: str, at: float) -> dict | None:
        """``add_observation``, returning the row as ``observations_for_prompt`` would read
        it back (None for a duplicate, or when that row cannot be known without reading
        it): the worker keeps an open request's rows (``PromptMemory``) without reading
        back what it just wrote."""
        new_id = self.add_observation(session_id, project, prompt_number, obs, content_hash,
                                      generated_by, at)
        if new_id is None:
            return None
        return self._as_read_back(new_id, session_id, project, prompt_number, obs,
                                  content_hash, generated_by, at)

    def store_observations(self, session_id: int, project: str, prompt_number: int, items,
                           generated_by: str) -> list:
        """``store_observation`` for each ``(obs, content_hash, at)`` of ``items``, in order,
        in as few statements as it can (one per ``_ROWS_PER_INSERT`` rows): the same rows,
        ids and trigger work as one ``INSERT`` each, without a statement's fixed costs per
        row (a tool unit of a short request stored 8 rows in 8 statements, each opening and
        releasing a statement journal and every search index's savepoint). Returns, per
        item, its row as read back or None (a duplicate, or a row that must be read).

        Such a statement journals every page it changes; past 64 KiB SQLite spills that
        journal to a temporary file unless the connection keeps temporary files in memory,
        as the worker's does (``Database.serve_the_worker``; round 11 dropped this insert
        for the spill: 2.4x the ``pwrite`` calls)."""
        results: list = []
        group = self.__dict__.get("_group")  # the drain's shared transaction (group_writes)
        for start in range(0, len(items), _ROWS_PER_INSERT):
            chunk = items[start:start + _ROWS_PER_INSERT]
            values: list = []
            for obs, content_hash, at in chunk:
                values += _insert_values(session_id, project, prompt_number, obs, content_hash,
                                         generated_by, at)
            # Rows are inserted in the order listed (ids as one insert each would give);
            # RETURNING says which were new, matched by the unique content hash (a hash
            # listed twice is new once: its first listing, as one insert each would do).
            made = {content_hash: new_id for new_id, content_hash in self.db.execute(
                _rows_sql(_OBSERVATION_ROWS, len(chunk)), values)}
            if group is not None and made:
                mark = group.marks.get((session_id, prompt_number))
                if mark is not None:  # the request's (count, highest id) as it now is
                    group.marks[(session_id, prompt_number)] = (
                        mark[0] + len(made), max(mark[1], *made.values()))
            for obs, content_hash, at in chunk:
                new_id = made.pop(content_hash, None)
                results.append(None if new_id is None else self._as_read_back(
                    new_id, session_id, project, prompt_number, obs, content_hash,
                    generated_by, at))
        return results

    def _as_read_back(self, new_id, session_id, project, prompt_number, obs, content_hash,
                      generated_by, at) -> dict | None:
        """The row just inserted as ``SELECT *`` gives it, or None when it cannot be known
        without reading it."""
        plan = self.__dict__.get("_observation_plan")
        if plan is None:
            plan = self.__dict__["_observation_plan"] = _read_back_plan(_stored_columns(self.db))
        names, given_columns, list_columns = plan
        if not names:
            return None
        # The row as ``SELECT *`` gives it: every column in order, NULL unless set below.
        item = dict.fromkeys(names)
        for name in list_columns:
            values = getattr(obs, name)
            # Text items come back from their JSON as they went in.
            for value in values:
                if type(value) is not str:
                    return None
            item[name] = [*values]
        given = (new_id, session_id, project, prompt_number, obs.type, obs.title, obs.subtitle,
                 obs.narrative, obs.tool_name, obs.tool_use_id, content_hash, generated_by, at)
        for position, name, expected in given_columns:
            value = given[position]
            if value is None:
                continue
            kind = type(value)
            if kind is expected:
                item[name] = value
            elif expected is float and kind is int:
                item[name] = float(value)  # what a REAL column gives back
            else:
                return None  # stored converted: let the reader read it
        return item

    def processed_tool_uses(self, session_id: int, tool_use_ids) -> set[str]:
        ids = [i for i in tool_use_ids if i]
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        return {row[0] for row in self.db.execute(
            f"SELECT tool_use_id FROM processed_tool_uses WHERE session_id = ?"
            f" AND tool_use_id IN ({marks})", (session_id, *ids))}

    def mark_tool_uses_processed(self, session_id: int, tool_use_ids, at: float) -> None:
        ids = [i for i in tool_use_ids if i]
        # Several rows a statement (see ``store_observations``); an id listed twice is
        # ignored the second time, as one insert each would do.
        for start in range(0, len(ids), _ROWS_PER_INSERT):
            chunk = ids[start:start + _ROWS_PER_INSERT]
            values: list = []
            for tool_use_id in chunk:
                values += (session_id, tool_use_id, at)
            self.db.execute(_rows_sql(_PROCESSED_ROWS, len(chunk)), values)

    def observations_for_prompt(self, session_id: int, prompt_number: int, *,
                                after_id: int = 0) -> list[dict]:
        """A request's observations in order; with ``after_id``, only those stored after it."""
        rows = self.db.execute(
            "SELECT * FROM observations WHERE session_id = ? AND prompt_number = ? AND id > ?"
            " ORDER BY id", (session_id, prompt_number, after_id),
        ).fetchall()
        return [observation_dict(row) for row in rows]

    def prompt_observations_mark(self, session_id: int, prompt_number: int) -> tuple[int, int]:
        """(count, highest id) of a request's observations: tells a cached copy is current."""
        group = self.__dict__.get("_group")
        if group is not None and (session_id, prompt_number) in group.marks:
            return group.marks[(session_id, prompt_number)]  # nobody else writes meanwhile
        count, top = self.db.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM observations"
            " WHERE session_id = ? AND prompt_number = ?", (session_id, prompt_number),
        ).fetchone()
        if group is not None:
            group.marks[(session_id, prompt_number)] = (count, top)
        return count, top

    def upsert_summary(self, session_id: int, project: str, prompt_number: int, summary,
                       generated_by: str, at: float) -> int:
        group = self.__dict__.get("_group")
        if group is not None:
            group.no_summary.discard((session_id, prompt_number))
        cursor = self.db.execute(
            "INSERT INTO summaries (session_id, project, prompt_number, request, investigated,"
            " learned, completed, next_steps, notes, files_read, files_edited, generated_by,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (session_id, prompt_number) DO UPDATE SET"
            " request = excluded.request, investigated = excluded.investigated,"
            " learned = excluded.learned, completed = excluded.completed,"
            " next_steps = excluded.next_steps, notes = excluded.notes,"
            " files_read = excluded.files_read, files_edited = excluded.files_edited,"
            " generated_by = excluded.generated_by, updated_at = excluded.updated_at"
            " RETURNING id",  # the row's id whether it was made or made again
            (session_id, project, prompt_number, summary.request, summary.investigated,
             summary.learned, summary.completed, summary.next_steps, summary.notes,
             _dumps(summary.files_read), _dumps(summary.files_edited), generated_by, at, at),
        )
        summary_id = cursor.fetchone()[0]
        cursor.close()  # a RETURNING statement is finished only once stepped to its end
        return summary_id

    def unsummarized_prompts(self, session_id: int) -> list[int]:
        return [row[0] for row in self.db.execute(
            "SELECT p.prompt_number FROM user_prompts p WHERE p.session_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM summaries s WHERE s.session_id = p.session_id"
            " AND s.prompt_number = p.prompt_number) ORDER BY p.prompt_number",
            (session_id,),
        )]

    def recent_summaries(self, project: str, limit: int, *, since: float | None = None,
                         exclude_session: int | None = None) -> list[dict]:
        """Newest first; optionally only those updated after ``since`` and not from one session."""
        rows = self.db.execute(
            "SELECT m.*, s.claude_session_id FROM summaries m JOIN sessions s"
            " ON s.id = m.session_id WHERE m.project = ? AND m.updated_at > ?"
            " AND m.session_id IS NOT ? ORDER BY m.updated_at DESC, m.id DESC LIMIT ?",
            (project, since or 0, exclude_session, limit),
        ).fetchall()
        return with_agents(self.db, [summary_dict(row) for row in rows])

    def recent_observations(self, project: str, limit: int, *, since: float | None = None,
                            exclude_session: int | None = None) -> list[dict]:
        rows = self.db.execute(
            "SELECT * FROM observations WHERE project = ? AND created_at > ?"
            " AND session_id IS NOT ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (project, since or 0, exclude_session, limit),
        ).fetchall()
        return with_agents(self.db, [observation_dict(row) for row in rows])

    def observation(self, obs_id: int) -> dict | None:
        if row_id(obs_id) is None:  # 2**64 from a CLI or MCP caller: no such row
            return None
        row = self.db.execute("SELECT * FROM observations WHERE id = ?", (obs_id,)).fetchone()
        return observation_dict(row) if row else None

    def summary(self, summary_id: int) -> dict | None:
        if row_id(summary_id) is None:
            return None
        row = self.db.execute(
            "SELECT m.*, s.claude_session_id FROM summaries m JOIN sessions s"
            " ON s.id = m.session_id WHERE m.id = ?", (summary_id,)
        ).fetchone()
        return summary_dict(row) if row else None

    def session_detail(self, session_id: int) -> dict:
        prompts = self.prompts(session_id)
        observations = [observation_dict(row) for row in self.db.execute(
            "SELECT * FROM observations WHERE session_id = ? ORDER BY id", (session_id,))]
        summaries = [summary_dict(row) for row in self.db.execute(
            "SELECT m.*, s.claude_session_id FROM summaries m JOIN sessions s"
            " ON s.id = m.session_id WHERE m.session_id = ? ORDER BY m.prompt_number",
            (session_id,))]
        return {"session": self.session(session_id), "prompts": prompts,
                "observations": observations, "summaries": summaries}

    def observations_around(self, session_id: int, anchor_id: int, before: int,
                            after: int) -> dict:
        """A session's observations next to one: up to ``before`` earlier and ``after``
        later ones (oldest first), and how many exist on each side in all."""
        earlier = [observation_dict(row) for row in self.db.execute(
            "SELECT * FROM observations WHERE session_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (session_id, anchor_id, before))][::-1]
        later = [observation_dict(row) for row in self.db.execute(
            "SELECT * FROM observations WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?",
            (session_id, anchor_id, after))]
        counts = self.db.execute(
            "SELECT SUM(id < ?), SUM(id > ?) FROM observations WHERE session_id = ?",
            (anchor_id, anchor_id, session_id)).fetchone()
        return {"earlier": earlier, "later": later, "earlier_total": counts[0] or 0,
                "later_total": counts[1] or 0}


    def summary_for_prompt(self, session_id: int, prompt_number: int) -> dict | None:
        """The summary already made for one request (a later Stop may only refine it)."""
        group = self.__dict__.get("_group")
        if group is not None and (session_id, prompt_number) in group.no_summary:
            return None  # read as missing in this transaction, and not written since
        row = self.db.execute(
            "SELECT * FROM summaries WHERE session_id = ? AND prompt_number = ?",
            (session_id, prompt_number)).fetchone()
        if row is None and group is not None:
            group.no_summary.add((session_id, prompt_number))
        return summary_dict(row) if row else None


def _context_store_class():
    from claude_mem.store.queue import QueueRoom
    from claude_mem.store.sessions import SessionsRoom
    from claude_mem.store.shown import ShownRoom

    class ContextStore(SessionsRoom, MemoryRoom, QueueRoom, ShownRoom, Database):
        announces_writes = False  # the SessionStart hook's: it announces by hand

        def recent_summaries(self, project: str, limit: int, **filters) -> list[dict]:
            # SessionStart asks twice (the context, then which summaries it showed): read
            # once, so both see the same rows and the hook pays for one query.
            key = (project, limit, filters.get("since"), filters.get("exclude_session"))
            memo = self.__dict__.setdefault("_summaries", {})
            if key not in memo:
                memo[key] = MemoryRoom.recent_summaries(self, project, limit, **filters)
            return list(memo[key])

    return ContextStore


def open_context_store(*, busy_timeout_ms: int = 2000):
    """Sessions, memory and the queue: what the SessionStart hook reads, and where it queues
    its own event on the same connection (and records what it showed, for prompt recall). It runs at the start of every Claude Code
    session, so it does not import the rooms it never uses."""
    from claude_mem import config

    return _context_store_class()(config.db_path(), busy_timeout_ms=busy_timeout_ms)


def context_store_over(store):
    """``open_context_store``'s rooms over ``store``'s open connection (the SessionStart
    hook opened the light store first and found no current context: ``startcache``)."""
    cls = _context_store_class()
    view = cls.__new__(cls)
    view.__dict__.update(store.__dict__)
    return view


# What ``add_observation`` and ``store_observations`` insert, and one row's placeholders.
_INSERT_COLUMNS = ("(session_id, project, prompt_number, type, title, subtitle, facts, narrative,"
                   " concepts, files_read, files_modified, tool_name, tool_use_id, content_hash,"
                   " generated_by, created_at)")
_ROW_MARKS = "(" + ", ".join("?" * 16) + ")"
# Rows per ``store_observations`` statement: a heuristic unit of a short request fits in
# one; each row count is a statement of its own in the connection's statement cache, so
# the counts are few (a longer unit takes several statements of this size).
_ROWS_PER_INSERT = 8


def _insert_values(session_id, project, prompt_number, obs, content_hash, generated_by, at):
    return (session_id, project, prompt_number, obs.type, obs.title, obs.subtitle,
            _dumps(obs.facts), obs.narrative, _dumps(obs.concepts), _dumps(obs.files_read),
            _dumps(obs.files_modified), obs.tool_name, obs.tool_use_id, content_hash,
            generated_by, at)


# The several-rows inserts (``store_observations``, ``mark_tool_uses_processed``), each as
# (the statement up to VALUES, one row's placeholders, what follows the rows); ``_rows_sql``
# builds a statement once per row count.
_OBSERVATION_ROWS = ("INSERT OR IGNORE INTO observations " + _INSERT_COLUMNS, _ROW_MARKS,
                     " RETURNING id, content_hash")
_PROCESSED_ROWS = ("INSERT OR IGNORE INTO processed_tool_uses (session_id, tool_use_id, processed_at)",
                   "(?, ?, ?)", "")
_ROWS_SQL: dict[tuple, str] = {}


def _rows_sql(statement: tuple[str, str, str], rows: int) -> str:
    sql = _ROWS_SQL.get((statement, rows))
    if sql is None:
        head, row_marks, tail = statement
        sql = _ROWS_SQL[(statement, rows)] = head + " VALUES " + ", ".join([row_marks] * rows) + tail
    return sql


# The columns ``add_observation`` fills, the others being NULL by default.
_FILLED = frozenset({"id", "session_id", "project", "prompt_number", "type", "title", "subtitle",
                     "facts", "narrative", "concepts", "files_read", "files_modified",
                     "tool_name", "tool_use_id", "content_hash", "generated_by", "created_at"})


# The values ``store_observation`` has at hand, in the order it lists them.
_GIVEN = ("id", "session_id", "project", "prompt_number", "type", "title", "subtitle",
          "narrative", "tool_name", "tool_use_id", "content_hash", "generated_by", "created_at")
_LISTS = ("facts", "concepts", "files_read", "files_modified")
# What a column of each declared type gives back for a value that comes back unchanged.
_AFFINITY_TYPE = {"TEXT": str, "INTEGER": int, "REAL": float}


def _read_back_plan(columns) -> tuple:
    """``(column names in SELECT * order, (position in the given values, name, the type
    it comes back as) per given column, the list columns)`` from ``_stored_columns``; the
    names are empty when a stored row must be read back instead."""
    names = tuple(name for name, _ in columns)
    given = tuple((_GIVEN.index(name), name, _AFFINITY_TYPE.get(declared))
                  for name, declared in columns if name in _GIVEN)
    return names, given, tuple(name for name in names if name in _LISTS)


def _stored_columns(db) -> list[tuple[str, str]]:
    """``(name, declared type)`` of each observations column in ``SELECT *`` order; empty
    when a column the insert leaves out has a default other than NULL (then a stored row
    is read back, not assumed)."""
    columns = []
    for _cid, name, declared, _notnull, default, _pk in db.execute("PRAGMA table_info(observations)"):
        if name not in _FILLED and default is not None:
            return []
        columns.append((name, str(declared).upper()))
    return columns
