"""Issue 24 with both real CLIs: one memory per project, whichever agent did the work.

The real Codex CLI (npm ``@openai/codex``, installed by ``.ci/run`` under ``.ci/node``) runs
offline against ``tests/fakes/fake_responses.py``; the real Claude Code CLI (bundled in the
claude-agent-sdk wheel) against ``tests/fakes/fake_llm_server.py``. claude-mem is installed
into both by its own commands (``claude-mem install`` and ``claude-mem install --agent codex``,
which also trusts its Codex hooks through ``codex app-server``: no bypass flag is used), and
one data dir, one worker and one SQLite file serve both. What the tests prove:

1. ``test_codex_session_is_recorded`` -- a Codex session (a shell command that writes a file,
   an ``apply_patch`` that creates a module, a command that fails with exit code 1) is recorded
   as a ``codex`` session: the patched file as modified, the failure with its exit code, and
   a summary of the request.
2. ``test_claude_starts_with_what_codex_did`` -- the next Claude Code session in the same
   project sends the model, in its first request, claude-mem's context naming Codex's work.
3. ``test_codex_starts_with_what_claude_did`` -- the reverse, in a second project: a Claude Code
   session's work is in the first request the Codex session sends.
4. ``test_rollout_import_equals_live_capture`` -- ``claude-mem import codex`` of the rollout
   Codex wrote, into an empty data dir, gives the same observations and summary key terms as
   the live capture; a second import adds nothing.

Skipped, with the reason, when the Codex or Claude Code binary is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import kill_leftovers, processes, wait_for, wait_for_background_hooks
from tests.fakes.claude_cli import find_claude_binary, run_claude
from tests.fakes.codex_cli import find_codex_binary, run_codex, write_provider
from tests.fakes.fake_llm_server import FakeLLMServer
from tests.fakes.fake_llm_server import Rule as ClaudeRule
from tests.fakes.fake_llm_server import Script as ClaudeScript
from tests.fakes.fake_llm_server import Text, ToolUse
from tests.fakes.fake_responses import FakeResponsesServer, Patch, Rule, Say, Script, Shell

pytestmark = pytest.mark.e2e

CONTEXT_HEADER = "# claude-mem: memory of earlier work in"

# Project 1: Codex first, then Claude Code.
LEDGER = "ledger-service"
CODEX_PROMPT = "Switch the ledger to bankers rounding and check the ledger config."
CODEX_WRITE = "printf 'rounding = half-even\\n' > ROUNDING.md"
CODEX_PATCH = ("*** Begin Patch\n*** Add File: ledger_round.py\n"
               "+def round_half_even(amount):\n+    return round(amount, 2)\n*** End Patch\n")
CODEX_FAIL = "cat config/ledger.yaml"
# An apply_patch the model runs through the shell: Codex 0.171 fires no PostToolUse for it;
# the worker finds it in the rollout when the session ends (reconcile.py).
CODEX_SHELL_PATCH = ("apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: ledger_audit.py\n"
                     "+def audit_rounding(entries):\n+    return [e for e in entries if e != round(e, 2)]\n"
                     "*** End Patch\nEOF\n")
CODEX_REPLY = "Bankers rounding lives in ledger_round.py; config/ledger.yaml is missing."
CLAUDE_ASKS = "What did the last session change about rounding?"

# Project 2: Claude Code first, then Codex.
INVENTORY = "inventory-api"
CLAUDE_PROMPT = "Record the restock threshold for the warehouse sync."
CLAUDE_WRITE = "printf 'restock threshold = 40\\n' > RESTOCK.md"
CLAUDE_REPLY = "RESTOCK.md records a restock threshold of 40."
CODEX_ASKS = "What is the restock threshold?"

CODEX_SCRIPT = Script([
    Rule(CODEX_PROMPT, [Shell(CODEX_WRITE), Patch(CODEX_PATCH), Shell(CODEX_FAIL),
                        Shell(CODEX_SHELL_PATCH), Say(CODEX_REPLY)]),
    Rule(CODEX_ASKS, [Say("The restock threshold is 40.")]),
], default=Say("unexpected request"))

CLAUDE_SCRIPT = ClaudeScript(rules=[
    ClaudeRule(CLAUDE_PROMPT, [ToolUse("Bash", {"command": CLAUDE_WRITE, "description": "Write it"}),
                               Text(CLAUDE_REPLY)]),
    ClaudeRule(CLAUDE_ASKS, [Text("Codex switched the ledger to bankers rounding.")]),
], default=Text("unexpected request"))

WORKER_ENV = {"CLAUDE_MEM_WORKER_POLL_SECONDS": "0.5", "CLAUDE_MEM_WORKER_IDLE_SECONDS": "300"}


class Lab:
    def __init__(self, base: Path, codex_bin: str, responses: FakeResponsesServer, messages: FakeLLMServer):
        self.base, self.codex_bin = base, codex_bin
        self.responses, self.messages = responses, messages
        self.home = base / "home"
        self.codex_home = base / "codex-home"
        self.claude_config = base / "claude-config"
        self.data_dir = base / "data"

    def env(self, data_dir: Path | None = None) -> dict:
        return {"CLAUDE_MEM_DATA_DIR": str(data_dir or self.data_dir), **WORKER_ENV}

    def claude_mem(self, *args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, **self.env(data_dir), "HOME": str(self.home),
               "CLAUDE_CONFIG_DIR": str(self.claude_config), "CODEX_HOME": str(self.codex_home)}
        proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                              text=True, env=env, timeout=90)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    def json(self, *args: str, data_dir: Path | None = None):
        return json.loads(self.claude_mem(*args, "--json", data_dir=data_dir).stdout)

    def codex(self, prompt: str, cwd: Path):
        before = len(self.responses.requests)
        result = run_codex(prompt, cwd=cwd, home=self.home, codex_home=self.codex_home,
                           env=self.env(), binary=self.codex_bin)
        assert result.returncode == 0, result.describe()
        assert self.responses.errors == []
        self.wait_until_drained()
        return result, self.responses.requests[before:]

    def claude(self, prompt: str, cwd: Path):
        before = self.messages.model_request_count
        result = run_claude(prompt, cwd=cwd, home=self.home, config_dir=self.claude_config,
                            base_url=self.messages.url, extra_args=("--allowedTools", "Bash"),
                            env=self.env(), timeout=120)
        assert result.returncode == 0 and not result.is_error, result.describe()
        self.wait_until_drained()
        return result, self.messages.model_requests[before:]

    def wait_until_drained(self, data_dir: Path | None = None) -> None:
        from claude_mem.store import Store

        db = (data_dir or self.data_dir) / "claude-mem.db"
        # Claude Code's capture hooks run in the background: their events are in once they end.
        wait_for_background_hooks(str(data_dir or self.data_dir))

        def drained():
            if not db.exists():
                return None
            with Store(str(db), migrate=False) as store:
                stats = store.queue_stats()
            return stats if stats["pending"] == 0 else None

        stats = wait_for(drained, 30, what="claude-mem's queue to drain")
        assert stats["parked"] == 0, self.log_tail(data_dir)

    def log_tail(self, data_dir: Path | None = None) -> str:
        path = (data_dir or self.data_dir) / "logs" / "claude-mem.log"
        try:
            return "\n".join(path.read_text().splitlines()[-30:])
        except OSError:
            return "(no log)"

    def stop(self, data_dir: Path | None = None) -> None:
        subprocess.run([sys.executable, "-m", "claude_mem.cli", "worker", "stop"], capture_output=True,
                       env={**os.environ, **self.env(data_dir)}, timeout=60)
        left = processes(cmdline_has=(b"claude_mem",),
                         environ_has=(f"CLAUDE_MEM_DATA_DIR={data_dir or self.data_dir}".encode(),))
        kill_leftovers(left, "claude-mem processes outlived the test")


def _git_init(folder: Path) -> Path:
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True, capture_output=True)
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    codex_bin = find_codex_binary()
    if codex_bin is None:
        pytest.skip("Codex CLI not found: .ci/run installs it with npm (`npm install --prefix .ci/node "
                    "@openai/codex`); npm could not be reached or the install failed")
    if find_claude_binary() is None:
        pytest.skip("Claude Code CLI not found (claude_agent_sdk/_bundled/claude)")
    if shutil.which("git") is None:
        pytest.skip("git is needed to make the project folders real repositories")
    base = tmp_path_factory.mktemp("codex-and-claude")
    with FakeResponsesServer(CODEX_SCRIPT) as responses, FakeLLMServer(CLAUDE_SCRIPT) as messages:
        lab = Lab(base, codex_bin, responses, messages)
        lab.home.mkdir()
        _git_init(base / LEDGER)
        _git_init(base / INVENTORY)
        write_provider(lab.codex_home, responses.url)
        lab.claude_mem("install", "--claude-config-dir", str(lab.claude_config))
        report = lab.json("install", "--agent", "codex", "--codex-home", str(lab.codex_home),
                          "--codex-bin", codex_bin)
        assert len(report["trusted"]) == 5, report  # no bypass flag: the hooks must be trusted
        try:
            yield lab
        finally:
            lab.stop()


@pytest.fixture(scope="module")
def codex_session(lab):
    result, requests = lab.codex(CODEX_PROMPT, lab.base / LEDGER)
    assert (lab.base / LEDGER / "ledger_round.py").exists(), result.describe()  # apply_patch ran
    assert (lab.base / LEDGER / "ledger_audit.py").exists(), result.describe()  # and through the shell
    sessions = lab.json("sessions", "--project", LEDGER)
    [session] = sessions
    return result, requests, session


def test_codex_session_is_recorded(lab, codex_session):
    _, _, session = codex_session
    assert session["agent"] == "codex"
    detail = lab.json("show", str(session["id"]))
    text = json.dumps(detail)
    titles = [o["title"] for o in detail["observations"]]
    assert any("ledger_round.py" in t and "round_half_even" in t for t in titles), titles
    assert any(CODEX_FAIL in t and "exit code 1" in t for t in titles), titles
    assert any("ROUNDING.md" in json.dumps(o) for o in detail["observations"]), titles
    modified = {f for o in detail["observations"] for f in o.get("files_modified") or []}
    assert {"ledger_round.py", "ROUNDING.md"} <= modified, modified
    # The shell's apply_patch fired no hook: the rollout, read when the session ended, has it.
    wait_for(lambda: "ledger_audit.py" in json.dumps(lab.json("show", str(session["id"]))),
             timeout=30, what="the shell's apply_patch reconciled from the rollout")
    detail = lab.json("show", str(session["id"]))
    assert any("ledger_audit.py" in t and "audit_rounding" in t
               for t in (o["title"] for o in detail["observations"])), detail["observations"]
    assert "ledger_audit.py" in json.dumps(detail["summaries"]), detail["summaries"]
    assert detail["summaries"], text
    assert "ledger_round.py" in json.dumps(detail["summaries"]), detail["summaries"]


def test_claude_starts_with_what_codex_did(lab, codex_session):
    result, requests = lab.claude(CLAUDE_ASKS, lab.base / LEDGER)
    first = json.dumps(requests[0].body, ensure_ascii=False)
    assert CONTEXT_HEADER in first, first[:3000]
    assert "ledger_round.py" in first and "[Codex]" in first
    assert result.result == "Codex switched the ledger to bankers rounding."
    kinds = {s["agent"] for s in lab.json("sessions", "--project", LEDGER)}
    assert kinds == {"codex", "claude-code"}


def test_codex_starts_with_what_claude_did(lab):
    lab.claude(CLAUDE_PROMPT, lab.base / INVENTORY)
    result, requests = lab.codex(CODEX_ASKS, lab.base / INVENTORY)
    first = json.dumps(requests[0], ensure_ascii=False)
    assert CONTEXT_HEADER in first, first[-3000:]
    assert "RESTOCK.md" in first and "restock threshold" in first.lower()
    assert "[Codex]" not in first  # Claude Code's work only: no agent tags needed
    sessions = lab.json("sessions", "--project", INVENTORY)
    assert {s["agent"] for s in sessions} == {"claude-code", "codex"}



# Written down before the import existed: what the Codex session's memory must hold.
KEY_TERMS = ("ledger_round.py", "round_half_even", "ROUNDING.md", "config/ledger.yaml",
             "exit code 1", "Bankers rounding")


def _memory_text(detail: dict) -> str:
    return json.dumps({"observations": [(o["title"], o["files_modified"]) for o in detail["observations"]],
                       "summaries": [(s["request"], s["completed"], s["learned"], s["notes"])
                                     for s in detail["summaries"]]}, ensure_ascii=False)


def test_rollout_import_equals_live_capture(lab, codex_session):
    _, _, session = codex_session
    rollouts = sorted((lab.codex_home / "sessions").rglob("rollout-*.jsonl"))
    [rollout] = [r for r in rollouts if session["claude_session_id"] in r.name]
    live = lab.json("show", str(session["id"]))
    # Into the data dir that captured it live: nothing new.
    again = lab.json("import", "codex", str(rollout))
    assert again["sessions"] == {"new": 0, "partial": 0, "already": 1}, again
    assert again["queued_rows"] == 0, again
    # Into an empty data dir: the same memory.
    fresh = lab.base / "imported-data"
    try:
        report = lab.json("import", "codex", "--codex-home", str(lab.codex_home), data_dir=fresh)
        assert report["sessions"]["new"] >= 1 and report["parked"] == 0, report
        [imported_row] = [s for s in lab.json("sessions", data_dir=fresh)
                          if s["claude_session_id"] == session["claude_session_id"]]
        assert imported_row["agent"] == "codex"
        imported = lab.json("show", str(imported_row["id"]), data_dir=fresh)
        assert [o["title"] for o in imported["observations"]] == [o["title"] for o in live["observations"]]
        live_text, imported_text = _memory_text(live), _memory_text(imported)
        for term in KEY_TERMS:
            assert term in live_text and term in imported_text, term
        assert lab.json("import", "codex", "--codex-home", str(lab.codex_home), data_dir=fresh)["queued_rows"] == 0
    finally:
        lab.stop(fresh)


# -- Gemini CLI: the third agent, the same way --------------------------------------------------

GEMINI_PROMPT = "Add the ledger export and check the export config."
GEMINI_FAIL = "cat config/export.yaml"
GEMINI_REPLY = "ledger_export.py writes the CSV; config/export.yaml is missing."


def test_gemini_starts_with_the_memory_and_adds_to_it(lab):
    from tests.fakes.fake_gemini import FakeGeminiServer, Rule as GeminiRule, Say as GeminiSay
    from tests.fakes.fake_gemini import Script as GeminiScript, Shell as GeminiShell, WriteFile
    from tests.fakes.gemini_cli import find_gemini_binary, run_gemini, write_auth

    binary = find_gemini_binary()
    if binary is None:
        pytest.skip("Gemini CLI not found: .ci/run installs it with npm (`npm install --prefix .ci/node "
                    "@google/gemini-cli`; it needs node); npm could not be reached or the install failed")
    project = lab.base / LEDGER
    script = GeminiScript([GeminiRule(GEMINI_PROMPT, [
        WriteFile(str(project / "ledger_export.py"), "def export_csv(rows):\n    return rows\n"),
        GeminiShell(GEMINI_FAIL), GeminiSay(GEMINI_REPLY)])], default=GeminiSay("unexpected request"))
    gemini_dir = lab.home / ".gemini"
    write_auth(gemini_dir)
    report = lab.json("install", "--agent", "gemini", "--gemini-dir", str(gemini_dir))
    assert report["hooks"] == sorted(["SessionStart", "UserPromptSubmit", "PostToolUse", "Stop", "SessionEnd"])
    with FakeGeminiServer(script) as server:
        code, out, err = run_gemini(GEMINI_PROMPT, cwd=project, home=lab.home, base_url=server.url,
                                    env=lab.env(), binary=binary)
        assert code == 0 and server.errors == [], (out[-2000:], err[-2000:])
        first = json.dumps(server.requests[0], ensure_ascii=False)
    lab.wait_until_drained()
    # It started with what Codex and Claude Code recorded in this project ...
    assert CONTEXT_HEADER in first and "ledger_round.py" in first and "[Codex]" in first, first[:3000]
    # ... and what it did is memory for whichever agent comes next.
    [session] = [s for s in lab.json("sessions", "--project", LEDGER) if s["agent"] == "gemini"]
    titles = [o["title"] for o in lab.json("show", str(session["id"]))["observations"]]
    assert any(t.startswith("Created ledger_export.py") and "export_csv" in t for t in titles), titles
    assert any(GEMINI_FAIL in t and "exit code 1" in t for t in titles), titles
    context = lab.claude_mem("context", "--cwd", str(project)).stdout
    assert "[Gemini]" in context and "ledger_export.py" in context
