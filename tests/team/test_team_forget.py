"""Forgetting reaches the team, and nobody's row can take a uid from another (issue 22).

Against a real PostgreSQL server: ``forget`` and ``unshare`` leave tombstones that the
sync carries to the server (the member's rows there lose their content) and to
teammates (their copies are deleted and never pulled again); rows are keyed by
(member, uid), so a teammate who pre-inserts a row under one of your future uids no
longer blocks your pushes; row-level security still lets members write (and bury) only
their own rows.
"""
from __future__ import annotations

import json

import pytest

from helpers import wait_for
from tests.team.kit import run_session, server_text, share_billing_clones, sharing_store


def _local_text(machine) -> str:
    with machine.store() as store:
        rows = [dict(r) for t in ("observations", "summaries", "sessions")
                for r in store.db.execute(f"SELECT * FROM {t}")]
    return json.dumps(rows, default=str)


def test_a_forgotten_session_leaves_the_server_and_a_teammates_memory(team_db, machines, tmp_path):
    laptop = machines("laptop", team_db.url_for("alice"), "alice", worker_syncs=False)
    desktop = machines("desktop", team_db.url_for("bob"), "bob", worker_syncs=False)
    billing_a, billing_b = share_billing_clones(tmp_path, laptop, desktop)
    run_session(laptop, "sess-forget-me", billing_a, ["make forget-me-marker"],
                text="Rotate the forget-me-marker credentials")
    run_session(laptop, "sess-keep-me", billing_a, ["make keep-me-marker"])
    wait_for(lambda: settled_queue(laptop), timeout=60, what="the laptop to store its sessions")
    _, pushed = laptop.sync()
    assert pushed["ok"] and pushed["pushed"] >= 4
    _, pulled = desktop.sync()
    assert pulled["pulled"] >= 4
    assert "forget-me-marker" in server_text(team_db) and "forget-me-marker" in _local_text(desktop)

    laptop.cli("forget", "session", "sess-forget-me", "--yes")
    _, synced = laptop.sync()
    # On the server: the rows are tombstones, their content gone; the other session stays.
    assert "forget-me-marker" not in server_text(team_db)
    assert "keep-me-marker" in server_text(team_db)
    assert synced["buried"] >= 2 and synced["pushed"] == 0
    kinds = team_db.query("SELECT kind, count(*) FROM claude_mem.records GROUP BY kind")
    assert dict(kinds).get("tombstone", 0) >= 2
    # The teammate's sync deletes its copies (and the session that stood for it) ...
    _, removed = desktop.sync()
    assert removed["removed"] >= 2 and removed["pulled"] == 0
    assert "forget-me-marker" not in _local_text(desktop)
    assert "sess-forget-me" not in _local_text(desktop)
    assert "keep-me-marker" in _local_text(desktop)
    # ... and nothing brings them back.
    laptop.sync()
    _, again = desktop.sync()
    assert again["pulled"] == 0 and again["removed"] == 0
    assert "forget-me-marker" not in _local_text(desktop)


def settled_queue(machine) -> bool:
    with machine.store() as store:
        return store.queue_stats()["pending"] == 0


def test_unshare_takes_the_folders_rows_off_the_server_and_out_of_teammates_memory(
        team_db, machines, tmp_path):
    laptop = machines("laptop", team_db.url_for("alice"), "alice", worker_syncs=False)
    desktop = machines("desktop", team_db.url_for("bob"), "bob", worker_syncs=False)
    billing_a, billing_b = share_billing_clones(tmp_path, laptop, desktop)
    run_session(laptop, "sess-unshared", billing_a, ["make unshared-later-marker"])
    wait_for(lambda: settled_queue(laptop), timeout=60, what="the laptop to store its session")
    laptop.sync()
    desktop.sync()
    assert "unshared-later-marker" in _local_text(desktop)

    done = laptop.cli("team", "unshare", "--cwd", str(billing_a))
    _, synced = laptop.sync()
    assert "unshared-later-marker" not in server_text(team_db)
    assert "off the team database" in done.stdout and synced["buried"] >= 2
    desktop.sync()
    assert "unshared-later-marker" not in _local_text(desktop)
    # The laptop keeps its own memory: unsharing is not forgetting.
    assert "unshared-later-marker" in _local_text(laptop)


