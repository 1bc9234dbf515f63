"""What a viewer request may carry: bounded parameters, and the two refusals routes raise.

Contract: ``parse_query(text)`` gives each query parameter's last value, refusing more than
20 parameters, a value over ``MAX_PARAM_CHARS`` (``MAX_QUERY_CHARS`` for the search text
``q``) or a NUL; ``whole_number``, ``record_id`` and ``moment`` read one value within its
range. A bad value raises ``BadRequest`` (400, with a sentence saying what is expected); an
id that cannot exist raises ``NotFound`` (404). No I/O.
"""
from __future__ import annotations

import math
from urllib.parse import parse_qs

MAX_QUERY_CHARS = 1000        # search text; longer is refused (and i8's reduction trims terms)
MAX_PARAM_CHARS = 2000        # any other query-string value
MAX_ID = 2**63 - 1            # SQLite's largest integer: beyond it nothing can exist


class BadRequest(Exception):
    status = 400


class NotFound(Exception):
    status = 404


def whole_number(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def record_id(raw: str, what: str) -> int:
    """An id from the path; anything that cannot be a stored id is simply not found."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_ID:
        raise NotFound(f"no {what} {raw[:40]!r}")
    return int(raw)


def moment(raw: str | None, name: str) -> float:
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a time in seconds") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be a time in seconds")
    return value


def parse_query(text: str) -> dict:
    """The query string as {name: last value}, each within its bound; ``BadRequest`` if not."""
    if len(text) > 8 * MAX_PARAM_CHARS:
        raise BadRequest("the query string is too long")
    try:
        values = parse_qs(text, keep_blank_values=True, strict_parsing=False,
                          max_num_fields=20)
    except ValueError:
        raise BadRequest("too many query parameters") from None
    query = {name: items[-1] for name, items in values.items()}
    for name, value in query.items():
        limit = MAX_QUERY_CHARS if name == "q" else MAX_PARAM_CHARS
        if len(value) > limit:
            raise BadRequest(f"{name} is too long (at most {limit} characters)")
        if "\x00" in value:
            raise BadRequest(f"{name} contains a NUL character")
    return query
