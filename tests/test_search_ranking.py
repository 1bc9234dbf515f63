"""Search ranking: exact bm25 for one rare word (the same hits as the plain query);
several words: rows holding more of the distinct words, weighted by rarity, first, bm25
between rows holding as much; relevance tiers, newest first, once a word is common
(bounded cost at any size)."""
from __future__ import annotations

import random

import pytest

from claude_mem import config
from claude_mem.models import Observation, Summary
from claude_mem.store import Store, fts_query
from claude_mem.store import fts
from claude_mem.store import search as search_module

WORDS = "invoice ledger rounding tax discount parser cache worker queue total refund".split()


@pytest.fixture
def store():
    s = Store(config.db_path())
    rng = random.Random(7)
    with s.write():
        for n in range(6):
            project = f"proj-{n % 2}"
            session = s.open_session(f"sess-{n}", project, f"/w/{project}", 1000.0 + n)
            for p in range(1, 4):
                s.add_prompt(session["id"], f"p{n}-{p}", f"fix the {rng.choice(WORDS)} bug", 1000.0 + n)
                for k in range(6):
                    words = " ".join(rng.choices(WORDS, k=4))
                    s.add_observation(session["id"], project, p, Observation(
                        type="discovery", title=f"Read {words}" if k % 2 else f"Ran tests for {words}",
                        facts=(f"{rng.choice(WORDS)} {rng.choice(WORDS)}",),
                        narrative=" ".join(rng.choices(WORDS, k=12))),
                        f"h{n}-{p}-{k}", "heuristic", 1000.0 + n * 100 + p * 10 + k)
                s.upsert_summary(session["id"], project, p, Summary(
                    request=f"fix {rng.choice(WORDS)}", learned=" ".join(rng.choices(WORDS, k=5))),
                    "heuristic", 1000.0 + n)
    yield s
    s.close()


def plain_bm25(store, text, project, limit):
    """The query every search ran before tiers existed: bm25 over all matches. ``text``
    is plain words (any of them, as search reads them) or a raw MATCH with quotes."""
    match = text if '"' in text else fts_query(text)
    sql = ("SELECT o.id, bm25(observations_fts, " + fts.OBSERVATION_WEIGHTS + ") AS score"
           " FROM observations_fts JOIN observations o ON o.id = observations_fts.rowid"
           " WHERE observations_fts MATCH ?" + (" AND o.project = ?" if project else "")
           + " ORDER BY score LIMIT ?")
    args = (match, project, limit) if project else (match, limit)
    return [row["id"] for row in store.db.execute(sql, args)]


@pytest.mark.parametrize("text", ["invoice", "refund", "pars*", '"rounding tax"'])
@pytest.mark.parametrize("project", [None, "proj-1"])
def test_one_rare_term_gives_exactly_the_plain_bm25_ranking(store, text, project):
    hits = store.search(text, project=project, kinds=("observation",), limit=10)
    assert [h["id"] for h in hits] == plain_bm25(store, text, project, 10)
    assert hits, "the corpus is built so that every query matches"


def test_common_terms_rank_title_matches_first_newest_first(store, monkeypatch):
    monkeypatch.setattr(search_module, "EXACT_RANK_MAX_MATCHES", 5)
    hits = store.search("invoice", kinds=("observation",), limit=15)
    assert len(hits) == 15
    in_title = ["invoice" in h["title"] for h in hits]
    # every title hit comes before every other hit ...
    assert in_title == sorted(in_title, reverse=True)
    titled = store.db.execute("SELECT count(*) FROM observations WHERE title LIKE '%invoice%'").fetchone()[0]
    assert sum(in_title) == min(15, titled)
    # ... and inside each tier the newest comes first
    for tier in (True, False):
        ids = [h["id"] for h, t in zip(hits, in_title) if t is tier]
        assert ids == sorted(ids, reverse=True)
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores)


def test_common_terms_respect_the_project_and_the_limit(store, monkeypatch):
    monkeypatch.setattr(search_module, "EXACT_RANK_MAX_MATCHES", 3)
    hits = store.search("invoice", project="proj-0", limit=7)
    assert len(hits) == 7
    assert {h["project"] for h in hits} == {"proj-0"}
    everything = store.search("invoice", project="proj-0", limit=1000)
    assert len({(h["kind"], h["id"]) for h in everything}) == len(everything)


