"""Hook entry points: what runs inside Claude Code's hook processes.

Contract (every event):
- Reads Claude Code's JSON from stdin, never blocks on a terminal, always returns 0,
  prints valid output or nothing, and sends details of any failure to the log file,
  never a traceback to stdout.
- UserPromptSubmit, PostToolUse, PostToolUseFailure, Stop and SessionEnd first commit
  the raw event to the durable ``pending`` queue, then wake the worker (starting one if
  none runs). They never wait for compression. If the database cannot be written (locked
  for too long, read-only, disk full) the event goes to a spool file the worker imports
  later; only if that fails too is it dropped, with a log line saying so.
- SessionStart reads SQLite directly and prints
  ``{"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": ...}}``
  for the configured sources; an empty memory prints nothing. What it injects (the
  sources, the resume and compact filters) is ``context.session_start_output``, read from
  the worker's rendering ahead when current (``startcache``). It records the ids it showed,
  so recall at the prompt does not repeat them. Its event is queued, except when the
  rendering was current and the memory does not hold the session yet: the worker does
  nothing with such a start (a session is made by its first prompt), so only what it showed
  is written. With a worker running (Claude Code's hook, no capture setting in the
  environment) the worker hands over its current rendering instead (``start_through_inbox``:
  no SQLite in the hook), and the event and what it showed go to the worker's inbox, taken
  in with the same rule.
- UserPromptSubmit may print the earlier memories the prompt is most likely about
  (``recall.py``: words only, nothing when nothing clears the relevance floor;
  ``prompt_recall`` turns it off). With a worker running (Claude Code's hook, no capture
  setting in the environment) it only reads: the prompt as it came and what recall showed
  go to the worker's inbox (``prompt_through_inbox``, ``hook_inbox``), which cleans and
  queues them exactly as below; recall reads the raw prompt unless it holds ``<private>``
  text, and the worker runs it when it answers within a few ms (``prompt_recall``).
  Otherwise it queues the cleaned prompt itself, on the connection recall read through.
- One write per hook: what SessionStart and UserPromptSubmit showed a session
  (``shown_memory``, so recall does not repeat it) is committed in the same transaction
  as the hook's event, after one announcement to the worker (``enqueue``).
- Private ``<private>`` text and secrets are removed before anything is stored: a cheap
  substring prefilter decides whether the payload must be parsed and cleaned at all, so
  the common case stores the raw text without importing ``json``.
- ``--agent codex`` before the event's name (``hook_entry.py --agent codex post-tool-use``)
  marks a hook run for Codex CLI: its payload is queued as ``codex:<Event>`` for the
  worker's Codex adapter, unchanged; SessionStart prints the same context JSON (Codex
  reads the same ``hookSpecificOutput.additionalContext``).
- Each event is timed when its hook process started (``hook_entry`` passes it to ``main``):
  a hook run in the background (``hook_entry --background``) may commit after a later one.
- Standard library only. This module is imported by ``hook_entry.py`` under ``python -I -S``
  for speed, so every import here is paid on each hook call.
"""

import os
import sys
import time

from claude_mem import config, log
from claude_mem.hook_events import AGENTS, CLAUDE_CODE, HOOK_EVENTS, queue_event
# Accept Claude Code's own names too (``claude-mem hook PostToolUse``).
_BY_ANY_NAME = {**HOOK_EVENTS, **{v: v for v in HOOK_EVENTS.values()},
                **{v.lower(): v for v in HOOK_EVENTS.values()}}

# Not an event: ``capture.sh`` asks for a worker to take its inbox file in (``wake_worker``).
WAKE_WORKER = "wake-worker"
# Stdin beyond this is read and thrown away: no real payload is this large.
_STDIN_HARD_LIMIT = 64 * 1024 * 1024
# How long a hook waits for a locked database before spooling the event instead.
_HOOK_BUSY_TIMEOUT_MS = 750
# Each try at the write lock waits this long in SQLite before the next (``_commit_soon``).
_WAIT_STEP_MS = 2
# When this hook's process started (``hook_entry`` stamps it first thing): the event's time.
# A hook run in the background may commit after a later hook of its session; the worker
# orders the queue by this time. None (tests calling in): the time of the commit.
_started_at: float | None = None
# True when the process ends as soon as the hook returns (``hook_entry``: ``os._exit``):
# connections are then left open rather than closed (``_close``).
_leaving = False
_left_open: list = []


