"""Secrets no prefix list names: machine-made values found by their context and their shape.

Contract
--------
``privacy`` knows families (vendor prefixes, ``NAME=value``, headers, PEM blocks). This
module finds what those miss, without a list of vendors:

* ``spans(text)`` -> sorted, non-overlapping ``(start, end)`` spans of ``text`` that hold a
  machine-made value in one of these places:
  - **a prefixed token**: one to three word-like segments and a separator, then a body of
    28+ characters with a random-looking run in it (``acme_live_<body>``, ``KRX-<body>``,
    ``ak.live.<body>``); the word-like prefix stays visible;
  - **after a credential word** (key, token, secret, passw…, pwd, passphrase, credential,
    auth, bearer, apikey, psk, signature) earlier on the same line, within ~48 characters
    (prose, ``- name: X_TOKEN`` / ``value: …``, table rows); a hex value only 32+
    characters long, not in parentheses and with no hash word (commit, sha, digest…) in
    between;
  - **the user part of a URL** (``scheme://VALUE@host``, ``scheme://VALUE:x@host``: DSNs);
  - **a password hash**: a ``$``-chain of modular crypt format (``$2y$10$…``, ``$apr1$…``,
    ``$6$…``, ``$argon2id$…``, ``pbkdf2_sha256$…``) or an LDAP ``{SCHEME}base64`` value.
* ``might_hold(raw)`` is the hook prefilter's half: True whenever ``spans`` of any string
  that ``raw`` (a text, or raw JSON as ``json.dumps``/``JSON.stringify`` write it) decodes
  to could be non-empty, or a credential table could start (``table_header_hint``).
* ``machine_made(value)``: 2 random-looking, 1 hash-like (hex), 0 not machine-made.

A value is machine-made when it is 16+ characters with digits and letters mixed the way
generators mix them (mixed case not made of words, or one case with digits scattered
through it), or a mixed-case run of letters with no words in it. The look-alike guard:
UUIDs, hex hashes without a credential word right before them, ids with the prefixes APIs
use for objects (``toolu_``, ``msg_``, ``req_``…), digests after ``sha256:``/``h1:``/
``sha512-``, base64 that decodes to ordinary text, paths, names with a hash in them
(``Linux-pip-<hex>``), SSH public keys, and anything after ``public``.

Import-free (str methods only; ``binascii``, a built-in module, only when a value could
be base64 of text): the hook's prefilter and the redaction run this very code, so what
one finds the other finds. Cost: one C-speed pass (``encode``/``translate``/``find``)
over the text to find runs of 12+ letters and digits, then a little Python per run.

Long because its one concern is: every shape and every look-alike above is a rule of the
same detector, and the prefilter's half must see exactly what the redaction's half sees.

No ``from __future__ import annotations``: every hook imports this module, and that import
is a stdlib module of its own (~0.1 ms); the annotations here evaluate as they are on 3.11.
"""

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_UPPER = frozenset(_LETTERS[:26])
_LOWER = frozenset(_LETTERS[26:])
_DIGITS = frozenset("0123456789")
_ALNUM = _UPPER | _LOWER | _DIGITS
_HEX = frozenset("0123456789abcdef")
_HEX_UPPER = frozenset("0123456789ABCDEF")
_ASCII_LETTERS = _UPPER | _LOWER
# What a bare machine-made value is made of (base64, URL-safe base64, generated passwords).
_VALUE_CHARS = _ALNUM | frozenset("+/_-.~!#%*^")
_SEPARATORS = "_-."
_MCF_CHARS = _ALNUM | frozenset("./+=,$_-")
_B64_CHARS = _ALNUM | frozenset("+/=")


def _table(members, mark: bytes) -> bytes:
    table = bytearray(b" " * 256)
    for c in members:
        table[ord(c)] = mark[0]
    return bytes(table)


