"""The schema, as numbered, named migration functions applied in order.

Contract:
- Each ``mNNN_name(db)`` runs inside the caller's transaction; ``apply`` records each
  applied name in the ``migrations`` table and sets ``PRAGMA user_version`` to the count,
  the fast "already current" check, so a hook pays one pragma, not a table scan.
- Never edit a released migration: add a new numbered function at the end of
  ``MIGRATIONS``. Existing databases keep working because names, not positions, say what
  was applied.

Long because its one concern is the schema's whole history: a released migration is never
edited, so every step since the first stays here as it was applied.
"""

import time

from claude_mem.store.driver import sqlite3


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Execute several statements inside the caller's transaction.

    ``executescript`` would COMMIT first, breaking the migration's atomicity, so the
    script is split into complete statements (triggers included) and run one by one.
    """
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""


def m001_initial(db: sqlite3.Connection) -> None:
    run_script(db, 
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            claude_session_id TEXT NOT NULL UNIQUE,
            project TEXT NOT NULL,
            cwd TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'completed', 'failed')),
            started_at REAL NOT NULL,
            completed_at REAL,
            last_activity_at REAL NOT NULL,
            prompt_counter INTEGER NOT NULL DEFAULT 0,
            runs INTEGER NOT NULL DEFAULT 1,
            end_reason TEXT
        );
        CREATE INDEX sessions_by_project ON sessions(project, started_at);
        CREATE INDEX sessions_by_status ON sessions(status, last_activity_at);

        CREATE TABLE user_prompts (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            prompt_number INTEGER NOT NULL,
            prompt_id TEXT,
            prompt TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (session_id, prompt_number)
        );
        CREATE UNIQUE INDEX user_prompts_by_prompt_id
            ON user_prompts(session_id, prompt_id) WHERE prompt_id IS NOT NULL;

        CREATE TABLE pending (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'parked')),
            last_error TEXT
        );
        CREATE INDEX pending_by_status ON pending(status, received_at, id);

        CREATE TABLE observations (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            project TEXT NOT NULL,
            prompt_number INTEGER,
            type TEXT NOT NULL,
            title TEXT NOT NULL,
            subtitle TEXT NOT NULL DEFAULT '',
            facts TEXT NOT NULL DEFAULT '[]',
            narrative TEXT NOT NULL DEFAULT '',
            concepts TEXT NOT NULL DEFAULT '[]',
            files_read TEXT NOT NULL DEFAULT '[]',
            files_modified TEXT NOT NULL DEFAULT '[]',
            tool_name TEXT NOT NULL DEFAULT '',
            tool_use_id TEXT NOT NULL DEFAULT '',
            content_hash TEXT NOT NULL UNIQUE,
            generated_by TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX observations_by_project ON observations(project, created_at);
        CREATE INDEX observations_by_session ON observations(session_id, prompt_number);

        CREATE TABLE summaries (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            project TEXT NOT NULL,
            prompt_number INTEGER NOT NULL,
            request TEXT NOT NULL DEFAULT '',
            investigated TEXT NOT NULL DEFAULT '',
            learned TEXT NOT NULL DEFAULT '',
            completed TEXT NOT NULL DEFAULT '',
            next_steps TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT '',
            files_read TEXT NOT NULL DEFAULT '[]',
            files_edited TEXT NOT NULL DEFAULT '[]',
            generated_by TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (session_id, prompt_number)
        );
        CREATE INDEX summaries_by_project ON summaries(project, updated_at);

        CREATE TABLE llm_usage (
            id INTEGER PRIMARY KEY,
            session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
            backend TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            calls INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            day TEXT NOT NULL,
            UNIQUE (session_id, backend, model, day)
        );
        """
    )


