"""Privacy filtering: drop ``<private>`` text and redact obvious secrets.

Contract
--------
Everything a hook receives (prompts, tool inputs, tool outputs) passes
through here before it is stored in SQLite or sent to an LLM.

* ``needs_cleaning(raw)`` is the cheap prefilter for the hook's critical
  path. It uses only ``str`` methods and never imports anything. It is a
  *superset* test: whenever ``clean_text(raw) != raw`` it returns True. The
  same holds for raw JSON as produced by ``json.dumps`` / ``JSON.stringify``:
  if it returns False, ``clean_json_text(raw)`` changes no decoded string.
  It may return True for text that turns out clean (false positives).
* ``strip_private`` replaces each ``<private>...</private>`` (tag names
  case-insensitive, nesting counted, spanning lines) with ``[private]``. An
  unclosed ``<private>`` swallows the rest of the text (fail closed); a stray
  ``</private>`` is left alone.
* ``redact_secrets`` replaces secrets with ``[REDACTED]`` (PEM private key
  blocks with ``[REDACTED PRIVATE KEY]``), keeping names visible
  (``API_KEY=[REDACTED]``, ``scheme://user:[REDACTED]@host``,
  ``Authorization: Bearer [REDACTED]``). It is idempotent.
* ``clean_text`` = ``strip_private`` -> ``redact_secrets`` -> optional
  truncation to ``max_chars`` (head + short tail + a marker that says how
  many characters were cut; the result never exceeds ``max_chars``).
* ``clean_value`` cleans every string inside a JSON-like value and returns
  a new value; dict keys are kept, and a string stored under a secret-looking
  key (``"password"``, ``"api_key"``, ``"accessToken"`` ...) is redacted whole.
* ``clean_json_text`` parses, ``clean_value``-s and re-dumps compactly
  (``ensure_ascii=False``); returns None for invalid JSON.

Hook usage: run the prefilter on the whole raw stdin text, and only if it
says True call ``clean_json_text(raw)`` (None means "not JSON": fall back to
``clean_text(raw)``). Do not prefilter single decoded values instead: the
key-aware rule needs the ``"key":`` context that only the raw text has.

Importing this module imports nothing: ``re`` and ``json`` (~8 ms together)
are imported only inside the functions that do the real cleaning, so a hook
that calls ``needs_cleaning`` first pays for them only when it has to.

Deliberately *not* redacted (non-secrets): empty values, references
(``$VAR``, ``${VAR}``, ``$(cmd)``, ``%VAR%``, ``{{ var }}``), placeholders
(``<token>``, ``xxx``, ``****``, ``...``, ``your_api_key_here``,
``changeme``/``changeit`` -- publicly documented defaults, so hiding them
protects nothing), literals (true/false/null/none), type names in code
(``token: str``), code expressions (``os.environ["X"]``, ``self.token``,
``get_token()``), values of one or two characters, URLs and file paths as
values (credentials inside URLs are handled by the URL rule), numbers under
names that are not password/secret/key-like (``max_tokens=1000``), and names
that describe a secret rather than hold one (``TOKEN_FILE``, ``token_type``,
``secretName``, ``max_tokens``, ``author``, the shell's ``PWD``).
Not covered: XML elements (``<password>x</password>``), ``mysql -pSECRET``,
``.netrc`` lines, Dockerfile ``ENV NAME value``, name/value pairs
(``- name: API_TOKEN`` / ``value: ...``), YAML plain scalars with spaces after ``key:``
(``auth: fix login`` reads as prose), and high-entropy strings with no
recognisable prefix or name.
"""

# ---------------------------------------------------------------------------
# Prefilter (no imports; plain str operations only)
# ---------------------------------------------------------------------------

