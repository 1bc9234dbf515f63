"""The recorded corpus (tests/fixtures/recorded/, made by bench/record_sessions.py) is usable:
every session parses, is in Claude Code's firing order, has its CLI transcript, and every key
term is a case-insensitive substring of its own hook payloads."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
SESSIONS = sorted(p for p in list(RECORDED.glob("*.jsonl")) + list(RECORDED.glob("heldout/*.jsonl"))
                  if not p.name.endswith(".transcript.jsonl"))
HOOK_EVENTS = {"SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure",
               "PreCompact", "Stop", "SessionEnd"}


def strings(value):
    """Every string in a payload, keys included (numbers as text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif value is not None:
        yield str(value)


def test_corpus_has_tuning_and_heldout_sessions():
    heldout = [p for p in SESSIONS if p.parent.name == "heldout"]
    assert len(SESSIONS) >= 14 and len(heldout) >= 4, SESSIONS


@pytest.mark.parametrize("path", SESSIONS, ids=lambda p: p.stem)
def test_recorded_session_is_consistent(path):
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert events[0]["event"] == "SessionStart" and events[-1]["event"] == "SessionEnd"
    session_ids = {e["stdin"]["session_id"] for e in events}
    assert len(session_ids) == 1
    for e in events:
        assert e["event"] in HOOK_EVENTS and e["stdin"]["hook_event_name"] == e["event"]
        assert e["stdin"]["cwd"] == f"/tmp/cmrec/{path.stem}"

    transcript = path.with_name(path.stem + ".transcript.jsonl")
    lines = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert session_ids == {x["sessionId"] for x in lines if "sessionId" in x}

    keys = json.loads(path.with_name(path.stem + ".keys.json").read_text(encoding="utf-8"))
    assert 10 <= len(keys["terms"]) <= 12
    haystack = "\n".join(s for e in events for s in strings(e)).lower()
    missing = [t for t in keys["terms"] + keys["request"] if t.lower() not in haystack]
    assert not missing, f"key terms not in {path.name}: {missing}"