# Every byte that is an ASCII letter or digit becomes "x" (a value character "v"),
# everything else a blank: runs of 12+ letters/digits, and a value's ends, are then found
# by bytes.find at C speed.
_RUN_TABLE = _table(_ALNUM, b"x")
_VALUE_TABLE = _table(_VALUE_CHARS, b"v")
_MCF_TABLE = _table(_MCF_CHARS, b"m")
_MCF_NEEDLE = b"m" * 20
_MCF_LEAD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_LDAP_TABLE = bytes(c if c == 0x7D else b for c, b in zip(range(256), _table(_B64_CHARS, b"b")))
_LDAP_NEEDLE = b"}" + b"b" * 16
_MIN_RUN = 12
_RUN_NEEDLE = b"x" * _MIN_RUN
_MAX_VALUE = 1024
_MIN_PREFIXED_BODY = 28
_WINDOW = 48

# Object ids of the APIs a session talks to (tool calls, messages, requests, payments):
# machine-made, not secret, and in every hook payload.
_ID_PREFIXES = ("toolu_", "srvtoolu_", "msg_", "req_", "call_", "chatcmpl-", "resp_", "file-",
                "file_", "asst_", "thread_", "run_", "batch_", "evt_", "cus_", "sub_", "pi_",
                "ch_", "in_", "price_", "prod_", "acct_", "txn_", "step_", "span_", "trace_")
_DIGEST_LEADS = ("sha1:", "sha224:", "sha256:", "sha384:", "sha512:", "md5:", "h1:", "blake2b:",
                 "sha1-", "sha256-", "sha384-", "sha512-", "md5-", "base64,")
# An SSH public key's base64 starts with its length-prefixed type name ("ssh-rsa",
# "ssh-ed25519", "ecdsa-sha2-…"): public by design.
_SSH_PUBLIC = ("AAAAB3NzaC1", "AAAAC3NzaC1", "AAAAE2VjZHNh", "AAAAB3NzaC1kc3")
_HASH_WORDS = ("commit", "sha", "hash", "digest", "checksum", "fingerprint", "etag", "revision",
               "rev ", "object", "tree", "parent", "merge", "blob", "cache", "build", "trace",
               "span", "request", "uuid", "nonce")
# Credential words, and what may follow each one in the same word ("tokens" counts,
# "keyboard" and "author" do not).
_CONTEXT_WORDS = (("token", ("", "s")), ("secret", ("", "s")), ("passw", None), ("pwd", ("",)),
                  ("passphrase", ("", "s")), ("credential", ("", "s")),
                  ("auth", ("", "orization", "entication", "orisation", "token")),
                  ("bearer", ("",)), ("key", ("", "s")), ("apikey", ("", "s")),
                  ("psk", ("",)), ("signature", ("", "s")))


# ---------------------------------------------------------------------------------------
# What a value looks like
# ---------------------------------------------------------------------------------------

def machine_made(v: str) -> int:
    """2: looks generated (a key, a token); 1: a hex string (a hash, unless told otherwise);
    0: anything else (words, identifiers, numbers, short strings)."""
    n = len(v)
    if n < 16 or n > _MAX_VALUE:
        return 0
    up = lo = dg = 0
    transitions = 0
    word_chars = 0          # letters in runs of 4+ lowercase letters with vowels: words
    digit_groups = 0
    run_lower = vowels = 0
    last = ""
    for c in v:
        if c in _LOWER:
            kind = "l"
            lo += 1
            run_lower += 1
            vowels += c in "aeiouy"
        else:
            if run_lower >= 4 and vowels * 4 >= run_lower:
                word_chars += run_lower
            run_lower = vowels = 0
            if c in _UPPER:
                kind = "u"
                up += 1
            elif c in _DIGITS:
                kind = "d"
                dg += 1
                if last != "d":
                    digit_groups += 1
            else:
                kind = "s"
        if last and kind != last:
            transitions += 1
        last = kind
    if run_lower >= 4 and vowels * 4 >= run_lower:
        word_chars += run_lower
    letters = up + lo
    if not letters:
        return 0
    if dg and (all(c in _HEX for c in v) or all(c in _HEX_UPPER for c in v)):
        return 1
    if not dg:
        # Letters only: a random mix of cases, not CamelCase words.
        if up >= 3 and lo >= 3 and transitions * 3 >= n and word_chars * 4 <= n:
            return 2
        return 0
    if up and lo:
        # Mixed case with digits: generated unless it is made of words (an identifier).
        return 2 if word_chars * 5 <= n * 2 and transitions * 4 >= n else 0
    # One case with digits: the digits must be scattered through it, and some letter
    # must be outside hex (else it is a hash, above).
    return 2 if digit_groups >= 3 and dg * 8 >= n else 0


