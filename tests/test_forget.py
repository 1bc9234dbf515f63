"""``claude-mem forget``: gone from the tables, the search index and the bytes of the files.

Real hooks and worker record three sessions in two projects, each carrying words found
nowhere else; after each ``forget`` the raw database, WAL and every other file under the
data dir are read back and must not hold the forgotten words, while the rest survives.
"""
from __future__ import annotations

import os

import pytest

from click.testing import CliRunner

from claude_mem import cli, config
from helpers import open_store, run_hook, wait_until_drained
from faultkit import bash, end, prompt, stop

pytestmark = pytest.mark.usefixtures("no_strays")


def file_bytes() -> bytes:
    blob = b""
    for folder, _, names in os.walk(config.data_dir()):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not name.endswith(".sock"):
                with open(path, "rb") as fh:
                    blob += fh.read()
    return blob


def record(session: str, cwd: str, word: str) -> None:
    for event, payload in [prompt(session, cwd, text=f"Look into {word}prompt please"),
                           bash(session, cwd, 0, command=f"echo {word}obs0"),
                           bash(session, cwd, 1, command=f"echo {word}obs1"),
                           stop(session, cwd), end(session, cwd)]:
        assert run_hook(event, payload).returncode == 0


def obs_id(word: str) -> int:
    with open_store() as store:
        hits = store.search(word)
    ids = {h["id"] for h in hits if h["kind"] == "observation"}
    assert len(ids) == 1, hits
    return ids.pop()


def test_forget_obs_session_and_project_leave_no_bytes(tmp_path):
    alpha, beta = tmp_path / "alpha", tmp_path / "beta"
    for folder in (alpha, beta):
        (folder / ".git").mkdir(parents=True)
    record("s1", str(alpha), "kw1x")
    record("s2", str(alpha), "kw2x")
    record("s3", str(beta), "kw3x")
    wait_until_drained()
    runner = CliRunner()
    # An observation whose words are nowhere else (a request summary quotes the commands
    # its observations record; `forget obs` removes observations, not the summary).
    from claude_mem.models import Observation

    with open_store() as store, store.write():
        session = store.session_by_claude_id("s1")
        store.add_observation(session["id"], "alpha", 1, Observation(
            type="discovery", title="kw1xsolo found", narrative="the kw1xsolo narrative"),
            "hash-kw1xsolo", "heuristic", 1.0)
    assert b"kw1xsolo" in file_bytes()

    # One observation; asking first, "no" keeps it.
    target = obs_id("kw1xsolo")
    result = runner.invoke(cli.main, ["forget", "obs", str(target)], input="n\n")
    assert result.exit_code == 1 and "nothing forgotten" in result.output
    result = runner.invoke(cli.main, ["forget", "obs", str(target), "999999", "--yes"])
    assert result.exit_code == 0, result.output
    assert f"forgot 1 observation(s): #{target}" in result.output
    assert "not found (nothing done): #999999" in result.output
    with open_store() as store:
        assert store.observation(target) is None and store.search("kw1xsolo") == []
    blob = file_bytes()
    assert b"kw1xsolo" not in blob and b"kw1xobs1" in blob

    # One session, by a prefix of its id: prompts, observations, summaries, all of it.
    result = runner.invoke(cli.main, ["forget", "session", "s2", "--yes"])
    assert result.exit_code == 0, result.output
    assert "forgot session s2: 1 sessions, 1 prompts, 2 observations, 1 summaries" in result.output
    blob = file_bytes()
    assert not [w for w in (b"kw2xprompt", b"kw2xobs0", b"kw2xobs1") if w in blob]
    assert b"kw3xobs0" in blob

    # A whole project.
    result = runner.invoke(cli.main, ["forget", "project", "alpha", "--yes"])
    assert result.exit_code == 0 and "forgot project 'alpha': 1 sessions" in result.output
    blob = file_bytes()
    assert not [w for w in (b"kw1xprompt", b"kw1xobs1") if w in blob]
    assert b"kw3xprompt" in blob
    with open_store() as store:
        assert [s["project"] for s in store.sessions()] == ["beta"]
        assert store.search("kw1xobs1") == [] and store.search("kw3xobs1")
        assert store.integrity() == "ok"

    # Nothing to forget is an error, and huge ids are refused, not a traceback.
    assert runner.invoke(cli.main, ["forget", "project", "alpha", "--yes"]).exit_code == 1
    assert runner.invoke(cli.main, ["forget", "session", "nope", "--yes"]).exit_code == 1
    result = runner.invoke(cli.main, ["forget", "obs", "99999999999999999999", "--yes"])
    assert result.exit_code == 2 and "Traceback" not in result.output
