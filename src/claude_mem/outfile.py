"""Writing a file a person named (``claude-mem export -o PATH``), privately and safely.

Contract: ``write_private(path, write)`` calls ``write(text_file)`` to produce the content
and returns ``{"path", "bytes", "how"}``:
- absent or a regular file (``how`` "created"/"replaced"): the content goes to a new temp
  file next to the target, created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600
  under a random name (nobody can pre-create it, or read it through a name they made),
  flushed to disk, then renamed over the target: the target is either the old file or the
  whole new one, and is private from its first byte;
- a FIFO or a character device (``/dev/null``, a terminal, ``/dev/full``; ``how``
  "straight"): written straight, never replaced by a regular file;
- a folder, a block device, a socket, or a symlink someone else owns: refused.
``write_stdout(write)`` writes to standard output. Every failure (a missing folder, a full
disk, no permission) raises ``OutputError`` with one sentence; a half-written temp file is
removed and the old target is left as it was.
"""
from __future__ import annotations

import os
import stat
import sys


class OutputError(Exception):
    """The file could not be written; the message says why, for a person."""


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def write_stdout(write) -> None:
    try:
        write(sys.stdout)
        sys.stdout.flush()
    except OSError as exc:
        # What is still buffered cannot be written either: drop it, so the interpreter's
        # exit does not try again and print a second error.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        raise OutputError(f"cannot write to standard output: {_why(exc)}") from None


def write_private(path: str, write) -> dict:
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_why(exc)}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        if info.st_uid != os.geteuid():
            raise OutputError(f"{path} is a symbolic link owned by someone else; "
                              "name the file itself")
        target = os.path.realpath(path)
        if os.path.islink(target):  # a loop: realpath gives up and hands back a link
            raise OutputError(f"{path} is a symbolic link that leads nowhere (a loop)")
        return write_private(target, write)
    if info is not None and (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
        return _write_straight(path, write)
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise OutputError(f"{path} is {kind}; name a file to write")
    if not os.path.isdir(folder):
        raise OutputError(f"no such folder: {folder}")
    return _write_replacing(path, folder, write, existed=info is not None)


def _write_replacing(path: str, folder: str, write, existed: bool) -> dict:
    import secrets

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    for _ in range(20):
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o600)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write in {folder}: {_why(exc)}") from None
    else:
        raise OutputError(f"cannot make a temporary file in {folder}")
    try:
        os.fchmod(fd, 0o600)  # whatever the umask did
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        size = os.path.getsize(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        kept = f" ({path} was left as it was)" if existed else ""
        raise OutputError(f"cannot write {path}: {_why(exc)}{kept}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return {"path": path, "bytes": size, "how": "replaced" if existed else "created"}


def _write_straight(path: str, write) -> dict:
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_why(exc)}") from None
    out = _Counting(os.fdopen(fd, "w", encoding="utf-8"))
    try:
        write(out)
        out.file.flush()
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_why(exc)}") from None
    finally:
        try:
            out.file.close()
        except OSError:
            pass
    return {"path": path, "bytes": out.count, "how": "straight"}


class _Counting:
    """A text file that counts the bytes written through it (a FIFO has no size to ask)."""

    def __init__(self, file):
        self.file = file
        self.count = 0

    def write(self, text: str) -> int:
        self.count += len(text.encode("utf-8", "replace"))
        return self.file.write(text)
