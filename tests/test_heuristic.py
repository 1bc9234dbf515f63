"""The offline compressor: observations and summaries a person would write."""
from __future__ import annotations

import json

from claude_mem.compress import SessionContext
from claude_mem.compress.heuristic import HeuristicCompressor
from claude_mem.config import load
from claude_mem.events import parse_event
from conftest import load_fixture

CWD = "/home/dev/acme-billing"
REQUEST = "The invoice total is wrong when a discount and tax both apply. Find and fix it."


def _events(prompt_id_prefix="a5c5"):
    return [parse_event(e, json.dumps(p)) for e, p in load_fixture()
            if e in ("PostToolUse", "PostToolUseFailure") and p["prompt_id"].startswith(prompt_id_prefix)]


def _ctx(request=REQUEST, earlier=()):
    return SessionContext(session_id=1, claude_session_id="s", project="acme-billing", cwd=CWD,
                          prompt_number=1, request=request, earlier=earlier)


def test_each_tool_event_becomes_a_readable_observation():
    produced = HeuristicCompressor(load()).observe(_ctx(), _events())
    got = [(o.type, o.title) for o in produced.observations]
    assert got == [
        ("discovery", "Searched code for `def calculate_total`"),
        ("discovery", "Listed files matching `**/*.py`"),
        ("discovery", "Read acme_billing/invoice.py"),
        ("discovery", "`python -m pytest -q` failed (exit code 1): 1 failed, 4 passed in 0.61s"),
        ("bugfix", "Edited acme_billing/invoice.py: `tax = subtotal * invoice.tax_rate` → "
                   "`tax = (subtotal - discount) * invoice.tax_rate`"),
        ("discovery", "`python -m pytest -q` passed: 5 passed in 0.55s"),
    ]
    grep, glob, read, failed, edit, passed = produced.observations
    assert grep.files_read == ("acme_billing/invoice.py",)
    assert "acme_billing/invoice.py" in glob.facts
    assert read.subtitle == "Invoice model and total calculation."
    assert any("calculate_total" in f for f in read.facts)
    assert "Command: python -m pytest -q" in failed.facts and "Exit code 1" in failed.facts
    assert any("AssertionError: assert Decimal('165.00') == Decimal('162.00')" in f for f in failed.facts)
    assert failed.files_read == ("tests/test_invoice.py",)
    assert edit.files_modified == ("acme_billing/invoice.py",)
    assert "- tax = subtotal * invoice.tax_rate" in edit.facts
    assert "+ tax = (subtotal - discount) * invoice.tax_rate" in edit.facts
    assert all(o.tool_use_id.startswith("toolu_") for o in produced.observations)


def test_write_todo_and_skipped_tools():
    produced = HeuristicCompressor(load()).observe(_ctx("Add a changelog entry for this fix."),
                                                   _events("5f9e"))
    titles = [o.title for o in produced.observations]
    assert titles == ["Created CHANGELOG.md", "Todo list: 1 completed, 1 pending"]  # ToolSearch skipped
    write, todo = produced.observations
    assert write.type == "change" and write.files_modified == ("CHANGELOG.md",)
    assert "[pending] Bump version to 0.3.1 in pyproject.toml and acme_billing/__init__.py" in todo.facts


def test_summary_of_the_bug_hunt():
    compressor = HeuristicCompressor(load())
    observations = [dict(o.__dict__, concepts=list(o.concepts), facts=list(o.facts),
                         files_read=list(o.files_read), files_modified=list(o.files_modified))
                    for o in compressor.observe(_ctx(), _events()).observations]
    last = next(p for e, p in load_fixture() if e == "Stop")["last_assistant_message"]
    summary = compressor.summarize(_ctx(), last, observations).summary
    assert summary.request == REQUEST
    assert "Read acme_billing/invoice.py" in summary.investigated
    assert "`python -m pytest -q` failed (exit code 1)" in summary.learned
    assert "Cause: `calculate_total()` computed tax on the full subtotal" in summary.learned
    assert "— FAILED tests/test_invoice.py::test_total_with_discount_and_tax" in summary.learned
    assert "→ fixed: `python -m pytest -q`" in summary.learned
    assert "Edited acme_billing/invoice.py" in summary.completed
    assert "5 passed" in summary.completed
    assert summary.next_steps == ""  # the failure was fixed by a later passing run
    assert summary.files_edited == ("acme_billing/invoice.py",)
    assert "acme_billing/invoice.py" in summary.files_read


def test_an_unresolved_failure_becomes_a_next_step():
    failed = parse_event("PostToolUseFailure", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "Bash", "tool_use_id": "t1",
        "tool_input": {"command": "npm run build"},
        "error": "Exit code 2\nsrc/app.ts:3:1 - error TS2304: Cannot find name 'foo'."}))
    compressor = HeuristicCompressor(load())
    obs = compressor.observe(_ctx("Build the app"), [failed]).observations[0]
    assert obs.title == "`npm run build` failed (exit code 2): src/app.ts:3:1 - error TS2304: Cannot find name 'foo'."
    assert obs.files_read == ("src/app.ts",)
    as_dict = dict(obs.__dict__, concepts=list(obs.concepts), facts=list(obs.facts),
                   files_read=list(obs.files_read), files_modified=list(obs.files_modified))
    summary = compressor.summarize(_ctx("Build the app"), "", [as_dict]).summary
    assert "Still failing: `npm run build` failed" in summary.next_steps


def test_shell_commands_that_write_files_record_them():
    event = parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "Bash", "tool_use_id": "t2",
        "tool_input": {"command": "echo hello > notes/hello.txt && touch done.flag"},
        "tool_response": {"stdout": "", "stderr": "", "interrupted": False}}))
    obs = HeuristicCompressor(load()).observe(_ctx("make notes"), [event]).observations[0]
    assert obs.type == "change"
    assert obs.files_modified == ("notes/hello.txt", "done.flag")


def test_unknown_and_mcp_tools_still_leave_a_trace():
    event = parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "mcp__github__create_issue", "tool_use_id": "t3",
        "tool_input": {"title": "Tax bug"}, "tool_response": [{"type": "text", "text": "created #12"}]}))
    obs = HeuristicCompressor(load()).observe(_ctx(), [event]).observations[0]
    assert obs.title == "Used mcp__github__create_issue"
    assert any("Tax bug" in f for f in obs.facts)


def test_a_follow_up_said_twice_is_one_next_step():
    events = _events("5f9e")
    compressor = HeuristicCompressor(load())
    observations = [dict(o.__dict__, concepts=list(o.concepts), facts=list(o.facts),
                         files_read=list(o.files_read), files_modified=list(o.files_modified))
                    for o in compressor.observe(_ctx("Add a changelog entry for this fix."), events).observations]
    last = [p for e, p in load_fixture() if e == "Stop"][1]["last_assistant_message"]
    summary = compressor.summarize(_ctx("Add a changelog entry for this fix."), last, observations).summary
    assert summary.next_steps == "- Bump version to 0.3.1 in pyproject.toml and acme_billing/__init__.py"
