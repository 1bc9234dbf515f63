"""Team memory under faults, against a real PostgreSQL: a server that goes away, a sync
killed with SIGKILL half way, machines syncing at once, members who try to write what is
not theirs (the database refuses).
"""
from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest

from helpers import injection, kill_sync_after, wait_for
from tests.pgcluster import Cluster, find_bin
from tests.team.kit import REMOTE, ROOT, context_of, git_project, run_session, share_billing_clones

pytestmark = pytest.mark.slow


def local_count(machine, *, mine: bool) -> int:
    clause = "member IS NULL" if mine else "member IS NOT NULL"
    with machine.store() as store:
        return sum(store.db.execute(f"SELECT COUNT(*) FROM {t} WHERE {clause}").fetchone()[0]
                   for t in ("observations", "summaries"))


def outbox(machine) -> int:
    with machine.store() as store:
        return store.db.execute("SELECT COUNT(*) FROM team_outbox").fetchone()[0]


def drained(machine) -> bool:
    with machine.store() as store:
        return store.queue_stats()["pending"] == 0


def record(machine, sid: str, cwd, n: int, tag: str) -> None:
    """One session of ``n`` distinct shell commands, stored by the machine's worker."""
    run_session(machine, sid, cwd, [f"make {tag}-step-{i}" for i in range(n)])
    wait_for(lambda: drained(machine), timeout=60, what=f"{machine.name} to drain its queue")


