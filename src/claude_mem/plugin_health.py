"""What `doctor` says about coding-memory installed as a Claude Code plugin.

Contract:
- ``installed_plugins(config_dir)`` lists the coding-memory plugins Claude Code installed into
  that config dir (``plugins/installed_plugins.json``), each with its folder and whether
  ``settings.json`` has it enabled. Unreadable or foreign files give an empty list.
- ``doctor_lines(config_dir, settings_hooks)`` -> ``[(ok, text)]`` where ok is True, False
  (a FIX line) or None (info): which plugin supplies the hooks, which Python its hooks run
  (``hooks/launch.sh --which``, the same choice the hooks make), the notice a SessionStart left
  in ``<data dir>/hooks-python-missing`` when it found none (removed here once a Python is
  found again), and a warning when both the plugin and `claude-mem install` supply hooks
  (every event would be captured twice).
"""
from __future__ import annotations

import json
import os
import subprocess

from claude_mem import DISTRIBUTION, config

NOTICE = "hooks-python-missing"


def _read_json(path: str) -> dict:
    from claude_mem import boundedfile

    try:  # regular files only, bounded in size and depth
        data = boundedfile.read_json(path, config.MAX_SETTINGS_BYTES)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def installed_plugins(config_dir: str) -> list[dict]:
    registry = _read_json(os.path.join(config_dir, "plugins", "installed_plugins.json"))
    enabled = _read_json(os.path.join(config_dir, "settings.json")).get("enabledPlugins")
    enabled = enabled if isinstance(enabled, dict) else {}
    found = []
    plugins = registry.get("plugins") if isinstance(registry.get("plugins"), dict) else {}
    for key, entries in plugins.items():
        if not str(key).startswith(DISTRIBUTION + "@") or not isinstance(entries, list):
            continue
        for entry in entries:
            path = entry.get("installPath") if isinstance(entry, dict) else None
            if isinstance(path, str) and os.path.isdir(path):
                found.append({"id": key, "path": path, "enabled": enabled.get(key) is True})
    return found


def hook_python(plugin_path: str) -> str:
    """The interpreter the plugin's hooks would run here ("" when there is none)."""
    launcher = os.path.join(plugin_path, "hooks", "launch.sh")
    if not os.path.isfile(launcher):
        return ""
    try:
        shell = "/bin/sh" if os.path.exists("/bin/sh") else "sh"
        out = subprocess.run([shell, launcher, "--which"], capture_output=True, text=True,
                             timeout=10, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.strip()


def doctor_lines(config_dir: str, settings_hooks: bool) -> list[tuple[bool | None, str]]:
    lines: list[tuple[bool | None, str]] = []
    notice_path = os.path.join(config.data_dir(), NOTICE)
    try:
        with open(notice_path, encoding="utf-8") as fh:
            notice = fh.read().strip()
    except OSError:
        notice = ""
    plugins = [p for p in installed_plugins(config_dir) if p["enabled"]]
    found_python = False
    for plugin in plugins:
        python = hook_python(plugin["path"])
        if python:
            found_python = True
            lines.append((True, f"plugin {plugin['id']} supplies the hooks ({plugin['path']}); "
                                f"they run {python}"))
        else:
            lines.append((False, f"plugin {plugin['id']} is installed but its hooks find no Python "
                                 "3.11+, so nothing is recorded: install Python 3.11 or newer and run "
                                 "`claude-mem install` from coding-memory's environment (it records "
                                 "its interpreter), or set CLAUDE_MEM_PYTHON"))
    if plugins and settings_hooks:
        lines.append((None, "both the coding-memory plugin and `claude-mem install` supply hooks, so "
                            "every event is captured twice (stored once): keep one — "
                            "`claude-mem uninstall`, or `claude plugin disable coding-memory`"))
    if notice:
        if found_python:
            try:
                os.unlink(notice_path)  # fixed since: a hook will find a Python now
            except OSError:
                pass
        elif not plugins:
            lines.append((False, f"a plugin hook reported: {notice}"))
    return lines


def plugin_supplies_hooks(config_dir: str) -> bool:
    return any(p["enabled"] for p in installed_plugins(config_dir))
