"""The hooks' side of the worker's inbox: the file format, and a Python hook leaving its event
there instead of writing SQLite itself (``inbox.py`` is the worker's side).

Why: the UserPromptSubmit hook runs before every prompt, and Claude Code waits for it. Its
one write (the prompt, and what prompt recall showed the session) used to be a write
transaction of its own after cleaning the prompt (``privacy``: its import alone is ~1 ms).
With a worker running, the hook now only reads (recall) and leaves the raw prompt in the
inbox, as ``capture.sh`` does for tool events; the worker cleans it with the very function
the hook would have used (``hooks.capture_payload``) and queues it, with what recall showed,
in one transaction (docs/architecture.md, "Capture in the background").

Contract:
- A file is ``<data dir>/inbox/<pid>-<n>.<Event>``, created only if new, 0600. Its content:
  ``HEADER``, then the header's fields, each ended by a NUL byte (``$CLAUDE_PROJECT_DIR``, the
  hook's working directory, and for an event in ``EXTRA_FIELDS`` that many more), then the
  hook's stdin as it came, then ``END``. A NUL byte is never in a JSON payload, nor in a field
  written here (a field that holds one is refused: the caller stores the event itself).
- UserPromptSubmit's extra fields: when the hook process started (the event's time, as
  ``repr`` of a float), the Claude Code session id, and what recall showed as
  ``kind:id`` words (``store.shown``; ``shown_words`` / ``shown_items``).
- SessionStart's (``hooks.start_through_inbox``: the worker handed the hook its rendered
  context, ``start_answer``): the same time and session id, what the context shows as its
  cache row keeps it (``start_row.format_shown``: ``kind:=`` is the context's text), and
  the output the hook printed (its text is recorded for recall: ``store.shown``).
  ``start_fields`` reads them back.
- ``CAPTURE_ENV``: settings that change what capture stores. Given in the environment they
  are the hook's own, while the worker reads only settings.json: such a hook stores its
  event itself (``capture.sh`` makes the same check).
- ``worker_fifo()``: the write end of the running worker's wake-up FIFO, or None when no
  worker reads it, or it is one from before prompts went through the inbox (no
  ``PROMPTS_MARK``): then the hook writes SQLite itself (and starts a worker if none runs).
- ``leave(fifo, event, text, project_dir, extra)``: writes the whole file in one piece, then
  wakes the worker; True once the file is complete. False, and no file left behind, when it
  could not be written whole: the caller then stores the event itself. A worker that left
  in between (the wake-up finds no reader) is started again (``control``); its first pass
  takes the file in.
- ``shown_waiting(session)``: what the prompts and starts of ``session`` whose files still
  wait in the inbox showed, ``(kind, id)`` items; ``context_waiting(session)`` the text of
  such a start's context (recall must not repeat either before the worker has recorded it).
- Hook path: ``os`` only (``control`` only when the worker has just left).
"""
import os

HEADER = b"claude-mem inbox 1\n"
END = b"\0claude-mem end\n"
# In the inbox while a worker that takes prompts in runs (``inbox.make``; an older worker
# would move a prompt's file aside as not an event of its own).
PROMPTS_MARK = ".takes-prompts"
# How many header fields an event's file has beyond the two folders.
EXTRA_FIELDS = {"UserPromptSubmit": 3, "SessionStart": 4}
CAPTURE_ENV = ("CLAUDE_MEM_EXCLUDE_PROJECTS", "CLAUDE_MEM_MAX_PAYLOAD_BYTES",
               "CLAUDE_MEM_MAX_TOOL_OUTPUT_CHARS")
# Names tried per process before giving up (another process with this pid left files).
_NAMES_PER_PID = 64
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


def worker_fifo() -> int | None:
    """An open write end of the worker's wake-up FIFO when a worker that takes prompts in
    reads it, else None."""
    from claude_mem import config, wakeup

    if not os.path.exists(os.path.join(config.inbox_dir(), PROMPTS_MARK)):
        return None
    return wakeup.open_fifo()


def capture_set_in_environment() -> bool:
    return any(name in os.environ for name in CAPTURE_ENV)


