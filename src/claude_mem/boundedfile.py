"""Reading files nobody vetted: regular files only, bounded in size, time and depth.

Contract: every file the CLI opens on someone's say-so (the three importers' inputs, the
settings file, Claude Code's settings) is read through here.

- ``open_regular(path)`` opens without blocking (``O_NONBLOCK``, so a FIFO cannot hang the
  open) and keeps the file only when ``fstat`` says it is a regular file; a FIFO, a socket,
  a device (``/dev/zero`` or a symlink to it) or a folder raises ``NotRegular``, whose
  message says what the path is. A file over ``max_bytes`` raises ``TooLarge``.
- ``read_bytes``/``read_text`` read at most ``max_bytes`` (a file that grows while read is
  cut there and refused) within ``seconds`` (``TooSlow``: a network file system that
  stalls). ``-`` is standard input, which may be a pipe but is bounded the same way.
- ``read_json(path)`` parses with ``boundedjson``: a value nested deeper than its limit is
  replaced by a marker (only that value is lost, not the file); lone surrogates become
  U+FFFD; not JSON raises ``Unreadable``.
- ``json_lines(path)`` yields ``(line number, value or None, problem or None)`` for a JSON
  Lines file: a line that is too long, not JSON or too deep costs that line (or that
  value), never the file.
- ``open_text(path)`` is ``open_regular`` as UTF-8 text, for a caller that reads a few lines.
- ``check_regular(path)`` says why a path found in a folder walk must be skipped ("" when
  it may be read), without opening it.
- Every refusal is a ``Refused`` (a ``ValueError``) with one readable sentence.

Standard library only (``os``, ``stat``, ``time``); ``boundedjson`` (and through it ``json``)
is imported when JSON is parsed: ``config.load`` on the hook path pays for nothing else.
"""
import os
import stat
import time

MAX_FILE_BYTES = 64 << 20         # settings and other small files
MAX_LINE_BYTES = 64 << 20         # one JSON Lines entry (a tool output can be large)
READ_SECONDS = 120.0              # a whole file; only a stalled network mount gets near
_CHUNK = 1 << 20


class Refused(ValueError):
    """The file cannot be read safely; the message says why, for a person."""


class NotRegular(Refused):
    pass


class TooLarge(Refused):
    pass


class TooSlow(Refused):
    pass