def test_hooks_never_load_the_team_code():
    # The structural half of "a dead or slow PostgreSQL never slows a hook": the hook
    # path imports neither the driver nor anything of team memory.
    code = ("import sys; from claude_mem import config, context, hooks; "
            "context.session_start_output({'cwd': '.', 'source': 'startup'}, config.load()); "
            "print([m for m in sys.modules if 'psycopg' in m or m.startswith('claude_mem.team')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


@pytest.fixture
def own_server():
    """A cluster of this test's own, so it can be stopped and started again."""
    if find_bin() is None:
        pytest.skip("PostgreSQL is not installed (no initdb; set PG_BIN)")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[team]')")
    from claude_mem.store import postgres as pgstore

    cluster = Cluster.create()
    try:
        cluster.start()
        pgstore.init_db(cluster.url)
        members = {}
        for alias in ("alice", "bob"):
            password = secrets.token_hex(8)
            pgstore.add_member(cluster.url, alias, "acme", password)
            members[alias] = cluster.url_for(alias, password)
        yield cluster, members
    finally:
        cluster.destroy()


def test_server_stopped_during_sessions_then_sync_catches_up(own_server, machines, tmp_path):
    cluster, members = own_server
    laptop = machines("laptop", members["alice"], "alice")
    desktop = machines("desktop", members["bob"], "bob", worker_syncs=False)
    billing_a, billing_b = share_billing_clones(tmp_path, laptop, desktop)

    record(laptop, "s-before", billing_a, 2, "before-outage")
    wait_for(lambda: outbox(laptop) == 0, timeout=60, what="the first push")

    cluster.stop()
    # Sessions go on: hooks answer, memory is stored and served locally, the outbox fills.
    record(laptop, "s-during", billing_a, 3, "during-outage")
    assert "during-outage-step-2" in context_of(laptop, billing_a)
    assert outbox(laptop) > 0
    failed, result = laptop.sync(check=False)
    assert failed.returncode == 1 and result["ok"] is False and "cannot connect" in result["error"]
    status = laptop.cli("team", "status").stdout
    assert "FAILED" in status and "****" in status
    assert "FIX   team database: cannot connect" in laptop.cli("doctor", check=False).stdout
    for text in (failed.stdout, failed.stderr, status):
        assert members["alice"].split(":")[2].split("@")[0] not in text  # the password

    cluster.start()
    # The worker's own sync thread catches up once its backoff ends (nobody syncs by hand).
    wait_for(lambda: outbox(laptop) == 0, timeout=120, what="the laptop's worker to catch up")
    done, again = laptop.sync()
    assert again["ok"] and again["pushed"] == 0
    _, pulled = desktop.sync()
    assert pulled["pulled"] == local_count(laptop, mine=True)
    assert local_count(desktop, mine=False) == local_count(laptop, mine=True)  # no duplicates
    assert "during-outage-step-2" in context_of(desktop, billing_b)


def test_sync_killed_half_way_repeats_nothing(team_db, machines, tmp_path):
    laptop = machines("laptop", team_db.url_for("alice"), "alice", worker_syncs=False)
    desktop = machines("desktop", team_db.url_for("bob"), "bob", worker_syncs=False)
    billing_a, billing_b = share_billing_clones(tmp_path, laptop, desktop)
    record(laptop, "s-1", billing_a, 6, "killed-sync")
    made = local_count(laptop, mine=True)
    small = {"CLAUDE_MEM_TEAM_SYNC_BATCH": "2"}

    # Killed right after the server committed the first batch, before the outbox forgot it.
    killed, _ = laptop.sync(check=False, env={**small, **injection(tmp_path / "push-fault",
                                                                  kill_sync_after("after-push"))})
    assert killed.returncode == -9
    on_server = team_db.query("SELECT count(*) FROM claude_mem.records")[0][0]
    assert on_server == 2 and outbox(laptop) == made
    _, result = laptop.sync(env=small)
    assert result["pushed"] == made and result["pushed_new"] == made - 2
    assert team_db.query("SELECT count(*) FROM claude_mem.records")[0][0] == made

    # Killed after storing the first pulled batch (and its cursor) locally.
    killed, _ = desktop.sync(check=False, env={**small, **injection(tmp_path / "pull-fault",
                                                                   kill_sync_after("after-pull"))})
    assert killed.returncode == -9
    assert local_count(desktop, mine=False) == 2
    _, result = desktop.sync(env=small)
    assert result["pulled"] == made - 2
    assert local_count(desktop, mine=False) == made
    _, result = desktop.sync(env=small)
    assert result["pulled"] == 0 and local_count(desktop, mine=False) == made


def test_machines_syncing_at_once(team_db, machines, tmp_path):
    names = ("alice", "bob")
    team = [machines(f"m-{alias}", team_db.url_for(alias), alias, worker_syncs=False)
            for alias in names]
    folders = [git_project(tmp_path / alias / "billing", REMOTE) for alias in names]
    for machine, folder in zip(team, folders):
        machine.cli("team", "share", "--cwd", str(folder))
        record(machine, f"s-{machine.name}", folder, 5, f"{machine.name}-work")
    # Both machines sync twice at the same time (the same data dir's syncs take turns).
    procs = [subprocess.Popen([sys.executable, "-m", "claude_mem.cli", "team", "sync", "--json"],
                              env={**m.env, "CLAUDE_MEM_TEAM_DATABASE_URL": m.url,
                                   "CLAUDE_MEM_TEAM_SYNC_BATCH": "3"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
             for m in team for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert json.loads(out)["ok"]
    for machine in team:  # a last round picks up what the other pushed meanwhile
        machine.sync()
    total = sum(local_count(m, mine=True) for m in team)
    assert team_db.query("SELECT count(*), count(DISTINCT uid) FROM claude_mem.records")[0] == (total, total)
    for machine, other in ((team[0], team[1]), (team[1], team[0])):
        assert local_count(machine, mine=False) == local_count(other, mine=True)


def test_members_cannot_write_what_is_not_theirs(team_db):
    import psycopg

    from claude_mem.store.postgres import TeamDatabase

    row = {"uid": "m1:o:1", "kind": "observation", "project_key": "github.com/acme/billing",
           "project_name": "billing", "author": "alice", "machine_id": "m1",
           "machine_name": "laptop", "claude_session_id": "s1", "created_at": 1.0,
           "updated_at": 1.0, "body": {"type": "change", "title": "alice's finding"}}
    with TeamDatabase.open(team_db.url_for("alice")) as alice:
        assert alice.push([row]) == 1
    alice_role, bob_role = team_db.role("alice"), team_db.role("bob")
    with psycopg.connect(team_db.url_for("bob")) as bob:
        # Bob reads his team's rows ...
        assert bob.execute("SELECT count(*) FROM claude_mem.records").fetchone()[0] == 1
        bob.rollback()
        # ... but cannot insert a row in alice's name,
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            bob.execute("INSERT INTO claude_mem.records (uid, kind, project_key, project_name,"
                        " member, author, machine_id, machine_name, claude_session_id,"
                        " created_at, updated_at, body) VALUES ('m2:o:1', 'observation', 'k',"
                        " 'n', %s, 'alice', 'm2', 'x', 's', 1, 1, '{}')", (alice_role,))
        bob.rollback()
        # nor into another team,
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            bob.execute("INSERT INTO claude_mem.records (uid, kind, team, project_key,"
                        " project_name, author, machine_id, machine_name, claude_session_id,"
                        " created_at, updated_at, body) VALUES ('m2:o:2', 'observation',"
                        " 'globex', 'k', 'n', 'bob', 'm2', 'x', 's', 1, 1, '{}')")
        bob.rollback()
        # nor change alice's row (it is not his to update: nothing matches),
        changed = bob.execute("UPDATE claude_mem.records SET body = '{\"title\": \"bob was here\"}'"
                              " WHERE uid = 'm1:o:1'").rowcount
        bob.commit()
        assert changed == 0
        # nor take it over through an upsert under her key (member, uid),
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("INSERT INTO claude_mem.records (uid, kind, project_key, project_name,"
                        " member, author, machine_id, machine_name, claude_session_id, created_at,"
                        " updated_at, body) VALUES ('m1:o:1', 'summary', 'k', 'n', %s, 'bob', 'm2',"
                        " 'x', 's', 1, 2, '{}') ON CONFLICT (member, uid) DO UPDATE"
                        " SET body = excluded.body", (alice_role,))
        bob.rollback()
        # nor delete anything.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("DELETE FROM claude_mem.records")
        bob.rollback()
        # His own rows are his: member defaults to his login role.
        bob.execute("INSERT INTO claude_mem.records (uid, kind, project_key, project_name, author,"
                    " machine_id, machine_name, claude_session_id, created_at, updated_at, body)"
                    " VALUES ('m2:o:3', 'observation', 'k', 'n', 'bob', 'm2', 'x', 's', 1, 1, '{}')")
        bob.commit()
    assert team_db.query("SELECT member FROM claude_mem.records WHERE uid = 'm2:o:3'") == [(bob_role,)]
    assert team_db.query("SELECT body->>'title' FROM claude_mem.records WHERE uid = 'm1:o:1'") == [
        ("alice's finding",)]
    # Another team's member sees none of it.
    with psycopg.connect(team_db.url_for("carol")) as carol:
        assert carol.execute("SELECT count(*) FROM claude_mem.records").fetchone()[0] == 0
