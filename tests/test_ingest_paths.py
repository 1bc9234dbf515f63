"""The worker's quicker ingest paths give what the plain ones gave (round 11, issue 23).

- Observations and processed tool uses are inserted several rows to an ``INSERT``, and
  queue rows are counted and deleted as runs of consecutive ids: each test makes the same
  writes both ways on real stores (one row a statement being the store's own single-row
  methods) and compares every row, id and indexed term.
- Events are built straight into their ``__dict__`` (``events._event``) and payloads parsed
  by the JSON scanner directly (``boundedjson._json_loads``): compared with the dataclass's
  own construction and with ``json.loads``, errors included.
- The worker's connection keeps statement journals in memory (round 12): a plain one spills
  those of many-row statements to temp files (seen in ``/proc/self/fd``), the worker's none;
  its one-off VACUUM still goes to a file.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sqlite3

import pytest

from claude_mem import boundedjson
from claude_mem.events import BadEvent, SessionEnd, SessionStart, Stop, ToolEvent, UserPrompt, parse_event
from claude_mem.models import Observation
from claude_mem.store import Store
from claude_mem.store.queue import id_runs


def _observations(n: int, start: int = 0) -> list[Observation]:
    return [Observation(type="change" if i % 2 else "discovery", title=f"Edited mod{i}.py: é {i}",
                        subtitle=f"{i} change", narrative="n" * (i % 3),
                        facts=(f"Command: pytest tests/test_{i}.py", f"- old {i}", f"+ new {i}"),
                        concepts=("edit",), files_read=(f"src/r{i}.py",),
                        files_modified=(f"src/mod{i}.py",) if i % 2 else (),
                        tool_name="Edit", tool_use_id=f"toolu_{i}")
            for i in range(start, start + n)]


def _store(path, *, holding: bool) -> Store:
    store = Store(str(path))
    store.hold_index_writes = holding  # the worker's write units index at their commit
    with store.write():
        store.open_session("s1", "proj", "/w/proj", 1.0)
        store.add_prompt(1, "p1", "fix the rounding bug", 1.0)
    return store


def _dump(path) -> dict:
    db = sqlite3.connect(str(path))
    try:
        out = {table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
               for table in ("observations", "processed_tool_uses", "pending")}
        db.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, observations_fts, 'instance')")
        out["terms"] = db.execute("SELECT term, doc, col, offset FROM temp.v ORDER BY 1, 2, 3, 4").fetchall()
        return out
    finally:
        db.close()


@pytest.mark.parametrize("holding", [True, False])
def test_observations_several_to_a_statement_are_the_rows_one_at_a_time_makes(tmp_path, holding):
    """Same ids, rows, terms and returned rows, with a duplicate inside the batch and one
    of an earlier batch (both ignored, None), over more rows than one statement takes."""
    made = _observations(19)
    # (obs, content hash, time): "h3" twice in the batch; "h0" again in the second batch.
    items = [(obs, f"h{i if i != 7 else 3}", 10.0 + i) for i, obs in enumerate(made)]
    again = [(made[0], "h0", 50.0)] + [(obs, f"g{i}", 60 + i) for i, obs in enumerate(_observations(3, 40))]
    one, several = _store(tmp_path / "one.db", holding=holding), _store(tmp_path / "several.db", holding=holding)
    try:
        with one.write():
            rows_one = [one.store_observation(1, "proj", 1, obs, h, "heuristic", at) for obs, h, at in items]
        with one.write():
            rows_one += [one.store_observation(1, "proj", 1, obs, h, "heuristic", at) for obs, h, at in again]
        with several.write():
            rows_several = several.store_observations(1, "proj", 1, items, "heuristic")
        with several.write():
            rows_several += several.store_observations(1, "proj", 1, again, "heuristic")
        assert several.store_observations(1, "proj", 1, [], "heuristic") == []
        assert rows_several == rows_one
        assert rows_several[7] is None and rows_several[len(items)] is None  # the duplicates
        assert sum(r is not None for r in rows_several) == 18 + 3
        # Each returned row is what a reader reads back.
        stored = several.observations_for_prompt(1, 1)
        assert [r for r in rows_several if r is not None] == stored
    finally:
        one.close()
        several.close()
    assert _dump(tmp_path / "several.db") == _dump(tmp_path / "one.db")


def test_processed_tool_uses_several_to_a_statement(tmp_path):
    ids = [f"toolu_{i}" for i in range(20)] + ["toolu_3", "", "toolu_19"]
    one, several = _store(tmp_path / "one.db", holding=True), _store(tmp_path / "several.db", holding=True)
    try:
        with one.write():
            one.db.executemany("INSERT OR IGNORE INTO processed_tool_uses (session_id, tool_use_id,"
                               " processed_at) VALUES (?, ?, ?)", [(1, i, 5.0) for i in ids if i])
        with several.write():
            several.mark_tool_uses_processed(1, ids, 5.0)
            several.mark_tool_uses_processed(1, ["toolu_0", "new"], 6.0)  # the old time stays
        assert several.processed_tool_uses(1, ids + ["new"]) == {i for i in ids if i} | {"new"}
    finally:
        one.close()
        several.close()
    rows = _dump(tmp_path / "several.db")["processed_tool_uses"]
    assert rows == sorted(_dump(tmp_path / "one.db")["processed_tool_uses"] + [(1, "new", 6.0)])


def test_id_runs():
    assert id_runs([]) == []
    assert id_runs([5]) == [(5, 5)]
    assert id_runs([3, 4, 5, 9, 10, 12]) == [(3, 5), (9, 10), (12, 12)]
    assert id_runs([10, 9, 3, 5, 4]) == [(3, 5), (9, 10)]  # any order
    assert id_runs([4, 5, 4]) == [(4, 4), (5, 5), (4, 4)]  # listed twice: counted twice


def test_queue_counts_and_deletes_exactly_the_listed_rows(tmp_path):
    """Attempts are counted and rows deleted for the ids listed, runs or not, and only
    those: a gap in the ids (another session's row) is left as it was."""
    store = Store(str(tmp_path / "q.db"))
    try:
        with store.write():
            ids = [store.enqueue("PostToolUse", f'{{"n": {n}}}', 100.0 + n) for n in range(12)]
        listed = ids[0:4] + ids[5:7] + ids[9:10]
        store.mark_attempt(listed)
        store.mark_attempt(ids[2:3] + ids[2:3])  # the same row twice: two attempts
        attempts = dict(store.db.execute("SELECT id, attempts FROM pending").fetchall())
        assert attempts == {i: (1 if i in listed else 0) + (2 if i == ids[2] else 0) for i in ids}
        with store.write():
            store.delete_pending(listed)
        left = [r[0] for r in store.db.execute("SELECT id FROM pending ORDER BY id")]
        assert left == [i for i in ids if i not in listed]
        with store.write():
            store.delete_pending([])  # nothing listed, nothing deleted
        assert store.queue_stats()["pending"] == len(left)
    finally:
        store.close()


_COMMON = {"session_id": " s1 ", "cwd": "/w/proj", "transcript_path": "/t.jsonl",
           "prompt_id": "p1", "permission_mode": "default"}


@pytest.mark.parametrize("name, extra, cls", [
    ("SessionStart", {"source": "resume"}, SessionStart),
    ("SessionStart", {}, SessionStart),
    ("UserPromptSubmit", {"prompt": "fix the bug"}, UserPrompt),
    ("PostToolUse", {"tool_name": "Bash", "tool_input": {"command": "ls"},
                     "tool_response": {"stdout": "a"}, "tool_use_id": "t1", "duration_ms": 5}, ToolEvent),
    ("PostToolUse", {"tool_input": "raw"}, ToolEvent),
    ("PostToolUseFailure", {"tool_name": "Bash", "error": "Exit code 1", "is_interrupt": True}, ToolEvent),
    ("Stop", {"last_assistant_message": "done", "stop_hook_active": True}, Stop),
    ("SessionEnd", {"reason": "clear"}, SessionEnd),
    ("codex:UserPromptSubmit", {"prompt": "hi"}, UserPrompt),
])
def test_events_are_the_dataclasses_own(name, extra, cls):
    event = parse_event(name, json.dumps({**_COMMON, **extra}))
    assert type(event) is cls
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(vars(event)) == names  # every field set, in the class's order
    same = cls(**vars(event))
    assert event == same and repr(event) == repr(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.cwd = "/elsewhere"


@pytest.mark.parametrize("text", [
    '{"a": [1, 2.5, -3e2, true, false, null, "\\u00e9"]}', '  \n {"a": 1}\t\r\n ', '"x"', "[]",
    '{"a": NaN, "b": Infinity, "c": -Infinity}', '{"a": 1, "a": 2}', "12345678901234567890",
])
def test_payloads_parse_as_json_loads_parses_them(text):
    mine, theirs = boundedjson._json_loads(text), json.loads(text)
    assert repr(mine) == repr(theirs)


@pytest.mark.parametrize("text", ['{"a": 1} x', '{"a": 1', "", "   ", "{'a': 1}", '{"a": 1}{}', "nul"])
def test_text_that_is_not_json_fails_as_json_loads_fails(text):
    with pytest.raises(json.JSONDecodeError) as mine:
        boundedjson._json_loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert str(mine.value) == str(theirs.value)
    with pytest.raises(BadEvent):
        parse_event("Stop", text)


def test_deep_payloads_are_still_cut():
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(RecursionError):
        json.loads("[" * 200_000 + "]" * 200_000)
    assert boundedjson.loads(deep) == boundedjson.loads(deep)  # parses, cut at MAX_DEPTH
    value = boundedjson.loads("[" * 200_000 + "]" * 200_000)
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    assert value == boundedjson.NESTED_MARKER and depth == boundedjson.MAX_DEPTH


def test_observations_are_the_dataclasses_own():
    from claude_mem.models import Observation, observation_of

    for values in ({"type": "change", "title": "Edited x"},
                   {"type": "discovery", "title": "Read y", "facts": ("a",), "files_read": ("y",),
                    "concepts": ("read",), "subtitle": "s", "tool_name": "Read", "tool_use_id": "t"}):
        obs = observation_of(values)
        same = Observation(**values)
        assert obs == same and repr(obs) == repr(same)
        assert list(vars(obs)) == [f.name for f in dataclasses.fields(Observation)]
        with pytest.raises(dataclasses.FrozenInstanceError):
            obs.title = "other"
    with pytest.raises(TypeError):  # what the constructor refuses, refused
        observation_of({"type": "change", "title": "x", "colour": "red"})
    with pytest.raises(TypeError):
        observation_of({"type": "change"})


def test_observations_take_the_constructor_when_a_template_cannot_hold_a_default(monkeypatch):
    # A field with a ``default_factory`` (a fresh object per instance) cannot come from a
    # shared template: ``observation_of`` then builds through the dataclass itself.
    from claude_mem import models

    built = []
    real = models.Observation

    class Counting(real):
        def __init__(self, *args, **kwargs):
            built.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(models, "Observation", Counting)
    monkeypatch.setattr(models, "_TEMPLATE_HOLDS", False)
    obs = models.observation_of({"type": "change", "title": "Edited x"})
    assert built == [{"type": "change", "title": "Edited x"}]
    assert obs.facts == () and obs.title == "Edited x"


def _temp_files() -> list[str]:
    """SQLite's temporary files this process has open (unlinked at once: ``etilqs_*``)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "etilqs_" in target:
            found.append(target)
    return found


def _many_row_writes(store: Store) -> list[str]:
    """Statements that each change many pages inside one transaction (a pass's attempt
    count over its 1,000 rows, several observations an ``INSERT``); the temp files open
    right after them, before the commit."""
    with store.write():
        ids = [store.enqueue("PostToolUse", json.dumps({"out": "y" * 1200}), 1.0) for _ in range(1000)]
    with store.write():
        store.mark_attempt(ids)
        for unit in range(40):
            items = [(obs, f"h{unit}-{i}", 10.0 + unit) for i, obs in enumerate(_observations(8, unit * 8))]
            store.store_observations(1, "proj", 1, items, "heuristic")
        return _temp_files()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc")
def test_the_workers_statement_journals_stay_in_memory(tmp_path):
    """Statements writing many rows inside a transaction: a plain connection spills their
    statement journals to temporary files, the worker's keeps them in memory (round 12)."""
    from claude_mem import config
    from claude_mem.worker import Worker

    plain = _store(tmp_path / "plain.db", holding=True)
    try:
        assert _many_row_writes(plain), "the plain connection spilled nothing: the test shows nothing"
    finally:
        plain.close()
    w = Worker(config.load())
    try:
        assert w.store.db.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
        with w.store.write():
            w.store.open_session("s1", "proj", "/w/proj", 1.0)
            w.store.add_prompt(1, "p1", "fix the rounding bug", 1.0)
        assert _many_row_writes(w.store) == []
        assert w.store.db.execute("SELECT count(*) FROM observations").fetchone()[0] == 320
    finally:
        w.close()


def test_the_workers_vacuum_still_goes_to_a_file(tmp_path):
    """The one-off VACUUM of an old file (a copy of the whole database) runs with file temp
    storage; the worker's connection keeps its memory setting afterwards."""
    path = str(tmp_path / "old.db")
    plain = sqlite3.connect(path)
    plain.execute("CREATE TABLE keep (x)")
    plain.commit()
    plain.close()
    with Store(path) as store:
        store.serve_the_worker()
        seen = []
        store.db.set_trace_callback(seen.append)
        assert store.convert_to_incremental() is True
        store.db.set_trace_callback(None)
        assert seen.index("PRAGMA temp_store = FILE") < seen.index("VACUUM") < seen.index("PRAGMA temp_store = 2")
        assert store.db.execute("PRAGMA temp_store").fetchone()[0] == 2
        assert store.space_stats()["auto_vacuum"] == "incremental"
        assert store.yield_before_writes and store.hold_index_writes