def _looks_like_uuid(v: str) -> bool:
    parts = v.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in _HEX or c in _HEX_UPPER for p in parts for c in p)


def _base64_of_text(v: str) -> bool:
    """Is ``v`` base64 (or URL-safe base64) of ordinary printable text?"""
    core = v.rstrip("=")
    if len(core) < 16 or not all(c in _B64_CHARS or c in "-_" for c in core):
        return False
    import binascii

    padded = core.replace("-", "+").replace("_", "/")
    padded += "=" * (-len(padded) % 4)
    try:
        data = binascii.a2b_base64(padded)
    except (binascii.Error, ValueError):
        return False
    if len(data) < 8:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in data)
    return printable * 20 >= len(data) * 19 and any(b == 32 or b in b'{":,' for b in data)


def _named_artifact(v: str) -> bool:
    """``Linux-pip-<hex>``, ``index-<hex>.js``: a name with a hash in it, not a key."""
    parts = [p for p in v.replace("_", "-").replace(".", "-").split("-") if p]
    if len(parts) < 3:
        return False
    hashes = [p for p in parts if len(p) >= 16 and machine_made(p) == 1]
    words = [p for p in parts if p.isalpha() or p.isdigit()]
    return bool(hashes) and len(hashes) + len(words) == len(parts) and len(words) >= 2


def ordinary(v: str, before: str = "") -> bool:
    """The look-alike guard: ``v`` (preceded by ``before``) is an id, a digest, a path…"""
    if v[:1] in "/.~" or _looks_like_uuid(v):
        return True
    low = v.lower()
    if low.startswith(_ID_PREFIXES) or low.startswith(_DIGEST_LEADS) or v.startswith(_SSH_PUBLIC):
        return True
    if before and before[-8:].lower().endswith(_DIGEST_LEADS):
        return True
    if _named_artifact(v):
        return True
    return _base64_of_text(v)


# ---------------------------------------------------------------------------------------
# Finding them
# ---------------------------------------------------------------------------------------

def _decode_lite(raw: str) -> str:
    """Raw JSON made to read like the text it encodes, for the prefilter: each escape
    becomes the character it stands for, repeated to keep the length (``\\\\n`` ->
    two newlines, ``\\\\uXXXX`` -> six blanks)."""
    t = raw
    if "\\" not in t:
        return t
    t = t.replace("\\\\", "\x00\x00").replace('\\"', '""').replace("\\n", "\n\n")
    t = t.replace("\\t", "\t\t").replace("\\r", "\r\r").replace("\\b", "  ").replace("\\f", "  ")
    if "\\u" in t:
        pieces = []
        last = 0
        i = t.find("\\u")
        while i != -1:
            pieces.append(t[last:i])
            pieces.append("      ")
            last = i + 6
            i = t.find("\\u", last)
        pieces.append(t[last:])
        t = "".join(pieces)
    return t


def _runs(text: str):
    """(start, end) of each run of 12+ ASCII letters and digits."""
    b = text.encode("ascii", "replace").translate(_RUN_TABLE)
    i = b.find(_RUN_NEEDLE)
    while i != -1:
        e = b.find(b" ", i + _MIN_RUN)
        if e == -1:
            e = len(b)
        yield i, e
        i = b.find(_RUN_NEEDLE, e)


class _Scan:
    """A text and, made on first use, its map of value characters (one C-speed pass), so
    a value's ends are found by ``bytes.find`` however long it is: a base64 blob of a
    megabyte is seen as one value (and skipped) at once, not run by run."""

    __slots__ = ("text", "_map")

    def __init__(self, text: str):
        self.text = text
        self._map = None

    def value_bounds(self, s: int, e: int) -> tuple[int, int]:
        if self._map is None:
            self._map = self.text.encode("ascii", "replace").translate(_VALUE_TABLE)
        vs = self._map.rfind(b" ", 0, s) + 1
        ve = self._map.find(b" ", e)
        return vs, len(self._map) if ve == -1 else ve