def m002_full_text_search(db: sqlite3.Connection) -> None:
    run_script(db, 
        """
        CREATE VIRTUAL TABLE observations_fts USING fts5(
            title, subtitle, narrative, facts, concepts, files_read, files_modified,
            content='observations', content_rowid='id', tokenize='porter unicode61'
        );
        CREATE TRIGGER observations_ai AFTER INSERT ON observations BEGIN
            INSERT INTO observations_fts(rowid, title, subtitle, narrative, facts, concepts,
                                         files_read, files_modified)
            VALUES (new.id, new.title, new.subtitle, new.narrative, new.facts, new.concepts,
                    new.files_read, new.files_modified);
        END;
        CREATE TRIGGER observations_ad AFTER DELETE ON observations BEGIN
            INSERT INTO observations_fts(observations_fts, rowid, title, subtitle, narrative,
                                         facts, concepts, files_read, files_modified)
            VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.facts,
                    old.concepts, old.files_read, old.files_modified);
        END;
        CREATE TRIGGER observations_au AFTER UPDATE ON observations BEGIN
            INSERT INTO observations_fts(observations_fts, rowid, title, subtitle, narrative,
                                         facts, concepts, files_read, files_modified)
            VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.facts,
                    old.concepts, old.files_read, old.files_modified);
            INSERT INTO observations_fts(rowid, title, subtitle, narrative, facts, concepts,
                                         files_read, files_modified)
            VALUES (new.id, new.title, new.subtitle, new.narrative, new.facts, new.concepts,
                    new.files_read, new.files_modified);
        END;

        CREATE VIRTUAL TABLE summaries_fts USING fts5(
            request, investigated, learned, completed, next_steps, notes, files_read,
            files_edited, content='summaries', content_rowid='id', tokenize='porter unicode61'
        );
        CREATE TRIGGER summaries_ai AFTER INSERT ON summaries BEGIN
            INSERT INTO summaries_fts(rowid, request, investigated, learned, completed,
                                      next_steps, notes, files_read, files_edited)
            VALUES (new.id, new.request, new.investigated, new.learned, new.completed,
                    new.next_steps, new.notes, new.files_read, new.files_edited);
        END;
        CREATE TRIGGER summaries_ad AFTER DELETE ON summaries BEGIN
            INSERT INTO summaries_fts(summaries_fts, rowid, request, investigated, learned,
                                      completed, next_steps, notes, files_read, files_edited)
            VALUES ('delete', old.id, old.request, old.investigated, old.learned,
                    old.completed, old.next_steps, old.notes, old.files_read, old.files_edited);
        END;
        CREATE TRIGGER summaries_au AFTER UPDATE ON summaries BEGIN
            INSERT INTO summaries_fts(summaries_fts, rowid, request, investigated, learned,
                                      completed, next_steps, notes, files_read, files_edited)
            VALUES ('delete', old.id, old.request, old.investigated, old.learned,
                    old.completed, old.next_steps, old.notes, old.files_read, old.files_edited);
            INSERT INTO summaries_fts(rowid, request, investigated, learned, completed,
                                      next_steps, notes, files_read, files_edited)
            VALUES (new.id, new.request, new.investigated, new.learned, new.completed,
                    new.next_steps, new.notes, new.files_read, new.files_edited);
        END;

        CREATE VIRTUAL TABLE user_prompts_fts USING fts5(
            prompt, content='user_prompts', content_rowid='id', tokenize='porter unicode61'
        );
        CREATE TRIGGER user_prompts_ai AFTER INSERT ON user_prompts BEGIN
            INSERT INTO user_prompts_fts(rowid, prompt) VALUES (new.id, new.prompt);
        END;
        CREATE TRIGGER user_prompts_ad AFTER DELETE ON user_prompts BEGIN
            INSERT INTO user_prompts_fts(user_prompts_fts, rowid, prompt)
            VALUES ('delete', old.id, old.prompt);
        END;
        CREATE TRIGGER user_prompts_au AFTER UPDATE ON user_prompts BEGIN
            INSERT INTO user_prompts_fts(user_prompts_fts, rowid, prompt)
            VALUES ('delete', old.id, old.prompt);
            INSERT INTO user_prompts_fts(rowid, prompt) VALUES (new.id, new.prompt);
        END;
        """
    )


