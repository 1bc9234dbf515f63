"""The real Claude Code CLI killed mid-session: no Stop, no SessionEnd, memory still made.

The fake model asks for one Bash command, then never answers the next request. Once the
tool event is in the database, the whole CLI process group is killed with SIGKILL (what
a crash or a closed terminal does). No Stop or SessionEnd hook can fire after that; the
worker's silence watchdog (set short here) must still summarize the request and close
the session, and no claude-mem process other than the worker may remain.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from claude_mem import config, control
from helpers import open_store, wait_for
from fakes.claude_cli import claude_env, find_claude_binary
from fakes.fake_llm_server import Fault, FakeLLMServer, Rule, Script, Text, ToolUse

pytestmark = pytest.mark.e2e

PROMPT = "Start the long migration of the ledger tables and report progress."
COMMAND = "echo 'migration step 1 of 3 done' > migration.log"


def _tool_event_stored() -> bool:
    if not os.path.exists(config.db_path()):
        return False
    with open_store() as store:
        return bool(store.search("migration.log", kinds=("observation",)))


def test_killed_cli_session_is_summarized_and_closed_by_the_watchdog(tmp_path, monkeypatch):
    binary = find_claude_binary()
    if binary is None:
        pytest.skip("Claude Code CLI not found (claude_agent_sdk/_bundled/claude)")
    project = tmp_path / "ledger"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    config_dir = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_MEM_SESSION_SILENCE_SECONDS", "3")
    from click.testing import CliRunner

    from claude_mem import cli

    assert CliRunner().invoke(cli.main, ["install", "--claude-config-dir", str(config_dir)]).exit_code == 0

    script = Script(rules=[Rule(match="ledger tables", turns=[
        ToolUse("Bash", {"command": COMMAND, "description": "Run step 1"}),
        Fault.hang(),  # the model never answers: the person gives up and kills Claude Code
    ])])
    with FakeLLMServer(script) as server:
        env = claude_env(home=tmp_path / "home", config_dir=config_dir, base_url=server.url,
                         env={name: os.environ[name] for name in os.environ
                              if name.startswith("CLAUDE_MEM_")})
        proc = subprocess.Popen(
            [binary, "-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            wait_for(_tool_event_stored, 60, what="the Bash tool event to be stored")
            assert proc.poll() is None  # still waiting for the model
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        assert (project / "migration.log").exists()

        def closed():
            with open_store() as store:
                rows = store.db.execute("SELECT * FROM sessions").fetchall()
                return rows[0] if rows and rows[0]["status"] != "active" else None

        session = wait_for(closed, 30, what="the silence watchdog to close the session")
        assert session["end_reason"] == "silence" and session["status"] == "completed"
        with open_store() as store:
            detail = store.session_detail(session["id"])
        assert [p["prompt"] for p in detail["prompts"]] == [PROMPT]
        [summary] = detail["summaries"]
        assert summary["request"] == PROMPT
        assert "migration.log" in summary["files_edited"]
        assert any(COMMAND in o["title"] or "migration.log" in json.dumps(o)
                   for o in detail["observations"])
        # Only the worker is left of claude-mem; `worker stop` ends it (conftest checks /proc).
        pid = control.read_pid()
        assert pid and control.is_worker_process(pid)
