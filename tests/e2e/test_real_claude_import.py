"""``claude-mem import transcripts`` against the real Claude Code CLI (2.1.332, offline).

A real session (two prompts: Bash calls that succeed and fail, a Read of a missing file, an
Edit, then a resumed prompt whose last reply is empty) runs with claude-mem installed, so the
hooks capture it live into one data dir; a second recording hook keeps every payload Claude
Code fired. Then:

1. the transcript Claude Code wrote, replayed, gives exactly those payloads' events;
2. importing the transcript into the data dir that captured it live adds nothing (session id,
   prompt ids and tool_use ids recognised);
3. importing it into an empty data dir makes the same memory: the same prompts, the same
   observations (the same compressor saw the same events), the same summaries and context.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_mem import control
from helpers import open_store, wait_until_drained
from fakes.claude_cli import find_claude_binary, run_claude
from fakes.fake_llm_server import FakeLLMServer, Rule, Script, Text, ToolUse

pytestmark = pytest.mark.e2e

PROMPT_1 = "Record the retry budget in notes.txt and check the retry config."
PROMPT_2 = "Now bump the retry budget in notes.txt to 5."


def _script(project: Path) -> Script:
    return Script(rules=[
        Rule(PROMPT_1, [
            ToolUse("Bash", {"command": "printf 'retry budget = 3\\n' > notes.txt",
                             "description": "Write the budget"}),
            ToolUse("Bash", {"command": "cat settings/retry.yaml", "description": "Read config"}),
            ToolUse("Read", {"file_path": str(project / "settings" / "missing.yaml")}),
            Text("notes.txt records a retry budget of 3; settings/retry.yaml does not exist."),
        ]),
        Rule(PROMPT_2, [
            ToolUse("Read", {"file_path": str(project / "notes.txt")}),
            ToolUse("Edit", {"file_path": str(project / "notes.txt"),
                             "old_string": "retry budget = 3", "new_string": "retry budget = 5"}),
            Text(""),  # an empty last reply: Stop fires anyway
        ]),
    ], default=Text(""))


def _cli(*args: str, env: dict | None = None) -> str:
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                          text=True, timeout=180, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _memory() -> dict:
    with open_store() as store:
        [session] = store.sessions()
        detail = store.session_detail(session["id"])
    return {
        "session": (session["claude_session_id"], session["project"], session["cwd"]),
        "prompts": [(p["prompt_number"], p["prompt_id"], p["prompt"]) for p in detail["prompts"]],
        "observations": sorted((o["prompt_number"], o["tool_use_id"], o["type"], o["title"])
                               for o in detail["observations"]),
        "summaries": [(m["prompt_number"], m["request"], m["completed"], m["learned"])
                      for m in detail["summaries"]],
    }


def test_real_cli_transcript_imports_like_live_capture(tmp_path, monkeypatch):
    binary = find_claude_binary()
    if binary is None:
        pytest.skip("Claude Code CLI not found (claude_agent_sdk/_bundled/claude)")
    project = tmp_path / "billing-service"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    config_dir = tmp_path / "claude"
    _cli("install", "--claude-config-dir", str(config_dir))
    # A second hook on every event keeps the payloads Claude Code fired (the ground truth).
    fired = tmp_path / "fired.jsonl"
    recorder = tmp_path / "record.sh"
    recorder.write_text(f"#!/bin/sh\n{{ cat; echo; }} >> {fired}\n")
    recorder.chmod(0o755)
    events = ("SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure", "Stop",
              "SessionEnd")
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(json.dumps({"hooks": {
        event: [{"matcher": "*", "hooks": [{"type": "command", "command": str(recorder)}]}]
        for event in events}}))

    passthrough = {k: v for k, v in os.environ.items() if k.startswith("CLAUDE_MEM_")}
    with FakeLLMServer(_script(project)) as server:
        common = dict(cwd=project, home=tmp_path / "home", config_dir=config_dir,
                      base_url=server.url, env=passthrough)
        tools = ("--allowedTools", "Bash", "Read", "Edit")
        first = run_claude(PROMPT_1, extra_args=tools, **common)
        assert first.returncode == 0, first.describe()
        second = run_claude(PROMPT_2, extra_args=(*tools, "--resume", first.session_id), **common)
        assert second.returncode == 0, second.describe()
    wait_until_drained(60)
    [transcript] = list((config_dir / "projects").rglob(f"{first.session_id}.jsonl"))

    # 1. The transcript replays the events the hooks saw (a --resume fires SessionStart
    # "resume" and SessionEnd again: a transcript keeps one run's start and end).
    from claude_mem.importers.replay import Transcript

    def sig(name, p):
        return (name, p.get("prompt") or p.get("tool_use_id") or p.get("source") or
                p.get("last_assistant_message") or "", p.get("prompt_id", ""),
                p.get("error", ""))

    payloads = [json.loads(line) for line in fired.read_text().splitlines() if line.strip()]
    want = [sig(p["hook_event_name"], p) for p in payloads
            if not (p["hook_event_name"] == "SessionStart" and p["source"] == "resume")
            and not (p["hook_event_name"] == "SessionEnd" and p is not payloads[-1])]
    got = [sig(e.name, e.payload) for e in Transcript(str(transcript)).events()]
    assert got[:-1] == want[:-1] and got[-1][0] == want[-1][0] == "SessionEnd"
    names = [g[0] for g in got]
    assert names.count("PostToolUseFailure") == 2 and names.count("Stop") == 2

    # 2. Live first, then the import: nothing is missing, nothing is added.
    live = _memory()
    assert len(live["prompts"]) == 2 and len(live["observations"]) == 5
    report = json.loads(_cli("import", "transcripts", str(config_dir / "projects"), "--json"))
    assert report["sessions"] == {"new": 0, "partial": 0, "already": 1}
    assert report["queued_rows"] == 0
    assert _memory() == live
    live_context = _cli("context", "--cwd", str(project))

    # 3. Into an empty data dir: the same memory.
    control.stop_worker()
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / "imported"))
    report = json.loads(_cli("import", "transcripts", "--json"))  # $CLAUDE_CONFIG_DIR default
    assert report["sessions"]["new"] == 1
    imported = _memory()
    assert imported["prompts"] == live["prompts"]
    assert imported["observations"] == live["observations"]
    assert [s[:2] for s in imported["summaries"]] == [s[:2] for s in live["summaries"]]
    context = _cli("context", "--cwd", str(project))
    for term in ("notes.txt", "settings/retry.yaml", "missing.yaml", "retry budget = 5",
                 PROMPT_2):
        assert (term in context) == (term in live_context), term