def m003_processed_tool_uses(db) -> None:
    # Which tool calls a session already turned into memory, whatever the compressor made
    # of them (an LLM's observations do not map one-to-one onto tool calls), so a
    # redelivered event is recognised before it costs a second compression.
    run_script(db, """
        CREATE TABLE processed_tool_uses (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            tool_use_id TEXT NOT NULL,
            processed_at REAL NOT NULL,
            PRIMARY KEY (session_id, tool_use_id)
        ) WITHOUT ROWID;
    """)


# The session of an observation or summary ``new`` belongs to a shared folder.
_SHARED_ROOT = """
    FROM sessions s JOIN team_roots r ON s.project = r.name
        AND (s.cwd = r.root OR substr(s.cwd, 1, length(r.root) + 1) = r.root || '/')
    WHERE s.id = new.session_id
"""


def _queue_for_team(name: str, event: str, table: str, kind: str) -> str:
    """A trigger queueing a row made here (no member) of a shared folder's session."""
    return f"""
        CREATE TRIGGER {name} AFTER {event} ON {table}
        WHEN new.member IS NULL BEGIN
            INSERT INTO team_outbox (kind, row_id, project_key, queued_at)
            SELECT '{kind}', new.id, r.project_key, (julianday('now') - 2440587.5) * 86400
            {_SHARED_ROOT} LIMIT 1
            ON CONFLICT (kind, row_id) DO UPDATE SET version = version + 1;
        END;
    """


def m004_team_memory(db) -> None:
    # Team memory (see store/team.py): who made a row, shared projects, the outbox, and
    # triggers that queue what is stored for a shared project in the same transaction.
    run_script(db, """
        ALTER TABLE sessions ADD COLUMN member TEXT;
        ALTER TABLE sessions ADD COLUMN machine TEXT;
        ALTER TABLE observations ADD COLUMN uid TEXT;
        ALTER TABLE observations ADD COLUMN member TEXT;
        ALTER TABLE observations ADD COLUMN machine TEXT;
        ALTER TABLE summaries ADD COLUMN uid TEXT;
        ALTER TABLE summaries ADD COLUMN member TEXT;
        ALTER TABLE summaries ADD COLUMN machine TEXT;
        CREATE UNIQUE INDEX observations_by_uid ON observations(uid) WHERE uid IS NOT NULL;
        CREATE UNIQUE INDEX summaries_by_uid ON summaries(uid) WHERE uid IS NOT NULL;

        CREATE TABLE team_projects (
            project_key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            shared_at REAL NOT NULL,
            cursor_tx INTEGER NOT NULL DEFAULT 0,
            cursor_uid TEXT NOT NULL DEFAULT '',
            last_pull_at REAL
        );
        CREATE TABLE team_roots (
            root TEXT PRIMARY KEY,
            project_key TEXT NOT NULL REFERENCES team_projects(project_key) ON DELETE CASCADE,
            name TEXT NOT NULL
        );
        CREATE TABLE team_outbox (
            kind TEXT NOT NULL CHECK (kind IN ('observation', 'summary')),
            row_id INTEGER NOT NULL,
            project_key TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            queued_at REAL NOT NULL,
            PRIMARY KEY (kind, row_id)
        );
        CREATE TABLE team_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    """ + "".join(_queue_for_team(*trigger) for trigger in (
        ("team_outbox_observations", "INSERT", "observations", "observation"),
        ("team_outbox_summaries_new", "INSERT", "summaries", "summary"),
        ("team_outbox_summaries_changed", "UPDATE", "summaries", "summary"))))


def m005_queue_cleaned_mark(db) -> None:
    # A hook cleans every payload before queueing it and says so here, so the worker's
    # second cleaning pass (for rows that came another way: an older version's spool, an
    # imported queue) skips it: on ordinary rows that scan was 15 % of the worker's time.
    db.execute("ALTER TABLE pending ADD COLUMN cleaned INTEGER NOT NULL DEFAULT 0")


def m006_session_agent(db) -> None:
    # Which coding agent recorded the session (claude-code, codex): one memory per project
    # whichever agent worked in it, and every entry can say which did. Sessions recorded
    # before this migration were all Claude Code's.
    db.execute("ALTER TABLE sessions ADD COLUMN agent TEXT NOT NULL DEFAULT 'claude-code'")


