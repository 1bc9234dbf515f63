"""Recall at the moment of the prompt: the earlier memories most relevant to what was just
asked, added to that prompt's context by the UserPromptSubmit hook.

Contract:
- ``prompt_context(store, payload, settings)`` returns the hook's JSON
  (``{"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": ...}}``)
  or "" -- and "" is the common answer: nothing is added unless an earlier memory of this
  project clears the relevance floor (``relevant``). A wrong memory costs the model
  attention; a missing one costs nothing.
- The block holds at most ``prompt_recall_tokens`` tokens (~4 characters each), each
  memory with its id (``obs #12``, ``summary #3``) so more can be fetched (MCP
  ``get_observations``, ``claude-mem show obs 12``), and the lines of its stored text that
  hold the prompt's words (where an answer usually is).
- Never repeats itself within a session: what SessionStart printed (``context.record_context``)
  and what an earlier prompt already got are recorded in ``shown_memory`` (ids only) and
  skipped.
- Words only (FTS5 on the hook's own connection), standard library only: the hook never
  waits on the worker or an embedding model. Measured cost in docs/search.md.
- The prompt searched is the cleaned one (``<private>`` text and secrets already gone).

The relevance floor, in words: a memory is relevant when it holds words of the prompt that
carry at least ``FLOOR`` of the prompt's weight, each word weighted by its rarity in this
memory (idf, as bm25 does), and at least two distinct words (one, when the prompt has only
one or two). A prompt that turns back to earlier work ("last time", "why did", "remind
me") is asking the memory, so its floor is lower (``FLOOR_ASKED``). Words that say what to
do rather than what about ("add", "write", "fix") carry no weight. The floors were set on
the tune questions of bench/recall.py, never on the held-out ones.
"""

import math
import time

from claude_mem.store.search import STOP_WORDS, query_terms

# Words of a request that say what to do, not what about: no weight in the floor.
ACTION_WORDS = frozenset("""
add added adding make making write writing create creating help need needs want wants let
lets get set use using run show give take put try see look find change update implement
build remind explain tell know think remember please thanks thank okay ok sure now new also
still again last time before earlier previously previous ago first later next thing things
something way one ones bit little quick quickly just maybe really actually going go
""".split())

# Phrases of a prompt that turns back to earlier work.
ASKED_CUES = ("last time", "before", "earlier", "previous", "again", "remind", "remember",
              "what was", "what were", "why did", "why was", "why were", "how did", "did we",
              "we left", "at first", "yesterday", "last week", "what did", "which commit",
              "which branch", "what happened", "we decided", "we settled", "left open", "back then")

FLOOR = 0.6
FLOOR_ASKED = 0.35
# At most this many words of a prompt are looked up (a pasted log is not a question).
MAX_PROMPT_TERMS = 12
MAX_PROMPT_CHARS = 4000
CANDIDATES = 8
# A word's matches are counted up to this many (its weight); more is "common": then its
# rows come newest first rather than by bm25, which would read all of them.
PROBE = 200
# Kinds recalled: what was done and learned; earlier prompts only repeat the asking.
RECALL_KINDS = ("summary", "observation")


def asks_about_the_past(prompt: str) -> bool:
    text = " " + " ".join(prompt.lower().split()) + " "
    return any(cue in text for cue in ASKED_CUES)


def prompt_terms(prompt: str) -> list[str]:
    """The prompt's searchable words that say what it is about (quoted FTS terms)."""
    terms = []
    for term in query_terms(prompt[:MAX_PROMPT_CHARS]):
        bare = term.strip('"*').lower()
        if bare in STOP_WORDS or bare in ACTION_WORDS or len(bare) < 2:
            continue
        terms.append(term)
        if len(terms) >= MAX_PROMPT_TERMS:
            break
    return terms


def _stem(word: str) -> str:
    """A crude stem, enough to tell whether a text holds a word (the index's porter stemmer
    decides what is found; this only weighs it): common endings off, at least 3 letters."""
    for ending in ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es",
                   "ly", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def held_terms(text: str, terms: list[str]) -> set:
    """The quoted ``terms`` that ``text`` holds (a phrase: all its words), each word found
    by its stem inside the text (substring: cheap, and only ever used to weigh)."""
    low = str(text).lower()
    held = set()
    for term in terms:
        bare = term.rstrip("*").strip('"').lower()
        parts = "".join(c if c.isalnum() else " " for c in bare).split()
        if parts and all(_stem(part) in low for part in parts):
            held.add(term)
    return held


def _idf(rows: int, matches: int) -> float:
    return math.log(1.0 + (rows - matches + 0.5) / (matches + 0.5))


