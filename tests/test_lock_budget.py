"""The lock budget's parts: steps sized by time, steps taken in turn across processes,
hooks announcing themselves through the wake-up FIFO, and the long writes (forget, an
import's queue part) cut into steps that still do all their work, in order.

How long the lock is held is measured by ``bench/lock_budget.py``, never asserted here."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from claude_mem import config, wakeup
from claude_mem.control import ControlServer
from claude_mem.presence import HookPresence
from claude_mem.store import Store, budget
from helpers import fill_edits, hook_argv, no_worker_yet, wait_for


def test_steps_aim_at_the_step_time_and_grow_gradually():
    steps = budget.Steps(first=10, most=1_000_000)
    # 10 items took 1 ms: 10,000 a second, so a 20 ms step would be 200, but a step may
    # only grow fourfold.
    steps.done(10, 0.001)
    assert steps.size() == 40
    for _ in range(10):
        steps.done(steps.size(), steps.size() / 10_000)
    assert steps.size() == int(10_000 * budget.STEP_MS / 1000)
    # A slow step is believed at once.
    steps.done(200, 0.2)
    assert steps.size() <= 20


def test_a_step_leaves_the_lock_free_for_the_next_process(tmp_path):
    db = str(tmp_path / "x.db")
    # Two opens of the lock file contend like two processes (flock is per open file).
    mine, theirs = budget.StepTurn(db), budget.StepTurn(db)
    try:
        with mine.step(wait=False) as ok:
            assert ok
            with theirs.step(wait=False) as during:
                assert not during  # a step in progress is nobody else's turn
            time.sleep(0.3)  # a long step: the lock then stays free as long
        with theirs.step(wait=False) as right_after:
            assert not right_after
        with theirs.step(wait=True) as waited:
            assert waited  # a waiting step gets its turn once the gap has passed
    finally:
        mine.close()
        theirs.close()


def test_presence_counts_announced_hooks_until_they_are_done():
    presence = HookPresence()
    assert not presence.waiting()
    presence.heard(b"hh")
    assert presence.waiting()
    presence.heard(b"w")
    assert presence.waiting()
    presence.heard(b"w")
    assert not presence.waiting()
    presence.heard(b"w")  # an older hook's wake-up alone never counts below zero
    presence.heard(b"h")
    assert presence.waiting()


def test_a_hook_that_never_says_it_is_done_stops_counting():
    presence = HookPresence()
    presence.heard(b"h")
    started = time.monotonic()
    assert presence.yield_to_hooks()  # waits its bounded while, then goes on
    assert time.monotonic() - started < 5
    time.sleep(0.3)
    assert not presence.waiting()


def test_the_worker_hears_hooks_announce_themselves_through_the_fifo():
    config.ensure_data_dir()
    presence = HookPresence()
    woken = threading.Event()
    stopping = threading.Event()
    server = ControlServer({"fifo": presence.heard, "wake": lambda _m: woken.set()}, stopping)
    assert server.listen()
    try:
        wakeup.announce()
        wait_for(presence.waiting, 5, what="the announcement to be heard")
        assert not woken.is_set()  # an announcement alone wakes nobody
        assert wakeup.poke()
        wait_for(woken.is_set, 5, what="the wake-up")
        wait_for(lambda: not presence.waiting(), 5, what="the hook to count as done")
    finally:
        stopping.set()
        server.close(remove_file=True)




def test_forgetting_a_large_project_in_steps_leaves_nothing_of_it_and_all_of_the_rest():
    with Store(config.db_path()) as store:
        fill_edits(store, "big", 12, 150)
        fill_edits(store, "kept", 3, 20)
        with store.write():
            for s in range(12):
                store.enqueue("PostToolUse", json.dumps({"session_id": f"big-{s}", "x": s}))
            store.enqueue("PostToolUse", json.dumps({"session_id": "kept-0"}))
        counts = store.forget_project("big")
        assert counts == {"sessions": 12, "prompts": 12, "observations": 1800, "summaries": 0,
                          "queued": 12}
        assert store.project_row_count("big") == 0 and store.search("zzqbig") == []
        assert store.project_row_count("kept") == 60 and store.search("zzqkept")
        assert store.queue_stats()["pending"] == 1
        merged, truncated = store.scrub()
        assert merged
        for table in ("observations_fts", "summaries_fts", "user_prompts_fts"):
            store.db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
        assert store.integrity() == "ok"


def test_an_import_queues_its_staged_rows_in_steps_in_order():
    with Store(config.db_path()) as store:
        rows = [("PostToolUse", json.dumps({"n": n, "pad": "x" * 500}), 1000.0 + n)
                for n in range(3000)]
        store.stage_events(rows)
        count, last = store.commit_staged()
        assert count == 3000
        queued = [json.loads(r[0])["n"] for r in store.db.execute(
            "SELECT payload FROM pending ORDER BY id")]
        assert queued == list(range(3000))
        assert last == store.db.execute("SELECT MAX(id) FROM pending").fetchone()[0]


def test_lock_tracing_records_holds_only_when_asked(tmp_path):
    trace = tmp_path / "trace.txt"
    code = ("from claude_mem.store import Store\n"
            "import time\n"
            f"s = Store({str(tmp_path / 'x.db')!r})\n"
            "with s.write():\n"
            "    time.sleep(0.01)\n"
            "s.close()\n")
    env = {**os.environ, "CLAUDE_MEM_LOCK_TRACE": str(trace)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    lines = trace.read_text().splitlines()
    assert lines, "a 10 ms write unit must be traced"
    pid, at, held, cpu, waited, what = lines[-1].split(" ", 5)
    assert int(pid) > 0 and float(at) > 0 and float(held) >= 1.0 and what
    # The unit slept: it held the lock without working on a CPU or waiting for one.
    assert 0 <= float(cpu) < float(held) and 0 <= float(waited) <= float(held)
    trace.unlink()
    env.pop("CLAUDE_MEM_LOCK_TRACE")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert not trace.exists()


def _statements(store, *starts: str) -> list[str]:
    """The statements beginning with one of ``starts`` that the store's connection runs
    from now on, in order (SQLite's own trace; it repeats a statement once per trigger
    program it runs, so repeats in a row count once)."""
    seen: list[str] = []

    def heard(sql: str) -> None:
        if sql.startswith(starts) and (not seen or seen[-1] != sql):
            seen.append(sql)

    store.db.set_trace_callback(heard)
    return seen


def test_a_forget_step_ends_on_its_clock_after_a_costly_row():
    with Store(config.db_path()) as store:
        fill_edits(store, "big", 4, 50)
        slow = store.db.execute("SELECT id FROM observations WHERE title LIKE 'big edit 1 7 %'"
                                ).fetchone()[0]
        # A row whose delete costs more than a whole step (a stand-in for a long text's
        # search-index terms): its step must end right after it, not go on by its count.
        store.db.create_function("costly", 1, lambda rid: time.sleep(0.06) or 0)
        store.db.execute("CREATE TEMP TRIGGER slow_delete AFTER DELETE ON observations"
                         f" WHEN old.id = {slow} BEGIN SELECT costly(old.id); END")
        seen = _statements(store, "BEGIN", "COMMIT", "DELETE FROM observations")
        assert store.forget_project("big")["observations"] == 200
        store.db.set_trace_callback(None)
        deletes = [i for i, sql in enumerate(seen) if sql.startswith("DELETE")]
        assert len(deletes) > 1
        # The delete that took the costly row is the last of its transaction.
        costly_at = next(i for i in deletes if slow in json.loads(seen[i].split("'")[1]))
        assert seen[costly_at + 1] == "COMMIT"
        # Every step is several deletes and a step ends with its clock, then the next one
        # begins: all 200 rows went, each in exactly one delete.
        taken = [i for d in deletes for i in json.loads(seen[d].split("'")[1])]
        assert len(taken) == len(set(taken)) == 200
        per_step, count = [], 0
        for sql in seen:
            if sql == "COMMIT":
                per_step.append(count)
                count = 0
            elif sql.startswith("DELETE"):
                count += 1
        assert max(per_step) > 1 and sum(per_step) == len(deletes)
        assert store.project_row_count("big") == 0
        store.db.execute("INSERT INTO observations_fts(observations_fts, rank)"
                         " VALUES ('integrity-check', 1)")


def test_a_hook_waiting_for_the_lock_gets_in_once_it_is_free_in_short_steps(monkeypatch):
    """A hook's commit tries again every few milliseconds while another writer holds the
    lock (hooks._commit_soon), and gets its event into the database once it is free,
    not into the spool. Watched through SQLite's statement trace: no clock decides."""
    from claude_mem import hooks
    from claude_mem.store.queue import open_queue

    # However loaded the machine, the hook must still be waiting when the lock is let go.
    monkeypatch.setattr(hooks, "_HOOK_BUSY_TIMEOUT_MS", 60_000)
    config.ensure_data_dir()
    Store(config.db_path()).close()  # the schema, made before anyone holds the lock
    worker_held = no_worker_yet()  # no worker takes the row away before it is looked at
    worker_held.__enter__()
    holder = Store(config.db_path())
    holder.db.execute("BEGIN IMMEDIATE")
    store = open_queue(busy_timeout_ms=hooks._HOOK_BUSY_TIMEOUT_MS)
    tries = []
    retried = threading.Event()

    def traced(sql):
        if sql.startswith("INSERT INTO pending"):
            tries.append(sql)
            if len(tries) >= 3:
                retried.set()

    store.db.set_trace_callback(traced)
    result = {}
    thread = threading.Thread(target=lambda: result.update(
        stored=hooks.enqueue("PostToolUse", '{"session_id": "wait-1"}', store=store)))
    thread.start()
    try:
        assert retried.wait(30), "the hook never tried again"
        assert thread.is_alive()  # still waiting, well before its 750 ms are up
    finally:
        holder.db.execute("COMMIT")
        holder.close()
    thread.join(30)
    store.db.set_trace_callback(None)
    assert result == {"stored": True}  # in the database, not the spool
    with Store(config.db_path()) as s:
        rows = s.db.execute("SELECT payload FROM pending").fetchall()
    assert [r[0] for r in rows] == ['{"session_id": "wait-1"}']
    assert not os.path.isdir(os.path.join(config.data_dir(), "spool")) or not [
        n for n in os.listdir(os.path.join(config.data_dir(), "spool")) if n.endswith(".json")]
    store.close()
    worker_held.__exit__(None, None, None)


