"""The LLM compression back-ends against a fake model server on 127.0.0.1.

``anthropic`` and ``openai`` run their real client packages; ``claude`` runs the real bundled
Claude Code CLI through the real Agent SDK with ANTHROPIC_BASE_URL pointing at the fake.
Assertions are on what the server received (system prompt, event data, ``"tools": []``), on
what was produced (``generated_by``), on the usage rows, and on process ids (no CLI process
outlives ``finalize``/``close``). The end-to-end test replays a recorded Claude Code session
through the real hook processes and the real worker with ``CLAUDE_MEM_COMPRESSOR=anthropic``.
"""
from __future__ import annotations

import json
import os
import shlex
import sys

import pytest

from claude_mem import health, install
from claude_mem.compress import make_compressor, prompts
from claude_mem.compress.heuristic import HeuristicCompressor
from claude_mem.compress.llm import make_llm_compressor
from claude_mem.pidlock import is_alive
from helpers import open_store, processes, run_hook, wait_for, wait_until_drained
from llmkit import (CWD, SESSION_A, claude_pids, compressor, last_user_text, needs_cli,
                    new_session, recorder_script, replay_with_anthropic, sent_key, settings, tool)
from tests.fakes.claude_cli import run_claude
from tests.fakes.fake_llm_server import FakeLLMServer


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-dummy")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


# -- anthropic and openai ------------------------------------------------------------------------


def test_anthropic_sends_system_prompt_init_and_events_and_records_usage(key):
    with FakeLLMServer(recorder_script()) as srv, open_store() as store:
        ctx = new_session(store)
        llm = compressor("anthropic", srv, store)
        made = llm.observe(ctx, [tool("Read"), tool("Bash", 2)])
        assert made.generated_by == "anthropic:claude-haiku-4-5"
        (obs,) = made.observations
        assert obs.type == "bugfix" and obs.title == "Discount applied after tax"
        assert obs.files_modified == ("acme_billing/invoice.py",)  # made relative to the project
        assert obs.tool_name == "Read,Bash" and obs.tool_use_id == ""

        summary = llm.summarize(ctx, "Fixed: the discount now applies before tax.", [
            {"type": "bugfix", "title": obs.title, "files_modified": list(obs.files_modified)}])
        assert summary.generated_by == "anthropic:claude-haiku-4-5"
        # The model left <request> empty: filled from the user's prompt.
        assert summary.summary.request == ctx.request
        assert summary.summary.completed == "Fixed the discount order"

        first, second = srv.model_requests
        assert first.path == "/v1/messages" and sent_key(first) == "sk-test-dummy"
        assert first.body["system"] == prompts.system_prompt()
        assert first.body["model"] == "claude-haiku-4-5"
        text = last_user_text(first.body)
        assert text.startswith("New request #1 in project acme-billing")
        assert ctx.request in text and "python -m pytest -q" in text and "5 passed" in text
        assert f"{CWD}/acme_billing/invoice.py" in text and 'tool="Read"' in text
        assert "Summarize it" in last_user_text(second.body)
        assert "Discount applied after tax" in last_user_text(second.body)

        usage = store.llm_usage_for_session(ctx.session_id)
        assert usage["calls"] == 2 and usage["tokens"] > 0
    report = health.status()
    assert report["llm_usage"][0]["backend"] == "anthropic" and report["llm_usage"][0]["calls"] == 2
    text = health.format_status(report)
    assert "anthropic claude-haiku-4-5: 2 calls" in text
    assert f"session {SESSION_A[:8]} anthropic: 2 calls" in text