# Case-sensitive anchors: each is a literal substring of a case-sensitive
# redaction pattern below, so "not in raw" proves that pattern cannot match.
_CASED_ANCHORS = (
    "AKIA", "ASIA",                                   # AWS access key ids
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",  # GitHub
    "xox", "xapp-",                                   # Slack
    "AIza",                                           # Google API keys
    "sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_",  # Stripe
    "eyJ",                                            # JWT
    "PRIVATE KEY",                                    # PEM blocks
)
# Anchors checked on the lower-cased text (case-insensitive patterns), plus
# JSON escapes that could hide an ASCII anchor inside raw JSON (\u00XX, \/).
_LOWER_ANCHORS = ("<private", "bearer", "\\u00", "\\/")
# Keywords of the name-based rules (assignments, CLI flags, JSON keys);
# mirrors _NAME_KW below. "passw" covers password and passwd.
_NAME_KEYWORDS = (
    "passw", "passphrase", "pwd", "secret", "token", "credential", "auth",
    "api_key", "apikey", "api-key", "access_key", "accesskey", "access-key",
    "private_key", "privatekey", "private-key",
)
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_.-"   # on lower-cased text
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def _keyword_used_as_name(low: str, kw: str) -> bool:
    """True if some occurrence of ``kw`` sits in a name that is followed by
    ``=``/``:`` (after quotes, ``]``, blanks or backslash escapes), or in a
    name that starts with ``-`` (a CLI flag). Looser than the regexes.

    Each run of name characters is examined once, however many times the
    keyword occurs in it, so the cost stays linear in ``len(low)``."""
    n = len(low)
    i = low.find(kw)
    while i != -1:
        s = i
        while s > 0 and low[s - 1] in _NAME_CHARS:
            s -= 1
        # A flag starts the run ("--token"), or follows a JSON escape such
        # as the backslash-t of an encoded tab ("\\t--token").
        if low[s] == "-" or (low[s + 1:s + 2] == "-" and low[s - 1:s] == "\\"):
            return True
        j = i + len(kw)
        while j < n and low[j] in _NAME_CHARS:
            j += 1
        end = j
        while j < n:
            c = low[j]
            if c in "\"'] \t":
                j += 1
            elif c == "\\":          # \" or an escaped tab inside raw JSON
                j += 2
            else:
                break
        if j < n and low[j] in "=:":
            return True
        i = low.find(kw, end)
    return False


def _token_start(raw: str, anchor: str) -> bool:
    """True if ``anchor`` occurs where a token may start (not mid-word)."""
    i = raw.find(anchor)
    while i != -1:
        if i == 0 or raw[i - 1] not in _TOKEN_CHARS:
            return True
        # In raw JSON "\nsk-" or "\u00e9sk-" decodes to a token start too.
        if raw[i - 2:i - 1] == "\\" or raw[i - 6:i - 4] == "\\u":
            return True
        i = raw.find(anchor, i + 1)
    return False


def needs_cleaning(raw: str) -> bool:
    """Cheap, import-free prefilter: might ``clean_text(raw)`` change ``raw``?

    Never a false negative for ``clean_text(raw)`` (without truncation) nor
    for ``clean_json_text(raw)``; truncation is the caller's length check.
    """
    for a in _CASED_ANCHORS:
        if a in raw:
            return True
    if _token_start(raw, "sk-"):          # "task-", "disk-" are not keys
        return True
    i = raw.find("://")
    if i != -1 and raw.find("@", i) != -1:   # scheme://user:pass@host
        return True
    low = raw.lower()
    for a in _LOWER_ANCHORS:
        if a in low:
            return True
    if ":" in raw and ("--user" in raw or _curl_u(raw)):
        return True
    for kw in _NAME_KEYWORDS:
        if kw in low and _keyword_used_as_name(low, kw):
            return True
    return False


def _curl_u(raw: str) -> bool:
    i = raw.find("-u")
    while i != -1:
        if raw[i + 2:i + 3] in (" ", "\t", "=", "\\"):
            return True
        i = raw.find("-u", i + 1)
    return False


# ---------------------------------------------------------------------------
# The real cleaner (imports re/json lazily)
# ---------------------------------------------------------------------------

REDACTED = "[REDACTED]"
PRIVATE = "[private]"
_PEM_MARKER = "[REDACTED PRIVATE KEY]"
_MARKERS = (_PEM_MARKER, REDACTED, PRIVATE)
_TRUNC = "\n[... {} chars truncated ...]\n"

# Keyword alternation shared by the assignment, CLI-flag and JSON-key rules.
_NAME_KW = (r"(?:passw(?:or)?d|passphrase|pwd|secret|token|credential|auth"
            r"|api[_-]?key|access[_-]?key|private[_-]?key)")
# A whole run of name characters containing a keyword. The run is taken
# possessively (Python 3.11+) so a long run such as "tokentoken..." is not
# re-scanned from every keyword in it (that was quadratic).
_NAME = r"(?=[A-Za-z0-9_.\-]*?" + _NAME_KW + r")[A-Za-z0-9_.\-]++"

