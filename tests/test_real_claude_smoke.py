"""End-to-end smoke test of the offline harness: the REAL Claude Code CLI, a fake model, and
hand-written command hooks that log their stdin.

It proves, with nothing of claude-mem involved, that:
* the bundled CLI runs offline against tests/fakes/fake_llm_server.py (one streamed
  POST /v1/messages?beta=true per model turn, tool results sent back to the fake);
* a throwaway HOME + CLAUDE_CONFIG_DIR keeps the developer's own settings out, and hooks in
  <config_dir>/settings.json fire;
* the hook events and their stdin keys are what claude-mem's hooks will rely on, in order:
  SessionStart, UserPromptSubmit, PostToolUse (echo), PostToolUseFailure (false), Stop,
  SessionEnd.

Skipped only when the CLI binary cannot be found.
"""

from __future__ import annotations

import json
import shlex
import sys
import uuid

import pytest

from tests.fakes.claude_cli import find_claude_binary, run_claude
from tests.fakes.fake_llm_server import FakeLLMServer, Rule, Script, Text, ToolUse

pytestmark = pytest.mark.e2e

HOOK_EVENTS = ["SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure", "Stop",
               "SessionEnd"]

# Keys each hook must receive (a subset: the CLI may add more over time).
COMMON = {"session_id", "transcript_path", "cwd", "hook_event_name"}
EXPECTED_KEYS = {
    "SessionStart": COMMON | {"source"},
    "UserPromptSubmit": COMMON | {"prompt", "prompt_id", "permission_mode"},
    "PostToolUse": COMMON | {"tool_name", "tool_input", "tool_response", "tool_use_id",
                             "prompt_id"},
    "PostToolUseFailure": COMMON | {"tool_name", "tool_input", "tool_use_id", "error",
                                    "is_interrupt", "prompt_id"},
    "Stop": COMMON | {"stop_hook_active", "last_assistant_message", "prompt_id"},
    "SessionEnd": COMMON | {"reason"},
}

# A logging hook: appends the JSON it gets on stdin as one line. One write() per event, to a
# file opened in append mode, so lines cannot interleave.
HOOK_CODE = ("import sys, json; d = json.load(sys.stdin); "
             "open(sys.argv[1], 'a').write(json.dumps(d) + '\\n')")


def test_real_claude_runs_tools_and_fires_hooks(tmp_path):
    if find_claude_binary() is None:
        pytest.skip("Claude Code CLI not found (claude_agent_sdk/_bundled/claude)")

    # A private subtree: shared fixtures may already use tmp_path/home and friends.
    base = tmp_path / "smoke"
    home, config_dir, project = base / "home", base / "config", base / "project"
    for d in (home, config_dir, project):
        d.mkdir(parents=True)
    log = base / "hooks.jsonl"
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(HOOK_CODE)} {shlex.quote(str(log))}"
    settings = {"hooks": {event: [{"hooks": [{"type": "command", "command": command,
                                              "timeout": 30}]}]
                          for event in HOOK_EVENTS}}
    (config_dir / "settings.json").write_text(json.dumps(settings, indent=2))

    script = Script(
        rules=[Rule("create the hello file", [
            ToolUse("Bash", {"command": "echo hello > hello.txt",
                             "description": "Write hello.txt"}),
            ToolUse("Bash", {"command": "false", "description": "A command that fails"}),
            Text("All done: hello.txt written."),
        ])],
        default=Text("unexpected request"),
    )

    with FakeLLMServer(script) as srv:
        res = run_claude("Please create the hello file.", cwd=project, home=home,
                         config_dir=config_dir, base_url=srv.url,
                         # -p mode denies Bash without a permission flag; root can't bypass.
                         extra_args=("--allowedTools", "Bash"), timeout=120)
        requests = srv.model_requests
        assert srv.errors == []

    # --- the CLI run
    assert res.returncode == 0, res.describe()
    assert res.json is not None, res.describe()
    assert res.json.get("is_error") is False, res.describe()
    assert res.result == "All done: hello.txt written."
    assert res.json.get("num_turns") == 3
    assert res.json.get("permission_denials") == []
    session_id = res.session_id
    assert str(uuid.UUID(session_id)) == session_id
    assert (project / "hello.txt").read_text() == "hello\n"

    # --- what the fake model saw: one streamed request per turn, the tool results fed back
    assert len(requests) == 3, [r.path for r in requests]
    for r in requests:
        assert (r.method, r.path, r.query) == ("POST", "/v1/messages", {"beta": ["true"]})
        assert r.body["stream"] is True
        assert r.prompt == "Please create the hello file."
        assert r.headers.get("x-claude-code-session-id") == session_id
    # role "system" messages inside messages[] are real (the environment block lives there).
    assert any(m.get("role") == "system" for m in requests[0].body["messages"])
    last_result = requests[2].body["messages"][-1]["content"][0]
    assert last_result["type"] == "tool_result" and last_result["is_error"] is True

    # --- the hooks
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["hook_event_name"] for e in events] == HOOK_EVENTS
    for e in events:
        missing = EXPECTED_KEYS[e["hook_event_name"]] - set(e)
        assert not missing, (e["hook_event_name"], missing)
        assert e["session_id"] == session_id
    by_name = {e["hook_event_name"]: e for e in events}
    assert by_name["SessionStart"]["source"] == "startup"
    assert by_name["UserPromptSubmit"]["prompt"] == "Please create the hello file."
    ok, failed = by_name["PostToolUse"], by_name["PostToolUseFailure"]
    assert ok["tool_name"] == "Bash" and ok["tool_input"]["command"] == "echo hello > hello.txt"
    assert ok["tool_use_id"] == requests[1].body["messages"][-1]["content"][0]["tool_use_id"]
    assert failed["tool_input"]["command"] == "false"
    assert failed["error"].startswith("Exit code 1")
    assert by_name["Stop"]["last_assistant_message"] == "All done: hello.txt written."
    assert by_name["SessionEnd"]["reason"] == "other"
    # One prompt => one prompt_id shared by everything after UserPromptSubmit.
    assert len({e["prompt_id"] for e in events if "prompt_id" in e}) == 1
