"""Codex CLI's hook payloads in Claude Code's shape (the worker's Codex adapter).

What Codex sends (measured with Codex CLI 0.171, ``docs/agents.md``): the same event names
and keys as Claude Code, plus ``turn_id`` (one per prompt: it plays ``prompt_id``'s part)
and ``model``. A shell command arrives as ``tool_name: "Bash"`` with ``{"command": ...}``
and its output as a plain string *without* its exit code; an ``apply_patch`` edit as
``tool_name: "apply_patch"`` with the patch text in ``{"command": ...}``; there is no
PostToolUseFailure.

So this adapter:
- copies ``turn_id`` into ``prompt_id`` (prompt numbers, summaries per request);
- names every shell tool (``exec_command``, ``shell``, ``shell_command``, ``local_shell``)
  ``Bash`` with a command string (an argv such as ``["bash", "-lc", CMD]`` becomes CMD);
- finds a command's exit code: in the output's own header when it has one (``Exit code: N``,
  ``Process exited with code N``: a rollout's function output), else in the session's
  rollout file (``transcript_path``, the ``item_completed`` record of that call), read
  within a bound; a non-zero exit makes the event a PostToolUseFailure with
  ``"Exit code N\\n<output>"``, as Claude Code reports a failed Bash.

``shell_text`` and ``output_and_exit_code`` are shared with the rollout importer, so an
imported session and a live one become the same events.
"""
from __future__ import annotations

import json
import os
import re
import shlex

SHELL_TOOLS = {"bash", "exec_command", "shell", "shell_command", "local_shell", "container.exec"}
PATCH_TOOLS = {"apply_patch"}
# A rollout can be large; the exit code of a call is looked for in at most this much of it.
ROLLOUT_SCAN_BYTES = 32 * 1024 * 1024
_HEADER_LINES = re.compile(
    r"^(?:Chunk ID: .*|Wall time: .*|Original token count: .*|Process exited with code (-?\d+)|"
    r"Exit code: (-?\d+)|Process running with session ID .*|Output:)$")


def shell_text(command) -> str:
    """A shell command as one string: ``["bash", "-lc", "X"]`` -> ``X``; a list -> joined."""
    if isinstance(command, list):
        parts = [str(p) for p in command]
        if len(parts) >= 3 and os.path.basename(parts[0]) in ("bash", "sh", "zsh") \
                and parts[1] in ("-lc", "-c"):
            return parts[2]
        return shlex.join(parts)
    return "" if command is None else str(command)


def output_and_exit_code(text) -> tuple[str, int | None]:
    """A tool output without the header Codex puts before it, and the exit code it states."""
    if not isinstance(text, str):
        return ("" if text is None else json.dumps(text, ensure_ascii=False)), None
    lines = text.split("\n")
    code = None
    i = 0
    # The header is a few known lines ending with "Output:"; nested headers (apply_patch
    # run through a shell) repeat it. Anything else ends it.
    while i < len(lines):
        match = _HEADER_LINES.match(lines[i])
        if not match:
            break
        found = match.group(1) or match.group(2)
        if found is not None and code is None:
            code = int(found)
        i += 1
    if i == 0 or (i < len(lines) and not lines[i - 1] == "Output:" and code is None):
        return text, None
    return "\n".join(lines[i:]), code


# path -> (inode, bytes read, {call id: exit code}): a worker reads each rollout once, however
# many commands it records (a live session's events arrive one by one, the file grows).
_ROLLOUTS: dict = {}
_ROLLOUTS_KEPT = 16


