"""The whole memory cycle through real hook processes and the real worker.

Capture → durable queue → worker → heuristic compressor → SQLite → the next session's
SessionStart prints the memory. Payloads are the ones recorded from the real Claude
Code CLI (tests/fixtures/claude-code).
"""
from __future__ import annotations

import json
import threading

from click.testing import CliRunner

from claude_mem import cli, config, control
from helpers import context_from, held_worker_start, open_store, run_hook, wait_until_drained

SESSION_A = "351e9b10-7539-48d0-b16d-f38661328494"


def installed_commands(tmp_path) -> dict[str, str]:
    result = CliRunner().invoke(cli.main, ["install", "--claude-config-dir", str(tmp_path / "claude")])
    assert result.exit_code == 0, result.output
    settings = json.loads((tmp_path / "claude" / "settings.json").read_text())
    commands = {}
    for event, groups in settings["hooks"].items():
        commands[event] = groups[0]["hooks"][0]["command"]
    return commands


def test_a_whole_session_through_the_installed_hooks(tmp_path, recorded):
    commands = installed_commands(tmp_path)
    assert set(commands) == {"SessionStart", "UserPromptSubmit", "PostToolUse",
                             "PostToolUseFailure", "Stop", "SessionEnd"}
    # Session A: prompt 1 (search, read, failing test, edit, passing test), Stop, End,
    # then resumed with prompt 2 (changelog, todo), Stop, End. Session B starts after.
    first_b = next(i for i, (e, p) in enumerate(recorded)
                   if e == "SessionStart" and p["session_id"] != SESSION_A)
    for event, payload in recorded[:first_b]:
        proc = run_hook(event, payload, command=commands[event])
        assert proc.returncode == 0, proc.stderr
        if event != "SessionStart":
            assert proc.stdout == b""
    wait_until_drained()

    with open_store() as store:
        # Test 0.1: Stop was handled — both Stop events became summaries.
        session = store.session_by_claude_id(SESSION_A)
        assert session["prompt_counter"] == 2
        assert session["status"] == "completed" and session["end_reason"] == "other"
        assert session["runs"] == 2  # resumed, not duplicated
        assert store.counts()["sessions"] == 1
        # Test 0.2: summaries stored, one per request.
        summaries = {s["prompt_number"]: s for s in store.recent_summaries("acme-billing", 10)}
        assert set(summaries) == {1, 2}
        first = summaries[1]
        assert first["request"].startswith("The invoice total is wrong")
        assert "acme_billing/invoice.py" in first["files_edited"]
        assert "python -m pytest -q" in first["learned"] and "exit code 1" in first["learned"]
        assert "5 passed" in first["completed"]
        assert "Bump version to 0.3.1" in summaries[2]["next_steps"]
        assert "CHANGELOG.md" in summaries[2]["files_edited"]
        # Every command and every file touched is findable.
        for query in ("python -m pytest -q", "acme_billing/invoice.py", "CHANGELOG.md",
                      "calculate_total", "165.00"):
            assert store.search(query, project="acme-billing"), query

    # Tests 0.3 and 0.4: the next session in the same project starts with that memory.
    event, payload = recorded[first_b]
    proc = run_hook(event, payload, command=commands[event])
    assert proc.returncode == 0
    context = context_from(proc.stdout)
    assert "The invoice total is wrong when a discount and tax both apply" in context
    assert "acme_billing/invoice.py" in context
    assert "`python -m pytest -q` failed (exit code 1)" in context
    assert "Add a changelog entry for this fix." in context
    assert len(proc.stdout) < 10_000


def test_two_prompts_in_one_run_then_session_end(tmp_path, recorded):
    # The interactive shape, through the installed commands: SessionStart, prompt 1, tools,
    # Stop, prompt 2, tools, Stop, one SessionEnd; then a new session in the same project.
    commands = installed_commands(tmp_path)
    events = [(e, p) for e, p in recorded if p["session_id"] == SESSION_A]
    events = [(e, p) for i, (e, p) in enumerate(events)
              if not (e == "SessionEnd" and i < len(events) - 1)
              and not (e == "SessionStart" and p.get("source") == "resume")]
    assert [e for e, _ in events].count("Stop") == 2 and [e for e, _ in events].count("SessionEnd") == 1
    for event, payload in events:
        assert run_hook(event, payload, command=commands[event]).returncode == 0
    wait_until_drained()
    with open_store() as store:
        session = store.session_by_claude_id(SESSION_A)
        assert session["runs"] == 1 and session["status"] == "completed"
        assert session["prompt_counter"] == 2
        assert store.unsummarized_prompts(session["id"]) == []
    new_session = next(p for e, p in recorded if e == "SessionStart" and p["session_id"] != SESSION_A)
    context = context_from(run_hook("SessionStart", new_session, command=commands["SessionStart"]).stdout)
    assert "The invoice total is wrong when a discount and tax both apply" in context
    assert "acme_billing/invoice.py" in context
    assert "`python -m pytest -q` failed (exit code 1)" in context


def test_stop_is_idempotent_per_prompt(recorded):
    prompt = next(p for e, p in recorded if e == "UserPromptSubmit")
    stop = next(p for e, p in recorded if e == "Stop")
    for payload in (prompt, prompt, stop, stop):  # a retried hook delivers twice
        run_hook("UserPromptSubmit" if "prompt" in payload else "Stop", payload)
    wait_until_drained()
    with open_store() as store:
        assert store.counts()["prompts"] == 1
        assert store.counts()["summaries"] == 1


