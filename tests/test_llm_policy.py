"""The LLM compressor's own policy, in process: retries, retry-after, re-asks, caps, breaker.

``FakeBackend`` (tests/fakes/fake_backend.py) plays the model, so each rule is checked by
counting calls rather than by timing a server; waits are recorded, not slept. What the
real SDKs send and how their errors map is tested end to end against the HTTP fake
(test_llm_backends.py, test_llm_faults.py).
"""
from __future__ import annotations

import pytest

from claude_mem.compress import llm as llm_module
from claude_mem.compress.base import LLMError
from claude_mem.compress.llm import REMINDER, LLMCompressor
from helpers import open_store
from llmkit import new_session, settings, tool
from tests.fakes.fake_backend import FakeBackend

LABEL = "fake:scripted"


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The pauses the compressor takes between attempts, recorded instead of slept."""
    taken: list[float] = []
    monkeypatch.setattr(llm_module.time, "sleep", taken.append)
    return taken


@pytest.fixture
def store():
    with open_store() as s:
        yield s


def make(backend: FakeBackend, store, **values) -> LLMCompressor:
    return LLMCompressor(backend, settings(**values), store)


def usage(store) -> tuple[int, int]:
    row = store.llm_usage_by_day()[0]
    return row["calls"], row["failures"]


def test_transient_failures_are_retried_with_growing_pauses(store, waits):
    backend = FakeBackend(LLMError("http 503"), LLMError("connection error"))
    made = make(backend, store, llm_max_retries=2).observe(new_session(store), [tool()])
    assert made.generated_by == LABEL and made.observations
    assert backend.calls == 3 and len(waits) == 2 and waits[1] > waits[0]
    assert usage(store) == (3, 2)  # every attempt is a call; the failed ones are failures


def test_a_failure_that_cannot_pass_is_not_retried(store, waits):
    backend = FakeBackend(LLMError("http 401", retryable=False))
    made = make(backend, store, llm_max_retries=3).observe(new_session(store), [tool()])
    assert made.generated_by == "heuristic (fallback: http 401)" and made.observations
    assert backend.calls == 1 and waits == []


def test_retry_after_is_honoured_up_to_the_cap(store, waits):
    ctx = new_session(store)
    backend = FakeBackend(LLMError("rate limited", retry_after=0.4))
    compressor = make(backend, store, llm_max_retries=2)
    assert compressor.observe(ctx, [tool()]).generated_by == LABEL
    assert waits == [0.4] and backend.calls == 2
    # Asking for longer than the cap: give up at once rather than stall the worker, and
    # rest for as long as the server asked.
    compressor.retry_after_cap = 5
    backend.replies.append(LLMError("rate limited", retry_after=60))
    assert compressor.observe(ctx, [tool()]).generated_by == "heuristic (fallback: rate limited)"
    assert waits == [0.4] and backend.calls == 3
    assert compressor.observe(ctx, [tool()]).generated_by == "heuristic (fallback: rate limited)"
    assert backend.calls == 3


def test_an_unreadable_reply_is_asked_again_once(store, waits):
    prose = "Sure! Claude ran the tests and they passed."
    ctx = new_session(store)
    backend = FakeBackend(prose, prose, "I think it went well.",
                          "<summary><request>Fix totals</request></summary>")
    compressor = make(backend, store, llm_max_retries=3)
    made = compressor.observe(ctx, [tool()])
    assert made.generated_by == "heuristic (fallback: unreadable reply)" and made.observations
    assert backend.calls == 2 and backend.turns[1].reask == (prose, REMINDER["observe"])
    summary = compressor.summarize(ctx, "done", [])
    assert summary.generated_by == LABEL and summary.summary.request == "Fix totals"
    assert backend.calls == 4 and waits == []  # a re-ask is not a failure: no pause


def test_the_call_cap_holds_across_a_restart_and_per_session(store, waits):
    ctx = new_session(store)
    backend = FakeBackend(LLMError("http 500"))  # a failed attempt counts as a call too
    compressor = make(backend, store, llm_max_calls_per_session=3, llm_max_retries=2)
    made = [compressor.observe(ctx, [tool("Bash", n)]) for n in range(4)]
    assert [m.generated_by for m in made] == [LABEL, LABEL, "heuristic (fallback: call cap)",
                                              "heuristic (fallback: call cap)"]
    assert all(m.observations for m in made)
    assert compressor.summarize(ctx, "done", []).generated_by == "heuristic (fallback: call cap)"
    assert backend.calls == 3
    # A new worker (a new compressor over the same database) keeps counting...
    again = make(backend, store, llm_max_calls_per_session=3)
    assert again.observe(ctx, [tool()]).generated_by == "heuristic (fallback: call cap)"
    # ...and another session has its own budget.
    other = new_session(store, "7f0c3c0e-0000-4000-8000-000000000002")
    assert again.observe(other, [tool()]).generated_by == LABEL
    assert backend.calls == 4 and store.llm_usage_for_session(ctx.session_id)["calls"] == 3


def test_the_token_cap_stops_a_call_before_it_is_passed(store, waits):
    ctx = new_session(store)
    backend = FakeBackend()
    compressor = make(backend, store)
    compressor.observe(ctx, [tool()])
    used = store.llm_usage_for_session(ctx.session_id)["tokens"]
    assert used > 0
    # Room for the tokens used so far, not for another request of that size.
    compressor.settings.values["llm_max_tokens_per_session"] = used + 10
    made = compressor.observe(ctx, [tool()])
    assert made.generated_by == "heuristic (fallback: token cap)" and made.observations
    assert backend.calls == 1


def test_after_a_failure_the_back_end_rests_and_work_goes_to_the_heuristic(store, waits):
    ctx = new_session(store)
    backend = FakeBackend(LLMError("timeout"), LLMError("timeout"))
    compressor = make(backend, store, llm_max_retries=1)
    assert compressor.observe(ctx, [tool()]).generated_by == "heuristic (fallback: timeout)"
    assert backend.calls == 2
    summary = compressor.summarize(ctx, "Fixed the discount.", [])
    assert summary.generated_by == "heuristic (fallback: timeout)"
    assert summary.summary.request == ctx.request
    assert backend.calls == 2  # resting: not even one attempt
    assert usage(store) == (2, 2)


def test_finalize_and_close_reach_the_back_end(store):
    ctx = new_session(store)
    backend = FakeBackend()
    compressor = make(backend, store)
    compressor.finalize(ctx, "other")
    compressor.close()
    assert backend.finalized == [ctx.session_id] and backend.closed
