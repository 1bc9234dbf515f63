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
JSON module (``jsonflat.flat_object`` reads the payload, ``start_text`` checks the row), and only
the light store (``open_start_store``).
"""

import os
import time

from claude_mem.jsonflat import json_string

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
        announces_writes = False  # a hook announces itself by hand (``hooks._announce``)

    return StartStore(config.db_path(), busy_timeout_ms=busy_timeout_ms)