def leave(fifo: int, event: str, text: str, project_dir: str, extra: tuple = ()) -> bool:
    """Put the event in the inbox and wake the worker (see the module contract)."""
    from claude_mem import config

    if len(extra) != EXTRA_FIELDS.get(event, 0) or any("\0" in field for field in extra):
        return False
    try:
        here = os.getcwd()
    except OSError:  # deleted: the worker looks the project up from project_dir alone
        here = ""
    try:
        content = b"".join((HEADER, *(os.fsencode(f) + b"\0" for f in (project_dir, here)),
                            *(f.encode("utf-8") + b"\0" for f in extra),
                            text.encode("utf-8", "backslashreplace"), END))
    except (UnicodeError, ValueError):
        return False
    folder = config.inbox_dir()
    for n in range(_NAMES_PER_PID):
        path = os.path.join(folder, f"{os.getpid()}-{n}.{event}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
        except FileExistsError:
            continue
        except OSError:
            return False
        break
    else:
        return False
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
    except OSError:  # the disk is full? leave nothing half-written: the hook stores it itself
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        return False
    os.close(fd)
    from claude_mem import wakeup

    if wakeup.send(fifo, b"w"):
        return True
    from claude_mem import control  # the worker left after we looked: a new one takes it in

    try:
        control.ensure_worker()
    except OSError as exc:
        from claude_mem import log

        log.error(f"{event}: left in the inbox, but could not start the worker ({exc})")
    return True


def prompt_fields(extra: list[str]):
    """``(received_at or None, (session, [(kind, id), ...]) or None)`` from a prompt file's
    extra fields: when its hook started, and what its recall showed."""
    try:
        received_at = float(extra[0])
    except ValueError:
        received_at = None
    items = shown_items(extra[2])
    return received_at, ((extra[1], items) if extra[1] and items else None)


def shown_words(items) -> str:
    """What recall showed, ``[(kind, id), ...]``, as the ``kind:id`` words of a prompt file."""
    return " ".join(f"{kind}:{item}" for kind, item in items)


def shown_items(words: str) -> list:
    """``shown_words`` read back: ``[(kind, id), ...]``, a numeric id as an int."""
    items = []
    for word in words.split():
        kind, _, item = word.partition(":")
        if kind and item:
            items.append((kind, int(item) if item.isdigit() else item))
    return items


def start_fields(extra: list[str]):
    """``(received_at or None, session, [(kind, item), ...])`` from a SessionStart file's
    extra fields (an item of kind ``store.shown.CONTEXT_TEXT`` holds the context's text);
    ValueError when what it showed cannot be read back from them."""
    from claude_mem import start_row

    try:
        received_at = float(extra[0])
    except ValueError:
        received_at = None
    if not extra[2]:
        return received_at, extra[1], []
    body = start_row.start_text(extra[3])
    items = start_row.parse_shown(extra[2], body) if body is not None else None
    if items is None:
        raise ValueError("a SessionStart file whose shown items do not match its output")
    return received_at, extra[1], items


class Unfinished(ValueError):
    """The file has no end mark (yet)."""


def open_whole(path: str, event: str) -> tuple[int, int, list[bytes], int]:
    """``(fd, size, the header's fields, where the payload starts)`` of an inbox file, opened
    without moving its access time (the event's time: ``inbox.take_in``); the caller closes
    ``fd``. Raises ``Unfinished`` before its end mark is written, ValueError for what is not
    one, OSError as ``os.open`` does (nothing is left open then)."""
    flags = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | _NOATIME)
    except PermissionError:  # O_NOATIME on a file not ours: not allowed
        fd = os.open(path, flags)
    try:
        size = os.fstat(fd).st_size
        if size < len(HEADER) + len(END) or os.pread(fd, len(END), size - len(END)) != END:
            raise Unfinished("no end mark")
        count = 2 + EXTRA_FIELDS.get(event, 0)
        head = os.pread(fd, len(HEADER) + (count + 1) * 65536, 0)
        if not head.startswith(HEADER):
            raise ValueError("no inbox header")
        fields = head[len(HEADER):].split(b"\0", count)
        if len(fields) <= count:
            raise ValueError("the header's fields are cut")
        start = len(HEADER) + sum(len(f) + 1 for f in fields[:count])
        if start > size - len(END):
            raise ValueError("the header runs into the end mark")
    except BaseException:
        os.close(fd)
        raise
    return fd, size, fields[:count], start


def shown_waiting(session: str) -> set:
    """What prompts and starts of ``session`` still waiting in the inbox showed, but a
    start context's text (see the contract)."""
    found: set = set()
    for kind, item in _waiting_items(session):
        if kind != _CONTEXT_TEXT:
            found.add((kind, item))
    return found


def context_waiting(session: str) -> str:
    """The text of the start contexts of ``session`` whose files still wait, a line apart."""
    return "\n".join(item for kind, item in _waiting_items(session) if kind == _CONTEXT_TEXT)


# ``store.shown.CONTEXT_TEXT`` (not imported: that module imports the SQLite driver).
_CONTEXT_TEXT = "context-text"


def _waiting_items(session: str) -> list:
    from claude_mem import config

    found: list = []
    folder = config.inbox_dir()
    try:
        names = sorted(n for n in os.listdir(folder)
                       if n.endswith((".UserPromptSubmit", ".SessionStart")))
    except OSError:
        return found
    for name in names:
        event = name.rpartition(".")[2]
        try:
            fd, _, fields, _ = open_whole(os.path.join(folder, name), event)
            os.close(fd)
            if fields[3].decode("utf-8", "replace") != session:
                continue  # another session's (its session id is the second extra field)
            extra = [f.decode("utf-8", "replace") for f in fields[2:]]
            if event == "SessionStart":
                _, owner, items = start_fields(extra)
            else:
                _, showed = prompt_fields(extra)
                owner, items = showed or ("", [])
        except (OSError, ValueError):  # taken in meanwhile (its rows are in the database
            continue                   # by now), or not whole yet, or not one
        if owner == session:
            found.extend(items)
    return found
