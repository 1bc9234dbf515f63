"""Bounded everything: hostile or unlucky input through real hook processes loses nothing.

The acceptance test of issue 8: a payload nested 5,000 levels deep, lone surrogates (with
and without a secret beside them), ``/dev/zero`` and a FIFO as a resumed session's
transcript, a hook run from a deleted working directory, 50 MB of secret-laden output and
a nonsensical ``max_tool_output_chars``; then ordinary events in other sessions. Every
hook returns (a generous liveness bound, not a benchmark), every event becomes memory,
nothing is left running. Plus the clamped numbers of the CLI and MCP, search-term
reduction, and the spool's stale temp files.
"""
from __future__ import annotations

import json
import os
import time

import pytest
from click.testing import CliRunner

from claude_mem import cli, config, control, spool
from claude_mem.store.search import fts_query
from helpers import hook_argv, open_store, run_hook, wait_until_drained
from faultkit import bash, deep_json, end, prompt, stop

pytestmark = pytest.mark.usefixtures("no_strays")

LIVENESS_SECONDS = 30  # "returned at all, quickly": a loaded 2-core machine, not a benchmark
GH = "ghp_" + "Zq3" * 12


def timed_hook(event, payload, **kwargs):
    """A hook that must return at all (``run_hook`` gives up after ``LIVENESS_SECONDS``)."""
    result = run_hook(event, payload, timeout=LIVENESS_SECONDS, **kwargs)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result
    return result


def tool_ids() -> set[str]:
    with open_store() as store:
        return {row[0] for row in store.db.execute("SELECT tool_use_id FROM observations")}


@pytest.mark.slow
def test_hostile_inputs_through_real_hooks_lose_nothing_and_others_flow(tmp_path):
    cwd = str(tmp_path)
    timed_hook(*prompt("H", cwd))
    # 1. nested 5,000 levels deep (json.loads itself raises RecursionError on it)
    event, payload = bash("H", cwd, 0)
    timed_hook(event, deep_json(payload, 5000))
    # 2. lone surrogates, beside a secret and without one
    event, payload = bash("H", cwd, 1, command="echo SURROGATE_TOKEN")
    text = json.dumps(payload).replace("SURROGATE_TOKEN", f"\\ud800 {GH} \\udfff")
    timed_hook(event, text)
    event, payload = bash("H", cwd, 2, command="echo PLAIN_SURROGATE")
    timed_hook(event, json.dumps(payload).replace("PLAIN_SURROGATE", "x\\ud800y"))
    # 3. /dev/zero and a FIFO nobody writes to, as a resumed session's transcript
    fifo = tmp_path / "transcript.fifo"
    os.mkfifo(fifo)
    for transcript in ("/dev/zero", str(fifo)):
        timed_hook("SessionStart", {"session_id": "H", "cwd": cwd, "source": "resume",
                                    "hook_event_name": "SessionStart", "transcript_path": transcript})
    # 4. a hook started in a working directory that was deleted
    gone = tmp_path / "gone"
    gone.mkdir()
    event, payload = bash("H", str(gone), 3)
    argv = " ".join(f"'{a}'" for a in hook_argv(event))
    timed_hook(event, payload, command=f"cd '{gone}' && rmdir '{gone}' && exec {argv}")
    # 5. 50 MB of output full of secrets
    lines = "".join(f"export API_TOKEN=tok{i:07d}Zx9Q password={GH}{i % 10}\n" for i in range(1000))
    event, payload = bash("H", cwd, 4)
    payload["tool_response"]["stdout"] = lines * (50 * 1024 * 1024 // len(lines))
    timed_hook(event, payload)
    # 6. a setting that would make every cut fail
    event, payload = bash("H", cwd, 5, command=f"deploy --token {GH}")
    timed_hook(event, payload, env={"CLAUDE_MEM_MAX_TOOL_OUTPUT_CHARS": "-1"})
    timed_hook(*stop("H", cwd))
    timed_hook(*end("H", cwd))
    # Then ordinary sessions.
    for name in ("O1", "O2"):
        for event, payload in [prompt(name, cwd), bash(name, cwd, 0), bash(name, cwd, 1),
                               stop(name, cwd), end(name, cwd)]:
            timed_hook(event, payload)
    wait_until_drained(timeout=120)
    assert tool_ids() >= {f"toolu_H_1_{i}" for i in range(6)} | {
        f"toolu_{s}_1_{i}" for s in ("O1", "O2") for i in range(2)}
    with open_store() as store:
        assert store.queue_stats()["parked"] == 0
        statuses = {r["claude_session_id"]: r["status"] for r in store.sessions()}
    assert statuses == {"H": "completed", "O1": "completed", "O2": "completed"}
    assert control.stop_worker()
    for name in ("claude-mem.db", "claude-mem.db-wal"):
        path = os.path.join(config.data_dir(), name)
        if os.path.exists(path):
            with open(path, "rb") as fh:
                assert GH.encode() not in fh.read(), name


def test_cli_numbers_are_clamped_or_refused_clearly(tmp_path):
    cwd = str(tmp_path)
    for event, payload in [prompt("N", cwd), bash("N", cwd, 0)]:
        run_hook(event, payload)
    wait_until_drained()
    runner = CliRunner()
    result = runner.invoke(cli.main, ["search", "--limit", "99999999999999999999", "N-1-0"])
    assert result.exit_code == 2 and "is not in the range" in result.output
    result = runner.invoke(cli.main, ["search", "--limit", "-1", "x"])
    assert result.exit_code == 2 and "-1 is not in the range" in result.output
    with open_store() as store:  # callers that bypass the CLI (viewer, MCP) are clamped
        assert store.search("N-1-0", limit=2**70) and store.search("N-1-0", limit=-1)
    result = runner.invoke(cli.main, ["show", "obs", "99999999999999999999"])
    assert result.exit_code == 1 and "no observation #99999999999999999999" in result.output
    result = runner.invoke(cli.main, ["show", str(2**64)])
    assert result.exit_code == 1 and "no session" in result.output
    result = runner.invoke(cli.main, ["sessions", "--limit", "99999999999999999999"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    # 5,000 copies of a word: reduced before SQLite sees them.
    assert fts_query("word " * 5000) == '"word"'
    assert fts_query(" ".join(f"w{i}" for i in range(1000))).count('"') == 64
    result = runner.invoke(cli.main, ["search", "--json", *(["N-1-0"] * 5000)])
    assert result.exit_code == 0 and json.loads(result.output)


def test_mcp_ids_of_2_to_the_63_or_more_are_unknown_not_an_overflow(tmp_path):
    from claude_mem import mcp_server

    config.ensure_data_dir()
    open_store().close()
    for call in (lambda: mcp_server.observations_text([2**63]),
                 lambda: mcp_server.observations_text([str(2**70)]),
                 lambda: mcp_server.timeline_text(2**64),
                 lambda: mcp_server.session_text(str(2**63))):
        with pytest.raises(mcp_server.ToolFailure) as failure:
            call()
        assert "no " in str(failure.value).lower()


def test_stale_spool_temp_files_are_removed(tmp_path):
    folder = config.spool_dir()
    os.makedirs(folder, mode=0o700)
    old, fresh = os.path.join(folder, ".1-2.PostToolUse.tmp"), os.path.join(folder, ".3-4.Stop.tmp")
    for path in (old, fresh):
        open(path, "w").close()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert spool.remove_stale_tmp() == [".1-2.PostToolUse.tmp"]
    assert os.listdir(folder) == [".3-4.Stop.tmp"]
