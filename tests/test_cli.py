"""The CLI against a real database filled by the real hooks and worker."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from claude_mem import cli
from helpers import run_hook, wait_until_drained

SESSION_A = "351e9b10-7539-48d0-b16d-f38661328494"


@pytest.fixture
def filled(recorded):
    for event, payload in recorded:
        if payload["session_id"] == SESSION_A:
            assert run_hook(event, payload).returncode == 0
    wait_until_drained()


def invoke(*args):
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_search_finds_commands_files_and_prompts(filled):
    hits = json.loads(invoke("search", "pytest", "--json"))
    titles = [h["title"] for h in hits if h["kind"] == "observation"]
    assert "`python -m pytest -q` failed (exit code 1): 1 failed, 4 passed in 0.61s" in titles
    assert "`python -m pytest -q` passed: 5 passed in 0.55s" in titles
    assert json.loads(invoke("search", "CHANGELOG.md", "--type", "observation", "--json"))[0]["title"] \
        == "Created CHANGELOG.md"
    prompts = json.loads(invoke("search", "discount", "--type", "prompt", "--json"))
    assert [p["prompt_number"] for p in prompts] == [1]
    assert "no matches" in invoke("search", "kubernetes")
    text = invoke("search", "invoice.py", "--project", "acme-billing")
    assert "obs #" in text and "[acme-billing]" in text
    assert json.loads(invoke("search", "invoice", "--project", "elsewhere", "--json")) == []


def test_sessions_and_show(filled):
    sessions = json.loads(invoke("sessions", "--json"))
    assert len(sessions) == 1
    assert sessions[0]["claude_session_id"] == SESSION_A and sessions[0]["status"] == "completed"
    assert "351e9b10" in invoke("sessions")
    detail = json.loads(invoke("show", SESSION_A[:8], "--json"))
    assert [p["prompt"] for p in detail["prompts"]] == [
        "The invoice total is wrong when a discount and tax both apply. Find and fix it.",
        "Add a changelog entry for this fix."]
    assert len(detail["summaries"]) == 2
    text = invoke("show", SESSION_A)
    assert "Prompt 1" in text and "Request: The invoice total is wrong" in text
    obs_id = detail["observations"][0]["id"]
    assert "Searched code for `def calculate_total`" in invoke("show", "obs", str(obs_id))
    summary_id = detail["summaries"][0]["id"]
    assert "Investigated:" in invoke("show", "summary", str(summary_id))


def test_show_unknown_things_fail_clearly(filled):
    result = CliRunner().invoke(cli.main, ["show", "nope"])
    assert result.exit_code == 1 and "no session 'nope'" in result.output
    result = CliRunner().invoke(cli.main, ["show", "obs", "99999"])
    assert result.exit_code == 1 and "no obs '99999'" in result.output


def test_context_json_is_the_hook_output(filled):
    out = invoke("context", "--cwd", "/home/dev/acme-billing", "--json")
    assert json.loads(out)["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert invoke("context", "--cwd", "/somewhere/else") == ""


def test_config_shows_and_sets_settings(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "1200")
    out = invoke("config")
    assert "context_tokens = 1200   (changed)" in out
    assert 'compressor = "heuristic"' in out
    invoke("config", "set", "exclude_projects", "secret-stuff,other")
    invoke("config", "set", "context_sources", '["startup", "resume", "clear"]')
    data = json.loads(invoke("config", "--json"))
    assert data["exclude_projects"] == ["secret-stuff", "other"]
    assert data["context_sources"] == ["startup", "resume", "clear"]
    result = CliRunner().invoke(cli.main, ["config", "set", "context_tokens", "lots"])
    assert result.exit_code == 2 and "invalid literal" in result.output
    result = CliRunner().invoke(cli.main, ["config", "set", "no_such_thing", "1"])
    assert result.exit_code == 2 and "unknown setting" in result.output