def _wal_frames() -> list[int]:
    """The page number of each frame in the WAL (its 32-byte header, then 24-byte frame
    headers, each followed by a page)."""
    path = config.db_path() + "-wal"
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return []
    if len(data) < 32:
        return []
    page_size = int.from_bytes(data[8:12], "big")
    return [int.from_bytes(data[at:at + 4], "big")
            for at in range(32, len(data) - 24 - page_size + 1, 24 + page_size)]


def test_the_idle_worker_begins_the_next_wal_itself_so_no_hook_syncs_it(recorded):
    """After the quiet worker truncated the WAL (deleted bytes leave the files), it writes
    page 1 into a new WAL at once: the next hook's commit appends to it and syncs nothing
    (beginning a WAL syncs its header and, first in a process, the folder). The same after
    another process's truncation (``scrub_files``: a CLI forget)."""
    from helpers import run_hook, wait_until_drained

    tool = next(p for e, p in recorded if e == "PostToolUse")
    assert run_hook("PostToolUse", tool).returncode == 0
    wait_until_drained()
    wait_for(lambda: _wal_frames() == [1], 15, what="the worker to truncate the WAL and begin it")
    strace = shutil.which("strace")
    if strace is None:  # the WAL's shape above is the part every machine checks
        pytest.skip("strace is not installed: the hook's syncs are not counted here")
    trace = os.path.join(config.data_dir(), "hook.strace")
    argv = [strace, "-f", "-e", "trace=fsync,fdatasync", "-o", trace, *hook_argv("PostToolUse")]

    def hook_syncs(tool_use_id: str) -> list[str]:
        """The syncs of one PostToolUse hook process, stored before the next step."""
        done = subprocess.run(argv, input=json.dumps({**tool, "tool_use_id": tool_use_id}).encode(),
                              capture_output=True, timeout=30)
        assert done.returncode == 0
        wait_until_drained()
        return [line for line in open(trace) if "sync(" in line]

    assert hook_syncs("toolu_after_quiet") == []
    # Any process's truncation (a CLI ``forget``) begins the WAL the same way.
    with Store(config.db_path()) as store:
        assert store.scrub_files()
    assert _wal_frames() == [1]
    assert hook_syncs("toolu_after_forget") == []