def _value_around(scan: _Scan, s: int, e: int) -> tuple[int, int]:
    """The value holding the run ``s:e``: its characters on both sides, less a trailing
    full stop or dash and leading punctuation, plus base64 padding. A value longer than
    ``_MAX_VALUE`` is returned whole (the caller skips it)."""
    text = scan.text
    vs, ve = scan.value_bounds(s, e)
    if ve - vs > _MAX_VALUE:
        return vs, ve
    while ve > e and text[ve - 1] in ".-_~":   # a sentence's full stop, a trailing dash
        ve -= 1
    hi = len(text)
    pad = ve
    while pad < hi and pad - ve < 2 and text[pad] == "=":   # base64 padding, never "NAME="
        pad += 1
    if pad == hi or text[pad] not in _VALUE_CHARS and text[pad] != "=":
        ve = pad
    while vs < s and text[vs] in "._-~+/=":     # a value does not start with punctuation
        vs += 1
    return vs, ve


def _best_run(text: str, vs: int, ve: int) -> tuple[int, int]:
    """How machine-made the value ``text[vs:ve]`` is (see ``machine_made``) and where its
    first random-looking run of letters and digits starts: each run of 16+ is judged on
    its own (a prefix of words must not hide the body after it), a value without such a
    run as a whole."""
    best, where = 0, vs
    i = vs
    while i < ve:
        if text[i] in _ALNUM:
            j = i
            while j < ve and text[j] in _ALNUM:
                j += 1
            if j - i >= 16:
                kind = machine_made(text[i:j])
                if kind > best:
                    best, where = kind, i
                    if kind == 2:
                        return best, where
            i = j
        else:
            i += 1
    if best:
        return best, where
    return machine_made(text[vs:ve]), vs


def _word_like(seg: str) -> bool:
    """``acme``, ``live``, ``v1``, ``api2``: a segment of a vendor prefix."""
    if not seg or len(seg) > 15 or seg[0] not in _ASCII_LETTERS:
        return False
    i = 0
    while i < len(seg) and seg[i] in _ASCII_LETTERS:
        i += 1
    return len(seg) - i <= 3 and all(c in _DIGITS for c in seg[i:])


def _prefixed(text: str, vs: int, ve: int, run_start: int) -> int:
    """Where the secret part of a prefixed token starts (after its word-like prefix), or -1."""
    value = text[vs:ve]
    pos = 0
    words = 0
    while words < 4:
        cut = -1
        for k in range(pos, min(len(value), pos + 16)):
            if value[k] in _SEPARATORS:
                cut = k
                break
        if cut == -1 or not _word_like(value[pos:cut]):
            break
        words += 1
        pos = cut + 1
    if not 1 <= words <= 3 or vs + pos > run_start or ve - (vs + pos) < _MIN_PREFIXED_BODY:
        return -1
    return vs + pos


def _context_word(window: str) -> int:
    """Offset just after the last credential word in ``window`` (-1 if none)."""
    low = window.lower()
    best = -1
    for word, endings in _CONTEXT_WORDS:
        i = low.rfind(word)
        while i != -1:
            start_ok = i == 0 or window[i - 1] not in _ASCII_LETTERS or (
                window[i] in _UPPER and window[i - 1] in _LOWER)
            j = i + len(word)
            k = j
            while k < len(low) and low[k] in _LOWER:
                k += 1
            end_ok = endings is None or low[j:k] in endings or (
                k > j and window[j] in _UPPER)     # camelCase: tokenValue, keyId
            if start_ok and end_ok:
                best = max(best, k)
                break
            i = low.rfind(word, 0, i)
    return best


_LENIENT_WINDOW = 2 * (5 * _WINDOW + 8)


def _line_start(text: str, pos: int) -> int:
    """Where the line holding ``pos`` starts, looking back no further than the windows
    need (a line longer than that starts, for them, where the look-back ends)."""
    lo = max(0, pos - 4 * _WINDOW)
    return max(text.rfind("\n", lo, pos), text.rfind("\r", lo, pos), lo - 1) + 1


