"""The drain's batching keeps the queue's promises: same memory, counted attempts, parking.

A real worker object over a real store, drained in-process (no timing anywhere): a pass
counts its never-tried rows in one transaction, gives back the counts of rows it did not
begin, and (heuristic, queue quiet) stores several units per transaction; a unit that
fails inside a shared transaction costs its batch-mates nothing and is parked alone; a
crash in the middle of one loses no row. Also the per-pass project lookup.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from claude_mem import config, drain as drain_module, project
from claude_mem.store import Store
from claude_mem.worker import Worker
from faultkit import bash, end, prompt, stop
from helpers import poison_compressor


def queue(events) -> list[int]:
    with Store(config.db_path()) as store, store.write():
        return [store.enqueue(event, json.dumps(payload)) for event, payload in events]


def two_sessions(cwd: str, poison_in: str = "") -> list:
    events = []
    for name in ("A", "B"):
        events.append(prompt(name, cwd))
        for i in range(3):
            command = "echo POISON" if name == poison_in and i == 1 else f"echo {name}{i}"
            events.append(bash(name, cwd, i, command=command))
        events += [stop(name, cwd), end(name, cwd)]
    return events


def memory_dump() -> dict:
    """What the events became, without row ids and clocks."""
    with Store(config.db_path()) as store:
        observations = sorted(
            (o["tool_use_id"], o["type"], o["title"], o["subtitle"], o["narrative"], o["facts"],
             o["files_read"], o["files_modified"], o["content_hash"])
            for o in store.db.execute("SELECT * FROM observations"))
        summaries = sorted(
            (s["prompt_number"], s["request"], s["investigated"], s["learned"], s["completed"],
             s["next_steps"], s["notes"], s["files_read"], s["files_edited"])
            for s in store.db.execute("SELECT * FROM summaries"))
        prompts = sorted((p["prompt_number"], p["prompt"])
                         for p in store.db.execute("SELECT * FROM user_prompts"))
    return {"observations": observations, "summaries": summaries, "prompts": prompts}


def pending() -> dict[int, dict]:
    with Store(config.db_path()) as store:
        return {r["id"]: dict(r) for r in store.db.execute("SELECT * FROM pending")}


def commits_while(w: Worker, action) -> int:
    count = []
    w.store.db.set_trace_callback(lambda sql: count.append(1) if sql == "COMMIT" else None)
    try:
        action()
    finally:
        w.store.db.set_trace_callback(None)
    return len(count)


def make_worker(monkeypatch, *, quiet: bool, poison: str | None = None) -> Worker:
    # One shared transaction per pass, whatever the machine's speed (no timing in tests).
    monkeypatch.setattr(drain_module, "_GROUP_COMMIT_SECONDS", 3600.0)
    w = Worker(config.load())
    # "Quiet": passes in a row began with nothing new queued.
    w.drain.last_arrivals = w.store.queue_sequence() if quiet else -1
    w.drain.quiet_passes = drain_module._QUIET_PASSES if quiet else 0
    if poison:
        poison_compressor(w, poison)
    return w


def test_a_quiet_queue_is_stored_in_fewer_transactions_with_the_same_memory(tmp_path, monkeypatch):
    cwd = str(tmp_path)
    queue(two_sessions(cwd))
    w = make_worker(monkeypatch, quiet=True)
    try:
        # Unit by unit it would be 8 commits (per session: prompt, tools, reply, end) and
        # one to count the attempts: here that one, and one for all the work.

        assert commits_while(w, w.drain.run) == 2
        assert not pending()
    finally:
        w.store.close()
    grouped = memory_dump()
    assert len(grouped["observations"]) == 6 and len(grouped["summaries"]) == 2

    # The same events drained while hooks are queueing: one commit per unit, same memory.
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / "again"))
    queue(two_sessions(cwd))
    w = make_worker(monkeypatch, quiet=False)
    try:
        assert commits_while(w, w.drain.run) == 1 + 8
        assert not pending()
    finally:
        w.store.close()
    assert memory_dump() == grouped


def test_a_unit_failing_inside_a_shared_transaction_is_parked_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CLAUDE_MEM_RETRY_BACKOFF_SECONDS", "0")
    cwd = str(tmp_path)
    ids = queue(two_sessions(cwd, poison_in="A"))
    w = make_worker(monkeypatch, quiet=True, poison="POISON")
    try:
        w.drain.run()
        rows = pending()
        # A's tool group (all three calls, one unit) failed; B, queued after it, is stored,
        # and so is A's prompt, which shared the rolled-back transaction and was redone.
        tools_a = ids[1:4]
        assert set(rows) == set(tools_a) | {ids[4], ids[5]}  # A's tools, then its Stop/End
        assert all(rows[i]["attempts"] == 1 and "poisoned" in rows[i]["last_error"]
                   for i in tools_a)
        # A's Stop and End waited behind the failure (order): their counts were given back.
        assert rows[ids[4]]["attempts"] == 0 and rows[ids[5]]["attempts"] == 0
        assert {o[0] for o in memory_dump()["observations"]} == {
            "toolu_B_1_0", "toolu_B_1_1", "toolu_B_1_2"}
        for _ in range(6):  # retried alone (the innocent calls then stored), then parked
            w.drain.run()
    finally:
        w.store.close()
    rows = pending()
    assert [r["status"] for r in rows.values()] == ["parked"]
    assert rows[tools_a[1]]["last_error"].startswith("gave up after 2 attempts")
    assert {o[0] for o in memory_dump()["observations"]} == {
        "toolu_A_1_0", "toolu_A_1_2", "toolu_B_1_0", "toolu_B_1_1", "toolu_B_1_2"}
    assert len(memory_dump()["summaries"]) == 2


CRASH_MID_GROUP = """
import json, os, sys
from claude_mem import config, drain as drain_module
from claude_mem.worker import Worker

