"""Inside the drain's shared transaction, writes that can wait do, and session rows are reused.

Real stores on real SQLite files, a real ``Worker`` drained in-process, no timing: a grouped
pass deletes its queue rows in one statement at the commit and moves each session on once,
leaving every table exactly as unit-by-unit work leaves it; the session methods give the
same answers and the same final rows with the group on as with it off, through reopening
and a new run; a rollback takes what waited with it; a unit failing inside a group leaves
its rows queued and its batch-mates stored once.
"""
from __future__ import annotations

import json

from claude_mem import config, drain as drain_module
from claude_mem.models import Observation, Summary
from claude_mem.store import Store
from claude_mem.worker import Worker
from faultkit import bash, end, prompt, stop
from helpers import poison_compressor

T0 = 1_780_000_000.0


def requests(cwd: str, poison_in: str = "") -> list:
    """Two sessions, two requests each (prompt, three calls, reply), then A ends."""
    events = []
    for n in (1, 2):
        for name in ("A", "B"):
            events.append(prompt(name, cwd, n))
            for i in range(3):
                command = "echo POISON" if (name, n, i) == (poison_in, 2, 1) else None
                events.append(bash(name, cwd, i, n, command=command))
            events.append(stop(name, cwd, n))
    return events + [end("A", cwd)]


def queue(events) -> list[int]:
    with Store(config.db_path()) as store, store.write():
        return [store.enqueue(event, json.dumps(payload), received_at=T0 + i, cleaned=True)
                for i, (event, payload) in enumerate(events)]


def tables() -> dict:
    """Every row of what the events became (all columns, ids and times)."""
    with Store(config.db_path()) as store:
        return {table: [tuple(row) for row in store.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
                for table in ("sessions", "user_prompts", "observations", "summaries",
                              "processed_tool_uses", "pending")}


def drained(monkeypatch, *, quiet: bool, poison: str = "", passes: int = 6) -> list[str]:
    """Drain the queue in passes (shared transactions only when ``quiet``); the SQL run."""
    monkeypatch.setattr(drain_module, "_GROUP_COMMIT_SECONDS", 3600.0)
    monkeypatch.setenv("CLAUDE_MEM_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CLAUDE_MEM_RETRY_BACKOFF_SECONDS", "0")
    w = Worker(config.load())
    if poison:
        poison_compressor(w, poison)
    statements: list[str] = []
    w.store.db.set_trace_callback(statements.append)
    try:
        for _ in range(passes):
            w.drain.last_arrivals = w.store.queue_sequence() if quiet else -1
            w.drain.quiet_passes = drain_module._QUIET_PASSES if quiet else 0
            w.drain.run()
    finally:
        w.store.db.set_trace_callback(None)
        w.store.close()
    return statements


def counted(statements, start: str) -> int:
    return sum(1 for sql in statements if sql.startswith(start))


def test_a_shared_transaction_deletes_and_moves_sessions_once_with_the_same_tables(
        tmp_path, monkeypatch):
    cwd = str(tmp_path)
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / "alone"))
    queue(requests(cwd))
    alone = drained(monkeypatch, quiet=False)
    one_by_one = tables()
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / "grouped"))
    queue(requests(cwd))
    grouped = drained(monkeypatch, quiet=True)
    # Every row the same, to the last column: the sessions' times and counters included.
    assert tables() == one_by_one
    assert not one_by_one["pending"] and len(one_by_one["sessions"]) == 2
    # Unit by unit: each of the 13 units deletes its rows; grouped: one DELETE, at the commit.
    assert counted(alone, "DELETE FROM pending") == 13
    assert counted(grouped, "DELETE FROM pending") == 1
    # Unit by unit each prompt and tool unit moves its session on, and each reply touches
    # it. Grouped: each session is found once (its first prompt), then moved on once: A
    # before it ends, B at the commit. Never read again.
    assert counted(alone, "UPDATE sessions SET last_activity_at") == 4 * 2 + 4
    assert counted(grouped, "UPDATE sessions SET last_activity_at") == 2 + 1 + 1
    assert counted(grouped, "SELECT * FROM sessions WHERE claude_session_id") == 0
    # A request's prompt row is known from its insert; its missing summary and its
    # observations' (count, highest id) are read once (tool unit), not again (reply).
    # Unit by unit: twice each per request, and the end's look at A's request 0.
    assert counted(alone, "SELECT * FROM user_prompts WHERE session_id") == 8
    assert counted(grouped, "SELECT * FROM user_prompts WHERE session_id") == 0
    assert counted(alone, "SELECT * FROM summaries WHERE session_id") == 8
    assert counted(grouped, "SELECT * FROM summaries WHERE session_id") == 4
    assert counted(alone, "SELECT count(*), coalesce(max(id), 0) FROM observations") == 9
    assert counted(grouped, "SELECT count(*), coalesce(max(id), 0) FROM observations") == 5
    # A prompt's number is counted in the remembered session (written with its time).
    assert counted(alone, "UPDATE sessions SET prompt_counter") == 4
    assert counted(grouped, "UPDATE sessions SET prompt_counter") == 0


