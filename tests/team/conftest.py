"""Fixtures of the team-memory tests: a real PostgreSQL server and several "machines".

- ``pg_cluster`` (session): the server named by ``$CLAUDE_MEM_TEST_PG_URL`` (``.ci/run``
  starts one with ``tests/pgcluster.py``), else a throwaway cluster started here and
  stopped at the end; the tests skip, saying why, when there is neither PostgreSQL nor
  psycopg.
- ``team_db``: a fresh database on it with the schema (``team init-db``) and three member
  roles with their own passwords — alice and bob in one team, carol in another — whose
  names are unique per test, so suites running side by side never meet.
- ``machines``: makes ``kit.Machine``s (own data dir, HOME, settings, worker) and stops
  their workers after the test.
"""
from __future__ import annotations

import os
import secrets

import pytest

from tests.pgcluster import Cluster, find_bin
from tests.team.kit import Machine, with_db


def _psycopg():
    try:
        import psycopg
    except ImportError:
        return None
    return psycopg


@pytest.fixture(scope="session")
def pg_cluster():
    if _psycopg() is None:
        pytest.skip("psycopg is not installed (pip install -e '.[team]'): team tests need it")
    url = os.environ.get("CLAUDE_MEM_TEST_PG_URL")
    if url:
        yield {"url": url, "cluster": None}
        return
    if find_bin() is None:
        pytest.skip("PostgreSQL is not installed (no initdb; set PG_BIN or CLAUDE_MEM_TEST_PG_URL)")
    cluster = Cluster.create()
    try:
        cluster.start()
        yield {"url": cluster.url, "cluster": cluster}
    finally:
        cluster.destroy()


class TeamDB:
    def __init__(self, admin_url: str, dbname: str):
        self.admin_url = admin_url
        self.dbname = dbname
        self.members: dict[str, tuple[str, str]] = {}  # alias -> (role, password)

    def url_for(self, alias: str) -> str:
        role, password = self.members[alias]
        return with_db(self.admin_url, self.dbname, role, password)

    def role(self, alias: str) -> str:
        return self.members[alias][0]

    def query(self, sql: str, args=()) -> list[tuple]:
        """As the administrator (who sees every row, row-level security or not)."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return conn.execute(sql, args).fetchall()


@pytest.fixture
def team_db(pg_cluster):
    import psycopg

    from claude_mem.store import postgres as pgstore

    suffix = secrets.token_hex(4)
    dbname = f"cm_test_{suffix}"
    server = pg_cluster["url"]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    db = TeamDB(with_db(server, dbname), dbname)
    try:
        pgstore.init_db(db.admin_url)
        for alias, team in (("alice", "acme"), ("bob", "acme"), ("carol", "globex")):
            role, password = f"{alias}_{suffix}", secrets.token_hex(10)
            pgstore.add_member(db.admin_url, role, team, password)
            db.members[alias] = (role, password)
        yield db
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            for role, _ in db.members.values():
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def machines(tmp_path):
    made: list[Machine] = []

    def make(name: str, url: str, member: str, *, worker_syncs: bool = True) -> Machine:
        """``worker_syncs=False``: only ``machine.sync()`` talks to the server (fault tests)."""
        machine = Machine(tmp_path / "machines", name,
                          {"team_database_url": url if worker_syncs else "", "team_member": member})
        machine.url = url
        made.append(machine)
        return machine

    yield make
    for machine in made:
        machine.stop()