def test_a_tool_event_before_any_worker_exists_is_not_lost(recorded, tmp_path, inject):
    gate = tmp_path / "worker-may-start"
    inject(held_worker_start(gate))
    assert not control.worker_lock_held()
    tool = next(p for e, p in recorded if e == "PostToolUseFailure")
    proc = run_hook("PostToolUseFailure", tool)
    assert proc.returncode == 0
    # Committed before the hook returned, while the worker is still starting.
    with open_store() as store:
        assert store.queue_stats()["pending"] == 1
    assert control.worker_lock_held()
    gate.touch()
    wait_until_drained()
    with open_store() as store:
        hits = store.search("pytest")
        assert [h["title"] for h in hits if h["kind"] == "observation"] == [
            "`python -m pytest -q` failed (exit code 1): 1 failed, 4 passed in 0.61s"]


def _session_events(session_id: str, cwd: str, n: int) -> list[tuple[str, dict]]:
    base = {"session_id": session_id, "cwd": cwd, "transcript_path": "/tmp/t.jsonl"}
    events = [("SessionStart", {**base, "hook_event_name": "SessionStart", "source": "startup"}),
              ("UserPromptSubmit", {**base, "hook_event_name": "UserPromptSubmit",
                                    "prompt_id": session_id + "-p1",
                                    "prompt": f"Work on {cwd.rsplit('/', 1)[-1]}"})]
    for i in range(n):
        events.append(("PostToolUse", {
            **base, "hook_event_name": "PostToolUse", "prompt_id": session_id + "-p1",
            "tool_name": "Bash", "tool_use_id": f"toolu_{session_id}_{i}",
            "tool_input": {"command": f"echo {session_id}-{i}"},
            "tool_response": {"stdout": f"{session_id}-{i}", "stderr": "", "interrupted": False}}))
    events.append(("Stop", {**base, "hook_event_name": "Stop", "prompt_id": session_id + "-p1",
                            "last_assistant_message": f"Done with {session_id}."}))
    events.append(("SessionEnd", {**base, "hook_event_name": "SessionEnd", "reason": "other"}))
    return events


def test_two_sessions_in_parallel_do_not_mix(tmp_path):
    (tmp_path / "alpha").mkdir()
    (tmp_path / "beta").mkdir()
    runs = {"alpha": _session_events("alpha", str(tmp_path / "alpha"), 8),
            "beta": _session_events("beta", str(tmp_path / "beta"), 8)}
    failures = []

    def play(events):
        for event, payload in events:
            if run_hook(event, payload).returncode != 0:
                failures.append(event)

    threads = [threading.Thread(target=play, args=(events,)) for events in runs.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    wait_until_drained()
    with open_store() as store:
        for name in ("alpha", "beta"):
            session = store.session_by_claude_id(name)
            assert session["project"] == name and session["status"] == "completed"
            detail = store.session_detail(session["id"])
            titles = [o["title"] for o in detail["observations"]]
            # A one-line output is a look's finding and ends its title, unless it only
            # echoes the command's own words (as echo does).
            assert titles == [f"`echo {name}-{i}` succeeded" for i in range(8)]
            assert [s["request"] for s in detail["summaries"]] == [f"Work on {name}"]
        alpha_context = store.recent_observations("alpha", 100)
        assert all("alpha" in o["title"] for o in alpha_context)


def test_context_command_prints_what_session_start_would(recorded):
    for event, payload in recorded:
        if payload["session_id"] == SESSION_A:
            run_hook(event, payload)
    wait_until_drained()
    start = next(p for e, p in recorded if e == "SessionStart")
    hook_context = context_from(run_hook("SessionStart", start).stdout)
    result = CliRunner().invoke(cli.main, ["context", "--cwd", start["cwd"]])
    assert result.exit_code == 0
    assert result.output == hook_context
    assert config.db_path()


def test_a_resumed_session_whose_transcript_has_the_memory_gets_only_what_is_new(tmp_path, recorded):
    a_events = [(e, p) for e, p in recorded if p["session_id"] == SESSION_A]
    for event, payload in a_events:
        run_hook(event, payload)
    wait_until_drained()
    resume = next(p for e, p in recorded if e == "SessionStart" and p.get("source") == "resume")
    transcript = tmp_path / "transcript.jsonl"
    resume = {**resume, "transcript_path": str(transcript)}
    # No copy of the memory in the transcript yet: the full context.
    assert context_from(run_hook("SessionStart", resume).stdout).startswith(
        "# claude-mem: memory of earlier work in acme-billing")
    # Claude Code stored that context in the transcript (and replays it on resume):
    transcript.write_text(json.dumps({"type": "attachment", "content":
                                      "# claude-mem: memory of earlier work in acme-billing ..."}) + "\n")
    assert run_hook("SessionStart", resume).stdout == b""  # nothing new since: nothing printed
    # Another session records something meanwhile: only that is sent.
    other = {"session_id": "other-session", "cwd": "/home/dev/acme-billing", "prompt_id": "o1",
             "transcript_path": "/tmp/other.jsonl"}
    run_hook("UserPromptSubmit", {**other, "prompt": "Rename the formatting helpers"})
    run_hook("PostToolUse", {**other, "tool_name": "Bash", "tool_use_id": "toolu_o1",
                             "tool_input": {"command": "git mv fmt.py formatting.py"},
                             "tool_response": {"stdout": "", "stderr": ""}})
    run_hook("Stop", {**other, "last_assistant_message": "Renamed fmt.py to formatting.py."})
    wait_until_drained()
    update = context_from(run_hook("SessionStart", resume).stdout)
    assert update.startswith("# claude-mem: new in acme-billing since this session last ran")
    assert "Rename the formatting helpers" in update and "git mv fmt.py formatting.py" in update
    assert "The invoice total is wrong" not in update
