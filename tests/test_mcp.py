"""The MCP server: the real server process over stdio, driven by the MCP SDK's own client.

One database is filled per module by replaying the recorded session through the real
hooks and worker (plus a second, synthetic project), then two servers are started as
subprocesses (``python -m claude_mem.mcp_server``), one defaulting to the recorded
project by its working directory and one to another project by ``--cwd``. Every call is
made once, in order, and the answers are checked by the tests below.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from claude_mem import config, control
from claude_mem.models import Observation
from claude_mem.store import Store
from helpers import HOOK_NAME, load_fixture, run_hook, wait_until_drained

pytest.importorskip("mcp")
from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

SESSION_A = "351e9b10-7539-48d0-b16d-f38661328494"
FAILED_RUN = "`python -m pytest -q` failed (exit code 1): 1 failed, 4 passed in 0.61s"
SRC = str(Path(__file__).resolve().parents[1] / "src")
TOOLS = {"search", "get_observations", "get_session", "recent_context", "timeline"}


@pytest.fixture(scope="module")
def memory(tmp_path_factory):
    """A data dir holding the recorded session (project acme-billing) and 'ledger-tools'."""
    root = tmp_path_factory.mktemp("mcp-memory")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLAUDE_MEM_DATA_DIR", str(root / "data"))
        mp.setenv("HOME", str(root))
        mp.setenv("CLAUDE_CONFIG_DIR", str(root / "claude"))
        mp.setenv("CLAUDE_MEM_WORKER_POLL_SECONDS", "0.5")
        for name in ("CLAUDE_PROJECT_DIR", "CLAUDE_MEM_COMPRESSOR", "CLAUDE_MEM_INTERNAL",
                     "CLAUDECODE", "CLAUDE_CODE_SESSION_ID"):
            mp.delenv(name, raising=False)
        try:
            for event, payload in load_fixture():
                if event in HOOK_NAME and payload["session_id"] == SESSION_A:
                    assert run_hook(event, payload).returncode == 0
            wait_until_drained()
        finally:
            if control.worker_lock_held():
                assert control.stop_worker(), "the worker did not stop"
        with Store(config.db_path()) as store:
            with store.write():
                session = store.open_session("s-ledger", "ledger-tools", "/w/ledger-tools", 5.0)
                ids = [store.add_observation(
                    session["id"], "ledger-tools", 1,
                    Observation(type="change", title=f"Ran pytest shard {i}",
                                narrative="long output line " * 60,
                                files_read=(f"tests/test_shard_{i}.py",)),
                    f"ledger-{i}", "heuristic", 10.0 + i) for i in range(25)]
            acme_ids = [row["id"] for row in store.db.execute(
                "SELECT id FROM observations WHERE project = 'acme-billing' ORDER BY id")]
            failed_id = store.db.execute(
                "SELECT id FROM observations WHERE title = ?", (FAILED_RUN,)).fetchone()[0]
    return {"data": str(root / "data"), "root": root, "ledger_ids": ids,
            "acme_ids": acme_ids, "failed_id": failed_id}


async def _drive(params: StdioServerParameters, errlog, calls: list, answers: dict) -> None:
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            answers["server"] = getattr(init, "server_info", None) or getattr(init, "serverInfo")
            answers["tools"] = (await session.list_tools()).tools
            for label, tool, arguments in calls:
                result = await session.call_tool(tool, arguments)
                text = "\n".join(block.text for block in result.content if block.type == "text")
                answers[label] = (result.is_error, text)


@pytest.fixture(scope="module")
def answers(memory):
    """Every tool call's (is_error, text), keyed by label, from two real servers."""
    project_dir = memory["root"] / "acme-billing"  # the server's cwd names its project
    project_dir.mkdir()
    env = {"CLAUDE_MEM_DATA_DIR": memory["data"], "PYTHONPATH": SRC}
    f, ledger = memory["failed_id"], memory["ledger_ids"]
    here = [
        ("search pytest", "search", {"query": "pytest"}),
        ("search pytest all", "search", {"query": "pytest", "project": "*", "limit": 50}),
        ("search discount prompts", "search", {"query": "discount", "type": "prompt"}),
        ("search bugfix", "search", {"query": "invoice", "type": "bugfix"}),
        ("search nothing", "search", {"query": "kubernetes"}),
        ("search empty", "search", {"query": "  \" "}),
        ("search bad type", "search", {"query": "pytest", "type": "banana"}),
        ("search words mode", "search", {"query": "why did pytest fail", "mode": "words"}),
        ("search bad mode", "search", {"query": "pytest", "mode": "banana"}),
        ("obs", "get_observations", {"ids": [f, 99999]}),
        ("obs unknown", "get_observations", {"ids": [99999]}),
        ("obs none", "get_observations", {"ids": []}),
        ("obs many", "get_observations", {"ids": ledger}),
        ("session prefix", "get_session", {"session": SESSION_A[:8]}),
        ("session number", "get_session", {"session": 1}),
        ("session unknown", "get_session", {"session": "nope"}),
        ("context", "recent_context", {}),
        ("context all", "recent_context", {"project": "*"}),
        ("timeline", "timeline", {"observation_id": f, "before": 1, "after": 1}),
        ("timeline unknown", "timeline", {"observation_id": 424242}),
        ("no such tool", "delete_everything", {}),
        ("args missing", "get_session", {}),
        ("args ill-typed", "get_observations", {"ids": "abc"}),
        ("args not a number", "timeline", {"observation_id": "x"}),
        ("search after errors", "search", {"query": "CHANGELOG.md"}),
    ]
    elsewhere = [
        ("elsewhere search", "search", {"query": "invoice"}),
        ("elsewhere search acme", "search", {"query": "pytest invoice", "project": "acme-billing"}),
        ("elsewhere context", "recent_context", {}),
        ("elsewhere context acme", "recent_context", {"project": "acme-billing"}),
    ]
    results: dict = {"here": {}, "elsewhere": {}}
    logs = memory["root"] / "here.err", memory["root"] / "elsewhere.err"

    async def main():
        with anyio.fail_after(60), open(logs[0], "w") as err_here, open(logs[1], "w") as err_else:
            async with anyio.create_task_group() as group:
                group.start_soon(_drive, StdioServerParameters(
                    command=sys.executable, args=["-m", "claude_mem.mcp_server"],
                    env=env, cwd=str(project_dir)), err_here, here, results["here"])
                group.start_soon(_drive, StdioServerParameters(
                    command=sys.executable,
                    args=["-m", "claude_mem.mcp_server", "--cwd", str(memory["root"] / "ledger-tools")],
                    env=env, cwd=str(project_dir)), err_else, elsewhere, results["elsewhere"])

    try:
        anyio.run(main)
    except BaseException:
        for log in logs:
            print(log.name, log.read_text() if log.exists() else "", file=sys.stderr)
        raise
    return results