drain_module._GROUP_COMMIT_SECONDS = 3600.0
w = Worker(config.load())
w.drain.last_arrivals = w.store.queue_sequence()  # quiet: one shared transaction
w.drain.quiet_passes = drain_module._QUIET_PASSES
observe = w.compressor.observe

def crash(ctx, events):
    if any("POISON" in json.dumps(e.tool_input) for e in events):
        os._exit(3)  # the process dies mid-transaction
    return observe(ctx, events)

w.compressor.observe = crash
w.drain.run()
"""


def test_a_crash_inside_a_shared_transaction_loses_no_row(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CLAUDE_MEM_RETRY_BACKOFF_SECONDS", "0")
    cwd = str(tmp_path)
    # B first, so B's work shares the transaction the crash takes down.
    events = two_sessions(cwd, poison_in="A")
    events = events[6:] + events[:6]
    ids = queue(events)

    def crash():
        done = subprocess.run([sys.executable, "-c", CRASH_MID_GROUP], env=os.environ.copy(),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 3, done.stderr

    crash()
    # Nothing of the shared transaction was stored, nothing lost: every row of the pass
    # counted once (its attempts were on disk before the work began).
    rows = pending()
    assert sorted(rows) == sorted(ids) and {r["attempts"] for r in rows.values()} == {1}
    assert not memory_dump()["observations"]
    crash()
    # Now rows go one at a time: B and A's first call are stored before the poison kills
    # the process again; the poison has its second attempt counted.
    rows = pending()
    assert sorted(rows) == ids[8:]  # A's calls 1 and 2, its Stop and End
    assert rows[ids[8]]["attempts"] == 2 and rows[ids[9]]["attempts"] == 1
    w = make_worker(monkeypatch, quiet=True)
    try:
        for _ in range(4):
            w.drain.run()
    finally:
        w.store.close()
    rows = pending()
    assert [r["status"] for r in rows.values()] == ["parked"]
    assert "gave up after 2 attempts" in next(iter(rows.values()))["last_error"]
    assert {o[0] for o in memory_dump()["observations"]} == {
        "toolu_A_1_0", "toolu_A_1_2", "toolu_B_1_0", "toolu_B_1_1", "toolu_B_1_2"}


def test_project_lookup_remembers_each_cwd_until_cleared(tmp_path):
    repo = tmp_path / "repo"
    inner = repo / "src"
    inner.mkdir(parents=True)
    lookup = project.ProjectLookup(["secret-*"])
    assert lookup.root(str(inner)) == str(inner) and lookup.name(str(inner)) == "src"
    assert not lookup.excluded(str(inner))
    (repo / ".git").mkdir()
    (inner / ".claude-mem-ignore").write_text("")
    # Within a pass the answer stands (no folder walk per event)...
    assert lookup.root(str(inner)) == str(inner) and not lookup.excluded(str(inner))
    assert lookup.name(str(inner)) == "src"
    lookup.clear()  # ...and the next pass sees the change.
    assert lookup.root(str(inner)) == str(repo) and lookup.name(str(inner)) == "repo"
    assert lookup.excluded(str(inner))
    assert lookup.excluded(str(tmp_path / "secret-plans")) is True
    assert lookup.root(None) == project.project_root(None) == ""


def test_a_marker_file_created_between_passes_is_honoured(tmp_path, monkeypatch):
    cwd = tmp_path / "proj"
    cwd.mkdir()
    queue([prompt("M", str(cwd)), bash("M", str(cwd), 0)])
    w = make_worker(monkeypatch, quiet=False)
    try:
        w.drain.run()
        assert {o[0] for o in memory_dump()["observations"]} == {"toolu_M_1_0"}
        (cwd / ".claude-mem-ignore").write_text("")
        queue([bash("M", str(cwd), 1)])
        w.drain.run()
    finally:
        w.store.close()
    assert not pending()  # dropped, as an opted-out project's events are
    assert {o[0] for o in memory_dump()["observations"]} == {"toolu_M_1_0"}


def test_a_quiet_pass_takes_more_rows_with_the_same_memory(tmp_path, monkeypatch):
    # A quiet heuristic pass takes _QUIET_BATCH_FACTOR times its limit; while hooks are
    # queueing, the limit. A long request is then cut into other units (the tool events of
    # a pass are grouped), and what it becomes is the same.
    cwd = str(tmp_path)
    events = [prompt("L", cwd)] + [bash("L", cwd, i) for i in range(43)] + [stop("L", cwd)]
    factor = drain_module._QUIET_BATCH_FACTOR
    assert factor > 1
    dumps = []
    for quiet in (True, False):
        monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / f"quiet-{quiet}"))
        queue(events)
        w = make_worker(monkeypatch, quiet=quiet)
        try:
            w.drain.run(limit=10)
            assert len(pending()) == len(events) - (10 * factor if quiet else 10)
            while w.drain.run(limit=10):
                pass
            assert not pending()
        finally:
            w.store.close()
        dumps.append(memory_dump())
    assert len(dumps[0]["observations"]) == 43 and len(dumps[0]["summaries"]) == 1
    assert dumps[0] == dumps[1]


def test_grouping_waits_for_passes_in_a_row_with_nothing_new(tmp_path, monkeypatch):
    cwd = str(tmp_path)
    w = make_worker(monkeypatch, quiet=False)
    try:
        passes = []
        for i in range(4):
            queue([prompt(f"Q{i}", cwd)] if i == 0 else [])  # one arrival, then none
            commits = commits_while(w, w.drain.run)
            passes.append(w.drain.quiet_passes)
        assert passes == [0, 1, 2, 3]
        # Arrivals start the count again.
        queue([prompt("Q9", cwd)])
        w.drain.run()
        assert w.drain.quiet_passes == 0
    finally:
        w.store.close()
    assert commits == 0  # nothing left to do: an empty pass writes nothing


@pytest.mark.parametrize("quiet", [True, False])
def test_rows_a_pass_never_began_get_their_count_back(tmp_path, monkeypatch, quiet):
    cwd = str(tmp_path)
    ids = queue(two_sessions(cwd))
    w = make_worker(monkeypatch, quiet=quiet)
    w.stopping.set()  # stopping before the first unit: nothing begins
    try:
        assert w.drain.run() is False
    finally:
        w.store.close()
    assert [r["attempts"] for r in pending().values()] == [0] * len(ids)


# -- the cleaned mark: a hook's rows are not scanned a second time ------------------------

FAKE_KEY = "AKIA" + "QWERTYUIOPASDFGH"  # the shape of an AWS key id, made up


def test_a_hook_marks_the_rows_it_cleaned(tmp_path):
    from helpers import no_worker_yet, run_hook

    with no_worker_yet():
        event, payload = bash("H", str(tmp_path), 0, command=f"echo {FAKE_KEY}")
        assert run_hook(event, payload).returncode == 0
    rows = list(pending().values())
    assert len(rows) == 1 and rows[0]["cleaned"] == 1
    assert FAKE_KEY not in rows[0]["payload"]  # the hook cleaned it before queueing


def test_the_worker_cleans_rows_that_came_another_way_and_trusts_a_hook_s(tmp_path, monkeypatch):
    from claude_mem import privacy

    cwd = str(tmp_path)
    event, payload = bash("U", cwd, 0, command=f"echo {FAKE_KEY}")
    marked, unmarked = json.dumps(prompt("U", cwd)[1]), json.dumps(payload)
    with Store(config.db_path()) as store, store.write():
        store.enqueue("UserPromptSubmit", marked, cleaned=True)
        store.enqueue(event, unmarked)  # unmarked: an old spool, an import
    scanned = []
    needs_cleaning = privacy.needs_cleaning
    monkeypatch.setattr(privacy, "needs_cleaning", lambda raw: scanned.append(raw) or needs_cleaning(raw))
    w = make_worker(monkeypatch, quiet=False)
    try:
        w.drain.run()
    finally:
        w.store.close()
    assert unmarked in scanned and marked not in scanned  # the hook's row was not scanned
    with Store(config.db_path()) as store:
        text = json.dumps([dict(o) for o in store.db.execute("SELECT * FROM observations")])
    assert "echo" in text and FAKE_KEY not in text
