"""Event builders for small hand-written sessions, shared by the fault-injection tests.

Waiting, process scanning and fault injection are in ``helpers``; the ``no_strays`` and
``helpers`` fixtures in ``conftest``.
"""
from __future__ import annotations

import json
import sys



def python_argv(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# -- events ------------------------------------------------------------------------------


def base(session: str, cwd: str) -> dict:
    return {"session_id": session, "cwd": cwd, "transcript_path": f"/tmp/{session}.jsonl"}


def prompt(session: str, cwd: str, n: int = 1, text: str | None = None) -> tuple[str, dict]:
    return ("UserPromptSubmit", {**base(session, cwd), "hook_event_name": "UserPromptSubmit",
                                 "prompt_id": f"{session}-p{n}",
                                 "prompt": text or f"Fix the failing build ({session}, request {n})"})


def bash(session: str, cwd: str, i: int, n: int = 1, command: str | None = None) -> tuple[str, dict]:
    return ("PostToolUse", {**base(session, cwd), "hook_event_name": "PostToolUse",
                            "prompt_id": f"{session}-p{n}", "tool_name": "Bash",
                            "tool_use_id": f"toolu_{session}_{n}_{i}",
                            "tool_input": {"command": command or f"echo {session}-{n}-{i}"},
                            "tool_response": {"stdout": f"{session}-{n}-{i}", "stderr": "",
                                              "interrupted": False}})


def stop(session: str, cwd: str, n: int = 1) -> tuple[str, dict]:
    return ("Stop", {**base(session, cwd), "hook_event_name": "Stop", "prompt_id": f"{session}-p{n}",
                     "stop_hook_active": False, "last_assistant_message": f"Done ({session} {n})."})


def end(session: str, cwd: str) -> tuple[str, dict]:
    return ("SessionEnd", {**base(session, cwd), "hook_event_name": "SessionEnd", "reason": "other"})


def deep_json(payload: dict, levels: int) -> str:
    """``payload`` as JSON text with ``tool_input.options`` nested ``levels`` deep.

    Built as text: ``json.dumps`` itself cannot write it (RecursionError).
    """
    text = json.dumps(payload)
    assert text.endswith("}}") and '"tool_input": {' in text
    nested = '{"a": ' * levels + '"bottom"' + "}" * levels
    return text.replace('"tool_input": {', '"tool_input": {"options": ' + nested + ", ", 1)
