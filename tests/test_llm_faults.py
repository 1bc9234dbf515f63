"""When the model fails, memory does not: fault injection against the real LLM clients.

Every fault a server can produce (a hang, 500, 529, 429, a body that is not JSON, prose
instead of XML) ends in stored observations and a summary made by the heuristic, with
``generated_by`` saying so, through the real SDKs, hooks and worker. The compressor's
policy itself (retries, retry-after, re-asks, caps, the breaker) is tested in process in
test_llm_policy.py.
"""
from __future__ import annotations

import pytest

from claude_mem.compress.heuristic import HeuristicCompressor
from helpers import open_store, run_hook, wait_until_drained
from llmkit import (SESSION_A, claude_pids, compressor, last_user_text, needs_cli,
                    new_session, recorder_script, replay_with_anthropic, tool)
from tests.fakes.fake_llm_server import Fault, FakeLLMServer, Text


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-dummy")


def heuristic_titles(ctx, events):
    return [o.title for o in HeuristicCompressor().observe(ctx, events).observations]


FAULTS = [
    (Fault.http(500), "http 500"),
    (Fault.http(529), "http 529"),
    (Fault.http(429, retry_after=0), "rate limited"),
    (Fault.garbage(), "garbage reply"),
    (Fault.hang(), "timeout"),
]


@pytest.mark.parametrize("backend", ["anthropic", "openai"])
@pytest.mark.parametrize("fault,reason", FAULTS, ids=[r for _, r in FAULTS])
def test_a_failing_server_falls_back_to_heuristic_and_rests(backend, fault, reason):
    with FakeLLMServer(recorder_script(), fault=fault) as srv, open_store() as store:
        ctx = new_session(store)
        llm = compressor(backend, srv, store, llm_max_retries=1, llm_timeout_seconds=0.5)
        events = [tool("Read"), tool("Bash", 2)]
        made = llm.observe(ctx, events)
        assert made.generated_by == f"heuristic (fallback: {reason})"
        assert [o.title for o in made.observations] == heuristic_titles(ctx, events)
        assert srv.model_request_count == 2  # the first attempt and one retry
        # The back-end now rests: the next work goes straight to the heuristic, no request.
        summary = llm.summarize(ctx, "Fixed the discount.", [])
        assert summary.summary is not None and summary.summary.request == ctx.request
        assert summary.generated_by == f"heuristic (fallback: {reason})"
        assert srv.model_request_count == 2
        row = store.db.execute("SELECT calls, failures FROM llm_usage").fetchone()
        assert (row["calls"], row["failures"]) == (2, 2)


def test_prose_instead_of_xml_is_asked_again_once_then_falls_back():
    prose = "Sure! Claude ran the tests and they passed."
    with FakeLLMServer(Text(prose)) as srv, open_store() as store:
        ctx = new_session(store)
        llm = compressor("openai", srv, store, llm_max_retries=3)
        made = llm.observe(ctx, [tool()])
        assert made.generated_by == "heuristic (fallback: unreadable reply)" and made.observations
        assert srv.model_request_count == 2
        again = srv.model_requests[1].body["messages"]
        assert again[-2] == {"role": "assistant", "content": prose}
        assert "<skip/>" in again[-1]["content"]
        summary = llm.summarize(ctx, "done", [])
        assert summary.generated_by == "heuristic (fallback: no summary)"
        assert summary.summary.request == ctx.request
        assert srv.model_request_count == 4


