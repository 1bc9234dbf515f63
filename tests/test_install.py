"""`claude-mem install` / `uninstall` edit Claude Code's settings.json safely."""
from __future__ import annotations

import json
import sys

from click.testing import CliRunner

from claude_mem import cli, install

USER_SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}],
        "Notification": [{"hooks": [{"type": "command", "command": "notify-send hi"}]}],
    },
}


def _settings(tmp_path):
    return json.loads((tmp_path / "claude" / "settings.json").read_text())


def _invoke(*args):
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_install_twice_equals_once_and_keeps_the_users_settings(tmp_path):
    (tmp_path / "claude").mkdir()
    (tmp_path / "claude" / "settings.json").write_text(json.dumps(USER_SETTINGS))
    _invoke("install", "--claude-config-dir", str(tmp_path / "claude"))
    once = _settings(tmp_path)
    _invoke("install", "--claude-config-dir", str(tmp_path / "claude"))
    assert _settings(tmp_path) == once
    assert once["model"] == "opus" and once["permissions"] == USER_SETTINGS["permissions"]
    assert once["hooks"]["Notification"] == USER_SETTINGS["hooks"]["Notification"]
    assert once["hooks"]["PostToolUse"][0] == USER_SETTINGS["hooks"]["PostToolUse"][0]
    ours = install.installed_hooks(str(tmp_path / "claude"))
    assert len(ours) == 6
    from claude_mem.hook_events import ASYNC, BY_EVENT, FOREGROUND

    for event, hook in ours.items():
        command = hook["command"]
        mode = BY_EVENT[event].background
        # the absolute interpreter of this environment, not a shim found on PATH; the capture
        # hooks start with SIGTERM ignored and leave Claude Code's process tree (--background)
        # through capture.sh (the worker's inbox), falling back to that same interpreter
        if mode == FOREGROUND:
            assert command.startswith(sys.executable + " -I -S ")
        else:
            assert command == (install.BACKGROUND_PREFIX + f"sh {install.CAPTURE_SCRIPT} "
                               f"{BY_EVENT[event].hook} {sys.executable} -I -S {install.ENTRY}")
            assert install.runs_in_background(hook)
        assert install.ENTRY in command
        assert hook.get("async", False) is (mode == ASYNC)
        assert install.command_interpreter(command) == sys.executable
    assert {e for e, h in ours.items() if h.get("async")} == {"PostToolUse", "PostToolUseFailure",
                                                              "SessionEnd"}


def test_capture_in_background_false_installs_every_hook_synchronously(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CAPTURE_IN_BACKGROUND", "false")
    _invoke("install", "--claude-config-dir", str(tmp_path / "claude"))
    ours = install.installed_hooks(str(tmp_path / "claude"))
    assert len(ours) == 6
    for hook in ours.values():
        assert hook["command"].startswith(sys.executable + " -I -S ") and "async" not in hook
        assert "--background" not in hook["command"]
    # doctor says how they run, and that the setting agrees
    from claude_mem import config, health

    assert health.capture_mode_line(ours, config.load()).startswith("info  capture hooks run synchronously")
    monkeypatch.delenv("CLAUDE_MEM_CAPTURE_IN_BACKGROUND")
    assert "re-run `claude-mem install`" in health.capture_mode_line(ours, config.load())
    _invoke("install", "--claude-config-dir", str(tmp_path / "claude"))
    again = install.installed_hooks(str(tmp_path / "claude"))
    assert sum(bool(h.get("async")) for h in again.values()) == 3  # replaced, not added
    assert health.capture_mode_line(again, config.load()).startswith("info  capture hooks run in the background")


def test_install_uses_claude_config_dir_by_default(tmp_path):
    _invoke("install")  # CLAUDE_CONFIG_DIR points at tmp_path/claude (conftest)
    assert len(install.installed_commands(str(tmp_path / "claude"))) == 6


def test_uninstall_removes_only_ours(tmp_path):
    (tmp_path / "claude").mkdir()
    (tmp_path / "claude" / "settings.json").write_text(json.dumps(USER_SETTINGS))
    _invoke("install", "--claude-config-dir", str(tmp_path / "claude"))
    _invoke("uninstall", "--claude-config-dir", str(tmp_path / "claude"))
    assert _settings(tmp_path) == USER_SETTINGS


def test_uninstall_on_a_clean_config_removes_the_hooks_key(tmp_path):
    _invoke("install", "--claude-config-dir", str(tmp_path / "claude"))
    _invoke("uninstall", "--claude-config-dir", str(tmp_path / "claude"))
    assert _settings(tmp_path) == {}


def test_a_broken_settings_file_is_refused_not_overwritten(tmp_path):
    (tmp_path / "claude").mkdir()
    (tmp_path / "claude" / "settings.json").write_text("{ not json")
    result = CliRunner().invoke(cli.main, ["install", "--claude-config-dir", str(tmp_path / "claude")])
    assert result.exit_code == 1
    assert "cannot be read as JSON" in result.output
    assert (tmp_path / "claude" / "settings.json").read_text() == "{ not json"


def test_plugin_layout_names_the_same_six_hooks():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    manifest = json.loads((root / ".claude-plugin" / "plugin.json").read_text())
    assert manifest["name"] == "coding-memory"
    hooks = json.loads((root / "hooks" / "hooks.json").read_text())["hooks"]
    assert set(hooks) == {"SessionStart", "UserPromptSubmit", "PostToolUse",
                          "PostToolUseFailure", "Stop", "SessionEnd"}
    from claude_mem.hook_events import TABLE

    from claude_mem.hook_events import ASYNC, FOREGROUND

    for row in TABLE:
        hook = hooks[row.event][0]["hooks"][0]
        # The launcher picks a Python 3.11+ (tests/test_plugin_launcher.py) and runs hook_entry.py;
        # the capture hooks run in the background as `install` writes them.
        if row.background == FOREGROUND:
            assert hook["command"] == f'sh "${{CLAUDE_PLUGIN_ROOT}}/hooks/launch.sh" {row.hook}'
        else:  # capture.sh, falling back to the launcher's Python hook in the background
            assert hook["command"] == (install.BACKGROUND_PREFIX
                                       + f'sh "${{CLAUDE_PLUGIN_ROOT}}/src/claude_mem/capture.sh" {row.hook} '
                                       + 'sh "${CLAUDE_PLUGIN_ROOT}/hooks/launch.sh"')
            assert install.runs_in_background(hook)
        assert hook.get("async", False) is (row.background == ASYNC)
