"""Checking and cleaning one copied record before it is stored (``import json``,
``import claude-mem-db``).

Contract:
- Every text that reaches the store goes through ``text()``, which runs capture's own
  privacy path (``privacy.needs_cleaning`` then ``privacy.clean_text``: ``<private>`` text
  dropped, secrets redacted) and repairs lone surrogates; lists of texts through ``texts()``.
  A copied memory is stored exactly as if it had been captured here.
- ``whole()``, ``moment()`` and ``choice()`` turn a field into what the store accepts or
  raise ``BadRecord`` with a sentence naming the field: an id of 2**70, a time that is not a
  number, a list where text belongs. The importers check a record whole before they write
  any of it, so a bad record is skipped and reported, never half-stored.
- ``problem(where, exc)`` words an unexpected failure (a bug, a database error) for the
  report, without a traceback.
"""
from __future__ import annotations

import math

SQLITE_MAX = 2**63 - 1
MAX_EPOCH = 1e11          # past this a time is in milliseconds (the original's *_epoch)
MAX_TEXT = 1_000_000      # one stored text; the store's own columns never need more


class BadRecord(ValueError):
    """A record that cannot be stored as it is; the message names the field."""


def text(value, field: str = "text", *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """``value`` as clean text: privacy applied, surrogates repaired, at most ``limit`` chars."""
    from claude_mem import privacy

    if value is None or value == "":
        if required:
            raise BadRecord(f"{field} is missing")
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadRecord(f"{field} must be text, not {type(value).__name__}")
    value = str(value)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: what SQLite and files cannot hold
            value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if privacy.needs_cleaning(value):
        value = privacy.clean_text(value)
    if len(value) > limit:
        value = privacy.cut(value, limit)
    return value


def optional_text(value, field: str) -> str | None:
    return None if value is None else text(value, field)


def texts(value, field: str) -> list[str]:
    """A list of clean texts (file names, facts, concepts); a lone text is a list of one."""
    if value is None or value == "":
        return []
    if isinstance(value, (str, bytes)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise BadRecord(f"{field} must be a list of texts, not {type(value).__name__}")
    out = []
    for item in value:
        if item is None or isinstance(item, (list, dict)):
            continue  # an odd item costs itself, not the record
        cleaned = text(item, field)
        if cleaned:
            out.append(cleaned)
    return out


def whole(value, field: str, *, low: int = -SQLITE_MAX, high: int = SQLITE_MAX,
          required: bool = True) -> int | None:
    """An integer SQLite can hold within ``[low, high]``; None when absent and not required."""
    if value is None or value == "":
        if required:
            raise BadRecord(f"{field} is missing")
        return None
    number = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 40:
        number = int(value.strip())
    if number is None:
        raise BadRecord(f"{field} must be a whole number, not {_shown(value)}")
    if not low <= number <= high:
        raise BadRecord(f"{field} {_shown(number)} is out of range ({low} to {high})")
    return number


def moment(value, field: str, *, required: bool = True) -> float | None:
    """A time in epoch seconds (milliseconds are recognised); None when absent and allowed."""
    if value is None or value == "":
        if required:
            raise BadRecord(f"{field} is missing")
        return None
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        raise BadRecord(f"{field} must be a time in seconds, not {_shown(value)}")
    if number > MAX_EPOCH:
        number /= 1000.0
    if number > MAX_EPOCH:
        raise BadRecord(f"{field} {_shown(value)} is not a time")
    return number


def choice(value, field: str, allowed: tuple, default: str) -> str:
    value = value if isinstance(value, str) else ""
    return value if value in allowed else default


def _shown(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def problem(where: str, exc: BaseException) -> str:
    """One report line for a record skipped because of ``exc``."""
    if isinstance(exc, BadRecord):
        return f"{where}: {exc}"
    return f"{where}: could not be stored ({type(exc).__name__}: {str(exc)[:160]})"