def test_faults_through_hooks_and_worker_lose_nothing(monkeypatch, recorded):
    """The worker with a dead endpoint: every event is still remembered, every request
    summarized, and nothing is left in the queue."""
    events = [(e, p) for e, p in recorded if p["session_id"] == SESSION_A]
    with FakeLLMServer(recorder_script(), fault=Fault.http(500)) as srv:
        replay_with_anthropic(monkeypatch, srv, events, llm_max_retries=0)
        with open_store() as store:
            session = store.session_by_claude_id(SESSION_A)
            assert session["status"] == "completed"
            rows = store.db.execute("SELECT generated_by, tool_name FROM observations").fetchall()
            summaries = store.db.execute("SELECT generated_by FROM summaries").fetchall()
            assert store.queue_stats() == {**store.queue_stats(), "pending": 0, "parked": 0}
            failures = store.db.execute("SELECT SUM(failures) FROM llm_usage").fetchone()[0]
        # Each non-skipped tool event became an observation, as the heuristic alone makes them.
        tools = [p["tool_name"] for e, p in events if e.startswith("PostToolUse")]
        assert sorted(r["tool_name"] for r in rows) == sorted(t for t in tools if t != "ToolSearch")
        assert {r["generated_by"] for r in rows} == {"heuristic (fallback: http 500)"}
        assert len(summaries) == 2
        assert {s["generated_by"] for s in summaries} == {"heuristic (fallback: http 500)"}
        assert failures == srv.model_request_count >= 1


@needs_cli
def test_claude_agent_failures_fall_back_and_leave_no_process():
    with FakeLLMServer(recorder_script()) as srv, open_store() as store:
        ctx = new_session(store)
        assert claude_pids() == set()
        llm = compressor("claude", srv, store, llm_max_retries=1, llm_timeout_seconds=1.0)
        try:
            # One 500, then the retry on a fresh agent succeeds.
            srv.fail_next(Fault.http(500))
            made = llm.observe(ctx, [tool()])
            assert made.generated_by == "claude:claude-haiku-4-5"
            assert srv.model_request_count == 2
            retried = last_user_text(srv.model_requests[1].body)
            assert "New request #1" in retried  # the new agent got the init prompt again
            assert len(llm.backend.pids()) == 1
            # The model hangs: the CLI's own timeout, then our retry, then the heuristic.
            srv.fault = Fault.hang()
            made = llm.observe(ctx, [tool("Read")])
            assert made.generated_by == "heuristic (fallback: timeout)" and made.observations
            assert srv.model_request_count == 4
            assert llm.backend.pids() == []  # the failed agent is gone, not left waiting
            summary = llm.summarize(ctx, "done", [])
            assert summary.generated_by == "heuristic (fallback: timeout)"
            assert summary.summary.request == ctx.request
        finally:
            llm.close()
        assert claude_pids() == set()
        row = store.db.execute("SELECT calls, failures FROM llm_usage").fetchone()
        assert (row["calls"], row["failures"]) == (4, 3)


@needs_cli
def test_claude_backend_inside_the_worker_leaves_no_process(monkeypatch, recorded):
    """The real worker with the claude back-end: the agent lives while its session is open
    and is gone once the worker stops (no SessionEnd came)."""
    from claude_mem import control

    events = [(e, p) for e, p in recorded if p["session_id"] == SESSION_A]
    first_request = events[:next(i for i, (e, _) in enumerate(events) if e == "SessionEnd")]
    assert claude_pids() == set()
    with FakeLLMServer(recorder_script()) as srv:
        monkeypatch.setenv("CLAUDE_MEM_COMPRESSOR", "claude")
        monkeypatch.setenv("CLAUDE_MEM_LLM_BASE_URL", srv.url)
        for event, payload in first_request:
            assert run_hook(event, payload).returncode == 0
        wait_until_drained()
        with open_store() as store:
            rows = store.db.execute("SELECT DISTINCT generated_by FROM observations").fetchall()
            summaries = store.db.execute("SELECT generated_by FROM summaries").fetchall()
        assert [r[0] for r in rows] == ["claude:claude-haiku-4-5"]
        assert [s[0] for s in summaries] == ["claude:claude-haiku-4-5"]
        assert len(claude_pids()) == 1  # the session's agent, still open
        assert control.stop_worker()
    assert claude_pids() == set()
