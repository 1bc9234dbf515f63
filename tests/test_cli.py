"""The CLI against a real database filled by the real hooks and worker."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from claude_mem import cli
from helpers import open_store, run_hook, wait_until_drained

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
    assert "obs #" in text


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


def fails(*args, code=1):
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_show_unknown_things_fail_clearly(filled):
    assert "no session 'nope'; find one with `claude-mem search" in fails("show", "nope")
    assert "no observation #99999" in fails("show", "obs", "99999")
    assert "`show obs` needs an id, e.g. `claude-mem show obs 12`" in fails("show", "obs", code=2)
    assert "observation ids are numbers such as 12, not 'abc'" in fails("show", "obs", "abc", code=2)
    assert "use: claude-mem show SESSION" in fails("show", "a", "b", "c", code=2)


def test_an_unknown_project_is_named_as_such(filled):
    for command in (["sessions", "--project", "nope"], ["search", "invoice", "--project", "nope"],
                    ["sessions", "--project", "nope", "--json"], ["export", "--project", "nope"]):
        assert "no project 'nope'; known projects: acme-billing" in fails(*command)
    assert "did you mean acme-billing?" in fails("search", "x", "--project", "acme")


def test_nothing_recorded_yet_is_said_not_hidden():
    assert "nothing recorded yet (no database at" in fails("sessions")
    assert "nothing recorded yet" in fails("search", "anything")


def test_context_json_is_the_hook_output_and_silence_is_explained(filled, tmp_path):
    out = invoke("context", "--cwd", "/home/dev/acme-billing", "--json")
    assert json.loads(out)["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "no such folder: /somewhere/else (and no memory recorded for a project named 'else')" \
        in fails("context", "--cwd", "/somewhere/else")
    empty = tmp_path / "fresh-project"
    empty.mkdir()
    result = CliRunner().invoke(cli.main, ["context", "--cwd", str(empty)])
    assert result.exit_code == 0 and result.stdout == ""
    assert "no memory recorded yet for project 'fresh-project'" in result.stderr
    assert "projects with memory: acme-billing" in result.stderr


def test_search_output_is_aligned_with_a_snippet_of_why(filled):
    lines = invoke("search", "discount").splitlines()
    heads = [line for line in lines if not line.lstrip().startswith("↳")]
    assert len(heads) >= 2
    # The time column starts at the same place on every line.
    starts = {re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", line).start() for line in heads}
    assert len(starts) == 1, heads
    assert any(line.lstrip().startswith("↳") and "discount" in line.lower() for line in lines)


def test_export_to_a_file_says_what_it_wrote_and_keeps_it_private(filled, tmp_path):
    target = tmp_path / "memory.json"
    out = invoke("export", "-o", str(target))
    assert f"to {target}" in out and "1 session(s)" in out and "observations" in out
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert json.loads(target.read_text())["sessions"][0]["session"]["claude_session_id"] == SESSION_A


def test_config_shows_and_sets_settings(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "1700")
    out = invoke("config")
    assert "(env CLAUDE_MEM_CONTEXT_TOKENS)" in [line for line in out.splitlines()
                                                 if line.startswith("context_tokens")][0]
    line = [line for line in out.splitlines() if line.startswith("compressor ")][0]
    assert '= "heuristic"' in line and line.endswith("(default)")
    invoke("config", "set", "exclude_projects", "secret-stuff,other")
    invoke("config", "set", "context_sources", '["startup", "resume", "clear"]')
    data = json.loads(invoke("config", "--json"))
    assert data["exclude_projects"] == ["secret-stuff", "other"]
    assert data["context_sources"] == ["startup", "resume", "clear"]
    assert data["context_tokens"] == 1700


def test_worker_restart_starts_a_fresh_worker_and_reports_json():
    first = json.loads(invoke("worker", "start", "--json"))
    assert first["pid"] and first["state"] in ("started", "starting", "woken")
    again = json.loads(invoke("worker", "restart", "--json"))
    assert again["previous_pid"] == first["pid"] and again["pid"] != first["pid"]
    assert json.loads(invoke("worker", "stop", "--json")) == {"was_running": True, "stopped": True}
    assert json.loads(invoke("worker", "stop", "--json"))["was_running"] is False
    assert "(none was running)" in invoke("worker", "restart")
    invoke("worker", "stop")


def test_cleanup_sessions_refuses_a_negative_age_and_summarizes_the_open_request(recorded):
    assert "Invalid value for '--max-age'" in fails("cleanup-sessions", "--max-age", "-1", code=2)
    assert "Invalid value for '--max-age'" in fails("cleanup-sessions", "--max-age", "0", code=2)
    # A session abandoned mid-request: its prompt and tool calls, never a Stop or SessionEnd.
    for event, payload in recorded:
        if payload["session_id"] != SESSION_A:
            continue
        if event in ("Stop", "SessionEnd"):
            break
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    # Its last activity ten minutes ago (time passed in, not slept): older than the 0.1 h
    # asked for below, younger than the 30 minutes after which the worker closes it itself.
    with open_store() as store, store.write():
        store.db.execute("UPDATE sessions SET last_activity_at = last_activity_at - 600")
    dry = json.loads(invoke("cleanup-sessions", "--max-age", "0.1", "--dry-run", "--json"))
    assert [s["claude_session_id"] for s in dry["sessions"]] == [SESSION_A]
    assert dry["sessions"][0]["open_requests"] == 1 and dry["sessions"][0]["status"] == "active"
    done = json.loads(invoke("cleanup-sessions", "--max-age", "0.1", "--json"))
    session = done["sessions"][0]
    assert session["status"] == "failed" and session["end_reason"] == "expired"
    assert session["summarized"] == 1 and done["summarized_requests"] == 1 and done["note"] is None
    detail = json.loads(invoke("show", SESSION_A[:8], "--json"))
    assert detail["summaries"] and "invoice" in detail["summaries"][0]["request"].lower()
    assert "expired 0 session(s)" in invoke("cleanup-sessions", "--max-age", "0.1")


def test_status_and_doctor_say_where_the_viewer_is_or_why_not(monkeypatch):
    report = json.loads(invoke("status", "--json"))
    assert report["viewer"]["running"] is False and "turned off (viewer_port is 0" in report["viewer"]["text"]
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", "45999")
    assert "viewer:  not running (`claude-mem viewer` starts it on 127.0.0.1:45999)" in invoke("status")
    doctor = json.loads(CliRunner().invoke(cli.main, ["doctor", "--json"]).output)
    assert any(c["status"] == "info" and c["message"].startswith("viewer not running")
               for c in doctor["checks"])


def test_config_unset_and_retry_parked_answer_in_json():
    invoke("config", "set", "context_tokens", "2000")
    unset = json.loads(invoke("config", "unset", "context_tokens", "--json"))
    assert unset["removed"] is True and unset["value"] == 1500
    again = json.loads(invoke("config", "unset", "context_tokens", "--json"))
    assert again["removed"] is False
    assert json.loads(invoke("worker", "retry-parked", "--json")) == {"queued_again": []}
