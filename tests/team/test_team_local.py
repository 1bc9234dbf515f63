"""Team memory's local half, no server needed: project identity, the outbox, masking."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from claude_mem import project
from claude_mem.models import Observation, Summary
from claude_mem.store.team import TeamStore
from claude_mem.dburl import mask, mask_error
from helpers import open_store
from tests.team.kit import ROOT, git_project


@pytest.mark.parametrize("url", [
    "git@github.com:Acme/Billing.git", "https://github.com/acme/billing",
    "https://user:token@github.com/acme/billing.git/", "ssh://git@github.com/acme/billing",
    "ssh://git@github.com:22/acme/billing.git"])
def test_one_repository_has_one_identity(url):
    assert project.normalize_remote(url) == "github.com/acme/billing"


def test_clones_are_one_project_and_namesakes_are_not(tmp_path):
    one = git_project(tmp_path / "a" / "billing", "git@github.com:acme/billing.git")
    two = git_project(tmp_path / "b" / "billing-2", "https://github.com/acme/billing")
    api = git_project(tmp_path / "a" / "api", "git@github.com:acme/api.git")
    other_api = git_project(tmp_path / "b" / "api", "git@gitlab.com:someone/api.git")
    bare = git_project(tmp_path / "c" / "scratch", None)
    assert project.remote_identity(str(one)) == project.remote_identity(str(two / "sub"))
    assert project.remote_identity(str(api)) != project.remote_identity(str(other_api))
    assert project.remote_identity(str(bare)) is None


def _session(store, sid: str, name: str, cwd: str) -> int:
    with store.write():
        return store.open_session(sid, name, cwd, 1.0)["id"]


def _observe(store, session_id: int, name: str, title: str) -> None:
    with store.write():
        store.add_observation(session_id, name, 1, Observation("change", title), title, "test", 2.0)


def test_only_shared_folders_fill_the_outbox(tmp_path):
    with open_store() as store:
        team = TeamStore(store)
        root = str(tmp_path / "billing")
        inside = _session(store, "s1", "billing", root + "/src")
        nested = _session(store, "s2", "vendored", root + "/vendor/vendored")  # its own repo
        namesake = _session(store, "s3", "billing", str(tmp_path / "elsewhere" / "billing"))
        _observe(store, inside, "billing", "before sharing")
        assert team.outbox_depth() == 0
        assert team.share("github.com/acme/billing", "billing", root) == 1  # the past too
        _observe(store, inside, "billing", "after sharing")
        _observe(store, nested, "vendored", "nested repository")
        _observe(store, namesake, "billing", "an unrelated folder of the same name")
        with store.write():
            store.upsert_summary(inside, "billing", 1, Summary("first"), "test", 3.0)
            store.upsert_summary(inside, "billing", 1, Summary("second"), "test", 4.0)
        entries, records = team.outbox_batch(50, machine_id="m", author="me", machine_name="h")
        assert sorted(r["body"].get("title") or r["body"]["request"] for r in records) == [
            "after sharing", "before sharing", "second"]  # one summary, its newest version
        assert team.unshare(root) == ("github.com/acme/billing", "billing")
        assert team.outbox_depth() == 0
        _observe(store, inside, "billing", "after unsharing")
        assert team.outbox_depth() == 0


def test_passwords_are_masked_everywhere(tmp_path):
    url = "postgresql://alice:s3cr3t-pw@db.example.com:5432/mem?sslmode=require"
    assert "s3cr3t-pw" not in mask(url) and "alice:****@db.example.com" in mask(url)
    assert mask("host=db password='s3cr3t-pw' user=alice") == "host=db password=**** user=alice"
    assert mask("postgresql:///mem?password=s3cr3t-pw&host=x") == "postgresql:///mem?password=****&host=x"
    assert "s3cr3t-pw" not in mask_error(RuntimeError("bad s3cr3t-pw here"), url)
    import os

    # A loopback port where nothing listens: refused at once, nothing leaves the machine.
    env = {"CLAUDE_MEM_TEAM_DATABASE_URL": "postgresql://alice:s3cr3t-pw@127.0.0.1:1/mem"}

    for args in (["config"], ["config", "--json"], ["team", "status", "--json"]):
        done = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                              text=True, env={**os.environ, **env,
                                              "CLAUDE_MEM_TEAM_CONNECT_TIMEOUT_SECONDS": "1"},
                              cwd=ROOT, timeout=60)
        assert "s3cr3t-pw" not in done.stdout + done.stderr, args
        assert "alice:****@" in done.stdout, args
    status = json.loads(done.stdout)
    assert status["connection"]["ok"] is False
