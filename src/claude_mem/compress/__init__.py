"""Compression: turning hook events into observations and summaries.

Contract: a compressor (``base.Compressor``) has a ``name`` and these methods, all called
by the worker only, outside any database transaction:

- ``observe(ctx, events) -> Produced`` — observations for a batch of tool events that
  belong to one request (``ctx.prompt_number``) of one session, in order.
- ``summarize(ctx, last_assistant_message, observations) -> Produced`` — the summary
  of that request, from what was observed (dicts as the store returns them).
- ``finalize(ctx, reason)`` — the session run is over; release per-session resources.
- ``close()`` — the worker is exiting.

Back-ends: ``heuristic`` (offline, deterministic, the default) and the LLM back-ends
(``claude``, ``anthropic``, ``openai``), which are optional extras and fall back to the
heuristic for any work they cannot do. ``make_compressor`` picks one from settings;
the LLM back-ends are registered in ``llm.BACKENDS`` (one line each).
"""
from __future__ import annotations

from claude_mem.compress.base import Compressor, SessionContext

__all__ = ["Compressor", "SessionContext", "make_compressor"]


def make_compressor(settings, store=None) -> Compressor:
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