def test_a_unit_failing_inside_a_group_leaves_its_rows_queued_and_its_mates_stored_once(
        tmp_path, monkeypatch):
    cwd = str(tmp_path)
    ids = queue(requests(cwd, poison_in="A"))
    drained(monkeypatch, quiet=True, poison="POISON", passes=1)
    # A's second tool unit (rows 11-13) failed inside the group: its rows are still queued,
    # and so are A's second reply and its end, behind it (order). Its batch-mates, whose
    # work the rollback undid, were redone alone: stored, their rows gone.
    assert [row[0] for row in tables()["pending"]] == ids[11:15] + [ids[20]]
    drained(monkeypatch, quiet=True, poison="POISON", passes=5)
    rows = tables()
    assert [(row[0], row[5]) for row in rows["pending"]] == [(ids[12], "parked")]
    stored = [row[13] for row in rows["observations"]]  # tool_use_id
    assert sorted(stored) == sorted({f"toolu_{s}_{n}_{i}" for s in "AB" for n in (1, 2)
                                     for i in range(3)} - {"toolu_A_2_1"})  # each once
    assert len(rows["summaries"]) == 4


def script(store: Store) -> list:
    """Every session, prompt, summary and observation method the drain's units use, in an
    order that reopens, restarts, redelivers and reads after each write."""
    seen = [store.open_session("s1", "p", "/w", T0)]
    seen.append(store.session_by_claude_id("s1"))
    seen.append(store.open_session("s1", "p", "/w", T0 + 5))
    seen.append(store.add_prompt(seen[0]["id"], "q1", "do it", T0 + 5))
    store.touch_session(seen[0]["id"], T0 + 9)
    store.touch_session(seen[0]["id"], T0 + 7)  # earlier: changes nothing
    seen.append(store.session_by_claude_id("s1"))
    seen.append(store.session(seen[0]["id"]))
    store.complete_session(seen[0]["id"], "other", T0 + 10)
    seen.append(store.session_by_claude_id("s1"))
    seen.append(store.open_session("s1", "p", "/w", T0 + 11))  # reopens: a new run
    seen.append(store.open_session("s1", "p", "/w", T0 + 12, new_run=True))  # resume
    seen.append(store.open_session("s2", "p", "/x", T0 + 3))
    store.touch_session(seen[-1]["id"], T0 + 20)
    seen.append(store.silent_sessions(T0 + 15))  # reads the times itself
    seen.append(store.open_session("s2", "p", "/x", T0 + 21))
    # A request's prompt, summary and observations, read before and after they are written.
    sid = seen[0]["id"]
    seen.append(store.prompt_by_id(sid, "q1"))
    seen.append(store.add_prompt(sid, "q2", "and this", T0 + 22))
    seen.append(store.add_prompt(sid, "q2", "and this", T0 + 23))  # redelivered: same number
    seen.append(store.prompt_by_id(sid, "q2"))
    seen.append(store.prompt_number_for(sid, "q2"))
    seen += [store.summary_for_prompt(sid, 2), store.summary_for_prompt(sid, 2)]
    store.upsert_summary(sid, "p", 2, Summary(request="and this", notes="done"), "t", T0 + 24)
    seen.append(store.summary_for_prompt(sid, 2))
    seen.append(store.prompt_observations_mark(sid, 2))
    seen.append(store.store_observations(sid, "p", 2, [
        (Observation(type="change", title=f"edit {i}", files_modified=("a.py",)), f"h{i}", T0 + 25)
        for i in (1, 2, 1)], "t"))  # the third is a duplicate
    seen.append(store.prompt_observations_mark(sid, 2))
    seen.append(store.add_observation(sid, "p", 2, Observation(type="change", title="x"), "h3",
                                      "t", T0 + 26))
    seen.append(store.prompt_observations_mark(sid, 2))
    seen.append(store.prompt_number_for(sid, None))
    seen.append(store.add_prompt(sid, "q3", "then this", T0 + 29))
    seen.append(store.prompt_number_for(sid, None))
    seen.append(store.session(sid))
    return seen


def test_the_drain_s_store_methods_answer_the_same_with_the_group_on(tmp_path):
    results, rows, statements_run = [], [], []
    for grouped in (False, True):
        with Store(str(tmp_path / f"{grouped}.db")) as store:
            statements: list[str] = []
            store.db.set_trace_callback(statements.append)
            with store.write():
                if grouped:
                    store.begin_group()
                results.append(script(store))
                if grouped:
                    store.flush_group()
                    store.end_group()
            store.db.set_trace_callback(None)
            rows.append({table: [tuple(r) for r in store.db.execute(f"SELECT * FROM {table}")]
                         for table in ("sessions", "user_prompts", "summaries", "observations")})
            statements_run.append(counted(statements, "UPDATE sessions SET last_activity_at")
                           + counted(statements, "SELECT"))
    assert results[0] == results[1]
    assert rows[0] == rows[1]
    assert statements_run[1] < statements_run[0]


def test_a_rolled_back_group_leaves_nothing_and_forgets_its_rows(tmp_path):
    with Store(str(tmp_path / "m.db")) as store:
        with store.write():
            session = store.open_session("s1", "p", "/w", T0)
            queued = store.enqueue("Stop", "{}", T0)
        try:
            with store.write():
                store.begin_group()
                store.open_session("s1", "p", "/w", T0 + 50)
                store.delete_pending([queued])
                assert store.session_by_claude_id("s1")["last_activity_at"] == T0 + 50
                raise RuntimeError("a unit failed")
        except RuntimeError:
            store.end_group()
        # Nothing that waited landed, and nothing remembered is served any more.
        assert store.session_by_claude_id("s1") == session
        assert [r[0] for r in store.db.execute("SELECT id FROM pending")] == [queued]
        with store.write():
            store.delete_pending([queued])  # no group: at once
            assert not store.db.execute("SELECT 1 FROM pending").fetchall()
