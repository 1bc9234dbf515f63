"""Codex CLI rollout files, replayed as the hook events Codex would have fired.

Contract:
- ``find_rollouts(codex_home=None)`` lists the session rollouts Codex keeps under
  ``<codex home>/sessions/YYYY/MM/DD/rollout-<time>-<session>.jsonl`` (``--codex-home``, else
  ``$CODEX_HOME``, else ``~/.codex``), oldest first; ``rollout_files(paths)`` the same for
  files and folders named on the command line.
- ``Rollout(path).events()`` reads one rollout streaming (a line at a time, each line bounded,
  malformed lines counted in ``problems`` and skipped) and yields the events live capture would
  have queued, payloads shaped as Codex's hooks send them (``turn_id``, ``tool_name``
  ``Bash``/``apply_patch``, ``tool_input.command``, the output as text) so the worker's Codex
  adapter (``agents.codex``) treats both alike. An imported tool call also carries its
  ``exit_code`` where the rollout recorded it (the hook payload has none; the adapter finds it
  in the rollout then).
- ``import_rollouts(paths, …)`` runs them through the transcript import's machinery
  (``importers.transcripts.import_transcripts``: the same queue, worker and compressor as live
  capture, the same idempotence by session id, prompt id (the turn id) and tool call id).

What fires, as Codex CLI 0.171 records it (``docs/agents.md``):
- SessionStart ``startup`` at ``session_meta`` (its ``id`` is the session id, ``cwd`` the
  project folder);
- UserPromptSubmit for each prompt the person typed: ``event_msg`` ``user_message`` (older
  rollouts) or ``item_completed`` of a ``UserMessage``; Codex's own context messages
  (environment, AGENTS.md) are ``response_item`` messages and are not prompts;
- PostToolUse once a call (``function_call``, ``custom_tool_call``, ``local_shell_call``) has its
  output (``function_call_output`` / ``custom_tool_call_output``), with the command's output and
  exit code from the ``item_completed`` record (``CommandExecution``, ``FileChange``) or the
  older ``exec_command_end`` / ``patch_apply_end`` events when present, else from the output
  text's own header;
- Stop at ``task_complete`` with its ``last_agent_message``;
- SessionEnd at the end of the file (reason ``import``).
"""
from __future__ import annotations

import json
import os

from claude_mem.agents.codex import PATCH_TOOLS, SHELL_TOOLS, output_and_exit_code, shell_text
from claude_mem.importers.replay import EventReplay

MAX_LINE_BYTES = 64 * 1024 * 1024
_CALL_TYPES = ("function_call", "custom_tool_call", "local_shell_call")
_OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output")


def codex_home(path: str | None = None) -> str:
    return os.path.abspath(os.path.expanduser(
        path or os.environ.get("CODEX_HOME") or os.path.join("~", ".codex")))


def _is_rollout(name: str) -> bool:
    return name.startswith("rollout-") and name.endswith(".jsonl")


def rollout_files(paths) -> list[str]:
    """Every rollout named by ``paths`` (a file as given; folders searched recursively)."""
    from claude_mem import boundedfile

    found: list[tuple[float, str]] = []
    for path in paths:
        path = os.path.abspath(os.path.expanduser(path))
        if os.path.lexists(path) and not os.path.isdir(path):  # named directly: reported
            # whatever it is (a FIFO, a device), not passed over
            found.append((_mtime(path), path))
            continue
        for folder, _dirs, files in os.walk(path):
            found += [(_mtime(os.path.join(folder, n)), os.path.join(folder, n))
                      for n in files if _is_rollout(n)
                      and not boundedfile.check_regular(os.path.join(folder, n))]
    return list(dict.fromkeys(p for _, p in sorted(found)))


def find_rollouts(home: str | None = None) -> list[str]:
    return rollout_files([os.path.join(codex_home(home), "sessions")])


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if isinstance(c, dict)
                       and isinstance(c.get("text"), str))
    return ""


