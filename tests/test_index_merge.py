"""The search index merged out of the commits (store/index_merge.py): FTS5's automerge is
off once the worker has started, the worker's steps merge what the commits leave, and
merges beside a writing process (positive ones here, ``forget``'s bounded negative ones)
leave every index intact (FTS5's own ``integrity-check``, against the content tables).

How long a step holds the lock is measured by ``bench/lock_budget.py``, never here."""
from __future__ import annotations

import subprocess
import sys
import time

from claude_mem import config
from claude_mem.housekeeping import Housekeeping
from claude_mem.models import Observation
from claude_mem.presence import HookPresence
from claude_mem.store import Store
from claude_mem.store.forgetting import _MAX_NEW_LEVELS, FTS_TABLES
from helpers import fill_edits, wait_for

# A process that stores observations one small transaction at a time (as a worker does)
# until it has stored ``rows`` of them; each one's title carries its number.
_WRITER = """
import sys, time
from claude_mem.models import Observation
from claude_mem.store import Store
path, project, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = Store(path)
session = store.open_session(project + "-writer", project, "/w/" + project, time.time())
for n in range(rows):
    with store.write():
        store.add_observation(session["id"], project, 1, Observation(
            type="change", title=f"writer row {n} zzw{n}", narrative=f"wrote {n} of {rows}",
            facts=(f"fact {n}",), tool_name="Edit"), f"w{n}", "heuristic", time.time())
store.close()
"""




def _automerge(store, table: str):
    row = store.db.execute(f"SELECT v FROM {table}_config WHERE k = 'automerge'").fetchone()
    return None if row is None else row[0]


def _check_indexes(store) -> None:
    for table in FTS_TABLES:  # raises on any mismatch with the content table
        store.db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
    assert store.integrity() == "ok"


def _writer(path: str, project: str, rows: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _WRITER, path, project, str(rows)])


def test_the_worker_turns_automerge_off_once_and_merges_in_steps():
    with Store(config.db_path()) as store:
        assert all(_automerge(store, t) is None for t in FTS_TABLES)  # FTS5's default: on
        housekeeping = Housekeeping(store, HookPresence())
        assert all(_automerge(store, t) == 0 for t in FTS_TABLES)
        assert not store.defer_index_merges()  # already off: nothing written
        # Small transactions now leave their segments unmerged (below FTS5's crisis merge).
        fill_edits(store, "p", 12, 3, commit_each_session=True)
        segments = store.db.execute("SELECT count(*) FROM observations_fts_data").fetchone()[0]
        housekeeping.after_work()  # one step right after a pass
        wait_for(lambda: (housekeeping.when_idle(), not housekeeping.merge_due)[1], 15,
                 what="the worker's merge steps to find nothing left")
        merged = store.db.execute("SELECT count(*) FROM observations_fts_data").fetchone()[0]
        assert merged < segments
        # A level is merged once it holds two segments (usermerge 2): each search looks
        # every word up in every segment.
        for table in FTS_TABLES:
            assert store.index_segments(table) <= store.index_levels(table), table
        assert store.index_segments("observations_fts") >= 1
        assert len(store.search("zzqp", limit=100)) == 36
        _check_indexes(store)
    with Store(config.db_path()) as again:  # kept in the database, for every connection
        assert all(_automerge(again, t) == 0 for t in FTS_TABLES)
        assert all(again.db.execute(f"SELECT v FROM {t}_config WHERE k = 'usermerge'"
                                    ).fetchone()[0] == 2 for t in FTS_TABLES)


def test_merge_steps_beside_a_writing_process_keep_the_index_intact():
    path = config.db_path()
    with Store(path) as store:
        fill_edits(store, "base", 20, 10, commit_each_session=True)
        store.defer_index_merges()
        writer = _writer(path, "live", 1500)
        steps = merged = 0
        try:
            while writer.poll() is None:
                result = store.merge_index_step()
                steps += 1
                merged += bool(result)
        finally:
            writer.wait(120)
        assert writer.returncode == 0
        while store.merge_index_step():
            steps += 1
        assert merged > 0 and store.merge_index_step() is False
        # Every row the writer stored is found, and the indexes match their tables.
        assert store.db.execute("SELECT count(*) FROM observations WHERE project = 'live'"
                                ).fetchone()[0] == 1500
        assert store.search("zzw1499", limit=5) and store.search("zzw0", limit=5)
        _check_indexes(store)


def test_forget_beside_a_writing_process_adds_few_levels_and_keeps_the_index_intact():
    path = config.db_path()
    with Store(path) as store:
        fill_edits(store, "big", 30, 20, commit_each_session=True)
        store.defer_index_merges()
        levels = {t: store.index_levels(t) for t in FTS_TABLES}
        writer = _writer(path, "live", 2000)
        try:
            counts = store.forget_project("big")
            store.merge_search_index()
        finally:
            writer.wait(120)
        assert writer.returncode == 0 and counts["observations"] == 600
        for table in FTS_TABLES:
            # Each forget's incremental optimize may add levels; it stops before many.
            assert store.index_levels(table) <= levels[table] + 2 * (_MAX_NEW_LEVELS + 1)
        assert store.search("zzqbig") == [] and store.search("zzw1999", limit=5)
        _check_indexes(store)


def test_an_index_grown_to_many_levels_is_rebuilt_by_forget_and_stays_searchable(monkeypatch):
    # Round 14: each forget's incremental optimize beside a writer may add levels, and
    # levels are never taken away; past 2,000 FTS5 refuses the index. Levels are grown
    # here as a writer between a forget's steps grows them: a new segment, then a
    # negative merge, again and again.
    from claude_mem.store import forgetting

    monkeypatch.setattr(forgetting, "_REBUILD_LEVELS", 12)
    with Store(config.db_path()) as store:
        fill_edits(store, "gone", 2, 5)
        fill_edits(store, "kept", 2, 5)
        store.defer_index_merges()
        session = store.open_session("grower", "kept", "/w/kept", time.time())
        for n in range(40):
            with store.write():  # a segment of its own; a one-page negative merge every 5th
                store.add_observation(session["id"], "kept", 1, Observation(
                    type="change", title=f"grown row zzg{n}",
                    narrative=" ".join(f"g{n}w{k}" for k in range(200)), facts=(),
                    tool_name="Edit"), f"g{n}", "heuristic", time.time())
            if n % 5 == 4:  # a merge still going when the next segments come: a new level
                with store.write():
                    store.db.execute("INSERT INTO observations_fts(observations_fts, rank)"
                                     " VALUES ('merge', -1)")
        grown = store.index_levels("observations_fts")
        assert grown >= 12, grown
        counts = store.forget_project("gone")
        assert counts["observations"] == 10
        store.merge_search_index()
        assert store.index_levels("observations_fts") <= 2  # rebuilt: levels taken away
        assert store.search("zzqgone") == [] and store.search("zzg39", limit=5)
        assert len(store.search("grown", limit=100)) == 40
        _check_indexes(store)
