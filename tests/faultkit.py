"""Helpers shared by the fault-injection tests (test_faults.py, test_worker_lifecycle.py).

- ``no_strays`` (autouse where imported): after each test, stops the worker and fails if
  any claude-mem process of this test's data dir is still alive (found by its
  environment in /proc, so other people's workers on the machine never count), and
  kills the helper processes the test started through ``helpers``, by pid.
- Event builders for small hand-written sessions (waiting and process scanning are in
  ``helpers``).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from claude_mem import config, control
from helpers import our_processes, wait_for, worker_pids


class Helpers:
    """Processes a test starts for itself (a ``sleep``, a lock holder); killed by pid."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def spawn(self, argv, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGCONT)
                    proc.kill()
                except OSError:
                    pass
            proc.wait(timeout=10)


@pytest.fixture
def helpers():
    h = Helpers()
    yield h
    h.close()


@pytest.fixture(autouse=True)
def no_strays(isolated_env):
    yield
    data_dir = config.data_dir()
    for pid in worker_pids(data_dir):  # a stopped (SIGSTOP) worker cannot obey a stop request
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    if control.worker_lock_held():
        control.stop_worker(timeout=5)
    try:
        wait_for(lambda: not our_processes(data_dir), timeout=5, what="claude-mem processes to exit")
    except AssertionError:
        left = our_processes(data_dir)
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        pytest.fail(f"claude-mem processes outlived the test: {left}")


def python_argv(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# -- events ------------------------------------------------------------------------------


def base(session: str, cwd: str) -> dict:
    return {"session_id": session, "cwd": cwd, "transcript_path": f"/tmp/{session}.jsonl"}


def prompt(session: str, cwd: str, n: int = 1, text: str | None = None) -> tuple[str, dict]:
    return ("UserPromptSubmit", {**base(session, cwd), "hook_event_name": "UserPromptSubmit",
                                 "prompt_id": f"{session}-p{n}",
                                 "prompt": text or f"Fix the failing build ({session}, request {n})"})


def bash(session: str, cwd: str, i: int, n: int = 1, command: str | None = None) -> tuple[str, dict]:
    return ("PostToolUse", {**base(session, cwd), "hook_event_name": "PostToolUse",
                            "prompt_id": f"{session}-p{n}", "tool_name": "Bash",
                            "tool_use_id": f"toolu_{session}_{n}_{i}",
                            "tool_input": {"command": command or f"echo {session}-{n}-{i}"},
                            "tool_response": {"stdout": f"{session}-{n}-{i}", "stderr": "",
                                              "interrupted": False}})


def stop(session: str, cwd: str, n: int = 1) -> tuple[str, dict]:
    return ("Stop", {**base(session, cwd), "hook_event_name": "Stop", "prompt_id": f"{session}-p{n}",
                     "stop_hook_active": False, "last_assistant_message": f"Done ({session} {n})."})


def end(session: str, cwd: str) -> tuple[str, dict]:
    return ("SessionEnd", {**base(session, cwd), "hook_event_name": "SessionEnd", "reason": "other"})
