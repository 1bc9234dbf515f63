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
  its ``valid_until`` (a teammate's "2 h ago" in the text) passes. ``lookup_words`` is
  the same row as ``(output, shown words as the row keeps them, items)``.
- On a miss the hook renders as it always did and asks for the row (``want_context``, in
  its own write unit); the worker renders it when idle.
- ``ask(project, key, session)``: the same row as the running worker reads it
  (``start_answer``), over the control socket, as ``(output, shown words, known)``; None
  when there is none or no answer came within ``ASK_BUDGET_SECONDS`` (the hook then reads
  it itself). ``reply_for`` / ``read_reply``: the answer's line, both ends. The row's
  format itself (``start_text``, ``format_shown``, ``parse_shown``) is ``start_row``'s.
Standard library only, on the hook path: when the context is current the hook imports no
JSON module (``jsonflat.flat_object`` reads the payload, ``start_text`` checks the row), and
only the light store (``open_start_store``), or no SQLite at all when the worker answers.
"""

import os
import time

from claude_mem.jsonflat import json_string
from claude_mem.jsonflat import string as json_string_of
# The row's format, kept in a module of its own (the inbox reads a start's file with it).
from claude_mem.start_row import format_shown, parse_shown, start_text

_HERE = os.path.dirname(os.path.abspath(__file__))
# The files whose code shapes the stored text (a change to any of them is a new key).
RENDER_FILES = tuple(os.path.join(_HERE, *name.split("/")) for name in (
    "context.py", "text.py", "jsonlite.py", "config.py", "startcache.py", "context_refresh.py",
    "store/memory.py", "store/db.py"))

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
    found = lookup_words(store, project, key)
    return None if found is None else (found[0], found[2])


def lookup_words(store, project: str, key: str):
    """``lookup``'s row with its shown words as the row keeps them: ``(output, words,
    items)`` (the worker's answer passes the words on as they are, ``start_answer``)."""
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
        return ("", "", []) if not shown else None
    body = start_text(output)
    items = parse_shown(shown or "", body) if body is not None else None
    if items is None:
        return None
    return output, shown or "", items


# How long a hook waits for the worker's answer (``ask``) before it reads the row itself:
# an idle worker answers in well under a millisecond; a busy one (a backlog draining) may
# take longer, and then the hook's own read (~3 ms of CPU) is the quicker way.
ASK_BUDGET_SECONDS = 0.03
# ``ask``'s reply: ``{"known":"1" or "","shown":<the row's shown words>,"output":<the
# output itself, a JSON object, or "" for an empty memory>}`` (one line; the output is not
# quoted again, so the hook decodes it once, as it decodes a row: ``start_text``).
REPLY_HEAD = '{"known":"'


def ask(project: str, key: str, session: str):
    """``(output, shown words, known)`` of the current row for ``(project, key)`` as the
    running worker reads it (``start_answer``), ``known``: whether the memory holds
    ``session``; None when there is no current row, or no answer in ``ASK_BUDGET_SECONDS``,
    or anything else went wrong (then the hook reads the row itself)."""
    from claude_mem import control

    request = ('{"cmd":"start","project":' + json_string_of(project) + ',"key":'
               + json_string_of(key) + ',"session":' + json_string_of(session) + "}\n")
    reply = control.exchange(request.encode("utf-8"), ASK_BUDGET_SECONDS)
    if reply is None:  # no socket, refused, timed out: the hook reads the row itself
        return None
    try:
        return read_reply(reply.decode("utf-8").rstrip("\n"))
    except UnicodeError:
        return None


def read_reply(reply: str):
    """``ask``'s reply decoded (see ``REPLY_HEAD``), or None for anything else."""
    if not reply.startswith(REPLY_HEAD) or not reply.endswith("}"):
        return None
    known = reply[len(REPLY_HEAD):len(REPLY_HEAD) + 1] == "1"
    at = len(REPLY_HEAD) + (2 if known else 1)
    if reply[at - 1:at + 9] != '","shown":':
        return None
    found = json_string(reply, at + 9)
    if found is None or reply[found[1]:found[1] + 10] != ',"output":':
        return None
    shown, output = found[0], reply[found[1] + 10:-1]
    if output == '""':
        return ("", shown, known) if not shown else None
    body = start_text(output)
    if body is None or parse_shown(shown, body) is None:
        return None
    return output, shown, known


def reply_for(output: str, shown: str, known: bool) -> str:
    """The worker's side of ``read_reply``."""
    return (REPLY_HEAD + ("1" if known else "") + '","shown":' + json_string_of(shown)
            + ',"output":' + (output or '""') + "}")


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
