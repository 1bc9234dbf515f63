"""Tests for compress.prompts: the text the LLM compressor back-ends send."""
from __future__ import annotations

import json

from claude_mem.compress import prompts
from claude_mem.compress.prompts import (
    events_prompt,
    finalize_prompt,
    init_prompt,
    summary_prompt,
    system_prompt,
)
from claude_mem.text import truncate
from claude_mem.compress.xmlparse import parse_reply
from claude_mem.models import OBSERVATION_TYPES, Observation


def event(**kw):
    base = {"tool_name": "Bash", "tool_input": {"command": "pytest -q"}, "tool_response": "1 passed",
            "error": None, "cwd": "/home/me/proj", "prompt_number": 1}
    base.update(kw)
    return base


def test_system_prompt_has_formats_types_and_rules():
    p = system_prompt()
    for tag in ("<observation>", "</observation>", "<type>", "<title>", "<subtitle>", "<facts>", "<fact>",
                "<narrative>", "<concepts>", "<concept>", "<files_read>", "<files_modified>", "<file>",
                "<summary>", "<request>", "<investigated>", "<learned>", "<completed>", "<next_steps>",
                "<notes>", "<files_edited>", "<skip/>"):
        assert tag in p, tag
    for t in OBSERVATION_TYPES:
        assert f"- {t}:" in p
    assert "no tools" in p
    assert "[REDACTED]" in p and "[private]" in p and "secrets" in p
    assert "CDATA" in p and "&amp;" in p
    assert len(p) < 4000  # sent with every conversation: keep it small


def test_formats_in_system_prompt_parse_with_our_parser():
    obs, summary, _ = parse_reply(prompts.OBSERVATION_FORMAT + prompts.SUMMARY_FORMAT)
    assert len(obs) == 1 and obs[0].files_modified == ("path/relative/to/project",)
    assert summary is not None and summary.files_edited == ("path",)


def test_init_prompt():
    p = init_prompt("my-proj", "Fix the <login> bug", 3)
    assert "my-proj" in p and "#3" in p and "Fix the <login> bug" in p and "<skip/>" in p


def test_init_prompt_truncates_a_pasted_log():
    p = init_prompt("p", "x" * 100_000, 1, max_chars=2000)
    assert len(p) < 2500 and "chars truncated" in p


def test_events_prompt_renders_events():
    evs = [
        event(),
        event(tool_name="Edit", tool_input={"file_path": "src/a.py", "old_string": "a", "new_string": "b"},
              tool_response={"filePath": "src/a.py", "structuredPatch": [], "userModified": False}),
        event(tool_name="Bash", tool_input={"command": "make"}, tool_response=None,
              error="Exit code 2\nmake: *** No rule", cwd="/home/me/proj/sub", prompt_number=2),
    ]
    p = events_prompt(evs)
    assert p.startswith("Tool events (3):")
    assert 'tool="Bash"' in p and 'tool="Edit"' in p
    assert json.dumps({"command": "pytest -q"}) in p
    assert '"file_path": "src/a.py"' in p
    assert "1 passed" in p and "filePath: src/a.py" in p
    assert 'status="failed"' in p and "make: *** No rule" in p
    # cwd and prompt number are only repeated when they change
    assert p.count('cwd="/home/me/proj"') == 1 and 'cwd="/home/me/proj/sub"' in p
    assert 'prompt="1"' in p and 'prompt="2"' in p
    assert "<observation>" in p and "<skip/>" in p
    assert "chars truncated" not in p


def test_events_prompt_huge_response_stays_under_limit():
    big = "line of build output\n" * 50_000 + "FAILED tests/test_x.py::test_y"
    p = events_prompt([event(tool_response={"stdout": big, "stderr": ""})], max_chars=4000)
    overhead = len(events_prompt([event(tool_response="")]))
    assert len(p) <= 4000 + overhead
    assert "chars truncated" in p
    assert "FAILED tests/test_x.py::test_y" in p  # the tail survives
    assert "pytest -q" in p  # and so does the input


def test_events_prompt_huge_input_and_response_share_the_budget():
    p = events_prompt([event(tool_name="Write", tool_input={"file_path": "f.py", "content": "c" * 90_000},
                             tool_response="w" * 90_000, error="e" * 90_000)], max_chars=3000)
    # the same event with one-character parts: tags, labels and the closing request
    overhead = len(events_prompt([event(tool_name="Write", tool_input="i", tool_response="w", error="e")]))
    assert len(p) <= 3000 + overhead
    assert p.count("chars truncated") == 3
    assert '{"file_path": "f.py"' in p


def test_events_prompt_max_chars_is_configurable():
    short = events_prompt([event(tool_response="z" * 10_000)], max_chars=500)
    long = events_prompt([event(tool_response="z" * 10_000)], max_chars=8000)
    assert len(short) < 1000 < len(long) <= 8500


def test_events_prompt_tolerates_odd_events():
    p = events_prompt([{}, {"tool_name": 'we"ird', "tool_input": {"x": {1, 2}}, "tool_response": [1, {"a": None}]},
                       "not a dict"])
    assert "Tool events (3):" in p and "we'ird" in p
    assert events_prompt([]).startswith("Tool events (0):")


def test_truncate_keeps_head_and_tail_within_limit():
    text = "HEAD" + "m" * 10_000 + "TAIL"
    cut = truncate(text, 300)
    assert len(cut) <= 300 and cut.startswith("HEAD") and cut.endswith("TAIL")
    assert "chars truncated" in cut
    assert truncate("short", 300) == "short"


def test_summary_prompt():
    obs = [Observation(type="bugfix", title="Fix pager", files_modified=("src/pager.py",)),
           {"type": "discovery", "title": "Config read twice", "files_read": '["conf.py"]'}]
    p = summary_prompt("Make the pager work", "Done: the pager shows every page.", obs)
    assert "Make the pager work" in p and "the pager shows every page" in p
    assert "- [bugfix] Fix pager (src/pager.py)" in p
    assert "- [discovery] Config read twice (conf.py)" in p
    assert "exactly one <summary>" in p
    for field in ("request", "investigated", "learned", "completed", "next_steps", "notes",
                  "files_read", "files_edited"):
        assert field in p


def test_summary_prompt_without_observations_and_long_reply():
    p = summary_prompt("R", "y" * 50_000, [], max_chars=1000)
    assert "(none)" in p and "chars truncated" in p and len(p) < 2000


def test_finalize_prompt():
    p = finalize_prompt("prompt_input_exit")
    assert "prompt_input_exit" in p and "<summary>" in p and "<skip/>" in p
    assert "unknown" in finalize_prompt("")


def test_summary_prompt_carries_the_threads_goal_and_the_kept_reply():
    p = summary_prompt("continue", "Background task done.", [], goal="Migrate the ledger to Postgres",
                       previous_reply="Migrated ledger.rs; test result: ok. 7 passed; commit 7cd451c.")
    assert "<thread_goal>\nMigrate the ledger to Postgres\n</thread_goal>" in p
    assert "7cd451c" in p and "<earlier_final_reply>" in p
    assert "<thread_goal>" not in summary_prompt("Fix it", "Done.", [])


def test_system_prompt_asks_for_names_causes_outcomes_and_knows_the_wrappers():
    p = system_prompt()
    for phrase in ("names", "causes", "410 tests, 0 failures", "commit hashes", "answers",
                   "<task-notification>", "fixed later"):
        assert phrase in p, phrase