def exit_code_from_rollout(path, call_id: str) -> int | None:
    """The exit code the rollout recorded for ``call_id`` (None: not found, not readable).

    Reads on from where the last look-up in the same file stopped (at most
    ``ROLLOUT_SCAN_BYTES`` per look-up, whole lines only), so a long session costs one pass
    over its rollout, not one per command; only a regular file is read, never a FIFO or device.
    """
    if not call_id or not isinstance(path, str) or not path:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if info.st_mode & 0o170000 != 0o100000:
            return None
        inode, offset, codes = _ROLLOUTS.pop(path, (info.st_ino, 0, {}))
        if inode != info.st_ino or info.st_size < offset:  # replaced or truncated: start again
            inode, offset, codes = info.st_ino, 0, {}
        if call_id not in codes and offset < info.st_size:
            offset = _read_codes(fd, offset, codes)
        _ROLLOUTS[path] = (inode, offset, codes)
        while len(_ROLLOUTS) > _ROLLOUTS_KEPT:
            _ROLLOUTS.pop(next(iter(_ROLLOUTS)))
        return codes.get(call_id)
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_codes(fd: int, offset: int, codes: dict) -> int:
    """Exit codes of the whole lines from ``offset`` on; returns where the next read starts."""
    os.lseek(fd, offset, os.SEEK_SET)
    budget = ROLLOUT_SCAN_BYTES
    pending = b""
    while budget > 0:
        chunk = os.read(fd, min(1 << 20, budget))
        if not chunk:
            break
        budget -= len(chunk)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()  # an unfinished last line waits for the next look-up
        for line in lines:
            offset += len(line) + 1
            if b"exit_code" in line:
                found = _exit_code_in(line)
                if found is not None:
                    codes[found[0]] = found[1]
        if len(pending) > ROLLOUT_SCAN_BYTES:  # one absurd line: skip past it
            offset += len(pending)
            pending = b""
    return offset


def _exit_code_in(line: bytes) -> tuple[str, int] | None:
    """``(call id, exit code)`` of a rollout record that states one (``item_completed`` of a
    command, or the older ``exec_command_end``)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # a line nested 100k deep is no exit code either
        return None
    payload = record.get("payload") if isinstance(record, dict) else None
    if not isinstance(payload, dict):
        return None
    item = payload.get("item") if isinstance(payload.get("item"), dict) else payload
    call = item.get("call_id") or item.get("id")
    code = item.get("exit_code")
    return (str(call), code) if call and isinstance(code, int) and not isinstance(code, bool) else None


def adapt(event_name: str, payload: dict) -> tuple[str, dict]:
    payload = dict(payload)
    if not payload.get("prompt_id") and isinstance(payload.get("turn_id"), str):
        payload["prompt_id"] = payload["turn_id"]
    if event_name not in ("PostToolUse", "PostToolUseFailure"):
        return event_name, payload
    tool = str(payload.get("tool_name") or "")
    data = payload.get("tool_input")
    data = dict(data) if isinstance(data, dict) else ({} if data is None else {"input": data})
    if tool.lower() in SHELL_TOOLS:
        command = data.pop("cmd", None) if "command" not in data else data.get("command")
        data["command"] = shell_text(command)
        payload["tool_name"], payload["tool_input"] = "Bash", data
    elif tool.lower() in PATCH_TOOLS:
        data.setdefault("command", data.pop("input", "") if "input" in data else "")
        payload["tool_name"], payload["tool_input"] = "apply_patch", data
    else:
        return event_name, payload
    if event_name == "PostToolUseFailure":
        return event_name, payload
    output, code = output_and_exit_code(payload.get("tool_response"))
    if code is None and isinstance(payload.get("exit_code"), int):
        code = payload["exit_code"]  # an imported rollout says it outright
    if code is None and payload["tool_name"] == "Bash":
        code = exit_code_from_rollout(payload.get("transcript_path"), str(payload.get("tool_use_id") or ""))
    if code:
        payload["error"] = f"Exit code {code}\n{output}"
        payload.pop("tool_response", None)
        return "PostToolUseFailure", payload
    payload["tool_response"] = {"stdout": output, "exit_code": code} if payload["tool_name"] == "Bash" else output
    return event_name, payload
