"""The PostgreSQL side of team memory: a second store beside the local SQLite one.

Contract:
- Schema ``claude_mem`` holds ``members`` (which login role belongs to which team),
  ``records`` (one row per shared observation or request summary, its content as JSON)
  and ``schema_migrations``. ``PG_MIGRATIONS`` are applied in order by ``init_db`` (an
  administrator runs ``claude-mem team init-db`` once, and again after an upgrade) under
  an advisory lock, each recorded in ``schema_migrations``; ``schema_sql()`` is the same
  SQL for an administrator who prefers ``psql``.
- Access is the database's job: every member logs in as their own role (in the group role
  ``claude_mem_member``); row-level security lets a member read the rows of their team
  and insert or update only rows whose ``member`` is their own role (tombstones too).
  Nobody but the administrator deletes a row; members bury their own.
- Rows are keyed by ``(member, uid)`` (migration 2): nobody's row can take a uid away
  from another member. ``TeamDatabase.push(records)`` inserts, and on a conflict (always
  with one of our own rows) changes nothing unless the row there is a tombstone or an
  older version of a summary, so pushing twice, after a crash or a partition, changes
  nothing. ``bury(tombstones)`` turns our own rows into tombstones (``kind`` 'tombstone',
  content gone, new ``tx``) for ``forget`` and ``unshare``; teammates pull them like any
  row and delete their copies. ``pull(...)`` returns rows of one
  project after a cursor ``(tx, uid)``, where ``tx`` is the id of the transaction that
  wrote the row, and only rows of transactions older than every one still running (the
  snapshot's xmin): a row committed late by a slow transaction is never skipped.
- Connections carry a connect timeout and a statement timeout: a dead or slow server
  costs the worker's sync thread a bounded wait, never a hook anything.
"""
from __future__ import annotations

import json

SCHEMA = "claude_mem"
MEMBER_ROLE = "claude_mem_member"

# Each entry is one migration step (index + 1 is its version). Never edit a step that
# shipped: add a new one.
PG_MIGRATIONS: list[str] = [
    """
    CREATE SCHEMA IF NOT EXISTS claude_mem;
    CREATE TABLE claude_mem.members (
        member name PRIMARY KEY,
        team text NOT NULL CHECK (team <> ''),
        added_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE claude_mem.members ENABLE ROW LEVEL SECURITY;
    CREATE POLICY members_see_themselves ON claude_mem.members FOR SELECT
        USING (member = current_user);

    CREATE FUNCTION claude_mem.my_team() RETURNS text LANGUAGE sql STABLE
        AS $$ SELECT team FROM claude_mem.members WHERE member = current_user $$;

    CREATE TABLE claude_mem.records (
        uid text PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('observation', 'summary')),
        team text NOT NULL DEFAULT claude_mem.my_team(),
        project_key text NOT NULL,
        project_name text NOT NULL,
        member name NOT NULL DEFAULT current_user,
        author text NOT NULL,
        machine_id text NOT NULL,
        machine_name text NOT NULL,
        claude_session_id text NOT NULL,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        body jsonb NOT NULL,
        tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
        pushed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX records_to_pull ON claude_mem.records (project_key, tx, uid);
    ALTER TABLE claude_mem.records ENABLE ROW LEVEL SECURITY;
    CREATE POLICY team_reads ON claude_mem.records FOR SELECT
        USING (team = claude_mem.my_team());
    CREATE POLICY own_inserts ON claude_mem.records FOR INSERT
        WITH CHECK (member = current_user AND team = claude_mem.my_team());
    CREATE POLICY own_updates ON claude_mem.records FOR UPDATE
        USING (member = current_user)
        WITH CHECK (member = current_user AND team = claude_mem.my_team());

    GRANT USAGE ON SCHEMA claude_mem TO claude_mem_member;
    GRANT SELECT ON claude_mem.members, claude_mem.schema_migrations TO claude_mem_member;
    GRANT SELECT, INSERT, UPDATE ON claude_mem.records TO claude_mem_member;
    GRANT EXECUTE ON FUNCTION claude_mem.my_team() TO claude_mem_member;
    """,
    # 2: rows are keyed by (member, uid): a teammate's row under one of your future uids
    # no longer collides with yours (it blocked your summary pushes). A record can become
    # a tombstone: ``forget`` and ``unshare`` turn the member's own row into one (content
    # gone, new tx), and teammates pull it and delete their copy.
    """
    ALTER TABLE claude_mem.records DROP CONSTRAINT records_pkey;
    ALTER TABLE claude_mem.records ADD PRIMARY KEY (member, uid);
    ALTER TABLE claude_mem.records DROP CONSTRAINT records_kind_check;
    ALTER TABLE claude_mem.records ADD CONSTRAINT records_kind_check
        CHECK (kind IN ('observation', 'summary', 'tombstone'));
    """,
]