def read_stdin() -> str:
    try:
        if os.isatty(0):
            return ""
    except OSError:
        return ""
    return read_all(0)


def read_all(fd: int, length: int | None = None) -> str:
    """What is left to read on ``fd`` (at most ``length`` bytes) as the hook's text (stdin;
    an inbox file between its header and its end mark): cut at ``_STDIN_HARD_LIMIT``,
    undecodable bytes replaced, blanks stripped."""
    chunks = []
    size = 0
    try:
        while True:
            chunk = os.read(fd, 1 << 20 if length is None else min(1 << 20, length - size))
            if not chunk:
                break
            if size < _STDIN_HARD_LIMIT:
                chunks.append(chunk)
            size += len(chunk)
    except OSError:
        pass
    if size > _STDIN_HARD_LIMIT:
        log.warning(f"stdin of {size} bytes cut to {_STDIN_HARD_LIMIT}")
    return b"".join(chunks).decode("utf-8", "replace").strip()


def enqueue(event: str, payload: str, store=None, shown=None, want=None) -> bool:
    """Commit one event to the durable queue (or the spool), then wake/start the worker.

    ``store``: a connection this hook already has open (SessionStart reads its context
    through one); otherwise the queue is opened here. Either way it waits for a locked
    database at most ``_HOOK_BUSY_TIMEOUT_MS`` before spooling.
    ``shown``: ``(session, [(kind, id), ...])``, what this hook showed the session from
    memory (``store.shown``), committed in the same write transaction as the event: one
    hook takes the write lock once, right after it announced itself to the worker.
    ``want``: ``(project, key)`` of a start context this hook rendered itself, asked of the
    worker in the same unit (``startcache``; a failure there loses nothing else).
    Returns True when the event (and ``shown``) went into the database, not the spool.
    """
    from claude_mem.store.driver import sqlite3

    received_at = _started_at or time.time()
    stored = in_database = False
    try:
        if store is None:
            from claude_mem.store.queue import open_queue

            config.ensure_data_dir()
            opened = store = open_queue(busy_timeout_ms=_HOOK_BUSY_TIMEOUT_MS)
        else:
            opened = None  # its busy timeout is set by _commit_soon, in steps
        # "A hook is about to write": a running worker leaves the write lock free until
        # this hook's wake-up says it is done (``presence``); ~0.02 ms.
        _announce(store)
        from claude_mem.store import db as store_db

        began = time.perf_counter() if store_db._LOCK_TRACE is not None else None  # benches
        try:
            try:
                _commit_soon(store, event, payload, received_at, shown, want)
            except UnicodeEncodeError:  # a lone surrogate that reached us unescaped
                payload = payload.encode("utf-8", "backslashreplace").decode("utf-8")
                _commit_soon(store, event, payload, received_at, shown, want)
            stored = in_database = True
            if began is not None:
                from claude_mem.store import lock_trace

                lock_trace.trace_wait(began, event)
        finally:
            if opened is not None:
                _close(opened)
    except (sqlite3.Error, OSError) as exc:
        log.warning(f"{event}: database unavailable ({exc}); spooling the event")
        from claude_mem import spool

        stored = spool.write(event, payload, received_at)
    if stored:
        from claude_mem import wakeup

        if wakeup.poke():  # a running worker: the common case, without importing control
            return in_database
        from claude_mem import control

        try:
            control.ensure_worker()
        except OSError as exc:
            log.error(f"{event}: could not wake or start the worker ({exc})")
    return in_database


def _announce(store) -> None:
    """Tell a running worker this hook is about to write (``wakeup.announce``). When one
    reads, it also copies the WAL into the database itself (``wal_pace``, outside any
    hook), so this connection's automatic checkpoint is turned off: left on, it ran inside
    the hook's COMMIT whenever the WAL held ``db.AUTOCHECKPOINT_PAGES`` frames (a reader had
    kept the worker from restarting it), and syncing the WAL and the database cost the hook
    25-45 ms during a drain (``bench/lock_budget.py --stacks``: SessionStart hooks held the
    checkpoint lock, blocked in ``fdatasync``). Without a worker it stays on, so the WAL
    stays bounded."""
    from claude_mem import wakeup

    if wakeup.announce():
        store.stop_automatic_checkpoints()