def test_a_teammates_row_under_my_future_uid_does_not_block_my_pushes(team_db, tmp_path, monkeypatch):
    import psycopg

    from claude_mem.models import Summary
    from claude_mem.store.team import TeamStore
    from claude_mem.team.sync import sync_once

    (laptop, laptop_settings) = sharing_store(tmp_path, team_db, "alice", monkeypatch)
    machine_id = TeamStore(laptop).machine_id()
    with laptop.write():
        session = laptop.open_session("s-1", "billing", "/src/alice/billing", 1.0)["id"]
    future = {"summary": f"{machine_id}:s:1", "observation": f"{machine_id}:o:1"}
    # Bob, in the same team, plants rows under the uids alice's next rows will have.
    with psycopg.connect(team_db.url_for("bob")) as bob:
        for kind, uid in future.items():
            bob.execute("INSERT INTO claude_mem.records (uid, kind, project_key, project_name,"
                        " author, machine_id, machine_name, claude_session_id, created_at,"
                        " updated_at, body) VALUES (%s, %s, 'github.com/acme/billing', 'billing',"
                        " 'alice', %s, 'laptop', 's-1', 1, 99, '{\"request\": \"planted\"}')",
                        (uid, kind, machine_id))
        bob.commit()
    with laptop.write():
        laptop.upsert_summary(session, "billing", 1, Summary("alice's real request"), "test", 2.0)
    result = sync_once(laptop, laptop_settings)
    assert result["pushed"] == 1 and result["outbox"] == 0
    rows = team_db.query("SELECT member, body->>'request' FROM claude_mem.records"
                         " WHERE uid = %s ORDER BY member", (future["summary"],))
    assert sorted(rows) == sorted([(team_db.role("alice"), "alice's real request"),
                                   (team_db.role("bob"), "planted")])
    # A teammate pulls both, each under its member: the planted row takes nothing from hers.
    # bob's other machine reads the team's rows
    (carol_store, carol_settings) = sharing_store(tmp_path, team_db, "bob", monkeypatch)
    sync_once(carol_store, carol_settings)
    requests = {r[0] for r in carol_store.db.execute("SELECT request FROM summaries")}
    assert "alice's real request" in requests
    laptop.close()
    carol_store.close()


def test_members_bury_only_their_own_rows(team_db):
    import psycopg

    from claude_mem.store.postgres import TeamDatabase

    row = {"uid": "m1:o:1", "kind": "observation", "project_key": "github.com/acme/billing",
           "project_name": "billing", "author": "alice", "machine_id": "m1",
           "machine_name": "laptop", "claude_session_id": "s1", "created_at": 1.0,
           "updated_at": 1.0, "body": {"type": "change", "title": "alice's finding"}}
    tomb = {"uid": "m1:o:1", "project_key": "github.com/acme/billing", "project_name": "billing",
            "author": "bob", "machine_id": "m1", "machine_name": "x", "at": 2.0}
    with TeamDatabase.open(team_db.url_for("alice")) as alice:
        assert alice.push([row]) == 1
    # Bob's tombstone for the same uid is his own row: alice's stays as it was.
    with TeamDatabase.open(team_db.url_for("bob")) as bob:
        bob.bury([tomb])
    rows = team_db.query("SELECT member, kind, body->>'title' FROM claude_mem.records ORDER BY member")
    assert (team_db.role("alice"), "observation", "alice's finding") in rows
    assert (team_db.role("bob"), "tombstone", None) in rows
    with psycopg.connect(team_db.url_for("bob")) as bob:
        changed = bob.execute("UPDATE claude_mem.records SET kind = 'tombstone', body = '{}'"
                              " WHERE member = %s", (team_db.role("alice"),)).rowcount
        bob.commit()
        assert changed == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("DELETE FROM claude_mem.records")
    # Alice buries hers; pushing it again (a reused local id) brings the row back to life.
    with TeamDatabase.open(team_db.url_for("alice")) as alice:
        assert alice.bury([{**tomb, "author": "alice"}]) == 1
        assert team_db.query("SELECT kind, body::text FROM claude_mem.records WHERE member = %s",
                             (team_db.role("alice"),)) == [("tombstone", "{}")]
        assert alice.push([{**row, "body": {"type": "change", "title": "a new row"}}]) == 1
    assert team_db.query("SELECT kind, body->>'title' FROM claude_mem.records WHERE member = %s",
                         (team_db.role("alice"),)) == [("observation", "a new row")]


def test_only_forgetting_own_shared_rows_leaves_tombstones(tmp_path):
    from claude_mem.models import Observation
    from claude_mem.store import Store
    from claude_mem.store.team import TeamStore

    with Store(str(tmp_path / "claude-mem.db")) as store:
        team = TeamStore(store)
        team.share("github.com/acme/billing", "billing", "/src/billing")
        with store.write():
            shared = store.open_session("s-shared", "billing", "/src/billing/sub", 1.0)["id"]
            private = store.open_session("s-private", "api", "/src/api", 1.0)["id"]
            for session, project, n in ((shared, "billing", 1), (private, "api", 2)):
                store.add_observation(session, project, 1, Observation(type="change", title=f"t{n}"),
                                      f"h{n}", "test", 2.0)
        assert team.outbox_depth() == 1
        # A teammate's row pulled here: forgetting it is local only.
        team.apply_pulled("github.com/acme/billing", [{
            "uid": "m9:o:1", "kind": "observation", "project_key": "github.com/acme/billing",
            "project_name": "billing", "member": "bob_role", "author": "bob", "machine_id": "m9",
            "machine_name": "desk", "claude_session_id": "s-bob", "created_at": 1.0,
            "updated_at": 1.0, "body": {"type": "change", "title": "bob's"}, "tx": 5}])
        bob_session = store.session_by_claude_id("s-bob")["id"]
        store.forget_session(private)
        store.forget_session(bob_session)
        assert team.tombstone_depth() == 0
        store.forget_session(shared)
        assert team.tombstone_depth() == 1 and team.outbox_depth() == 0
        entries, tombstones = team.tombstone_batch(10, machine_id="m1", author="alice",
                                                   machine_name="laptop")
        assert [t["uid"] for t in tombstones] == ["m1:o:1"]
        assert tombstones[0]["project_key"] == "github.com/acme/billing"