# The schema this client needs; a server ahead of it is fine (migrations only add).
SCHEMA_VERSION = len(PG_MIGRATIONS)

_PRELUDE = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MEMBER_ROLE}') THEN
        CREATE ROLE {MEMBER_ROLE} NOLOGIN;
    END IF;
END $$;
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


class TeamDatabaseError(Exception):
    """The server cannot be used (driver missing, unreachable, not set up, refused)."""


def driver():
    try:
        import psycopg
    except ImportError as exc:
        raise TeamDatabaseError("team memory needs the PostgreSQL driver: pip install "
                                f"'coding-memory[team]' ({exc})") from None
    return psycopg


def connect(url: str, *, connect_timeout: float = 5.0, statement_timeout: float = 30.0,
            user: str | None = None, autocommit: bool = False):
    """A psycopg connection with bounded waits; ``user`` when the URL names none."""
    psycopg = driver()
    from claude_mem.dburl import mask_error

    kwargs: dict = {"connect_timeout": max(1, int(round(connect_timeout))),
                    "options": f"-c statement_timeout={int(statement_timeout * 1000)}",
                    "application_name": "claude-mem", "autocommit": autocommit}
    if user:
        from psycopg.conninfo import conninfo_to_dict

        try:
            if not conninfo_to_dict(url).get("user"):
                kwargs["user"] = user
        except psycopg.ProgrammingError as exc:
            raise TeamDatabaseError(f"bad team_database_url: {mask_error(exc, url)}") from None
    try:
        return psycopg.connect(url, **kwargs)
    except psycopg.Error as exc:
        raise TeamDatabaseError(f"cannot connect: {mask_error(exc, url)}") from None


def schema_sql() -> str:
    """Everything ``init_db`` runs, as one script an administrator can read or feed to psql."""
    parts = [_PRELUDE.strip()]
    for version, step in enumerate(PG_MIGRATIONS, 1):
        parts.append(f"-- migration {version}\nBEGIN;\n{step.strip()}\n"
                     f"INSERT INTO {SCHEMA}.schema_migrations (version) VALUES ({version})"
                     f" ON CONFLICT DO NOTHING;\nCOMMIT;")
    return "\n\n".join(parts) + "\n"


def init_db(url: str) -> list[int]:
    """Create or upgrade the schema (run by an administrator); returns the versions applied."""
    applied = []
    with connect(url) as conn:
        with conn.transaction():
            # Two administrators (or two CI jobs) running this at once take turns.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('claude_mem.init_db'))")
            conn.execute(_PRELUDE)
            done = {row[0] for row in conn.execute(
                f"SELECT version FROM {SCHEMA}.schema_migrations")}
            for version, step in enumerate(PG_MIGRATIONS, 1):
                if version in done:
                    continue
                conn.execute(step)
                conn.execute(f"INSERT INTO {SCHEMA}.schema_migrations (version) VALUES (%s)",
                             (version,))
                applied.append(version)
    return applied


def add_member(url: str, role: str, team: str, password: str | None) -> bool:
    """Create (or re-team) a member's login role; True when the role is new."""
    psycopg = driver()
    from psycopg import sql

    if not role or not team:
        raise TeamDatabaseError("a member needs a role name and a team")
    with connect(url) as conn:
        with conn.transaction():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                statement = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role))
                if password:
                    statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
                conn.execute(statement)
            elif password:
                conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)))
            conn.execute(sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(MEMBER_ROLE), sql.Identifier(role)))
            conn.execute(f"INSERT INTO {SCHEMA}.members (member, team) VALUES (%s, %s)"
                         " ON CONFLICT (member) DO UPDATE SET team = excluded.team", (role, team))
    del psycopg
    return not exists


_RECORD_COLUMNS = ("uid", "kind", "project_key", "project_name", "author", "machine_id",
                   "machine_name", "claude_session_id", "created_at", "updated_at", "body")


