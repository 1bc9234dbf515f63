"""Codex CLI beside Claude Code, without the Codex binary (the real-CLI proof is
tests/e2e/test_codex_and_claude.py): hook payloads through the hooks and the worker's Codex
adapter, the apply_patch rule, the rollout import, ``install --agent codex`` and doctor.

The rollout fixture (tests/fixtures/codex/rollout-tax-engine.jsonl) was written by the real
Codex CLI 0.171 against tests/fakes/fake_responses.py (two prompts, the second through
``codex exec resume``: a shell command, an apply_patch that creates src/rates.py, a command
that exits 2; an apply_patch that edits it, a grep); Codex's own instructions are left out.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_mem import hooks
from claude_mem.agents import codex as adapter
from claude_mem.compress import patches
from claude_mem.events import ToolEvent, parse_event
from claude_mem.hook_events import queue_event, rows_for, split_queue_event
from claude_mem.importers.codex import Rollout, import_rollouts, rollout_files
from helpers import open_store, wait_for, wait_until_drained

FIXTURE = Path(__file__).parent / "fixtures" / "codex" / "rollout-tax-engine.jsonl"
SESSION = "01a24a4a-87e6-71f0-924e-9f371db3057c"
ENTRY = Path(hooks.__file__).with_name("hook_entry.py")


def _cli(*args, check=True, env=None):
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


# -- the event table and the hooks ------------------------------------------------------------


def test_codex_rows_and_queue_names():
    assert [r.event for r in rows_for("codex")] == ["SessionStart", "UserPromptSubmit", "PostToolUse",
                                                    "Stop", "SessionEnd"]
    assert "PostToolUseFailure" in [r.event for r in rows_for("claude-code")]
    assert queue_event("claude-code", "Stop") == "Stop"
    assert queue_event("codex", "Stop") == "codex:Stop"
    assert split_queue_event("codex:Stop") == ("codex", "Stop")
    assert split_queue_event("Stop") == ("claude-code", "Stop")
    assert hooks.split_argv(["--agent", "codex", "stop"]) == ("codex", "stop")
    assert hooks.split_argv(["--agent=codex", "stop"]) == ("codex", "stop")
    assert hooks.split_argv(["stop"]) == ("claude-code", "stop")


def _payload(event: str, **extra) -> dict:
    return {"session_id": SESSION, "transcript_path": str(FIXTURE), "cwd": "/work/tax-engine",
            "hook_event_name": event, "model": "gpt-5.5", "permission_mode": "bypassPermissions", **extra}


def test_a_codex_hook_queues_its_payload_as_codex():
    payload = _payload("PostToolUse", turn_id="t1", tool_name="Bash", tool_input={"command": "ls"},
                       tool_response="a\n", tool_use_id="call_1")
    with_agent = subprocess.run([sys.executable, "-I", "-S", str(ENTRY), "--agent", "codex", "post-tool-use"],
                                input=json.dumps(payload).encode(), capture_output=True, timeout=30)
    assert with_agent.returncode == 0 and with_agent.stdout == b"" and with_agent.stderr == b""
    unknown = subprocess.run([sys.executable, "-I", "-S", str(ENTRY), "--agent", "cursor", "stop"],
                             input=b"{}", capture_output=True, timeout=30)
    assert unknown.returncode == 0 and unknown.stdout == b""  # a hook never breaks the agent
    wait_until_drained()
    with open_store() as store:
        session = store.session_by_claude_id(SESSION)
        assert session["agent"] == "codex"
        [obs] = store.session_detail(session["id"])["observations"]
    assert obs["title"].startswith("`ls` ") and "failure" not in obs["concepts"]


# -- the adapter ------------------------------------------------------------------------------


def test_adapter_turns_codex_payloads_into_the_same_events():
    start = parse_event("codex:SessionStart", json.dumps(_payload("SessionStart", source="startup")))
    assert start.agent == "codex" and start.session_id == SESSION
    prompt = parse_event("codex:UserPromptSubmit", json.dumps(_payload("UserPromptSubmit", turn_id="t9",
                                                                       prompt="hi")))
    assert prompt.prompt_id == "t9" and prompt.prompt == "hi"
    shell = parse_event("codex:PostToolUse", json.dumps(_payload(
        "PostToolUse", turn_id="t9", tool_name="exec_command", tool_input={"cmd": "make"},
        tool_response="Chunk ID: 1\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\nok\n",
        tool_use_id="c1")))
    assert isinstance(shell, ToolEvent) and not shell.failed
    assert shell.tool_name == "Bash" and shell.tool_input == {"command": "make"}
    assert shell.tool_response == {"stdout": "ok\n", "exit_code": 0}
    argv = parse_event("codex:PostToolUse", json.dumps(_payload(
        "PostToolUse", tool_name="shell", tool_input={"command": ["bash", "-lc", "git status"]},
        tool_response="clean", tool_use_id="c2")))
    assert argv.tool_input["command"] == "git status"


def test_a_failed_command_gets_its_exit_code_from_the_rollout():
    # The hook payload has only the output; the rollout recorded exit code 2 for that call.
    calls = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    [failing] = [c["payload"]["item"]["id"] for c in calls
                 if c.get("payload", {}).get("item", {}).get("exit_code") == 2]
    event = parse_event("codex:PostToolUse", json.dumps(_payload(
        "PostToolUse", turn_id="t", tool_name="Bash", tool_response="",
        tool_input={"command": "python3 -c 'import sys; sys.exit(2)'"}, tool_use_id=failing)))
    assert event.failed and event.error.startswith("Exit code 2")
    assert adapter.exit_code_from_rollout(str(FIXTURE), "no-such-call") is None
    assert adapter.exit_code_from_rollout("/dev/zero", failing) is None  # never a device


def test_the_rollout_is_read_once_as_it_grows(tmp_path):
    path = tmp_path / "rollout-live.jsonl"

    def record(call: str, code: int) -> str:
        return json.dumps({"type": "event_msg", "payload": {"type": "item_completed", "item": {
            "type": "CommandExecution", "id": call, "exit_code": code}}}) + "\n"

    path.write_text(record("a", 0) + record("b", 3))
    assert adapter.exit_code_from_rollout(str(path), "b") == 3
    first_pass = adapter._ROLLOUTS[str(path)][1]
    assert first_pass == path.stat().st_size
    with open(path, "a") as fh:  # Codex is still writing: a line without its end waits
        fh.write(record("c", 1)[:-10])
    assert adapter.exit_code_from_rollout(str(path), "c") is None
    assert adapter._ROLLOUTS[str(path)][1] == first_pass
    with open(path, "a") as fh:
        fh.write(record("c", 1)[-10:])
    assert adapter.exit_code_from_rollout(str(path), "c") == 1
    assert adapter.exit_code_from_rollout(str(path), "a") == 0  # from what was read before


def test_output_header_and_shell_text():
    assert adapter.output_and_exit_code("Exit code: 1\nWall time: 0 seconds\nOutput:\nboom\n") == ("boom\n", 1)
    assert adapter.output_and_exit_code("plain text\n") == ("plain text\n", None)
    assert adapter.shell_text(["bash", "-lc", "echo hi"]) == "echo hi"
    assert adapter.shell_text(["ls", "-la", "my dir"]) == "ls -la 'my dir'"


# -- apply_patch ------------------------------------------------------------------------------


PATCH = """*** Begin Patch
*** Add File: src/tax.py
+def vat(amount):
+    return amount * 0.2
*** Update File: src/rates.py
*** Move to: src/rate_table.py
@@
-RATE = 0.25
+RATE = 0.2
*** Delete File: old.txt
*** End Patch
"""


def test_patch_parsing():
    files = patches.parse("apply_patch <<'EOF'\n" + PATCH + "EOF\n")
    assert [(f.path, f.action, f.moved_to) for f in files] == [
        ("src/tax.py", "add", ""), ("src/rates.py", "update", "src/rate_table.py"), ("old.txt", "delete", "")]
    assert files[1].removed == ["RATE = 0.25"] and files[1].added == ["RATE = 0.2"]
    assert patches.parse("not a patch") == []


def test_the_heuristic_reads_apply_patch_like_an_edit():
    from claude_mem.compress import SessionContext
    from claude_mem.compress.heuristic import HeuristicCompressor

    ctx = SessionContext(session_id=1, claude_session_id="s", project="p", cwd="/work/p",
                         prompt_number=1, request="Add VAT", root="/work/p")
    event = ToolEvent(session_id="s", cwd="/work/p", tool_name="apply_patch",
                      tool_input={"command": PATCH}, tool_response="Success.", tool_use_id="c")
    [obs] = HeuristicCompressor().observe(ctx, [event]).observations
    assert obs.files_modified == ("src/tax.py", "src/rate_table.py", "old.txt")
    assert obs.title.startswith("Patched 3 files")
    assert "Symbols: vat" in obs.facts
    assert any(f.startswith("Change: `RATE = 0.25` → `RATE = 0.2`") for f in obs.facts)


# -- the rollout import -----------------------------------------------------------------------


def test_rollout_replays_as_the_hooks_would_fire():
    rollout = Rollout(str(FIXTURE))
    events = list(rollout.events())
    assert [e.name for e in events] == ["SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUse",
                                       "PostToolUse", "Stop", "UserPromptSubmit", "PostToolUse",
                                       "PostToolUse", "Stop", "SessionEnd"]
    assert rollout.session_id == SESSION and rollout.problems == []
    tools = [e.payload for e in events if e.name == "PostToolUse"]
    assert [t["tool_name"] for t in tools] == ["Bash", "apply_patch", "Bash", "apply_patch", "Bash"]
    assert [t.get("exit_code") for t in tools] == [0, 0, 2, 0, 0]
    assert [e.payload["prompt"] for e in events if e.name == "UserPromptSubmit"] == [
        "Add the rate module and check it", "Lower the rate to 0.2"]
    assert events[5].payload["last_assistant_message"] == "Added src/rates.py with apply_rate; the check exited 2."


def test_rollout_files_are_found_and_bad_lines_skipped(tmp_path):
    folder = tmp_path / "sessions" / "2026" / "12" / "06"
    folder.mkdir(parents=True)
    lines = FIXTURE.read_text().splitlines()
    (folder / "rollout-x.jsonl").write_text("\n".join(lines[:3] + ["{not json", "[1]"] + lines[3:]) + "\n")
    (folder / "notes.jsonl").write_text("{}\n")
    os.mkfifo(folder / "rollout-fifo.jsonl")  # would hang a naive reader: never listed
    assert rollout_files([tmp_path]) == [str(folder / "rollout-x.jsonl")]
    report = import_rollouts(["/dev/zero"], dry_run=True)  # named outright: refused, not read
    assert report["skipped_files"] and "regular file" in report["skipped_files"][0]["reason"]
    rollout = Rollout(str(folder / "rollout-x.jsonl"))
    assert len(list(rollout.events())) == 11 and len(rollout.problems) == 2


def test_import_codex_makes_memory_once():
    report = import_rollouts([str(FIXTURE)])
    assert report["sessions"] == {"new": 1, "partial": 0, "already": 0} and report["parked"] == 0
    with open_store() as store:
        session = store.session_by_claude_id(SESSION)
        assert session["agent"] == "codex" and session["project"] == "tax-engine"
        detail = store.session_detail(session["id"])
    titles = [o["title"] for o in detail["observations"]]
    assert "Created src/rates.py: apply_rate" in titles
    assert any("exited 2" not in t and "failed (exit code 2)" in t for t in titles), titles
    assert any(t.startswith("Edited src/rates.py") and "RATE = 0.2" in t for t in titles), titles
    assert [s["prompt_number"] for s in detail["summaries"]] == [1, 2]
    again = import_rollouts([str(FIXTURE)])
    assert again["sessions"]["already"] == 1 and again["queued_rows"] == 0
    # The context any agent starts with here says whose work it was; so do search, the MCP
    # tools and the viewer.
    out = _cli("context", "--cwd", "/work/tax-engine").stdout
    assert "[Codex]" in out and "src/rates.py" in out
    assert "[codex]" in _cli("search", "apply_rate").stdout
    from claude_mem import mcp_server
    from claude_mem.viewer import pages

    assert "[Codex]" in mcp_server.search_text("apply_rate", project="tax-engine")
    assert "agent codex" in mcp_server.session_text(SESSION[:13])
    assert "<span class='agent'>Codex</span>" in pages.session_page(detail)
    assert all(s["agent"] == "codex" for s in json.loads(_cli("sessions", "--json").stdout))


def _hook(name: str, payload: dict) -> None:
    hook = {"SessionStart": "session-start", "UserPromptSubmit": "user-prompt-submit",
            "PostToolUse": "post-tool-use", "Stop": "stop", "SessionEnd": "session-end"}[name]
    proc = subprocess.run([sys.executable, "-I", "-S", str(ENTRY), "--agent", "codex", hook],
                          input=json.dumps(payload).encode(), capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_what_no_hook_saw_is_taken_from_the_rollout_when_the_session_ends():
    """Codex fires no PostToolUse for an apply_patch run through its shell: live capture
    misses it, and the worker reads the rollout when the session ends (reconcile.py)."""
    events = list(Rollout(str(FIXTURE)).events())
    missed = events[3]  # the apply_patch that creates src/rates.py
    assert missed.name == "PostToolUse" and missed.payload["tool_name"] == "apply_patch"
    for event in events:
        if event is missed:
            continue
        payload = {**event.payload, "hook_event_name": event.name}
        payload.pop("exit_code", None)  # a live hook payload has none (the adapter reads it)
        if event.name == "SessionEnd":
            payload["reason"] = "other"  # as Codex says it (the replay says "import")
        _hook(event.name, payload)
    wait_for(lambda: _titles_if_drained() and "Created src/rates.py: apply_rate" in _titles_if_drained(),
             timeout=30, what="the missed apply_patch taken from the rollout")
    wait_until_drained()
    with open_store() as store:
        session = store.session_by_claude_id(SESSION)
        detail = store.session_detail(session["id"])
    titles = [o["title"] for o in detail["observations"]]
    assert len(titles) == len(set(titles)) == 5, titles  # nothing captured live came twice
    assert [s["prompt_number"] for s in detail["summaries"]] == [1, 2]
    assert "src/rates.py" in json.dumps(detail["summaries"][0])  # the request's summary again
    assert [p["prompt"] for p in detail["prompts"]] == ["Add the rate module and check it",
                                                        "Lower the rate to 0.2"]
    # The same rollout imported by hand now adds nothing, and a second end reconciles nothing.
    assert import_rollouts([str(FIXTURE)])["queued_rows"] == 0
    end = {**events[-1].payload, "hook_event_name": "SessionEnd", "reason": "other"}
    _hook("SessionEnd", end)
    wait_until_drained()
    with open_store() as store:
        again = store.session_detail(store.session_by_claude_id(SESSION)["id"])
    assert [o["title"] for o in again["observations"]] == titles


def _titles_if_drained() -> list[str]:
    with open_store() as store:
        session = store.session_by_claude_id(SESSION)
        if session is None:
            return []
        return [o["title"] for o in store.session_detail(session["id"])["observations"]]


# -- install --agent codex ----------------------------------------------------------------------


MINE = """# my Codex settings
model = "o3"   # the model I like