# The session of a deleted observation or summary ``old`` belonged to a shared folder.
_SHARED_ROOT_OF_OLD = _SHARED_ROOT.replace("new.session_id", "old.session_id")


def _tombstone_for_team(table: str, kind: str) -> str:
    """A trigger leaving a tombstone for a deleted row made here of a shared folder."""
    return f"""
        CREATE TRIGGER team_tombstones_{table} AFTER DELETE ON {table}
        WHEN old.member IS NULL BEGIN
            INSERT OR IGNORE INTO team_tombstones (kind, row_id, project_key, name, queued_at)
            SELECT '{kind}', old.id, r.project_key, r.name, (julianday('now') - 2440587.5) * 86400
            {_SHARED_ROOT_OF_OLD} LIMIT 1;
            DELETE FROM team_outbox WHERE kind = '{kind}' AND row_id = old.id;
        END;
    """


def m007_team_tombstones(db) -> None:
    # Forgetting reaches the team (see store/team.py): deleting a row made here of a
    # shared project leaves a tombstone that the sync pushes (the server row becomes a
    # tombstone, teammates delete their copy), and drops it from the outbox if it was
    # still waiting there. ``unshare`` leaves tombstones for what it stops sharing.
    run_script(db, """
        CREATE TABLE team_tombstones (
            kind TEXT NOT NULL CHECK (kind IN ('observation', 'summary')),
            row_id INTEGER NOT NULL,
            project_key TEXT NOT NULL,
            name TEXT NOT NULL,
            queued_at REAL NOT NULL,
            PRIMARY KEY (kind, row_id)
        );
    """ + _tombstone_for_team("observations", "observation")
        + _tombstone_for_team("summaries", "summary"))


def _drop_vector(name: str, event: str, table: str, kind: str) -> str:
    """A trigger deleting the vector of a row that is deleted or whose text changes."""
    return f"""
        CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN
            DELETE FROM vectors WHERE kind = '{kind}' AND item_id = old.id;
        END;
    """


def m008_asking_memory(db) -> None:
    # Search by meaning (the [semantic] extra, see semantic/): one embedding per
    # observation, summary and prompt, made by the worker after it stored the row. A row
    # that is deleted (forget, a cascade) loses its vector in the same statement, and a
    # row whose text changes (a summary re-made by a later Stop) loses it until the
    # worker embeds the new text; AUTOINCREMENT ids only grow, so a reader refreshes
    # its copy by reading the ids above the last one it saw.
    # shown_memory: what a session was already given (the SessionStart context, earlier
    # prompt recalls), ids only, so recall at the prompt never repeats it (recall.py).
    run_script(db, """
        CREATE TABLE shown_memory (
            claude_session_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            item_id INTEGER NOT NULL,
            shown_at REAL NOT NULL,
            PRIMARY KEY (claude_session_id, kind, item_id)
        ) WITHOUT ROWID;
        CREATE TABLE vectors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('observation', 'summary', 'prompt')),
            item_id INTEGER NOT NULL,
            project TEXT NOT NULL,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            made_at REAL NOT NULL,
            UNIQUE (kind, item_id)
        );
    """ + "".join(_drop_vector(*trigger) for trigger in (
        ("vectors_observation_gone", "DELETE", "observations", "observation"),
        ("vectors_observation_changed", "UPDATE OF title, subtitle, narrative, facts, "
         "files_read, files_modified", "observations", "observation"),
        ("vectors_summary_gone", "DELETE", "summaries", "summary"),
        ("vectors_summary_changed", "UPDATE", "summaries", "summary"),
        ("vectors_prompt_gone", "DELETE", "user_prompts", "prompt"),
        ("vectors_prompt_changed", "UPDATE OF prompt", "user_prompts", "prompt"))))


def m009_shown_context(db) -> None:
    # shown_context: the text of a session's start context (SessionStart), so recall at the
    # prompt can show the other lines of a memory the start context listed by its title
    # and never a line the start context already said (recall.py). Kept as long as
    # shown_memory; forget drops every row (a copy of memory text must not outlive it).
    run_script(db, """
        CREATE TABLE shown_context (
            claude_session_id TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            shown_at REAL NOT NULL
        );
    """)


