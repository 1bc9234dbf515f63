"""Small text helpers every output shares: times, one-liners, file lists, truncation.

Contract: pure functions, standard library only (``time``), no I/O; safe on the hook
path. Each display module (CLI, context, MCP, viewer, health, render, prompts) uses these
instead of its own copy, so "when", "one line" and "cut" mean the same everywhere.

- ``when(epoch)`` local time ``YYYY-MM-DD HH:MM`` (``seconds=True`` adds ``:SS``);
  a missing time is ``missing`` ("-" unless the caller's format says otherwise).
- ``ago(epoch)`` how long since: "just now", "5 min ago", "2 h ago", "3 d ago" ("never").
- ``one_line(text, limit)`` all whitespace runs folded to one space, cut with "…".
- ``files(items, limit)`` ``a, b, c (+2 more)``.
- ``truncate(text, limit)`` keeps the head and the tail around a marker that says how
  much was cut (command output ends with what matters most).
"""

import time

MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"


def when(epoch, *, seconds: bool = False, missing: str = "-", fmt: str | None = None) -> str:
    """A local timestamp for people; ``missing`` when there is none (None or 0)."""
    if not epoch:
        return missing
    return time.strftime(fmt or (SECONDS if seconds else MINUTES), time.localtime(epoch))


def ago(epoch, now: float | None = None, *, missing: str = "never") -> str:
    """How long since ``epoch``: "just now", "5 min ago", "2 h ago", "3 d ago"."""
    if not epoch:
        return missing
    seconds = max(0.0, (now or time.time()) - float(epoch))
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def one_line(text, limit: int | None = None) -> str:
    """``text`` on one line (whitespace folded); cut to ``limit`` characters with "…"."""
    text = " ".join(str(text if text is not None else "").split())
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def files(items, limit: int) -> str:
    """The first ``limit`` names, comma-separated, and how many more there are."""
    items = [str(item) for item in items or []]
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to about ``limit`` characters, keeping head and tail.

    The tail is kept because command output ends with what matters most
    (the failing assertion, the exit status, the summary line).
    """
    limit = max(int(limit), 0)
    if len(text) <= limit:
        return text
    marker_len = len(f"\n[… {len(text)} chars truncated …]\n")
    keep = max(limit - marker_len, 0)
    head = keep * 2 // 3
    tail = keep - head
    marker = f"\n[… {len(text) - keep} chars truncated …]\n"
    return text[:head] + marker + (text[len(text) - tail:] if tail else "")
