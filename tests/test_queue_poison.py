"""Nothing can block the queue: hostile rows are bounded, retried, parked with a reason.

Real hook processes and the real worker. Covers the payload nested 1,000 levels deep
(``json.loads`` itself raises RecursionError on it), an unexpected exception while
parsing a row, and the commands that look at parked rows, retry and discard them, and
the stuck-head check of ``doctor`` and ``status``.
"""
from __future__ import annotations

import json
import time

import pytest

from click.testing import CliRunner

from claude_mem import cli, config, control
from claude_mem.store import Store
from helpers import open_store, run_hook, wait_until_drained
from faultkit import bash, deep_json, end, prompt, stop

pytestmark = pytest.mark.usefixtures("no_strays")

RAISE_WHILE_PARSING = """
from claude_mem import events

_parse = events.parse_event


def parse_event(name, text):
    if "UNPARSABLE" in text:
        raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")
    return _parse(name, text)


events.parse_event = parse_event
"""


def observation_ids() -> set[str]:
    with open_store() as store:
        return {row[0] for row in store.db.execute("SELECT tool_use_id FROM observations")}


def test_a_payload_nested_1000_levels_deep_costs_nothing_and_blocks_nothing(tmp_path):
    cwd = str(tmp_path)
    event, payload = bash("D", cwd, 0)
    hostile = (event, deep_json(payload, 1000))
    assert len(hostile[1]) < 10_000
    events = [prompt("D", cwd), hostile, bash("D", cwd, 1), stop("D", cwd), end("D", cwd)]
    events += [prompt("E", cwd), bash("E", cwd, 0), stop("E", cwd), end("E", cwd)]
    for event, payload in events:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    # The deep event became memory too (its nesting cut), and everything after it flowed.
    assert observation_ids() == {"toolu_D_1_0", "toolu_D_1_1", "toolu_E_1_0"}
    with open_store() as store:
        assert store.queue_stats() == {"pending": 0, "parked": 0, "oldest_pending_at": None}
        assert {r["status"] for r in store.db.execute("SELECT status FROM sessions")} == {"completed"}


def test_any_exception_while_parsing_is_retried_then_parked_and_others_flow(tmp_path, monkeypatch, inject):
    inject(RAISE_WHILE_PARSING)
    monkeypatch.setenv("CLAUDE_MEM_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CLAUDE_MEM_RETRY_BACKOFF_SECONDS", "0.05")
    cwd = str(tmp_path)
    events = [prompt("P", cwd), bash("P", cwd, 0, command="echo UNPARSABLE"), bash("P", cwd, 1),
              stop("P", cwd), prompt("Q", cwd), bash("Q", cwd, 0), stop("Q", cwd), end("Q", cwd)]
    for event, payload in events:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    assert observation_ids() == {"toolu_P_1_1", "toolu_Q_1_0"}
    runner = CliRunner()
    out = runner.invoke(cli.main, ["worker", "parked"]).output
    assert "1 parked queue row(s):" in out
    assert "PostToolUse" in out and "2 failed attempts: gave up after 2 attempts: UnicodeEncodeError(" in out
    with open_store() as store:
        (parked,) = store.parked_rows()
    doctor = runner.invoke(cli.main, ["doctor"])
    assert doctor.exit_code == 1 and "see `claude-mem worker parked`" in doctor.output
    # Retry says what it did; the row fails again (the cause is still there) and parks.
    result = runner.invoke(cli.main, ["worker", "retry-parked", str(parked["id"])])
    assert f"queued again #{parked['id']} PostToolUse" in result.output
    assert "1 parked row(s) queued again" in result.output
    wait_until_drained()
    # Discarding names what it deleted, refuses what is not parked, and leaves no trace.
    result = runner.invoke(cli.main, ["worker", "discard-parked", str(parked["id"]), "999"])
    assert result.exit_code == 1
    assert f"discarded #{parked['id']} PostToolUse" in result.output
    assert "1 parked row(s) discarded" in result.output and "not parked (nothing done): #999" in result.output
    assert "no parked queue rows" in runner.invoke(cli.main, ["worker", "parked"]).output
    assert runner.invoke(cli.main, ["worker", "discard-parked"]).exit_code == 2
    assert runner.invoke(cli.main, ["worker", "discard-parked", "--all"]).output.strip() == \
        "0 parked row(s) discarded"
    assert control.stop_worker()
    for name in ("claude-mem.db", "claude-mem.db-wal"):
        try:
            data = open(f"{config.db_path()[:-len('claude-mem.db')]}{name}", "rb").read()
        except FileNotFoundError:
            continue
        assert b"UNPARSABLE" not in data, name


def test_doctor_and_status_name_a_queue_head_that_has_not_moved(tmp_path):
    config.ensure_data_dir()
    with Store(config.db_path()) as store:
        old = time.time() - 3600
        head = store.enqueue("PostToolUse", json.dumps({"session_id": "s"}), old)
        store.enqueue("Stop", json.dumps({"session_id": "t"}), old + 10)
        store.db.execute("UPDATE pending SET attempts = 3, last_error = ? WHERE id = ?",
                         ("RecursionError('maximum recursion depth exceeded')", head))
    runner = CliRunner()
    doctor = runner.invoke(cli.main, ["doctor"])
    assert doctor.exit_code == 1
    assert (f"FIX   the queue head has not moved for 3600s: row #{head} (PostToolUse): it failed 3 "
            "time(s), last with: RecursionError('maximum recursion depth exceeded')") in doctor.output
    status = runner.invoke(cli.main, ["status"]).output
    assert f"  head #{head} PostToolUse STUCK, waiting 3600s: it failed 3 time(s)" in status
    report = json.loads(runner.invoke(cli.main, ["status", "--json"]).output)
    assert report["queue_head"]["id"] == head and report["queue_head"]["stuck"] is True
