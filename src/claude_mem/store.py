"""The SQLite store: one file holds the queue, sessions, prompts, observations and summaries.

Contract:
- ``Store(path)`` opens (creating it 0600 in a 0700 folder) and migrates the database:
  WAL, a busy timeout, foreign keys on; migrations are named functions applied in order
  and recorded in the ``migrations`` table, with ``PRAGMA user_version`` as the fast
  "already current" check so a hook pays one pragma, not a table scan.
- Writes go through ``with store.write():`` (``BEGIN IMMEDIATE`` ... ``COMMIT``); any
  exception rolls the whole unit back. The worker is the only writer of derived rows;
  hooks only append to ``pending`` (the durable queue).
- FTS5 tables over observations, summaries and prompts are kept in sync by triggers
  and searched with weighted bm25; user queries are quoted term by term, so no user
  text is ever parsed as FTS syntax.
- Standard library only; ``json`` is imported lazily because the hook path never needs it.
"""

import os
import time

try:
    # The C core of the sqlite3 package, the same API without the package's datetime
    # adapters: importing it instead saves the hooks ~7 ms (datetime, functools and
    # collections), about a fifth of a hook's whole run. Measured in bench/hook_latency.py.
    import _sqlite3 as sqlite3
except ImportError:  # an interpreter that only ships the package
    import sqlite3


def _json():
    import json

    return json


def _dumps(values) -> str:
    return _json().dumps(list(values), ensure_ascii=False)


def _loads_list(text) -> list:
    if not text:
        return []
    try:
        value = _json().loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


# --- migrations -------------------------------------------------------------------------


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


MIGRATIONS = [m001_initial, m002_full_text_search, m003_processed_tool_uses]

# bm25 column weights: a hit in a title says more than a hit in a long narrative.
OBSERVATION_WEIGHTS = "10.0, 5.0, 2.0, 3.0, 4.0, 3.0, 3.0"
SUMMARY_WEIGHTS = "8.0, 3.0, 4.0, 4.0, 3.0, 1.0, 3.0, 3.0"


def fts_query(text: str) -> str:
    """Quote each whitespace-separated term so user text is never FTS syntax.

    ``foo bar*`` becomes ``"foo" "bar"*`` (all terms must match; a trailing ``*`` keeps
    its prefix meaning). Returns "" when nothing searchable is left.
    """
    terms = []
    # SQLite ends a string at NUL: it would unbalance our quotes.
    for raw in text.replace("\x00", " ").split():
        prefix = raw.endswith("*") and len(raw) > 1
        term = raw[:-1] if prefix else raw
        term = term.replace('"', '""')
        if not term.strip('"'):
            continue
        terms.append(f'"{term}"' + ("*" if prefix else ""))
    return " ".join(terms)