def ok(answers, label: str, where: str = "here") -> str:
    is_error, text = answers[where][label]
    assert not is_error, f"{label}: {text}"
    return text


def error(answers, label: str, where: str = "here") -> str:
    is_error, text = answers[where][label]
    assert is_error, f"{label} should fail: {text}"
    return text


def test_lists_the_five_read_only_tools_with_descriptions(answers):
    tools = {tool.name: tool for tool in answers["here"]["tools"]}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert 40 < len(tool.description) < 600
        assert tool.annotations.read_only_hint is True
    assert set(tools["search"].input_schema["properties"]) == {"query", "project", "type", "limit",
                                                               "mode"}
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["get_observations"].input_schema["properties"]["ids"]["type"] == "array"
    assert set(tools["timeline"].input_schema["properties"]) == {"observation_id", "before", "after"}


def test_search_defaults_to_the_servers_project_and_lists_ids(answers, memory):
    text = ok(answers, "search pytest")
    assert "in project acme-billing" in text
    line = next(line for line in text.splitlines() if FAILED_RUN in line)
    assert line.startswith(f"obs #{memory['failed_id']} · ")
    assert " · discovery · " in line and "files: tests/test_invoice.py" in line
    assert "`python -m pytest -q` passed: 5 passed in 0.55s" in text
    assert "shard" not in text  # the other project stays out
    assert "get_observations(ids=[" in text and str(memory["failed_id"]) in text
    assert "CHANGELOG.md" in ok(answers, "search after errors")  # errors did not kill it


def test_search_across_projects_and_by_kind_or_type(answers, memory):
    text = ok(answers, "search pytest all")
    assert "in all projects" in text
    assert FAILED_RUN in text and "Ran pytest shard 3" in text
    assert "[ledger-tools]" in text and "[acme-billing]" in text
    prompts = ok(answers, "search discount prompts").splitlines()
    assert prompts[1].startswith("prompt #1 · ") and "session 351e9b10 prompt 1" in prompts[1]
    assert "get_session('351e9b10')" in prompts[-1]
    bugfix = ok(answers, "search bugfix")
    assert [line.split(" · ")[2] for line in bugfix.splitlines() if line.startswith("obs #")] \
        == ["bugfix"]
    nothing = ok(answers, "search nothing")
    assert "No matches for 'kubernetes' in project acme-billing" in nothing
    assert "project='*'" in nothing
    assert "Projects with memory: " in nothing and "ledger-tools" in nothing


def test_search_rejects_empty_queries_and_unknown_types(answers):
    assert "empty query" in error(answers, "search empty")
    assert "unknown type 'banana'" in error(answers, "search bad type")
    assert "unknown mode 'banana'" in error(answers, "search bad mode")


def test_a_question_in_plain_words_finds_what_holds_some_of_its_words(answers):
    text = ok(answers, "search words mode")
    assert FAILED_RUN in "\n".join(text.splitlines()[1:4]), "the failed pytest run ranks high"


