"""A parked row's story ends: doctor names it, list, retry and discard each say what they did,
and once it is gone doctor is back to exit 0 (real hook, real worker, real CLI)."""
from __future__ import annotations

import json

from click.testing import CliRunner

from claude_mem import cli
from helpers import open_store, run_hook, wait_for


def invoke(*args, code=0):
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def wait_parked(count: int, timeout: float = 60.0) -> None:
    def parked() -> bool:
        with open_store() as store:
            stats = store.queue_stats()
        return stats["parked"] == count and stats["pending"] == 0

    wait_for(parked, timeout, interval=0.1, what=f"{count} parked row(s) and nothing pending")


def test_a_payload_without_session_id_is_parked_then_discarded_and_doctor_recovers(tmp_path):
    invoke("install")  # so that doctor's other checks pass and only the parked row matters
    payload = {"hook_event_name": "UserPromptSubmit", "cwd": str(tmp_path), "prompt": "hello"}
    assert run_hook("UserPromptSubmit", payload).returncode == 0
    wait_parked(1)
    doctor = json.loads(invoke("doctor", "--json", code=1))
    assert any(c["status"] == "fix" and "parked" in c["message"] for c in doctor["checks"])
    listed = json.loads(invoke("worker", "parked", "--json"))
    assert len(listed) == 1 and "session_id" in listed[0]["last_error"]
    row = listed[0]["id"]
    # Retrying cannot help a payload that can never become an event: it is parked again.
    assert f"queued again #{row}" in invoke("worker", "retry-parked")
    wait_parked(1)
    out = invoke("worker", "discard-parked", str(row))
    assert f"discarded #{row}" in out and "1 parked row(s) discarded" in out
    assert "no parked queue rows" in invoke("worker", "parked")
    doctor = json.loads(invoke("doctor", "--json"))
    assert doctor["ok"] is True