class Rollout(EventReplay):
    """One rollout file, read streaming into the hook events it stands for."""

    def __init__(self, path: str):
        from claude_mem.importers.replay import parse_time

        self.path = path
        self.problems: list[str] = []
        self.session_id = ""
        self.cwd = ""
        self.first_at: float | None = None
        self.last_at: float | None = None
        self._parse_time = parse_time

    def entries(self):
        """Each JSON object in the file, in order. Read through ``boundedfile``: a FIFO or a
        device refuses to open, an over-long, malformed or non-object line costs only itself."""
        from claude_mem import boundedfile

        for number, entry, problem in boundedfile.json_lines(self.path, MAX_LINE_BYTES):
            if problem is not None:
                self.problems.append(f"line {number}: {problem}")
            elif isinstance(entry, dict):
                yield entry
            else:
                self.problems.append(f"line {number}: a JSON {type(entry).__name__}, not an object")

    def events(self):
        self._out: list = []
        self._at = 0.0
        self._turn = ""
        self._calls: dict[str, tuple[str, dict]] = {}     # call_id -> (tool name, input)
        self._results: dict[str, dict] = {}               # call_id -> output, exit code …
        self._prompted: set[str] = set()                  # turns whose prompt was emitted
        self._started = False
        for entry in self.entries():
            at = self._parse_time(entry.get("timestamp"))
            if at is not None:
                self.first_at = self.first_at if self.first_at is not None else at
                self.last_at = at
            payload = entry.get("payload") if isinstance(entry.get("payload"), dict) else {}
            try:
                self._entry(str(entry.get("type") or ""), payload, at)
            except (TypeError, ValueError, AttributeError) as exc:  # an odd record: skip it
                self.problems.append(f"{entry.get('type')}: {exc!r}"[:200])
            yield from self._drain()
        if self._started:
            self._emit("SessionEnd", {"reason": "import"})
        yield from self._drain()

    def _emit(self, name: str, fields: dict, at: float | None = None) -> None:
        ids = {}
        if name not in ("SessionStart", "SessionEnd") and self._turn:
            ids["turn_id"] = ids["prompt_id"] = self._turn
        self._queue(name, ids, fields, at)

    # -- one record ----------------------------------------------------------------------

    def _entry(self, kind: str, payload: dict, at) -> None:
        if kind == "session_meta":
            if not self.session_id:
                self.session_id = str(payload.get("id") or payload.get("session_id") or "")
                self.cwd = str(payload.get("cwd") or "")
            if self.session_id and not self._started:
                self._started = True
                self._emit("SessionStart", {"source": "startup"}, at)
            return
        if not self._started:
            return
        if kind == "turn_context" and payload.get("turn_id"):
            self._turn = str(payload["turn_id"])
            self.cwd = self.cwd or str(payload.get("cwd") or "")
        elif kind == "event_msg":
            self._event_msg(str(payload.get("type") or ""), payload, at)
        elif kind == "response_item":
            self._response_item(str(payload.get("type") or ""), payload, at)

    def _event_msg(self, kind: str, payload: dict, at) -> None:
        if kind == "task_started" and payload.get("turn_id"):
            self._turn = str(payload["turn_id"])
        elif kind == "user_message":  # older rollouts
            self._prompt(str(payload.get("message") or ""), at)
        elif kind == "item_completed":
            item = payload.get("item") if isinstance(payload.get("item"), dict) else {}
            self._turn = str(payload.get("turn_id") or self._turn)
            self._item(item, at)
        elif kind == "exec_command_end" and payload.get("call_id"):  # older rollouts
            self._results[str(payload["call_id"])] = {
                "output": payload.get("aggregated_output") or payload.get("stdout") or "",
                "exit_code": payload.get("exit_code")}
        elif kind == "patch_apply_end" and payload.get("call_id"):
            self._results[str(payload["call_id"])] = {
                "output": payload.get("stdout") or "", "exit_code": 0 if payload.get("success", True) else 1}
        elif kind == "task_complete":
            if payload.get("turn_id"):
                self._turn = str(payload["turn_id"])
            self._emit("Stop", {"stop_hook_active": False,
                                "last_assistant_message": str(payload.get("last_agent_message") or "")}, at)

    def _item(self, item: dict, at) -> None:
        kind = item.get("type")
        if kind == "UserMessage":
            text = "\n".join(c.get("text", "") for c in item.get("content") or []
                             if isinstance(c, dict) and isinstance(c.get("text"), str))
            self._prompt(text, at)
        elif kind == "CommandExecution" and item.get("id"):
            self._results[str(item["id"])] = {"output": item.get("aggregated_output") or "",
                                              "exit_code": item.get("exit_code")}
        elif kind == "FileChange" and item.get("id"):
            failed = str(item.get("status") or "completed") not in ("completed", "success")
            self._results[str(item["id"])] = {"output": item.get("stdout") or "",
                                              "exit_code": 1 if failed else 0, "patched": True}

    def _prompt(self, text: str, at) -> None:
        if not text.strip() or self._turn in self._prompted:
            return
        self._prompted.add(self._turn)
        self._emit("UserPromptSubmit", {"prompt": text}, at)

    def _response_item(self, kind: str, payload: dict, at) -> None:
        if kind in _CALL_TYPES:
            call_id = str(payload.get("call_id") or payload.get("id") or "")
            if call_id:
                self._calls[call_id] = _tool(kind, payload)
        elif kind in _OUTPUT_TYPES:
            call_id = str(payload.get("call_id") or "")
            known = self._calls.pop(call_id, None)
            if known is None:
                return
            name, tool_input = known
            result = self._results.pop(call_id, None)
            output = payload.get("output")
            if isinstance(output, dict):  # {"content": …, "success": …} in some versions
                output = output.get("content") if isinstance(output.get("content"), str) else _text(output.get("content"))
            text, code = output_and_exit_code(output if isinstance(output, str) else _text(output))
            if result is not None:
                text = str(result.get("output") or text)
                code = result.get("exit_code") if isinstance(result.get("exit_code"), int) else code
                if result.get("patched") and name == "Bash":  # apply_patch run through a shell
                    patch = _heredoc_patch(tool_input.get("command", ""))
                    if patch:
                        name, tool_input = "apply_patch", {"command": patch}
            fields = {"tool_name": name, "tool_input": tool_input, "tool_response": text,
                      "tool_use_id": call_id}
            if isinstance(code, int):
                fields["exit_code"] = code
            self._emit("PostToolUse", fields, at)


