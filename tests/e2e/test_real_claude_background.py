"""Capture in the background with the real Claude Code CLI: nothing lost, summaries whole.

The real CLI (bundled in the claude-agent-sdk wheel) runs offline against the fake Messages
API, with claude-mem installed by ``claude-mem install`` (capture in the background, the
default). The fake model answers at once, so the run's last tool call is followed within
milliseconds by the final reply, the Stop and the end of ``claude -p``, which sends SIGTERM
to async hooks still running and SIGKILL a moment later.

1. Several tools, the last right before the exit: every tool call the transcript records is
   stored, in that request's summary; ``--resume`` adds the next request to the same session.
2. The database locked for the whole run (each hook waits 0.75 s, then spools its event): the
   capture hooks are still at work when ``claude -p`` exits, and still nothing is lost.
3. With the worker running (steady use), every capture hook goes through ``capture.sh`` and
   the worker's inbox (no interpreter per tool call): all of a run's tool calls, the last
   right before the exit, are stored and in the summary, and the worker says it took each
   of the run's capture events (tools, Stop, SessionEnd) from the inbox.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from claude_mem import config, inbox, summary_gate
from helpers import open_store, wait_for, wait_until_drained
from tests.fakes.claude_cli import find_claude_binary, run_claude
from tests.fakes.fake_llm_server import FakeLLMServer, Rule, Script, Text, ToolUse

pytestmark = pytest.mark.e2e

PROMPT_1 = "Write the five migration steps, one file each."
PROMPT_2 = "Now write the rollback steps."
PROMPT_LOCKED = "Write the audit steps while the disk is busy."
PROMPT_INBOX = "Write the six release steps."
REPLY = "All steps are written."


def _steps(prefix: str, count: int):
    return [ToolUse("Bash", {"command": f"printf '{prefix} {n}\\n' > {prefix}-{n}.txt",
                             "description": f"write {prefix} {n}"}) for n in range(1, count + 1)]


SCRIPT = Script(rules=[Rule(PROMPT_1, [*_steps("migrate", 5), Text(REPLY)]),
                       Rule(PROMPT_2, [*_steps("rollback", 3), Text(REPLY)]),
                       Rule(PROMPT_LOCKED, [*_steps("audit", 4), Text(REPLY)]),
                       Rule(PROMPT_INBOX, [*_steps("release", 6), Text(REPLY)])],
                default=Text("unexpected request"))


@pytest.fixture
def lab(tmp_path):
    if find_claude_binary() is None:
        pytest.skip("Claude Code CLI not found (claude_agent_sdk/_bundled/claude)")
    project = tmp_path / "ledger"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    from click.testing import CliRunner

    from claude_mem import cli

    config_dir = tmp_path / "claude"
    result = CliRunner().invoke(cli.main, ["install", "--claude-config-dir", str(config_dir)])
    assert result.exit_code == 0, result.output
    with FakeLLMServer(SCRIPT) as server:
        def claude(prompt: str, *extra: str):
            run = run_claude(prompt, cwd=project, home=tmp_path / "home", config_dir=config_dir,
                             base_url=server.url, extra_args=("--allowedTools", "Bash", *extra),
                             env={k: v for k, v in os.environ.items() if k.startswith("CLAUDE_MEM_")})
            assert run.returncode == 0 and not run.is_error, run.describe()
            assert server.errors == []
            return run
        yield project, config_dir, claude
    from claude_mem import control

    control.stop_worker()


def _transcript(config_dir: Path, session_id: str) -> str:
    [path] = (config_dir / "projects").glob(f"*/{session_id}.jsonl")
    return str(path)


def _prompt_id(store, session_id: str, number: int) -> str:
    session = store.session_by_claude_id(session_id)
    return store.prompt(session["id"], number)["prompt_id"]


def _check_request(config_dir: Path, session_id: str, number: int, prefix: str, count: int):
    """Every tool call of request ``number`` (by the transcript) is stored and summarized."""
    with open_store() as store:
        session = store.session_by_claude_id(session_id)
        calls = summary_gate.request_tool_events(_transcript(config_dir, session_id),
                                                 _prompt_id(store, session_id, number))
        assert len(calls) == count
        assert store.processed_tool_uses(session["id"], list(calls)) == set(calls)
        observations = store.observations_for_prompt(session["id"], number)
        summary = store.summary_for_prompt(session["id"], number)
    assert len(observations) == count
    assert summary is not None and summary["notes"] == REPLY
    for n in range(1, count + 1):
        assert f"{prefix}-{n}.txt" in summary["files_edited"], (n, summary)
    return session


def test_every_tool_call_of_a_run_is_in_its_summary_and_resume_adds_the_next(lab):
    project, config_dir, claude = lab
    first = claude(PROMPT_1)
    assert sorted(p.name for p in project.glob("migrate-*.txt")) == [f"migrate-{n}.txt" for n in range(1, 6)]
    wait_until_drained()
    session = _check_request(config_dir, first.session_id, 1, "migrate", 5)
    assert (session["status"], session["runs"]) == ("completed", 1)

    resumed = claude(PROMPT_2, "--resume", first.session_id)
    assert resumed.session_id == first.session_id
    wait_until_drained()
    session = _check_request(config_dir, first.session_id, 2, "rollback", 3)
    assert (session["status"], session["runs"], session["prompt_counter"]) == ("completed", 2, 2)
    _check_request(config_dir, first.session_id, 1, "migrate", 5)  # untouched
    with open_store() as store:
        assert store.counts()["sessions"] == 1


def test_a_database_locked_for_the_whole_run_loses_nothing(lab):
    """Every Python hook waits 0.75 s for the lock, then spools its event; the capture hooks
    (``capture.sh``) put theirs in the inbox, no worker running, and the worker started for
    them cannot store them either. The last tool's hook and SessionEnd's are at work after
    ``claude -p`` exited. The lock is held until all eight events (start, prompt, four
    tools, Stop, end) wait in files, then let go."""
    project, config_dir, claude = lab
    config.ensure_data_dir()
    with open_store():
        pass  # the schema exists before the lock is taken
    holder = sqlite3.connect(config.db_path(), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        run = claude(PROMPT_LOCKED)
        wait_for(lambda: len(config.spooled_names()) + len(inbox.waiting()) == 8, 30,
                 what="every hook of the run to leave its event in a file")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_until_drained()
    session = _check_request(config_dir, run.session_id, 1, "audit", 4)
    assert (session["status"], session["end_reason"]) == ("completed", "other")
    assert config.spooled_names() == [] and inbox.waiting() == []


def test_with_the_worker_running_the_capture_hooks_go_through_the_inbox(lab):
    project, config_dir, claude = lab
    from claude_mem import control

    assert control.ensure_worker() == "started"
    wait_for(lambda: control.request({"cmd": "ping"}, timeout=1.0), what="the worker")
    wait_for(lambda: os.path.isdir(config.inbox_dir()), what="the worker's inbox")
    run = claude(PROMPT_INBOX)
    wait_until_drained()
    session = _check_request(config_dir, run.session_id, 1, "release", 6)
    assert (session["status"], session["end_reason"]) == ("completed", "other")
    status = control.request({"cmd": "status"}, timeout=5.0)
    assert status["taken_from_inbox"] == 1 + 6 + 2, status  # the prompt, six tools, Stop, SessionEnd
    assert os.listdir(config.inbox_dir()) == [".takes-prompts"]  # the worker's mark (hook_inbox)
