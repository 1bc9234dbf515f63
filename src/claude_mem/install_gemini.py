"""Installing claude-mem into Gemini CLI: hooks and the MCP server in its ``settings.json``.

Contract:
- The Gemini config dir is ``--gemini-dir``, else ``~/.gemini``; the file is its
  ``settings.json`` (user scope), the one Gemini CLI reads hooks and MCP servers from.
- Hooks: one group per event Gemini fires for us, under Gemini's own event names
  (``hook_events.GEMINI_EVENTS``: SessionStart, BeforeAgent, AfterTool, AfterAgent,
  SessionEnd), each ``<python> -I -S hook_entry.py --agent gemini <hook>``; the timeout in
  milliseconds, as Gemini counts it. An earlier copy of ours is replaced, every other hook and
  key kept: running it twice equals once. A file that is not a JSON object is refused.
- MCP: ``mcpServers["claude-mem"]`` (this interpreter, ``-m claude_mem.mcp_server``) unless the
  person already has an entry of that name that is not ours.
- ``uninstall`` removes only ours; ``status`` says, per event, whether our hook is there.
"""
from __future__ import annotations

import os
import shlex
import sys

from claude_mem.hook_events import GEMINI, GEMINI_EVENTS, rows_for
from claude_mem.install import (ENTRY, MCP_NAME, drop_our_hooks, hook_group, is_ours, put_our_hooks,
                                read_settings, write_settings)


def default_gemini_dir() -> str:
    return os.path.join(os.path.expanduser("~"), ".gemini")


def settings_path(gemini_dir: str | None = None) -> str:
    return os.path.join(os.path.abspath(gemini_dir or default_gemini_dir()), "settings.json")


def hook_command(hook_name: str, python: str | None = None) -> str:
    return " ".join(shlex.quote(p) for p in (python or sys.executable, "-I", "-S", ENTRY,
                                             "--agent", GEMINI, hook_name))


def _mcp_entry() -> dict:
    return {"command": sys.executable, "args": ["-m", "claude_mem.mcp_server"]}


def _is_our_mcp(entry) -> bool:
    return isinstance(entry, dict) and "claude_mem.mcp_server" in " ".join(map(str, entry.get("args") or []))


def installed_commands(gemini_dir: str | None = None) -> dict[str, str]:
    """Our hook command per event (in our names: UserPromptSubmit, not BeforeAgent)."""
    try:
        data = read_settings(settings_path(gemini_dir))
    except Exception:  # noqa: BLE001 - a broken file: nothing of ours is readable there
        return {}
    ours = {gemini: event for event, gemini in GEMINI_EVENTS.items()}
    found: dict[str, str] = {}
    for event, groups in (data.get("hooks") or {}).items() if isinstance(data.get("hooks"), dict) else ():
        for group in groups if isinstance(groups, list) else []:
            for hook in (group.get("hooks") or []) if isinstance(group, dict) else []:
                if is_ours(hook) and event in ours:
                    found[ours[event]] = hook["command"]
    return found


def install(gemini_dir: str | None = None, python: str | None = None) -> dict:
    path = settings_path(gemini_dir)
    data = read_settings(path)
    # Gemini counts timeouts in milliseconds, and a matcher of "*" stands for "any tool"
    put_our_hooks(data, ((GEMINI_EVENTS[row.event],
                          hook_group(hook_command(row.hook, python), row.timeout * 1000,
                                     "*" if row.matcher is not None else None))
                         for row in rows_for(GEMINI)))
    servers = data.get("mcpServers") if isinstance(data.get("mcpServers"), dict) else {}
    mcp_note = ""
    if MCP_NAME in servers and not _is_our_mcp(servers[MCP_NAME]):
        mcp_note = f"your own mcpServers[{MCP_NAME!r}] was kept"
    else:
        servers[MCP_NAME] = _mcp_entry()
    data["mcpServers"] = servers
    write_settings(path, data)
    return {"agent": GEMINI, "settings_file": path, "hooks": sorted(installed_commands(gemini_dir)),
            "mcp_note": mcp_note}


def uninstall(gemini_dir: str | None = None) -> dict:
    path = settings_path(gemini_dir)
    if not os.path.exists(path):
        return {"agent": GEMINI, "settings_file": path, "removed_hooks": []}
    before = sorted(installed_commands(gemini_dir))
    data = read_settings(path)
    drop_our_hooks(data)
    servers = data.get("mcpServers")
    if isinstance(servers, dict) and _is_our_mcp(servers.get(MCP_NAME)):
        servers.pop(MCP_NAME)
        if not servers:
            data.pop("mcpServers")
    write_settings(path, data)
    return {"agent": GEMINI, "settings_file": path, "removed_hooks": before}


def status(gemini_dir: str | None = None) -> dict:
    found = installed_commands(gemini_dir)
    return {"settings_file": settings_path(gemini_dir), "installed": bool(found),
            "hooks": {row.event: {"installed": row.event in found, "command": found.get(row.event),
                                  "gemini_event": GEMINI_EVENTS[row.event]}
                      for row in rows_for(GEMINI)}}
