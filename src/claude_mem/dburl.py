"""Show a libpq connection string without its password.

Contract: ``mask(text)`` replaces every password in ``text`` — the ``user:secret@`` part
of a ``postgresql://`` URL, a ``password=`` key (conninfo or URL query) — by ``****``;
anything else is returned unchanged. ``mask_error(exc, url)`` is an exception's message
with the URL's password masked too (wherever a driver chose to quote it). Every place
that prints, logs or returns a team URL goes through here. A leaf (standard library
only): config, the PostgreSQL store and team memory all import it.
"""
from __future__ import annotations

import re
import urllib.parse

_USERINFO = re.compile(r"(postgres(?:ql)?://[^:/@?#\s]*:)([^@\s]*)(@)", re.IGNORECASE)
_KEYWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)


def mask(text: str) -> str:
    if not text:
        return text or ""
    text = _USERINFO.sub(r"\1****\3", text)
    return _KEYWORD.sub(r"\1****", text)


def password_of(url: str) -> str:
    match = _USERINFO.search(url or "")
    if match and match.group(2):
        return urllib.parse.unquote(match.group(2))
    match = _KEYWORD.search(url or "")
    return match.group(2).strip("'") if match else ""


def mask_error(exc: BaseException | str, url: str = "") -> str:
    text = mask(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
    secret = password_of(url)
    if secret and len(secret) >= 3:
        text = text.replace(secret, "****")
    return text
