"""The SessionStart context's row format (``startcache``'s cache rows, the worker's
``start`` answers and a start's inbox file all carry it): the output's exact JSON shape
(``start_text``) and the items it shows as words (``format_shown`` / ``parse_shown``).

Contract:
- ``start_text(output)`` is the context in ``output`` when that is SessionStart JSON exactly as
  ``context.hook_json`` writes it, else None.
- ``format_shown(items, body)`` writes ``(kind, id)`` items as ``kind:id`` words and the item
  whose value is the context's text itself (``store.shown``'s ``CONTEXT_TEXT``) as
  ``kind:=``; ValueError for anything else. ``parse_shown(text, body)`` reads them back
  (None when ``text`` is not such words).
Standard library only, no imports but ``jsonflat``: the hooks and ``hook_inbox`` use it.
"""
from claude_mem.jsonflat import json_string

# In ``shown``, an item whose value is the context's text itself (``store.shown``'s
# CONTEXT_TEXT) is written ``kind:=``; every other item is ``kind:id``.
_SAME_TEXT = "="
_KIND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz-_")

# ``context.hook_json``'s output around the context's JSON string (a test checks it).
START_HEAD = '{"hookSpecificOutput":{"hookEventName":"SessionStart","additionalContext":"'
START_TAIL = '"}}'


def start_text(output: str):
    """The context in ``output`` when it is SessionStart JSON as ``context.hook_json``
    writes it (valid JSON of exactly that shape), else None."""
    if not (output.startswith(START_HEAD) and output.endswith(START_TAIL)):
        return None
    found = json_string(output, len(START_HEAD) - 1)
    if found is None or found[1] != len(output) - len(START_TAIL) + 1:
        return None
    return found[0]


def format_shown(items, body: str) -> str:
    """``items`` (what ``context.record_context`` lists) as the row keeps them."""
    parts = []
    for kind, item in items:
        if not (kind and set(kind) <= _KIND_CHARS):
            raise ValueError(f"cannot keep an item of kind {kind!r}")
        if isinstance(item, int) and not isinstance(item, bool):
            parts.append(f"{kind}:{item}")
        elif item == body:
            parts.append(f"{kind}:{_SAME_TEXT}")
        else:
            raise ValueError(f"cannot keep a {kind} item that is neither an id nor the text")
    return " ".join(parts)


def parse_shown(text: str, body: str):
    items = []
    for part in text.split():
        kind, _, value = part.partition(":")
        if not kind or not set(kind) <= _KIND_CHARS:
            return None
        if value == _SAME_TEXT:
            items.append((kind, body))
        elif value.isdigit() and value.isascii():
            items.append((kind, int(value)))
        else:
            return None
    return items