def _close(store) -> None:
    """Close ``store``, or when the process is about to end (``_leaving``) keep it open till
    then: closing frees the connection's cached pages and statements one by one (0.15-0.4
    ms after prompt recall at 100k observations, more than the hook's own write), and
    nothing needs it: a committed row is durable, no transaction is open, and the operating
    system drops the file locks and the WAL index's mapping when the process ends."""
    if _leaving and not store.in_transaction:
        _left_open.append(store)  # still referenced: not closed by being freed either
    else:
        store.close()


def _commit_soon(store, *args) -> None:
    """``_commit``, waiting for a locked database in steps of ``_WAIT_STEP_MS`` up to
    ``_HOOK_BUSY_TIMEOUT_MS`` in all (then the caller spools the event).

    SQLite's own wait sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries, so a hook that
    began to wait when a 20 ms transaction began tried again only at 33 ms; in short steps
    it gets in about when the lock is free. A try that finds the lock held writes nothing
    (an autocommit INSERT, or ``BEGIN IMMEDIATE``), so it is simply made again."""
    from claude_mem.store.driver import is_busy, sqlite3

    deadline = time.monotonic() + _HOOK_BUSY_TIMEOUT_MS / 1000
    store.set_busy_timeout(_WAIT_STEP_MS)
    while True:
        try:
            return _commit(store, *args)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
            if store.in_transaction:  # never a half-made unit carried into the next try
                store.db.execute("ROLLBACK")


def _commit(store, event: str, payload: str, received_at: float, shown, want=None) -> None:
    """The event alone is one statement (its own transaction); with ``shown`` items or a
    ``want``, they and the event are one ``BEGIN IMMEDIATE`` unit."""
    items = shown[1] if shown and shown[0] else None
    if not items and not want:
        store.enqueue(event, payload, received_at, cleaned=True)
        return
    with store.write():
        store.enqueue(event, payload, received_at, cleaned=True)
        if items:
            store.record_shown(shown[0], items, received_at)
        if want:
            from claude_mem.store.driver import sqlite3

            try:
                store.want_context(want[0], want[1], received_at)
            except sqlite3.Error as exc:  # no cache table (an older file?): the event still goes
                log.warning(f"SessionStart: could not ask for the context ahead: {exc!r}")


def session_start(raw: str, settings, agent: str = CLAUDE_CODE, project_dir: str = "") -> str:
    """SessionStart: the context to print, and the event queued through the same connection
    (opening SQLite is a fair share of the hook's own time). The context comes from the
    worker's rendering ahead when that is current (``startcache``; handed over by a running
    worker itself, ``start_through_inbox``), else it is rendered here, and the worker is
    asked to keep it rendered."""
    from claude_mem import jsonflat, startcache

    try:
        payload = jsonflat.flat_object(raw)  # the usual payload, without a JSON module
        if payload is None:
            from claude_mem import jsonlite

            try:
                payload = jsonlite.loads(raw)
            except ValueError:  # nested too deeply for the fast path? cut it, don't lose it
                from claude_mem import boundedjson

                payload = boundedjson.loads(raw)
    except ValueError as exc:
        log.warning(f"SessionStart: stdin is not JSON ({exc})")
        return ""
    if agent == CLAUDE_CODE and isinstance(payload, dict):
        handed = start_through_inbox(raw, payload, settings, project_dir)
        if handed is not None:
            return handed
    output = ""
    store = None
    shown: list = []  # what the context holds, recorded with the event (prompt recall)
    want = None  # (project, key) of a context rendered here: the worker keeps it rendered
    try:
        if os.path.exists(config.db_path()):  # nothing to read yet: context is not imported
            store = startcache.open_start_store()
    except Exception as exc:  # the event is still queued below, on a connection of its own
        log.error(f"SessionStart: cannot open the memory: {exc!r}")
    try:
        hit = False
        if isinstance(payload, dict) and store is not None:
            output, shown, want, hit = _start_context(payload, settings, store)
        session = str(payload.get("session_id") or "") if isinstance(payload, dict) else ""
        if hit and session and _new_session(store, session):
            # The worker does nothing with the start of a session it does not hold (it is
            # made by its first prompt: handlers.handle_start), so this start queues no
            # event: only what it showed is written (no payload, so no cleaning to import).
            _record_shown(store, session, shown)
            return output
        from claude_mem.privacy import clean_payload

        cleaned = clean_payload(raw, settings)
        if cleaned is None:
            log.warning(f"SessionStart: stdin is not valid JSON ({len(raw)} chars), ignored")
            return output
        enqueue(queue_event(agent, "SessionStart"), cleaned, store, shown=(session, shown),
                want=want)
    finally:
        if store is not None:
            _close(store)
    return output