def _after_credential_word(text: str, vs: int, kind: int, lenient: bool) -> bool:
    if lenient:
        # Raw JSON: escapes widen the text (up to twice) and lines are joined, so look as
        # far back as the strict reading ever does (the line above a "value:" line, its
        # indentation, this line), doubled.
        window = text[max(0, vs - _LENIENT_WINDOW):vs]
        return _context_word(window) != -1
    line = _line_start(text, vs)
    start = max(line, vs - _WINDOW)
    lead = text[line:vs].strip(" \t\"'-").lower()
    if line and lead.rstrip(" :=\"'") == "value":
        # "- name: ACME_TOKEN" / "  value: <key>": the name is on the line before.
        above = _line_start(text, line - 1)
        start = max(above, line - 1 - _WINDOW)
    window = text[start:vs]
    end = _context_word(window)
    if end == -1:
        return False
    low = window.lower()
    if "public" in low or "publishable" in low:
        return False
    if kind == 1:
        between = low[end:]
        if len(between) > 24 or between.rstrip().endswith("(") or any(
                w in between for w in _HASH_WORDS):
            return False
    return True


def _url_user_spans(text: str, out: list) -> None:
    i = text.find("://")
    while i != -1:
        start = i + 3
        end = start
        limit = min(len(text), start + 400)
        while end < limit and text[end] not in "/?#\"'<>` \t\r\n\\":
            end += 1
        at = text.rfind("@", start, end)
        if at != -1:
            user_end = text.find(":", start, at)
            user_end = at if user_end == -1 else user_end
            user = text[start:user_end]
            if len(user) >= 16 and machine_made(user) and not _looks_like_uuid(user):
                out.append((start, user_end))
        i = text.find("://", end)


def _hash_chain_spans(text: str, out: list) -> None:
    """Modular crypt format: ``$id$…$<hash>`` or ``algo$…$…$<hash>``. Chains of 20+
    crypt characters are found on a translate() map at C speed; only those holding three
    ``$`` are looked at."""
    chars = text.encode("ascii", "replace").translate(_MCF_TABLE)
    i = chars.find(_MCF_NEEDLE)
    while i != -1:
        s = chars.rfind(b" ", 0, i) + 1
        e = chars.find(b" ", i)
        e = len(chars) if e == -1 else e
        if e - s <= 512 and text.count("$", s, e) >= 3:
            if not all(c in _MCF_LEAD for c in text[s:text.find("$", s, e)]):
                s = text.find("$", s, e)       # "x=$2y$…": the hash starts at its "$"
            fields = text[s:e].split("$")
            last = fields[-1]
            if text.count("$", s, e) >= 3 and len(last.rstrip("=")) >= 16 and (
                    machine_made(last.replace(".", "").replace("/", "")) or len(last) >= 40):
                out.append((s, e))
        i = chars.find(_MCF_NEEDLE, e)


def _ldap_hash_spans(text: str, out: list) -> None:
    """``{SSHA}base64`` (htpasswd, LDAP ``userPassword``): a ``}`` followed by 16+ base64
    characters is found on a translate() map at C speed."""
    chars = text.encode("ascii", "replace").translate(_LDAP_TABLE)
    i = chars.find(_LDAP_NEEDLE)
    while i != -1:
        open_ = text.rfind("{", max(0, i - 20), i)
        scheme = text[open_ + 1:i] if open_ != -1 else ""
        e = chars.find(b" ", i + 1)
        e = len(chars) if e == -1 else e
        if 2 <= len(scheme) and all(c in _UPPER or c in _DIGITS or c == "-" for c in scheme):
            value = text[i + 1:e]
            if value[0] != "/" and (machine_made(value) == 2
                                    or (len(value) >= 24 and value.endswith("="))):
                out.append((i + 1, e))
        i = chars.find(_LDAP_NEEDLE, e)


def _maybe_random(run: str) -> bool:
    """Cheap first look at a run of letters and digits (C-speed str methods): numbers,
    one-case words and CamelCase with fewer than three capitals are never machine-made.
    Adding characters never turns its True into False, so a run read from raw JSON (an
    escape's letter stuck to it) passes whenever the decoded run does."""
    if run.isdigit():
        return False
    if run.isalpha():
        return not (run.islower() or run.isupper()) and sum(map(str.isupper, run)) >= 3
    return True


