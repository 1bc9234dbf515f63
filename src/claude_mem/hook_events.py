"""The Claude Code hook events claude-mem handles: one table, read by every room.

Each row says how an event is wired: the hook command's name (``claude-mem hook
post-tool-use``), Claude Code's event name, the matcher ``install`` writes (tool events
match every tool), and the seconds Claude Code lets the hook run. ``hooks`` (which names
it accepts), ``install`` (what it writes), ``health`` (what doctor expects), the demo and
the tests all derive from ``TABLE``.

Adding an event: a row here, a parser in ``events.PARSERS`` and a handler in
``handlers.Handlers.HANDLERS``; ``tests/test_architecture.py`` checks the three agree.

Hook path: plain tuples, no imports (no ``dataclasses``: it pulls in ``inspect``).
"""


class HookEvent(tuple):
    """``(hook, event, matcher, timeout)``; a tuple so it costs the hooks no import."""

    __slots__ = ()

    def __new__(cls, hook: str, event: str, matcher: str | None = None, timeout: int = 10):
        return tuple.__new__(cls, (hook, event, matcher, timeout))

    hook = property(lambda self: self[0], doc="the hook command's name")
    event = property(lambda self: self[1], doc="Claude Code's event name")
    matcher = property(lambda self: self[2], doc="the matcher install writes, if any")
    timeout = property(lambda self: self[3], doc="seconds Claude Code lets the hook run")


TABLE = (
    HookEvent("session-start", "SessionStart", timeout=15),
    HookEvent("user-prompt-submit", "UserPromptSubmit"),
    HookEvent("post-tool-use", "PostToolUse", matcher="*"),
    HookEvent("post-tool-use-failure", "PostToolUseFailure", matcher="*"),
    HookEvent("stop", "Stop"),
    HookEvent("session-end", "SessionEnd", timeout=5),
)

# Hook command name -> Claude Code event name, in installation order.
HOOK_EVENTS = {row.hook: row.event for row in TABLE}
# Claude Code event name -> its row.
BY_EVENT = {row.event: row for row in TABLE}
