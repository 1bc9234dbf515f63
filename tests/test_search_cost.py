"""Search's cheaper forms return what the plain ones did: ``terms_held`` (which words each
hit holds, for the common-word lift) reads a rowid range and filters it by id instead of
``rowid IN (...)`` (which made FTS5 read a common word's whole list); here it is checked
against the plain per-row question, for scattered ids, on a real store. ``idf_weights``
(prompt recall's word weights, logs taken by SQLite) equal ``idf`` (``math.log``) exactly,
with SQLite's ``ln()`` and without it; ``term_matches`` counts what a plain count does."""
import random

from claude_mem import config
from claude_mem.models import Observation
from claude_mem.store import Store
from claude_mem.store import fts

WORDS = "invoice ledger rounding tax discount parser cache worker queue total".split()


def test_terms_held_is_the_per_row_answer_for_scattered_ids():
    rng = random.Random(11)
    with Store(config.db_path()) as store:
        with store.write():
            session = store.open_session("s", "proj", "/w/proj", 1000.0)
            for n in range(300):
                store.add_observation(session["id"], "proj", 1, Observation(
                    type="discovery", title=" ".join(rng.choices(WORDS, k=3))),
                    f"h{n}", "heuristic", 1000.0 + n)
        ids = sorted(rng.sample(range(1, 301), 25)) + [99999]  # one id with no row at all
        terms = ['"invoice"', '"tax"', '"worker"']
        held = store.terms_held("observation", ids, terms)
        for row_id in ids:
            expected = {term for term in terms if store.db.execute(
                "SELECT 1 FROM observations_fts WHERE observations_fts MATCH ? AND rowid = ?",
                (term, row_id)).fetchone()}
            assert held.get(row_id, set()) == expected, row_id
        assert set(held) <= set(ids)
        assert store.terms_held("observation", [], terms) == {}


def test_idf_weights_are_exactly_idf_with_and_without_sqlite_ln(monkeypatch):
    counts = {f'"w{n}"': n for n in (0, 1, 2, 7, 50, 199, 200, 201)}
    with Store(config.db_path()) as store:
        for rows in (1, 10, 201, 12345, 100000, 10**9):
            expected = {term: fts.idf(rows, n) for term, n in counts.items()}
            assert store.idf_weights(rows, counts) == expected
            monkeypatch.setattr(fts, "_sql_ln", False)  # as without the math functions
            assert store.idf_weights(rows, counts) == expected
            monkeypatch.setattr(fts, "_sql_ln", True)
        assert store.idf_weights(10, {}) == {}


def test_term_matches_counts_up_to_its_cap():
    with Store(config.db_path()) as store:
        with store.write():
            session = store.open_session("s", "proj", "/w/proj", 1000.0)
            for n in range(30):
                store.add_observation(session["id"], "proj", 1, Observation(
                    type="discovery", title=f"row {n} {'even' if n % 2 == 0 else 'odd'}"),
                    f"h{n}", "heuristic", 1000.0 + n)
        assert store.term_matches("observation", '"even"') == 15
        assert store.term_matches("observation", '"row"', 11) == 11
        assert store.term_matches("observation", '"absent"') == 0
        assert store.indexed_rows("observation") == 30


def test_the_common_word_lift_reads_only_rows_that_meet_the_rare_words():
    """Prompt recall's search with rare and common words lifts its hits by the common words they hold,
    asking FTS5 for ``common AND (rare ...)``: the same answer as asking for the common word
    alone over the hits' rowid range, without reading the common word's rows between them
    (hits of one project spread over a table several projects share)."""
    rng = random.Random(5)
    with Store(config.db_path()) as store:
        with store.write():
            sessions = {p: store.open_session(f"s-{p}", p, f"/w/{p}", 1000.0) for p in ("a", "b")}
            for n in range(600):
                project = "a" if n % 50 == 0 else "b"
                title = " ".join(rng.choices(WORDS, k=3)) + (" zeppelin" if project == "a" else "")
                store.add_observation(sessions[project]["id"], project, 1,
                                      Observation(type="discovery", title=title),
                                      f"h{n}", "heuristic", 1000.0 + n)
        rows_read = []
        store.db.set_trace_callback(lambda sql: rows_read.append(sql) if "BETWEEN" in sql else None)
        terms = ['"zeppelin"', '"invoice"']
        counts = {term: store.term_matches("observation", term) for term in terms}
        assert counts['"invoice"'] > 50 >= counts['"zeppelin"']  # common and rare, below
        ids = [hit["id"] for hit in store.search_terms("observation", terms, project="a",
                                                       limit=20, counts=counts, common_above=50)]
        store.db.set_trace_callback(None)
        assert len(ids) == 12 and rows_read, "the lift ran over the rare word's hits"
        assert all("zeppelin" in sql for sql in rows_read), rows_read  # common AND (rare)
        held = store.terms_held("observation", ids, ['"invoice"'], within=['"zeppelin"'])
        plain = store.terms_held("observation", ids, ['"invoice"'])
        assert held == plain and held
