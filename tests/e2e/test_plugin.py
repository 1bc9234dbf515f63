"""coding-memory as a Claude Code plugin, installed the way a person installs it (issue 19).

Everything is real but the model: the Claude Code CLI bundled in claude-agent-sdk validates the
plugin, adds this repository (a clean copy, as a fresh clone would be) as a marketplace and
installs ``coding-memory@coding-memory`` into a throwaway config dir; ``claude -p`` runs against
the fake Messages API. What the tests prove:

- ``claude plugin validate`` passes for the folder (its marketplace) and, with ``--strict``,
  for the plugin manifest;
- the installed plugin's hooks (``hooks/launch.sh`` picking a Python 3.11+ from PATH; nothing
  recorded by ``claude-mem install``) record a real session, and the next session's first
  model request holds that memory;
- ``claude mcp list`` shows the plugin's MCP server connected when ``python3`` is the system
  one (the interpreter with the SDK comes from ``<data dir>/python``) and when ``python3`` is
  the base interpreter of the venv named by ``CLAUDE_MEM_PYTHON`` (the case the launcher used
  to reject);
- with no Python 3.11+ anywhere (``python3`` is a real 3.9), SessionStart tells the person
  (Claude Code's message and the model's context) and ``doctor`` names it, and no hook fails.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import kill_leftovers, processes, wait_for
from tests.fakes.claude_cli import claude_env, find_claude_binary, hook_responses, run_claude
from tests.fakes.fake_llm_server import FakeLLMServer, Rule, Script, Text, ToolUse

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
PROMPT_1 = "Note the cache size for the image service."
WRITE_CMD = "printf 'cache size = 512 MB\\n' > cache-notes.txt"
REPLY_1 = "I wrote cache-notes.txt with the image service's cache size."
PROMPT_2 = "What do we know about the image cache?"
PROMPT_OLD = "Anything to remember here?"
SCRIPT = Script(rules=[
    Rule(PROMPT_1, [ToolUse("Bash", {"command": WRITE_CMD, "description": "Write the notes"}),
                    Text(REPLY_1)]),
    Rule(PROMPT_2, [Text("The cache size is 512 MB.")]),
    Rule(PROMPT_OLD, [Text("Nothing yet.")]),
], default=Text("unexpected request"))
# Somewhere a real Python older than 3.11 may live on this machine (pyenv); CI may have none.
OLD_PYTHONS = sorted(Path("/root/.pyenv/versions").glob("3.[0-9].*/bin/python3")) \
    + sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob("3.10.*/bin/python3"))


def _copy_plugin(dest: Path) -> Path:
    """What a fresh clone holds of the plugin (no venv, no caches)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".venv", "*.pyc")
    for part in (".claude-plugin", "hooks", "src"):
        shutil.copytree(ROOT / part, dest / part, ignore=ignore)
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, dest / name)
    return dest


class Lab:
    def __init__(self, base: Path, claude: str):
        self.base, self.claude_bin = base, claude
        self.home, self.config = base / "home", base / "claude-config"
        self.data = base / "data"
        self.home.mkdir()
        self.marketplace = _copy_plugin(base / "clone")

    def env(self, **extra: str) -> dict[str, str]:
        env = claude_env(home=self.home, config_dir=self.config, base_url="http://127.0.0.1:9")
        env.update({"CLAUDE_MEM_DATA_DIR": str(self.data), "CLAUDE_MEM_WORKER_IDLE_SECONDS": "120",
                    "CLAUDE_MEM_WORKER_POLL_SECONDS": "0.5"})
        env.update(extra)
        return env

    def claude(self, *args: str, env: dict | None = None, cwd: Path | None = None):
        return subprocess.run([self.claude_bin, *args], capture_output=True, text=True,
                              timeout=120, env=env or self.env(), cwd=cwd or self.base,
                              stdin=subprocess.DEVNULL)

    def claude_mem(self, *args: str, env: dict | None = None):
        return subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                              text=True, timeout=60, env={**os.environ, **(env or self.env())})

    def ours(self):
        return processes(cmdline_has=(b"claude_mem",),
                         environ_has=(f"CLAUDE_MEM_DATA_DIR={self.data}".encode(),))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    claude = find_claude_binary()
    if claude is None:
        pytest.skip("Claude Code CLI not found (claude_agent_sdk/_bundled/claude)")
    lab = Lab(tmp_path_factory.mktemp("plugin"), claude)
    added = lab.claude("plugin", "marketplace", "add", str(lab.marketplace))
    assert added.returncode == 0, added.stdout + added.stderr
    installed = lab.claude("plugin", "install", "coding-memory@coding-memory")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    try:
        yield lab
    finally:
        lab.claude_mem("worker", "stop")
        left = lab.ours()
        kill_leftovers(left, "claude-mem processes outlived the plugin tests")


def test_claude_plugin_validate_passes(lab):
    folder = lab.claude("plugin", "validate", str(lab.marketplace))
    assert folder.returncode == 0 and "Validation passed" in folder.stdout, folder.stdout + folder.stderr
    manifest = lab.claude("plugin", "validate", "--strict",
                          str(lab.marketplace / ".claude-plugin" / "plugin.json"))
    assert manifest.returncode == 0, manifest.stdout + manifest.stderr
    listed = lab.claude("plugin", "list")
    assert "coding-memory@coding-memory" in listed.stdout, listed.stdout + listed.stderr


