"""What the LLM back-end tests share (test_llm_backends.py, test_llm_faults.py).

A session and tool events of the recorded "acme-billing" fix, a model script answering
with fixed XML, compressors pointed at a fake server, the CLI processes an agent left,
and a replay of hook events into a worker using the anthropic back-end.
"""
from __future__ import annotations

import os
import time

import pytest

from claude_mem import config
from claude_mem.compress import SessionContext
from claude_mem.compress.llm import LLMCompressor, make_llm_compressor
from claude_mem.events import ToolEvent
from claude_mem.pidlock import is_alive
from helpers import processes, run_hook, wait_until_drained
from tests.fakes.claude_cli import find_claude_binary
from tests.fakes.fake_llm_server import FakeLLMServer, Text

SESSION_A = "351e9b10-7539-48d0-b16d-f38661328494"
CWD = "/home/dev/acme-billing"

OBS_XML = ("<observation><type>bugfix</type><title>Discount applied after tax</title>"
           "<facts><fact>calculate_total taxed before discounting</fact></facts>"
           "<files_modified><file>/home/dev/acme-billing/acme_billing/invoice.py</file></files_modified>"
           "</observation>")
SUMMARY_XML = ("<summary><request></request><investigated>invoice.py</investigated>"
               "<completed>Fixed the discount order</completed>"
               "<files_edited><file>acme_billing/invoice.py</file></files_edited></summary>")


# -- helpers shared with test_llm_faults.py ---------------------------------------------------


def settings(**overrides) -> config.Settings:
    return config.Settings({**config.DEFAULTS, **overrides}, [])


def last_user_text(body: dict) -> str:
    """The text of the last user message, for either API shape."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def sent_key(request) -> str:
    """The key a request carried (newer anthropic clients send it as a bearer token)."""
    headers = request.headers
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")


def recorder_script(observation: str = OBS_XML, summary: str = SUMMARY_XML):
    """A stateless model: a summary for summary prompts, ``observation`` for the rest."""
    def choose(body: dict):
        return Text(summary if "Summarize it" in last_user_text(body) else observation)
    return choose


def new_session(store, claude_id: str = SESSION_A, prompt_number: int = 1,
                request: str = "The invoice total is wrong when a discount and tax both apply"):
    with store.write():
        row = store.open_session(claude_id, "acme-billing", CWD, time.time())
    return SessionContext(session_id=row["id"], claude_session_id=claude_id,
                          project="acme-billing", cwd=CWD, prompt_number=prompt_number,
                          request=request)


def tool(name: str = "Bash", n: int = 1, **fields) -> ToolEvent:
    defaults = {
        "Bash": dict(tool_input={"command": "python -m pytest -q"},
                     tool_response={"stdout": "5 passed in 0.02s", "stderr": "", "interrupted": False}),
        "Read": dict(tool_input={"file_path": f"{CWD}/acme_billing/invoice.py"},
                     tool_response={"file": {"content": "def calculate_total(items):\n    ..."}}),
    }.get(name, dict(tool_input={"query": "x"}, tool_response={"ok": True}))
    defaults.update(fields)
    return ToolEvent(session_id=SESSION_A, cwd=CWD, tool_name=name, tool_use_id=f"toolu_{name}_{n}",
                     **defaults)


def compressor(name: str, srv: FakeLLMServer, store, **overrides) -> LLMCompressor:
    base = srv.url + "/v1" if name == "openai" else srv.url
    values = dict(llm_base_url=base, llm_timeout_seconds=10.0)
    if name == "openai":
        values["model"] = "llama3.2"
    values.update(overrides)
    made = make_llm_compressor(name, settings(**values), store)
    made.backoff_base = 0.02
    return made


def claude_pids() -> set[int]:
    """Live CLI processes started as claude-mem agents for THIS test (their environment has
    CLAUDE_MEM_INTERNAL=1 and this test's data dir), orphaned ones included. Other CLI
    processes on the machine (parallel test runs, a person's own session) are not counted."""
    ours = f"CLAUDE_MEM_DATA_DIR={os.environ['CLAUDE_MEM_DATA_DIR']}".encode()
    found = processes(exe=os.path.realpath(find_claude_binary()),
                      environ_has=(b"CLAUDE_MEM_INTERNAL=1", ours))
    return {pid for pid in found if is_alive(pid)}


needs_cli = pytest.mark.skipif(find_claude_binary() is None,
                               reason="Claude Code CLI not found (claude_agent_sdk/_bundled/claude)")


def replay_with_anthropic(monkeypatch, srv, events, **settings) -> None:
    """Play ``events`` through the real hooks into a worker using the anthropic back-end
    pointed at ``srv``, and wait until the queue is drained."""
    monkeypatch.setenv("CLAUDE_MEM_COMPRESSOR", "anthropic")
    monkeypatch.setenv("CLAUDE_MEM_LLM_BASE_URL", srv.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-dummy")
    for name, value in settings.items():
        monkeypatch.setenv("CLAUDE_MEM_" + name.upper(), str(value))
    for event, payload in events:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
