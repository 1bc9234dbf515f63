"""Capture in the background: hooks Claude Code does not wait for, and nothing lost.

Real hook processes and the real worker. A hook "that comes late" is a real hook process
whose stdin is held open: it started (and timed its event) before the Stop, and commits
when the test lets it read. Claude Code's own side (async hooks, SIGTERM at the end of a
run) is exercised with the real CLI in tests/e2e/test_real_claude_background.py.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime, timezone

from claude_mem import config, install, log, summary_gate
from helpers import (hook_argv, no_worker_yet, open_store, run_hook, wait_for,
                     wait_for_background_hooks, wait_until_drained)

SESSION = "6f1d3c1e-6b0e-4a43-9d7e-2b1f6e0c9a11"
PROMPT_ID = "0b7c2f55-1a9e-4a55-8c1d-9e2f3a4b5c6d"
PROMPT = "Run the invoice tests and commit the rounding fix."
TESTS = ("python -m pytest -q tests/test_invoice.py", "5 passed in 0.12s")
COMMIT = ('git commit -am "Round invoice totals half-up"',
          "[main 4f2a9c1] Round invoice totals half-up\n 1 file changed, 2 insertions(+)")


def _common(tmp_path, transcript: str) -> dict:
    return {"session_id": SESSION, "transcript_path": transcript, "cwd": str(tmp_path / "billing"),
            "prompt_id": PROMPT_ID, "permission_mode": "default"}


def _tool(tmp_path, transcript: str, use_id: str, command: str, output: str) -> dict:
    return {**_common(tmp_path, transcript), "hook_event_name": "PostToolUse", "tool_name": "Bash",
            "tool_input": {"command": command, "description": "run it"}, "tool_use_id": use_id,
            "tool_response": {"stdout": output, "stderr": "", "interrupted": False, "isImage": False}}


def _transcript(tmp_path, tools) -> str:
    """A Claude Code transcript of the request: the prompt, each tool call and its result."""
    def stamp():
        return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

    base = {"sessionId": SESSION, "cwd": str(tmp_path / "billing"), "isSidechain": False}
    lines = [{**base, "type": "user", "promptId": PROMPT_ID, "timestamp": stamp(),
              "message": {"role": "user", "content": PROMPT}}]
    for use_id, command, output in tools:
        lines.append({**base, "type": "assistant", "timestamp": stamp(), "message": {
            "role": "assistant", "model": "claude-test", "content": [
                {"type": "tool_use", "id": use_id, "name": "Bash",
                 "input": {"command": command, "description": "run it"}}]}})
        lines.append({**base, "type": "user", "promptId": PROMPT_ID, "timestamp": stamp(),
                      "message": {"role": "user", "content": [
                          {"type": "tool_result", "tool_use_id": use_id, "content": output}]},
                      "toolUseResult": {"stdout": output, "stderr": "", "interrupted": False,
                                        "isImage": False}})
    lines.append({**base, "type": "assistant", "timestamp": stamp(), "message": {
        "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": "Tests pass and the fix is committed."}]}})
    path = tmp_path / f"{SESSION}.jsonl"
    # Compact, as Claude Code writes its transcripts.
    path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
    return str(path)


def _start_late(event: str, payload: dict) -> subprocess.Popen:
    """A hook process that started now and commits only once ``_release`` lets it read."""
    proc = subprocess.Popen(hook_argv(event), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.payload = json.dumps(payload).encode()
    # Its event is timed when it starts: wait until it is blocked reading stdin (so timed),
    # as a real hook has long started when the model's next turn ends with a Stop.
    wait_for(lambda: "pipe" in _wchan(proc.pid), what="the late hook to wait for its stdin")
    return proc


def _wchan(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/wchan") as fh:
            return fh.read()
    except OSError:
        return ""


def _release(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(proc.payload, timeout=30)
    assert proc.returncode == 0 and out == b"", err


def _summary(store):
    session = store.session_by_claude_id(SESSION)
    return session, (store.summary_for_prompt(session["id"], 1) if session else None)


def _begin(tmp_path, transcript: str) -> None:
    (tmp_path / "billing").mkdir(exist_ok=True)
    assert run_hook("UserPromptSubmit", {**_common(tmp_path, transcript),
                                         "hook_event_name": "UserPromptSubmit",
                                         "prompt": PROMPT}).returncode == 0


def _stop(tmp_path, transcript: str) -> None:
    assert run_hook("Stop", {**_common(tmp_path, transcript), "hook_event_name": "Stop",
                             "last_assistant_message": "Tests pass and the fix is committed.",
                             "stop_hook_active": False}).returncode == 0


def test_a_background_hook_leaves_before_it_reads_and_survives_sigterm(tmp_path):
    """What Claude Code waits for is gone before the event is even read; SIGTERM (sent by
    Claude Code at the end of `claude -p`) does not stop the detached hook; the event is
    timed at the hook's start, not at its commit."""
    payload = _tool(tmp_path, "", "toolu_bg_1", *TESTS)
    command = install.hook_command("post-tool-use", background=True)
    with no_worker_yet():
        before = time.time()
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.wait(timeout=30) == 0  # stdin still open: nothing has been read yet
        assert proc.stdout.read() == b""   # and no one holds its stdout any more
        [pid] = wait_for(lambda: list(_background_pids()), what="the detached hook")
        assert os.getsid(pid) != os.getsid(0)  # its own session, outside the caller's tree
        os.kill(pid, signal.SIGTERM)           # ignored since before its interpreter started
        with open_store() as store:
            assert store.queue_stats()["pending"] == 0
        written = time.time()
        proc.stdin.write(json.dumps(payload).encode())
        proc.stdin.close()
        wait_for_background_hooks()
        with open_store() as store:
            [row] = store.pending_batch()
        assert row["event"] == "PostToolUse" and "toolu_bg_1" in row["payload"]
        assert before <= row["received_at"] <= written