def test_a_common_and_a_rare_term_rank_the_rare_one_and_lift_rows_holding_both(store, monkeypatch):
    monkeypatch.setattr(search_module, "EXACT_RANK_MAX_MATCHES", 5)
    hits = store.search("invoice tax", kinds=("observation",), limit=500)
    holding = set(plain_bm25(store, "invoice OR tax", None, 10_000))
    assert {h["id"] for h in hits} == holding  # any of the words, every such row
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores)


def test_every_word_common_gives_tiers_all_words_before_any_word(store, monkeypatch):
    monkeypatch.setattr(search_module, "EXACT_RANK_MAX_MATCHES", 3)
    hits = store.search("invoice ledger", kinds=("observation",), limit=10_000)
    both = set(plain_bm25(store, '"invoice" "ledger"', None, 10_000))  # AND, the old meaning
    either = set(plain_bm25(store, "invoice OR ledger", None, 10_000))
    assert {h["id"] for h in hits} == either and both < either
    ranks = [h["id"] in both for h in hits]
    assert ranks == sorted(ranks, reverse=True)  # rows holding both words come first
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores)


@pytest.mark.parametrize("question, terms", [
    ("why did pytest fail", ['"pytest"', '"fail"']),
    ("What did we decide about the token store?", ['"decide"', '"token"', '"store"']),
    ('"exit code 2" tests*', ['"exit code 2"', '"tests"*']),
    ("why did", ['"why"', '"did"']),  # only stop words: kept, not an empty query
    ('say "unbalanced', ['"say"', '"unbalanced"']),
    ("fail FAIL fail?", ['"fail"']),
])
def test_a_question_becomes_its_content_words(question, terms):
    assert search_module.query_terms(question) == terms
    assert fts_query(question) == " OR ".join(terms)


def test_a_question_in_plain_words_finds_rows_holding_some_of_its_words(store):
    hits = store.search("why did the refund parser break?", kinds=("observation",), limit=5)
    assert hits, "any of the words, not all of them"
    assert all("refund" in h["text"] or "parser" in h["text"] for h in hits)
    top = hits[0]["text"]
    assert "refund" in top and "parser" in top  # holding both words ranks first


def _memory(rows):
    """A store holding ``rows``: (project, title, narrative) observations, one session each
    project, in order (later rows are newer)."""
    s = Store(config.db_path())
    sessions = {}
    with s.write():
        for n, (project, title, narrative) in enumerate(rows):
            if project not in sessions:
                sessions[project] = s.open_session(f"s-{project}", project, f"/w/{project}", 1.0)
            s.add_observation(sessions[project]["id"], project, 1, Observation(
                type="discovery", title=title, narrative=narrative), f"h{n}", "heuristic",
                10.0 + n)
    return s


FILLER = [("other", f"Read notes part {n}", "release notes and changelog entries") for n in range(40)]


def test_a_row_holding_more_of_the_questions_words_outranks_one_repeating_a_word():
    s = _memory(FILLER + [
        ("app", "pytest pytest pytest", "pytest run"),
        ("app", "Ran the suite", "the fixture timed out: timeout in pytest after 30 s"),
    ])
    try:
        hits = s.search("why did the pytest fixture timeout?", limit=5)
        assert hits[0]["title"] == "Ran the suite"  # pytest + fixture + timeout
        assert hits[1]["title"] == "pytest pytest pytest"  # one word, however often
        assert [h["score"] for h in hits] == sorted(h["score"] for h in hits)
    finally:
        s.close()


def test_rarer_words_weigh_more_than_common_ones_in_what_a_row_holds():
    # "tests" is in every filler row, "deadlock" and "scheduler" in one row each.
    common = [("other", f"Ran tests {n}", "tests passed") for n in range(30)]
    s = _memory(common + [
        ("app", "Ran tests of the scheduler", "tests passed: scheduler ok"),
        ("app", "Found a deadlock in the scheduler", "two locks taken in opposite order"),
    ])
    try:
        hits = s.search("which tests hit the scheduler deadlock", limit=3)
        # two rare words beat one rare word plus a common one
        assert hits[0]["title"] == "Found a deadlock in the scheduler"
        assert hits[1]["title"] == "Ran tests of the scheduler"
    finally:
        s.close()