# The projects whose start context a change to a row of session ``{id}`` may alter: the
# session's own and every project its observations are filed under (a prompt is shown as
# the in-progress request of the newest observation's request, and a session's first
# prompt as what a short one continues).
def _projects_of_session(session_id: str) -> str:
    return (f"SELECT project FROM sessions WHERE id = {session_id}"
            f" UNION SELECT project FROM observations WHERE session_id = {session_id}")


def _stale_context(name: str, event: str, table: str, projects: list[str]) -> str:
    """A trigger marking the cached start context of ``projects`` (SQL expressions or
    sub-selects) to be rendered again, in the statement that changed the memory."""
    where = " OR ".join(f"project IN ({p})" for p in projects)
    return f"""
        CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN
            UPDATE context_cache SET generation = generation + 1, output = NULL,
                shown = NULL, valid_until = NULL WHERE {where};
        END;
    """


def m010_start_context_cache(db) -> None:
    # The SessionStart context rendered ahead by the worker (startcache.py, store/
    # context_cache.py), one row per project and per what else shapes the text (the
    # context settings, the time zone, the rendering code: ``key``). ``output`` is what the
    # hook prints ("" for nothing), NULL while it is to be rendered; ``shown`` the items it
    # holds (prompt recall must not repeat them); ``valid_until`` when a time in the text
    # ("alice, 2 h ago") changes, NULL when only a change of the memory ends it.
    # Every change of what a project's context can show goes through a trigger below, in
    # the same statement as the change: the text is dropped (so a forgotten row's words
    # never outlive the row) and ``generation`` moves on, so a rendering that began before
    # the change is refused when it is stored (``store_context``).
    run_script(db, """
        CREATE TABLE context_cache (
            id INTEGER PRIMARY KEY,
            project TEXT NOT NULL,
            key TEXT NOT NULL,
            generation INTEGER NOT NULL DEFAULT 0,
            output TEXT,
            shown TEXT,
            valid_until REAL,
            asked_at REAL NOT NULL,
            made_at REAL,
            UNIQUE (project, key)
        );
    """ + "".join(_stale_context(name, event, table, projects) for name, event, table, projects in (
        ("context_stale_observation_new", "INSERT", "observations", ["new.project"]),
        ("context_stale_observation_changed", "UPDATE", "observations",
         ["old.project", "new.project"]),
        ("context_stale_observation_gone", "DELETE", "observations", ["old.project"]),
        ("context_stale_summary_new", "INSERT", "summaries", ["new.project"]),
        ("context_stale_summary_changed", "UPDATE", "summaries", ["old.project", "new.project"]),
        ("context_stale_summary_gone", "DELETE", "summaries", ["old.project"]),
        ("context_stale_prompt_new", "INSERT", "user_prompts",
         [_projects_of_session("new.session_id")]),
        ("context_stale_prompt_changed", "UPDATE", "user_prompts",
         [_projects_of_session("old.session_id"), _projects_of_session("new.session_id")]),
        ("context_stale_prompt_gone", "DELETE", "user_prompts",
         [_projects_of_session("old.session_id")]),
        # What the context reads of a session: its id's head, its agent, who made it.
        ("context_stale_session_changed",
         "UPDATE OF project, agent, claude_session_id, member", "sessions",
         ["old.project", "new.project", _projects_of_session("new.id")]),
        ("context_stale_session_gone", "DELETE", "sessions", ["old.project"]),
    )))


# A cached context a change of the memory must act on: its text is current (to be dropped),
# or a rendering of it is under way (to be refused when stored).
_LIVE_CONTEXT = "output IS NOT NULL OR rendering = 1"


def _stale_live_context(name: str, event: str, table: str, projects: list[str]) -> str:
    """m011's form of ``_stale_context``: the trigger acts only while some row is live (its
    text current, or a rendering of it under way), and then only on live rows."""
    where = " OR ".join(f"project IN ({p})" for p in projects)
    return f"""
        CREATE TRIGGER {name} AFTER {event} ON {table}
        WHEN EXISTS (SELECT 1 FROM context_cache WHERE {_LIVE_CONTEXT})
        BEGIN
            UPDATE context_cache SET generation = generation + 1, output = NULL,
                shown = NULL, valid_until = NULL, rendering = 0
            WHERE ({_LIVE_CONTEXT}) AND ({where});
        END;
    """


