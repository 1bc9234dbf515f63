"""Every writer of ours announces itself to a running worker, which steps aside for it.

A hook writes ``h`` on the worker's wake-up FIFO before its insert and ``w`` once it has
committed; any other writer's write unit (``store.db``: a CLI command, ``forget``,
``import``) writes ``a`` before its ``BEGIN IMMEDIATE`` and ``d`` after it (``wakeup``,
``presence``, which counts the two kinds apart). Real processes, a real FIFO, a real worker object draining in-process (so
the test can act between two of its units); no timing is asserted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from claude_mem import config, drain as drain_module, presence as presence_module, wakeup
from claude_mem.store import Store
from claude_mem.store.db import Database
from claude_mem.worker import Worker
from faultkit import bash, prompt, stop
from helpers import run_hook, wait_for

CWD = "/home/dev/acme-billing"


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "claude_mem.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def queue_a_request(session: str) -> None:
    events = [prompt(session, CWD)] + [bash(session, CWD, i) for i in range(3)]
    events.append(stop(session, CWD))
    with Store(config.db_path()) as store, store.write():
        for event, payload in events:
            store.enqueue(event, json.dumps(payload))


def a_parked_row() -> int:
    with Store(config.db_path()) as store:
        with store.write():
            row = store.enqueue("PostToolUse", json.dumps(bash("parked", CWD, 9)[1]))
        store.park(row, "failed for the test")
    return row


def status_of(row: int) -> str:
    with Store(config.db_path()) as store:
        return store.db.execute("SELECT status FROM pending WHERE id = ?", (row,)).fetchone()[0]


def test_a_cli_write_during_a_grouped_drain_is_announced_and_the_worker_steps_aside(monkeypatch):
    # One shared transaction per pass unless cut; an announcement does not go stale and
    # the worker waits for the writer's "done" however slow the machine (no timing here).
    monkeypatch.setattr(drain_module, "_GROUP_COMMIT_SECONDS", 3600.0)
    monkeypatch.setattr(presence_module, "_STALE_SECONDS", 120.0)
    monkeypatch.setattr(presence_module, "_YIELD_SECONDS", 120.0)
    monkeypatch.setattr(Database, "announces_writes", Database.announces_writes)  # restored
    config.ensure_data_dir()
    queue_a_request("A")
    queue_a_request("B")
    parked = a_parked_row()
    w = Worker(config.load())
    assert w.listen()  # the control thread reads the wake-up FIFO into ``w.presence``
    w.drain.last_arrivals = w.store.queue_sequence()
    w.drain.quiet_passes = drain_module._QUIET_PASSES  # quiet: the units share a transaction
    seen, commits, writer = [], [], []
    handle = w.handlers.handle

    def handle_and_look(event, group):
        # Inside the pass's shared transaction: the write lock is the worker's.
        seen.append(status_of(parked) if writer else None)
        handle(event, group)
        if not writer:  # a person runs a CLI write now: it announces, then waits for the lock
            writer.append(cli("worker", "retry-parked", str(parked)))
            wait_for(w.presence.waiting, 30, what="the CLI's announcement to be heard")

    w.handlers.handle = handle_and_look
    w.store.db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    try:
        assert w.drain.run()
    finally:
        w.store.db.set_trace_callback(None)
        w.stop_listening()
        w.store.close()
        out, err = writer[0].communicate(timeout=60) if writer else ("", "")
    assert writer and writer[0].returncode == 0, err
    assert "1 parked row(s) queued again" in out
    # The worker cut its shared transaction and stepped aside: the CLI's write went in
    # between two units of the pass, and the units after it saw it.
    assert w.presence.yields >= 1
    assert len(commits) >= 3  # the attempts' count, the units before the cut, after it
    assert seen[1:] and all(status == "pending" for status in seen[1:])
    assert not w.presence.waiting()  # it said it was done


def test_a_cli_write_sends_one_announcement_and_one_done_of_its_own_and_wakes_nobody():
    config.ensure_data_dir()
    parked = a_parked_row()
    fifo = wakeup.make()  # a worker's end of the FIFO: "a worker is running"
    try:
        done = subprocess.run([sys.executable, "-m", "claude_mem.cli", "worker", "discard-parked",
                               str(parked)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert wakeup.drain(fifo) == b"ad"
    finally:
        wakeup.remove()
        os.close(fifo)
    with Store(config.db_path()) as store:
        assert store.db.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0


def test_a_plain_wake_up_does_not_take_a_waiting_writers_place():
    # A hook's ``w`` is also every plain wake-up (a prompt left in the inbox); counted with
    # the writers' announcements, one arriving while a writer waited made the worker stop
    # stepping aside for it. Hooks (h/w) and other writers (a/d) are counted apart.
    presence = presence_module.HookPresence()
    presence.heard(b"a")
    presence.heard(b"w")  # a prompt's file in the inbox: "look at the queue"
    assert presence.waiting()
    presence.heard(b"h")
    presence.heard(b"d")  # the writer is done; the hook is not
    assert presence.waiting()
    presence.heard(b"w")
    assert not presence.waiting()
    presence.heard(b"d")  # a done never counts below zero
    presence.heard(b"a")
    assert presence.waiting()


def test_without_a_worker_a_cli_write_announces_nothing_and_goes_on():
    config.ensure_data_dir()
    parked = a_parked_row()
    done = subprocess.run([sys.executable, "-m", "claude_mem.cli", "worker", "discard-parked",
                           str(parked)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not os.path.exists(config.wake_path())  # nothing made where no worker made it
    # A dead worker's FIFO (no reader): the write goes on at once, as without one.
    parked = a_parked_row()
    os.mkfifo(config.wake_path(), 0o600)
    try:
        done = subprocess.run([sys.executable, "-m", "claude_mem.cli", "worker", "retry-parked",
                               str(parked)], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(config.wake_path())
    assert done.returncode == 0, done.stderr
    assert status_of(parked) == "pending"


def test_a_store_of_another_database_announces_to_no_worker(tmp_path):
    config.ensure_data_dir()
    fifo = wakeup.make()
    try:
        with Store(str(tmp_path / "elsewhere.db")) as other, other.write():
            other.enqueue("Stop", "{}")
        assert wakeup.drain(fifo) == b""
    finally:
        wakeup.remove()
        os.close(fifo)


def test_the_hooks_send_exactly_what_they_sent_before():
    # A hook announces itself once by hand (it needs the answer: hooks._announce) and says
    # it is done with its wake-up ``w``: its store's write unit adds nothing, not even for
    # SessionStart's one write of its event with what it showed.
    config.ensure_data_dir()
    Store(config.db_path()).close()  # SessionStart then writes through its store's unit
    fifo = wakeup.make()
    try:
        base = {"session_id": "s-1", "cwd": CWD, "transcript_path": "/x.jsonl"}
        for event, payload in [
                ("SessionStart", {**base, "hook_event_name": "SessionStart", "source": "startup"}),
                bash("s-1", CWD, 1)]:
            done = run_hook(event, payload)
            assert done.returncode == 0
            assert wakeup.drain(fifo) == b"hw", event
    finally:
        wakeup.remove()
        os.close(fifo)
    with Store(config.db_path()) as store:
        assert store.queue_stats()["pending"] == 2


def test_a_heard_writer_that_cannot_get_the_lock_fails_as_before_and_still_says_it_is_done():
    # It tries in short steps (``db._begin_soon``) up to its own busy timeout, then fails
    # as SQLite's wait would; the worker hears "done" either way, and the connection keeps
    # its busy timeout.
    config.ensure_data_dir()
    Store(config.db_path()).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], "
         "isolation_level=None); db.execute('BEGIN IMMEDIATE'); print('held', flush=True); "
         "sys.stdin.read()", config.db_path()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    fifo = wakeup.make()
    try:
        assert holder.stdout.readline().strip() == "held"
        with Store(config.db_path(), busy_timeout_ms=300) as store:
            try:
                with store.write():
                    store.enqueue("Stop", "{}")
            except Exception as exc:  # noqa: BLE001 - the driver's OperationalError
                assert "locked" in str(exc)
            else:
                raise AssertionError("the write went in while another process held the lock")
            assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 300
            assert wakeup.drain(fifo) == b"ad"
            holder.stdin.close()
            holder.wait(timeout=30)
            with store.write():  # the lock free again: in at once
                store.enqueue("Stop", "{}")
            assert wakeup.drain(fifo) == b"ad"
            assert store.queue_stats()["pending"] == 1
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        wakeup.remove()
        os.close(fifo)