def test_openai_compatible_endpoint(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeLLMServer(recorder_script()) as srv, open_store() as store:
        ctx = new_session(store)
        llm = compressor("openai", srv, store)
        made = llm.observe(ctx, [tool("Bash")])
        assert made.generated_by == "openai:llama3.2"
        assert made.observations[0].tool_use_id == "toolu_Bash_1"  # one event: its id
        assert llm.summarize(ctx, "done", []).generated_by == "openai:llama3.2"
        request = srv.model_requests[0]
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer not-needed"
        assert request.body["model"] == "llama3.2"
        assert request.body["messages"][0] == {"role": "system", "content": prompts.system_prompt()}
        assert "python -m pytest -q" in request.body["messages"][1]["content"]
        assert store.llm_usage_for_session(ctx.session_id)["calls"] == 2


def test_key_comes_from_the_variable_named_by_llm_api_key_env(monkeypatch):
    monkeypatch.setenv("MY_LLM_KEY", "sk-from-my-var")
    with FakeLLMServer(recorder_script()) as srv, open_store() as store:
        ctx = new_session(store)
        compressor("openai", srv, store, llm_api_key_env="MY_LLM_KEY").observe(ctx, [tool()])
        compressor("anthropic", srv, store, llm_api_key_env="MY_LLM_KEY").observe(ctx, [tool()])
        openai_req, anthropic_req = srv.model_requests
        assert openai_req.headers["authorization"] == "Bearer sk-from-my-var"
        assert sent_key(anthropic_req) == "sk-from-my-var"
    with pytest.raises(ValueError, match="NOT_SET_VAR"):
        make_llm_compressor("anthropic", settings(llm_api_key_env="NOT_SET_VAR"))


def test_skip_is_respected_and_skipped_tools_are_never_sent(key):
    with FakeLLMServer(recorder_script(observation="<skip/>")) as srv, open_store() as store:
        ctx = new_session(store)
        llm = compressor("anthropic", srv, store)
        only_skipped = llm.observe(ctx, [tool("ToolSearch"), tool("ListMcpResourcesTool")])
        assert only_skipped.observations == () and srv.model_request_count == 0
        made = llm.observe(ctx, [tool("ToolSearch"), tool("Bash")])
        assert made.observations == () and made.generated_by == "anthropic:claude-haiku-4-5"
        assert srv.model_request_count == 1  # a deliberate <skip/> is not re-asked
        assert "ToolSearch" not in last_user_text(srv.model_requests[0].body)
        # A request still always gets a summary.
        assert llm.summarize(ctx, "done", []).summary is not None


def test_a_missing_extra_names_it_and_capture_falls_back_to_heuristic(monkeypatch, key):
    for name, module in (("anthropic", "anthropic"), ("openai", "openai"), ("claude", "claude_agent_sdk")):
        monkeypatch.setitem(sys.modules, module, None)  # "import module" now raises ImportError
        with pytest.raises(ImportError, match=rf"pip install 'coding-memory\[{name}\]'"):
            make_llm_compressor(name, settings(model="m"))
        assert isinstance(make_compressor(settings(compressor=name, model="m")), HeuristicCompressor)


def test_bad_configuration_falls_back_to_heuristic(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    for values in (dict(compressor="openai", llm_base_url="http://127.0.0.1:9/v1"),  # no model
                   dict(compressor="anthropic"),                                       # no key
                   dict(compressor="gemini")):                                         # unknown
        assert isinstance(make_compressor(settings(**values)), HeuristicCompressor), values


# -- claude: the real CLI through the real Agent SDK ----------------------------------------------


@needs_cli
def test_claude_agent_one_conversation_per_session_and_no_orphans(key):
    with FakeLLMServer(recorder_script()) as srv, open_store() as store:
        ctx = new_session(store)
        llm = compressor("claude", srv, store)
        assert claude_pids() == set()
        try:
            first = llm.observe(ctx, [tool("Read")])
            assert first.generated_by == "claude:claude-haiku-4-5"
            assert first.observations[0].title == "Discount applied after tax"
            (pid,) = llm.backend.pids()
            assert is_alive(pid) and pid in claude_pids()
            second = llm.observe(ctx, [tool("Bash", 2)])
            assert second.generated_by == "claude:claude-haiku-4-5"
            summary = llm.summarize(ctx, "Fixed.", [])
            assert summary.generated_by == "claude:claude-haiku-4-5"
            assert summary.summary.request == ctx.request
            assert llm.backend.pids() == [pid]  # the same agent conversation throughout

            other = new_session(store, "7f0c3c0e-0000-4000-8000-000000000002")
            assert llm.observe(other, [tool("Bash", 3)]).generated_by.startswith("claude:")
            assert len(llm.backend.pids()) == 2

            llm.finalize(ctx, "other")
            assert not is_alive(pid)
            assert len(llm.backend.pids()) == 1
        finally:
            llm.close()
        assert claude_pids() == set()  # nothing of ours left

        requests = srv.model_requests
        assert len(requests) == 4
        for request in requests:
            body = request.body
            assert body["tools"] == []
            assert body["model"] == "claude-haiku-4-5"
            system = json.dumps(body["system"])
            assert "claude-mem's memory recorder" in system and "<observation>" in system
            assert "thinking" not in body or body["thinking"]["type"] == "disabled"
        first_text = last_user_text(requests[0].body)
        assert "New request #1 in project acme-billing" in first_text
        assert f"{CWD}/acme_billing/invoice.py" in first_text
        # The second message goes into the same conversation without repeating the init prompt.
        second_body = requests[1].body
        assert "New request #1" not in last_user_text(second_body)
        assert "python -m pytest -q" in last_user_text(second_body)
        assert any(m["role"] == "assistant" for m in second_body["messages"])
        assert "Summarize it" in last_user_text(requests[2].body)
        # The other session has its own conversation, with its own init prompt.
        assert "New request #1" in last_user_text(requests[3].body)
        assert not any(m["role"] == "assistant" for m in requests[3].body["messages"])

        usage = store.llm_usage_for_session(ctx.session_id)
        assert usage["calls"] == 3 and usage["tokens"] > 0


MARKER_HOOK = ("import sys, json; d = json.load(sys.stdin); "
               "open(sys.argv[1], 'a').write(d.get('hook_event_name', '?') + '\\n')")


@needs_cli
def test_the_agent_does_not_feed_claude_mem(tmp_path, key):
    """The recursion test: claude-mem's hooks (and a marker hook) are installed where the
    agent's Claude Code would look, yet running the claude back-end records nothing."""
    marker = tmp_path / "hooks-fired.txt"
    marker_command = " ".join(shlex.quote(p) for p in (sys.executable, "-c", MARKER_HOOK, str(marker)))
    config_dirs = [os.environ["CLAUDE_CONFIG_DIR"], os.path.join(os.environ["HOME"], ".claude")]
    for folder in config_dirs:
        install.install(folder)
        path = os.path.join(folder, "settings.json")
        with open(path) as fh:
            data = json.load(fh)
        for event in ("SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"):
            data["hooks"][event].append({"hooks": [{"type": "command", "command": marker_command}]})
        with open(path, "w") as fh:
            json.dump(data, fh)

    with FakeLLMServer(recorder_script()) as srv:
        with open_store() as store:
            ctx = new_session(store)
        with open_store() as store:
            llm = compressor("claude", srv, store)
            try:
                assert llm.observe(ctx, [tool("Bash")]).generated_by.startswith("claude:")
                assert llm.summarize(ctx, "done", []).generated_by.startswith("claude:")
                llm.finalize(ctx, "other")
            finally:
                llm.close()
        assert srv.model_request_count == 2
        # Not a pause: wait until everything that could write the marker has ended (the
        # agent's CLI, and any hook process it started, named by the marker's path).
        wait_for(lambda: not claude_pids() and not processes(cmdline_has=(str(marker).encode(),)),
                 what="the agent's processes to end")
        assert not marker.exists(), marker.read_text()
        with open_store() as store:
            assert [r["claude_session_id"] for r in store.sessions()] == [SESSION_A]
            assert store.queue_stats()["pending"] == 0 and store.counts()["prompts"] == 0

        # Control: a person's own run of the same CLI with the same config does fire them.
        project = tmp_path / "project"
        project.mkdir()
        result = run_claude("hello", cwd=project, home=os.environ["HOME"],
                            config_dir=os.environ["CLAUDE_CONFIG_DIR"], base_url=srv.url,
                            env={"CLAUDE_MEM_DATA_DIR": os.environ["CLAUDE_MEM_DATA_DIR"],
                                 "CLAUDE_MEM_WORKER_IDLE_SECONDS": "120"}, timeout=60)
        assert result.returncode == 0, result.describe()
    assert "UserPromptSubmit" in marker.read_text()
    wait_until_drained()
    with open_store() as store:
        assert result.session_id in [r["claude_session_id"] for r in store.sessions()]


# -- end to end: real hooks, real worker, anthropic back-end ---------------------------------------


def test_recorded_session_through_hooks_and_worker_with_anthropic(monkeypatch, recorded):
    events = [(e, p) for e, p in recorded if p["session_id"] == SESSION_A]
    with FakeLLMServer(recorder_script()) as srv:
        replay_with_anthropic(monkeypatch, srv, events)
        with open_store() as store:
            session = store.session_by_claude_id(SESSION_A)
            assert session["status"] == "completed"
            observations = store.db.execute(
                "SELECT generated_by, title FROM observations WHERE session_id = ?",
                (session["id"],)).fetchall()
            assert observations
            assert {o["generated_by"] for o in observations} == {"anthropic:claude-haiku-4-5"}
            summaries = store.db.execute(
                "SELECT prompt_number, request, generated_by FROM summaries WHERE session_id = ?"
                " ORDER BY prompt_number", (session["id"],)).fetchall()
            assert [s["prompt_number"] for s in summaries] == [1, 2]
            assert {s["generated_by"] for s in summaries} == {"anthropic:claude-haiku-4-5"}
            assert summaries[0]["request"].startswith("The invoice total is wrong")
            usage = store.llm_usage_for_session(session["id"])
        assert usage["calls"] == srv.model_request_count >= 3
        bodies = [last_user_text(r.body) for r in srv.model_requests]
        assert any("python -m pytest -q" in b for b in bodies)
        assert not any('tool="ToolSearch"' in b for b in bodies)  # a skipped tool
    text = health.format_status(health.status())
    assert f"anthropic claude-haiku-4-5: {usage['calls']} calls" in text
    assert "compressor anthropic:claude-haiku-4-5" in text


def test_a_redelivered_tool_event_is_not_compressed_or_stored_twice(monkeypatch, recorded):
    """LLM observations carry no tool_use_id; the worker still recognises the redelivery."""
    tool_event = next(p for e, p in recorded if e == "PostToolUse" and p["tool_name"] == "Read")
    prompt = next(p for e, p in recorded if e == "UserPromptSubmit")
    with FakeLLMServer(recorder_script()) as srv:
        replay_with_anthropic(monkeypatch, srv, [("UserPromptSubmit", prompt), ("PostToolUse", tool_event)])
        calls_after_first = srv.model_request_count
        run_hook("PostToolUse", tool_event)  # the hook retried: same payload again, later batch
        wait_until_drained()
        assert srv.model_request_count == calls_after_first
        with open_store() as store:
            rows = store.db.execute("SELECT generated_by FROM observations").fetchall()
        assert len(rows) == 1 and rows[0][0].startswith("anthropic:")
