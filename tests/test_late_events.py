"""A tool event whose hook comes late still takes its place in time (issue 23, round 7).

A capture hook in the background commits when it gets the CPU: under load, a request's
failing test run could be stored after the edit and the passing run that came after it,
and the request's summary then lost "`python -m pytest -q` failed (exit code 1)" (seen once
in a fresh-clone run of test_cycle). Here the late arrival is forced, not hoped for: the
failing run's hook is a real background Python hook (what ``capture.sh`` hands an event to
when it cannot use the inbox) whose stdin the test holds open until the events after it
are stored, exactly as a hook descheduled for that long would behave. Real hooks as
processes (the installed ``capture.sh`` commands), the real worker, a real SQLite file.
"""
from __future__ import annotations

import json
import subprocess
import time

from click.testing import CliRunner

from claude_mem import cli, inbox, install
from claude_mem.handlers import in_time_order
from helpers import open_store, run_hook, wait_for, wait_until_drained

SESSION_A = "351e9b10-7539-48d0-b16d-f38661328494"  # the recorded session (tests/fixtures)


def installed_commands(tmp_path) -> dict[str, str]:
    """The hook commands ``claude-mem install`` writes, per Claude Code event."""
    config_dir = str(tmp_path / "claude")
    result = CliRunner().invoke(cli.main, ["install", "--claude-config-dir", config_dir])
    assert result.exit_code == 0, result.output
    return install.installed_commands(config_dir)


def _first_request(recorded) -> list[tuple[str, dict]]:
    """Session A's first request: start, prompt, five tool calls, Stop."""
    events = []
    assert recorded[0][1]["session_id"] == SESSION_A
    for event, payload in recorded:
        events.append((event, payload))
        if event == "Stop":
            return events
    raise AssertionError("no Stop in the recorded session")


def _late_hook(payload: dict) -> subprocess.Popen:
    """The failing run's hook, started now as a background Python hook (its time is taken
    now) and kept waiting for its stdin until ``_arrive``."""
    command = install.hook_command("post-tool-use-failure", background=True)
    proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The process Claude Code waits for leaves at once; the detached one reads stdin.
    assert proc.wait(timeout=30) == 0
    proc.stdin_data = json.dumps(payload).encode()
    return proc


def _arrive(proc: subprocess.Popen) -> None:
    proc.stdin.write(proc.stdin_data)
    proc.stdin.close()


def _observations() -> list[dict]:
    with open_store() as store:
        session = store.session_by_claude_id(SESSION_A)
        return store.observations_for_prompt(session["id"], 1) if session else []


def _summary() -> dict | None:
    with open_store() as store:
        session = store.session_by_claude_id(SESSION_A)
        return store.summary_for_prompt(session["id"], 1) if session else None


def _run_until_late_event(tmp_path, recorded, worker):
    """Start, prompt and the tool calls run through the installed hooks, the failing test
    run's hook held; returns (commands, the held hook, the Stop's payload) once the edit and
    the passing run after it are stored."""
    commands = installed_commands(tmp_path)
    events = _first_request(recorded)
    held = None
    for event, payload in events[:-1]:
        if event == "PostToolUseFailure":
            held = _late_hook(payload)
            # The next hooks are ``capture.sh``'s inbox files, timed by the file clock, which
            # runs up to a kernel tick (4 ms at HZ=250, 10 ms at HZ=100) behind the held
            # hook's ``time.time()``: an event written within that tick could be stamped
            # before the held one (1 run in 12 failed so). Real tool events are a model turn
            # apart, far more than a tick; so here.
            time.sleep(0.025)
            continue
        proc = run_hook(event, payload, command=commands[event])
        assert proc.returncode == 0, proc.stderr
    assert held is not None
    # The two tool calls after the held one are memory before it arrives.
    wait_for(lambda: len(_observations()) >= 5, timeout=30,
             what="the tool events after the held one to be stored")
    assert not any("exit code 1" in o["title"] for o in _observations())
    return commands, held, events[-1][1]


def _assert_told_in_time_order(summary: dict) -> None:
    assert summary is not None
    # The failure and what fixed it, as when every hook came in order (test_cycle).
    assert "python -m pytest -q" in summary["learned"] and "exit code 1" in summary["learned"]
    assert "5 passed" in summary["completed"]
    with open_store() as store:
        session = store.session_by_claude_id(SESSION_A)
        stored = store.observations_for_prompt(session["id"], 1)
    failing = next(o for o in stored if "exit code 1" in o["title"])
    assert failing["id"] == max(o["id"] for o in stored)  # it really was stored last
    assert _told_before_the_edit(stored, failing)  # timed when it happened


def _told_before_the_edit(stored: list[dict], failing: dict) -> bool:
    """In the order the compressor is given (event time; a tie, which a coarse file clock
    gives events a few ms apart, by id), does the failing run come before the edit?"""
    told = [o["id"] for o in in_time_order(stored)]
    edit = next(o for o in stored if o["tool_name"] == "Edit")
    return told.index(failing["id"]) < told.index(edit["id"])


def test_a_late_tool_event_before_the_stop_is_summarized_in_its_place(tmp_path, recorded, worker):
    commands, held, stop = _run_until_late_event(tmp_path, recorded, worker)
    _arrive(held)
    wait_until_drained()
    proc = run_hook("Stop", stop, command=commands["Stop"])
    assert proc.returncode == 0
    wait_until_drained()
    _assert_told_in_time_order(_summary())


def test_a_tool_event_after_its_summary_remakes_it_in_time_order(tmp_path, recorded, worker):
    commands, held, stop = _run_until_late_event(tmp_path, recorded, worker)
    proc = run_hook("Stop", stop, command=commands["Stop"])
    assert proc.returncode == 0
    wait_for(_summary, timeout=30, what="the request's summary")
    assert "exit code 1" not in _summary()["learned"]  # made before the late event came
    _arrive(held)
    wait_until_drained()
    _assert_told_in_time_order(_summary())


def test_a_slow_inbox_writer_keeps_its_place(tmp_path, recorded, worker):
    """``capture.sh`` descheduled while it copies the failing run's payload (its stdin held
    open): its file is finished after the edit's and the passing run's. The event is still
    timed when its hook began (the file's creation), the files after it wait for it, and the
    summary tells the failure, then the fix."""
    commands = installed_commands(tmp_path)
    events = _first_request(recorded)
    held = None
    for event, payload in events[:-1]:
        if event == "PostToolUseFailure":
            held = subprocess.Popen(commands[event], shell=True, stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            held.stdin_data = json.dumps(payload).encode()
            # Its file exists (created before the script reads stdin): it began now.
            wait_for(lambda: any(n.endswith(".PostToolUseFailure") for n in inbox.waiting()),
                     timeout=30, what="the slow hook's inbox file")
            continue
        proc = run_hook(event, payload, command=commands[event])
        assert proc.returncode == 0, proc.stderr
    _arrive(held)
    assert held.wait(timeout=30) == 0
    proc = run_hook("Stop", events[-1][1], command=commands["Stop"])
    assert proc.returncode == 0
    wait_until_drained()
    summary = _summary()
    assert "python -m pytest -q" in summary["learned"] and "exit code 1" in summary["learned"]
    assert "5 passed" in summary["completed"]
    stored = _observations()
    failing = next(o for o in stored if "exit code 1" in o["title"])
    assert _told_before_the_edit(stored, failing)
