"""Gemini CLI's hook payloads in Claude Code's shape (the worker's Gemini adapter).

What Gemini CLI sends (measured with Gemini CLI 0.61, ``docs/agents.md``): the same
``session_id``, ``cwd``, ``transcript_path`` and ``hook_event_name`` keys; our hooks are
installed under its own event names (``hook_events.GEMINI_EVENTS``: BeforeAgent for the prompt,
AfterTool for a finished tool call, AfterAgent for the reply), and queued under ours. There is
no prompt id and no tool call id (memory numbers prompts in order, as for any agent). A tool's
result is ``{"llmContent": …, "returnDisplay": …}`` (or an ``error``); its tools have their own
names.

So this adapter names Gemini's tools as Claude Code's rules know them: ``run_shell_command`` ->
Bash (output and exit code read from the result text ``Output: … Exit Code: N``; a non-zero
exit becomes a PostToolUseFailure ``Exit code N``, as Claude Code reports a failed Bash),
``write_file`` -> Write, ``replace`` -> Edit, ``read_file`` -> Read, ``glob`` -> Glob,
``search_file_content``/``grep_search`` -> Grep, ``list_directory`` -> LS, ``web_fetch`` ->
WebFetch, ``google_web_search`` -> WebSearch; any other tool keeps its name (the generic rule).
AfterAgent's ``prompt_response`` is the reply a summary's outcome is made of.
"""
from __future__ import annotations

import json
import re

_EXIT = re.compile(r"^Exit Code: (-?\d+)\s*$", re.M)
_TRAILERS = ("Error:", "Exit Code:", "Signal:", "Background PIDs:", "Process Group PGID:")
_SIMPLE = {"read_file": "Read", "glob": "Glob", "search_file_content": "Grep", "grep_search": "Grep",
           "list_directory": "LS", "web_fetch": "WebFetch", "google_web_search": "WebSearch"}


def _result_text(response) -> str:
    if isinstance(response, dict):
        content = response.get("llmContent")
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if isinstance(content, str):
            return content
        return json.dumps(response, ensure_ascii=False)
    return "" if response is None else str(response)


def shell_result(text: str) -> tuple[str, int | None]:
    """The command's output and exit code from Gemini's shell result text."""
    body = text.replace("<untrusted_context>", "").replace("</untrusted_context>", "").strip("\n")
    code = _EXIT.search(body)
    start = body.find("Output:")
    output = body[start + len("Output:"):] if start >= 0 else body
    lines = output.split("\n")
    kept = []
    for line in lines:
        if line.startswith(_TRAILERS):
            break
        kept.append(line)
    output = "\n".join(kept).strip(" ")
    if output.strip() == "(empty)":
        output = ""
    return output, int(code.group(1)) if code else None


def adapt(event_name: str, payload: dict) -> tuple[str, dict]:
    payload = dict(payload)
    if event_name == "Stop":
        payload.setdefault("last_assistant_message", payload.get("prompt_response") or "")
        return event_name, payload
    if event_name != "PostToolUse":
        return event_name, payload
    tool = str(payload.get("tool_name") or "")
    data = payload.get("tool_input") if isinstance(payload.get("tool_input"), dict) else {}
    response = payload.get("tool_response")
    text = _result_text(response)
    error = response.get("error") if isinstance(response, dict) else None
    if tool == "run_shell_command":
        output, code = shell_result(text)
        payload["tool_name"] = "Bash"
        payload["tool_input"] = {"command": str(data.get("command") or ""),
                                 "description": str(data.get("description") or "")}
        if code:
            payload["error"] = f"Exit code {code}\n{output}"
            payload.pop("tool_response", None)
            return "PostToolUseFailure", payload
        payload["tool_response"] = {"stdout": output, "stderr": "", "interrupted": False}
        return event_name, payload
    if error:
        payload["error"] = error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)
        payload.pop("tool_response", None)
        payload["tool_name"] = {"write_file": "Write", "replace": "Edit"}.get(tool, _SIMPLE.get(tool, tool))
        return "PostToolUseFailure", payload
    if tool == "write_file":
        payload["tool_name"] = "Write"
        payload["tool_response"] = {"type": "update" if "overwrote" in text.lower() else "create"}
    elif tool == "replace":
        payload["tool_name"] = "Edit"
        payload["tool_input"] = {"file_path": data.get("file_path", ""), "old_string": data.get("old_string", ""),
                                 "new_string": data.get("new_string", ""),
                                 "replace_all": bool((data.get("expected_replacements") or 1) > 1)}
        payload["tool_response"] = text
    elif tool == "read_file":
        payload["tool_name"] = "Read"
        payload["tool_input"] = {"file_path": data.get("file_path") or data.get("absolute_path") or ""}
        payload["tool_response"] = {"file": {"content": text}}
    elif tool in _SIMPLE:
        payload["tool_name"] = _SIMPLE[tool]
        payload["tool_response"] = text
    else:
        payload["tool_response"] = text
    return event_name, payload
