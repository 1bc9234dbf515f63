"""Small text helpers every output shares: times, one-liners, file lists, truncation.

Contract: pure functions, standard library only (``time``), no I/O; safe on the hook
path. Each display module (CLI, context, MCP, viewer, health, render, prompts) uses these
instead of its own copy, so "when", "one line" and "cut" mean the same everywhere.

- ``when(epoch)`` local time ``YYYY-MM-DD HH:MM`` (``seconds=True`` adds ``:SS``);
  a missing time is ``missing`` ("-" unless the caller's format says otherwise).
- ``ago(epoch)`` how long since: "just now", "5 min ago", "2 h ago", "3 d ago" ("never");
  ``ago_changes_at(epoch, now)`` when that text next turns (a cached context's end).
- ``one_line(text, limit)`` all whitespace runs folded to one space, cut with "…".
- ``files(items, limit)`` ``a, b, c (+2 more)``.
- ``truncate(text, limit)`` keeps the head and the tail around a marker that says how
  much was cut (command output ends with what matters most); the one cut every module
  uses (privacy's, for stored payloads, with a shorter tail and its markers kept whole).
- ``said_once_first(found, limit)`` of a long output's problem lines, the ones said once
  before the ones repeated with other details (the compressor's ``Noted:`` facts and the
  stored cut's kept middle choose alike).
"""

import time

MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"


def when(epoch, *, seconds: bool = False, missing: str = "-", fmt: str | None = None) -> str:
    """A local timestamp for people; ``missing`` when there is none (None or 0)."""
    if not epoch:
        return missing
    return time.strftime(fmt or (SECONDS if seconds else MINUTES), time.localtime(epoch))


# When a list: every ``epoch`` that ``ago`` is asked about is appended to it. The worker's
# rendering ahead of the SessionStart context (context_refresh.py) sets it, to learn until
# when its text holds (``ago_changes_at``); anything else in a context that depends on the
# clock must say so the same way.
ago_asked: list | None = None


def ago(epoch, now: float | None = None, *, missing: str = "never") -> str:
    """How long since ``epoch``: "just now", "5 min ago", "2 h ago", "3 d ago"."""
    if not epoch:
        return missing
    if ago_asked is not None:
        ago_asked.append(float(epoch))
    seconds = max(0.0, (now or time.time()) - float(epoch))
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def ago_changes_at(epoch, now: float) -> float:
    """The first moment after ``now`` at which ``ago(epoch)`` may read differently (a
    second early, never late): "5 min ago" rounds to the minute, so it turns at the half."""
    age = max(0.0, now - float(epoch))
    for limit, unit in ((90, None), (5400, 60), (48 * 3600, 3600), (float("inf"), 86400)):
        if age < limit:
            turn = limit if unit is None else min(limit, (int(age / unit + 0.5) + 0.5) * unit)
            return float(epoch) + turn - 1.0
    return now  # pragma: no cover - the last limit is infinite


def one_line(text, limit: int | None = None) -> str:
    """``text`` on one line (whitespace folded); cut to ``limit`` characters with "…"."""
    text = " ".join(str(text if text is not None else "").split())
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def said_once_first(found, limit: int) -> list[str]:
    """At most ``limit`` of ``found``'s lines (``(position, line)`` pairs), in position order.
    A line repeated with other details (the same warning for fifteen files, the same log
    line for each project: the words of its first 48 characters, digits and punctuation
    aside, are its key) counts once, as its first instance, and comes after every line
    said once."""
    import re

    groups: dict[str, list] = {}
    for position, line in found:
        key = re.sub(r"[\d\W_]+", " ", line[:48]).strip().lower()
        groups.setdefault(key, [position, 0, line])[1] += 1
    chosen = sorted(groups.values(), key=lambda group: (group[1] > 1, group[0]))[:limit]
    return [line for _, _, line in sorted(chosen)]


def files(items, limit: int) -> str:
    """The first ``limit`` names, comma-separated, and how many more there are."""
    items = [str(item) for item in items or []]
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


# What replaces the middle of a cut text; the number is how many characters went.
TRUNCATED = "\n[... {} chars truncated ...]\n"


def truncate(text: str, limit: int | None, *, tail_part: int = 3, max_tail: int | None = None,
             whole: tuple[str, ...] = ()) -> str:
    """``text`` in at most ``limit`` characters: its head, a marker counting what was cut,
    its tail.

    The tail gets ``1/tail_part`` of the room (at most ``max_tail``), because command
    output ends with what matters most (the failing assertion, the exit status); a stored
    payload keeps a shorter tail (``tail_part=5, max_tail=1000``). No cut splits one of the
    ``whole`` strings (privacy's redaction markers). ``None`` means no limit, a negative
    limit counts as 0, and a limit too small for the marker is a plain cut.
    """
    if limit is None or len(text) <= limit:
        return text
    limit = max(0, int(limit))
    n = len(text)
    room = limit - len(TRUNCATED.format(n))  # n has at least as many digits as the cut
    if room < 20:
        return text[:limit]
    tail = room // tail_part
    if max_tail is not None:
        tail = min(tail, max_tail)
    head = _off_whole(text, room - tail, whole, forward=False)
    tail_start = max(head, _off_whole(text, n - tail, whole, forward=True))
    return text[:head] + TRUNCATED.format(tail_start - head) + text[tail_start:]


def _off_whole(text: str, i: int, whole: tuple[str, ...], forward: bool) -> int:
    """Cut index ``i`` moved off any of the ``whole`` strings it would split in two."""
    for mark in whole:
        # find() with these bounds only returns a j with j < i < j + len(mark).
        j = text.find(mark, max(0, i - len(mark) + 1), i + len(mark) - 1)
        if j != -1:
            return j + len(mark) if forward else j
    return i