def start_through_inbox(raw: str, payload: dict, settings, project_dir: str) -> str | None:
    """SessionStart with a worker running: the worker hands over the context it rendered
    ahead (``startcache.ask``: no SQLite in this process), and what it showed goes, with
    the event, to the worker's inbox (``hook_inbox``), taken in as this hook would have
    written it (``inbox.take_in``: no event for a session the memory does not hold, as
    below). Returns what to print, or None when there is no worker, no current rendering,
    no answer in time, or the file could not be written: the caller then does it all
    itself, as before."""
    from claude_mem import hook_inbox, startcache

    if hook_inbox.capture_set_in_environment():  # the worker cleans with settings.json's
        return None
    try:
        planned = startcache.plan(payload, settings)
    except Exception:  # the caller plans again on its own, and logs what fails
        return None
    if planned is None:
        return None
    fifo = hook_inbox.worker_fifo()
    if fifo is None:
        return None
    try:
        session = str(payload.get("session_id") or "")
        answer = startcache.ask(planned[0], planned[1], session)
        if answer is None:
            return None
        output, shown, known = answer
        if not (output and settings.prompt_recall):
            shown = ""
        if session and not known and not shown:
            return output  # a new session shown nothing: nothing to write (see above)
        received_at = _started_at or time.time()
        if hook_inbox.leave(fifo, "SessionStart", raw, project_dir,
                            (repr(received_at), session, shown, output)):
            return output
        return None
    finally:
        os.close(fifo)


def _new_session(store, session: str) -> bool:
    try:
        return not store.knows_session(session)
    except Exception as exc:  # cannot tell: queue the event, as always
        log.error(f"SessionStart: looking the session up failed: {exc!r}")
        return False


def _record_shown(store, session: str, shown: list) -> None:
    """What a start showed, written on its own (announced to the worker like an event)."""
    if not shown:
        return
    from claude_mem import wakeup
    from claude_mem.store.driver import sqlite3

    try:
        store.set_busy_timeout(_HOOK_BUSY_TIMEOUT_MS)
    except sqlite3.Error:
        pass
    _announce(store)
    try:
        store.record_shown(session, shown, _started_at or time.time())
    except (sqlite3.Error, OSError) as exc:  # recall may repeat a line: the context still goes out
        log.warning(f"SessionStart: could not record what it showed ({exc})")
    finally:
        wakeup.poke()  # "done": the worker counts it against the announcement


def _start_context(payload: dict, settings, store) -> tuple[str, list, tuple | None, bool]:
    """``(output, shown items, want, from the rendering ahead)`` for SessionStart: the
    cached rendering when it is current, else ``context.session_start_output`` (then
    ``want`` names the row to ask for)."""
    from claude_mem import startcache

    planned = None
    try:
        planned = startcache.plan(payload, settings)
        hit = startcache.lookup(store, *planned) if planned is not None else None
    except Exception as exc:  # a cache that cannot be read: render as without one
        log.error(f"SessionStart: reading the rendered context failed: {exc!r}")
        hit = None
    if hit is not None:
        output, items = hit
        return output, (items if output and settings.prompt_recall else []), None, True
    shown: list = []
    try:
        from claude_mem import context
        from claude_mem.store.memory import context_store_over

        output = context.session_start_output(payload, settings, context_store_over(store),
                                              shown=shown)
    except Exception as exc:  # context is a bonus; recording must still happen
        log.error(f"SessionStart: context failed: {exc!r}")
        return "", [], None, False
    return output, shown, planned, False


