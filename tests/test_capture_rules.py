"""What an observation captures beyond a long output's head and tail, a subagent report's best
lines and a written file's first comment (issue 21, round 12): real tune payloads
(tests/fixtures/, the sessions of bench/recall_questions/tune.json) through the real
heuristic compressor, each rule checked on the payload it was written for. Each assertion
on a ``Noted:``, ``Names:`` or ``Doc:`` fact fails without its rule."""
from __future__ import annotations

import json
from pathlib import Path

from claude_mem import config, privacy
from claude_mem.compress import SessionContext
from claude_mem.compress.heuristic import REPORT_NAMES_CHARS, HeuristicCompressor
from claude_mem.events import parse_event

FIXTURES = Path(__file__).parent / "fixtures"


def _observe(rel: str, index: int, request: str = "continue"):
    """The observation the heuristic makes of one recorded event, its payload cleaned as
    the hook stores it."""
    record = json.loads((FIXTURES / rel).read_text("utf-8").splitlines()[index])
    raw = privacy.clean_payload(json.dumps(record["stdin"]), config.load())
    ctx = SessionContext(session_id=1, claude_session_id="s", project="p",
                         cwd=record["stdin"].get("cwd", ""), prompt_number=1, request=request)
    produced = HeuristicCompressor(config.load()).observe(ctx, [parse_event(record["event"], raw)])
    return produced.observations[0]


def _tagged(obs, tag: str) -> list[str]:
    return [fact[len(tag) + 2:] for fact in obs.facts if fact.startswith(tag + ": ")]


# -- Noted: problem lines from anywhere in a long output --------------------------------------


def test_a_tap_failures_assertion_message_under_its_error_key_is_kept():
    # node --test's YAML block: ``error: |-`` and the message on the next line, in the
    # middle of 61 lines; the last lines are the TAP totals and npm's notice.
    obs = _observe("recorded/node-rate-limiter.jsonl", 7)
    assert "1.2 tokens should have refilled" in _tagged(obs, "Noted")


def test_warnings_from_the_middle_of_a_long_passing_run_are_kept_boilerplate_last():
    # A background test run's 474 lines: fifteen copies of one dependency's deprecation
    # warning, then the project's own warnings near line 400; the tail is the test count.
    obs = _observe("real-world/session-spotter-dov.jsonl", 39)
    noted = _tagged(obs, "Noted")
    assert "warning: function svg_mini/1 is unused" in noted
    assert any("a struct for Plug.Conn is expected on struct update" in line for line in noted)
    assert sum("single-quoted strings" in line for line in noted) <= 1
    assert len(noted) <= 4 and all(len(line) <= 300 for line in noted)
    assert obs.title.endswith("15 tests, 0 failures")  # the outcome is still the title's


def test_a_logged_errors_message_past_the_cut_is_kept_with_its_head_unless_the_run_passed():
    from claude_mem.compress import extract

    record = json.loads((FIXTURES / "real-world/session-spotter-dov.jsonl").read_text("utf-8").splitlines()[103])
    lines = [line for line in record["stdin"]["tool_response"]["stdout"].splitlines() if line.strip()]
    error = [line for line in extract.notable(lines) if "[error]" in line]
    assert error and error[0].endswith("message: x-api-key header is required")
    assert len(error[0]) <= 300
    # Through the compressor: that run passed (410 tests, 0 failures), and what its tests
    # logged at run time is not kept; it made the run read like a failure.
    obs = _observe("real-world/session-spotter-dov.jsonl", 103)
    assert obs.title.endswith("410 tests, 0 failures") and not any("[error]" in f for f in obs.facts)


def test_a_count_of_problems_under_an_installs_first_line_is_kept():
    obs = _observe("real-world/session-episodic-research.jsonl", 81)
    assert "5 moderate severity vulnerabilities" in _tagged(obs, "Noted")


def test_a_short_output_gets_no_noted_lines():
    obs = _observe("recorded/py-bisect.jsonl", 2)  # a failed run cut to its last 15 lines
    assert len(obs.facts) == len(set(obs.facts))
    obs = _observe("real-world/session-spotter-dov.jsonl", 41)  # 7 lines, all said already
    assert _tagged(obs, "Noted") == []


# -- Names: what a subagent's report names -----------------------------------------------------


def test_a_subagents_draft_ids_are_kept_as_names_without_json_escapes():
    # The planning subagent's beads, quoted as JSON records: its epic id appears only there.
    obs = _observe("real-world/session-spotter-beads.jsonl", 11)
    names = _tagged(obs, "Names")[0].split(", ")
    assert "spotter-2qx" in names and "spotter-2qx.1" in names
    assert not any(name.startswith("n") and name[1:2].isupper() for name in names)  # no "\nSpotter"
    assert "issue_type" in names


def test_an_exploration_reports_names_are_bounded_and_new():
    obs = _observe("real-world/session-spotter-dov.jsonl", 6)
    names = _tagged(obs, "Names")[0]
    assert "transcript_text_selected" in names.split(", ")
    assert len(names) <= REPORT_NAMES_CHARS
    assert "scroll_to_transcript_line" in names.split(", ")  # past 800 characters (round 13)
    # (Round 13's ``Figures:`` come after the names: lines with a figure, named or not.)
    others = "\n".join(fact for fact in obs.facts if not fact.startswith(("Names: ", "Figures: "))) + obs.title
    assert not any(name in others for name in names.split(", "))


