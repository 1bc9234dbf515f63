"""Import vs live capture on the sessions recorded with the real Claude Code CLI 2.1.332
(``tests/fixtures/recorded/``: each session's hook payloads, its transcript, its key terms).

For every session: the transcript, replayed, gives the events its hooks got (prompts with
their ids, tool calls, failures, Stops; calls that ran in parallel may finish in either
order, so within one stretch between prompts and Stops the calls are compared as a set);
and the memory made by importing all transcripts into one data dir recalls, in the next
session's context, every key term that the memory made live through the real hooks recalls.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from claude_mem import control
from claude_mem.importers.replay import Transcript
from helpers import HOOK_NAME, run_hook, wait_until_drained

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
TRANSCRIPTS = sorted(RECORDED.rglob("*.transcript.jsonl")) if RECORDED.is_dir() else []
pytestmark = pytest.mark.skipif(not TRANSCRIPTS, reason="no recorded sessions in tests/fixtures/recorded")


def _payloads(transcript: Path) -> list[tuple[str, dict]]:
    path = transcript.with_name(transcript.name.replace(".transcript.jsonl", ".jsonl"))
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(r["event"], r["stdin"]) for r in records if r["event"] in HOOK_NAME]


def _stretches(events) -> list:
    """Non-tool events in order; the tool calls between two of them as one sorted group."""
    out, tools = [], []
    for name, payload in events:
        if name in ("PostToolUse", "PostToolUseFailure"):
            tools.append((name, payload["tool_name"], payload["tool_use_id"],
                          payload.get("error", "")))
            continue
        if tools:
            out.append(sorted(tools))
            tools = []
        key = payload.get("prompt") if name == "UserPromptSubmit" else payload.get("source", "")
        out.append((name, key, payload.get("prompt_id", "") if name != "SessionStart" else ""))
    return out + ([sorted(tools)] if tools else [])


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda p: p.name.split(".")[0])
def test_recorded_transcript_replays_its_hook_payloads(transcript):
    fired = _payloads(transcript)
    # A transcript holds the whole session; each `claude -p --resume` run also fired its
    # own SessionStart "resume" and SessionEnd, which the import folds into one start and end.
    ends = [i for i, (name, _) in enumerate(fired) if name == "SessionEnd"]
    want = [(name, p) for i, (name, p) in enumerate(fired)
            if not (name == "SessionStart" and p.get("source") == "resume")
            and not (name == "SessionEnd" and i != ends[-1])]
    replayed = Transcript(str(transcript))
    got = [(e.name, e.payload) for e in replayed.events()]
    assert replayed.problems == []
    assert _stretches(got)[:-1] == _stretches(want)[:-1]
    assert got[-1][0] == want[-1][0] == "SessionEnd"
    # Each tool call carries what the hook got: the same input and the same response.
    fired_tools = {p["tool_use_id"]: p for name, p in fired if "tool_use_id" in p}
    for name, payload in got:
        if "tool_use_id" in payload:
            live = fired_tools[payload["tool_use_id"]]
            assert payload["tool_input"] == live["tool_input"]
            assert payload.get("tool_response") == live.get("tool_response")


def _cli(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_imported_memory_recalls_what_live_capture_recalls(tmp_path, monkeypatch):
    sessions = {}
    for transcript in TRANSCRIPTS:
        fired = _payloads(transcript)
        keys = json.loads(transcript.with_name(
            transcript.name.replace(".transcript.jsonl", ".keys.json")).read_text())
        sessions[transcript] = (fired, fired[0][1]["cwd"], keys["terms"])

    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / "live"))
    for fired, _, _ in sessions.values():
        for event, payload in fired:
            assert run_hook(event, payload).returncode == 0
    wait_until_drained(120)
    live = {t: _cli("context", "--cwd", cwd) for t, (_, cwd, _) in sessions.items()}
    control.stop_worker()

    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / "imported"))
    report = json.loads(_cli("import", "transcripts", str(RECORDED), "--json"))
    assert report["sessions"]["new"] == len(TRANSCRIPTS) and not report["problems"]
    for transcript, (_, cwd, terms) in sessions.items():
        imported = _cli("context", "--cwd", cwd)
        live_hits = {t for t in terms if t.lower() in live[transcript].lower()}
        imported_hits = {t for t in terms if t.lower() in imported.lower()}
        print(f"{transcript.name}: live {len(live_hits)}/{len(terms)}, "
              f"imported {len(imported_hits)}/{len(terms)}")
        assert imported_hits >= live_hits, (transcript.name, live_hits - imported_hits)
