"""Hooks never break Claude Code: junk, empty or huge stdin → exit 0, valid output or none."""
from __future__ import annotations

import json
import subprocess

import pytest

from claude_mem import config
from helpers import HOOK_NAME, hook_argv, open_store, run_hook, wait_until_drained

JUNK = [
    b"",
    b"   \n",
    b"not json at all",
    b"[1, 2, 3]",
    b"{\"session_id\": ",            # truncated
    b"\xff\xfe\x00garbage\x80",
    b"{\"session_id\": 5, \"cwd\": []}",  # wrong types
    b"{}",
    b"null",
]


@pytest.mark.parametrize("event", list(HOOK_NAME))
@pytest.mark.parametrize("stdin", JUNK, ids=lambda b: repr(b[:12]))
def test_junk_stdin_exits_0_with_valid_output(event, stdin):
    proc = run_hook(event, stdin)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert out == "" or json.loads(out)
    assert b"Traceback" not in proc.stdout


def test_unknown_hook_name_and_no_stdin_at_all():
    proc = subprocess.run(hook_argv("no-such-event"), stdin=subprocess.DEVNULL, capture_output=True)
    assert proc.returncode == 0 and proc.stdout == b""
    proc = subprocess.run(hook_argv("post-tool-use")[:-1], stdin=subprocess.DEVNULL,
                          capture_output=True)
    assert proc.returncode == 0 and proc.stdout == b""


def test_a_structurally_bad_event_is_parked_not_lost_or_fatal():
    run_hook("PostToolUse", b'{"cwd": "/x", "tool_name": "Bash"}')  # no session_id
    good = {"session_id": "s1", "cwd": "/tmp/p", "hook_event_name": "UserPromptSubmit",
            "prompt": "hello there", "prompt_id": "p1"}
    run_hook("UserPromptSubmit", good)
    wait_until_drained()
    with open_store() as store:
        stats = store.queue_stats()
        assert stats["parked"] == 1  # kept for inspection, with the reason
        parked = store.parked_rows()[0]
        assert "no session_id" in parked["last_error"]
        assert store.counts()["prompts"] == 1  # the good event behind it went through


def test_huge_stdin_is_stored_shrunk():
    payload = {"session_id": "big", "cwd": "/tmp/big", "hook_event_name": "PostToolUse",
               "tool_name": "Bash", "tool_use_id": "toolu_big", "prompt_id": "p",
               "tool_input": {"command": "cat huge.log"},
               "tool_response": {"stdout": "line of log output\n" * 300_000, "stderr": ""}}
    raw = json.dumps(payload).encode()
    assert len(raw) > 5_000_000
    proc = run_hook("PostToolUse", raw)
    assert proc.returncode == 0 and proc.stdout == b""
    wait_until_drained()
    with open_store() as store:
        hits = store.search("huge.log")
        assert len(hits) == 1 and hits[0]["title"] == "`cat huge.log` succeeded"


def test_session_start_with_no_memory_prints_nothing(recorded):
    proc = run_hook("SessionStart", recorded[0][1])
    assert proc.returncode == 0 and proc.stdout == b""


def test_the_memory_makers_own_session_is_ignored(recorded):
    # An LLM back-end's own Claude Code process carries CLAUDE_MEM_INTERNAL=1.
    for event, payload in recorded[:5]:
        assert run_hook(event, payload, env={"CLAUDE_MEM_INTERNAL": "1"}).returncode == 0
    import os

    assert not os.path.exists(config.db_path())


def test_opted_out_project_records_nothing(tmp_path, recorded):
    project = tmp_path / "secret-project"
    project.mkdir()
    (project / ".claude-mem-ignore").write_text("")
    event, payload = next((e, p) for e, p in recorded if e == "UserPromptSubmit")
    payload = {**payload, "cwd": str(project)}
    proc = run_hook(event, payload, env={"CLAUDE_PROJECT_DIR": str(project)})
    assert proc.returncode == 0
    import os

    assert not os.path.exists(config.db_path())


def test_private_text_and_secrets_never_reach_the_database(recorded):
    prompt = next(p for e, p in recorded if e == "UserPromptSubmit")
    prompt = {**prompt, "prompt": "Deploy with <private>my home address is 12 Elm St</private> "
                                  "and export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz123456"}
    run_hook("UserPromptSubmit", prompt)
    wait_until_drained()
    raw = open(config.db_path(), "rb").read()
    for path in (config.db_path() + "-wal",):
        try:
            raw += open(path, "rb").read()
        except OSError:
            pass
    assert b"12 Elm St" not in raw
    assert b"sk-proj-abcdefghijklmnopqrstuvwxyz123456" not in raw
    with open_store() as store:
        text = store.db.execute("SELECT prompt FROM user_prompts").fetchone()[0]
    assert "[private]" in text and "[REDACTED]" in text
