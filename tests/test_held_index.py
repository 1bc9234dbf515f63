"""Rows indexed for search at the end of their transaction (store/held_index.py, m013).

The worker's write units hold their new observations, summaries and prompts back from the
FTS5 indexes and index them with one statement per index right before COMMIT. These
tests drive two real stores through the same writes, one holding and one not, and
compare what the indexes hold (every term, row and position, FTS5's own
``integrity-check``) and what a search finds; and they count the segments a holding
transaction leaves (one per index, where each statement used to leave one).
"""
from __future__ import annotations

import pytest

from claude_mem.models import Observation, Summary
from claude_mem.store import Store
from claude_mem.store.index_merge import _varint

INDEXES = ("observations_fts", "summaries_fts", "user_prompts_fts")


def _observation(n: int, word: str) -> Observation:
    return Observation(type="change", title=f"Edited module{n} for {word}",
                       subtitle=f"src/module{n}.py", narrative=f"The {word} path now returns {n}",
                       facts=(f"Command: pytest tests/test_{word}.py", f"Outcome: {n} passed"),
                       concepts=("how-it-works",), files_read=(f"src/module{n}.py",),
                       files_modified=(f"src/module{n}.py",), tool_name="Edit",
                       tool_use_id=f"toolu_{word}_{n}")


def _summary(word: str, notes: str = "") -> Summary:
    return Summary(request=f"Fix the {word} bug", investigated=f"src/{word}.py",
                   learned=f"{word} rounds twice", completed=f"Fixed {word}", next_steps="",
                   notes=notes, files_read=(f"src/{word}.py",), files_edited=(f"src/{word}.py",))


def _segments(store, table: str) -> int:
    block = store.db.execute(f"SELECT block FROM {table}_data WHERE id = 10").fetchone()
    data = bytes(block[0]) if block else b""
    at = 8 if data[4:8] == b"\xff\x00\x00\x01" else 4
    levels, at = _varint(data, at)
    return _varint(data, at)[0] if levels else 0


def _index_contents(store) -> dict:
    """Every (term, row, column, offset) each index holds, after FTS5's own check."""
    contents = {}
    for table in INDEXES:
        store.db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        store.db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_terms"
                         f" USING fts5vocab(main, {table}, 'instance')")
        contents[table] = store.db.execute(
            f"SELECT term, doc, col, offset FROM temp.{table}_terms ORDER BY 1, 2, 3, 4"
        ).fetchall()
    return {table: [tuple(r) for r in rows] for table, rows in contents.items()}


def _write_everything(store) -> None:
    """A worker's kinds of writes, in units: new rows, a row changed and a row deleted in
    the unit that made it, a summary made again (upsert), a committed row changed and
    deleted by a later unit, and a unit that fails and is rolled back."""
    with store.write():
        session = store.open_session("s1", "proj", "/work/proj", 10.0)
        number = store.add_prompt(session["id"], "p1", "Fix the rounding bug in invoices", 10.0)
        for n in range(5):
            store.add_observation(session["id"], "proj", number, _observation(n, "rounding"),
                                  f"h{n}", "heuristic", 10.0 + n)
        store.upsert_summary(session["id"], "proj", number, _summary("rounding"), "heuristic", 11.0)
        # Made and changed in the same unit: indexed once, with its last words.
        store.upsert_summary(session["id"], "proj", number, _summary("rounding", "redone"),
                             "heuristic", 11.5)
        store.db.execute("UPDATE observations SET title = 'Renamed invoice totals' WHERE content_hash = 'h1'")
        store.db.execute("UPDATE user_prompts SET prompt = 'Fix rounding in invoice totals'"
                         " WHERE session_id = ?", (session["id"],))
        # Made and deleted in the same unit: never in the index.
        store.db.execute("DELETE FROM observations WHERE content_hash = 'h2'")
    with store.write():
        second = store.add_prompt(session["id"], "p2", "Now the currency symbol", 20.0)
        for n in range(5, 8):
            store.add_observation(session["id"], "proj", second, _observation(n, "currency"),
                                  f"h{n}", "heuristic", 20.0 + n)
        # A committed row changed and another deleted by a later unit.
        store.db.execute("UPDATE observations SET narrative = 'totals are summed once'"
                         " WHERE content_hash = 'h3'")
        store.db.execute("DELETE FROM observations WHERE content_hash = 'h4'")
        store.upsert_summary(session["id"], "proj", number, _summary("rounding", "third"),
                             "heuristic", 21.0)
    with pytest.raises(RuntimeError):
        with store.write():
            store.add_observation(session["id"], "proj", second, _observation(99, "lost"),
                                  "h99", "heuristic", 30.0)
            raise RuntimeError("a unit that fails")


