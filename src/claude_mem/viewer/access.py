"""Who may read the viewer: the owner of the data directory, through a secret token.

Contract:
- ``token()`` returns the viewer's secret: 32 random bytes (url-safe text) kept in
  ``<data dir>/viewer.token``, created 0600 on first use and reused after, so a bookmark or
  a cookie survives viewer restarts. Only the account that can read the data dir (0700)
  can read it; another local account can reach 127.0.0.1 but cannot learn it.
- ``check(...)`` decides one request: ``Decision(ok, status, reason, set_cookie)``.
  In order: the ``Host`` must be this loopback address and port (DNS rebinding); an
  ``Origin`` or ``Sec-Fetch-Site: cross-site`` from anywhere else is refused (cross-site
  reads and writes); then the token must come as the cookie, an ``Authorization: Bearer``
  header, or ``?token=`` (the address ``claude-mem viewer`` prints), compared in constant
  time. A valid ``?token=`` earns an HttpOnly, SameSite=Strict session cookie, named
  after the port.
- ``check_write(...)`` is the second gate for a change (the settings form): the request
  must carry our exact ``Origin``, be a form, and hold ``form_key(secret)``; the cookie is
  SameSite=Strict besides, so no other site can make the browser change anything.
- No I/O beyond the token file; the HTTP handler applies the decisions.
"""
from __future__ import annotations

import hmac
import os
import secrets
from http.cookies import CookieError, SimpleCookie
from typing import NamedTuple

from claude_mem import config


class Decision(NamedTuple):
    ok: bool
    status: int = 200
    reason: str = ""
    set_cookie: str | None = None  # a Set-Cookie header value to send with the answer


def token_path() -> str:
    return os.path.join(config.data_dir(), "viewer.token")


def token() -> str:
    """The viewer's secret, created once (0600, owner only) and then read back."""
    path = token_path()
    config.ensure_data_dir()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, encoding="ascii") as fh:
            value = fh.read().strip()
        if len(value) >= 32:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)  # copied in with loose modes: tighten, keep the value
            return value
        os.unlink(path)  # empty or truncated (a crash mid-write): make a new one
        return token()
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return value


def cookie_name(port: int) -> str:
    # Cookies ignore ports: two people's viewers on one machine must not overwrite each other's.
    return f"claude_mem_viewer_{port}"


def form_key(secret: str) -> str:
    """The hidden field every write form carries: derived from the secret, never the secret."""
    return hmac.new(secret.encode(), b"claude-mem viewer form", "sha256").hexdigest()


def check_write(*, port: int, secret: str, origin: str | None, content_type: str | None,
                form_field: str | None) -> Decision:
    """The extra gate for a POST that already passed ``check``: same-origin and our form."""
    ours = {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    if origin is None or origin.strip().lower().rstrip("/") not in ours:
        return Decision(False, 403, "a change must come from the viewer's own page (Origin)")
    if (content_type or "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return Decision(False, 415, "a change must be a form")
    if not _same(form_field, form_key(secret)):
        return Decision(False, 403, "the form is not the viewer's")
    return Decision(True)


def _same(a: str | None, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode("utf-8", "replace"), b.encode())


def check(*, port: int, secret: str, host: str | None, origin: str | None,
          fetch_site: str | None, cookie_header: str | None, authorization: str | None,
          query_token: str | None) -> Decision:
    """Decide whether one request may be answered (see the module's contract)."""
    ours = {f"127.0.0.1:{port}", f"localhost:{port}"}
    if (host or "").strip().lower() not in ours:
        return Decision(False, 403, "this viewer answers only to its own loopback address")
    if origin is not None and origin.strip().lower().rstrip("/") not in {f"http://{h}" for h in ours}:
        return Decision(False, 403, "requests from other sites are refused")
    if (fetch_site or "").strip().lower() == "cross-site":
        return Decision(False, 403, "requests from other sites are refused")
    if query_token is not None:
        if _same(query_token, secret):
            # A session cookie: browsers send 127.0.0.1's cookies to every port on it, so
            # the less long it lives, the less another local server could be handed.
            cookie = f"{cookie_name(port)}={secret}; Path=/; HttpOnly; SameSite=Strict"
            return Decision(True, set_cookie=cookie)
        return Decision(False, 401, "wrong token")
    if authorization and authorization.lower().startswith("bearer "):
        if _same(authorization[7:].strip(), secret):
            return Decision(True)
        return Decision(False, 401, "wrong token")
    if cookie_header:
        try:
            jar = SimpleCookie(cookie_header)
        except CookieError:
            jar = SimpleCookie()
        morsel = jar.get(cookie_name(port))
        if morsel is not None and _same(morsel.value, secret):
            return Decision(True)
    return Decision(False, 401, "no access token")
