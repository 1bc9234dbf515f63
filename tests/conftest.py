"""Shared test fixtures: every test gets its own data dir, HOME and Claude config dir.

Hooks run as real processes (``python -I -S hook_entry.py EVENT``) with JSON on stdin,
against a real SQLite file, and wake or start the real worker over the real socket.
After each test any worker it started is stopped, and the test fails if one survives.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claude_mem import config, control, install
from claude_mem.hook_events import HOOK_EVENTS

FIXTURES = Path(__file__).parent / "fixtures" / "claude-code"
# Claude Code event name -> our hook command name ("PostToolUse" -> "post-tool-use").
HOOK_NAME = {event: name for name, event in HOOK_EVENTS.items()}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    data = tmp_path / "data"
    home = tmp_path / "home"
    claude_dir = tmp_path / "claude"
    home.mkdir()
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(data))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_dir))
    monkeypatch.setenv("CLAUDE_MEM_WORKER_POLL_SECONDS", "0.5")
    monkeypatch.setenv("CLAUDE_MEM_WORKER_IDLE_SECONDS", "120")
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", "0")  # tests that want the viewer pick a free port
    for name in ("CLAUDE_PROJECT_DIR", "CLAUDE_MEM_COMPRESSOR", "CLAUDE_MEM_INTERNAL",
                 "CLAUDECODE", "CLAUDE_CODE_SESSION_ID"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    pid = control.read_pid()
    if control.worker_lock_held():
        assert control.stop_worker(), "the worker did not stop"
    if pid:
        assert not control.is_alive(pid), f"worker pid {pid} outlived its test"
    # Any claude-mem process of this test's data dir (found by its environment in /proc,
    # so other runs on the machine never count) must be gone too.
    from bench.chaos import our_processes

    deadline = time.monotonic() + 5
    while our_processes(str(data)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not our_processes(str(data)), f"claude-mem processes outlived the test: {our_processes(str(data))}"


def load_fixture(name: str = "session-invoice-fix") -> list[tuple[str, dict]]:
    events = []
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            events.append((record["event"], record["stdin"]))
    return events


@pytest.fixture
def recorded():
    """The recorded real-CLI session, only the events claude-mem hooks."""
    return [(e, p) for e, p in load_fixture() if e in HOOK_NAME]


def hook_argv(event: str) -> list[str]:
    return [sys.executable, "-I", "-S", install.ENTRY, HOOK_NAME.get(event, event)]


def run_hook(event: str, payload, *, command: str | None = None, env: dict | None = None,
             timeout: float = 30) -> subprocess.CompletedProcess:
    """Run one hook as Claude Code would: a process with the JSON on stdin."""
    data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    if isinstance(data, str):
        data = data.encode()
    full_env = {**os.environ, **(env or {})}
    if command is not None:
        return subprocess.run(command, shell=True, input=data, capture_output=True,
                              env=full_env, timeout=timeout)
    return subprocess.run(hook_argv(event), input=data, capture_output=True, env=full_env,
                          timeout=timeout)


def open_store():
    from claude_mem.store import Store

    return Store(config.db_path())


def wait_until_drained(timeout: float = 30.0) -> None:
    """Wait until the worker has processed every queued event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(config.db_path()):
            with open_store() as store:
                if store.queue_stats()["pending"] == 0 and not _spooled():
                    return
        time.sleep(0.05)
    raise AssertionError("the queue was not drained in time")


def _spooled() -> bool:
    return bool(config.spooled_names())


def context_from(output: bytes | str) -> str:
    text = output.decode() if isinstance(output, bytes) else output
    if not text.strip():
        return ""
    data = json.loads(text)
    assert data["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    return data["hookSpecificOutput"]["additionalContext"]