def run(name: str, raw: str, agent: str = CLAUDE_CODE) -> str:
    """Handle one hook call; returns what to print (possibly "")."""
    event = _BY_ANY_NAME.get(name) or _BY_ANY_NAME.get(name.lower())
    if event is None:
        log.error(f"unknown hook {name!r}")
        return ""
    if agent not in AGENTS:
        log.error(f"unknown agent {agent!r} for hook {name!r}")
        return ""
    if os.environ.get("CLAUDE_MEM_INTERNAL"):
        return ""  # the memory-maker's own Claude Code process: never remember it
    settings = config.load()
    log.warn_once(settings.problems)
    from claude_mem import project

    project_dir = os.environ.get("CLAUDE_PROJECT_DIR") or project.current_dir()
    if event == "SessionStart":
        if _refused(event, raw, settings, project_dir):
            return ""
        return session_start(raw, settings, agent, project_dir)
    if event == "UserPromptSubmit" and agent == CLAUDE_CODE:
        if _refused(event, raw, settings, project_dir):
            return ""
        output = prompt_through_inbox(raw, settings, project_dir)
        if output is not None:
            return output
    payload = capture_payload(event, raw, settings, project_dir)
    if payload is None:
        return ""
    if event == "UserPromptSubmit" and agent == CLAUDE_CODE and settings.prompt_recall:
        return user_prompt_submit(payload, settings, project_dir)
    enqueue(queue_event(agent, event), payload)
    return ""


def _refused(event: str, raw: str, settings, project_dir: str) -> bool:
    """Nothing to record: empty, not a JSON object, or a project opted out."""
    if not raw:
        log.warning(f"{event}: empty stdin, nothing to record")
        return True
    if not (raw.startswith("{") and raw.endswith("}")):
        log.warning(f"{event}: stdin is not a JSON object ({len(raw)} chars), ignored")
        return True
    from claude_mem import project

    return bool(project_dir and project.is_excluded(project_dir, settings.exclude_projects))


def capture_payload(event: str, raw: str, settings, project_dir: str) -> str | None:
    """What a hook queues for the text ``raw`` it read (cleaned: ``privacy``), or None when it
    records nothing (logged why). ``project_dir``: ``$CLAUDE_PROJECT_DIR``, else the hook's
    working directory. The worker's ``inbox`` runs the same function over what the shell
    hook saved, so both ways store the same row."""
    if _refused(event, raw, settings, project_dir):
        return None
    from claude_mem.privacy import clean_payload

    payload = clean_payload(raw, settings)
    if payload is None:
        log.warning(f"{event}: stdin is not valid JSON ({len(raw)} chars), ignored")
    return payload


def wake_worker() -> None:
    """``hook_entry.py --background wake-worker``: what ``capture.sh`` runs when the worker
    left right after it put a file in the inbox (the new worker's first pass takes it in)."""
    if os.environ.get("CLAUDE_MEM_INTERNAL"):
        return
    from claude_mem import wakeup

    if wakeup.poke():
        return
    from claude_mem import control

    try:
        config.ensure_data_dir()
        control.ensure_worker()
    except OSError as exc:
        log.error(f"could not wake or start the worker for the inbox ({exc})")


def user_prompt_submit(payload: str, settings, project_dir: str) -> str:
    """Look for earlier memory the (cleaned) prompt may be about (recall.py), then queue the
    prompt and record what recall showed in one write, on one connection; returns what to
    print ("" when nothing clears the floor, or when what it showed could not be recorded:
    recall must not repeat itself later in the session)."""
    store = None
    if os.path.exists(config.db_path()):
        try:
            from claude_mem.store.shown import open_recall_store

            store = open_recall_store(busy_timeout_ms=_HOOK_BUSY_TIMEOUT_MS)
        except Exception as exc:  # queue it on a connection of its own below
            log.error(f"UserPromptSubmit: cannot open the memory: {exc!r}")
    output, session, shown = "", "", []
    try:
        if store is not None:  # recall only reads (bounded queries, no lock), never raises
            from claude_mem import prompt_recall

            output, session = prompt_recall.recall_for(store, payload, settings, project_dir, shown)
        recorded = enqueue("UserPromptSubmit", payload, store, shown=(session, shown))
        return output if recorded else ""
    finally:
        if store is not None:
            _close(store)


