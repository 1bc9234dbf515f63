"""A fake OpenAI Responses API for the real Codex CLI (standard library only).

Codex CLI (``wire_api = "responses"``) POSTs ``/v1/responses`` with ``"stream": true`` once per
model turn and reads server-sent events: ``response.created``, one
``response.output_item.done`` per output item (an assistant ``message`` with ``output_text``,
a ``function_call`` with JSON ``arguments``, or a ``custom_tool_call`` with free-form
``input``), then ``response.completed`` with the usage. This server answers exactly that.

What a reply is, as in the Messages fake (``fake_llm_server``): a ``Script`` of ``Rule``s,
**stateless**. The rule whose ``match`` is in the last real user prompt is chosen (Codex's
own ``<environment_context>`` / ``<user_instructions>`` messages do not count), and the turn
is the number of tool calls the request holds after that prompt (turn 0 answers the prompt,
turn 1 the first tool result, ...). Past the rule's turns, or with no rule, ``default``.

Turns: ``Shell(cmd)`` runs a shell command through whichever shell tool the request offers
(``exec_command`` {"cmd"}, ``shell_command`` {"command": str}, ``shell`` {"command": argv});
``Patch(text)`` calls ``apply_patch`` (free-form when offered as a custom tool, else a
function with {"input"}; Codex offers it for models it knows, e.g. ``gpt-5.5``); ``Say(text)``
is the final answer. Every request is recorded (``srv.requests``: parsed bodies).

Usage::

    with FakeResponsesServer(Script([Rule("retry", [Shell("ls"), Say("done")])])) as srv:
        ... base_url = srv.url + "/v1" in Codex's config.toml ...
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from tests.fakes.json_post_server import JsonPostHandler, ScriptedServer

__all__ = ["Shell", "Patch", "Say", "Rule", "Script", "FakeResponsesServer", "last_user_prompt"]


@dataclass(frozen=True)
class Shell:
    command: str


@dataclass(frozen=True)
class Patch:
    text: str


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Rule:
    match: str
    turns: tuple = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "turns", tuple(self.turns))


@dataclass
class Script:
    rules: list = field(default_factory=list)
    default: object = Say("ok")

    def reply(self, body: dict):
        prompt = last_user_prompt(body)
        turn = tool_calls_since_prompt(body)
        for rule in self.rules:
            if rule.match in prompt:
                return rule.turns[turn] if turn < len(rule.turns) else self.default
        return self.default


_NOT_PROMPTS = ("<environment_context>", "<user_instructions>", "# AGENTS.md", "<permissions")


def _user_text(item: dict) -> str | None:
    if item.get("type", "message") != "message" or item.get("role") != "user":
        return None
    content = item.get("content")
    if isinstance(content, str):
        text = content
    else:
        text = "".join(c.get("text", "") for c in content or [] if isinstance(c, dict))
    return None if text.lstrip().startswith(_NOT_PROMPTS) else text


def _last_prompt_index(body: dict) -> int | None:
    items = body.get("input") or []
    for i in range(len(items) - 1, -1, -1):
        if isinstance(items[i], dict) and _user_text(items[i]) is not None:
            return i
    return None


def last_user_prompt(body: dict) -> str:
    i = _last_prompt_index(body)
    return "" if i is None else _user_text(body["input"][i])


def tool_calls_since_prompt(body: dict) -> int:
    i = _last_prompt_index(body)
    items = body.get("input") or []
    return sum(1 for item in items[(i or 0) + 1:]
               if isinstance(item, dict) and item.get("type") in ("function_call", "custom_tool_call"))


def _offered(body: dict) -> dict:
    """Tool name -> its ``type`` ("function" or "custom"), as the request offers them."""
    return {t.get("name"): t.get("type") for t in body.get("tools") or [] if isinstance(t, dict)}


def _item(turn, body: dict, n: int) -> dict:
    call_id = f"call_fake_{n}"
    tools = _offered(body)
    if isinstance(turn, Shell):
        if "exec_command" in tools:
            name, args = "exec_command", {"cmd": turn.command}
        elif "shell_command" in tools:
            name, args = "shell_command", {"command": turn.command}
        else:
            name, args = "shell", {"command": ["bash", "-lc", turn.command]}
        return {"type": "function_call", "id": f"fc_{n}", "call_id": call_id, "name": name,
                "arguments": json.dumps(args)}
    if isinstance(turn, Patch):
        if tools.get("apply_patch") == "custom":
            return {"type": "custom_tool_call", "id": f"ctc_{n}", "call_id": call_id,
                    "name": "apply_patch", "input": turn.text}
        return {"type": "function_call", "id": f"fc_{n}", "call_id": call_id, "name": "apply_patch",
                "arguments": json.dumps({"input": turn.text})}
    text = turn.text if isinstance(turn, Say) else str(turn)
    return {"type": "message", "id": f"msg_{n}", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def _sse(kind: str, data: dict) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def stream(body: dict, turn, n: int) -> bytes:
    rid = f"resp_fake_{n}"
    item = _item(turn, body, n)
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15}
    return (_sse("response.created", {"response": {"id": rid, "status": "in_progress"}})
            + _sse("response.output_item.added", {"output_index": 0, "item": item})
            + _sse("response.output_item.done", {"output_index": 0, "item": item})
            + _sse("response.completed", {"response": {"id": rid, "status": "completed", "usage": usage}}))


class _Handler(JsonPostHandler):
    def answer(self, server, path, body):
        if not path.endswith("/responses"):
            return 404, b'{"error": {"message": "unknown endpoint"}}', "application/json"
        with server.lock:
            server.requests.append(body)
            n = next(server.counter)
        return 200, stream(body, server.script.reply(body), n), "text/event-stream"


class FakeResponsesServer(ScriptedServer):
    handler = _Handler

    def __init__(self, script: Script):
        super().__init__(script)
        self.counter = itertools.count(1)
