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
  ``get_observations``, ``claude-mem show obs 12``), a short head, and the lines of its
  stored text that hold the answer (``recall_render.render``: the prompt's rarer words,
  the marks of what it asks for -- a cause, a fix, a figure, a name, a decision, what is
  open); every memory's best line before any memory's second. That module is imported
  only when a memory cleared the floor.
- Never repeats itself within a session: what SessionStart printed (``context.record_context``)
  and what an earlier prompt already got are recorded in ``shown_memory`` (ids only) and
  skipped. A memory the start context only listed (an observation by its title in the
  index, a summary cut to the budget: ``store.shown.LISTED``) may still give the lines that
  answer, under a head naming its id without repeating its title; and no line is shown
  that the start context already said (all its words but a fifth in one line of the
  start context's text, ``shown_context``: ``recall_render.StartLines``).
- Words only (FTS5), standard library only: it runs on the hook's own connection, or in the
  running worker when it answers the hook within a few ms (``prompt_recall``: the same code
  on the worker's warm reader); never on an embedding model. Measured cost in
  docs/recall.md.
- The prompt searched is the one the hook got, cleaned first only when it holds
  ``<private>`` text (``prompt_recall.readable``): private words never choose what is
  shown; a secret in a prompt is only looked up, never stored or printed from here.

The relevance floor, in words: a memory is relevant when it holds words of the prompt that
carry at least ``FLOOR`` of the prompt's weight, each word weighted by its rarity in this
memory (idf, as bm25 does), and at least two distinct words (one, when the prompt has only
one or two). A prompt that turns back to earlier work ("last time", "why did", "remind
me") is asking the memory, so its floor is lower (``FLOOR_ASKED``). Words that say what to
do rather than what about ("add", "write", "fix") carry no weight. A word counts where it
starts a word of the memory, and a long memory must hold two of the words in one line
(``_words_meet``). The floors were set on the tune set of bench/recall.py, never on the
held-out one (docs/recall.md, "Recall at the prompt: how it chooses").
"""

import time

from claude_mem.recall_words import ACTION_WORDS, find_word
from claude_mem.store.fts import STOP_WORDS, query_terms
from claude_mem.store.shown import LISTED

# Phrases of a prompt that turns back to earlier work.
ASKED_CUES = ("last time", "before", "earlier", "previous", "again", "remind", "remember",
              "what was", "what were", "why did", "why was", "why were", "how did", "did we",
              "we left", "at first", "yesterday", "last week", "what did", "which commit",
              "which branch", "what happened", "we decided", "we settled", "left open", "back then")

FLOOR = 0.45
FLOOR_ASKED = 0.3
# At most this many words of a prompt are looked up (a pasted log is not a question).
MAX_PROMPT_TERMS = 12
# A memory longer than this must hold two of the prompt's words in one line (_words_meet).
LONG_MEMORY_CHARS = 1500
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
    for ending in ("ations", "ation", "tions", "tion", "ings", "ing", "ies", "ied", "ers", "er",
                   "ed", "es", "ly", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= (4 if "tion" in ending else 3):
            stem = word[: -len(ending)]
            # "splitting" -> "split", "stopped" -> "stop": a doubled last letter goes too.
            if ending in ("ing", "ed") and len(stem) > 3 and stem[-1] == stem[-2] \
                    and stem[-1] not in "aeiousl":
                stem = stem[:-1]
            return stem
    return word


def term_stems(terms: list[str]) -> list[tuple[str, list[str]]]:
    """Each quoted term with the stems of its words (a phrase has several)."""
    out = []
    for term in terms:
        bare = term.rstrip("*").strip('"').lower()
        out.append((term, [_stem(part) for part in
                           "".join(c if c.isalnum() else " " for c in bare).split()]))
    return out


def held_terms(text: str, stemmed: list[tuple[str, list[str]]]) -> set:
    """The terms of ``stemmed`` (``term_stems``' output, made once per prompt, not once per
    memory) that ``text`` holds (a phrase: all its words), each word found by its stem at
    the start of a word of the text ("ten" is not in "written")."""
    low = str(text).lower()
    held = set()
    for term, stems in stemmed:
        if stems and all(find_word(low, stem) >= 0 for stem in stems):
            held.add(term)
    return held


def _words_meet(hit: dict, matched_stems: list[list[str]], need: int) -> bool:
    """Whether a long memory holds ``need`` of the matched words (their stems, as
    ``term_stems`` made them) in one line: a long
    session's summary holds most words somewhere (measured: unrelated prompts cleared the
    floor on them by words scattered over dozens of lines), while a memory a prompt is
    about holds its words together where it tells of it. A short memory is one such
    place."""
    text = str(hit.get("text") or "")
    if need < 2 or len(text) <= LONG_MEMORY_CHARS:
        return True
    for line in text.lower().splitlines():
        if sum(1 for parts in matched_stems if all(find_word(line, part) >= 0 for part in parts)) >= need:
            return True
    return False


def relevant(store, prompt: str, project: str, *, exclude=frozenset()) -> list[dict]:
    """The memories of ``project`` that clear the floor, best first (search-hit dicts with
    ``coverage`` and ``matched_terms``)."""
    terms = prompt_terms(prompt)
    if not terms:
        return []
    floor = FLOOR_ASKED if asks_about_the_past(prompt) else FLOOR
    need = 2 if len(terms) > 2 else 1
    stems = None  # the terms' stems, made once the first candidate comes
    found = []
    for name in RECALL_KINDS:
        listed = next((kind for kind, whole in LISTED.items() if whole == name), None)
        rows = store.indexed_rows(name)
        if not rows:
            continue
        counts = {term: store.term_matches(name, term, PROBE + 1) for term in terms}
        if sum(1 for term in terms if counts[term]) < need:
            continue  # too few of the words are in this kind of memory at all
        weight = store.idf_weights(rows, counts)
        total = sum(weight.values())
        # Each word's share of the prompt's weight, by its stem (for the lines shown).
        shares = {_stem(term.strip('"*').lower()): (w / total if total else 0.0)
                  for term, w in weight.items()}
        hits = [hit for hit in store.search_terms(name, terms, project=project, limit=CANDIDATES,
                                                  counts=counts, quick=True, common_above=PROBE)
                if (name, hit["id"]) not in exclude]
        for hit in hits:
            if listed and (listed, hit["id"]) in exclude:
                hit["listed"] = True  # the start context listed it: its other lines only
            stems = stems or term_stems(terms)
            matched = held_terms(hit.get("text", ""), stems)
            coverage = sum(weight[t] for t in matched) / total if total else 0.0
            if len(matched) >= need and coverage >= floor and _words_meet(
                    hit, [parts for term, parts in stems if term in matched], need):
                hit["coverage"] = round(coverage, 3)
                hit["ids_up_to"] = rows  # the width its id is counted at (recall_render)
                hit["matched_terms"] = sorted(t.strip('"*') for t in matched)
                hit["weights"] = shares
                found.append(hit)
    found.sort(key=lambda hit: (-hit["coverage"], hit["score"]))
    return found


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
    from claude_mem import recall_render

    budget = max(200, min(int(settings.prompt_recall_tokens), 500) * 4)
    text, taken = recall_render.render(hits, budget, recall_render.asked_for(prompt),
                                       recall_render.start_lines(store, session))
    if not taken:
        return ""
    items = [(hit["kind"], hit["id"]) for hit in taken]
    if shown is not None:
        shown.extend(items)
    else:
        store.record_shown(session, items, time.time())
    from claude_mem import jsonflat

    # {"hookSpecificOutput": {"hookEventName": ..., "additionalContext": text}}, written
    # as jsonlite.dumps writes it, without importing a JSON module.
    return ('{"hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":'
            + jsonflat.string(text) + "}}")

