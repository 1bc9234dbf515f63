"""The plugin's hook launcher (hooks/launch.sh) picks a Python 3.11+, or says it found none.

Real processes: `sh` runs a copy of the launcher inside a plugin folder laid out like a clone,
with PATH, HOME and the data dir chosen per test, and real interpreters (this one; a pyenv 3.9
where the machine has one). The end-to-end run through Claude Code is tests/e2e/test_plugin.py.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from claude_mem import plugin_health

ROOT = Path(__file__).resolve().parent.parent
SH = shutil.which("sh")
OLD_PYTHONS = sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob("3.[0-9].*/bin/python3"))


@pytest.fixture
def plugin(tmp_path):
    folder = tmp_path / "plugin"
    (folder / "hooks").mkdir(parents=True)
    shutil.copy(ROOT / "hooks" / "launch.sh", folder / "hooks" / "launch.sh")
    shutil.copytree(ROOT / "src", folder / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return folder


def _bin(tmp_path, name: str, **links: str) -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    for link, target in links.items():
        (folder / link).symlink_to(target)
    return folder


def _launch(plugin, *args, path: str, data: Path, extra: dict | None = None, stdin: str = ""):
    env = {"PATH": path, "HOME": str(data.parent), "CLAUDE_MEM_DATA_DIR": str(data), **(extra or {})}
    return subprocess.run([SH, str(plugin / "hooks" / "launch.sh"), *args], input=stdin,
                          capture_output=True, text=True, timeout=60, env=env)


def test_the_order_recorded_then_plugin_venv_then_versioned_names(plugin, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    base = os.path.realpath(sys.executable)
    path_bin = _bin(tmp_path, "bin", **{"python3.12": base})
    shims = _bin(tmp_path, "pyenv/shims", **{"python3.13": "/bin/false"})  # an unselected version
    path = f"{shims}:{path_bin}"
    assert _launch(plugin, "--which", path=path, data=data).stdout.strip() == str(path_bin / "python3.12")
    venv_python = _bin(tmp_path, "plugin/.venv/bin", python=base) / "python"
    assert _launch(plugin, "--which", path=path, data=data).stdout.strip().endswith("/.venv/bin/python")
    (data / "python").write_text(sys.executable + "\n")  # what `claude-mem install` records
    assert _launch(plugin, "--which", path=path, data=data).stdout.strip() == sys.executable
    chosen = _launch(plugin, "--which", path=path, data=data, extra={"CLAUDE_MEM_PYTHON": base})
    assert chosen.stdout.strip() == base
    # A recorded interpreter that is gone is passed over.
    (data / "python").write_text(str(tmp_path / "gone" / "python") + "\n")
    assert _launch(plugin, "--which", path=path, data=data).stdout.strip() == str(venv_python)


def test_the_chosen_python_runs_the_hook(plugin, tmp_path):
    data = tmp_path / "data"
    path_bin = _bin(tmp_path, "bin", python3=os.path.realpath(sys.executable))
    payload = json.dumps({"session_id": "s1", "cwd": str(tmp_path), "hook_event_name": "SessionStart",
                          "source": "startup"})
    result = _launch(plugin, "session-start", path=str(path_bin), data=data, stdin=payload,
                     extra={"CLAUDE_MEM_WORKER_IDLE_SECONDS": "1"})
    assert result.returncode == 0 and result.stderr == ""
    # An empty memory prints nothing, and the hook queued its event in the real database.
    assert "not recording" not in result.stdout
    assert (data / "claude-mem.db").exists()
    subprocess.run([sys.executable, "-m", "claude_mem.cli", "worker", "stop"], capture_output=True,
                   env={**os.environ, "CLAUDE_MEM_DATA_DIR": str(data)}, timeout=60)


@pytest.mark.skipif(not OLD_PYTHONS, reason="no Python older than 3.11 on this machine (pyenv)")
def test_only_an_old_python3_session_start_says_so_and_doctor_names_it_until_fixed(plugin, tmp_path):
    data = tmp_path / "data"
    old_bin = _bin(tmp_path, "old", python3=str(OLD_PYTHONS[0]))
    start = _launch(plugin, "session-start", path=str(old_bin), data=data, stdin="{}")
    assert start.returncode == 0
    said = json.loads(start.stdout)
    version = ".".join(OLD_PYTHONS[0].parent.parent.name.split(".")[:2])
    assert f"python3 on PATH is {version}" in said["systemMessage"]
    assert said["hookSpecificOutput"]["additionalContext"] == said["systemMessage"]
    assert (data / plugin_health.NOTICE).read_text().strip() == said["systemMessage"]
    assert oct((data).stat().st_mode & 0o777) == "0o700"
    for event in ("user-prompt-submit", "post-tool-use", "stop", "session-end"):
        quiet = _launch(plugin, event, path=str(old_bin), data=data, stdin="{}")
        assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_no_python_at_all_is_said_too(plugin, tmp_path):
    data = tmp_path / "data"
    empty = _bin(tmp_path, "empty")
    start = _launch(plugin, "session-start", path=str(empty), data=data, stdin="{}")
    assert start.returncode == 0
    assert "found none." in json.loads(start.stdout)["systemMessage"]
    assert _launch(plugin, "--which", path=str(empty), data=data).stdout == ""


def _install_plugin_record(config_dir: Path, plugin: Path) -> None:
    """The two files `claude plugin install` writes that doctor reads (see the e2e test for
    the real command)."""
    (config_dir / "plugins").mkdir(parents=True)
    (config_dir / "plugins" / "installed_plugins.json").write_text(json.dumps({
        "version": 2, "plugins": {"coding-memory@coding-memory": [
            {"scope": "user", "installPath": str(plugin), "version": "0.1.0"}]}}))
    (config_dir / "settings.json").write_text(json.dumps(
        {"enabledPlugins": {"coding-memory@coding-memory": True}}))


def test_doctor_accepts_the_plugins_hooks_and_clears_a_fixed_notice(plugin, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from claude_mem import cli, config

    config_dir = tmp_path / "claude"
    _install_plugin_record(config_dir, plugin)
    os.makedirs(config.data_dir(), exist_ok=True)
    notice = Path(config.data_dir()) / plugin_health.NOTICE
    notice.write_text("coding-memory is not recording: ...\n")
    monkeypatch.setenv("PATH", str(_bin(tmp_path, "bin", python3=os.path.realpath(sys.executable))))
    report = json.loads(CliRunner().invoke(cli.main, ["doctor", "--claude-config-dir",
                                                      str(config_dir), "--json"]).output)
    messages = {c["message"]: c["status"] for c in report["checks"]}
    assert not any(m.startswith("hooks missing") for m in messages), messages
    [line] = [m for m in messages if m.startswith("plugin coding-memory@coding-memory supplies")]
    assert messages[line] == "ok" and "python3" in line
    assert not notice.exists()
    # With no Python to find, doctor says what to do.
    monkeypatch.setenv("PATH", str(_bin(tmp_path, "empty")))
    report = json.loads(CliRunner().invoke(cli.main, ["doctor", "--claude-config-dir",
                                                      str(config_dir), "--json"]).output)
    assert any(c["status"] == "fix" and "find no Python 3.11+" in c["message"] for c in report["checks"])


def test_install_beside_the_plugin_records_the_interpreter_and_adds_no_second_hooks(plugin, tmp_path):
    from click.testing import CliRunner

    from claude_mem import cli, config

    config_dir = tmp_path / "claude"
    _install_plugin_record(config_dir, plugin)
    result = CliRunner().invoke(cli.main, ["install", "--claude-config-dir", str(config_dir)])
    assert result.exit_code == 0, result.output
    assert "plugin supplies the hooks and the MCP server" in result.output
    assert "hooks" not in json.loads((config_dir / "settings.json").read_text())
    assert Path(config.data_dir(), "python").read_text().strip() == sys.executable
    # ...and the plugin's hooks now run this interpreter.
    chosen = _launch(plugin, "--which", path="/nonexistent", data=Path(config.data_dir()))
    assert chosen.stdout.strip() == sys.executable
