"""A search in one project, on a real store with several projects (sessions in turn, as real
projects interleave): the index drives it (the plan walks the FTS5 matches, newest first for
the tiers, and looks each matched row up by its id for its project; never the project's rows
probed against the index one by one, which costs ~0.2-0.6 ms a row at 100k), and its answer is
the every-project answer filtered to the project: the same rows in the same order, the same
bm25 scores. Why such a search costs more than one over every project (it walks every match
when the project holds fewer than ``limit`` of them): docs/search.md, round 12.

``EXACT_RANK_MAX_MATCHES`` is lowered so that 700 observations, 100 summaries and 100 prompts
reach both paths of every kind: the rare words' ranked query and the common words' tiers."""
from __future__ import annotations

import random

import pytest

from claude_mem import config
from claude_mem.models import Observation, Summary
from claude_mem.store import Store
from claude_mem.store import fts
from claude_mem.store import search as search_module

WORDS = "invoice ledger rounding tax discount parser cache worker queue total refund".split()
PROJECTS = [f"proj-{n}" for n in range(5)]
QUERIES = ["invoice", "invoice rounding", "tax parser total", "queue", "refund ledger cache",
           "zzz_absent invoice", '"rounding tax"', "work*", "ident_7 invoice", "ident_3"]


@pytest.fixture
def store(monkeypatch):
    monkeypatch.setattr(fts, "EXACT_RANK_MAX_MATCHES", 30)
    monkeypatch.setattr(search_module, "EXACT_RANK_MAX_MATCHES", 30)
    rng = random.Random(21)
    s = Store(config.db_path())
    with s.write():
        for n in range(100):  # sessions in turn, as real projects interleave
            project = PROJECTS[n % len(PROJECTS)]
            session = s.open_session(f"sess-{n}", project, f"/w/{project}", 1000.0 + n)
            prompt = " ".join(rng.choices(WORDS, k=4)) + f" ident_{rng.randrange(40)}"
            s.add_prompt(session["id"], f"p{n}", prompt, 1000.0 + n)
            for k in range(7):
                title = " ".join(rng.choices(WORDS, k=3)) + f" ident_{rng.randrange(40)}"
                s.add_observation(session["id"], project, 1, Observation(
                    type="change", title=title, narrative=" ".join(rng.choices(WORDS, k=8))),
                    f"h{n}-{k}", "heuristic", 1000.0 + n + k / 100)
            s.upsert_summary(session["id"], project, 1, Summary(
                request=" ".join(rng.choices(WORDS, k=3)) + f" ident_{rng.randrange(40)}",
                learned=" ".join(rng.choices(WORDS, k=6))), "heuristic", 1000.0 + n)
    yield s
    s.close()


def _statements(store, text, project):
    seen = []
    store.db.set_trace_callback(seen.append)
    try:
        store.search_keys(text, project=project, limit=20)
    finally:
        store.db.set_trace_callback(None)
    return [sql for sql in seen if "MATCH" in sql and f"= '{project}'" in sql]


def test_the_index_drives_a_one_project_search(store):
    tiers = ranked = 0
    for text in QUERIES:
        for sql in _statements(store, text, "proj-2"):
            plan = [row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql)]
            assert plan[0].startswith("SCAN f VIRTUAL TABLE"), (sql, plan)
            # every other table is reached by the matched row's id, one row each
            assert all("USING INTEGER PRIMARY KEY (rowid=?)" in step or "TEMP B-TREE" in step
                       for step in plan[1:]), (sql, plan)
            if "ORDER BY f.rowid DESC" in sql:  # the tiers: the index gives newest first
                tiers += 1
                assert not any("TEMP B-TREE" in step for step in plan), (sql, plan)
            else:
                ranked += 1
    assert tiers and ranked  # both paths were planned


def test_one_project_is_the_every_project_answer_filtered(store):
    project = "proj-3"
    mine = {name: {row[0] for row in store.db.execute(sql, (project,))} for name, sql in (
        ("observation", "SELECT id FROM observations WHERE project = ?"),
        ("summary", "SELECT id FROM summaries WHERE project = ?"),
        ("prompt", "SELECT p.id FROM user_prompts p JOIN sessions s ON s.id = p.session_id"
                   " WHERE s.project = ?"))}
    checked, paths = 0, set()
    for name, kind in fts.KINDS.items():
        for text in QUERIES:
            terms = fts.query_terms(text)
            common = [t for t in terms if store._is_common(kind, t)]
            if common and len(common) == len(terms):  # tiers: newest first, tier by tier
                every = [rowid for rowid, _ in store.tier_ids(kind, terms, None, 10_000, -1.0)]
                scoped = [rowid for rowid, _ in store.tier_ids(kind, terms, project, 15, -1.0)]
                assert scoped == [r for r in every if r in mine[name]][:15], (name, text)
            else:  # bm25 of every matching row, best first: the same scores in the project
                query = " OR ".join(terms)
                every = store._ranked_ids(kind, query, None, 10_000)
                scoped = store._ranked_ids(kind, query, project, 15)
                expected = [pair for pair in every if pair[0] in mine[name]][:15]
                assert [s for _, s in scoped] == [s for _, s in expected], (name, text)
                if scoped:  # the same rows (a row tied with the last one may stand in)
                    last = scoped[-1][1]
                    assert {r for r, s in scoped if s != last} == \
                        {r for r, s in expected if s != last}, (name, text)
            checked += bool(scoped)
            paths.add((name, bool(common and len(common) == len(terms))))
    assert checked >= 10
    assert len(paths) == 6, paths  # each kind, through the tiers and through bm25



def test_the_first_tier_from_one_walk_is_the_two_walks_answer(store, monkeypatch):
    """``_main_from_every`` (one walk of the every-word tier, the title tier found among its
    rows in a temporary index) against the tiers walked one by one, for every question,
    project and limit, forced each way: the same rows, scores and every-word rows."""
    def tiers(kind, terms, project, limit, one_walk):
        monkeypatch.setattr(fts.IndexRoom, "_few_in_project", lambda *a: one_walk)
        every: set = set()
        rows = store.tier_ids(kind, terms, project, limit, -1.0, every_word=every)
        return rows, every

    monkeypatch.setattr(fts, "PROBE_LEAST", 1)  # small limits too (the store is small)
    walks = []
    real = fts.IndexRoom._main_from_every
    monkeypatch.setattr(fts.IndexRoom, "_main_from_every",
                        lambda self, *a: walks.append(real(self, *a)) or walks[-1])
    compared = 0
    for name in ("observation", "summary"):
        kind = fts.KINDS[name]
        for text in QUERIES + ["invoice ledger tax", "total", "cache worker queue refund"]:
            terms = fts.query_terms(text)
            for project in PROJECTS[:3] + ["nowhere"]:
                for limit in (1, 3, 10, 40, 200):
                    plain = tiers(kind, terms, project, limit, False)
                    assert tiers(kind, terms, project, limit, True) == plain, (name, text, limit)
                    compared += bool(plain[0])
    assert compared > 100
    # both ways of the first tier were taken: found in the walk, and read after it
    assert any(first is not None for first, _ in walks)
    assert any(first is None for first, _ in walks)
    assert any(first for first, _ in walks)
