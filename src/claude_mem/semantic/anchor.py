"""Questions that place their answer in time: "why did the tests fail after the rename?",
"how big was the change set before it was committed?".

Contract:
- ``cue(text)``: ``("after" | "before", clause)`` when the question has an anchoring cue
  (``after``, ``before``, ``since`` followed by a clause, up to the next comma or stop,
  that names something: a word other than the words search's stop words), else ``None``.
  English cue words only; nothing of any session's own terms.
- ``lift(fused, order, side, clause_keys, places)``: adds to ``fused`` (the fusion's weights,
  by ``(kind, id)``) for each of the first ``DEPTH`` memories of ``order`` that lies in the
  same request (session and prompt number) as an anchor, on the cue's side of it. The
  anchors are where the clause's event is found: the first ``ANCHORS`` of the fused
  candidates that the clause's own words search (``clause_keys``, its best ``CLAUSE_POOL``)
  also found, and the words search's first ``ANCHORS``; each weighs as a rank of reciprocal
  rank fusion (1/(``RRF_K`` + rank)). A memory gains ``LIFT`` x the best such weight, and
  between two observations that weight is divided by 1 + (observations apart)/``NEAR``: the
  answer to "before X" is usually just before X. ``places`` maps keys to ``(session id,
  prompt number)`` (``Store.places``).

Why: ranking otherwise ignores order in a session, and such a question asked of every
project is ambiguous ("the tests failed" in many sessions); the anchor tells the request
apart, and the side within it. Measured on the tune questions (docs/recall.md, round 15).
Within a request a prompt comes first, then its observations in id order; its summary
spans the whole request (it tells what happened before and after anything in it).
"""
from __future__ import annotations

import re

from claude_mem.store.fts import STOP_WORDS

# The fusion's constant (hybrid.RRF_K): an anchor weighs as a rank of the fused lists.
RRF_K = 15
# How much an anchor's weight counts for the memories on the cue's side of it.
LIFT = 1.0
# How many anchors each source gives (the fused candidates the clause's words found, and
# the clause's own words search).
ANCHORS = 2
# How deep the fused order is read for anchors and for the memories lifted.
DEPTH = 50
# How deep the clause's words search is read (its hits among the fused candidates).
CLAUSE_POOL = 100
# Observations apart at which an anchor's weight is halved.
NEAR = 30.0

_CUE = re.compile(r"\b(after|before|since)\s+([^,.;:?!]+)", re.I)
_WORD = re.compile(r"[\w'-]+")
_END = float("inf")


def cue(text) -> tuple[str, str] | None:
    found = _CUE.search(str(text or ""))
    # "what happened after that?": a clause of stop words names no event to anchor on.
    if not found or not any(word.lower() not in STOP_WORDS
                            for word in _WORD.findall(found.group(2))):
        return None
    return ("before" if found.group(1).lower() == "before" else "after"), found.group(2).strip()


def _span(key) -> tuple[float, float]:
    """Where a memory lies within its request: a prompt first, an observation at its id,
    the summary over all of it."""
    kind, item = key
    if kind == "observation":
        return item, item
    return (0, _END) if kind == "summary" else (0, 0)


def anchors(order, clause_keys) -> list[tuple[tuple, float]]:
    """``(key, weight)`` of the anchors: the fused candidates the clause's words found, then
    the clause's words search's own first ones (each source's first ``ANCHORS``)."""
    found = set(clause_keys[:CLAUSE_POOL])
    picked = [key for key in order[:DEPTH] if key in found][:ANCHORS]
    chosen = [(key, 1.0 / (RRF_K + rank + 1)) for rank, key in enumerate(picked)]
    chosen += [(key, 1.0 / (RRF_K + rank + 1)) for rank, key in enumerate(clause_keys[:ANCHORS])
               if key not in picked]
    return chosen


def wanted(order, clause_keys) -> list:
    """The keys whose places ``lift`` needs."""
    return list(order[:DEPTH]) + [key for key, _ in anchors(order, clause_keys)]


def lift(fused: dict, order, side: str, clause_keys, places: dict) -> None:
    chosen = [(key, weight, places[key]) for key, weight in anchors(order, clause_keys)
              if key in places]
    if not chosen:
        return
    for key in order[:DEPTH]:
        place = places.get(key)
        if place is None:
            continue
        low, high = _span(key)
        best = 0.0
        for anchor, weight, where in chosen:
            if where != place:  # another session, or another request of it
                continue
            a_low, a_high = _span(anchor)
            if not (high > a_low if side == "after" else low < a_high):
                continue
            if key[0] == anchor[0] == "observation":
                weight /= 1.0 + abs(key[1] - anchor[1]) / NEAR
            best = max(best, weight)
        if best:
            fused[key] += LIFT * best
