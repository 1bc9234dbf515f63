"""Project identity: worktrees belong to their repository; exclusion globs; `/`, `~` and junk."""
from __future__ import annotations

import os
import subprocess

import pytest

from claude_mem import project
from helpers import context_from, run_hook, wait_until_drained

SESSION_A = "351e9b10-7539-48d0-b16d-f38661328494"


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t",
                    "-c", "init.defaultBranch=main", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def make_repo(path):
    path.mkdir(parents=True)
    git(path, "init", "-q")
    (path / "README").write_text("x\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "first")
    return path


@pytest.fixture
def repos(tmp_path):
    """Two repositories, each with a worktree named feature-x; one more outside the repo."""
    acme = make_repo(tmp_path / "work" / "acme")
    other = make_repo(tmp_path / "work" / "other")
    git(acme, "worktree", "add", "-q", ".worktrees/feature-x", "-b", "feature-x")
    git(other, "worktree", "add", "-q", ".worktrees/feature-x", "-b", "feature-x")
    git(acme, "worktree", "add", "-q", str(tmp_path / "elsewhere" / "hotfix"), "-b", "hotfix")
    return {"acme": acme, "other": other, "far": tmp_path / "elsewhere" / "hotfix"}


def test_a_worktree_belongs_to_its_repository(repos):
    acme, other = repos["acme"], repos["other"]
    (acme / ".worktrees" / "feature-x" / "src").mkdir()
    assert project.project_root(str(acme / ".worktrees" / "feature-x" / "src")) == str(acme)
    assert project.project_name(str(acme / ".worktrees" / "feature-x")) == "acme"
    assert project.project_name(str(other / ".worktrees" / "feature-x")) == "other"
    assert project.project_name(str(repos["far"])) == "acme"  # any `git worktree add` location


def test_a_submodule_like_git_file_without_commondir_is_its_own_project(tmp_path):
    sub = tmp_path / "outer" / "lib"
    sub.mkdir(parents=True)
    (tmp_path / "outer" / ".git").mkdir()
    (tmp_path / "outer" / ".git" / "modules" / "lib").mkdir(parents=True)
    (sub / ".git").write_text("gitdir: ../.git/modules/lib\n")
    assert project.project_name(str(sub)) == "lib"


@pytest.mark.parametrize("cwd, name", [
    ("/", "root"), ("", "unknown"), ("   ", "unknown"), (None, "unknown"), (42, "unknown"),
    (["/x"], "unknown"),
])
def test_sensible_names_for_odd_cwds(cwd, name):
    assert project.project_name(cwd) == name


def test_tilde_is_expanded(monkeypatch, tmp_path):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    assert project.project_root("~") == str(home)
    assert project.project_name("~/code/site") == "site"


def test_exclusion_entries_with_globs_and_tilde(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    client = home / "clients" / "acme" / "api"
    client.mkdir(parents=True)
    plain = home / "code" / "secret-thing"
    plain.mkdir(parents=True)
    assert project.is_excluded(str(client), ["~/clients/**"])
    assert project.is_excluded(str(client), ["~/clients"])            # a folder covers its insides
    assert project.is_excluded(str(client), ["~/clients/*"])           # the ancestor matches
    assert project.is_excluded(str(client), [str(home) + "/*/acme/ap?"])
    assert project.is_excluded(str(plain), ["secret-*"])
    assert project.is_excluded(str(plain), ["secret-thin?"])
    assert project.is_excluded(str(plain), ["**/code/**"])
    assert not project.is_excluded(str(plain), ["~/clients/**", "secret", "code", "~/code/x*"])
    assert not project.is_excluded(str(client), ["~/client"])
    assert not project.is_excluded(str(client), [7, "", "  "])  # junk entries match nothing


def test_doctor_warns_about_an_exclusion_that_matches_nothing(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from claude_mem import cli

    real = tmp_path / "home" / "real-project"
    real.mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_MEM_EXCLUDE_PROJECTS", f"secrte-stuff,{real},~/nowhere/**")
    report = json.loads(CliRunner().invoke(cli.main, ["doctor", "--json"]).output)
    warned = " ".join(c["message"] for c in report["checks"] if c["status"] == "warn")
    assert "'secrte-stuff' matches no project" in warned and "'~/nowhere/**'" in warned
    assert str(real) not in warned


def _with_cwd(payload: dict, cwd, session_id: str | None = None) -> dict:
    out = {**payload, "cwd": str(cwd)}
    if session_id:
        out["session_id"] = session_id
    return out


def test_a_worktree_session_starts_with_the_repositorys_memory(repos, recorded):
    """Real hooks and worker: work recorded in the main checkout shows up in its worktree."""
    acme = repos["acme"]
    session_start = None
    for event, payload in recorded:
        if payload["session_id"] != SESSION_A:
            if event == "SessionStart":
                session_start = payload
            continue
        assert run_hook(event, _with_cwd(payload, acme), env={"CLAUDE_PROJECT_DIR": str(acme)}
                        ).returncode == 0
    wait_until_drained()
    start = session_start or {"hook_event_name": "SessionStart", "source": "startup"}
    worktree = acme / ".worktrees" / "feature-x"
    result = run_hook("SessionStart", _with_cwd(start, worktree, "wt-session-1"),
                      env={"CLAUDE_PROJECT_DIR": str(worktree)})
    context = context_from(result.stdout)
    assert "memory of earlier work in acme" in context
    assert "invoice" in context.lower()
    far = run_hook("SessionStart", _with_cwd(start, repos["far"], "wt-session-2"),
                   env={"CLAUDE_PROJECT_DIR": str(repos["far"])})
    assert "memory of earlier work in acme" in context_from(far.stdout)
    # The other repository's same-named worktree sees none of it.
    stranger = repos["other"] / ".worktrees" / "feature-x"
    result = run_hook("SessionStart", _with_cwd(start, stranger, "wt-session-3"),
                      env={"CLAUDE_PROJECT_DIR": str(stranger)})
    assert context_from(result.stdout) == ""
    wait_until_drained()
    from helpers import open_store

    with open_store() as store:
        projects = {row["claude_session_id"]: row["project"] for row in store.sessions(None, 50)}
    assert projects[SESSION_A] == "acme"
    assert projects.get("wt-session-1", "acme") == "acme"
    assert projects.get("wt-session-3", "other") == "other"
    assert not os.path.exists(os.path.join(str(acme), ".claude-mem-ignore"))
