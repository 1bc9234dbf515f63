"""Claude Code hook payloads, normalized into one frozen dataclass per event.

Contract: ``parse_event(event_name, payload_text)`` turns what a hook received on stdin
into a ``SessionStart``, ``UserPrompt``, ``ToolEvent``, ``Stop`` or ``SessionEnd``, or
raises ``BadEvent`` with a message a person can act on. Only the fields Claude Code
really sends are read (``tool_response``, never "tool_output"); unknown extra fields
are ignored. Worker side: imports ``json`` and ``dataclasses`` freely.

An event name ``"<agent>:<Event>"`` (``hook_events.queue_event``) is another coding agent's
payload: its adapter (``claude_mem.agents``) turns it into Claude Code's shape first, and
the event records the agent (``Common.agent``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from claude_mem import boundedjson
from claude_mem.hook_events import CLAUDE_CODE, split_queue_event


class BadEvent(ValueError):
    """The payload cannot be turned into an event; the queue row is parked with this."""


@dataclass(frozen=True)
class Common:
    session_id: str
    cwd: str
    transcript_path: str = ""
    prompt_id: str = ""
    permission_mode: str = ""
    agent: str = "claude-code"


@dataclass(frozen=True)
class SessionStart(Common):
    source: str = "startup"


@dataclass(frozen=True)
class UserPrompt(Common):
    prompt: str = ""


@dataclass(frozen=True)
class ToolEvent(Common):
    tool_name: str = ""
    tool_input: dict = field(default_factory=dict)
    tool_response: object = None
    tool_use_id: str = ""
    duration_ms: int | None = None
    # Set for PostToolUseFailure: the error text ("Exit code 1\n..."), no tool_response.
    error: str | None = None
    is_interrupt: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class Stop(Common):
    last_assistant_message: str = ""
    stop_hook_active: bool = False


@dataclass(frozen=True)
class SessionEnd(Common):
    reason: str = "other"


def _text(payload: dict, key: str) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# A queue row larger than this is not a hook payload (hooks cut stdin at 64 MiB and shrink
# anything above ``max_payload_bytes``): refuse it rather than spend memory on it.
MAX_PAYLOAD_CHARS = 64 * 1024 * 1024


def parse_event(event_name: str, payload_text: str):
    if not isinstance(payload_text, str):
        raise BadEvent(f"{event_name}: payload is {type(payload_text).__name__}, not text")
    if len(payload_text) > MAX_PAYLOAD_CHARS:
        raise BadEvent(f"{event_name}: payload of {len(payload_text)} characters is over the "
                       f"{MAX_PAYLOAD_CHARS} limit")
    try:
        # Bounded: nesting is cut at 64 levels and lone surrogates repaired, so neither a
        # hostile payload nor what later walks it can raise RecursionError/UnicodeError.
        payload = boundedjson.loads(payload_text)
    except ValueError as exc:
        raise BadEvent(f"{event_name}: payload is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise BadEvent(f"{event_name}: payload is a JSON {type(payload).__name__}, not an object")
    queued_name = event_name
    agent, event_name = split_queue_event(event_name)
    if agent != CLAUDE_CODE:
        from claude_mem import agents

        adapter = agents.adapter(agent)
        if adapter is None:
            raise BadEvent(f"{queued_name}: unknown agent {agent!r}")
        event_name, payload = adapter(event_name, payload)
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not session_id.strip():
        raise BadEvent(f"{event_name}: payload has no session_id")
    common = dict(
        session_id=session_id.strip(),
        # A cwd that is not text is junk, not a folder named after its JSON.
        cwd=payload["cwd"].strip() if isinstance(payload.get("cwd"), str) else "",
        transcript_path=_text(payload, "transcript_path"),
        prompt_id=_text(payload, "prompt_id"),
        permission_mode=_text(payload, "permission_mode"),
        agent=agent,
    )
    parser = PARSERS.get(event_name)
    if parser is None:
        raise BadEvent(f"unknown event {queued_name!r}")
    return parser(event_name, payload, common)


def _event(cls, common: dict, **own):
    """``cls(**common, **own)``, given every field of ``cls``, at a fraction of its cost:
    a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (13
    calls for a tool event, as long as parsing its JSON), and the worker makes an event of
    every queue row. The fields go straight into the instance's ``__dict__``, which is
    where ``__init__`` puts them; tests/test_ingest_paths.py checks each parser's events
    equal the class's own construction, field for field."""
    event = object.__new__(cls)
    fields = event.__dict__
    fields.update(common)
    fields.update(own)
    return event


def _session_start(event_name: str, payload: dict, common: dict) -> SessionStart:
    return _event(SessionStart, common, source=_text(payload, "source") or "startup")


def _user_prompt(event_name: str, payload: dict, common: dict) -> UserPrompt:
    return _event(UserPrompt, common, prompt=_text(payload, "prompt"))


def _tool_event(event_name: str, payload: dict, common: dict) -> ToolEvent:
    tool_input = payload.get("tool_input")
    if not isinstance(tool_input, dict):
        tool_input = {} if tool_input is None else {"input": tool_input}
    duration = payload.get("duration_ms")
    failed = event_name == "PostToolUseFailure"
    return _event(
        ToolEvent, common,
        tool_name=_text(payload, "tool_name") or "unknown",
        tool_input=tool_input,
        tool_response=None if failed else payload.get("tool_response"),
        tool_use_id=_text(payload, "tool_use_id"),
        duration_ms=duration if isinstance(duration, int) else None,
        error=(_text(payload, "error") or "failed") if failed else None,
        is_interrupt=bool(payload.get("is_interrupt")),
    )


def _stop(event_name: str, payload: dict, common: dict) -> Stop:
    return _event(
        Stop, common,
        last_assistant_message=_text(payload, "last_assistant_message"),
        stop_hook_active=bool(payload.get("stop_hook_active")),
    )


def _session_end(event_name: str, payload: dict, common: dict) -> SessionEnd:
    return _event(SessionEnd, common, reason=_text(payload, "reason") or "other")


# Claude Code event name -> parser; the events themselves are listed in ``hook_events``.
PARSERS = {
    "SessionStart": _session_start,
    "UserPromptSubmit": _user_prompt,
    "PostToolUse": _tool_event,
    "PostToolUseFailure": _tool_event,
    "Stop": _stop,
    "SessionEnd": _session_end,
}