def _analyze_run(scan: _Scan, s: int, e: int, lenient: bool):
    """The span a run of letters and digits makes secret, None if none, and where the
    value around it ends (runs inside it need no second look)."""
    text = scan.text
    vs, ve = _value_around(scan, s, e)
    if ve - vs > _MAX_VALUE:
        return None, ve
    value = text[vs:ve]
    kind, start = _best_run(text, vs, ve)
    if not kind or ordinary(value, text[max(0, vs - 8):vs]):
        return None, ve
    if kind == 2:
        cut = _prefixed(text, vs, ve, start)
        if cut != -1:
            return (cut, ve), ve
    if len(value) >= (32 if kind == 1 else 16) and _after_credential_word(text, vs, kind, lenient):
        return (vs, ve), ve
    return None, ve


def spans(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` holding machine-made secrets (see the module doc)."""
    out: list[tuple[int, int]] = []
    seen_end = -1
    scan = _Scan(text)
    for s, e in _runs(text):
        if e - s > _MAX_VALUE or s < seen_end or not _maybe_random(text[s:e]):
            continue
        span, seen_end = _analyze_run(scan, s, e, False)
        if span:
            out.append(span)
    if "://" in text and "@" in text:
        _url_user_spans(text, out)
    if "$" in text:
        _hash_chain_spans(text, out)
    if "}" in text:
        _ldap_hash_spans(text, out)
    if len(out) > 1:
        out.sort()
        merged = [out[0]]
        for a, b in out[1:]:
            if a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        out = merged
    return out


# Raw JSON is decoded only around a run that passed the first look: enough on each side
# for the value (up to _MAX_VALUE) and the lenient look-back window before it.
_LOCAL_BEFORE = _MAX_VALUE + _LENIENT_WINDOW + 16
_LOCAL_AFTER = _MAX_VALUE + 16


def might_hold(raw: str) -> bool:
    """Prefilter: could ``spans`` find anything in ``raw`` or in a string it encodes?

    Permissive where ``spans`` is strict: the look-back window is wider and has no line
    bound, and no guard looks back (a hash word, ``public``); each run that passes the
    first look is judged on the text around it with JSON escapes decoded in place."""
    scan = _Scan(raw)
    seen_end = -1
    for s, e in _runs(raw):
        if e - s > _MAX_VALUE or s < seen_end or not _maybe_random(raw[s:e]):
            continue
        vs, ve = _value_around(scan, s, e)
        seen_end = ve
        if ve - vs > _MAX_VALUE + 8:       # a blob (an image's base64): no credential
            continue
        kind, _ = _best_run(raw, vs, ve)
        if not vs or raw[vs - 1] != "\\":
            # No escape's letter stuck to the value's start: it reads the same decoded, so
            # a value that is not machine-made, or is an id or a digest, needs no decoding.
            if not kind or ordinary(raw[vs:ve], raw[max(0, vs - 8):vs]):
                continue
        elif kind and not ordinary(raw[vs:ve], raw[max(0, vs - 8):vs]):
            # A backslash before the value may be an escape (raw JSON) or a backslash of
            # plain text ("\\ntoolu_…" in a text is not an id after a line break): judged
            # as it reads undecoded too, the prefilter errs towards cleaning.
            return True
        lo = max(0, s - _LOCAL_BEFORE)
        local = _decode_lite(raw[lo:e + _LOCAL_AFTER])
        # Every run of the value is judged here: later raw runs inside it are skipped above
        # (seen_end), and decoding can move a run's start past this raw run's end
        # ("\u0007passwordsk-…": the escape's letters make one raw run of the word).
        s0, e0 = s - lo, max(e, ve) - lo
        local_scan = _Scan(local)
        local_end = -1
        for rs, re_ in _runs(local):
            if re_ <= s0 or rs < local_end or not _maybe_random(local[rs:re_]):
                continue
            if rs >= e0:
                break
            span, local_end = _analyze_run(local_scan, rs, re_, True)
            if span:
                return True
    found: list = []
    if "://" in raw and "@" in raw:
        _url_user_spans(raw, found)
    if "$" in raw and not found:
        _hash_chain_spans(raw, found)
    if "}" in raw and not found:
        _ldap_hash_spans(raw, found)
    return bool(found)


def redact(text: str, marker: str) -> str:
    found = spans(text)
    if not found:
        return text
    pieces = []
    last = 0
    for a, b in found:
        pieces.append(text[last:a])
        pieces.append(marker)
        last = b
    pieces.append(text[last:])
    return "".join(pieces)


# ---------------------------------------------------------------------------------------
# Credential tables (CSV, TSV, markdown): the header is found here, the rows in privacy
# ---------------------------------------------------------------------------------------

_CELL_CHARS = _ALNUM | frozenset(" _-")
_TABLE_DELIMITERS = (",", "\t", ";", "|")


def header_cells(line: str) -> tuple[str, list[str]] | None:
    """(delimiter, cells) when ``line`` reads as a table header: 2+ short cells of words."""
    if len(line) > _HEADER_REACH:
        return None
    for delimiter in _TABLE_DELIMITERS:
        if delimiter not in line or (delimiter != "|" and line[:1] in (" ", "\t")):
            continue            # an indented "return key, value" is code, not a CSV header
        cells = [c.strip() for c in line.split(delimiter)]
        if delimiter == "|":
            cells = cells[1:-1] if line.strip().startswith("|") else cells
        cells = [c[1:-1] if len(c) >= 2 and c[0] == c[-1] and c[0] in "\"'" else c for c in cells]
        if len(cells) >= 2 and all(0 < len(c) <= 40 and c[0] in _ASCII_LETTERS
                                   and all(ch in _CELL_CHARS for ch in c) for c in cells):
            return delimiter, cells
    return None


def table_header_hint(text: str, keywords, low: str | None = None) -> bool:
    """Prefilter half of the table rule: some line holding a credential keyword reads as a
    table header and a line follows it. On raw JSON too: ``\\n``/``\\t`` escapes count,
    and a line may begin where a JSON string does (``"stdout": "user,password\\n…``)."""
    low = text.lower() if low is None else low
    for kw in keywords:
        i = low.find(kw)
        while i != -1:
            if _could_be_cell(text, i, i + len(kw)) and _header_around(text, i):
                return True
            i = low.find(kw, i + len(kw))
    return False


def _could_be_cell(text: str, i: int, j: int) -> bool:
    """Is the word at ``text[i:j]`` inside a cell: words up to a delimiter or a line's end
    on each side (``secret_access_key\\n``, ``| API Key |``), not code (``f(key, v)``)?"""
    lo = max(0, i - 41)
    while i > lo and (text[i - 1] in _CELL_CHARS or text[i - 1] == '"'):
        i -= 1
    hi = min(len(text), j + 41)
    while j < hi and (text[j] in _CELL_CHARS or text[j] == '"'):
        j += 1
    before = text[i - 1:i]
    after = text[j:j + 1]
    if before == "\\":
        return True                          # the "\\n" or "\\t" of raw JSON ends "n…"/"t…"
    return ((not before or before in ",;|\t\n\\") and (not after or after in ",;|\t\n\r\\"))


_STRING_STARTS = ('":"', '": "', '["', '[ "')
_HEADER_REACH = 400


def _header_around(text: str, i: int) -> bool:
    # A header line is short: look no further than _HEADER_REACH each way (a line cut
    # there is no header, and the same line is then no header to the redaction either).
    lo = max(0, i - _HEADER_REACH)
    escaped = text.rfind("\\n", lo, i)
    start = max(text.rfind("\n", lo, i) + 1, escaped + 2 if escaped != -1 else 0, lo)
    if start == lo and lo and text[lo - 1] != "\n":
        return False
    ends = [x for x in (text.find("\n", i, i + _HEADER_REACH),
                        text.find("\\n", i, i + _HEADER_REACH)) if x != -1]
    if not ends:
        return False
    line = text[start:min(ends)].replace("\\t", "\t")
    cut = max(line.rfind(m, 0, i - start) + len(m) if line.rfind(m, 0, i - start) != -1 else 0
              for m in _STRING_STARTS)
    if header_cells(line):
        return True
    for variant in {line, line.replace('\\"', '"'), line[cut:]} if '"' in line else ():
        if header_cells(variant) or header_cells(variant.replace('"', "")):
            return True
    return False
