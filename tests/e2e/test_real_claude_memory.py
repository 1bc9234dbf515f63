"""Issue 3 with the real Claude Code: two real sessions, the second knows what the first did.

Nothing here is simulated on claude-mem's side. The real Claude Code CLI bundled in the
claude-agent-sdk wheel runs offline against tests/fakes/fake_llm_server.py, with claude-mem
installed into a throwaway Claude config dir by the real ``claude-mem install`` command; the
hooks it wrote start the real worker, which fills the real SQLite file. What the tests prove:

1. ``test_session_one_is_recorded`` -- a real session whose model runs two Bash commands (one
   writes notes.txt, one fails) leaves, per ``claude-mem show --json`` and
   ``claude-mem search --json``: the session, its prompt, one observation per command (the
   failing one from PostToolUseFailure, with its exit code) and a summary of the request.
2. ``test_next_session_starts_with_that_memory`` -- a new session in the same project sends the
   model, in its very FIRST request, claude-mem's context (exactly what ``claude-mem context``
   prints) naming session 1's request, notes.txt and the failing command.
3. ``test_resumed_session_gets_context`` -- ``claude -p --resume <session 1>`` runs SessionStart
   with source ``resume`` and the model gets the context too; the run reopens session 1 instead
   of making a duplicate. ``test_other_project_gets_none_of_it`` -- a session in another git
   project (whose hooks demonstrably ran) sees none of project 1's memory.
4. ``test_hooks_succeed_quietly_in_every_run`` -- per the CLI's own hook events, every hook exits
   0 with nothing on stderr and only SessionStart prints. ``test_only_the_worker_outlives_each_run``
   / ``test_worker_stop_leaves_nothing`` -- after every CLI run the only claude-mem process
   left (found by scanning /proc for ``claude_mem`` in the command line and this module's data
   dir in the environment) is the one worker named in ``worker.pid``, the same one for every
   run; ``claude-mem worker stop`` leaves none; SessionEnd marked every session completed with
   end_reason "other" (what ``claude -p`` sends).
5. ``test_resuming_again_does_not_stack_contexts`` -- a second ``--resume`` must not give the
   model a second copy of the memory (xfails while claude-mem re-injects it on every resume).

The sessions build on each other through module-scoped fixtures (one CLI run each, run once);
each test only reads what its fixture recorded. Skipped only when the CLI binary is absent.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import kill_leftovers, processes, wait_for, wait_for_background_hooks
from tests.fakes.claude_cli import ClaudeResult, find_claude_binary, hook_responses, run_claude
from tests.fakes.fake_llm_server import FakeLLMServer, RecordedRequest, Rule, Script, Text, ToolUse

pytestmark = pytest.mark.e2e

PROJECT = "billing-service"
OTHER_PROJECT = "weather-app"

PROMPT_1 = "Record the retry budget for the payment client and check its config file."
WRITE_CMD = "printf 'retry budget = 3\\n' > notes.txt"
FAIL_CMD = "cat settings/retry.yaml"
REPLY_1 = "I wrote notes.txt; settings/retry.yaml does not exist yet."
PROMPT_2 = "What do you remember about the retry budget?"
PROMPT_RESUME = "Resuming: is the retry config still missing?"
PROMPT_OTHER = "Add a forecast endpoint to the weather app."
PROMPT_RESUME_AGAIN = "Once more: has anyone created the retry config?"

CONTEXT_HEADER = "# claude-mem: memory of earlier work in"

SCRIPT = Script(
    rules=[
        Rule(PROMPT_1, [
            ToolUse("Bash", {"command": WRITE_CMD, "description": "Write the retry budget"}),
            ToolUse("Bash", {"command": FAIL_CMD, "description": "Read the retry config"}),
            Text(REPLY_1),
        ]),
        Rule(PROMPT_2, [Text("The retry budget is 3, and the config file is missing.")]),
        Rule(PROMPT_RESUME, [Text("Yes, settings/retry.yaml is still missing.")]),
        Rule(PROMPT_OTHER, [Text("Planned the forecast endpoint.")]),
        Rule(PROMPT_RESUME_AGAIN, [Text("No, it is still missing.")]),
    ],
    default=Text("unexpected request"),
)

# Short worker timings for the runs; the worker must outlive the whole module on its own.
WORKER_ENV = {"CLAUDE_MEM_WORKER_POLL_SECONDS": "0.5", "CLAUDE_MEM_WORKER_IDLE_SECONDS": "300"}


# --------------------------------------------------------------------------------------------
# The lab: one throwaway HOME / Claude config dir / data dir / two git projects / fake model
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One real CLI run and what was observed right after it."""

    result: ClaudeResult
    requests: list[RecordedRequest]  # model requests of this run only, in order
    processes_after_exit: dict[int, str]  # claude-mem processes right after the CLI exited
    processes_after_drain: dict[int, str]  # ... and once the worker had drained the queue
    worker_pid: int | None  # worker.pid after the drain

    @property
    def hook_responses(self) -> list[dict]:
        """The CLI's ``hook_response`` events (stream-json): each hook's stdout/stderr/exit."""
        return hook_responses(self.result.stdout)

    def hook_stdout(self, hook_name: str) -> str:
        [event] = [e for e in self.hook_responses if e["hook_name"] == hook_name]
        return event["stdout"]

    @property
    def first_request_text(self) -> str:
        return json.dumps(self.requests[0].body, ensure_ascii=False)


