"""What an observation captures of a session the rules were not written for (issue 21, round
13): the lint a rustc warning names on its ``= note:`` line, the figures a subagent's report
gives, every definition of a long file read. Found with ``bench/recall_lab.py terms``
(names the session used again, key terms) and the capture questions still missing after
round 12. Real tune payloads (tests/fixtures/) through the real heuristic compressor, cleaned
as the hook stores them; each assertion on a new fact fails without its rule."""
from __future__ import annotations

import json
from pathlib import Path

from claude_mem import config, privacy
from claude_mem.compress import SessionContext
from claude_mem.compress.heuristic import DEFINES_CHARS, HeuristicCompressor
from claude_mem.events import parse_event

FIXTURES = Path(__file__).parent / "fixtures"


def _observe_payload(event: str, payload: dict):
    raw = privacy.clean_payload(json.dumps(payload), config.load())
    ctx = SessionContext(session_id=1, claude_session_id="s", project="p",
                         cwd=payload.get("cwd", ""), prompt_number=1, request="continue")
    return HeuristicCompressor(config.load()).observe(ctx, [parse_event(event, raw)]).observations[0]


def _record(rel: str, index: int) -> dict:
    return json.loads((FIXTURES / rel).read_text("utf-8").splitlines()[index])


def _observe(rel: str, index: int):
    record = _record(rel, index)
    return _observe_payload(record["event"], record["stdin"])


def _tagged(obs, tag: str) -> list[str]:
    return [fact[len(tag) + 2:] for fact in obs.facts if fact.startswith(tag + ": ")]


# -- a rustc warning's lint, named on its = note: line ---------------------------------------


def test_a_rustc_warning_keeps_the_lint_its_note_names_in_a_failed_and_a_passing_run():
    failed = _observe("recorded/rust-ledger.jsonl", 5)  # cargo test, exit 101
    passed = _observe("recorded/rust-ledger.jsonl", 7)  # the same warning, the run passing
    for obs in (failed, passed):
        assert "warning: function `fmt_cents` is never used [dead_code]" in _tagged(obs, "Noted")
    assert passed.title.startswith("`cargo test` passed")


def test_a_lint_name_goes_to_its_own_warning_not_to_one_without_a_note():
    from claude_mem.compress import extract

    out = ("warning: unused variable: `x`\n --> src/main.rs:2:9\n  |\n"
           "  = note: `#[warn(unused_variables)]` on by default\n\n"
           "warning: unused variable: `y`\n --> src/main.rs:3:9\n\n"
           "warning: this loop could be written as a `for` loop\n --> src/main.rs:9:5\n"
           "  = note: `#[warn(clippy::while_let_loop)]` on by default\n")
    lines = [line for line in out.splitlines() if line.strip()]
    named = extract.lint_named(lines, out)
    assert "warning: unused variable: `x` [unused_variables]" in named
    assert "warning: unused variable: `y`" in named  # its note was printed once, for `x`
    assert "warning: this loop could be written as a `for` loop [clippy::while_let_loop]" in named
    plain = ["warning: something", "= note: see issue #1"]
    assert extract.lint_named(plain, "\n".join(plain)) is plain


# -- a subagent report's figures ------------------------------------------------------------


def test_a_reports_figures_are_kept_with_their_file_names():
    obs = _observe("real-world/session-spotter-dov.jsonl", 6)  # the exploration report
    figures = _tagged(obs, "Figures")[0]
    assert "`transcript_renderer.ex` (477 lines)" in figures
    assert "/home/dev" not in figures and len(figures) <= 400


def test_a_quoted_json_records_figures_are_read_past_its_escaped_line_breaks():
    obs = _observe("real-world/session-spotter-beads.jsonl", 11)  # the planning report
    figures = _tagged(obs, "Figures")[0]
    assert "First dialyzer run may take 2-3 minutes building PLT" in figures
    assert "\\n" not in figures


def test_a_secret_on_a_reports_figure_line_is_redacted():
    key = "".join(["sk-", "proj-", "Ab12Cd34Ef56Gh78Ij90Kl12Mn34"])
    report = ("I checked the service.\n\n- The health check takes 30 seconds with "
              f"OPENAI_API_KEY={key} set\n- `api.py` (120 lines) holds the client")
    obs = _observe_payload("PostToolUse", {
        "session_id": "s", "cwd": "/tmp/p", "hook_event_name": "PostToolUse", "tool_name": "Task",
        "tool_input": {"description": "look at the service", "prompt": "look"},
        "tool_response": {"content": [{"type": "text", "text": report}]}, "tool_use_id": "t1"})
    kept = "\n".join([obs.title, *obs.facts])
    assert "30 seconds" in kept and key not in kept and "[REDACTED]" in kept


# -- a long file read: every definition, bounded --------------------------------------------


def test_a_long_files_definitions_from_its_middle_are_listed_within_the_limit():
    obs = _observe("real-world/session-spotter-dov.jsonl", 7)  # session_live.ex, 776 lines
    defines = _tagged(obs, "Defines")[0]
    assert "load_rework_events" in defines.split(", ")  # its 20th definition
    assert len(defines) <= DEFINES_CHARS


def test_a_long_written_files_definitions_are_listed_as_a_read_ones_are():
    # session_live.ex's text (776 lines, read whole in spotter-dov) written as a new file.
    read = _record("real-world/session-spotter-dov.jsonl", 7)["stdin"]
    content = read["tool_response"]["file"]["content"]
    obs = _observe_payload("PostToolUse", {
        "session_id": "s", "cwd": read["cwd"], "hook_event_name": "PostToolUse", "tool_name": "Write",
        "tool_input": {"file_path": read["tool_input"]["file_path"], "content": content},
        "tool_response": {"type": "create", "filePath": read["tool_input"]["file_path"]},
        "tool_use_id": "t2"})
    symbols = _tagged(obs, "Symbols")[0]
    assert "load_rework_events" in symbols.split(", ")  # its 20th definition
    assert len(symbols) <= DEFINES_CHARS