def m011_cheap_context_triggers(db) -> None:
    # m010's triggers rewrote the project's cache row (generation + 1) on every insert even
    # when its text was already dropped: during ingest that is every observation, summary
    # and prompt, and a prompt's trigger also gathered the projects of its session's
    # observations each time. Now a row whose text is dropped is left alone, unless a
    # rendering of it is under way: the worker sets ``rendering`` (and reads
    # ``generation``) in a transaction of its own before it reads the memory
    # (``begin_rendering``), so a change made after that still moves the generation and the
    # rendering is still refused; the change also clears ``rendering``. Where no row is
    # live at all (a burst of tool calls after the first one dropped the text, or nobody
    # asked), the trigger's WHEN answers from the partial index and runs nothing.
    run_script(db, f"""
        ALTER TABLE context_cache ADD COLUMN rendering INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX context_cache_live ON context_cache (project) WHERE {_LIVE_CONTEXT};
    """ + "".join(f"DROP TRIGGER {name};" + _stale_live_context(name, event, table, projects)
                  for name, event, table, projects in (
        ("context_stale_observation_new", "INSERT", "observations", ["new.project"]),
        ("context_stale_observation_changed", "UPDATE", "observations",
         ["old.project", "new.project"]),
        ("context_stale_observation_gone", "DELETE", "observations", ["old.project"]),
        ("context_stale_summary_new", "INSERT", "summaries", ["new.project"]),
        ("context_stale_summary_changed", "UPDATE", "summaries", ["old.project", "new.project"]),
        ("context_stale_summary_gone", "DELETE", "summaries", ["old.project"]),
        ("context_stale_prompt_new", "INSERT", "user_prompts",
         [_projects_of_session("new.session_id")]),
        ("context_stale_prompt_changed", "UPDATE", "user_prompts",
         [_projects_of_session("old.session_id"), _projects_of_session("new.session_id")]),
        ("context_stale_prompt_gone", "DELETE", "user_prompts",
         [_projects_of_session("old.session_id")]),
        ("context_stale_session_changed",
         "UPDATE OF project, agent, claude_session_id, member", "sessions",
         ["old.project", "new.project", _projects_of_session("new.id")]),
        ("context_stale_session_gone", "DELETE", "sessions", ["old.project"]),
    )))


def m012_rendering_needs_its_mark(db) -> None:
    # m011's triggers leave a dropped row alone unless a rendering of it is marked. A
    # rendering stored without the mark (a worker still running code from before m011,
    # which reads the generation without marking) could then hold words a change removed
    # while it rendered (a forget). So a text is stored into a dropped row only while its
    # mark is there: otherwise the update is skipped, and the writer sees a refusal (it
    # renders again) exactly as when the generation moved on.
    run_script(db, """
        CREATE TRIGGER context_store_needs_mark BEFORE UPDATE OF output ON context_cache
        WHEN new.output IS NOT NULL AND old.output IS NULL AND old.rendering = 0
        BEGIN
            SELECT RAISE(IGNORE);
        END;
    """)


# The search indexes m002 made, each with the columns it mirrors, and the number
# ``fts_held`` knows its rows by (m013).
_INDEXED = (
    (1, "observations", "observations_fts", ("title", "subtitle", "narrative", "facts",
                                             "concepts", "files_read", "files_modified")),
    (2, "summaries", "summaries_fts", ("request", "investigated", "learned", "completed",
                                       "next_steps", "notes", "files_read", "files_edited")),
    (3, "user_prompts", "user_prompts_fts", ("prompt",)),
)
# The hold of the transaction under way (``store.held_index``): a row only ever present
# inside a transaction that asked for it.
_HOLDING = "EXISTS (SELECT 1 FROM fts_held WHERE kind = 0 AND item_id = 0)"