@dataclass
class Lab:
    base: Path
    server: FakeLLMServer
    runs: list[Run] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def config_dir(self) -> Path:
        return self.base / "claude-config"

    @property
    def data_dir(self) -> Path:
        return self.base / "claude-mem-data"

    @property
    def project(self) -> Path:
        return self.base / PROJECT

    @property
    def other_project(self) -> Path:
        return self.base / OTHER_PROJECT

    def env(self) -> dict[str, str]:
        """What both the CLI and claude-mem's own commands get on top of their base env."""
        return {"CLAUDE_MEM_DATA_DIR": str(self.data_dir), **WORKER_ENV}

    # -- claude-mem's CLI, as a person would run it --------------------------------------

    def claude_mem(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        exe = Path(sys.executable).with_name("claude-mem")
        argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "claude_mem.cli"]
        env = {**os.environ, **self.env(), "HOME": str(self.home),
               "CLAUDE_CONFIG_DIR": str(self.config_dir)}
        proc = subprocess.run([*argv, *args], capture_output=True, text=True, env=env,
                              timeout=60)
        if check:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    def claude_mem_json(self, *args: str):
        return json.loads(self.claude_mem(*args, "--json").stdout)

    # -- Claude Code ---------------------------------------------------------------------

    def claude(self, prompt: str, cwd: Path, *extra: str) -> Run:
        before = self.server.model_request_count
        result = run_claude(prompt, cwd=cwd, home=self.home, config_dir=self.config_dir,
                            base_url=self.server.url,
                            # stream-json (the last --output-format wins) reports every
                            # hook's stdout, stderr and exit code; the result is its last line.
                            extra_args=("--allowedTools", "Bash", *extra, "--output-format",
                                        "stream-json", "--verbose", "--include-hook-events"),
                            env=self.env(),
                            timeout=120)
        after_exit = self.processes()
        assert result.returncode == 0 and not result.is_error, result.describe()
        assert self.server.errors == []
        self.wait_until_drained()
        run = Run(result, self.server.model_requests[before:], after_exit, self.processes(),
                  self.worker_pid())
        self.runs.append(run)
        return run

    # -- claude-mem's state ----------------------------------------------------------------

    def worker_pid(self) -> int | None:
        try:
            return int((self.data_dir / "worker.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def wait_until_drained(self, timeout: float = 30.0) -> None:
        from claude_mem.store import Store

        # The capture hooks run in the background: their events are committed once they end.
        wait_for_background_hooks(str(self.data_dir), timeout)

        db, spool = self.data_dir / "claude-mem.db", self.data_dir / "spool"

        def drained():
            if not db.exists():
                return None
            with Store(str(db), migrate=False) as store:
                stats = store.queue_stats()
            spooled = spool.is_dir() and any(p.suffix == ".json" for p in spool.iterdir())
            return stats if stats["pending"] == 0 and not spooled else None

        try:
            stats = wait_for(drained, timeout, what="claude-mem's queue to drain")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None
        assert stats["parked"] == 0, self.log_tail()

    def processes(self) -> dict[int, str]:
        """pid -> command line of every live process of *this* claude-mem installation.

        A process counts when ``claude_mem`` is in its command line (hooks run
        ``.../claude_mem/hook_entry.py``, the worker ``-m claude_mem.worker``) and its
        environment carries this lab's data dir -- other test runs on the machine have theirs.
        """
        return processes(cmdline_has=(b"claude_mem",),
                         environ_has=(f"CLAUDE_MEM_DATA_DIR={self.data_dir}".encode(),))

    def log_tail(self, lines: int = 40) -> str:
        path = self.data_dir / "logs" / "claude-mem.log"
        try:
            return "claude-mem.log:\n" + "\n".join(path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no claude-mem.log)"


def _git_init(folder: Path) -> None:
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if find_claude_binary() is None:
        pytest.skip("Claude Code CLI not found (claude_agent_sdk/_bundled/claude)")
    if shutil.which("git") is None:
        pytest.skip("git is needed to make the project folders real repositories")
    base = tmp_path_factory.mktemp("real-claude-memory")
    with FakeLLMServer(SCRIPT) as server:
        lab = Lab(base, server)
        lab.home.mkdir()
        _git_init(lab.project)
        _git_init(lab.other_project)
        # Installed the way a person installs it: the real command, into the config dir the
        # CLI will read; nothing hand-written.
        out = lab.claude_mem("install", "--claude-config-dir", str(lab.config_dir))
        assert str(lab.config_dir / "settings.json") in out.stdout
        try:
            yield lab
        finally:
            _tear_down(lab)


def _tear_down(lab: Lab) -> None:
    """Stop the worker; kill (by pid) anything of ours that would not stop, and say so."""
    lab.claude_mem("worker", "stop", check=False)
    left = lab.processes()
    kill_leftovers(left, "claude-mem processes outlived the e2e module")


# --------------------------------------------------------------------------------------------
# The runs, each once, in the order a person would do them
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session1(lab) -> Run:
    run = lab.claude(PROMPT_1, lab.project)
    assert run.result.result == REPLY_1, run.result.describe()
    return run


@dataclass
class Memory:
    """What claude-mem's own commands report about session 1, read before anything else ran."""

    detail: dict  # claude-mem show <session id> --json
    searches: dict[tuple, list[dict]]  # (query, --type) -> claude-mem search --json hits


SEARCHES = [("retry budget", "prompt"), ("notes.txt", "observation"),
            ("settings/retry.yaml", "observation"), ("payment client", "summary"),
            ("retry", "summary")]


@pytest.fixture(scope="module")
def session1_memory(lab, session1) -> Memory:
    detail = lab.claude_mem_json("show", session1.result.session_id)
    searches = {(query, kind): lab.claude_mem_json("search", query, "--project", PROJECT,
                                                   "--type", kind)
                for query, kind in SEARCHES}
    return Memory(detail, searches)


@pytest.fixture(scope="module")
def context_before_session2(lab, session1_memory) -> str:
    """What ``claude-mem context --json`` says SessionStart will print in project 1, right now."""
    return lab.claude_mem("context", "--cwd", str(lab.project), "--json").stdout


@pytest.fixture(scope="module")
def session2(lab, context_before_session2) -> Run:
    return lab.claude(PROMPT_2, lab.project)


@pytest.fixture(scope="module")
def resumed(lab, session1, session2) -> Run:
    return lab.claude(PROMPT_RESUME, lab.project, "--resume", session1.result.session_id)


@pytest.fixture(scope="module")
def other(lab, session1, session2, resumed) -> Run:
    return lab.claude(PROMPT_OTHER, lab.other_project)


@pytest.fixture(scope="module")
def resumed_again(lab, session1, resumed, other) -> Run:
    return lab.claude(PROMPT_RESUME_AGAIN, lab.project, "--resume", session1.result.session_id)


@pytest.fixture(scope="module")
def all_runs(lab, session1, session2, resumed, other, resumed_again) -> list[Run]:
    return list(lab.runs)


# --------------------------------------------------------------------------------------------
# Helpers to read the model requests
# --------------------------------------------------------------------------------------------


def _texts(content) -> list[str]:
    if isinstance(content, str):
        return [content]
    out = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict):
            if isinstance(block.get("text"), str):
                out.append(block["text"])
            elif isinstance(block.get("content"), (str, list)):  # tool_result
                out += _texts(block["content"])
    return out


def messages_with(request: RecordedRequest, needle: str) -> list[tuple[int, dict]]:
    """(index, message) of every messages[] entry whose text contains ``needle``."""
    return [(i, m) for i, m in enumerate(request.body.get("messages", []))
            if any(needle in t for t in _texts(m.get("content")))]


def system_prompt_text(request: RecordedRequest) -> str:
    return "\n".join(_texts(request.body.get("system")))


# --------------------------------------------------------------------------------------------
# Acceptance 1: session 1 is recorded
# --------------------------------------------------------------------------------------------


def test_install_wrote_the_hooks_claude_code_runs(lab):
    settings = json.loads((lab.config_dir / "settings.json").read_text())
    events = set(settings["hooks"])
    assert events == {"SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure",
                      "Stop", "SessionEnd"}
    from claude_mem.hook_events import ASYNC, BY_EVENT, FOREGROUND
    from claude_mem.install import BACKGROUND_PREFIX

    for event in events:
        hook = settings["hooks"][event][0]["hooks"][0]
        command = hook["command"]
        background = BY_EVENT[event].background != FOREGROUND
        # The capture hooks run in the background: SIGTERM ignored before the interpreter
        # starts, and the hook leaves Claude Code's process tree (--background).
        assert command.startswith(BACKGROUND_PREFIX) == background, command
        parts = shlex.split(command.removeprefix(BACKGROUND_PREFIX))
        if background:  # capture.sh (the worker's inbox), then the Python hook it falls back to
            shell, script, name, *parts = parts
            assert shell == "sh" and script.endswith("claude_mem/capture.sh"), command
            assert name == BY_EVENT[event].hook, command
        else:
            parts = parts[:-1]
        python, *flags, entry = parts
        # An absolute interpreter (never a bare python3 on PATH) and claude-mem's hook script.
        assert os.path.isabs(python) and os.access(python, os.X_OK), command
        assert flags == ["-I", "-S"] and entry.endswith("claude_mem/hook_entry.py"), command
        assert hook.get("async", False) is (BY_EVENT[event].background == ASYNC)


def test_session_one_is_recorded(lab, session1, session1_memory):
    sid = session1.result.session_id
    # Every hook fired, succeeded and stayed silent (an empty memory prints no context). The
    # tool hooks are async: the CLI reports each when it finishes, so under load the last
    # one's report may come after Stop's.
    assert sorted((e["hook_name"], e["exit_code"], e["stdout"], e["stderr"])
                  for e in session1.hook_responses) == sorted(
        (name, 0, "", "") for name in ("SessionStart:startup", "UserPromptSubmit",
                                       "PostToolUse:Bash", "PostToolUseFailure:Bash", "Stop"))
    assert [e["hook_name"] for e in session1.hook_responses][:2] == ["SessionStart:startup",
                                                                     "UserPromptSubmit"]
    assert (lab.project / "notes.txt").read_text() == "retry budget = 3\n"
    assert len(session1.requests) == 3  # prompt, after the write, after the failure

    detail = session1_memory.detail
    session = detail["session"]
    assert session["claude_session_id"] == sid
    assert session["project"] == PROJECT  # the git top level's folder name
    assert session["cwd"] == str(lab.project)
    assert session["prompt_counter"] == 1
    assert [p["prompt"] for p in detail["prompts"]] == [PROMPT_1]

    observations = detail["observations"]
    assert len(observations) == 2, observations
    by_command = {o["facts"][0]: o for o in observations}
    write, fail = by_command[f"Command: {WRITE_CMD}"], by_command[f"Command: {FAIL_CMD}"]
    assert write["tool_name"] == fail["tool_name"] == "Bash"
    assert write["files_modified"] == ["notes.txt"]
    assert "failure" not in write["concepts"]
    # PostToolUseFailure: the failing command, its exit code and its error text.
    assert "failure" in fail["concepts"]
    assert fail["title"].startswith(f"`{FAIL_CMD}` failed (exit code 1)"), fail["title"]
    assert any("No such file or directory" in f for f in fail["facts"]), fail["facts"]
    assert {o["prompt_number"] for o in observations} == {1}
    assert len({o["tool_use_id"] for o in observations}) == 2

    [summary] = detail["summaries"]
    assert summary["prompt_number"] == 1
    assert summary["request"] == PROMPT_1
    assert "notes.txt" in summary["files_edited"]
    assert FAIL_CMD in summary["learned"]
    assert REPLY_1 in summary["notes"]

    # Everything is findable with the search a person (or the model) would run.
    def search(query: str, kind: str) -> list[dict]:
        return session1_memory.searches[(query, kind)]

    assert [h["prompt"] for h in search("retry budget", kind="prompt")] == [PROMPT_1]
    assert {h["id"] for h in search("notes.txt", kind="observation")} >= {write["id"]}
    assert fail["id"] in {h["id"] for h in search("settings/retry.yaml", kind="observation")}
    assert summary["id"] in {h["id"] for h in search("payment client", kind="summary")}
    hits = search("retry", kind="summary")
    assert hits and all(h["claude_session_id"] == sid for h in hits)


# --------------------------------------------------------------------------------------------
# Acceptance 2: the next session's first request carries that memory
# --------------------------------------------------------------------------------------------


def test_next_session_starts_with_that_memory(lab, session1, session2, context_before_session2):
    # The SessionStart hook Claude Code ran printed exactly what `claude-mem context` predicted.
    assert session2.hook_stdout("SessionStart:startup") == context_before_session2
    context = json.loads(context_before_session2)["hookSpecificOutput"]["additionalContext"]
    assert context.startswith(f"{CONTEXT_HEADER} {PROJECT}"), context
    for fact in (PROMPT_1, "notes.txt", FAIL_CMD):
        assert fact in context, (fact, context)

    assert session2.result.session_id != session1.result.session_id
    first = session2.requests[0]
    assert first.prompt == PROMPT_2
    hits = messages_with(first, CONTEXT_HEADER)
    assert len(hits) == 1, first.body["messages"]
    index, message = hits[0]
    # Claude Code hands SessionStart's additionalContext to the model as a role "system"
    # entry of messages[] in the first request ("SessionStart hook additional context: ...").
    assert message["role"] == "system", message
    text = "\n".join(_texts(message["content"]))
    assert "SessionStart hook additional context" in text
    assert context.strip() in text, text
    assert CONTEXT_HEADER not in system_prompt_text(first)
    for fact in (PROMPT_1, "notes.txt", FAIL_CMD):
        assert fact in text


# --------------------------------------------------------------------------------------------
# Acceptance 3: --resume gets context; another project gets none
# --------------------------------------------------------------------------------------------


def test_resumed_session_gets_context(lab, session1, resumed):
    sid = session1.result.session_id
    assert resumed.result.session_id == sid
    # Claude Code ran SessionStart with source "resume", and claude-mem answered it.
    printed = json.loads(resumed.hook_stdout("SessionStart:resume"))
    context = printed["hookSpecificOutput"]["additionalContext"]
    assert context.startswith(f"{CONTEXT_HEADER} {PROJECT}")
    first = resumed.requests[0]
    assert first.prompt == PROMPT_RESUME
    hits = messages_with(first, CONTEXT_HEADER)
    assert hits, "no claude-mem context in the first request of the resumed run"
    # Session 1 started with an empty memory, so this context is the resume's own: it comes
    # after session 1's replayed conversation (its last reply) and knows session 1.
    assert not messages_with(session1.requests[0], CONTEXT_HEADER)
    index, message = hits[-1]
    assert message["role"] == "system", message
    assert index > max(i for i, m in messages_with(first, REPLY_1) if m["role"] == "assistant")
    text = "\n".join(_texts(message["content"]))
    assert context.strip() in text
    for fact in (PROMPT_1, "notes.txt", FAIL_CMD):
        assert fact in text, (fact, text)

    # The resumed run reopened session 1 (a second run, a second prompt), no duplicate.
    detail = lab.claude_mem_json("show", sid)
    assert detail["session"]["runs"] == 2
    assert [p["prompt"] for p in detail["prompts"]] == [PROMPT_1, PROMPT_RESUME]
    assert sum(s["claude_session_id"] == sid for s in lab.claude_mem_json("sessions")) == 1


def test_other_project_gets_none_of_it(lab, other):
    first = other.requests[0]
    assert first.prompt == PROMPT_OTHER
    text = other.first_request_text
    for absent in (CONTEXT_HEADER, PROMPT_1, "notes.txt", FAIL_CMD, "retry budget",
                   "payment client", PROJECT):
        assert absent not in text, absent
    # Not a vacuous pass: claude-mem's hooks did run there and recorded that session apart.
    [row] = lab.claude_mem_json("sessions", "--project", OTHER_PROJECT)
    assert row["claude_session_id"] == other.result.session_id
    assert row["first_prompt"] == PROMPT_OTHER
    assert lab.claude_mem("context", "--cwd", str(lab.other_project)).stdout.startswith(
        f"{CONTEXT_HEADER} {OTHER_PROJECT}")


def test_resuming_again_does_not_stack_contexts(lab, session1, resumed_again):
    """A second --resume must not hand the model a second copy of the memory.

    Claude Code keeps hook context in the transcript and replays it on --resume, so the copy
    injected by the first resume is already in the conversation. Nothing new happened in
    this project since (the run in between was in another project), so the hook adds
    nothing, and the model still sees exactly one copy: the replayed one.
    """
    sid = session1.result.session_id
    assert resumed_again.result.session_id == sid
    assert resumed_again.hook_stdout("SessionStart:resume") == ""
    first = resumed_again.requests[0]
    assert first.prompt == PROMPT_RESUME_AGAIN
    copies = messages_with(first, CONTEXT_HEADER)
    assert len(copies) == 1
    text = "\n".join(_texts(copies[0][1]["content"]))
    assert PROMPT_1 in text


# --------------------------------------------------------------------------------------------
# Acceptance 4: no orphans; the worker stops; SessionEnd closed every session
# --------------------------------------------------------------------------------------------


def test_hooks_succeed_quietly_in_every_run(all_runs):
    """Exit 0, nothing on stderr, and only SessionStart ever prints (SessionEnd fires after
    the result line, so it is not in the stream; its effect is checked below)."""
    for n, run in enumerate(all_runs, 1):
        names = [e["hook_name"] for e in run.hook_responses]
        # The synchronous ones in order; an async tool hook's report may come after Stop's.
        synchronous = [name for name in names if not name.startswith("PostToolUse")]
        assert synchronous[0].startswith("SessionStart:") and synchronous[-1] == "Stop", (n, names)
        for event in run.hook_responses:
            assert (event["exit_code"], event["outcome"], event["stderr"]) == (0, "success", ""), \
                (n, event)
            if not event["hook_name"].startswith("SessionStart"):
                assert event["stdout"] == "", (n, event)


def test_only_the_worker_outlives_each_run(lab, all_runs):
    assert len(all_runs) == 5
    for n, run in enumerate(all_runs, 1):
        worker = run.worker_pid
        assert worker is not None, f"run {n}: no worker.pid"
        # Right after the CLI exited, capture hooks that left its process tree may still be
        # storing their events (and nothing else of ours); once they did, only the worker.
        finishing = {pid for pid, cmd in run.processes_after_exit.items()
                     if pid != worker and (" --background " in f" {cmd} " or "capture.sh" in cmd)}
        assert set(run.processes_after_exit) - finishing == {worker}, \
            f"run {n}, after exit: {run.processes_after_exit} (worker {worker})"
        procs = run.processes_after_drain
        assert set(procs) == {worker}, f"run {n}, after drain: {procs} (worker {worker})"
        assert "claude_mem.worker" in procs[worker]
    # One worker per user: started on demand by the first hook, reused by every later run.
    assert len({run.worker_pid for run in all_runs}) == 1


def test_worker_stop_leaves_nothing(lab, all_runs):
    status = lab.claude_mem_json("status")
    assert status["worker"]["running"] is True
    assert status["queue"]["pending"] == 0 and status["parked"] == []
    assert status["counts"]["active_sessions"] == 0, status["active_sessions"]

    sessions = lab.claude_mem_json("sessions")
    assert len(sessions) == 3  # session 1 (resumed twice, not duplicated), session 2, other
    for row in sessions:
        assert (row["status"], row["end_reason"]) == ("completed", "other"), row
        assert row["completed_at"]

    out = lab.claude_mem("worker", "stop")
    assert out.stdout.strip() == "worker stopped"
    assert lab.processes() == {}
    assert not (lab.data_dir / "worker.pid").exists()
    assert not (lab.data_dir / "worker.sock").exists()
    assert lab.claude_mem("worker", "status").stdout.strip() == "not running"

