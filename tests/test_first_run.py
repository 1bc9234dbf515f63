"""A first run that leaves the person ready: install's next steps, MCP registration, the plugin's MCP entry."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_mem import cli, config, install

ROOT = Path(__file__).resolve().parent.parent


def _bundled_claude() -> str | None:
    try:
        import claude_agent_sdk
    except ImportError:
        return None
    path = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    return str(path) if path.exists() else None


def _transcripts(claude_dir: Path, counts: dict) -> None:
    for folder, n in counts.items():
        (claude_dir / "projects" / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (claude_dir / "projects" / folder / f"s{i}.jsonl").write_text(
                json.dumps({"type": "user", "cwd": f"/home/dev/{folder}"}) + "\n")


def test_install_prints_next_steps_true_for_this_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", "45123")
    _transcripts(tmp_path / "claude", {"-home-dev-api": 2, "-home-dev-web": 1})
    result = CliRunner().invoke(cli.main, ["install"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Restart Claude Code" in out
    line = f"claude mcp add --scope user claude-mem -- {sys.executable} -m claude_mem.mcp_server"
    assert line in out  # this environment's real interpreter, not a placeholder
    assert "http://127.0.0.1:45123/" in out and "claude-mem viewer" in out
    assert f"3 past Claude Code transcript(s) in {tmp_path / 'claude' / 'projects'} can become memory: " \
        "claude-mem import transcripts" in out
    assert "claude-mem doctor" in out
    # The plugin's MCP launcher will find this interpreter.
    assert Path(config.data_dir(), "python").read_text().strip() == sys.executable


def test_install_json_is_parseable_and_matches(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", "0")
    result = CliRunner().invoke(cli.main, ["install", "--json"])
    report = json.loads(result.output)
    assert report["settings_file"] == str(tmp_path / "claude" / "settings.json")
    assert report["hooks"] == sorted(["SessionStart", "UserPromptSubmit", "PostToolUse",
                                      "PostToolUseFailure", "Stop", "SessionEnd"])
    assert report["viewer"] is None and report["past_transcripts"] == 0
    assert report["mcp_add_command"] == install.mcp_add_command()
    assert report["mcp_registered"] is False


def test_readme_shows_what_install_prints(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", "37737")
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using it with Claude Code")[1].split("\n## ")[0]
    lines = install.next_steps_lines(install.next_steps(settings=config.load()))
    for fixed in ("Restart Claude Code", "claude mcp add --scope user claude-mem --",
                  "claude-mem install --register-mcp", "claude-mem viewer", "claude-mem doctor"):
        assert any(fixed in line for line in lines) and fixed in section, fixed


@pytest.mark.skipif(_bundled_claude() is None, reason="the Claude Code CLI bundled in claude-agent-sdk is missing")
def test_register_mcp_with_the_real_claude_cli_connects(tmp_path, monkeypatch):
    claude = _bundled_claude()
    monkeypatch.setenv("PATH", os.path.dirname(claude) + os.pathsep + os.environ["PATH"])
    for name, value in (("DISABLE_TELEMETRY", "1"), ("DISABLE_AUTOUPDATER", "1"),
                        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")):
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli.main, ["install", "--register-mcp", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["mcp_registered"] is True
    # Claude Code itself starts the registered server and reports whether it connected.
    proc = subprocess.run([claude, "mcp", "get", "claude-mem"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert "Connected" in proc.stdout, proc.stdout + proc.stderr
    assert sys.executable in proc.stdout
    # Twice is once: the earlier registration is replaced, not duplicated or refused.
    again = CliRunner().invoke(cli.main, ["install", "--register-mcp"])
    assert again.exit_code == 0 and "registered the MCP server" in again.output


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


def _lacks_mcp(python: str | None) -> bool:
    return bool(python) and subprocess.run([python, "-c", "import mcp"], capture_output=True).returncode != 0


@pytest.mark.skipif(not _lacks_mcp(SYSTEM_PYTHON), reason="needs a system python3 without the mcp package")
def test_the_plugins_mcp_entry_works_from_a_python_without_mcp(tmp_path):
    """The plugin's MCP entry runs the system python3; the launcher hands over to an interpreter
    with the SDK."""
    entry = json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())["mcpServers"]["claude-mem"]
    assert entry["command"] == "python3"
    args = [a.replace("${CLAUDE_PLUGIN_ROOT}", str(ROOT)) for a in entry["args"]]
    assert Path(args[0]).exists()
    install.record_interpreter()  # what `claude-mem install` does
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([SYSTEM_PYTHON, *args], input=json.dumps(init) + "\n", text=True,
                          capture_output=True, timeout=60, env=env)
    reply = json.loads(proc.stdout.splitlines()[0])
    assert reply["result"]["serverInfo"]["name"] == "claude-mem", proc.stderr

    # A plugin copy with nothing that has the SDK: one clear line, exit 1.
    plugin = tmp_path / "plugin" / "src" / "claude_mem"
    plugin.mkdir(parents=True)
    shutil.copy(args[0], plugin / "mcp_launch.py")
    os.unlink(os.path.join(config.data_dir(), "python"))
    proc = subprocess.run([SYSTEM_PYTHON, str(plugin / "mcp_launch.py")], input="", text=True,
                          capture_output=True, timeout=60, env=env)
    assert proc.returncode == 1
    assert "no Python 3.11+ here has the MCP SDK" in proc.stderr and "CLAUDE_MEM_PYTHON" in proc.stderr


def test_uninstall_says_what_it_removed(tmp_path):
    CliRunner().invoke(cli.main, ["install"])
    report = json.loads(CliRunner().invoke(cli.main, ["uninstall", "--json"]).output)
    assert len(report["hooks_removed"]) == 6 and report["data_dir_kept"] == config.data_dir()
    out = CliRunner().invoke(cli.main, ["uninstall"]).output
    assert "No claude-mem hooks were in" in out and "claude mcp remove --scope user claude-mem" in out