def relevant(store, prompt: str, project: str, *, exclude=frozenset()) -> list[dict]:
    """The memories of ``project`` that clear the floor, best first (search-hit dicts with
    ``coverage`` and ``matched_terms``)."""
    terms = prompt_terms(prompt)
    if not terms:
        return []
    floor = FLOOR_ASKED if asks_about_the_past(prompt) else FLOOR
    need = 2 if len(terms) > 2 else 1
    found = []
    for name in RECALL_KINDS:
        rows = store.indexed_rows(name)
        if not rows:
            continue
        counts = {term: store.term_matches(name, term, PROBE + 1) for term in terms}
        if sum(1 for term in terms if counts[term]) < need:
            continue  # too few of the words are in this kind of memory at all
        weight = {term: _idf(rows, counts[term]) for term in terms}
        total = sum(weight.values())
        hits = [hit for hit in store.search_terms(name, terms, project=project, limit=CANDIDATES,
                                                  counts=counts, quick=True, common_above=PROBE)
                if (name, hit["id"]) not in exclude]
        for hit in hits:
            matched = held_terms(hit.get("text", ""), terms)
            coverage = sum(weight[t] for t in matched) / total if total else 0.0
            if len(matched) >= need and coverage >= floor:
                hit["coverage"] = round(coverage, 3)
                hit["matched_terms"] = sorted(t.strip('"*') for t in matched)
                found.append(hit)
    found.sort(key=lambda hit: (-hit["coverage"], hit["score"]))
    return found


def _lines_holding(text: str, words: list[str], room: int) -> list[str]:
    """The lines of ``text`` holding most of ``words`` (stems: a word's first 5 letters)."""
    stems = [w.lower()[:5] for w in words]
    scored = []
    for n, line in enumerate(str(text or "").splitlines()[1:]):  # the first is the title
        line = " ".join(line.split())
        if not line:
            continue
        low = line.lower()
        score = sum(1 for stem in stems if stem in low)
        if score and not any(line == seen for _, _, seen in scored):
            scored.append((-score, n + 10, line))
    out, used = [], 0
    for _, _, line in sorted(scored)[:4]:
        line = line if len(line) <= 240 else line[:239] + "…"
        if used + len(line) + 5 > room:
            break
        out.append(line)
        used += len(line) + 5
    return out


def _entry(hit: dict, room: int) -> str:
    from claude_mem.text import one_line, when

    if hit["kind"] == "observation":
        head = (f"- obs #{hit['id']} ({when(hit.get('created_at'))}, {hit.get('type', '')}): "
                f"{one_line(hit.get('title'), 160)}")
    else:
        head = (f"- summary #{hit['id']} ({when(hit.get('updated_at') or hit.get('created_at'))}): "
                f"request: {one_line(hit.get('request'), 160)}")
    lines = [head] + ["  " + line for line in
                      _lines_holding(hit.get("text", ""), hit.get("matched_terms", []),
                                     room - len(head))]
    return "\n".join(lines)


HEADER = ("claude-mem: earlier work in this project that this prompt may be about "
          "(more: MCP get_observations / `claude-mem show obs ID`):")


def render(hits: list[dict], budget_chars: int) -> tuple[str, list[dict]]:
    """The block and the hits it holds (as many as fit, best first)."""
    parts = [HEADER]
    used = len(HEADER) + 1
    taken = []
    for hit in hits:
        room = budget_chars - used
        if room < 120:
            break
        entry = _entry(hit, min(room, max(300, budget_chars // 2)))
        if len(entry) + 1 > room:
            entry = entry[: room - 2] + "…"
        parts.append(entry)
        used += len(entry) + 1
        taken.append(hit)
    return ("\n".join(parts) if taken else ""), taken


def prompt_context(store, payload: dict, settings, project: str, shown: list | None = None) -> str:
    """The UserPromptSubmit output for this prompt, or "" (see the module contract).

    ``shown``: a list that receives the ``(kind, id)`` items the output holds, for the
    caller to record in its own write (the hook: with the queued prompt, one transaction);
    without it they are recorded here."""
    prompt = str(payload.get("prompt") or "")
    session = str(payload.get("session_id") or "")
    if not prompt.strip() or not session:
        return ""
    exclude = store.shown_memory(session)
    hits = relevant(store, prompt, project, exclude=exclude)
    if not hits:
        return ""
    budget = max(200, min(int(settings.prompt_recall_tokens), 500) * 4)
    text, taken = render(hits, budget)
    if not taken:
        return ""
    items = [(hit["kind"], hit["id"]) for hit in taken]
    if shown is not None:
        shown.extend(items)
    else:
        store.record_shown(session, items, time.time())
    from claude_mem import jsonlite

    return jsonlite.dumps({"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
                                                  "additionalContext": text}})