def _tool(kind: str, payload: dict) -> tuple[str, dict]:
    name = str(payload.get("name") or ("shell" if kind == "local_shell_call" else "unknown"))
    if kind == "custom_tool_call":
        raw = payload.get("input")
        arguments = {"input": raw if isinstance(raw, str) else json.dumps(raw)}
    elif kind == "local_shell_call":
        action = payload.get("action") if isinstance(payload.get("action"), dict) else {}
        arguments = {"command": action.get("command")}
    else:
        try:
            arguments = json.loads(payload.get("arguments") or "{}")
        except (TypeError, ValueError):
            arguments = {"input": payload.get("arguments")}
        if not isinstance(arguments, dict):
            arguments = {"input": arguments}
    low = name.lower()
    if low in SHELL_TOOLS:
        command = arguments.get("command") if "command" in arguments else arguments.get("cmd")
        return "Bash", {"command": shell_text(command)}
    if low in PATCH_TOOLS:
        return "apply_patch", {"command": str(arguments.get("input") or arguments.get("patch") or "")}
    return name, arguments


def _heredoc_patch(command: str) -> str:
    """The patch inside ``apply_patch <<'EOF' … EOF`` (what Codex runs as an apply_patch)."""
    start = command.find("*** Begin Patch")
    end = command.find("*** End Patch", start)
    return command[start:end + len("*** End Patch")] + "\n" if start >= 0 and end > start else ""


def import_rollouts(paths, **options) -> dict:
    """``import_transcripts`` over rollout files (same options, same report)."""
    from claude_mem.importers.transcripts import import_transcripts

    return import_transcripts(rollout_files(paths), reader=Rollout, agent="codex", **options)