def test_get_observations_gives_facts_and_reports_unknown_ids(answers, memory):
    text = ok(answers, "obs")
    assert text.startswith(f"Observation #{memory['failed_id']} — discovery")
    assert FAILED_RUN in text
    assert "AssertionError: assert Decimal('165.00') == Decimal('162.00')" in text
    assert "• Command: python -m pytest -q" in text
    assert "session 351e9b10 (#1), project acme-billing" in text
    assert text.endswith("Not found: #99999.")
    assert "no observation with id #99999" in error(answers, "obs unknown")
    assert "at least one observation id" in error(answers, "obs none")


def test_get_observations_caps_ids_and_output(answers, memory):
    text = ok(answers, "obs many")
    assert len(text) <= 8000
    assert "[output cut at 8,000 characters" in text
    assert f"Observation #{memory['ledger_ids'][0]} " in text
    assert f"Observation #{memory['ledger_ids'][24]} " not in text


def test_get_session_by_prefix_or_number_and_unknown(answers):
    text = ok(answers, "session prefix")
    assert text.startswith(f"Session #1 {SESSION_A}")
    assert "Prompt 1 (" in text and "Prompt 2 (" in text
    assert FAILED_RUN in text and "Created CHANGELOG.md" in text
    assert "Request: Add a changelog entry for this fix." in text
    assert ok(answers, "session number") == text
    assert "no session 'nope'" in error(answers, "session unknown")


def test_recent_context_is_the_session_start_markdown(answers):
    text = ok(answers, "context")
    assert text.startswith("# claude-mem: memory of earlier work in acme-billing")
    assert "## Latest work" in text and "## Recent observations" in text
    assert FAILED_RUN in text
    assert "one project" in error(answers, "context all")


def test_timeline_shows_neighbours_under_their_prompt(answers, memory):
    f = memory["failed_id"]
    lines = ok(answers, "timeline").splitlines()
    assert lines[0].startswith(f"Timeline around observation #{f} — session 351e9b10")
    assert "Prompt 1: The invoice total is wrong" in "\n".join(lines)
    marked = [line for line in lines if line.lstrip().startswith("→")]
    assert len(marked) == 1 and f"#{f} " in marked[0] and FAILED_RUN in marked[0]
    neighbours = [line for line in lines if line.startswith("   #")]
    assert [line.split()[0] for line in neighbours] == [f"#{f - 1}", f"#{f + 1}"]
    assert "Read acme_billing/invoice.py" in neighbours[0]
    assert "bugfix: Edited acme_billing/invoice.py" in neighbours[1]
    assert "earlier observation(s)" in lines[1]
    assert "no observation with id #424242" in error(answers, "timeline unknown")


def test_unknown_tool_is_an_error_not_a_crash(answers):
    assert "delete_everything" in error(answers, "no such tool")


def test_the_default_project_follows_cwd_option(answers):
    nothing = ok(answers, "elsewhere search", "elsewhere")
    assert "No matches for 'invoice' in project ledger-tools" in nothing
    found = ok(answers, "elsewhere search acme", "elsewhere")
    assert FAILED_RUN in found and "in project acme-billing" in found
    assert ok(answers, "elsewhere context", "elsewhere").startswith(
        "# claude-mem: memory of earlier work in ledger-tools")
    assert "acme-billing" in ok(answers, "elsewhere context acme", "elsewhere").splitlines()[0]


# -- without a server process -------------------------------------------------------------


def test_no_database_yet_is_a_clear_failure_and_creates_nothing():
    from claude_mem import mcp_server

    with pytest.raises(mcp_server.ToolFailure, match="recorded nothing yet"):
        mcp_server.search_text("pytest")
    assert not os.path.exists(config.db_path())


def test_cap_cuts_at_a_line_and_says_so():
    from claude_mem.mcp_server import cap

    text = "\n".join(f"line {i} " + "x" * 90 for i in range(200))
    out = cap(text, 2000)
    assert len(out) <= 2000 and "[output cut at 2,000 characters;" in out
    assert out.split("\n…[")[0].endswith("x")  # whole lines only
    assert cap("short") == "short"


def test_importing_needs_no_sdk_and_a_missing_sdk_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['mcp'] = None\n"
            "import claude_mem.mcp_server as m\n"
            "assert 'pydantic' not in sys.modules\n"
            "sys.exit(m.main([]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": SRC}, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr
    assert f"{sys.executable} -m pip install" in result.stderr and "[mcp]" in result.stderr
    assert result.stdout == ""


def test_argument_errors_are_plain_sentences_and_the_version_is_real(answers):
    from claude_mem import __version__

    assert answers["here"]["server"].name == "claude-mem"
    assert answers["here"]["server"].version == __version__
    missing = error(answers, "args missing")
    assert missing == "get_session: `session` is required. Call it like get_session(session='351e9b10')."
    bad = error(answers, "args ill-typed")
    assert "`ids` must be a list such as [12, 15] (got 'abc')" in bad
    assert "`observation_id` must be a whole number such as 12 (got 'x')" in error(answers, "args not a number")
    for text in (missing, bad):
        assert "pydantic" not in text and "validation error" not in text and "http" not in text
    assert not error(answers, "session unknown").startswith("Error executing tool")