def test_a_summary_holding_every_word_outranks_observations_holding_one():
    s = _memory(FILLER + [("app", f"Edited config {n}", "bumped the retry count") for n in range(5)])
    try:
        with s.write():
            session = s.open_session("s-app", "app", "/w/app", 1.0)
            s.upsert_summary(session["id"], "app", 1, Summary(
                request="make uploads survive flaky networks",
                learned="retry with exponential backoff on upload timeouts"), "heuristic", 99.0)
        hits = s.search("how did we make the upload retry backoff work", limit=3)
        assert hits[0]["kind"] == "summary"
        assert {h["kind"] for h in hits[1:]} == {"observation"}
    finally:
        s.close()


def test_rows_holding_as_much_keep_the_bm25_order(store):
    # Every row of this corpus holds both words (or neither): coverage ties, bm25 decides.
    text = "invoice ledger"
    holding_both = set(plain_bm25(store, '"invoice" "ledger"', None, 10_000))
    hits = store.search(text, kinds=("observation",), limit=len(holding_both))
    assert {h["id"] for h in hits} == holding_both
    bm25 = plain_bm25(store, '"invoice" "ledger"', None, 10_000)
    assert [h["id"] for h in hits] == bm25


def test_term_frequency_is_exact_below_the_probe_and_estimated_above(store, monkeypatch):
    exact = store.db.execute("SELECT count(*) FROM observations_fts WHERE observations_fts"
                             " MATCH 'invoice'").fetchone()[0]
    assert store.term_frequency("observation", '"invoice"') == exact
    monkeypatch.setattr(search_module, "EXACT_RANK_MAX_MATCHES", 5)
    estimate = store.term_frequency("observation", '"invoice"')
    assert estimate >= 6  # more than the probe read
    assert exact / 3 <= estimate <= exact * 3  # from how far back the newest matches reach
    assert store.term_frequency("observation", '"nosuchword"') == 0


def test_a_common_word_still_counts_in_what_a_row_holds(monkeypatch):
    # With "tests" common (more matches than the exact-rank bound), the candidates come
    # from "scheduler" alone, and holding "tests" as well still ranks a row first.
    monkeypatch.setattr(search_module, "EXACT_RANK_MAX_MATCHES", 5)
    s = _memory([("other", f"Ran tests {n}", "tests passed") for n in range(30)] + [
        ("app", "scheduler scheduler", "the scheduler queue"),
        ("app", "Ran tests of the scheduler", "tests passed"),
        ("app", "scheduler notes", "scheduler design"),
    ])
    try:
        assert s.term_frequency("observation", '"tests"') > 5
        hits = s.search("scheduler tests", kinds=("observation",), limit=5)
        assert hits[0]["title"] == "Ran tests of the scheduler"
        assert {h["title"] for h in hits[1:3]} == {"scheduler scheduler", "scheduler notes"}
        # rows holding only the common word come after every row holding the rare one
        assert all(h["title"].startswith("Ran tests ") for h in hits[3:])
    finally:
        s.close()


def test_a_large_limit_returns_every_matching_row_once():
    s = _memory([("app", f"Ran invoice check {n}", "refund ok" if n % 3 else "nothing")
                 for n in range(700)])
    try:
        everything = s.search("invoice refund", limit=10_000)
        keys = [(h["kind"], h["id"]) for h in everything]
        assert len(keys) == len(set(keys)) == 700  # read in chunks below SQLite's variable limit
        holding_both = [h for h in everything if "refund" in h["text"]]
        assert everything[:len(holding_both)] == holding_both  # both words before one
    finally:
        s.close()


def test_a_common_words_title_rows_come_first_newest_first(monkeypatch):
    # "deploy" is common among observations (tiers: every word in the title, newest first)
    # and rare among summaries (bm25): the title rows still lead, as the best bm25 row would.
    monkeypatch.setattr(search_module, "EXACT_RANK_MAX_MATCHES", 5)
    s = _memory([("app", f"Ran deploy {n}", "rollout") for n in range(10)]
                + [("app", f"Read notes {n}", "the deploy checklist") for n in range(3)])
    try:
        with s.write():
            session = s.open_session("s-app", "app", "/w/app", 1.0)
            s.upsert_summary(session["id"], "app", 1, Summary(request="check the rollout",
                                                              learned="deploy works"), "heuristic", 5.0)
        hits = s.search("deploy", limit=20)
        titles = [h["title"] for h in hits]
        assert titles[:10] == [f"Ran deploy {n}" for n in reversed(range(10))]
        assert "check the rollout" in titles and len(hits) == 14
    finally:
        s.close()
