"""A tiny append-only log file shared by hooks, the worker and the CLI.

Contract: ``log(level, message)`` appends one line to ``<data dir>/logs/claude-mem.log``
and never raises; when that file cannot be written the line goes to stderr instead. It
exists instead of the ``logging`` package because hooks pay for every import (``logging``
pulls in ``re``, ``traceback``, ``threading``...). The file is rotated once it passes
``MAX_BYTES`` (one ``.1`` generation is kept). It makes the ``logs`` folder inside an
existing data dir but never the data dir itself: a worker whose data dir was removed (a
test's or a bench's throwaway one) says why it leaves on stderr instead of leaving a new
``<data dir>/logs`` behind.
"""

import os
import time

from claude_mem import config

MAX_BYTES = 5_000_000


def log(level: str, message: str) -> None:
    try:
        path = config.log_path()
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            try:
                os.mkdir(folder, 0o700)  # FileNotFoundError when the data dir is gone
            except FileExistsError:  # another process made it first
                pass
        try:
            if os.path.getsize(path) > MAX_BYTES:
                os.replace(path, path + ".1")
        except OSError:
            pass
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
        line = f"{stamp} {level.upper():5} pid={os.getpid()} {message}\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except Exception as exc:  # a log line is never worth breaking the caller for
        # The log lives in the data dir, so a full disk or a read-only or missing data dir
        # silences it exactly when it matters: say it on stderr instead (a hook's stderr
        # shows in Claude Code's debug output; the worker's goes to /dev/null).
        try:
            os.write(2, f"claude-mem {level.upper()}: {message} (log file unwritable: {exc})\n"
                     .encode("utf-8", "replace"))
        except Exception:
            pass


def info(message: str) -> None:
    log("info", message)


def warning(message: str) -> None:
    log("warn", message)


def error(message: str) -> None:
    log("error", message)


def warn_once(problems: list[str]) -> None:
    """Log settings problems once per distinct set, not on every hook call that meets them."""
    if not problems:
        return
    text = "\n".join(problems)
    marker = os.path.join(os.path.dirname(config.log_path()), ".settings-warned")
    try:
        with open(marker, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except OSError:
        pass
    for problem in problems:
        warning(f"settings: {problem}")
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except OSError:
        pass


def tail(lines: int = 20, level: str | None = None) -> list[str]:
    """The last ``lines`` log lines (optionally only one level), oldest first."""
    try:
        with open(config.log_path(), encoding="utf-8", errors="replace") as fh:
            content = fh.readlines()
    except OSError:
        return []
    if level:
        tag = f" {level.upper():5} "
        content = [line for line in content if tag in line]
    return [line.rstrip("\n") for line in content[-lines:]]
