"""Team memory against a real PostgreSQL server: machines exchange shared projects' memory.

Each "machine" has its own data dir, HOME, settings and worker process; its sessions go
through the real hooks. Projects are git folders whose remote says which repository they
are (no network is used: the remote is only a name).
"""
from __future__ import annotations

import json
import os
import time

from helpers import wait_for
from tests.team.kit import (REMOTE, context_of, git_project, run_session, server_text, settled,
                            share_billing_clones, sharing_store)

def test_two_machines_exchange_shared_memory_and_nothing_else(team_db, machines, tmp_path):
    laptop = machines("laptop", team_db.url_for("alice"), "alice")
    desktop = machines("desktop", team_db.url_for("bob"), "bob")
    # Two clones of one repository in differently named folders; and an unrelated project.
    billing_a = git_project(tmp_path / "laptop-src" / "billing", REMOTE)
    billing_b = git_project(tmp_path / "desktop-src" / "acme-billing-copy",
                            "https://github.com/acme/billing")
    secret_project = git_project(tmp_path / "laptop-src" / "api", "git@github.com:acme/api.git")

    shared = laptop.cli("team", "share", "--cwd", str(billing_a))
    assert "github.com/acme/billing" in shared.stdout
    desktop.cli("team", "share", "--cwd", str(billing_b))

    run_session(laptop, "sess-laptop-1", billing_a,
                ["make rounding-fix-for-invoices",
                 "echo <private>hunter2-private-marker</private> done",
                 "export API_KEY=sk-ant-api03-" + "Q" * 40],
                text="Fix invoice rounding <private>private-prompt-marker</private>")
    run_session(laptop, "sess-laptop-api", secret_project, ["make unshared-api-marker"])
    wait_for(lambda: settled(laptop), timeout=60, what="laptop to store and push")

    on_server = server_text(team_db)
    assert "rounding-fix-for-invoices" in on_server
    # Nothing of the project that was not shared, no private text, no secret.
    assert "unshared-api-marker" not in on_server
    assert "acme/api" not in on_server
    assert "hunter2-private-marker" not in on_server and "private-prompt-marker" not in on_server
    assert "sk-ant-api03" not in on_server
    keys = {row[0] for row in team_db.query("SELECT DISTINCT project_key FROM claude_mem.records")}
    assert keys == {"github.com/acme/billing"}
    members = {row[0] for row in team_db.query("SELECT DISTINCT member FROM claude_mem.records")}
    assert members == {team_db.role("alice")}

    # The desktop's sync brings it in; its next session in its own clone starts with it.
    synced = json.loads(desktop.cli("team", "sync", "--json").stdout)
    assert synced["ok"] and synced["pulled"] >= 2 and synced["pulled_from"].get("alice")
    context = context_of(desktop, billing_b)
    assert "rounding-fix-for-invoices" in context
    assert "alice" in context
    assert "unshared-api-marker" not in context

    # Pulled rows say whose they are (for `show`, search and the viewer).
    with desktop.store() as store:
        rows = store.db.execute("SELECT id, member, machine, project FROM observations").fetchall()
    assert rows and {r["member"] for r in rows} == {"alice"}
    assert {r["project"] for r in rows} == {"acme-billing-copy"}  # the local folder's name
    shown = desktop.cli("show", "obs", str(rows[0]["id"])).stdout
    assert "alice" in shown
    found = json.loads(desktop.cli("search", "rounding", "--json").stdout)
    assert found and found[0]["member"] == "alice"

    # Syncing again moves nothing and duplicates nothing, on either side.
    before = team_db.query("SELECT count(*) FROM claude_mem.records")[0][0]
    again = json.loads(desktop.cli("team", "sync", "--json").stdout)
    assert again["pulled"] == 0 and again["pushed"] == 0
    laptop.cli("team", "sync")
    assert team_db.query("SELECT count(*) FROM claude_mem.records")[0][0] == before
    with desktop.store() as store:
        assert store.db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == len(rows)

    # Bob's work flows back to the laptop (its worker syncs by itself, on its timer).
    run_session(desktop, "sess-desktop-1", billing_b, ["make bob-reviewed-the-rounding"])
    wait_for(lambda: settled(desktop), timeout=60, what="desktop to store and push")
    laptop.hook("SessionStart", {"session_id": "wake-laptop", "cwd": str(billing_a),
                                 "hook_event_name": "SessionStart", "source": "startup",
                                 "transcript_path": "/tmp/x.jsonl"})  # starts its worker
    wait_for(lambda: "bob-reviewed-the-rounding" in context_of(laptop, billing_a), timeout=60,
             what="the laptop's worker to pull bob's work")
    # Status tells the story.
    status = json.loads(laptop.cli("team", "status", "--json").stdout)
    assert status["connection"]["ok"] and status["connection"]["team"] == "acme"
    assert status["shared_projects"][0]["key"] == "github.com/acme/billing"
    assert team_db.members["alice"][1] not in json.dumps(status)  # the password is masked
    assert "****" in status["url"]
    doctor = laptop.cli("doctor", check=False).stdout
    assert "ok    team database reachable" in doctor and team_db.members["alice"][1] not in doctor


