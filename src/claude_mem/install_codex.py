"""Installing claude-mem into Codex CLI: hooks, hook trust and the MCP server.

Contract:
- The Codex config dir is ``--codex-home``, else ``$CODEX_HOME``, else ``~/.codex``.
- Hooks go into ``<codex home>/hooks.json`` (``{"hooks": {Event: [groups]}}``, the file Codex
  reads; the same shape as Claude Code's settings hooks), one group per event Codex fires
  (``hook_events.rows_for("codex")``), each ``<python> -I -S hook_entry.py --agent codex
  <hook>``. Every other key and hook in that file is kept; an earlier copy of ours is
  replaced, so running install twice equals once. A file that is not a JSON object is
  refused, never overwritten.
- ``config.toml`` keeps every byte the person wrote: claude-mem adds one block of its own
  between marker comments at the end (``[mcp_servers.claude-mem]`` and, once trusted,
  ``[hooks.state."<hook key>"] trusted_hash = …``), replaces only that block on re-install
  and removes only it on uninstall. The result must still parse (``tomllib``), else nothing
  is written. A table the person already has under the same name is left to them.
- Hook trust: Codex skips a new or changed hook without a word until it is trusted. With a
  ``codex`` binary (``--codex-bin``, else on PATH) install asks ``codex app-server``
  (``hooks/list``) for the key and current hash of each of our hooks and records them as
  trusted, as Codex's own ``/hooks`` review would; without one it says how to trust them.
- ``status(codex_home)`` says, per event, whether our hook is installed (and trusted, as far
  as the config records it): what ``doctor`` reports.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

from claude_mem.hook_events import CODEX, rows_for
from claude_mem.install import (ENTRY, MCP_NAME, SettingsError, drop_our_hooks, hook_group, is_ours,
                                put_our_hooks, read_settings, write_settings)

BEGIN = "# >>> claude-mem (written by `claude-mem install --agent codex`; edit outside this block) >>>"
END = "# <<< claude-mem <<<"
_BLOCK = re.compile(r"\n*" + re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.S)
APP_SERVER_SECONDS = 30.0


def default_codex_home() -> str:
    return os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")


def hook_command(hook_name: str, python: str | None = None) -> str:
    return " ".join(shlex.quote(p) for p in (python or sys.executable, "-I", "-S", ENTRY,
                                             "--agent", CODEX, hook_name))


def mcp_server_argv() -> list[str]:
    return [sys.executable, "-m", "claude_mem.mcp_server"]


# -- hooks.json ---------------------------------------------------------------------------


def _hooks_path(home: str) -> str:
    return os.path.join(home, "hooks.json")


def installed_commands(codex_home: str | None = None) -> dict[str, str]:
    """Our hook command per Codex event, as found in hooks.json."""
    found: dict[str, str] = {}
    try:
        data = read_settings(_hooks_path(codex_home or default_codex_home()))
    except SettingsError:
        return found
    hooks = data.get("hooks") if isinstance(data.get("hooks"), dict) else {}
    for event, groups in hooks.items():
        for group in groups if isinstance(groups, list) else []:
            for hook in (group.get("hooks") or []) if isinstance(group, dict) else []:
                if is_ours(hook):
                    found[event] = hook["command"]
    return found


def _write_hooks(home: str, python: str | None) -> str:
    path = _hooks_path(home)
    data = read_settings(path)
    put_our_hooks(data, ((row.event, hook_group(hook_command(row.hook, python), row.timeout, row.matcher))
                         for row in rows_for(CODEX)))
    write_settings(path, data)
    return path


def _remove_hooks(home: str) -> list[str]:
    path = _hooks_path(home)
    if not os.path.exists(path):
        return []
    data = read_settings(path)
    before = sorted(installed_commands(home))
    drop_our_hooks(data)
    if data:
        write_settings(path, data)
    else:
        os.remove(path)  # it held only our hooks: leave no empty file behind
    return before


# -- config.toml --------------------------------------------------------------------------


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _read_text(path: str) -> str:
    from claude_mem import boundedfile

    if not os.path.lexists(path):
        return ""
    try:  # regular files only, bounded: a FIFO in its place must not hang the install
        return boundedfile.read_text(path, 4 << 20)
    except boundedfile.Refused as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from None


def _parse(text: str, path: str) -> dict:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML ({exc}); fix it or move it away first") from None


def _strip_block(text: str) -> str:
    return _BLOCK.sub("\n", text).rstrip("\n") + ("\n" if text.strip() else "")


def _block(theirs: dict, trusted: dict[str, str]) -> str:
    lines = [BEGIN]
    if MCP_NAME not in (theirs.get("mcp_servers") or {}):
        argv = mcp_server_argv()
        lines += [f"[mcp_servers.{_toml_string(MCP_NAME)}]", f"command = {_toml_string(argv[0])}",
                  "args = [" + ", ".join(_toml_string(a) for a in argv[1:]) + "]"]
    known = ((theirs.get("hooks") or {}).get("state") or {}) if isinstance(theirs.get("hooks"), dict) else {}
    for key, digest in sorted(trusted.items()):
        if key in known:
            continue  # the person (or Codex's /hooks) already has a table for it
        lines += [f"[hooks.state.{_toml_string(key)}]", f"trusted_hash = {_toml_string(digest)}"]
    lines.append(END)
    return "\n".join(lines) + "\n"


def _write_config(home: str, trusted: dict[str, str]) -> str:
    path = os.path.join(home, "config.toml")
    text = _read_text(path)
    theirs_text = _strip_block(text)
    theirs = _parse(theirs_text, path)
    new = theirs_text + ("\n" if theirs_text.strip() else "") + _block(theirs, trusted)
    _parse(new, path)  # never write a file Codex could not read
    if new != text:
        _atomic_write(path, new)
    return path


def _remove_config_block(home: str) -> bool:
    path = os.path.join(home, "config.toml")
    text = _read_text(path)
    if BEGIN not in text:
        return False
    new = _strip_block(text)
    _parse(new, path)
    _atomic_write(path, new)
    return True


def _atomic_write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.claude-mem.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def trusted_in_config(codex_home: str | None = None) -> dict[str, str]:
    """``{hook key: trusted_hash}`` for our hooks' keys as config.toml records them."""
    home = codex_home or default_codex_home()
    path = os.path.join(home, "config.toml")
    try:
        data = _parse(_read_text(path), path)
    except SettingsError:
        return {}
    state = (data.get("hooks") or {}).get("state") if isinstance(data.get("hooks"), dict) else None
    prefix = _hooks_path(home) + ":"
    return {k: str(v.get("trusted_hash")) for k, v in (state or {}).items()
            if k.startswith(prefix) and isinstance(v, dict) and v.get("trusted_hash")}