# -- Doc: a written file's whole module doc ----------------------------------------------------


def test_an_elixir_moduledoc_is_kept_whole():
    obs = _observe("real-world/session-spotter-dov.jsonl", 71)
    doc = _tagged(obs, "Doc")
    assert doc == ["Shared AshComputer definitions for transcript rendering state. Attached by both "
                   "`SessionLive` and `SubagentLive` to provide a single reactive pipeline from raw "
                   "messages to visible transcript lines."]
    assert "Shared AshComputer definitions for transcript rendering state" in obs.title


def test_a_jsdoc_block_below_the_imports_is_a_module_doc():
    obs = _observe("real-world/session-episodic-research.jsonl", 61)
    assert _tagged(obs, "Doc") == ["Simple TodoMVC scenario - happy path Based on Kaner's principles: "
                                   "motivating story, credible use case, easy to evaluate"]
    obs = _observe("real-world/session-episodic-research.jsonl", 82)
    assert 'Answers: "Does this look right for what the user is trying to do?"' in _tagged(obs, "Doc")[0]


def test_a_comment_below_code_or_a_one_line_doc_adds_no_doc():
    # transcript_computers.ex's first version: no moduledoc; a comment inside the code.
    assert _tagged(_observe("real-world/session-spotter-dov.jsonl", 14), "Doc") == []
    # slug.py: its docstring is one line, already the title's.
    obs = _observe("recorded/py-slugify-compact.jsonl", 6)
    assert _tagged(obs, "Doc") == [] and "URL slugs for article titles" in obs.title


# -- the stored payload: a cut keeps the problem lines of what it drops ------------------------


def test_a_cut_output_keeps_the_problem_lines_of_its_middle_within_its_limit():
    record = json.loads((FIXTURES / "real-world/session-spotter-dov.jsonl").read_text("utf-8").splitlines()[39])
    output = record["stdin"]["tool_response"]["task"]["output"]
    assert len(output) > 2 * privacy.DEFAULT_MAX_CHARS and privacy.needs_cleaning(json.dumps(record["stdin"]))
    kept = privacy.clean_text(output, privacy.DEFAULT_MAX_CHARS)
    assert len(kept) <= privacy.DEFAULT_MAX_CHARS
    assert "warning: function svg_mini/1 is unused" in kept  # line 399 of 474: the cut's middle
    assert kept.endswith(output[-200:])  # the tail (the test count) as before
    after_cut = kept.split(" chars truncated ...]\n", 1)[1]  # the middle's lines, then the tail
    assert after_cut.count("using single-quoted strings to represent charlists is deprecated") <= 1


def _long_output(middle: str) -> str:
    return "compiling module\n" * 600 + middle + "\n" + "compiling module\n" * 600 + "5 tests, 0 failures\n"


def test_a_secret_on_a_kept_middle_line_is_redacted():
    key = "".join(["sk-", "proj-", "Ab12Cd34Ef56Gh78Ij90Kl12Mn34"])
    kept = privacy.clean_text(_long_output(f"[error] login failed: OPENAI_API_KEY={key}"), 6000)
    assert "[error] login failed: OPENAI_API_KEY=[REDACTED]" in kept and key not in kept
    assert len(kept) <= 6000


def test_no_middle_line_is_kept_from_a_text_with_private_parts_or_a_key_block():
    for wrap in ("<private>{}</private>", "<PRIVATE>\n{}\n</PRIVATE>", "-----BEGIN OPENSSH PRIVATE KEY-----\n{}"):
        kept = privacy.clean_text(_long_output(wrap.format("warning: secret thing is unused")), 6000)
        assert "secret thing" not in kept
    plain = privacy.clean_text(_long_output("warning: function helper/2 is unused"), 6000)
    assert "warning: function helper/2 is unused" in plain
    quiet = privacy.clean_text(_long_output("nothing to see"), 6000).splitlines()
    assert {line for line in quiet if "truncated" not in line} <= {"compiling module", "5 tests, 0 failures", ""} | {
        line for line in quiet if "compiling module".startswith(line) or "compiling module".endswith(line)}


def test_a_cuts_kept_middle_lines_leak_no_secret_the_uncut_text_would_not():
    """A secret on a problem line in the middle of a long output (an error message quoting a
    token, a connection string) is cleaned as the same line is when nothing is cut: each
    known secret shape, on three kinds of problem line, in the dropped middle of a long run.
    (Shapes recognised only with their file's context, such as a pgpass line, lose that
    context on an error line; those are skipped where the uncut line keeps them too.)"""
    from secret_corpus import secret_shapes
    from secret_corpus_unseen import unseen_shapes

    def kept(secret, out):
        return any(len(part) >= 8 and part in out for part in secret.split("\n"))

    checked = 0
    for label, text, secret in secret_shapes(1) + unseen_shapes(1):
        if not secret:
            continue
        for wrap in ("error: {}", "[error] {}", "RuntimeError: {}"):
            line = wrap.format(text.replace("\n", " "))
            if kept(secret, privacy.clean_text("ok\n" * 20 + line + "\n" + "ok\n" * 20, 6000)):
                continue  # the uncut path keeps it too: not the cut's doing
            long_run = "ok line\n" * 900 + line + "\n" + "ok line\n" * 900
            cleaned = privacy.clean_text(long_run, 6000)
            assert not kept(secret, cleaned), (label, wrap)
            checked += 1
    assert checked > 600
