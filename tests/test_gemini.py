"""Gemini CLI beside Claude Code and Codex, without the Gemini binary (the real-CLI proof is in
tests/e2e/test_codex_and_claude.py): its payloads through the worker's Gemini adapter, and
``install --agent gemini``. The payloads (tests/fixtures/gemini/hook-payloads.jsonl) are what
the real Gemini CLI 0.61 sent to a logging hook, offline against tests/fakes/fake_gemini.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from claude_mem.events import SessionEnd, SessionStart, Stop, ToolEvent, UserPrompt, parse_event
from claude_mem.hook_events import GEMINI_EVENTS, queue_event

FIXTURE = Path(__file__).parent / "fixtures" / "gemini" / "hook-payloads.jsonl"
OURS = {gemini: ours for ours, gemini in GEMINI_EVENTS.items()}


def _cli(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def test_gemini_payloads_become_the_same_events():
    events = []
    for line in FIXTURE.read_text().splitlines():
        record = json.loads(line)
        events.append(parse_event(queue_event("gemini", OURS[record["event"]]), json.dumps(record["stdin"])))
    kinds = [type(e) for e in events]
    assert kinds == [SessionStart, UserPrompt, ToolEvent, ToolEvent, Stop, SessionEnd]
    assert all(e.agent == "gemini" for e in events)
    assert events[1].prompt == "make files"
    shell, write = events[2], events[3]
    assert shell.tool_name == "Bash" and shell.failed and shell.error.startswith("Exit code 4")
    assert shell.tool_input["command"] == "echo hi > g.txt; exit 4"
    assert write.tool_name == "Write" and not write.failed
    assert write.tool_input["file_path"].endswith("w.py") and write.tool_response == {"type": "create"}
    assert events[4].last_assistant_message == "all done gemini"


def test_install_agent_gemini_keeps_the_settings_and_is_idempotent(tmp_path):
    folder = tmp_path / "gemini"
    folder.mkdir()
    mine = {"security": {"auth": {"selectedType": "gemini-api-key"}},
            "hooks": {"AfterTool": [{"matcher": "write_file", "hooks": [{"type": "command", "command": "fmt"}]}]},
            "mcpServers": {"other": {"command": "x"}}}
    (folder / "settings.json").write_text(json.dumps(mine))
    report = json.loads(_cli("install", "--agent", "gemini", "--gemini-dir", str(folder), "--json").stdout)
    assert report["hooks"] == sorted(GEMINI_EVENTS)
    data = json.loads((folder / "settings.json").read_text())
    assert data["security"] == mine["security"] and data["mcpServers"]["other"] == {"command": "x"}
    assert data["mcpServers"]["claude-mem"]["args"] == ["-m", "claude_mem.mcp_server"]
    assert set(data["hooks"]) == set(GEMINI_EVENTS.values())
    assert data["hooks"]["AfterTool"][0]["hooks"][0]["command"] == "fmt"
    assert "--agent gemini post-tool-use" in data["hooks"]["AfterTool"][1]["hooks"][0]["command"]
    assert data["hooks"]["AfterTool"][1]["hooks"][0]["timeout"] == 10_000  # milliseconds
    before = (folder / "settings.json").read_bytes()
    _cli("install", "--agent", "gemini", "--gemini-dir", str(folder))
    assert (folder / "settings.json").read_bytes() == before
    doctor = json.loads(_cli("doctor", "--json", check=False).stdout)
    assert not doctor["agents"]["gemini"]["installed"]  # ~/.gemini, not the folder named above
    named = json.loads(_cli("doctor", "--gemini-dir", str(folder), "--json", check=False).stdout)
    assert named["agents"]["gemini"]["installed"]
    assert all(h["installed"] for h in named["agents"]["gemini"]["hooks"].values())
    assert any(c["message"].startswith("Gemini CLI: all") for c in named["checks"])
    _cli("uninstall", "--agent", "gemini", "--gemini-dir", str(folder))
    assert json.loads((folder / "settings.json").read_text()) == mine
