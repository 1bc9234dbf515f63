"""The hook events claude-mem handles, per coding agent: one table, read by every room.

Each row says how an event is wired: the hook command's name (``claude-mem hook
post-tool-use``), the event's name (Claude Code's; Codex CLI uses the same names), the
matcher ``install`` writes (tool events match every tool), the seconds the agent lets the
hook run, the agents that fire it (Codex has no PostToolUseFailure: a failed command
is a PostToolUse whose output says so), and how Claude Code runs it when capture is in
the background (the ``capture_in_background`` setting, on by default):
- ``FOREGROUND``: Claude Code waits for the hook (SessionStart and UserPromptSubmit print
  what the model reads);
- ``ASYNC``: ``"async": true``, Claude Code does not wait at all, and the hook leaves Claude
  Code's process tree at once (``hook_entry --background``): tool events and SessionEnd,
  which print nothing;
- ``DETACHED``: Claude Code waits only until the hook's process has left its tree (an
  interpreter's start), not for the write: Stop. An async Stop is still starting when
  ``claude -p`` ends its run right after it, and Claude Code then kills it (measured; see
  docs/architecture.md "Capture in the background"). ``hooks`` (which names it accepts), ``install``
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


# How Claude Code runs a hook when capture is in the background (see the module docstring).
FOREGROUND, ASYNC, DETACHED = "foreground", "async", "detached"


class HookEvent(tuple):
    """``(hook, event, matcher, timeout, agents, background)``; a tuple so it costs the hooks
    no import."""

    __slots__ = ()

    def __new__(cls, hook: str, event: str, matcher: str | None = None, timeout: int = 10,
                agents: tuple = AGENTS, background: str = FOREGROUND):
        return tuple.__new__(cls, (hook, event, matcher, timeout, agents, background))

    hook = property(lambda self: self[0], doc="the hook command's name")
    event = property(lambda self: self[1], doc="Claude Code's event name")
    matcher = property(lambda self: self[2], doc="the matcher install writes, if any")
    timeout = property(lambda self: self[3], doc="seconds the agent lets the hook run")
    agents = property(lambda self: self[4], doc="the coding agents that fire this event")
    background = property(lambda self: self[5], doc="FOREGROUND, ASYNC or DETACHED (Claude Code)")


TABLE = (
    HookEvent("session-start", "SessionStart", timeout=15),
    HookEvent("user-prompt-submit", "UserPromptSubmit"),
    HookEvent("post-tool-use", "PostToolUse", matcher="*", background=ASYNC),
    HookEvent("post-tool-use-failure", "PostToolUseFailure", matcher="*", agents=(CLAUDE_CODE,),
              background=ASYNC),
    HookEvent("stop", "Stop", background=DETACHED),
    HookEvent("session-end", "SessionEnd", timeout=5, background=ASYNC),
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
