"""The compressor interface: turning hook events into observations and summaries.

Contract: a compressor has a ``name`` and three methods, all called by the worker only,
outside any database transaction:

- ``observe(ctx, events) -> Produced`` — observations for a batch of tool events that
  belong to one request (``ctx.prompt_number``) of one session, in order.
- ``summarize(ctx, last_assistant_message, observations) -> Produced`` — the summary
  of that request, from what was observed (dicts as the store returns them).
- ``finalize(ctx, reason)`` — the session run is over; release per-session resources.
- ``close()`` — the worker is exiting.

Back-ends: ``heuristic`` (offline, deterministic, the default) and the LLM back-ends
(``claude``, ``anthropic``, ``openai``), which are optional extras and fall back to the
heuristic for any work they cannot do. ``make_compressor`` picks one from settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SessionContext:
    """What a compressor knows about the session a piece of work belongs to."""

    session_id: int            # our row id
    claude_session_id: str
    project: str
    cwd: str
    prompt_number: int
    request: str = ""          # the user's prompt for this request
    # Observations already stored for this request (dicts), oldest first.
    earlier: tuple = field(default=())
    # The thread's goal when ``request`` carries none of its own ("continue", "yes"): the
    # latest earlier request of the session that does.
    goal: str = ""
    # The final reply already kept for this request (an earlier Stop): a trivial later
    # reply, e.g. to a background task's notification, must not replace it.
    previous_reply: str = ""


def make_compressor(settings, store=None):
    """The configured compressor; unknown names and missing extras fall back to heuristic."""
    from claude_mem import log
    from claude_mem.compress.heuristic import HeuristicCompressor

    name = (settings.compressor or "heuristic").strip().lower()
    if name == "heuristic":
        return HeuristicCompressor(settings)
    try:
        from claude_mem.compress import llm
    except ImportError as exc:
        log.error(f"compressor {name!r} unavailable ({exc}); using heuristic")
        return HeuristicCompressor(settings)
    try:
        return llm.make_llm_compressor(name, settings, store)
    except Exception as exc:  # a missing extra or bad config must not stop capture
        log.error(f"compressor {name!r} could not start ({exc!r}); using heuristic")
        return HeuristicCompressor(settings)