@pytest.fixture
def stores(tmp_path):
    held = Store(str(tmp_path / "held.db"))
    held.hold_index_writes = True
    plain = Store(str(tmp_path / "plain.db"))
    yield held, plain
    held.close()
    plain.close()


def test_holding_indexes_the_same_words_as_indexing_each_row(stores):
    held, plain = stores
    for store in stores:
        _write_everything(store)
    memory = "SELECT * FROM {} ORDER BY id"
    for table in ("observations", "summaries", "user_prompts"):
        assert ([tuple(r) for r in held.db.execute(memory.format(table))]
                == [tuple(r) for r in plain.db.execute(memory.format(table))])
    assert _index_contents(held) == _index_contents(plain)
    assert held.db.execute("SELECT count(*) FROM fts_held").fetchone()[0] == 0
    for words in ("rounding", "renamed", "redone", "summed", "lost", "currency", "module2"):
        for store in stores:
            assert store.search(words) == plain.search(words), words
    assert [h["title"] for h in held.search("renamed")] == ["Renamed invoice totals"]
    assert held.search("lost") == [] and held.search("module2") == []


def test_a_holding_unit_leaves_one_segment_per_index(stores):
    held, plain = stores
    for store in stores:
        for table in INDEXES:  # nothing merged behind the count's back
            store.db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', 0)")
            store.db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('crisismerge', 64)")
        with store.write():
            session = store.open_session("s1", "proj", "/work/proj", 10.0)
            number = store.add_prompt(session["id"], "p1", "Fix the rounding bug", 10.0)
            for n in range(12):
                store.add_observation(session["id"], "proj", number, _observation(n, "rounding"),
                                      f"h{n}", "heuristic", 10.0 + n)
            store.upsert_summary(session["id"], "proj", number, _summary("rounding"),
                                 "heuristic", 30.0)
    # Each statement that fires a trigger inside a transaction is a savepoint, and FTS5
    # writes what it holds at each one: a segment per row without the hold.
    assert _segments(plain, "observations_fts") >= 11
    assert [_segments(held, t) for t in INDEXES] == [1, 1, 1]
    assert _index_contents(held) == _index_contents(plain)


def test_other_writers_index_at_once(stores):
    """A connection that does not hold (a CLI import, team sync) sees its rows searchable
    as soon as it commits, and the holding worker's rows are searchable once it commits."""
    held, _ = stores
    other = Store(held.path)
    try:
        with other.write():
            session = other.open_session("s9", "proj", "/work/proj", 5.0)
            other.add_observation(session["id"], "proj", 0, _observation(1, "imported"),
                                  "x1", "import", 5.0)
        assert [h["title"] for h in held.search("imported")] == ["Edited module1 for imported"]
        with held.write():
            held.add_observation(session["id"], "proj", 0, _observation(2, "worker"),
                                 "x2", "heuristic", 6.0)
            assert other.search("worker") == []  # not committed yet
        assert [h["title"] for h in other.search("worker")] == ["Edited module2 for worker"]
        assert other.db.execute("SELECT count(*) FROM fts_held").fetchone()[0] == 0
    finally:
        other.close()
