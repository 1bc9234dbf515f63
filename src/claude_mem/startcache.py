"""SessionStart from a context the worker rendered ahead: the hook's side of the cache.

Why: the SessionStart hook is the one a person waits for at every session start, and
rendering the digest (importing ``context``, the memory and session rooms, a few queries
over a cold connection) was most of what it cost beyond a bare interpreter start. The
worker, off the hook's path, renders it after the memory changed (``context_refresh``);
the hook reads it back in one indexed query.

Contract:
- ``plan(payload, settings)`` is ``(project, key)`` when this SessionStart prints the full
  context of its project (``startup`` and ``clear``, when in ``context_sources`` and the
  project is not excluded), else None: ``resume`` and ``compact`` get a part of the memory,
  rendered by the hook as before.
- ``key`` holds everything besides the memory that shapes the text: the rendering code
  (size and time of its files: a new version, or a worker still running the old one,
  never serves another's text), the time zone (times are local), and every
  ``context_*`` setting except ``context_sources`` (a setting that shapes ``render`` must be
  named ``context_…``). The worker renders a key with those settings, so a hook whose
  environment sets a different budget is served too, once it asked.
- ``lookup(store, project, key)`` is ``(output, shown)`` from a current row: ``output`` the
  exact JSON to print ("" when the memory holds nothing for the project), ``shown`` the
  ``(kind, id)`` items it holds (recorded for prompt recall as before); None when there is
  no current row, or the row is not what the worker writes (then the hook renders
  itself: a broken row costs time, never the output). A row is current until the memory
  it was made from changes (triggers, in the same statement: ``store.context_cache``) or
  its ``valid_until`` (a teammate's "2 h ago" in the text) passes.
- On a miss the hook renders as it always did and asks for the row (``want_context``, in
  its own write unit); the worker renders it when idle.
Standard library only, on the hook path: when the context is current the hook imports no
JSON module (``flat_object`` reads the payload, ``start_text`` checks the row), and only
the light store (``open_start_store``).
"""

import os
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
# The files whose code shapes the stored text (a change to any of them is a new key).
RENDER_FILES = tuple(os.path.join(_HERE, *name.split("/")) for name in (
    "context.py", "text.py", "jsonlite.py", "config.py", "startcache.py", "context_refresh.py",
    "store/memory.py", "store/db.py"))

# In ``shown``, an item whose value is the context's text itself (``store.shown``'s
# CONTEXT_TEXT) is written ``kind:=``; every other item is ``kind:id``.
_SAME_TEXT = "="
_KIND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz-_")


def code_mark() -> str:
    """The rendering code's files, by size and modification time."""
    parts = []
    for path in RENDER_FILES:
        try:
            st = os.stat(path)
            parts.append(f"{st.st_size}.{st.st_mtime_ns}")
        except OSError:
            parts.append("-")
    return ":".join(parts)


# This process's code, read when it was loaded (the worker renders with what it loaded,
# even after an upgrade replaced the files).
LOADED_CODE = code_mark()


def time_zone() -> str:
    return f"{os.environ.get('TZ', '')}|{'/'.join(time.tzname)}|{time.timezone}|{time.altzone}"


def render_settings(settings) -> dict:
    values = settings.values
    return {name: values[name] for name in sorted(values)
            if name.startswith("context_") and name != "context_sources"}


