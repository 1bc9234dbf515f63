"""What text is embedded for a memory: its passages.

Contract: ``passages(kind, row)`` is the list of texts embedded for one observation,
summary or prompt (the row as ``Store.rows_to_embed`` gives it); the row is found by its
best passage (``index`` keeps every passage's vector and scores a row by the highest
cosine among them). ``RECIPE`` names this recipe: it is part of every vector's model name,
so changing what is embedded re-makes the old vectors (the worker's backfill embeds every
row whose vectors were made another way).

Why several passages: one vector for a whole memory is an average of everything it says.
A long summary or a long command's output says many things, and a question asks about
one of them (the cause of the first failure, a figure in the middle); averaged with the
rest, that line's meaning is lost, and the model reads at most 512 tokens at a time
anyway. So a memory short enough to be about one thing (``WHOLE_MAX`` characters) is one
passage; a longer one is its first line (the title, or a summary's request: what the
rest is about) followed by a window of its lines, about ``WINDOW`` characters each,
line boundaries kept, a line longer than that cut at spaces. Measured on the tune
questions of ``bench/recall.py`` (in-process, docs/search.md): meaning recall@5 0.80 with
one vector of the first 1,200 characters, 0.89 with 300-character windows.

Only the stored, privacy-cleaned text is embedded (the same text words search). At most
``MAX_PASSAGES`` windows a memory: the cost of embedding grows with the text, and the
head of a very long memory is where its gist is.
"""
from __future__ import annotations

RECIPE = "windows300"
WINDOW = 300
WHOLE_MAX = 500
HEAD_MAX = 200
MAX_PASSAGES = 32


def memory_text(kind: str, row: dict) -> str:
    """The stored text of one memory, as words search reads it."""
    from claude_mem.store.search import observation_text, summary_text

    if kind == "observation":
        return observation_text(row)
    if kind == "summary":
        return summary_text(row)
    return str(row.get("prompt") or "")


def passages(kind: str, row: dict) -> list[str]:
    return split(memory_text(kind, row))


def split(text: str) -> list[str]:
    """The passages of one text (never empty: an empty text is one blank passage)."""
    text = text.strip()
    if len(text) <= WHOLE_MAX:
        return [text or " "]
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    head, rest = lines[0][:HEAD_MAX], lines[1:]
    windows: list[str] = []
    current = ""
    for line in _pieces(rest):
        if current and len(current) + 1 + len(line) > WINDOW:
            windows.append(current)
            if len(windows) >= MAX_PASSAGES:
                current = ""
                break
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        windows.append(current)
    return [f"{head}\n{window}" for window in windows] or [head]


def _pieces(lines):
    """Lines no longer than ``WINDOW``: a longer one is cut at spaces (or anywhere)."""
    for line in lines:
        while len(line) > WINDOW:
            cut = line.rfind(" ", WINDOW // 2, WINDOW)
            cut = cut if cut > 0 else WINDOW
            yield line[:cut].rstrip()
            line = line[cut:].lstrip()
        if line:
            yield line