def _run(lab, server, prompt, project, env):
    result = run_claude(prompt, cwd=project, home=lab.home, config_dir=lab.config,
                        base_url=server.url, env=env, timeout=120,
                        extra_args=("--allowedTools", "Bash", "--output-format", "stream-json",
                                    "--verbose", "--include-hook-events"))
    assert result.returncode == 0, result.describe()
    return result


def _drained(lab):
    from claude_mem.store import Store

    db = lab.data / "claude-mem.db"

    def done():
        if not db.exists():
            return None
        with Store(str(db), migrate=False) as store:
            stats = store.queue_stats()
            return store if stats["pending"] == 0 else None

    wait_for(done, 30, what="the plugin's worker to drain the queue")


def test_the_marketplace_plugin_records_a_session_and_the_next_one_remembers(lab):
    project = lab.base / "image-service"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    with FakeLLMServer(SCRIPT) as server:
        env = lab.env(ANTHROPIC_BASE_URL=server.url)
        first = _run(lab, server, PROMPT_1, project, env)
        hooks = hook_responses(first.stdout)
        assert {h["hook_name"].split(":")[0] for h in hooks} >= {
            "SessionStart", "UserPromptSubmit", "PostToolUse", "Stop"}, first.stdout[-3000:]
        assert all(h.get("exit_code") == 0 for h in hooks), [(h["hook_name"], h.get("exit_code"), h.get("stderr")) for h in hooks]
        assert (project / "cache-notes.txt").exists()
        _drained(lab)
        shown = json.loads(lab.claude_mem("search", "cache-notes.txt", "--json").stdout)
        assert shown, "the plugin's hooks stored no observation"
        before = server.model_request_count
        _run(lab, server, PROMPT_2, project, env)
        first_request = json.dumps(server.model_requests[before].body)
    assert "memory of earlier work in image-service" in first_request
    assert "cache-notes.txt" in first_request and PROMPT_1 in first_request


def _mcp_list(lab, env) -> str:
    out = lab.claude("mcp", "list", env=env)
    return out.stdout + out.stderr


@pytest.mark.skipif(not (shutil.which("python3", path="/usr/bin:/bin")), reason="no system python3")
def test_the_plugins_mcp_server_connects_with_the_system_python3(lab, tmp_path):
    # What `claude-mem install` leaves for the launcher: this (venv) interpreter, which has mcp.
    lab.data.mkdir(exist_ok=True)
    (lab.data / "python").write_text(sys.executable + "\n")
    try:
        text = _mcp_list(lab, lab.env(PATH="/usr/bin:/bin"))
    finally:
        (lab.data / "python").unlink()
    assert "plugin:coding-memory:claude-mem" in text and "Connected" in text, text


def test_the_plugins_mcp_server_connects_when_python3_is_the_venvs_base(lab, tmp_path):
    """python3 on PATH is the very interpreter the venv was made from: the launcher must not
    judge the venv by its base's site-packages (it did, and the server failed to connect)."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests are not running in a virtual environment")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(os.path.realpath(sys.executable))
    text = _mcp_list(lab, lab.env(PATH=f"{bindir}:/usr/bin:/bin", CLAUDE_MEM_PYTHON=sys.executable))
    assert "plugin:coding-memory:claude-mem" in text and "Connected" in text, text


@pytest.mark.skipif(not OLD_PYTHONS, reason="no Python older than 3.11 on this machine (pyenv)")
def test_with_no_python_311_the_session_start_says_so_and_doctor_names_it(lab, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(OLD_PYTHONS[0])
    for tool in ("sh", "git"):
        if shutil.which(tool):
            (bindir / tool).symlink_to(shutil.which(tool))
    project = tmp_path / "old-python-project"
    project.mkdir()
    with FakeLLMServer(SCRIPT) as server:
        env = lab.env(ANTHROPIC_BASE_URL=server.url, PATH=str(bindir),
                      CLAUDE_MEM_DATA_DIR=str(tmp_path / "data"))
        result = _run(lab, server, PROMPT_OLD, project, env)
        first_request = json.dumps(server.model_requests[0].body)
    hooks = hook_responses(result.stdout)
    assert hooks and all(h.get("exit_code") == 0 for h in hooks), hooks
    start = [h for h in hooks if h["hook_name"].startswith("SessionStart")]
    assert "needs Python 3.11" not in first_request  # (wording guard for the line below)
    assert "coding-memory is not recording" in start[0]["stdout"], start
    assert "python3 on PATH is 3." in start[0]["stdout"]
    assert "coding-memory is not recording" in first_request
    # Only SessionStart speaks; the others stay silent.
    assert all(not h["stdout"].strip() for h in hooks if not h["hook_name"].startswith("SessionStart"))
    notice = tmp_path / "data" / "hooks-python-missing"
    assert notice.exists()
    doctor = lab.claude_mem("doctor", env={**env, "PATH": str(bindir)})
    assert doctor.returncode == 1
    assert "its hooks find no Python 3.11+" in doctor.stdout, doctor.stdout
