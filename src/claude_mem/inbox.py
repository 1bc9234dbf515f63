"""The inbox: capture events the shell hook (``capture.sh``) left as files, taken in by the worker.

Why: a capture hook that starts a Python interpreter costs ~20 ms of CPU per tool call, on
the cores Claude Code itself runs on; ``capture.sh`` copies the payload into a file with
``cat`` (~2-3 ms) and the worker, already running, does what the hook would have
done (docs/architecture.md, "Capture in the background").

Contract:
- A file is ``<data dir>/inbox/<pid>-<n>.<Event>`` (``Event``: PostToolUse,
  PostToolUseFailure, Stop, SessionEnd from ``capture.sh``; UserPromptSubmit and
  SessionStart from the Python hook, ``hooks.prompt_through_inbox`` and
  ``start_through_inbox``), 0600 in a 0700 folder, in the format ``hook_inbox`` owns:
  ``HEADER``, ``$CLAUDE_PROJECT_DIR`` and the hook's working directory (and a prompt's extra
  fields) each ended by a NUL byte, the hook's stdin as it came, ``END``. A file without
  ``END`` is still being written and waits; one without it after ``UNFINISHED_SECONDS`` (its
  hook was killed, the disk was full) goes to ``inbox/bad``.
- ``take_in(store)`` (the drain, each pass) queues the files oldest first: the text is read
  like stdin (``hooks.read_all``) and made into a row by ``hooks.capture_payload`` with the
  settings of settings.json (``capture.sh`` leaves any capture setting given in its
  environment to the Python hook), so a row is the one the Python hook would have stored.
- Its time (``received_at``) is when its hook created the file, before it read stdin: the
  file's access time, which writing never changes and the worker's reads leave alone
  (``O_NOATIME``); the modification time when that is earlier (something else read the
  file). Not the modification time alone: that is when the hook *finished*, and a hook
  descheduled in its ``cat`` would be timed after the events that followed it. The kernel
  keeps these times to a few milliseconds: files of the same moment keep the order of their
  writers' pids, and a tool event never sorts after a queued Stop of its own request
  (``_before_their_stop``: Claude Code fires a request's Stop only after its tool calls'
  hooks). A prompt's file says when its hook started (its time) and what its recall showed
  the session, which is recorded (``store.shown``) in the same transaction as the prompt.
  A SessionStart's file (``hooks.start_through_inbox``) says the same of the context the
  worker handed its hook; as that hook would have, it queues no event for a session the
  memory does not hold yet, only what was shown. Its bytes are overwritten before it is
  removed (the context is memory text).
- In order: a file still being written holds back every file created after it (for at most
  ``HOLD_SECONDS``, then it is a late arrival, which the handlers still put in its place by
  time), so the worker never takes an event before one that began earlier.
- A file is removed only after its row is committed; a worker killed in between finds the
  row queued and does not queue it twice. A file whose payload held something to clean
  (``privacy.needs_cleaning``) is overwritten before it is removed. An unreadable file goes
  to ``inbox/bad``.
- ``make()`` creates the folder (the worker, at start): until then ``capture.sh`` hands
  every event to the Python hook. It also leaves ``PROMPTS_MARK`` there, which the worker
  removes when it leaves (``unmake``): a prompt goes to the inbox only while a worker that
  takes prompts in runs (one from before would move the file to ``inbox/bad``).
Worker side only: nothing here runs in a hook.
"""
from __future__ import annotations

import os
import re
import time

from claude_mem import config, log

from claude_mem.hook_inbox import (END, PROMPTS_MARK, Unfinished, open_whole, prompt_fields,
                                   start_fields)

