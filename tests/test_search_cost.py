"""Search's cheaper forms return what the plain ones did: ``terms_held`` (which words each
hit holds, for the common-word lift) reads a rowid range and filters it by id instead of
``rowid IN (...)`` (which made FTS5 read a common word's whole list); here it is checked
against the plain per-row question, for scattered ids, on a real store."""
import random

from claude_mem import config
from claude_mem.models import Observation
from claude_mem.store import Store

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
