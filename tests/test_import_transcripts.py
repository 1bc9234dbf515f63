"""``claude-mem import transcripts`` on two real Claude Code sessions (2.1.38/2.1.39).

The fixtures hold each session twice: the transcript Claude Code wrote, and the hook payloads
Claude Code fired while it ran. That pair is the ground truth: the transcript, replayed, must
give the same events (prompts, tool calls in order, failures, Stops, the compaction), and the
memory made from the import must be as useful to the next session (key-term recall of its
context) as the memory the hooks made live. Then: idempotency, a session captured live first
and imported after, malformed lines and files.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_mem import config, control
from claude_mem.importers.replay import Transcript
from claude_mem.importers.transcripts import find_transcripts
from helpers import open_store, run_hook, wait_until_drained

REAL = Path(__file__).parent / "fixtures" / "real-world"
# Where each session ran (as its transcript says) and where its payloads say it ran.
SESSIONS = {
    "beads": ("/home/USER/projects/spotter", "/home/dev/spotter"),
    "dov": ("/home/USER/projects/spotter-worktrees/spotter-dov", "/home/dev/spotter-dov"),
}


def payloads(name: str) -> list[tuple[str, dict]]:
    lines = (REAL / f"session-spotter-{name}.jsonl").read_text().splitlines()
    return [(r["event"], r["stdin"]) for r in map(json.loads, filter(None, lines))]


def signature(name: str, payload: dict) -> tuple:
    if name == "UserPromptSubmit":
        return name, payload["prompt"]
    if name in ("PostToolUse", "PostToolUseFailure"):
        return name, payload["tool_name"], payload["tool_use_id"]
    if name == "SessionStart":
        return name, payload["source"]
    if name == "Stop":
        return name, payload.get("last_assistant_message", "")
    return (name,)


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_transcript_replays_the_hook_payloads_claude_code_fired(name):
    transcript_cwd, payload_cwd = SESSIONS[name]
    transcript = Transcript(str(REAL / "transcripts" / f"spotter-{name}.jsonl"))
    got = list(transcript.events())
    want = payloads(name)
    assert transcript.problems == []
    # Same prompts, same tool calls in the same order, same failures, Stop where Stop fired,
    # the compaction as SessionStart source=compact.
    assert [signature(e.name, e.payload) for e in got] == [signature(e, p) for e, p in want]
    # And the same payload contents (the fixture moved the project to /home/dev/<name> and
    # wrote every permission_mode as "default"; the import says SessionEnd came from it).
    for event, (want_name, want_payload) in zip(got, want):
        mine = json.loads(json.dumps(event.payload).replace(transcript_cwd, payload_cwd))
        for key in set(mine) | set(want_payload):
            if key in ("transcript_path", "prompt_id", "permission_mode") or (
                    want_name == "SessionEnd" and key == "reason"):
                continue
            assert mine.get(key) == want_payload.get(key), (want_name, key)
    times = [e.at for e in got]
    assert times == sorted(times) and times[0] == transcript.first_at


def _project(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "projects" / name.split("/")[-1]
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    return folder


def _moved_transcript(tmp_path: Path, name: str, project: Path) -> Path:
    """The transcript with its project folder moved to ``project`` (a real git folder)."""
    out = tmp_path / "claude" / "projects" / f"-{project.name}" / f"spotter-{name}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = (REAL / "transcripts" / f"spotter-{name}.jsonl").read_text()
    out.write_text(text.replace(SESSIONS[name][0], str(project)))
    return out


def _replay_live(name: str, project: Path, upto: int | None = None) -> None:
    for event, payload in payloads(name)[:upto]:
        moved = json.loads(json.dumps(payload).replace(SESSIONS[name][1], str(project)))
        proc = run_hook(event, moved, env={"CLAUDE_PROJECT_DIR": str(project)})
        assert proc.returncode == 0
    wait_until_drained(60)


def _import(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", "import", "transcripts",
                           *args, "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _context(cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", "context", "--cwd", str(cwd)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _recall(name: str, context: str) -> list[str]:
    keys = json.loads((REAL / f"session-spotter-{name}.keys.json").read_text())
    return [term for term in keys["terms"] if term.lower() in context.lower()]


def _use_data_dir(monkeypatch, path: Path) -> None:
    if control.worker_lock_held():
        control.stop_worker()
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(path))


def _memory() -> dict:
    with open_store() as store:
        counts = store.counts()
        counts["tool_use_ids"] = [r[0] for r in store.db.execute(
            "SELECT tool_use_id FROM observations WHERE tool_use_id != '' ORDER BY id")]
        counts["prompts_text"] = [r[0] for r in store.db.execute(
            "SELECT prompt FROM user_prompts ORDER BY session_id, prompt_number")]
    return counts


def test_imported_memory_recalls_what_live_capture_recalls(tmp_path, monkeypatch):
    """Both real sessions: live through the hooks into one data dir, imported into another."""
    projects = {name: _project(tmp_path, live_cwd) for name, (_, live_cwd) in SESSIONS.items()}
    _use_data_dir(monkeypatch, tmp_path / "live")
    for name in SESSIONS:
        _replay_live(name, projects[name])
    live = {name: _context(projects[name]) for name in SESSIONS}
    live_memory = _memory()

    _use_data_dir(monkeypatch, tmp_path / "imported")
    for name in SESSIONS:
        _moved_transcript(tmp_path, name, projects[name])
    report = _import()  # the default: $CLAUDE_CONFIG_DIR/projects
    assert report["sessions"] == {"new": 2, "partial": 0, "already": 0}
    assert report["files"] == len(find_transcripts()) == 2
    imported = {name: _context(projects[name]) for name in SESSIONS}
    imported_memory = _memory()

    # The same prompts and the same tool calls became memory.
    assert imported_memory["prompts_text"] == live_memory["prompts_text"]
    assert sorted(imported_memory["tool_use_ids"]) == sorted(live_memory["tool_use_ids"])
    assert imported_memory["summaries"] == live_memory["summaries"]
    for name in SESSIONS:
        live_terms, imported_terms = _recall(name, live[name]), _recall(name, imported[name])
        print(f"{name}: live recall {len(live_terms)}, imported recall {len(imported_terms)}")
        assert set(imported_terms) >= set(live_terms), (name, live_terms, imported_terms)
        assert imported_terms, name


def test_import_twice_adds_nothing(tmp_path):
    project = _project(tmp_path, "spotter")
    path = _moved_transcript(tmp_path, "beads", project)
    first = _import(str(path))
    assert first["sessions"]["new"] == 1 and first["queued"]["PostToolUse"] == 16
    before = _memory()
    second = _import(str(path))
    assert second["sessions"] == {"new": 0, "partial": 0, "already": 1}
    assert second["queued_rows"] == 0
    assert _memory() == before


def test_session_captured_live_gets_only_what_is_missing(tmp_path):
    """The hooks saw the first request of the dov session (the worker was then gone); the
    import adds the rest and doubles nothing."""
    project = _project(tmp_path, "spotter-dov")
    events = payloads("dov")
    first_stop = next(i for i, (e, _) in enumerate(events) if e == "Stop")
    _replay_live("dov", project, upto=first_stop + 1)
    live = _memory()
    assert live["prompts"] == 1 and len(live["tool_use_ids"]) == 22

    report = _import(str(_moved_transcript(tmp_path, "dov", project)))
    assert report["sessions"] == {"new": 0, "partial": 1, "already": 0}
    assert report["queued"].get("UserPromptSubmit") == 1  # only "continue"
    assert report["queued"]["PostToolUse"] + report["queued"]["PostToolUseFailure"] == 147 - 22
    after = _memory()
    assert after["sessions"] == 1 and after["prompts"] == 2
    ids = after["tool_use_ids"]
    assert len(ids) == len(set(ids)) == 147  # every call once, none twice
    assert _import(str(_moved_transcript(tmp_path, "dov", project)))["queued_rows"] == 0


def test_malformed_lines_and_files_are_reported_and_skipped(tmp_path):
    project = _project(tmp_path, "spotter")
    path = _moved_transcript(tmp_path, "beads", project)
    lines = path.read_text().splitlines()
    lines.insert(5, '{"type": "user", "message": {"role": "user", "content": "trunc')
    lines.insert(9, "[1, 2, 3]")
    lines.insert(12, "\x00\x01 not json at all")
    path.write_text("\n".join(lines) + '\n{"type": "assistant", "mess')  # cut mid-write
    folder = path.parent
    (folder / "junk.jsonl").write_bytes(b"\xff\xfe garbage\n{{{\n")
    (folder / "empty.jsonl").write_text("")
    report = _import(str(folder))
    assert report["sessions"]["new"] == 1
    assert report["queued"]["PostToolUse"] == 16
    assert len([p for p in report["problems"] if "spotter-beads" in p]) == 4
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped_files"]}
    assert set(reasons) == {"junk.jsonl", "empty.jsonl"}
    assert "spotter-0p7" in _context(project)


def test_plain_progress_lines_and_human_report(tmp_path):
    project = _project(tmp_path, "spotter")
    path = _moved_transcript(tmp_path, "beads", project)
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", "import", "transcripts",
                           str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "[1/1] spotter-beads.jsonl: new: 2 prompts, 16 tool calls -> project spotter" in proc.stderr
    assert "Imported 1 new session(s)" in proc.stdout
    assert os.path.exists(config.db_path())


def test_dry_run_writes_nothing_and_estimates_llm_cost(tmp_path, monkeypatch):
    project = _project(tmp_path, "spotter-dov")
    path = _moved_transcript(tmp_path, "dov", project)
    monkeypatch.setenv("CLAUDE_MEM_COMPRESSOR", "anthropic")
    monkeypatch.setenv("CLAUDE_MEM_LLM_MAX_CALLS_PER_SESSION", "10")
    report = _import(str(path), "--dry-run")
    assert report["queued"]["PostToolUse"] == 145 and report["queued_rows"] > 150
    estimate = report["llm_estimate"]
    assert estimate["calls"] == 10 and estimate["sessions_at_cap"] == 1 and estimate["tokens"] > 0
    assert not os.path.exists(config.db_path())


def test_a_15_mb_transcript_is_imported_with_bounded_memory(tmp_path):
    from bench.import_transcripts import generate_transcript, run_import

    transcript = tmp_path / "claude" / "projects" / "-big" / "big-session.jsonl"
    calls = generate_transcript(transcript, 15.0, cwd=str(_project(tmp_path, "big-project")))
    assert transcript.stat().st_size >= 15 * 1024 * 1024
    result = run_import(transcript, os.environ["CLAUDE_MEM_DATA_DIR"])
    queued = result["report"]["queued"]
    assert queued["PostToolUse"] + queued["PostToolUseFailure"] == calls
    assert queued["PostToolUseFailure"] == calls // 20 + (calls % 20 > 6)
    with open_store() as store:
        assert store.counts()["observations"] == calls
        assert store.queue_stats() == {"pending": 0, "parked": 0, "oldest_pending_at": None}
    # Streaming: neither process holds the file (parsing it all at once peaks near 70 MB;
    # a bare interpreter with our imports is about 20 MB).
    assert result["rss_mb"] < 50, result
    assert result["worker_rss_mb"] is None or result["worker_rss_mb"] < 50, result


def test_project_and_since_choose_sessions(tmp_path):
    projects = {name: _project(tmp_path, live_cwd) for name, (_, live_cwd) in SESSIONS.items()}
    for name in SESSIONS:
        _moved_transcript(tmp_path, name, projects[name])
    folder = str(tmp_path / "claude" / "projects")
    only = _import(folder, "--project", "spotter", "--dry-run")
    assert only["sessions"]["new"] == 1 and only["queued"]["PostToolUse"] == 16
    assert [s["reason"] for s in only["skipped_files"]] == ["project spotter-dov"]
    # The beads session ended on 2026-02-10, the dov session on 2026-02-12.
    recent = _import(folder, "--since", "2026-02-11")
    assert recent["sessions"]["new"] == 1 and recent["queued"]["PostToolUse"] == 145
    assert [s["reason"] for s in recent["skipped_files"]] == ["older than --since"]
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", "import", "transcripts",
                           folder, "--since", "yesterday"], capture_output=True, text=True)
    assert proc.returncode == 2 and "not a date" in proc.stderr


def test_progress_bar_on_a_terminal(tmp_path):
    import pty

    project = _project(tmp_path, "spotter")
    path = _moved_transcript(tmp_path, "beads", project)
    main, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "claude_mem.cli", "import", "transcripts",
                             str(path)], stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(main)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "Reading transcripts" in shown and "1/1 files" in shown and "100%" in shown
    assert "Making memory" in shown


def test_import_under_an_llm_back_end_respects_the_cost_caps(tmp_path, monkeypatch):
    """The dov session (147 tool calls) with the anthropic back-end against the fake API and
    a cap of 6 calls: 6 model calls are made, the rest of the session falls back to the
    heuristic, and the dry run predicted those 6 calls."""
    from tests.fakes.fake_llm_server import FakeLLMServer
    from llmkit import recorder_script

    project = _project(tmp_path, "spotter-dov")
    path = str(_moved_transcript(tmp_path, "dov", project))
    with FakeLLMServer(recorder_script()) as srv:
        monkeypatch.setenv("CLAUDE_MEM_COMPRESSOR", "anthropic")
        monkeypatch.setenv("CLAUDE_MEM_LLM_BASE_URL", srv.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-dummy")
        monkeypatch.setenv("CLAUDE_MEM_LLM_MAX_CALLS_PER_SESSION", "6")
        estimate = _import(path, "--dry-run")["llm_estimate"]
        assert estimate["calls"] == 6 and estimate["sessions_at_cap"] == 1
        _import(path)
        assert srv.model_request_count == 6
    with open_store() as store:
        made_by = dict(store.db.execute(
            "SELECT generated_by LIKE 'anthropic:%', COUNT(*) FROM observations GROUP BY 1"))
        assert made_by[1] > 0 and made_by[0] > 0  # the model's work, then the heuristic's
        assert store.counts()["summaries"] == 2


def _line(**entry) -> str:
    base = {"sessionId": "0a1b2c3d-0000-4000-8000-000000000001", "cwd": "/work/app",
            "isSidechain": False, "timestamp": "2026-03-01T10:00:00.000Z"}
    return json.dumps({**base, **entry})


def _assistant(*blocks, **extra) -> str:
    return _line(type="assistant", message={"role": "assistant", "model": "claude-opus-4-6",
                                            "content": list(blocks)}, **extra)


def _user(content, **extra) -> str:
    return _line(type="user", message={"role": "user", "content": content}, **extra)


def _result(use_id: str, text: str, error: bool = False, **extra) -> str:
    return _user([{"type": "tool_result", "tool_use_id": use_id, "content": text,
                   "is_error": error}], **extra)


def _use(use_id: str, name: str = "Bash", **tool_input) -> dict:
    return {"type": "tool_use", "id": use_id, "name": name, "input": tool_input}


def test_edge_shapes_of_transcripts(tmp_path):
    """Shapes the real fixtures do not all show: local commands, queued prompts, rejected,
    invalid and blocked calls, sidechains, API errors, subagent files."""
    lines = [
        _user("<command-name>/model</command-name>\n<command-args></command-args>"),
        _user("<local-command-stdout>Set model to opus</local-command-stdout>"),
        _user("<command-name>/review</command-name>\n<command-args>the parser</command-args>"),
        _user([{"type": "text", "text": "Review the parser carefully..."}], isMeta=True),
        _assistant({"type": "text", "text": "Looking."}, _use("t1", command="ls")),
        _result("t1", "parser.py", toolUseResult={"stdout": "parser.py", "stderr": ""}),
        _assistant(_use("t2", "Read", file_path="/work/app/nope.py")),
        _result("t2", "<tool_use_error>File does not exist.</tool_use_error>", error=True),
        _assistant(_use("t3", command="rm -rf build")),
        _result("t3", "The user doesn't want to proceed with this tool use.", error=True),
        _assistant(_use("t4", command="git commit -m x")),
        _result("t4", "Blocked by policy hook: commits need review", error=True),
        _assistant(_use("t5", command="pytest")),
        _result("t5", "Exit code 1\n1 failed", error=True),
        _assistant(_use("t6", "WebFetch", url="https://example.invalid")),
        _result("t6", "Request failed with status code 404", error=True),
        _assistant({"type": "text", "text": "sub step"}, _use("s1", command="ls"), isSidechain=True),
        _result("s1", "x", isSidechain=True),
        _line(type="attachment", attachment={"type": "queued_command",
                                             "prompt": "also check the lexer"}),
        _assistant({"type": "text", "text": "The parser and lexer look fine."}),
        _user("<bash-input>git status</bash-input>"),
        _user("Now fix the tokenizer", promptId="p-3"),
        _assistant({"type": "text", "text": "API Error: 529"}, isApiErrorMessage=True),
        _user("try again", promptId="p-4"),
        _assistant({"type": "text", "text": "Fixed."}),
        "not json at all",
    ]
    folder = tmp_path / "claude" / "projects" / "-work-app"
    path = folder / "0a1b2c3d-0000-4000-8000-000000000001.jsonl"
    folder.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")
    (folder / "0a1b2c3d-0000-4000-8000-000000000001" / "subagents").mkdir(parents=True)
    (folder / "0a1b2c3d-0000-4000-8000-000000000001" / "subagents" / "agent-a1.jsonl").write_text(
        "\n".join(lines))
    (folder / "agent-old.jsonl").write_text("\n".join(lines))
    assert find_transcripts() == [str(path)]

    transcript = Transcript(str(path))
    got = [(e.name, e.payload.get("prompt") or e.payload.get("tool_use_id")
            or e.payload.get("last_assistant_message") or e.payload.get("source", ""))
           for e in transcript.events()]
    assert got == [
        ("SessionStart", "startup"),
        ("UserPromptSubmit", "/review the parser"),
        ("PostToolUse", "t1"),
        ("PostToolUseFailure", "t5"),
        ("PostToolUseFailure", "t6"),
        ("Stop", "Looking."),
        ("UserPromptSubmit", "also check the lexer"),
        ("Stop", "The parser and lexer look fine."),
        ("UserPromptSubmit", "Now fix the tokenizer"),  # ended by an API error: no Stop
        ("UserPromptSubmit", "try again"),
        ("Stop", "Fixed."),
        ("SessionEnd", ""),
    ]
    assert transcript.problems == [f"line {len(lines)}: not JSON (Expecting value: line 1 "
                                   "column 1 (char 0))"]
    assert transcript.session_id == "0a1b2c3d-0000-4000-8000-000000000001"
