"""A fake Gemini API for the real Gemini CLI (standard library only).

Gemini CLI (``GOOGLE_GEMINI_BASE_URL`` pointed here, an API key of any value) POSTs
``/v1beta/models/<model>:streamGenerateContent?alt=sse`` once per model turn and reads
server-sent events, each ``data: {"candidates": [{"content": {"role": "model", "parts": [...]},
"finishReason": ...}], "usageMetadata": ...}``. A part is ``{"text": …}`` or
``{"functionCall": {"name", "args"}}``. ``generateContent`` (no stream) gets the same reply as
one JSON object.

Replies come from the same stateless ``Script`` of ``Rule``s as the Responses fake
(``fake_responses``): the rule whose ``match`` is in the last user text (not a function
response) is chosen, the turn is the number of function responses after it. Turns:
``Shell(cmd)`` -> ``run_shell_command``, ``WriteFile(path, content)`` -> ``write_file``,
``Say(text)`` -> the final text. Requests are recorded in ``srv.requests`` (parsed bodies).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from tests.fakes.fake_responses import Rule, Say, Script, Shell  # noqa: F401 - one vocabulary
from tests.fakes.json_post_server import JsonPostHandler, ScriptedServer

__all__ = ["FakeGeminiServer", "WriteFile", "Rule", "Say", "Script", "Shell"]


@dataclass(frozen=True)
class WriteFile:
    path: str
    content: str


def _last_prompt(body: dict) -> tuple[str, int]:
    contents = body.get("contents") or []
    for i in range(len(contents) - 1, -1, -1):
        parts = contents[i].get("parts") or [] if isinstance(contents[i], dict) else []
        if contents[i].get("role") == "user" and not any("functionResponse" in p for p in parts):
            text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
            if text.strip():
                turn = sum(1 for c in contents[i + 1:] for p in c.get("parts") or []
                           if isinstance(p, dict) and "functionResponse" in p)
                return text, turn
    return "", 0


def _reply(script: Script, body: dict) -> dict:
    prompt, turn = _last_prompt(body)
    step = script.default
    for rule in script.rules:
        if rule.match in prompt:
            step = rule.turns[turn] if turn < len(rule.turns) else script.default
            break
    if isinstance(step, Shell):
        part = {"functionCall": {"name": "run_shell_command", "args": {"command": step.command}}}
    elif isinstance(step, WriteFile):
        part = {"functionCall": {"name": "write_file", "args": {"file_path": step.path, "content": step.content}}}
    else:
        part = {"text": step.text if isinstance(step, Say) else str(step)}
    return {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}}


class _Handler(JsonPostHandler):
    def answer(self, server, path, body):
        if path.endswith(":countTokens"):
            return 200, b'{"totalTokens": 10}', "application/json"
        if not path.endswith((":streamGenerateContent", ":generateContent")):
            return 404, b'{"error": {"message": "unknown endpoint"}}', "application/json"
        server.record(body)
        reply = _reply(server.script, body)
        if path.endswith(":streamGenerateContent"):
            return 200, f"data: {json.dumps(reply)}\r\n\r\n".encode(), "text/event-stream"
        return 200, json.dumps(reply).encode(), "application/json"


class FakeGeminiServer(ScriptedServer):
    handler = _Handler