def test_a_member_of_another_team_reads_nothing(team_db, machines, tmp_path):
    laptop = machines("laptop", team_db.url_for("alice"), "alice")
    outsider = machines("outsider", team_db.url_for("carol"), "carol")
    billing_a, billing_c = share_billing_clones(tmp_path, laptop, outsider, ("a", "c"))
    run_session(laptop, "sess-a", billing_a, ["make acme-only-work"])
    wait_for(lambda: settled(laptop), timeout=60, what="laptop to push")
    synced = json.loads(outsider.cli("team", "sync", "--json").stdout)
    assert synced["ok"] and synced["pulled"] == 0
    assert "acme-only-work" not in context_of(outsider, billing_c)


def test_init_db_is_repeatable_and_its_sql_works_in_psql(pg_cluster, tmp_path):
    import subprocess as sp
    import sys

    import psycopg

    from tests.pgcluster import find_bin
    from tests.team.kit import ROOT, with_db

    server = pg_cluster["url"]
    names = [f"cm_init_{time.time_ns()}_{i}" for i in range(2)]
    with psycopg.connect(server, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        def init(name: str) -> str:
            done = sp.run([sys.executable, "-m", "claude_mem.cli", "team", "init-db", "--url",
                           with_db(server, name)], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
            assert done.returncode == 0, done.stderr
            assert "password=" not in done.stdout or "password=****" in done.stdout
            return done.stdout

        assert "migrations applied: 1, 2;" in init(names[0])
        assert "none (already current)" in init(names[0])
        psql = os.path.join(find_bin() or "", "psql")
        if os.path.exists(psql):
            sql = sp.run([sys.executable, "-m", "claude_mem.cli", "team", "init-db", "--print-sql"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
            sp.run([psql, "-v", "ON_ERROR_STOP=1", "-q", with_db(server, names[1])], input=sql,
                   text=True, check=True, capture_output=True)
            assert "none (already current)" in init(names[1])
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_summary_updated_after_its_push_travels_again(team_db, tmp_path, monkeypatch):
    from claude_mem.models import Summary
    from claude_mem.team.sync import sync_once

    def machine(alias: str):
        return sharing_store(tmp_path, team_db, alias, monkeypatch)

    (laptop, laptop_settings), (desktop, desktop_settings) = machine("alice"), machine("bob")
    with laptop.write():
        session = laptop.open_session("s-1", "billing", "/src/alice/billing", 1.0)["id"]
        laptop.upsert_summary(session, "billing", 1, Summary("first version"), "test", 2.0)
    for request, at in (("first version", None), ("second version", 3.0)):
        if at:
            with laptop.write():
                laptop.upsert_summary(session, "billing", 1, Summary(request), "test", at)
        assert sync_once(laptop, laptop_settings)["pushed"] == 1
        assert sync_once(desktop, desktop_settings)["pulled"] == 1
        rows = desktop.db.execute("SELECT request, member FROM summaries").fetchall()
        assert [tuple(r) for r in rows] == [(request, "alice")]
    assert team_db.query("SELECT count(*) FROM claude_mem.records")[0][0] == 1
    laptop.close()
    desktop.close()


def test_the_agent_that_recorded_a_session_travels_with_its_memory(team_db, tmp_path, monkeypatch):
    """A teammate's Codex session reads as Codex here (not as the default, Claude Code); a
    record pushed by an older client, which did not say, reads as Claude Code."""
    from claude_mem.models import Summary
    from claude_mem.team.sync import sync_once

    (laptop, laptop_settings), (desktop, desktop_settings) = (
        sharing_store(tmp_path, team_db, alias, monkeypatch) for alias in ("alice", "bob"))
    with laptop.write():
        codex = laptop.open_session("codex-1", "billing", "/src/alice/billing", 1.0,
                                    agent="codex")["id"]
        claude = laptop.open_session("claude-1", "billing", "/src/alice/billing", 1.5)["id"]
        laptop.upsert_summary(codex, "billing", 1, Summary("made by codex"), "test", 2.0)
        laptop.upsert_summary(claude, "billing", 1, Summary("made by claude"), "test", 2.5)
    assert sync_once(laptop, laptop_settings)["pushed"] == 2
    bodies = {row[0]: row[1] for row in team_db.query(
        "SELECT claude_session_id, body->>'agent' FROM claude_mem.records")}
    assert bodies == {"codex-1": "codex", "claude-1": "claude-code"}
    # An older client's record: no agent in its body.
    team_db.query("UPDATE claude_mem.records SET body = body - 'agent'"
                  " WHERE claude_session_id = 'claude-1' RETURNING 1")
    assert sync_once(desktop, desktop_settings)["pulled"] == 2
    agents = {row["claude_session_id"]: row["agent"] for row in desktop.db.execute(
        "SELECT claude_session_id, agent FROM sessions WHERE member = 'alice'")}
    assert agents == {"codex-1": "codex", "claude-1": "claude-code"}
    laptop.close()
    desktop.close()