# Last words that make a name describe a secret rather than hold one.
_META_WORDS = frozenset("""
    file files path paths dir url uri urls endpoint host hostname port server
    domain realm issuer audience count counts limit limits len length size
    type types kind ttl timeout expiry expires expiration lifetime duration
    budget usage max min num name names id ids enabled enable disabled
    required method methods provider mode header prefix env var field ref
    version format scope scopes algorithm alg user username email store
    backend manager
""".split())
_LITERALS = frozenset("""
    true false yes no on off null none nil undefined n/a na tbd todo fixme
    changeme change_me change-me changeit placeholder redacted example dummy
    str string int integer bool boolean bytes number any object unknown
    bearer basic token digest negotiate ntlm
""".split())
_AUTH_SCHEMES = r"(?:bearer|basic|token|digest|negotiate|ntlm)"


def _value(bare_excluded_start: str) -> str:
    """Regex for an assigned value: \"...\" (JSON-escaped), "...", '...'
    (optionally r/b/u/f-prefixed; an unterminated quote runs to the end of
    the line), ${...}, $(...), or a bare word."""
    return (r"(?P<val>\\\"(?:[^\"\\\n]|\\[^\"\n])*(?:\\\")?"
            r"|(?:[rRbBuUfF]{1,2}(?=[\"']))?\"(?:[^\"\\\n]|\\.)*\"?"
            r"|(?:[rRbBuUfF]{1,2}(?=[\"']))?'(?:[^'\\\n]|\\.)*'?"
            r"|\$\{[^}\n]*\}?|\$\([^)\n]*\)?"
            r"|(?![" + bare_excluded_start + r"])[^\s\"'`,;)\]}]+)")


_B = r"(?<![A-Za-z0-9_\-])"     # a token does not start mid-word