def _held_index_triggers(kind: int, table: str, fts: str, columns: tuple) -> str:
    """m002's three triggers on ``table`` again, which now leave a row made inside a
    holding transaction to be indexed at its end (see m013)."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    held_old = f"EXISTS (SELECT 1 FROM fts_held WHERE kind = {kind} AND item_id = old.id)"
    return f"""
        DROP TRIGGER {table}_ai;
        DROP TRIGGER {table}_ad;
        DROP TRIGGER {table}_au;
        CREATE TRIGGER {table}_ai AFTER INSERT ON {table} WHEN NOT {_HOLDING} BEGIN
            INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});
        END;
        CREATE TRIGGER {table}_ai_held AFTER INSERT ON {table} WHEN {_HOLDING} BEGIN
            INSERT OR IGNORE INTO fts_held (kind, item_id) VALUES ({kind}, new.id);
        END;
        CREATE TRIGGER {table}_ad AFTER DELETE ON {table} BEGIN
            INSERT INTO {fts}({fts}, rowid, {names})
                SELECT 'delete', old.id, {old} WHERE NOT {held_old};
            DELETE FROM fts_held WHERE kind = {kind} AND item_id = old.id;
        END;
        CREATE TRIGGER {table}_au AFTER UPDATE ON {table} BEGIN
            INSERT INTO {fts}({fts}, rowid, {names})
                SELECT 'delete', old.id, {old} WHERE NOT {held_old};
            DELETE FROM fts_held WHERE kind = {kind} AND item_id = old.id;
            INSERT INTO {fts}(rowid, {names}) SELECT new.id, {new} WHERE NOT {_HOLDING};
            INSERT OR IGNORE INTO fts_held (kind, item_id) SELECT {kind}, new.id WHERE {_HOLDING};
        END;
    """


def m013_index_at_commit(db) -> None:
    # FTS5 writes what it holds in memory to a new segment at every savepoint, and SQLite
    # opens one around every statement that fires a trigger inside a transaction: each
    # observation, prompt and summary the worker stored became a segment of its own (and
    # every 16th a merge inside the statement), 15 % of the worker's instructions. A
    # transaction may now hold its new rows back (``store.held_index``: a row (0, 0) in
    # ``fts_held`` while it runs): the insert triggers then only note the row, and the
    # transaction indexes all of them with one statement per index just before it
    # commits, so each index gets one segment per transaction. A row noted and then
    # changed or deleted in the same transaction is never taken out of an index it was
    # not put in. Other writers (no hold) index at once, as before; the committed table is
    # always empty.
    run_script(db, """
        CREATE TABLE fts_held (
            kind INTEGER NOT NULL,
            item_id INTEGER NOT NULL,
            PRIMARY KEY (kind, item_id)
        ) WITHOUT ROWID;
    """ + "".join(_held_index_triggers(*index) for index in _INDEXED))


MIGRATIONS = [m001_initial, m002_full_text_search, m003_processed_tool_uses, m004_team_memory,
              m005_queue_cleaned_mark, m006_session_agent, m007_team_tombstones,
              m008_asking_memory, m009_shown_context, m010_start_context_cache,
              m011_cheap_context_triggers, m012_rendering_needs_its_mark,
              m013_index_at_commit]


def apply(store) -> list[str]:
    """Apply the missing migrations to ``store.db``; returns the names applied."""
    if store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
        return []
    if not store.db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
        # A new file: free pages go back to the file system (see space.py). This must be
        # set before the first table exists; older files are converted by the worker.
        store.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    mode = store.db.execute("PRAGMA journal_mode").fetchone()[0]
    if mode.lower() != "wal":
        store.db.execute("PRAGMA journal_mode = WAL")
    applied: list[str] = []
    with store.write():
        store.db.execute(
            "CREATE TABLE IF NOT EXISTS migrations ("
            " name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        done = {row[0] for row in store.db.execute("SELECT name FROM migrations")}
        for migration in MIGRATIONS:
            if migration.__name__ in done:
                continue
            migration(store.db)
            store.db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (migration.__name__, time.time()),
            )
            applied.append(migration.__name__)
        store.db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    return applied