# A hook writes its file in milliseconds: one still without its end mark this long after its
# last write will never get it.
UNFINISHED_SECONDS = 60.0
# A file still being written holds back the files created after it this long at most (a
# hook writes its file in milliseconds; one slower than this was descheduled or is stuck).
HOLD_SECONDS = 2.0
EVENTS = ("PostToolUse", "PostToolUseFailure", "Stop", "SessionEnd", "UserPromptSubmit")
# Every kind of file taken in: a SessionStart's comes only from the Python hook, with what the
# worker handed it (``hooks.start_through_inbox``), never from ``capture.sh``.
TAKEN = EVENTS + ("SessionStart",)
_TOOL_EVENTS = ("PostToolUse", "PostToolUseFailure")
# Files taken in per write transaction (the lock budget: ~0.05 ms an insert).
_BATCH = 100
_NAME = re.compile(r"(\d+)-(\d+)\.([A-Za-z]+)")
_KEY = re.compile(r'"(session_id|prompt_id)"\s*:\s*"([^"\\]{1,200})"')


def make() -> None:
    """The folder, and the mark that says this worker takes prompts in (``PROMPTS_MARK``)."""
    os.makedirs(config.inbox_dir(), mode=0o700, exist_ok=True)
    os.close(os.open(os.path.join(config.inbox_dir(), PROMPTS_MARK),
                     os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600))


def unmake() -> None:
    """The leaving worker's part: the next worker may be an older one."""
    try:
        os.unlink(os.path.join(config.inbox_dir(), PROMPTS_MARK))
    except OSError:
        pass


def waiting() -> list[str]:
    """The names of the files waiting (not the temp files being written)."""
    try:
        return [n for n in os.listdir(config.inbox_dir()) if not n.startswith(".") and n != "bad"]
    except OSError:
        return []


def take_in(store) -> int:
    """Queue up to ``_BATCH`` waiting files, oldest first; returns how many were handled."""
    names = waiting()
    if not names:
        return 0
    folder = config.inbox_dir()
    found = []
    for name in names:
        path = os.path.join(folder, name)
        match = _NAME.fullmatch(name)
        try:
            if match is None or match.group(3) not in TAKEN:
                raise ValueError("not an inbox file's name")
            st = os.stat(path)
            found.append((min(st.st_atime_ns, st.st_mtime_ns), int(match.group(1)),
                          int(match.group(2)), match.group(3), path, st.st_mtime_ns))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            _quarantine(folder, name, exc)
    found.sort()
    found = found[:_BATCH]
    if not found:
        return 0
    from claude_mem import hooks, privacy

    # settings.json as it is now, without this process's environment: capture.sh ran the
    # Python hook instead whenever its own environment set a capture setting.
    settings = config.load(environ={})
    rows, taken, scrub, shown = [], [], set(), []
    now = time.time()
    for created_ns, _pid, _n, event, path, mtime_ns in found:
        try:
            raw, project_dir, extra = read(path, event)
            if event == "SessionStart":
                received_at, session, items = start_fields(extra)
                showed = (session, items) if session and items else None
            else:
                received_at, showed = prompt_fields(extra) if extra else (None, None)
        except FileNotFoundError:
            continue
        except Unfinished as exc:
            if now - mtime_ns / 1e9 > UNFINISHED_SECONDS:
                _quarantine(folder, os.path.basename(path), exc)
                taken.append(None)
                continue
            if now - created_ns / 1e9 < HOLD_SECONDS:
                break  # its hook is still writing it: it and the files after it, next pass
            continue  # a slow one: a later pass takes it, late (the handlers order by time)
        except (OSError, ValueError) as exc:
            _quarantine(folder, os.path.basename(path), exc)
            taken.append(None)
            continue
        taken.append(path)
        at = received_at or created_ns / 1e9
        if event == "SessionStart":
            scrub.add(path)  # it holds the context it printed: memory text
            if session and not store.knows_session(session):
                # As ``hooks.session_start``: nothing for the worker to do with the start of
                # a session it does not hold, so only what it showed is written.
                if showed:
                    shown.append((showed[0], showed[1], at))
                continue
        elif privacy.needs_cleaning(raw):
            scrub.add(path)
        payload = hooks.capture_payload(event, raw, settings, project_dir)
        if payload is not None:
            rows.append([event, payload, at])
            if showed:
                shown.append((showed[0], showed[1], at))
    _before_their_stop(store, rows)
    with store.write():  # the prompt and what recall showed for it: one unit
        store.enqueue_taken([tuple(row) for row in rows])
        for session, items, at in shown:
            store.record_shown(session, items, at)
    for path in taken:
        if path is not None:
            _remove(path, path in scrub)
    return len(taken)