class TeamDatabase:
    """One member's connection to the team store: check, push, pull."""

    def __init__(self, conn):
        self.conn = conn

    @classmethod
    def open(cls, url: str, *, connect_timeout: float = 5.0, user: str | None = None):
        return cls(connect(url, connect_timeout=connect_timeout, user=user))

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def whoami(self) -> dict:
        """The login role, its team and the schema version; raises when not set up."""
        psycopg = driver()
        try:
            row = self.conn.execute(
                f"SELECT current_user, {SCHEMA}.my_team(),"
                f" (SELECT max(version) FROM {SCHEMA}.schema_migrations),"
                " current_setting('server_version')").fetchone()
        except psycopg.Error as exc:
            self.conn.rollback()
            raise TeamDatabaseError(
                "the team database is not set up for claude-mem (an administrator runs "
                f"`claude-mem team init-db`): {str(exc).splitlines()[0]}") from None
        self.conn.rollback()
        return {"role": row[0], "team": row[1], "schema_version": row[2], "server_version": row[3]}

    def push(self, records: list[dict]) -> int:
        """Insert ``records`` in one transaction; returns how many rows were new or newer."""
        if not records:
            return 0
        columns = ", ".join(_RECORD_COLUMNS)
        marks = ", ".join(["%s"] * len(_RECORD_COLUMNS))
        insert = f"INSERT INTO {SCHEMA}.records ({columns}) VALUES ({marks})"
        # The key is (member, uid), and member is always the login role: a conflict is only
        # ever with one of our own rows. Observations never change, but a tombstone under
        # the same uid (a forgotten row whose local id was used again) comes back to life.
        # Summaries are kept up to date as their request goes on: a newer version replaces
        # an older one. Either way the row gets a new ``tx`` so that teammates pull it.
        revive = (" ON CONFLICT (member, uid) DO UPDATE SET "
                  + ", ".join(f"{c} = excluded.{c}" for c in _RECORD_COLUMNS if c != "uid")
                  + ", tx = pg_current_xact_id()")
        statements = {
            "observation": revive + f" WHERE {SCHEMA}.records.kind = 'tombstone'",
            "summary": revive + f" WHERE {SCHEMA}.records.kind = 'tombstone'"
                       f" OR {SCHEMA}.records.updated_at < excluded.updated_at",
        }
        statements = {kind: insert + tail for kind, tail in statements.items()}
        from psycopg.types.json import Jsonb

        changed = 0
        with self.conn.transaction():
            with self.conn.cursor() as cursor:
                for kind, statement in statements.items():
                    rows = [tuple(Jsonb(r[c]) if c == "body" else r[c] for c in _RECORD_COLUMNS)
                            for r in records if r["kind"] == kind]
                    if rows:
                        cursor.executemany(statement, rows)
                        changed += max(0, cursor.rowcount)
        return changed

    def bury(self, tombstones: list[dict]) -> int:
        """Turn our own rows named by ``tombstones`` (uid, project_key, project_name,
        author, machine_id, machine_name, at) into tombstones, in one transaction: their
        content goes, a new ``tx`` makes teammates pull the tombstone and delete their
        copy. A uid that never reached the server gets a tombstone all the same (a push
        may have landed unseen before a crash). Returns how many rows changed."""
        if not tombstones:
            return 0
        statement = (
            f"INSERT INTO {SCHEMA}.records (uid, kind, project_key, project_name, author,"
            " machine_id, machine_name, claude_session_id, created_at, updated_at, body)"
            " VALUES (%s, 'tombstone', %s, %s, %s, %s, %s, '', %s, %s, '{}')"
            " ON CONFLICT (member, uid) DO UPDATE SET kind = 'tombstone', body = '{}',"
            " claude_session_id = '', updated_at = excluded.updated_at,"
            f" tx = pg_current_xact_id() WHERE {SCHEMA}.records.kind <> 'tombstone'")
        changed = 0
        with self.conn.transaction():
            with self.conn.cursor() as cursor:
                cursor.executemany(statement, [
                    (t["uid"], t["project_key"], t["project_name"], t["author"], t["machine_id"],
                     t["machine_name"], t["at"], t["at"]) for t in tombstones])
                changed += max(0, cursor.rowcount)
        return changed

    def pull(self, project_key: str, after_tx: int, after_uid: str, *, exclude_machine: str,
             limit: int = 500) -> list[dict]:
        """Rows of one project after the cursor, oldest transaction first."""
        rows = self.conn.execute(
            f"SELECT uid, kind, project_key, project_name, member, author, machine_id,"
            # Our own rows come back only to move the cursor past them: without their body.
            f" machine_name, claude_session_id, created_at, updated_at,"
            f" CASE WHEN machine_id = %s THEN NULL ELSE body END,"
            f" tx::text::bigint AS tx FROM {SCHEMA}.records"
            " WHERE project_key = %s AND (tx, uid) > (%s::text::xid8, %s)"
            " AND tx < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY tx, uid LIMIT %s",
            (exclude_machine, project_key, str(int(after_tx)), after_uid, limit)).fetchall()
        self.conn.rollback()
        names = ("uid", "kind", "project_key", "project_name", "member", "author", "machine_id",
                 "machine_name", "claude_session_id", "created_at", "updated_at", "body", "tx")
        out = [dict(zip(names, row)) for row in rows]
        for item in out:
            if isinstance(item["body"], str):  # a driver without the jsonb loader
                item["body"] = json.loads(item["body"])
        return out

    def project_counts(self, project_keys: list[str]) -> dict[str, int]:
        rows = self.conn.execute(
            f"SELECT project_key, count(*) FROM {SCHEMA}.records WHERE project_key = ANY(%s)"
            " GROUP BY project_key", (list(project_keys),)).fetchall()
        self.conn.rollback()
        return {key: count for key, count in rows}
