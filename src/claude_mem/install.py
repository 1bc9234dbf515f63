"""Installing claude-mem's hooks into Claude Code's ``settings.json``.

Contract:
- ``hook_command(event)`` is the command Claude Code runs: the absolute path of this
  environment's interpreter with ``-I -S`` and the absolute path of ``hook_entry.py`` —
  never a bare ``python3`` (a pyenv shim alone costs ~100 ms a call).
- ``install(config_dir)`` adds our six hooks, replacing any earlier copy of ours, and
  keeps every other key and every other hook exactly; running it twice equals once.
  ``uninstall(config_dir)`` removes only ours. A settings file that is not valid JSON is
  refused with an error, never overwritten. Writes are atomic (temp file + rename).
"""
from __future__ import annotations

import json
import os
import shlex
import sys

from claude_mem.hook_events import TABLE

ENTRY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_entry.py")
MARKER = "hook_entry.py"


class SettingsError(Exception):
    pass


def default_config_dir() -> str:
    return os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")


def hook_command(hook_name: str, python: str | None = None) -> str:
    return " ".join(shlex.quote(p) for p in (python or sys.executable, "-I", "-S", ENTRY, hook_name))


def is_ours(hook: dict) -> bool:
    command = str(hook.get("command", "")) if isinstance(hook, dict) else ""
    return MARKER in command and "claude_mem" in command


def read_settings(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise SettingsError(f"{path} is not valid JSON ({exc}); fix it or move it away first") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must hold a JSON object")
    return data


def write_settings(path: str, data: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".claude-mem.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)


def _without_ours(hooks: dict) -> dict:
    cleaned: dict = {}
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            cleaned[event] = groups
            continue
        kept_groups = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                kept = [h for h in group["hooks"] if not is_ours(h)]
                if not kept:
                    continue
                if len(kept) != len(group["hooks"]):
                    group = {**group, "hooks": kept}
            kept_groups.append(group)
        if kept_groups:
            cleaned[event] = kept_groups
    return cleaned


def install(config_dir: str | None = None, python: str | None = None) -> str:
    path = os.path.join(config_dir or default_config_dir(), "settings.json")
    data = read_settings(path)
    hooks = data.get("hooks") if isinstance(data.get("hooks"), dict) else {}
    hooks = _without_ours(hooks)
    for row in TABLE:
        entry = {"type": "command", "command": hook_command(row.hook, python),
                 "timeout": row.timeout}
        group = {"hooks": [entry]}
        if row.matcher is not None:
            group = {"matcher": row.matcher, **group}
        hooks.setdefault(row.event, []).append(group)
    data["hooks"] = hooks
    write_settings(path, data)
    return path


def uninstall(config_dir: str | None = None) -> str:
    path = os.path.join(config_dir or default_config_dir(), "settings.json")
    if not os.path.exists(path):
        return path
    data = read_settings(path)
    if isinstance(data.get("hooks"), dict):
        hooks = _without_ours(data["hooks"])
        if hooks:
            data["hooks"] = hooks
        else:
            data.pop("hooks")
    write_settings(path, data)
    return path


def installed_commands(config_dir: str | None = None) -> dict[str, str]:
    """Our hook command per Claude Code event, as found in settings.json."""
    path = os.path.join(config_dir or default_config_dir(), "settings.json")
    found: dict[str, str] = {}
    try:
        data = read_settings(path)
    except SettingsError:
        return found
    for event, groups in (data.get("hooks") or {}).items():
        for group in groups if isinstance(groups, list) else []:
            for hook in (group.get("hooks") or []) if isinstance(group, dict) else []:
                if is_ours(hook):
                    found[event] = hook["command"]
    return found