# -- hook trust through codex app-server ----------------------------------------------------


def find_codex(codex_bin: str | None = None) -> str | None:
    if codex_bin:
        return codex_bin if os.access(codex_bin, os.X_OK) else None
    return shutil.which("codex")


def list_hooks(codex_bin: str, codex_home: str, cwd: str | None = None,
               timeout: float = APP_SERVER_SECONDS) -> list[dict]:
    """Codex's own view of the configured hooks (``hooks/list``): key, command, currentHash,
    trustStatus each. Raises OSError when the app server cannot be asked."""
    env = {**os.environ, "CODEX_HOME": codex_home}
    proc = subprocess.Popen([codex_bin, "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, cwd=cwd or codex_home,
                            start_new_session=True)
    deadline = time.monotonic() + timeout

    def send(message: dict) -> None:
        proc.stdin.write((json.dumps(message) + "\n").encode())
        proc.stdin.flush()

    def answer(request_id: int) -> dict:
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        buffered = b""
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("id") == request_id:
                    if "error" in message:
                        raise OSError(f"codex app-server: {message['error']}")
                    return message.get("result") or {}
        raise OSError("codex app-server did not answer in time")

    try:
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"clientInfo": {"name": "claude-mem", "version": "1"}}})
        answer(1)
        send({"jsonrpc": "2.0", "method": "initialized"})
        send({"jsonrpc": "2.0", "id": 2, "method": "hooks/list", "params": {"cwds": [cwd or codex_home]}})
        result = answer(2)
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    hooks: list[dict] = []
    for entry in result.get("data") or []:
        hooks += [h for h in entry.get("hooks") or [] if isinstance(h, dict)]
    return hooks


def our_hooks(hooks: list[dict], codex_home: str) -> list[dict]:
    path = _hooks_path(codex_home)
    return [h for h in hooks if h.get("sourcePath") == path and is_ours({"command": h.get("command", "")})]


# -- install / uninstall / status -----------------------------------------------------------


def install(codex_home: str | None = None, python: str | None = None, codex_bin: str | None = None,
            trust: bool = True) -> dict:
    """Install hooks, MCP server and (with a codex binary) hook trust; returns a report."""
    home = os.path.abspath(codex_home or default_codex_home())
    os.makedirs(home, exist_ok=True)
    config_path = os.path.join(home, "config.toml")
    _parse(_read_text(config_path), config_path)  # refuse a broken config before changing anything
    hooks_path = _write_hooks(home, python)
    report = {"agent": CODEX, "codex_home": home, "hooks_file": hooks_path, "config_file": config_path,
              "hooks": sorted(installed_commands(home)), "trusted": [], "trust_note": ""}
    trusted: dict[str, str] = {}
    binary = find_codex(codex_bin) if trust else None
    if not trust:
        report["trust_note"] = "trust not requested (--no-trust)"
    elif binary is None:
        report["trust_note"] = ("no `codex` command found: open Codex and trust claude-mem's hooks "
                                "with /hooks (or pass --codex-bin)")
    else:
        try:
            mine = our_hooks(list_hooks(binary, home), home)
            trusted = {h["key"]: h["currentHash"] for h in mine if h.get("key") and h.get("currentHash")}
        except (OSError, ValueError) as exc:
            report["trust_note"] = f"could not ask `codex app-server` for the hooks' hashes ({exc}); " \
                                   "trust them with /hooks in Codex"
    _write_config(home, trusted)
    report["trusted"] = sorted(trusted)
    return report


def uninstall(codex_home: str | None = None) -> dict:
    home = os.path.abspath(codex_home or default_codex_home())
    removed = _remove_hooks(home)
    block = _remove_config_block(home)
    return {"agent": CODEX, "codex_home": home, "removed_hooks": removed, "config_block_removed": block}


def status(codex_home: str | None = None) -> dict:
    """Per Codex event: is our hook installed, does the config record it as trusted."""
    home = os.path.abspath(codex_home or default_codex_home())
    found = installed_commands(home)
    trusted_keys = trusted_in_config(home)
    snake = {row.event: re.sub(r"(?<!^)(?=[A-Z])", "_", row.event).lower() for row in rows_for(CODEX)}
    events = {}
    for row in rows_for(CODEX):
        installed = row.event in found
        events[row.event] = {
            "installed": installed,
            "trusted": installed and any(k.split(":")[-3] == snake[row.event] for k in trusted_keys),
            "command": found.get(row.event),
        }
    return {"codex_home": home, "hooks_file": _hooks_path(home), "events": events,
            "installed": bool(found)}