def _lock_holder(*, wait_before_begin: bool) -> subprocess.Popen:
    """Another process on the database that, one line of its stdin at a time, takes SQLite's
    write lock (``BEGIN IMMEDIATE`` and a write), commits, and ends; it prints each step
    ("open" first when ``wait_before_begin``, then "held", "free")."""
    code = ("import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            + ("print('open', flush=True); sys.stdin.readline()\n" if wait_before_begin else "")
            + "db.execute('BEGIN IMMEDIATE'); db.execute('CREATE TABLE IF NOT EXISTS t (x)')\n"
            "print('held', flush=True); sys.stdin.readline()\n"
            "db.execute('COMMIT'); print('free', flush=True); sys.stdin.readline()\n")
    return subprocess.Popen([sys.executable, "-c", code, config.db_path()], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def _next_step(holder: subprocess.Popen) -> str:
    """Let ``_lock_holder``'s process go on; the step it then reports."""
    holder.stdin.write("\n")
    holder.stdin.flush()
    return holder.stdout.readline().strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's struct flock only")
def test_the_lock_sampler_names_the_process_holding_the_write_lock_and_the_checkpoint_lock():
    # bench/lock_budget.py follows holders by asking the kernel (F_GETLK on the -shm file;
    # hooks import nothing for it): another process holds SQLite's write lock, this one
    # reads who; then a process holds byte 121 (SQLite's checkpoint lock) the same way.
    from claude_mem.store.lock_sampler import LockLook

    with Store(config.db_path()) as store:
        fill_edits(store, "p", 2, 50)
    shm = config.db_path() + "-shm"
    look = LockLook(shm)
    holder = _lock_holder(wait_before_begin=False)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert look.holders() == {"write": holder.pid}
        assert _next_step(holder) == "free"
        assert look.holders() == {}
        code = ("import fcntl, os, sys\n"
                "fd = os.open(sys.argv[1], os.O_RDWR)\n"
                "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 121)\n"
                "print('held', flush=True); sys.stdin.readline()\n")
        other = subprocess.Popen([sys.executable, "-c", code, shm], text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert other.stdout.readline().strip() == "held"
            assert look.holders() == {"checkpoint": other.pid}
        finally:
            other.stdin.write("\n")
            other.stdin.flush()
            assert other.wait(10) == 0
        assert look.holders() == {}
        _next_step(holder)  # (its -shm file stays while it has the database open)
        assert holder.wait(10) == 0
    finally:
        look.close()
        if holder.poll() is None:
            holder.kill()
            holder.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's struct flock only")
def test_the_bench_watcher_records_a_hold_by_its_holder_without_taking_the_lock(tmp_path):
    # bench/lock_budget.py's measure, a process of its own (lock_sampler.watch_holders).
    with Store(config.db_path()) as store:
        fill_edits(store, "p", 1, 10)
    out = tmp_path / "holders.jsonl"
    holder = _lock_holder(wait_before_begin=True)
    watcher = None
    try:
        assert holder.stdout.readline().strip() == "open"  # the -shm file exists now
        watcher = subprocess.Popen([sys.executable, "-m", "claude_mem.store.lock_sampler",
                                    "--holders", config.db_path() + "-shm", str(out)])
        for expected in ("held", "free"):
            time.sleep(0.2)
            assert _next_step(holder) == expected
        wait_for(lambda: out.exists() and '"chain"' in out.read_text(), 10,
                 what="the watcher to record the hold")
        _next_step(holder)
        assert holder.wait(10) == 0
    finally:
        for process in (watcher, holder):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    spans = [r["span"] for r in records if "span" in r]
    assert [s[2] for s in spans] == [holder.pid]  # only its hold; the watcher took none
    assert spans[0][4], "the holder's command, read while it held the lock"