def read(path: str, event: str = "") -> tuple[str, str, list[str]]:
    """``(the hook's text, the folder its project is looked up from, the event's extra
    header fields)`` of an inbox file; raises ``Unfinished`` before its end mark is
    written, ValueError for what is not one."""
    fd, size, fields, start = open_whole(path, event)  # its access time stays the event's
    try:
        project_dir, cwd = (os.fsdecode(f) for f in fields[:2])
        extra = [f.decode("utf-8", "replace") for f in fields[2:]]
        os.lseek(fd, start, os.SEEK_SET)
        from claude_mem import hooks

        return hooks.read_all(fd, size - len(END) - start), project_dir or cwd, extra
    finally:
        os.close(fd)


def _before_their_stop(store, rows: list) -> None:
    """A tool event timed after a queued Stop of its own request is moved just before it.

    Modification times are coarse (a few ms), and under load a tool hook's ``cat`` may finish
    after the next Stop hook's: left as they are, the Stop would be taken first, and the
    summary gate would hold it until the transcript stood in for the tool event (5 s)."""
    keyed = {}
    for row in rows:
        if row[0] in _TOOL_EVENTS or row[0] == "Stop":
            key = _request_key(row[1])
            if key is not None:
                keyed[id(row)] = key
    if not any(row[0] in _TOOL_EVENTS for row in rows if id(row) in keyed):
        return
    stops: dict = {}
    for at, payload in store.pending_stops():
        key = _request_key(payload)
        if key is not None:
            stops[key] = min(at, stops.get(key, at))
    for row in rows:
        if row[0] == "Stop" and id(row) in keyed:
            key = keyed[id(row)]
            stops[key] = min(row[2], stops.get(key, row[2]))
    late: dict = {}
    for row in rows:
        key = keyed.get(id(row))
        if row[0] in _TOOL_EVENTS and key in stops and row[2] >= stops[key]:
            late.setdefault(key, []).append(row)
    for key, moved in late.items():
        for i, row in enumerate(moved):
            row[2] = stops[key] - (len(moved) - i) * 1e-6


def _request_key(payload: str):
    """``(session_id, prompt_id)`` of a Claude Code payload, None when either is missing."""
    found = {}
    for match in _KEY.finditer(payload[:1_000_000]):
        found.setdefault(match.group(1), match.group(2))
        if len(found) == 2:
            return found["session_id"], found["prompt_id"]
    return None


def _remove(path: str, scrub: bool) -> None:
    try:
        if scrub:  # what the hook read held a secret to clean: its bytes go first
            size = os.stat(path).st_size
            with open(path, "r+b") as fh:
                fh.write(b"\0" * size)
                fh.flush()
        os.unlink(path)
    except OSError as exc:
        log.error(f"inbox file {os.path.basename(path)} queued but not removed ({exc})")


def _quarantine(folder: str, name: str, why) -> None:
    """Keep a file that is not an event for a person to look at, out of the way."""
    log.error(f"inbox file {name} unreadable ({why!r}); moved to inbox/bad")
    try:
        os.makedirs(os.path.join(folder, "bad"), mode=0o700, exist_ok=True)
        os.replace(os.path.join(folder, name), os.path.join(folder, "bad", name))
    except OSError as exc:
        log.error(f"inbox file {name}: cannot move it aside ({exc})")