def _background_pids():
    from helpers import background_hooks

    return background_hooks()


def test_a_stop_waits_for_a_late_tool_event_of_its_request(tmp_path):
    transcript = _transcript(tmp_path, [("toolu_a1", *TESTS), ("toolu_a2", *COMMIT)])
    _begin(tmp_path, transcript)
    assert run_hook("PostToolUse", _tool(tmp_path, transcript, "toolu_a1", *TESTS)).returncode == 0
    late = _start_late("PostToolUse", _tool(tmp_path, transcript, "toolu_a2", *COMMIT))
    try:
        _stop(tmp_path, transcript)
        # The worker looked at the Stop and held it: the transcript names a tool call whose
        # event is not stored.
        try:
            wait_for(lambda: any("waits for 1 tool event(s)" in line and "toolu_a2" in line
                                 for line in log.tail(50)), what="the Stop to be held")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the log: " + "\n".join(log.tail(30))) from None
        with open_store() as store:
            assert _summary(store)[1] is None
            assert len(store.observations_for_prompt(store.session_by_claude_id(SESSION)["id"], 1)) == 1
    finally:
        _release(late)
    wait_until_drained()
    with open_store() as store:
        session, summary = _summary(store)
        observations = store.observations_for_prompt(session["id"], 1)
    assert len(observations) == 2
    assert "5 passed" in summary["completed"] and "4f2a9c1" in summary["completed"], summary
    assert summary["notes"].startswith("Tests pass and the fix is committed.")


def test_a_tool_event_stored_after_its_summary_is_folded_in(tmp_path):
    """No transcript to tell (the Stop is not held): the late event, which began before the
    Stop and the SessionEnd, is still stored, folds into the request's summary, and does
    not reopen the session whose run ended after it began."""
    _begin(tmp_path, "")
    assert run_hook("PostToolUse", _tool(tmp_path, "", "toolu_b1", *TESTS)).returncode == 0
    late = _start_late("PostToolUse", _tool(tmp_path, "", "toolu_b2", *COMMIT))
    try:
        _stop(tmp_path, "")
        assert run_hook("SessionEnd", {**_common(tmp_path, ""), "hook_event_name": "SessionEnd",
                                       "reason": "other"}).returncode == 0
        wait_until_drained()
        with open_store() as store:
            session, summary = _summary(store)
        assert session["status"] == "completed" and "4f2a9c1" not in summary["completed"]
    finally:
        _release(late)
    wait_until_drained()
    with open_store() as store:
        session, summary = _summary(store)
        assert len(store.observations_for_prompt(session["id"], 1)) == 2
    assert "5 passed" in summary["completed"] and "4f2a9c1" in summary["completed"], summary
    assert summary["notes"].startswith("Tests pass and the fix is committed.")
    assert (session["status"], session["runs"], session["end_reason"]) == ("completed", 1, "other")


def test_a_tool_event_whose_hook_never_came_is_taken_from_the_transcript(tmp_path):
    transcript = _transcript(tmp_path, [("toolu_c1", *TESTS), ("toolu_c2", *COMMIT)])
    _begin(tmp_path, transcript)
    assert run_hook("PostToolUse", _tool(tmp_path, transcript, "toolu_c1", *TESTS)).returncode == 0
    _stop(tmp_path, transcript)  # toolu_c2's hook was killed before it stored anything
    wait_until_drained(timeout=summary_gate.GRACE_SECONDS + 30)
    with open_store() as store:
        session, summary = _summary(store)
        observations = store.observations_for_prompt(session["id"], 1)
    assert len(observations) == 2
    assert "4f2a9c1" in summary["completed"], summary
    assert any("taken from the transcript: toolu_c2" in line for line in log.tail(50))
    # The real hook event, should it come after all, is the same call: not stored twice.
    assert run_hook("PostToolUse", _tool(tmp_path, transcript, "toolu_c2", *COMMIT)).returncode == 0
    wait_until_drained()
    with open_store() as store:
        assert len(store.observations_for_prompt(session["id"], 1)) == 2
    assert config.spooled_names() == []


def test_the_transcript_is_read_only_from_a_regular_file(tmp_path):
    """A Stop's transcript path naming a FIFO must not hang the worker (an ``open`` would
    wait for a writer): the request's calls are then unknown, and the Stop is not held."""
    use_id = "toolu_01FifoTranscriptCheck00"
    regular = _transcript(tmp_path, [(use_id, *TESTS)])
    assert list(summary_gate.request_tool_events(regular, PROMPT_ID)) == [use_id]
    fifo = tmp_path / "transcript.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert summary_gate.request_tool_events(str(fifo), PROMPT_ID) == {}
    assert time.monotonic() - started < 5  # answered, not blocked on the FIFO
    assert summary_gate.request_tool_events(str(tmp_path / "missing.jsonl"), PROMPT_ID) == {}