[tui]
notifications = true
"""


def test_install_keeps_the_persons_config_and_is_idempotent(tmp_path):
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text(MINE)
    (home / "hooks.json").write_text(json.dumps({"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "/usr/bin/notify-send done"}]}]}, "note": "mine"}))
    missing_codex = str(tmp_path / "no-codex")
    first = json.loads(_cli("install", "--agent", "codex", "--codex-home", str(home), "--codex-bin",
                            missing_codex, "--json").stdout)
    assert first["hooks"] == sorted(["SessionStart", "UserPromptSubmit", "PostToolUse", "Stop", "SessionEnd"])
    assert first["trusted"] == [] and "/hooks" in first["trust_note"]
    config_text = (home / "config.toml").read_text()
    assert config_text.startswith(MINE)  # every byte the person wrote, comments included
    import tomllib

    parsed = tomllib.loads(config_text)
    assert parsed["model"] == "o3" and parsed["mcp_servers"]["claude-mem"]["args"] == ["-m", "claude_mem.mcp_server"]
    hooks_json = json.loads((home / "hooks.json").read_text())
    assert hooks_json["note"] == "mine"
    assert hooks_json["hooks"]["Stop"][0]["hooks"][0]["command"] == "/usr/bin/notify-send done"
    assert "--agent codex stop" in hooks_json["hooks"]["Stop"][1]["hooks"][0]["command"]
    before = {p.name: p.read_bytes() for p in home.iterdir()}
    _cli("install", "--agent", "codex", "--codex-home", str(home), "--codex-bin", missing_codex)
    assert {p.name: p.read_bytes() for p in home.iterdir()} == before
    # Claude Code's settings were not touched by the Codex install.
    assert not (Path(os.environ["CLAUDE_CONFIG_DIR"]) / "settings.json").exists()
    _cli("uninstall", "--agent", "codex", "--codex-home", str(home))
    assert (home / "config.toml").read_text() == MINE
    assert json.loads((home / "hooks.json").read_text()) == {"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "/usr/bin/notify-send done"}]}]}, "note": "mine"}


def test_install_refuses_a_broken_config_and_respects_an_own_mcp_entry(tmp_path):
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text("model = \n")
    proc = _cli("install", "--agent", "codex", "--codex-home", str(home), "--no-trust", check=False)
    assert proc.returncode == 1 and "not valid TOML" in proc.stderr and "Traceback" not in proc.stderr
    assert (home / "config.toml").read_text() == "model = \n" and not (home / "hooks.json").exists()
    own = '[mcp_servers.claude-mem]\ncommand = "/opt/my-python"\n'
    (home / "config.toml").write_text(own)
    _cli("install", "--agent", "codex", "--codex-home", str(home), "--no-trust")
    import tomllib

    assert tomllib.loads((home / "config.toml").read_text())["mcp_servers"]["claude-mem"]["command"] == "/opt/my-python"


def test_install_without_agent_keeps_todays_behaviour(tmp_path):
    out = json.loads(_cli("install", "--json").stdout)
    assert out["settings_file"].endswith("settings.json") and "PostToolUseFailure" in out["hooks"]
    assert not (Path(os.environ["HOME"]) / ".codex").exists()


def test_doctor_json_reports_each_agents_hooks(tmp_path):
    home = tmp_path / "codex"
    _cli("install")
    _cli("install", "--agent", "codex", "--codex-home", str(home), "--no-trust")
    proc = _cli("doctor", "--codex-home", str(home), "--json", check=False)
    report = json.loads(proc.stdout)
    agents = report["agents"]
    assert all(h["installed"] for h in agents["claude-code"]["hooks"].values())
    assert all(h["installed"] and not h["trusted"] for h in agents["codex"]["hooks"].values())
    assert any("Codex: hooks not trusted" in c["message"] for c in report["checks"])
    assert proc.returncode == 1  # untrusted hooks are skipped by Codex: that needs attention


def test_export_and_import_keep_the_agent(tmp_path):
    import_rollouts([str(FIXTURE)])
    out = tmp_path / "memory.json"
    _cli("export", "-o", str(out))
    assert json.loads(out.read_text())["sessions"][0]["session"]["agent"] == "codex"
    other = tmp_path / "other-data"
    _cli("import", "json", str(out), env={"CLAUDE_MEM_DATA_DIR": str(other)})
    rows = json.loads(_cli("sessions", "--json", env={"CLAUDE_MEM_DATA_DIR": str(other)}).stdout)
    assert [r["agent"] for r in rows] == ["codex"]


def test_the_hook_command_takes_the_agent_too():
    payload = _payload("UserPromptSubmit", turn_id="t1", prompt="through the CLI")
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", "hook", "--agent", "codex",
                           "user-prompt-submit"], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == ""
    wait_until_drained()
    with open_store() as store:
        assert store.session_by_claude_id(SESSION)["agent"] == "codex"