class Store:
    """Owns one SQLite database file: opens, migrates, reads and writes it."""

    def __init__(self, path: str, *, busy_timeout_ms: int = 5000, migrate: bool = True):
        self.path = path
        folder = os.path.dirname(path)
        if folder and not os.path.isdir(folder):
            os.makedirs(folder, mode=0o700, exist_ok=True)
        is_new = not os.path.exists(path)
        old_umask = os.umask(0o077)
        try:
            self.db = sqlite3.connect(
                path, timeout=busy_timeout_ms / 1000, isolation_level=None,
                check_same_thread=False,
            )
        finally:
            os.umask(old_umask)
        if is_new:
            try:
                os.chmod(path, 0o600)
            except OSError:
                pass
        self.db.row_factory = sqlite3.Row
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")
        # Deleted content is overwritten, not left in free pages: a forgotten observation
        # or a processed queue row must not survive in the file's bytes.
        self.db.execute("PRAGMA secure_delete = ON")
        if migrate:
            self.migrate()

    # -- plumbing --------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply missing migrations; returns the names applied."""
        if self.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
            return []
        mode = self.db.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            self.db.execute("PRAGMA journal_mode = WAL")
        applied: list[str] = []
        with self.write():
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS migrations ("
                " name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            done = {row[0] for row in self.db.execute("SELECT name FROM migrations")}
            for migration in MIGRATIONS:
                if migration.__name__ in done:
                    continue
                migration(self.db)
                self.db.execute(
                    "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                    (migration.__name__, time.time()),
                )
                applied.append(migration.__name__)
            self.db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        return applied

    def write(self) -> "_WriteTransaction":
        """One write transaction (``BEGIN IMMEDIATE``); rolled back on any exception.

        Nested use joins the outer unit of work. (A small class rather than
        ``contextlib.contextmanager``: contextlib costs the hooks another import chain.)
        """
        return _WriteTransaction(self.db)

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the durable queue -----------------------------------------------------------

    def enqueue(self, event: str, payload: str, received_at: float | None = None) -> int:
        cursor = self.db.execute(
            "INSERT INTO pending (event, payload, received_at) VALUES (?, ?, ?)",
            (event, payload, received_at if received_at is not None else time.time()),
        )
        return cursor.lastrowid

    def pending_batch(self, limit: int = 100) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM pending WHERE status = 'pending' ORDER BY received_at, id LIMIT ?",
            (limit,),
        ).fetchall()

    def mark_attempt(self, ids: list[int]) -> None:
        """Count an attempt before the work starts, so a row that kills the worker is seen."""
        with self.write():
            self.db.executemany(
                "UPDATE pending SET attempts = attempts + 1 WHERE id = ?", [(i,) for i in ids]
            )

    def park(self, pending_id: int, error: str) -> None:
        with self.write():
            self.db.execute(
                "UPDATE pending SET status = 'parked', last_error = ? WHERE id = ?",
                (_reason(error), pending_id),
            )

    def record_failure(self, pending_id: int, error: str) -> None:
        with self.write():
            self.db.execute(
                "UPDATE pending SET last_error = ? WHERE id = ?", (_reason(error), pending_id)
            )

    def delete_pending(self, ids) -> None:
        self.db.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in ids])

    def retry_parked(self) -> int:
        return len(self.requeue_parked())

    def queue_stats(self) -> dict:
        row = self.db.execute(
            "SELECT"
            " SUM(status = 'pending') AS pending,"
            " SUM(status = 'parked') AS parked,"
            " MIN(CASE WHEN status = 'pending' THEN received_at END) AS oldest"
            " FROM pending"
        ).fetchone()
        return {"pending": row["pending"] or 0, "parked": row["parked"] or 0,
                "oldest_pending_at": row["oldest"]}

    def parked_rows(self, limit: int = 20) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT id, event, received_at, attempts, last_error FROM pending"
            " WHERE status = 'parked' ORDER BY id LIMIT ?", (limit,)
        ).fetchall()

    def queue_head(self) -> sqlite3.Row | None:
        """The oldest pending row: the one the worker takes first."""
        return self.db.execute(
            "SELECT id, event, received_at, attempts, last_error, length(payload) AS size"
            " FROM pending WHERE status = 'pending' ORDER BY received_at, id LIMIT 1"
        ).fetchone()

    def requeue_parked(self, ids=None) -> list[sqlite3.Row]:
        """Queue parked rows again (all, or those ``ids``); returns the rows requeued."""
        return self._take_parked(ids, "UPDATE pending SET status = 'pending', attempts = 0,"
                                      " last_error = NULL WHERE id = ? AND status = 'parked'")

    def discard_parked(self, ids=None) -> list[sqlite3.Row]:
        """Delete parked rows for good (all, or those ``ids``); returns the rows deleted."""
        return self._take_parked(ids, "DELETE FROM pending WHERE id = ? AND status = 'parked'")

    def _take_parked(self, ids, sql: str) -> list[sqlite3.Row]:
        with self.write():
            rows = self.db.execute(
                "SELECT id, event, received_at, attempts, last_error FROM pending"
                " WHERE status = 'parked' ORDER BY id").fetchall()
            if ids is not None:
                wanted = set(ids)
                rows = [r for r in rows if r["id"] in wanted]
            self.db.executemany(sql, [(r["id"],) for r in rows])
        return rows

    # -- sessions and prompts (worker side) -------------------------------------------

    def session_by_claude_id(self, claude_session_id: str) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM sessions WHERE claude_session_id = ?", (claude_session_id,)
        ).fetchone()

    def session(self, session_id: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()

    def open_session(self, claude_session_id: str, project: str, cwd: str,
                     at: float, *, new_run: bool = False) -> sqlite3.Row:
        """Find or create the session; a finished session that sees new activity reopens."""
        row = self.session_by_claude_id(claude_session_id)
        if row is None:
            self.db.execute(
                "INSERT INTO sessions (claude_session_id, project, cwd, started_at,"
                " last_activity_at) VALUES (?, ?, ?, ?, ?)",
                (claude_session_id, project, cwd, at, at),
            )
        elif row["status"] != "active":
            self.db.execute(
                "UPDATE sessions SET status = 'active', completed_at = NULL, end_reason = NULL,"
                " runs = runs + 1, last_activity_at = MAX(last_activity_at, ?) WHERE id = ?",
                (at, row["id"]),
            )
        else:
            self.db.execute(
                "UPDATE sessions SET last_activity_at = MAX(last_activity_at, ?),"
                " runs = runs + ? WHERE id = ?",
                (at, 1 if new_run else 0, row["id"]),
            )
        return self.session_by_claude_id(claude_session_id)

    def _number_of_prompt(self, session_id: int, prompt_id: str | None) -> int | None:
        if not prompt_id:
            return None
        row = self.db.execute(
            "SELECT prompt_number FROM user_prompts WHERE session_id = ? AND prompt_id = ?",
            (session_id, prompt_id),
        ).fetchone()
        return row[0] if row else None

    def add_prompt(self, session_id: int, prompt_id: str | None, text: str, at: float) -> int:
        """Store a user prompt once; returns its prompt number (stable across retries)."""
        known = self._number_of_prompt(session_id, prompt_id)
        if known is not None:
            return known
        number = self.db.execute(
            "UPDATE sessions SET prompt_counter = prompt_counter + 1 WHERE id = ?"
            " RETURNING prompt_counter", (session_id,)
        ).fetchone()[0]
        self.db.execute(
            "INSERT INTO user_prompts (session_id, prompt_number, prompt_id, prompt, created_at)"
            " VALUES (?, ?, ?, ?, ?)", (session_id, number, prompt_id, text, at),
        )
        return number

    def prompt_number_for(self, session_id: int, prompt_id: str | None) -> int:
        """The prompt a tool event belongs to: by prompt_id, else the latest one (0 if none)."""
        known = self._number_of_prompt(session_id, prompt_id)
        if known is not None:
            return known
        row = self.db.execute(
            "SELECT prompt_counter FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return row[0] if row else 0

    def prompt(self, session_id: int, prompt_number: int) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM user_prompts WHERE session_id = ? AND prompt_number = ?",
            (session_id, prompt_number),
        ).fetchone()

    def prompts(self, session_id: int) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM user_prompts WHERE session_id = ? ORDER BY prompt_number",
            (session_id,),
        ).fetchall()

    def touch_session(self, session_id: int, at: float) -> None:
        self.db.execute(
            "UPDATE sessions SET last_activity_at = MAX(last_activity_at, ?) WHERE id = ?",
            (at, session_id),
        )

    def complete_session(self, session_id: int, reason: str, at: float,
                         status: str = "completed") -> None:
        self.db.execute(
            "UPDATE sessions SET status = ?, completed_at = ?, end_reason = ? WHERE id = ?",
            (status, at, reason, session_id),
        )

    def silent_sessions(self, older_than: float) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM sessions WHERE status = 'active' AND last_activity_at < ?"
            " ORDER BY last_activity_at", (older_than,),
        ).fetchall()

    def expire_sessions(self, started_before: float, *, dry_run: bool = False) -> list[sqlite3.Row]:
        """Mark sessions left active since before ``started_before`` as failed."""
        rows = self.db.execute(
            "SELECT * FROM sessions WHERE status = 'active' AND last_activity_at < ?"
            " ORDER BY started_at", (started_before,),
        ).fetchall()
        if rows and not dry_run:
            with self.write():
                self.db.executemany(
                    "UPDATE sessions SET status = 'failed', completed_at = ?,"
                    " end_reason = 'expired' WHERE id = ? AND status = 'active'",
                    [(time.time(), row["id"]) for row in rows],
                )
        return rows

    def sessions(self, project: str | None = None, limit: int = 50) -> list[sqlite3.Row]:
        where, args = ("WHERE s.project = ?", [project]) if project else ("", [])
        return self.db.execute(
            "SELECT s.*,"
            " (SELECT COUNT(*) FROM observations o WHERE o.session_id = s.id) AS observation_count,"
            " (SELECT COUNT(*) FROM summaries m WHERE m.session_id = s.id) AS summary_count,"
            " (SELECT prompt FROM user_prompts p WHERE p.session_id = s.id"
            "  ORDER BY prompt_number LIMIT 1) AS first_prompt"
            f" FROM sessions s {where} ORDER BY s.started_at DESC, s.id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()

    def find_session(self, ident: str) -> sqlite3.Row | None:
        """By numeric id, full Claude session id, or a unique prefix of it."""
        if ident.isdigit():
            row = self.session(int(ident))
            if row:
                return row
        row = self.session_by_claude_id(ident)
        if row:
            return row
        rows = self.db.execute(
            "SELECT * FROM sessions WHERE claude_session_id LIKE ? LIMIT 2",
            (ident.replace("%", "").replace("_", "") + "%",),
        ).fetchall()
        return rows[0] if len(rows) == 1 else None

    # -- observations and summaries ----------------------------------------------------

    def add_observation(self, session_id: int, project: str, prompt_number: int, obs,
                        content_hash: str, generated_by: str, at: float) -> int | None:
        """Insert once per content hash; returns the new id, or None for a duplicate."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO observations (session_id, project, prompt_number, type,"
            " title, subtitle, facts, narrative, concepts, files_read, files_modified,"
            " tool_name, tool_use_id, content_hash, generated_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, project, prompt_number, obs.type, obs.title, obs.subtitle,
             _dumps(obs.facts), obs.narrative, _dumps(obs.concepts), _dumps(obs.files_read),
             _dumps(obs.files_modified), obs.tool_name, obs.tool_use_id, content_hash,
             generated_by, at),
        )
        return cursor.lastrowid if cursor.rowcount else None

    def processed_tool_uses(self, session_id: int, tool_use_ids) -> set[str]:
        ids = [i for i in tool_use_ids if i]
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        return {row[0] for row in self.db.execute(
            f"SELECT tool_use_id FROM processed_tool_uses WHERE session_id = ?"
            f" AND tool_use_id IN ({marks})", (session_id, *ids))}

    def mark_tool_uses_processed(self, session_id: int, tool_use_ids, at: float) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO processed_tool_uses (session_id, tool_use_id, processed_at)"
            " VALUES (?, ?, ?)", [(session_id, i, at) for i in tool_use_ids if i])

    def observations_for_prompt(self, session_id: int, prompt_number: int) -> list[dict]:
        rows = self.db.execute(
            "SELECT * FROM observations WHERE session_id = ? AND prompt_number = ? ORDER BY id",
            (session_id, prompt_number),
        ).fetchall()
        return [observation_dict(row) for row in rows]

    def upsert_summary(self, session_id: int, project: str, prompt_number: int, summary,
                       generated_by: str, at: float) -> int:
        self.db.execute(
            "INSERT INTO summaries (session_id, project, prompt_number, request, investigated,"
            " learned, completed, next_steps, notes, files_read, files_edited, generated_by,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (session_id, prompt_number) DO UPDATE SET"
            " request = excluded.request, investigated = excluded.investigated,"
            " learned = excluded.learned, completed = excluded.completed,"
            " next_steps = excluded.next_steps, notes = excluded.notes,"
            " files_read = excluded.files_read, files_edited = excluded.files_edited,"
            " generated_by = excluded.generated_by, updated_at = excluded.updated_at",
            (session_id, project, prompt_number, summary.request, summary.investigated,
             summary.learned, summary.completed, summary.next_steps, summary.notes,
             _dumps(summary.files_read), _dumps(summary.files_edited), generated_by, at, at),
        )
        return self.db.execute(
            "SELECT id FROM summaries WHERE session_id = ? AND prompt_number = ?",
            (session_id, prompt_number),
        ).fetchone()[0]

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
        return [summary_dict(row) for row in rows]

    def recent_observations(self, project: str, limit: int, *, since: float | None = None,
                            exclude_session: int | None = None) -> list[dict]:
        rows = self.db.execute(
            "SELECT * FROM observations WHERE project = ? AND created_at > ?"
            " AND session_id IS NOT ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (project, since or 0, exclude_session, limit),
        ).fetchall()
        return [observation_dict(row) for row in rows]

    def observation(self, obs_id: int) -> dict | None:
        row = self.db.execute("SELECT * FROM observations WHERE id = ?", (obs_id,)).fetchone()
        return observation_dict(row) if row else None

    def summary(self, summary_id: int) -> dict | None:
        row = self.db.execute(
            "SELECT m.*, s.claude_session_id FROM summaries m JOIN sessions s"
            " ON s.id = m.session_id WHERE m.id = ?", (summary_id,)
        ).fetchone()
        return summary_dict(row) if row else None

    def session_detail(self, session_id: int) -> dict:
        prompts = [dict(row) for row in self.prompts(session_id)]
        observations = [observation_dict(row) for row in self.db.execute(
            "SELECT * FROM observations WHERE session_id = ? ORDER BY id", (session_id,))]
        summaries = [summary_dict(row) for row in self.db.execute(
            "SELECT m.*, s.claude_session_id FROM summaries m JOIN sessions s"
            " ON s.id = m.session_id WHERE m.session_id = ? ORDER BY m.prompt_number",
            (session_id,))]
        return {"session": dict(self.session(session_id)), "prompts": prompts,
                "observations": observations, "summaries": summaries}

    # -- search ---------------------------------------------------------------------

    def search(self, text: str, *, project: str | None = None, kinds=("observation",
               "summary", "prompt"), limit: int = 20) -> list[dict]:
        """Full-text search, best first; each hit is a dict with ``kind`` and ``id``."""
        query = fts_query(text)
        if not query:
            return []
        hits: list[dict] = []
        if "observation" in kinds:
            sql = (
                "SELECT o.*, bm25(observations_fts, " + OBSERVATION_WEIGHTS + ") AS score"
                " FROM observations_fts JOIN observations o ON o.id = observations_fts.rowid"
                " WHERE observations_fts MATCH ?" + (" AND o.project = ?" if project else "")
                + " ORDER BY score LIMIT ?"
            )
            for row in self.db.execute(sql, (query, project, limit) if project else (query, limit)):
                hit = observation_dict(row)
                hit.update(kind="observation", score=row["score"])
                hits.append(hit)
        if "summary" in kinds:
            sql = (
                "SELECT m.*, s.claude_session_id, bm25(summaries_fts, " + SUMMARY_WEIGHTS
                + ") AS score FROM summaries_fts JOIN summaries m ON m.id = summaries_fts.rowid"
                " JOIN sessions s ON s.id = m.session_id WHERE summaries_fts MATCH ?"
                + (" AND m.project = ?" if project else "") + " ORDER BY score LIMIT ?"
            )
            for row in self.db.execute(sql, (query, project, limit) if project else (query, limit)):
                hit = summary_dict(row)
                hit.update(kind="summary", score=row["score"], title=hit["request"])
                hits.append(hit)
        if "prompt" in kinds:
            sql = (
                "SELECT p.*, s.project, s.claude_session_id, bm25(user_prompts_fts) AS score"
                " FROM user_prompts_fts JOIN user_prompts p ON p.id = user_prompts_fts.rowid"
                " JOIN sessions s ON s.id = p.session_id WHERE user_prompts_fts MATCH ?"
                + (" AND s.project = ?" if project else "") + " ORDER BY score LIMIT ?"
            )
            for row in self.db.execute(sql, (query, project, limit) if project else (query, limit)):
                hit = dict(row)
                hit.update(kind="prompt", title=row["prompt"], score=row["score"])
                hits.append(hit)
        hits.sort(key=lambda hit: hit["score"])
        return hits[:limit]

    # -- accounting -----------------------------------------------------------------

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

    def llm_usage_by_day(self, days: int = 7) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT day, backend, model, SUM(calls) AS calls, SUM(input_tokens) AS input_tokens,"
            " SUM(output_tokens) AS output_tokens, SUM(failures) AS failures FROM llm_usage"
            " GROUP BY day, backend, model ORDER BY day DESC LIMIT ?", (days * 4,)
        ).fetchall()

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


def _reason(error) -> str:
    """An error text that always fits the column: bounded, and valid UTF-8 whatever it quotes."""
    return str(error)[:2000].encode("utf-8", "backslashreplace").decode("utf-8")


class _WriteTransaction:
    __slots__ = ("db", "outermost")

    def __init__(self, db):
        self.db = db
        self.outermost = False

    def __enter__(self):
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.outermost = True
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if self.outermost:
            self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        return False


def observation_dict(row) -> dict:
    item = dict(row)
    for key in ("facts", "concepts", "files_read", "files_modified"):
        item[key] = _loads_list(item.get(key))
    return item


def summary_dict(row) -> dict:
    item = dict(row)
    for key in ("files_read", "files_edited"):
        item[key] = _loads_list(item.get(key))
    return item
