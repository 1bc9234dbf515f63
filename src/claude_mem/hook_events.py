"""The hook events claude-mem handles, per coding agent: one table, read by every room.

Each row says how an event is wired: the hook command's name (``claude-mem hook
post-tool-use``), the event's name (Claude Code's; Codex CLI uses the same names), the
matcher ``install`` writes (tool events match every tool), the seconds the agent lets the
hook run, and the agents that fire it (Codex has no PostToolUseFailure: a failed command
is a PostToolUse whose output says so). ``hooks`` (which names it accepts), ``install``
and ``install_codex`` (what they write), ``health`` (what doctor expects), the demo and
the tests all derive from ``TABLE``.

Agents: ``claude-code`` (the default), ``codex`` and ``gemini`` (Gemini CLI, whose event names
differ: ``GEMINI_EVENTS``). A hook run for another agent than
Claude Code queues its event as ``"<agent>:<Event>"`` (``queue_event``), and the worker's
``events.parse_event`` hands such a payload to that agent's adapter (``agents``), which
turns it into the same events. Sessions record the agent.

Adding an event: a row here, a parser in ``events.PARSERS`` and a handler in
``handlers.Handlers.HANDLERS``; ``tests/test_architecture.py`` checks the three agree.

Hook path: plain tuples, no imports (no ``dataclasses``: it pulls in ``inspect``).
"""


CLAUDE_CODE = "claude-code"
CODEX = "codex"
GEMINI = "gemini"
AGENTS = (CLAUDE_CODE, CODEX, GEMINI)
# Gemini CLI names the same moments its own way; its install writes our hooks under these.
GEMINI_EVENTS = {"SessionStart": "SessionStart", "UserPromptSubmit": "BeforeAgent",
                 "PostToolUse": "AfterTool", "Stop": "AfterAgent", "SessionEnd": "SessionEnd"}


class HookEvent(tuple):
    """``(hook, event, matcher, timeout, agents)``; a tuple so it costs the hooks no import."""

    __slots__ = ()

    def __new__(cls, hook: str, event: str, matcher: str | None = None, timeout: int = 10,
                agents: tuple = AGENTS):
        return tuple.__new__(cls, (hook, event, matcher, timeout, agents))

    hook = property(lambda self: self[0], doc="the hook command's name")
    event = property(lambda self: self[1], doc="Claude Code's event name")
    matcher = property(lambda self: self[2], doc="the matcher install writes, if any")
    timeout = property(lambda self: self[3], doc="seconds the agent lets the hook run")
    agents = property(lambda self: self[4], doc="the coding agents that fire this event")


TABLE = (
    HookEvent("session-start", "SessionStart", timeout=15),
    HookEvent("user-prompt-submit", "UserPromptSubmit"),
    HookEvent("post-tool-use", "PostToolUse", matcher="*"),
    HookEvent("post-tool-use-failure", "PostToolUseFailure", matcher="*", agents=(CLAUDE_CODE,)),
    HookEvent("stop", "Stop"),
    HookEvent("session-end", "SessionEnd", timeout=5),
)

# Hook command name -> Claude Code event name, in installation order.
HOOK_EVENTS = {row.hook: row.event for row in TABLE}
# Claude Code event name -> its row.
BY_EVENT = {row.event: row for row in TABLE}


def rows_for(agent: str) -> tuple:
    """The rows an agent's install writes, in installation order."""
    return tuple(row for row in TABLE if agent in row.agents)


def queue_event(agent: str, event: str) -> str:
    """The queue's event name: Claude Code's own name, else ``"<agent>:<Event>"``."""
    return event if agent == CLAUDE_CODE else f"{agent}:{event}"


def split_queue_event(name: str) -> tuple[str, str]:
    """``(agent, event)`` from a queue event name (the inverse of ``queue_event``)."""
    agent, sep, event = name.partition(":")
    return (agent, event) if sep else (CLAUDE_CODE, name)