def prompt_through_inbox(raw: str, settings, project_dir: str) -> str | None:
    """UserPromptSubmit with a worker running: the worker recalls for the prompt when it
    answers in time (``prompt_recall``), else recall reads the memory here; the prompt (as
    it came) and what recall showed go to the worker's inbox (``hook_inbox``), which cleans
    and queues them in one transaction. Returns what to print, or None when the worker is
    not there or the file could not be written: the caller then cleans and queues the
    prompt itself (``user_prompt_submit``), as before."""
    from claude_mem import hook_inbox, prompt_recall

    if hook_inbox.capture_set_in_environment():
        return None
    fifo = hook_inbox.worker_fifo()
    if fifo is None:
        return None
    try:
        output, session, shown = "", "", []
        if settings.prompt_recall and os.path.exists(config.db_path()):
            # The worker has all of recall warm: a socket round trip instead of loading
            # SQLite and the recall modules in this process (prompt_recall.py).
            answer = prompt_recall.ask(raw, settings, project_dir)
            if answer is not None:
                output, session, shown = answer
            else:
                output, session = _recall_here(raw, settings, project_dir, shown)
        received_at = _started_at or time.time()
        if hook_inbox.leave(fifo, "UserPromptSubmit", raw, project_dir,
                            (repr(received_at), session, hook_inbox.shown_words(shown))):
            return output
        return None
    finally:
        os.close(fifo)


def _recall_here(raw: str, settings, project_dir: str, shown: list) -> tuple[str, str]:
    """``prompt_recall.recall_for`` on a reader connection of this hook's own: the worker
    did not answer in time. ``("", "")`` when the memory cannot be opened."""
    from claude_mem import prompt_recall

    store = None
    try:
        from claude_mem.store.shown import open_recall_reader

        store = open_recall_reader(busy_timeout_ms=_HOOK_BUSY_TIMEOUT_MS)
        return prompt_recall.recall_for(store, prompt_recall.readable(raw, settings), settings,
                                        project_dir, shown)
    except Exception as exc:  # the memory cannot be opened: the prompt still goes
        log.error(f"UserPromptSubmit: recall failed: {exc!r}")
        return "", ""
    finally:
        if store is not None:
            _close(store)


def split_argv(argv: list[str]) -> tuple[str, str]:
    """``(agent, hook name)`` from ``[--agent AGENT] NAME`` (``--agent=AGENT`` too)."""
    agent = CLAUDE_CODE
    if argv and argv[0].startswith("--agent"):
        if argv[0] == "--agent":
            agent, argv = (argv[1] if len(argv) > 1 else ""), argv[2:]
        else:
            agent, argv = argv[0].partition("=")[2], argv[1:]
    return agent, (argv[0] if argv else "")


def main(argv: list[str] | None = None, started_at: float | None = None,
         leaving: bool = False) -> int:
    """Run the hook named in ``argv``; ``started_at``: when its process started (the
    event's time); ``leaving``: the process ends right after (``_close``)."""
    global _started_at, _leaving
    argv = sys.argv[1:] if argv is None else argv
    _started_at = started_at
    _leaving = leaving
    try:
        os.umask(0o077)
        agent, name = split_argv(argv)
        # Why capture.sh ran this hook instead of leaving the event in the inbox (popped: a
        # worker this hook starts must not inherit it).
        fallback = os.environ.pop("CLAUDE_MEM_CAPTURE_FALLBACK", "")
        if fallback:
            log.info(f"capture.sh ran the Python hook ({name}): {fallback[:200]}")
        if name == WAKE_WORKER:
            wake_worker()
            return 0
        output = run(name, read_stdin(), agent)
        if output:
            sys.stdout.write(output)
            sys.stdout.flush()
    except BaseException as exc:  # noqa: BLE001 - a hook must never break Claude Code
        try:
            import traceback

            log.error(f"hook {argv!r} failed: {exc!r}\n" + traceback.format_exc())
        except BaseException:
            pass
    return 0