# name -> (pattern, flags): A = ASCII, I = IGNORECASE, S = DOTALL. ASCII
# everywhere, so case folding agrees with the prefilter's str.lower() (no
# Kelvin sign matching "k"). Compiled one by one on first use: compiling all
# of them costs ~10 ms, and most texts need only a few.
_SPECS = {
    "private_tag": (r"<(/?)private\s*>", "AI"),
    "pem": (r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*)", "AS"),
    # Provider tokens: recognisable prefixes, replaced whole.
    "tokens": ("|".join((
        _B + r"sk-(?=[A-Za-z_\-]*[0-9])[A-Za-z0-9_\-]{20,}",     # OpenAI, Anthropic
        r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])",   # AWS key id
        _B + r"gh[pousr]_[A-Za-z0-9]{20,}",                      # GitHub
        _B + r"github_pat_[A-Za-z0-9_]{20,}",
        _B + r"xox[abprs]-[A-Za-z0-9\-]{10,}",                   # Slack
        _B + r"xapp-[A-Za-z0-9\-]{10,}",
        _B + r"AIza[0-9A-Za-z_\-]{35}",                          # Google
        _B + r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}",        # Stripe
        _B + r"whsec_[0-9A-Za-z]{10,}",
        _B + r"eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}",  # JWT
    )), "A"),
    "url_creds": (r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#\"'<>]*:)"
                  r"([^\s/\"'<>]+)(@)", "A"),
    "auth_header": (r"(\bauthorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?[ \t]*"
                    + _AUTH_SCHEMES + r"[ \t]+)([^\s\"'`\\]+)", "AI"),
    "bearer": (r"(\bbearer[ \t]+)([A-Za-z0-9\-._~+/]{16,}=*)", "AI"),
    "curl_user": (r"((?<![^ \t\n])(?:-u|--user)(?:[ \t]+|=)[\"']?[^\s:\"'@]+:)"
                  r"([^\s\"']+)", "A"),
    # NAME=value, NAME: value, "name": "value", name => value,
    # name: Type = value, config["name"] = value.
    "assign": (r"(?<![A-Za-z0-9_.\-])(?P<name>" + _NAME + r")"
               r"(?:\\?[\"'])?\]?[ \t]*"
               r"(?P<ann>:[ \t]*[A-Za-z_][A-Za-z0-9_.\[\]|, ]*?[ \t]*(?==(?![=>])))?"
               r"(?P<sep>=>|:=|=(?!=)|:(?!:))[ \t]*" + _value(r"{(<\[\\\\"), "AI"),
    # --password value, -token value
    "cli": (r"(?<![^ \t\n])(?P<name>-" + _NAME + r")[ \t]+"
            + _value(r"{(<\[\\\\\-|>&"), "AI"),
    "name_kw": (_NAME_KW, "AI"),
    "name_full": (r"[A-Za-z0-9_.\-]+", "A"),
    "word_split": (r"[_.\-]+", "A"),
    "camel": (r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", "A"),
    "marker_value": (r"(?:" + _AUTH_SCHEMES + r"\s+)?\[(?:REDACTED[A-Z ]*|private)\]", "AI"),
    "reference": (r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*"
                  r"|%[A-Za-z_][A-Za-z0-9_]*%|\{\{.*\}\}|\{[A-Za-z_][\w.]*\}|<[^<>]*>", "AS"),
    "filler": (r"x{3,}|\*+|\.{3,}|\u2026+|[#?\-]+", "AI"),
    "code": (r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:[(\[].*)?|[A-Za-z_][\w.]*[(\[].*", "AS"),
    "url": (r"[A-Za-z][A-Za-z0-9+.\-]*://\S*", "A"),
    "path": (r"(?:~|\.{1,2})?/[\w.\-/]*", "A"),
    "number": (r"-?\d+(?:\.\d+)?", "A"),
}


class _Patterns:
    """Compiled regexes as attributes, each compiled on first access."""

    def __getattr__(self, name):
        import re

        pattern, flags = _SPECS[name]          # KeyError -> a typo, loudly
        f = 0
        for ch in flags:
            f |= {"A": re.ASCII, "I": re.IGNORECASE, "S": re.DOTALL}[ch]
        rx = re.compile(pattern, f)
        setattr(self, name, rx)
        return rx


_patterns = _Patterns()


def _p() -> _Patterns:
    return _patterns


def strip_private(text: str) -> str:
    """Replace each ``<private>...</private>`` with ``[private]``.

    Tags are case-insensitive and may nest (depth is counted, so an inner
    close does not end the outer block). An unclosed ``<private>`` removes
    everything after it; a stray ``</private>`` is kept as is.
    """
    if "<" not in text:
        return text
    out = []
    last = 0
    depth = 0
    start = 0
    for m in _p().private_tag.finditer(text):
        if not m.group(1):                 # opening tag
            if depth == 0:
                start = m.start()
            depth += 1
        elif depth:                        # closing tag inside a block
            depth -= 1
            if depth == 0:
                out.append(text[last:start])
                out.append(PRIVATE)
                last = m.end()
    if depth:                              # fail closed
        out.append(text[last:start])
        out.append(PRIVATE)
        last = len(text)
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _words(name: str) -> list:
    p = _p()
    words = []
    for part in p.word_split.split(name):
        words.extend(w.lower() for w in p.camel.findall(part))
    return words


def _is_secret_name(name: str) -> bool:
    """Does this identifier name a secret (not a token count, a file...)?"""
    low = name.lower().strip("-.")
    if low in ("pwd", "oldpwd"):           # the shell's working directory
        return False
    words = _words(name)
    if not words:
        return False
    if len(words) > 1 and words[-1] in _META_WORDS:
        return False
    joined = "".join(words)                # PassWord, Api_Key, dbPassword
    if any(k in joined for k in ("passw", "passphrase", "secret", "credential",
                                 "apikey", "accesskey", "privatekey")):
        return True
    for w in words:
        if w == "pwd":
            return True
        if "token" in w and not (w.endswith("tokens") or "tokeniz" in w):
            return True
        if "auth" in w and not ("author" in w and "authoriz" not in w):
            return True
    return False


def _split_value(val: str):
    """Split a matched value into (opening, inner, closing) quote parts."""
    if val.startswith('\\"'):
        if len(val) >= 4 and val.endswith('\\"'):
            return '\\"', val[2:-2], '\\"'
        return '\\"', val[2:], ""
    k = 0
    while k < 2 and k < len(val) and val[k] in "rRbBuUfF":
        k += 1
    if k < len(val) and val[k] in "\"'":
        q = val[k]
        rest = val[k + 1:]
        if rest.endswith(q):
            return val[:k + 1], rest[:-1], q
        return val[:k + 1], rest, ""
    return "", val, ""


def _non_secret(inner: str, name: str = "", bare: bool = False,
                fstring: bool = False) -> bool:
    """True for values that are obviously not secrets (see module doc)."""
    p = _p()
    v = inner.strip()
    if len(v) < 3:
        return True
    lv = v.lower()
    if p.marker_value.fullmatch(v) or p.reference.fullmatch(v) or p.filler.fullmatch(v):
        return True
    if lv in _LITERALS or lv.startswith(("your_", "your-", "<your")):
        return True
    if p.url.fullmatch(v) or p.path.fullmatch(v):
        return True
    if fstring and "{" in v:
        return True
    if name:
        bare_name = name.lower().strip("-.")
        words = _words(name)
        if lv == bare_name or (words and lv == words[-1]):
            return True
        if p.number.fullmatch(v) and not any(
                k in bare_name for k in ("pass", "pwd", "secret", "key", "pin")):
            return True
    if bare and p.code.fullmatch(v):
        return True
    return False


def _redact_named(text: str, rx, prose_colon: bool) -> str:
    """Redact values of secret-named assignments/flags matched by ``rx``.

    Skipped matches resume scanning at the value, so a secret nested in a
    skipped value (``CALLBACK=https://x/?token=abc``) is still found.
    """
    out = []
    last = 0
    pos = 0
    n = len(text)
    while pos < n:
        m = rx.search(text, pos)
        if m is None:
            break
        val = m.group("val")
        vs, ve = m.start("val"), m.end("val")
        opening, inner, closing = _split_value(val)
        bare = not opening
        skip = not _is_secret_name(m.group("name")) or _non_secret(
            inner, m.group("name"), bare=bare, fstring="f" in opening.lower())
        if (not skip and bare and prose_colon and m.group("sep") == ":"
                and ve < n and text[ve] in " \t"):
            # "auth: fix login bug" is prose, not YAML holding a secret.
            j = ve
            while j < n and text[j] in " \t":
                j += 1
            skip = j < n and text[j].isalnum()
        if skip:
            pos = vs if vs > m.start() else m.end()
            continue
        out.append(text[last:vs])
        out.append(opening + REDACTED + closing)
        last = ve
        pos = ve
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _keep_or_redact(m, group: int = 2) -> str:
    """Replace ``group`` of match ``m`` with the marker unless it is an
    obvious non-secret (a reference, a placeholder, a marker already)."""
    v = m.group(group)
    if _non_secret(v):
        return m.group(0)
    whole, off = m.group(0), m.start()
    return whole[:m.start(group) - off] + REDACTED + whole[m.end(group) - off:]


def _keep_uid_gid_or_redact(m) -> str:
    if m.group(2).isdigit():                # docker run -u 1000:1000
        return m.group(0)
    return _keep_or_redact(m)


def _redact_once(text: str) -> str:
    # Each rule runs only if its literal anchor is present, so its regex is
    # compiled only when it could match.
    p = _p()
    if "PRIVATE KEY" in text:
        text = p.pem.sub(_PEM_MARKER, text)
    if _token_start(text, "sk-") or any(a in text for a in _CASED_ANCHORS[:-1]):
        text = p.tokens.sub(REDACTED, text)
    if "://" in text and "@" in text:
        text = p.url_creds.sub(_keep_or_redact, text)
    low = text.lower()
    if "authorization" in low:
        text = p.auth_header.sub(_keep_or_redact, text)
    if "bearer" in low:
        text = p.bearer.sub(_keep_or_redact, text)
    if "-u" in text:
        text = p.curl_user.sub(_keep_uid_gid_or_redact, text)
    if any(kw in low for kw in _NAME_KEYWORDS):
        text = _redact_named(text, p.assign, prose_colon=True)
        if "-" in text:
            text = _redact_named(text, p.cli, prose_colon=False)
    return text


def redact_secrets(text: str) -> str:
    """Replace secrets with ``[REDACTED]``; names and structure stay visible.

    Rules are applied in order and repeated until nothing changes (at most a
    few rounds), so the result is a fixed point: redacting it again is a
    no-op.
    """
    if not needs_cleaning(text):
        return text
    return _redact(text)


def _redact(text: str) -> str:
    for _ in range(4):
        new = _redact_once(text)
        if new == text:
            break
        text = new
    return text


def _safe_cut(text: str, i: int, forward: bool) -> int:
    """Move cut index ``i`` off any marker it would split in two."""
    for mk in _MARKERS:
        # find() with these bounds only returns a j with j < i < j + len(mk).
        j = text.find(mk, max(0, i - len(mk) + 1), i + len(mk) - 1)
        if j != -1:
            return j + len(mk) if forward else j
    return i


DEFAULT_MAX_CHARS = 6000
DEFAULT_MAX_PAYLOAD = 1_000_000
# Settings are clamped where they are used: a typo in settings.json may make memory
# coarser, never make cleaning fail (and the event be lost).
_MIN_CHARS = 200
_MAX_CHARS = 64 * 1024 * 1024


def clamp_limit(value, default: int) -> int:
    """A size setting as a usable int in [200, 64 Mi]; ``default`` when it is not a number."""
    try:
        value = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return min(max(value, _MIN_CHARS), _MAX_CHARS)


def truncate(text: str, max_chars: int | None) -> str:
    """Shorten ``text`` to at most ``max_chars``: head, marker, short tail.

    ``None`` means no limit; a negative limit counts as 0. If ``max_chars`` is
    too small to hold the marker, the text is simply cut to ``max_chars``.
    """
    if max_chars is None or len(text) <= max_chars:
        return text
    max_chars = max(0, max_chars)
    n = len(text)
    budget = max_chars - len(_TRUNC.format(n))    # n has >= digits than cut
    if budget < 20:
        return text[:max_chars]
    tail = min(budget // 5, 1000)
    head = _safe_cut(text, budget - tail, forward=False)
    tail_start = max(head, _safe_cut(text, n - tail, forward=True))
    return text[:head] + _TRUNC.format(tail_start - head) + text[tail_start:]


def clean_text(text: str, max_chars: int | None = None) -> str:
    """``strip_private``, then ``redact_secrets``, then truncate."""
    if needs_cleaning(text):
        text = _redact(strip_private(text))
    return truncate(text, max_chars)


def _secret_key(key) -> bool:
    """Is this dict key a secret-looking name (``api_key``, ``accessToken``)?"""
    if not isinstance(key, str) or not key:
        return False
    low = key.lower()
    if not any(kw in low for kw in _NAME_KEYWORDS):   # no regex for most keys
        return False
    p = _p()
    return bool(p.name_full.fullmatch(key) and p.name_kw.search(key)
                and _is_secret_name(key))


def clean_value(obj, max_chars: int | None = None):
    """Return a copy of a JSON-like value with every string cleaned.

    Dict keys are kept as they are; a string under a secret-looking key
    (``{"api_key": "abc123"}``) is replaced by ``[REDACTED]`` unless it is an
    obvious non-secret. Lists and tuples become lists; other scalars pass
    through.
    """
    if isinstance(obj, str):
        return clean_text(obj, max_chars)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(v, str) and _secret_key(k):
                cleaned = clean_text(v)
                if not _non_secret(cleaned, k):
                    cleaned = REDACTED
                out[k] = truncate(cleaned, max_chars)
            else:
                out[k] = clean_value(v, max_chars)
        return out
    if isinstance(obj, (list, tuple)):
        return [clean_value(v, max_chars) for v in obj]
    return obj


def clean_json_text(raw: str, max_chars_per_string: int | None = None,
                    max_total_chars: int | None = None) -> str | None:
    """Parse ``raw`` as JSON, clean it, dump compactly; None if not JSON.

    Parsing is bounded (``boundedjson``: nesting cut at 64 levels, lone surrogates
    repaired), so the result always encodes as UTF-8.
    """
    import json

    from claude_mem import boundedjson

    try:
        obj = boundedjson.loads(raw)
    except (ValueError, TypeError):
        return None
    return json.dumps(clean_value(obj, max_chars_per_string),
                      ensure_ascii=False, separators=(",", ":"))


def clean_raw_json_text(raw: str, max_chars: int) -> str:
    """Last resort for a payload the JSON cleaner could not handle: clean it as text.

    The secrets rules also work on JSON text (escapes included); the result is cut to
    ``max_chars`` and made valid UTF-8. It may no longer be JSON: the worker then parks
    it with the reason, which is better than losing it or storing a secret.
    """
    text = clean_text(raw[:max(0, max_chars) + 4096])
    return truncate(text, max_chars).encode("utf-8", "backslashreplace").decode("utf-8")