def setting_text(value) -> str:
    """A setting's value as ``config.Setting.parse`` reads it back from text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


def settings_part(settings) -> str:
    return ";".join(f"{name}={setting_text(value)}" for name, value in render_settings(settings).items())


def cache_key(settings) -> str:
    """The code, the time zone and the context settings, a line each (no JSON encoder: the
    hook path does not import one when the context is current)."""
    return f"{LOADED_CODE}\n{time_zone()}\n{settings_part(settings)}"


# The sources that always get the full context. A resume gets only what is new when its
# transcript holds our memory (it nearly always does), and finding that out reads the
# transcript, which the rendering path then reads again: resumes are rendered by the hook.
FULL_SOURCES = ("startup", "clear")


def plan(payload: dict, settings):
    from claude_mem import project

    source = str(payload.get("source") or "startup")
    if source not in settings.context_sources or source not in FULL_SOURCES:
        return None
    cwd = project.clean_cwd(payload.get("cwd")) or os.environ.get("CLAUDE_PROJECT_DIR") \
        or project.current_dir()
    if project.is_excluded(cwd, settings.exclude_projects):
        return None
    return project.project_name(cwd), cache_key(settings)


def lookup(store, project: str, key: str):
    row = store.cached_context(project, key)
    if row is None:
        return None
    output, shown, valid_until = row
    if not isinstance(output, str) or not isinstance(shown, (str, type(None))):
        return None
    if valid_until is not None and (not isinstance(valid_until, (int, float))
                                    or time.time() >= valid_until):
        return None
    if not output:
        return ("", []) if not shown else None
    body = start_text(output)
    items = parse_shown(shown or "", body) if body is not None else None
    if items is None:
        return None
    return output, items


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


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t"}
_HEX = frozenset("0123456789abcdefABCDEF")
_BLANKS = " \t\n\r"
_CONTROLS = tuple(chr(c) for c in range(0x20))


def json_string(text: str, start: int):
    """``(value, end)`` of the JSON string whose opening quote is at ``start`` (``end``: just
    past its closing quote), decoded as ``json.loads`` does in strict mode; None when it is
    not a valid JSON string."""
    parts = []
    at = start + 1
    while True:
        quote = text.find('"', at)
        if quote < 0:
            return None
        slash = text.find("\\", at, quote)
        piece = text[at:quote if slash < 0 else slash]
        if not piece.isprintable() and any(c in piece for c in _CONTROLS):
            return None  # a raw control character: not allowed in a JSON string
        parts.append(piece)
        if slash < 0:
            return "".join(parts), quote + 1
        kind = text[slash + 1:slash + 2]
        if kind in _ESCAPES:
            parts.append(_ESCAPES[kind])
            at = slash + 2
            continue
        digits = text[slash + 2:slash + 6]
        if kind != "u" or len(digits) != 4 or not set(digits) <= _HEX:
            return None
        code = int(digits, 16)
        at = slash + 6
        if 0xD800 <= code < 0xDC00 and text[at:at + 2] == "\\u":  # a surrogate pair?
            low = text[at + 2:at + 6]
            if len(low) == 4 and set(low) <= _HEX and 0xDC00 <= int(low, 16) < 0xE000:
                code = 0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00)
                at += 6
        parts.append(chr(code))


def flat_object(text: str):
    """``text`` decoded when it is a JSON object whose values are all strings (what Claude
    Code and Codex send at SessionStart), exactly as ``json.loads`` decodes it; None for
    anything else (the caller then uses the full decoder). No JSON module: when the context
    is current, the hook imports none."""
    at = _skip(text, 0)
    if text[at:at + 1] != "{":
        return None
    at = _skip(text, at + 1)
    result: dict = {}
    if text[at:at + 1] == "}":
        return result if _skip(text, at + 1) == len(text) else None
    while True:
        if text[at:at + 1] != '"':
            return None
        key = json_string(text, at)
        if key is None:
            return None
        at = _skip(text, key[1])
        if text[at:at + 1] != ":":
            return None
        at = _skip(text, at + 1)
        if text[at:at + 1] != '"':
            return None
        value = json_string(text, at)
        if value is None:
            return None
        result[key[0]] = value[0]
        at = _skip(text, value[1])
        mark = text[at:at + 1]
        if mark == "}":
            return result if _skip(text, at + 1) == len(text) else None
        if mark != ",":
            return None
        at = _skip(text, at + 1)


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _BLANKS:
        at += 1
    return at


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


def open_start_store(*, busy_timeout_ms: int = 2000):
    """The queue, what a session was shown and the cached contexts, on one connection: all
    a SessionStart hook needs when the context is current (see ``memory.context_store_over``
    for what a miss adds)."""
    from claude_mem import config
    from claude_mem.store.context_cache import ContextCacheRoom
    from claude_mem.store.db import Database
    from claude_mem.store.queue import QueueRoom
    from claude_mem.store.shown import ShownRoom

    class StartStore(QueueRoom, ShownRoom, ContextCacheRoom, Database):
        pass

    return StartStore(config.db_path(), busy_timeout_ms=busy_timeout_ms)