class Unreadable(Refused):
    pass


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(path: str) -> str:
    """"" when ``path`` (after symlinks) is a regular file, else why it is skipped."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return ""
    return f"{_kind(mode)}, not a regular file: skipped"


def open_regular(path: str, max_bytes: int | None = MAX_FILE_BYTES):
    """An unbuffered binary file object for the regular file at ``path`` (see the contract)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_NOCTTY", 0))
    except IsADirectoryError:
        raise NotRegular(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise Unreadable(f"{path} cannot be opened ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(f"{path} is {_kind(info.st_mode)}, not a regular file; "
                             "nothing was read from it")
        if max_bytes is not None and info.st_size > max_bytes:
            raise TooLarge(f"{path} holds {info.st_size:,} bytes, more than the "
                           f"{max_bytes:,} this reads")
        # O_NONBLOCK stays: reads of a regular file ignore it (they never block anyway).
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def open_text(path: str, max_bytes: int | None = None):
    """``open_regular`` as UTF-8 text (undecodable bytes replaced), for reading line by line."""
    import io

    return io.TextIOWrapper(io.BufferedReader(open_regular(path, max_bytes)), encoding="utf-8",
                            errors="replace")


def _read_all(fh, name: str, max_bytes: int | None, seconds: float, first=None) -> bytes:
    deadline = time.monotonic() + seconds
    parts, total = [], 0
    while True:
        chunk = fh.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        if first is not None and not parts:
            first(chunk, name)  # refuses what cannot be the expected kind of file, early
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise TooLarge(f"{name} holds more than the {max_bytes:,} bytes this reads")
        parts.append(chunk)
        if time.monotonic() > deadline:
            raise TooSlow(f"{name} was still being read after {seconds:g} s; gave up")


def read_bytes(path: str, max_bytes: int | None = MAX_FILE_BYTES,
               seconds: float = READ_SECONDS, first=None) -> bytes:
    """The whole file (``-``: standard input), bounded as the contract says."""
    if path == "-":
        import sys

        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise Unreadable("standard input is closed")
        try:
            if os.isatty(stream.fileno()):
                raise Unreadable("standard input is a terminal: pipe a file into it, or name one")
        except (OSError, ValueError, AttributeError):
            pass
        return _read_all(stream, "standard input", max_bytes, seconds, first)
    with open_regular(path, max_bytes) as fh:
        return _read_all(fh, path, max_bytes, seconds, first)


def read_text(path: str, max_bytes: int | None = MAX_FILE_BYTES,
              seconds: float = READ_SECONDS, first=None) -> str:
    data = read_bytes(path, max_bytes, seconds, first)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        name = "standard input" if path == "-" else path
        raise Unreadable(f"{name} is not UTF-8 text (byte {exc.start})") from None


def loads(text: str, name: str = "the input"):
    """JSON text as a value, depth cut per value (``boundedjson``); ``Unreadable`` if not JSON."""
    from claude_mem import boundedjson

    try:
        return boundedjson.loads(text)
    except ValueError as exc:
        raise Unreadable(f"{name} is not JSON ({str(exc)[:120]})") from None


def read_json(path: str, max_bytes: int | None = MAX_FILE_BYTES, seconds: float = READ_SECONDS):
    """The JSON value in a file (``-``: standard input), bounded as the contract says."""
    text = read_text(path, max_bytes, seconds, first=_json_start)
    return loads(text, "standard input" if path == "-" else path)


def _json_start(chunk: bytes, name: str) -> None:
    """Binary junk, /dev/zero piped in: refused at its first chunk, not after gigabytes."""
    start = chunk.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    if start not in (b"{", b"[", b""):
        raise Unreadable(f"{name} is not a JSON document (it starts with {chunk[:12]!r})")


def json_lines(path: str, max_line_bytes: int = MAX_LINE_BYTES, seconds: float | None = None,
               skip=None, counter=None):
    """Each line of a JSON Lines file as ``(number, value, problem)``.

    ``value`` is the parsed line (deep values cut to a marker) or None with ``problem`` saying
    why the line was left out. ``skip(line_bytes)`` may return True for lines not worth
    parsing (they yield nothing). ``counter`` (a two-item list) receives the bytes read and
    the count of non-blank lines so far (skipped ones included).
    """
    deadline = time.monotonic() + seconds if seconds else None
    with open_regular(path, max_bytes=None) as raw:
        import io

        fh = io.BufferedReader(raw, 1 << 16)
        number = 0
        while True:
            line = fh.readline(max_line_bytes + 1)
            if not line:
                return
            number += 1
            if counter is not None:
                counter[0] += len(line)
            if deadline is not None and time.monotonic() > deadline:
                raise TooSlow(f"{path} was still being read after {seconds:g} s; gave up")
            if len(line) > max_line_bytes and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # drop the rest of it
                    line = fh.readline(1 << 20)
                    if counter is not None:
                        counter[0] += len(line)
                yield number, None, f"longer than {max_line_bytes} bytes"
                continue
            if not line.strip():
                continue
            if counter is not None:
                counter[1] += 1
            if skip is not None and skip(line):
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 (byte {exc.start})"
                continue
            try:
                yield number, _line_value(line, text), None
            except ValueError as exc:
                yield number, None, f"not JSON ({str(exc)[:80]})"


def _line_value(line: bytes, text: str):
    """One line's value, deep containers cut and lone surrogates repaired.

    ``text`` was decoded strictly from ``line``, so a lone surrogate can only come from a
    ``\\ud…`` escape, and the line can only nest as deep as it has brackets: both are
    checked on the bytes (cheap), and only such lines are walked.
    """
    import json

    from claude_mem import boundedjson

    try:
        value = json.loads(text)
    except RecursionError:
        return boundedjson.loads(text)  # deeper than the C parser goes: cut on the text
    if b"\\ud" in line or b"\\uD" in line \
            or line.count(b"[") + line.count(b"{") > boundedjson.MAX_DEPTH:
        value = boundedjson.bound(value)
    return value
