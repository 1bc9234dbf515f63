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
  many characters were cut; the result never exceeds ``max_chars``). Right
  after the marker, in the head's room, the cut keeps up to four problem
  lines of what it dropped (``_middle_lines``: warnings, errors, counts of
  problems), each redacted; none at all when the text holds a ``<private``
  tag or a key block anywhere.
* ``clean_value`` cleans every string inside a JSON-like value and returns
  a new value; dict keys are kept, and a string stored under a secret-looking
  key (``"password"``, ``"api_key"``, ``"accessToken"`` ...) is redacted whole.
* ``clean_json_text`` parses, ``clean_value``-s and re-dumps compactly
  (``ensure_ascii=False``); returns None for invalid JSON.

Hook usage: ``clean_payload(raw, settings)`` runs the prefilter on the whole raw stdin
text, and only if it says True calls ``clean_json_text(raw)``. Do not prefilter single decoded values instead: the
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

Why one long module: the import-free prefilter and the rules must agree exactly (the
prefilter may only say "nothing to clean" when no rule could match), and most of the
length is the rule table itself; split apart, the two would drift.
"""

# ---------------------------------------------------------------------------
# Prefilter (no imports; plain str operations only)
# ---------------------------------------------------------------------------

from claude_mem import secret_shapes  # noqa: E402 - import-free itself, see its docstring

# Case-sensitive anchors: each is a literal substring of a case-sensitive
# redaction pattern below, so "not in raw" proves that pattern cannot match.
_CASED_ANCHORS = (
    # AWS key ids (access, STS, group, user, role, ...)
    "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA",
    "A3T",
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",  # GitHub
    "glpat-", "gldt-", "glptt-", "glrt-", "glft-", "glimt-", "glagent-", "gloas-",  # GitLab
    "glsoat-", "glcbt-", "GR1348941",
    "xox", "xapp-", "hooks.slack.com/",                # Slack tokens and webhooks
    "/api/webhooks/",                                 # Discord webhooks
    "AIza", "ya29.", "GOCSPX-", "1//0",               # Google
    "sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_",  # Stripe
    "npm_", "pypi-", "rubygems_", "CLOJARS_", "dckr_pat_", "rdme_",  # package registries
    "dop_v1_", "doo_v1_", "dor_v1_",                  # DigitalOcean
    "shpat_", "shpca_", "shppa_", "shpss_",           # Shopify
    "hf_", "api_org_",                                # Hugging Face
    "dapi",                                           # Databricks
    "glsa_", "glc_",                                  # Grafana
    "AGE-SECRET-KEY-",                                # age
    "SG.",                                            # SendGrid
    "hvs.", "hvb.", "hvr.",                           # Vault
    "lin_api_", "PMAK-", "dp.pt.", "dp.st.", "dp.ct.", "pul-", "atlasv1.",
    "sntrys_", "sntryu_", "NRAK-", "NRII-", "dt0c01.", "fo1_", "FlyV1", "sbp_",
    "CFPAT-", "figd_", "ntn_", "pscale_", "AKCp", "bkua_", "CCIPAT_", "gsk_", "xai-",
    "pplx-", "r8_", "lsv2_", "tskey-", "ops_", "sgp_", "shippo_", "tfp_", "LTAI",
    "sq0atp-", "sq0csp-", "EAAA", "EAAC", "ATATT", "AAAAAAAAAAAAAAAAAAAA",
    "Q~",                                             # Azure AD client secrets
    "eyJ",                                            # JWT
    "PuTTY-User-Key-File",
    "PRIVATE KEY",                                    # PEM blocks (keep last)
)
# Anchors too common in ordinary text to send it through the full cleaning on their own
# ("-us" in "--user", "SK" in "TASK", "key-" in "primary-key-id"): each counts only when
# the characters its pattern requires around it are there too, which every match of the
# pattern has. (anchor, what must follow it, how many, what must precede it, how many);
# the patterns are in _SPECS["tokens"].
_HEX = "0123456789abcdef"
_TOKEN_BODY = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_SHAPED_ANCHORS = (
    ("-us", "0123456789", 1, _HEX, 32),               # Mailchimp: <32 hex>-us<digit>
    ("SK", _HEX, 32, "", 0),                          # Twilio: SK<32 hex>
    ("key-", _HEX, 32, "", 0),                        # Mailgun: key-<32 hex>
    (":A", _TOKEN_BODY, 34, "0123456789", 1),         # Telegram bot: <digits>:A<34>
)
# JSON escapes of characters no pattern needs to see: the C0 controls that are not
# whitespace (a terminal's colour codes arrive as \u001b). Any other \u00XX escape
# could hide an anchor's letters or a blank, so it still sends the text to be cleaned.
_INERT_ESCAPES = frozenset(f"{c:04x}" for c in (*range(0x00, 0x09), *range(0x0e, 0x1c)))


def _shaped_anchor(raw: str, anchor: str, after: str, after_count: int, before: str,
                   before_count: int) -> bool:
    i = raw.find(anchor)
    while i != -1:
        tail = raw[i + len(anchor):i + len(anchor) + after_count]
        head = raw[max(0, i - before_count):i]
        if (len(tail) == after_count and all(c in after for c in tail)
                and len(head) == before_count and all(c in before for c in head)):
            return True
        i = raw.find(anchor, i + 1)
    return False


def _has_shaped_anchor(text: str) -> bool:
    return any(_shaped_anchor(text, *shaped) for shaped in _SHAPED_ANCHORS)


def _hiding_escape(low: str) -> bool:
    """True when the raw JSON holds a ``\\u00XX`` escape that may hide something."""
    i = low.find("\\u00")
    while i != -1:
        if low[i + 2:i + 6] not in _INERT_ESCAPES:
            return True
        i = low.find("\\u00", i + 1)
    return False


# Anchors checked on the lower-cased text (case-insensitive patterns), plus
# JSON escapes that could hide an ASCII anchor inside raw JSON (\u00XX, \/).
_LOWER_ANCHORS = ("<private", "bearer", "authorization", "ssws", "cookie", "pass:",
                  "sshpass", "redis-cli", "\\/")
# Keywords of the name-based rules (assignments, CLI flags, JSON keys, XML
# elements); mirrors _NAME_KW below. "passw" covers password and passwd.
_NAME_KEYWORDS = (
    "passw", "passphrase", "pwd", "pass", "secret", "token", "credential", "auth",
    "key", "sig", "cookie", "sessionid", "sessid", "pin",
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
        if j < n and low[j] in "=:>":
            return True
        if (low.startswith(("is ", "is:", "was "), j)       # "the password is ..."
                and low[s:end] in ("password", "passwd", "passphrase", "secret", "token", "key")):
            return True
        # "ENV NAME value" (Dockerfile), "password value" (.netrc), "key=\"Name\" value="
        if j < n and (low[s - 4:s] in ("env ", "arg ") or low[s - 9:s] == " password"
                      or low.startswith("value=", j) or low.startswith("value=", j + 1)
                      or low.startswith("password ", s)):
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
    if _has_anchor(raw):
        return True
    if _has_shaped_anchor(raw):
        return True
    if _token_start(raw, "sk-"):          # "task-", "disk-" are not keys
        return True
    if "." in raw and _dotted_token(raw):  # Discord bot tokens: no prefix, only a shape
        return True
    i = raw.find("://")
    if i != -1 and raw.find("@", i) != -1:   # scheme://user:pass@host
        return True
    low = raw.lower()
    for a in _LOWER_ANCHORS:
        if a in low:
            return True
    if _hiding_escape(low):
        return True
    if ":" in raw and ("--user" in raw or _curl_u(raw)):
        return True
    if " -p" in raw and any(w in low for w in ("login", "mysql", "mariadb")):
        return True
    if " -b " in raw and "=" in raw:       # curl -b 'session=...'
        return True
    if ":" in raw and _pgpass_shape(raw):
        return True
    for kw in _NAME_KEYWORDS:
        if kw in low and _keyword_used_as_name(low, kw):
            return True
    # Secrets no family names: machine-made values by context and shape, credential tables.
    if secret_shapes.might_hold(raw):
        return True
    return secret_shapes.table_header_hint(raw, _NAME_KEYWORDS, low)


def _has_anchor(raw: str) -> bool:
    for a in _CASED_ANCHORS:
        if a in raw:
            return True
    return False


def _dotted_token(raw: str) -> bool:
    """Some ``X{24}.X{6}.X{27}``-shaped run (a Discord bot token) may be in ``raw``."""
    i = raw.find(".", 20)
    while i != -1:
        if raw[i + 7:i + 8] == "." and raw[i - 20:i].isalnum():
            return True
        i = raw.find(".", i + 1)
    return False


def _pgpass_shape(raw: str) -> bool:
    """A ``host:port:db:user:password`` line (``.pgpass``): a port between two colons,
    then two fields without blanks, each ended by a colon, and a password.

    The fields matter: ``path.py:29:def f(x: int)`` (grep, compilers) has the port shape
    but a blank before its next colon, and is the commonest tool output there is.
    """
    i = raw.find(":")
    n = len(raw)
    while i != -1:
        j = i + 1
        while j < n and raw[j].isdigit():
            j += 1
        if j > i + 1 or raw[j:j + 1] == "*":
            k = j + (raw[j:j + 1] == "*")
            if raw[k:k + 1] == ":" and _two_blankless_fields(raw, k + 1):
                return True
        i = raw.find(":", i + 1)
    return False


def _two_blankless_fields(raw: str, pos: int) -> bool:
    """``[^:\\s]+:[^:\\s]+:`` and one more non-blank character, from ``pos``.

    On raw JSON this never says no where the decoded text would match: escapes are not
    blanks and a colon is never escaped."""
    for _ in range(2):
        end = raw.find(":", pos)
        if end <= pos:
            return False
        for c in raw[pos:end]:
            if c.isspace():
                return False
        pos = end + 1
    return pos < len(raw) and not raw[pos].isspace()


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

# Keyword alternation shared by the assignment, CLI-flag and JSON-key rules.
_NAME_KW = (r"(?:passw(?:or)?d|passphrase|pwd|pass|secret|token|credential|auth"
            r"|key|sig|cookie|sessionid|sessid)")
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
    backend manager model models policy policies rotation hint hints label labels
    class service provider callback handler reset required description desc
    event events flow strength regex pattern validator validation error errors
    message msg prompt field fields column columns input placeholder template
    public pub
""".split())
# First words of a dotted value that make it code, not a password with dots in it
# (``settings.SECRET_KEY``, ``os.environ``, ``process.env.TOKEN``, ``self.token``).
_CODE_ROOTS = frozenset("""
    self this cls os sys env environ process config conf cfg settings options opts
    args argv kwargs params props ctx context request req res response app data
    form user secrets vault creds credentials keys window document module exports
    global globals values vars input inputs obj state super session db client auth
    current_app current_user flask django st system environment localstorage
    sessionstorage import importlib getenv this_ parsed cli opts_ cfg_ conn
    connection account acct payload body headers header token tokens result results
""".split())
_LITERALS = frozenset("""
    true false yes no on off null none nil undefined n/a na tbd todo fixme
    changeme change_me change-me changeit placeholder redacted example dummy
    str string int integer bool boolean bytes number any object unknown
    bearer basic token digest negotiate ntlm ssws apikey api-key oauth hawk signature
    aws4-hmac-sha256
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
            r"|(?![" + bare_excluded_start + r"])[^\s\"'`,;&)\]}]+)")


_B = r"(?<![A-Za-z0-9_\-])"     # a token does not start mid-word

# name -> (pattern, flags): A = ASCII, I = IGNORECASE, S = DOTALL. ASCII
# everywhere, so case folding agrees with the prefilter's str.lower() (no
# Kelvin sign matching "k"). Compiled one by one on first use: compiling all
# of them costs ~10 ms, and most texts need only a few.
_SPECS = {
    "private_tag": (r"<(/?)private(?:\s[^<>]*)?>", "AI"),
    "pem": (r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*)", "AS"),
    # Provider tokens: recognisable prefixes, replaced whole.
    "tokens": ("|".join((
        _B + r"sk-(?=[A-Za-z_\-]*[0-9])[A-Za-z0-9_\-]{20,}",     # OpenAI, Anthropic, OpenRouter
        r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)"
        r"[A-Z0-9]{16}(?![A-Z0-9])",                             # AWS key ids
        _B + r"gh[pousr]_[A-Za-z0-9]{20,}",                      # GitHub
        _B + r"github_pat_[A-Za-z0-9_]{20,}",
        _B + r"gl(?:pat|dt|ptt|rt|ft|imt|agent|oas|soat|cbt)-[A-Za-z0-9_\-]{20,}",  # GitLab
        _B + r"GR1348941[A-Za-z0-9_\-]{20,}",
        _B + r"xox[a-z]-[A-Za-z0-9\-]{10,}",                     # Slack
        _B + r"xapp-[A-Za-z0-9\-]{10,}",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+\-]{10,}",
        r"/api/webhooks/\d+/[A-Za-z0-9_\-]{20,}",                # Discord webhooks
        _B + r"AIza[0-9A-Za-z_\-]{35}",                          # Google
        _B + r"ya29\.[0-9A-Za-z_\-]{20,}", _B + r"GOCSPX-[0-9A-Za-z_\-]{20,}",
        _B + r"1//0[0-9A-Za-z_\-]{30,}",
        _B + r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}",        # Stripe
        _B + r"whsec_[0-9A-Za-z]{10,}",
        _B + r"npm_[A-Za-z0-9]{30,}", _B + r"pypi-[A-Za-z0-9_\-]{40,}",
        _B + r"rubygems_[a-f0-9]{40,}", _B + r"CLOJARS_[A-Za-z0-9]{40,}",
        _B + r"dckr_pat_[A-Za-z0-9_\-]{20,}", _B + r"rdme_[a-z0-9]{60,}",
        _B + r"do[opr]_v1_[a-f0-9]{40,}",                        # DigitalOcean
        _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",              # Shopify
        _B + r"hf_[A-Za-z0-9]{30,}", _B + r"api_org_[A-Za-z0-9]{30,}",  # Hugging Face
        _B + r"dapi[a-f0-9]{32}(?:-\d+)?",                        # Databricks
        _B + r"glsa_[A-Za-z0-9_]{32,}", _B + r"glc_[A-Za-z0-9+/_=]{32,}",  # Grafana
        _B + r"AGE-SECRET-KEY-1[0-9A-Z]{50,}",                   # age
        _B + r"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",    # SendGrid
        _B + r"hv[sbr]\.[A-Za-z0-9_\-]{20,}",                     # Vault
        _B + r"lin_api_[A-Za-z0-9]{30,}", _B + r"PMAK-[a-f0-9]{20,}-[a-f0-9]{20,}",
        _B + r"dp\.(?:pt|st|ct|scim|audit)\.[A-Za-z0-9]{30,}", _B + r"pul-[a-f0-9]{40}",
        r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{40,}",
        _B + r"sntry[su]_[A-Za-z0-9+/=_\-]{30,}", _B + r"NR(?:AK|II|AA|JS)-[A-Za-z0-9]{20,}",
        _B + r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}", _B + r"fo1_[A-Za-z0-9_\-]{30,}",
        _B + r"FlyV1 [A-Za-z0-9_+/=,\-]{30,}", _B + r"sbp_[a-f0-9]{40}",
        _B + r"CFPAT-[A-Za-z0-9_\-]{30,}", _B + r"figd_[A-Za-z0-9_\-]{30,}",
        _B + r"ntn_[A-Za-z0-9]{30,}", _B + r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.\-]{30,}",
        _B + r"AKCp[A-Za-z0-9]{60,}", _B + r"bkua_[a-f0-9]{40}", _B + r"CCIPAT_[A-Za-z0-9_]{20,}",
        _B + r"gsk_[A-Za-z0-9]{40,}", _B + r"xai-[A-Za-z0-9]{40,}", _B + r"pplx-[A-Za-z0-9]{40,}",
        _B + r"r8_[A-Za-z0-9]{30,}", _B + r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}",
        _B + r"tskey-[a-z]+-[A-Za-z0-9]{10,}-[A-Za-z0-9]{20,}", _B + r"ops_eyJ[A-Za-z0-9+/=_\-]{30,}",
        _B + r"sgp_[A-Za-z0-9_]{30,}", _B + r"shippo_(?:live|test)_[a-f0-9]{40}",
        _B + r"tfp_[A-Za-z0-9_\-]{40,}", _B + r"LTAI[A-Za-z0-9]{12,20}",
        _B + r"sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,}", _B + r"EAAA[A-Za-z0-9_\-]{40,}",
        _B + r"EAAC[A-Za-z0-9]{40,}", _B + r"ATATT3[A-Za-z0-9_\-=]{40,}",
        _B + r"A{20,}[A-Za-z0-9%]{30,}",                         # Twitter bearer
        _B + r"key-[a-f0-9]{32}",                                # Mailgun
        _B + r"[a-f0-9]{32}-us\d{1,2}(?![A-Za-z0-9])",           # Mailchimp
        _B + r"SK[a-f0-9]{32}(?![A-Za-z0-9])",                   # Twilio
        _B + r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}",    # Azure AD client secret
        _B + r"\d{5,16}:A[A-Za-z0-9_\-]{34}(?![A-Za-z0-9_\-])",  # Telegram bot
        _B + r"[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}",  # Discord bot
        _B + r"eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}",  # JWT
    )), "A"),
    "putty": (r"(Private-Lines:\s*\d+\s*)(?:[A-Za-z0-9+/=]+\s*)+", "A"),
    "pem_tail": (r"^[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----", "A"),
    "cookie": (r"(\b(?:set-)?cookie\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?|(?<![^ \t\n])(?:-b|--cookie)[ \t]+[\"']?)"
               r"([^\n\"'\\]+)", "AI"),
    "cookie_value": (r"(=)([^;,\s]+)", "A"),
    "xml": (r"<(?P<name>[A-Za-z_][\w.\-:]*)(?:\s[^<>]*)?>(?P<val>[^<]{1,4000})</(?P=name)>", "A"),
    "xml_pair": (r"((?:key|name)\s*=\s*[\"'](?P<name>[^\"'<>]{1,100})[\"'](?:\s+value\s*=\s*[\"']|"
                 r"[^<>]*>))(?P<val>[^\"'<>]*)", "AI"),
    "auth_params": (r"(authorization[^\n]{0,40}?\b(?:digest|oauth|hawk|aws4-hmac-sha256|signature)[ \t]+)"
                    r"([^\n]+)", "AI"),
    "env_line": (r"(?<![\w-])(?:ENV|ARG)[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]+(?P<val>[^\s\\]+)", "A"),
    "netrc": (r"((?:\blogin\b[^\n]*?|^[ \t]*|\\n[ \t]*)password[ \t]+)([^\s\\]+)", "AM"),
    "pgpass": (r"(?m)^([ \t]*[A-Za-z0-9_.\-*\[\]:]+?:(?:\d{1,5}|\*):[^:\s]+:[^:\s]+:)([^\s\\]+)", "A"),
    "p_flag": (r"(\b(?:sshpass|login)\b[^\n|;&]*?[ \t]-p[ \t]*)(\\?[\"'][^\"'\n]*\\?[\"']|[^\s\"'\\-][^\s\\]*)", "A"),
    "mysql_p": (r"(\b(?:mysql\w*|mariadb\w*)\b[^\n|;&]*?[ \t]-p)(\\?[\"'][^\"'\n]*\\?[\"']|[^\s\"'\\][^\s\\]*)", "A"),
    "redis_a": (r"(\bredis-cli\b[^\n|;&]*?[ \t]-a[ \t]+)([^\s\\]+)", "A"),
    "pass_colon": (r"((?<![\w-])pass:)([^\s\"'\\]{3,})", "AI"),
    "prose": (r"(\b(?:password|passwd|passphrase|secret|token|api key)[ \t]+(?:is|was)[ \t]*:?[ \t]*)"
              r"([\"']?)([^\s\"'\\]{4,})", "AI"),
    "url_creds": (r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#\"'<>]*:)"
                  r"([^\s/\"'<>]+)(@)", "A"),
    "auth_header": (r"(\bauthorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?[ \t]*"
                    r"(?:[A-Za-z][A-Za-z0-9\-]*[ \t]+(?=[^\s\"'`\\]))?)([^\s\"'`\\][^\"'`\\\n]*)", "AI"),
    "bearer": (r"(\b(?:bearer|ssws|basic)[ \t]+)([A-Za-z0-9\-._~+/]{16,}=*)", "AI"),
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
    "call": (r"[A-Za-z_$][\w.$]*(?:\(.*|\[.*)|await .*|new .*|\$[A-Za-z_].*", "AS"),
    "uuid": (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "A"),
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
            f |= {"A": re.ASCII, "I": re.IGNORECASE, "S": re.DOTALL, "M": re.MULTILINE}[ch]
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


STRONG, WEAK = 2, 1
# "password: must be 12 characters" is prose: a value that starts like a sentence.
_PROSE_WORDS = frozenset("""
    must should is are was were be the a an for required field prompt reset policy of to
    and or not will can cannot needs need with in on if when see use your this that it
""".split())


def _secret_level(name: str) -> int:
    """How surely this identifier names a secret: STRONG (password, token, api key…:
    any real value is redacted), WEAK (…_key, sig, cookie, session id: a value is
    redacted when it looks random), or 0 (a token count, a key file, an author…)."""
    words = _words(name)
    if not words:
        return 0
    joined = "".join(words)                # PassWord, Api_Key, dbPassword
    if "privatekeyid" in joined:           # a service account's private_key_id names its key
        return STRONG
    if len(words) > 1 and words[-1] in _META_WORDS:
        return 0
    if "public" in words or "pub" in words:
        return 0
    if any(k in joined for k in ("passw", "passphrase", "secret", "credential",
                                 "apikey", "accesskey", "privatekey", "clientkey")):
        return STRONG
    for w in words:
        if w in ("pwd", "pass", "passwd", "pw"):
            return STRONG
        if "token" in w and not (w.endswith("tokens") or "tokeniz" in w):
            return STRONG
        if "auth" in w and not ("author" in w and "authoriz" not in w) and w != "oauth":
            return STRONG
    for w in words:
        if w in ("key", "keys", "sig", "cookie", "cookies", "sessionid", "sessid", "salt",
                 "seed", "hmac", "dsn") or (w.endswith("key") and len(w) > 3
                                            and w not in ("monkey", "hotkey", "turkey", "whiskey",
                                                          "donkey", "hockey", "jockey")):
            return WEAK
    return 0


def _is_secret_name(name: str) -> bool:
    return _secret_level(name) > 0


def _looks_random(value: str) -> bool:
    """A value under a weak name is a secret only when it looks machine-made."""
    v = value.strip()
    if len(v) < 8 or any(c.isspace() for c in v):
        return False
    p = _p()
    if p.uuid.fullmatch(v) or p.url.fullmatch(v) or _is_path(v) or secret_shapes.ordinary(v):
        return False
    lower = any(c.islower() for c in v)
    upper = any(c.isupper() for c in v)
    digit = any(c.isdigit() for c in v)
    symbol = any(c in "+/=~!@#%^*-" for c in v)
    if v.replace("_", "").isalpha() and (not upper or not lower):
        return False                       # created_at, ENTER: words, not keys
    classes = lower + upper + digit + symbol
    if len(v) >= 16 and classes >= 2:
        return True
    return digit and (lower or upper) and (upper + lower + symbol >= 2 or len(v) >= 12)


def _is_path(v: str) -> bool:
    """A file path, not base64 that happens to start with a slash."""
    if not _p().path.fullmatch(v):
        return False
    for part in v.split("/"):
        if len(part) >= 12 and any(c.isupper() for c in part) and any(
                c.islower() for c in part) and any(c.isdigit() for c in part):
            return False
    return True


def _is_code(v: str, name: str) -> bool:
    """Is a bare value an expression (``settings.SECRET_KEY``, ``get_token()``)?"""
    p = _p()
    if p.call.fullmatch(v):
        return True
    if not p.code.fullmatch(v):
        return False
    parts = v.split(".")
    if parts[0].lower() in _CODE_ROOTS:
        return True
    keys = [w for w in _words(name) if len(w) > 2]
    # user.password, cfg.db.api_key: the value names the same thing the name does
    return any(k in part.lower() for part in parts[1:] for k in keys) or any(
        part.isupper() and "_" in part for part in parts)


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
    if "[REDACTED" in v or PRIVATE in v:   # already cleaned inside (a=[REDACTED]; b=...)
        return True
    if p.marker_value.fullmatch(v) or p.reference.fullmatch(v) or p.filler.fullmatch(v):
        return True
    if lv in _LITERALS or lv.startswith(("your_", "your-", "<your")):
        return True
    if p.url.fullmatch(v) or _is_path(v):
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
    if bare and _is_code(v, name):
        return True
    if bare and name and v.replace("_", "").isalpha() and (
            (v.islower() and "_" in v) or any(w in lv for w in _words(name) if len(w) > 2)):
        return True                        # password = new_password, token: csrfToken
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
        level = _secret_level(m.group("name"))
        low_name = m.group("name").lower()
        if (bare and prose_colon and m.group("sep") == ":" and level
                and ("passw" in low_name or "passphrase" in low_name)
                and text[ve:ve + 1] in (" ", "\t") and text[ve + 1:ve + 2].isalnum()):
            # "passphrase: my cat is named Rex": the value is the rest of the line.
            eol = text.find("\n", ve)
            eol = n if eol == -1 else eol
            first = text[ve + 1:eol].split(" ", 1)[0].lower()
            if eol - vs <= 100 and inner.lower() not in _PROSE_WORDS and first not in _PROSE_WORDS:
                ve = eol
                inner = text[vs:ve].rstrip()
                ve = vs + len(inner)
        skip = not level or _non_secret(
            inner, m.group("name"), bare=bare, fstring="f" in opening.lower()) or (
            level == WEAK and not _looks_random(inner))
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


def _named_value_secret(name: str, value: str) -> bool:
    """Should ``value`` stored under ``name`` go? (Strong names: any real value;
    weak names: a value that looks machine-made.)"""
    level = _secret_level(name)
    if not level:
        return False
    opening, inner, _ = _split_value(value)
    if _non_secret(inner, name, bare=not opening):
        return False
    return level == STRONG or _looks_random(inner)


def _redact_pairs(text: str, rx) -> str:
    """Redact group ``val`` of each match whose group ``name`` names a secret."""
    def repl(m):
        if not _named_value_secret(m.group("name"), m.group("val")):
            return m.group(0)
        whole, off = m.group(0), m.start()
        return whole[:m.start("val") - off] + REDACTED + whole[m.end("val") - off:]
    return rx.sub(repl, text)


def _redact_cookie(m) -> str:
    """Every value in a Cookie/Set-Cookie header (``a=1; b=2``) goes, names stay."""
    values = _p().cookie_value.sub(
        lambda v: v.group(0) if _non_secret(v.group(2)) else v.group(1) + REDACTED, m.group(2))
    return m.group(1) + values


def _redact_prose(m) -> str:
    """"the password is Hunter2!" -- only values that do not read as a word."""
    value = m.group(3)
    if _non_secret(value) or (value.isalpha() and value.islower()) or value.lower() in (
            "required", "invalid", "missing", "expired", "incorrect", "wrong", "empty"):
        return m.group(0)
    return m.group(1) + m.group(2) + REDACTED


def _redact_once(text: str) -> str:
    # Each rule runs only if its literal anchor is present, so its regex is
    # compiled only when it could match.
    p = _p()
    if "PRIVATE KEY" in text:
        text = p.pem.sub(_PEM_MARKER, text)
    if "PuTTY-User-Key-File" in text or "Private-Lines" in text:
        text = p.putty.sub(lambda m: m.group(1) + _PEM_MARKER, text)
    if (_token_start(text, "sk-") or any(a in text for a in _CASED_ANCHORS[:-1])
            or _has_shaped_anchor(text)
            or ("." in text and _dotted_token(text))):
        text = p.tokens.sub(REDACTED, text)
    if "://" in text and "@" in text:
        text = p.url_creds.sub(_keep_or_redact, text)
    low = text.lower()
    if "authorization" in low:
        text = p.auth_header.sub(_keep_or_redact, text)
        text = p.auth_params.sub(lambda m: m.group(1) + REDACTED, text)
    if "bearer" in low or "ssws" in low or "basic" in low:
        text = p.bearer.sub(_keep_or_redact, text)
    if "cookie" in low or "-b " in text:
        text = p.cookie.sub(_redact_cookie, text)
    if "-u" in text:
        text = p.curl_user.sub(_keep_uid_gid_or_redact, text)
    if " -p" in text:
        if "sshpass" in low or "login" in low:
            text = p.p_flag.sub(_keep_or_redact, text)
        if "mysql" in low or "mariadb" in low:
            text = p.mysql_p.sub(_keep_or_redact, text)
    if "redis-cli" in low:
        text = p.redis_a.sub(_keep_or_redact, text)
    if "pass:" in low:
        text = p.pass_colon.sub(_keep_or_redact, text)
    if ":" in text and _pgpass_shape(text):
        text = p.pgpass.sub(_keep_or_redact, text)
    if any(kw in low for kw in _NAME_KEYWORDS):
        text = _redact_named(text, p.assign, prose_colon=True)
        if "-" in text:
            text = _redact_named(text, p.cli, prose_colon=False)
        if "<" in text:
            text = _redact_pairs(text, p.xml)
            if "key" in low or "name" in low:
                text = _redact_pairs(text, p.xml_pair)
        if "ENV" in text or "ARG" in text:
            text = _redact_pairs(text, p.env_line)
        if "password" in low and ("machine" in low or "login" in low):
            text = p.netrc.sub(_keep_or_redact, text)
        text = p.prose.sub(_redact_prose, text)
        if "\n" in text:
            text = _redact_tables(text)
    return secret_shapes.redact(text, REDACTED)


def _split_cells(row: str, delimiter: str) -> tuple[list[str], int]:
    """A table row's cells as written, and how many leading cells are not columns (the
    empty one before a markdown row's first ``|``)."""
    cells = row.split(delimiter)
    if delimiter == "|" and row.strip().startswith("|"):
        return cells, 1
    return cells, 0


def _column_count(row: str, delimiter: str) -> int:
    cells, offset = _split_cells(row, delimiter)
    if delimiter == "|" and row.strip().endswith("|"):
        return len(cells) - offset - 1
    return len(cells) - offset


def _redact_tables(text: str) -> str:
    """CSV, TSV and markdown tables whose header names a credential column
    (``access_key_id,secret_access_key``, ``| Service | API Key |``): that column's values
    go in every row below (strong names: any real value; weak names: machine-made ones)."""
    lines = text.split("\n")
    changed = False
    i = 0
    while i < len(lines) - 1:
        line = lines[i]
        low = line.lower()
        parsed = secret_shapes.header_cells(line) if any(kw in low for kw in _NAME_KEYWORDS) else None
        if parsed is None:
            i += 1
            continue
        delimiter, names = parsed
        levels = [_secret_level(name) for name in names]
        if not any(levels) or (i and _column_count(lines[i - 1], delimiter) == len(names)):
            i += 1
            continue
        j = i + 1
        while j < len(lines):
            row = lines[j]
            if delimiter == "|" and row.strip() and not row.strip(" |-:"):
                j += 1                          # the |---|---| line under a markdown header
                continue
            if _column_count(row, delimiter) != len(names):
                break
            cells, offset = _split_cells(row, delimiter)
            for col, level in enumerate(levels):
                if not level:
                    continue
                cell = cells[col + offset]
                inner = cell.strip()
                if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
                    inner = inner[1:-1]
                if inner and _named_value_secret(names[col], inner):
                    cells[col + offset] = cell.replace(inner, REDACTED, 1)
                    changed = True
            lines[j] = delimiter.join(cells)
            j += 1
        i = j
    return "\n".join(lines) if changed else text


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


def cut(text: str, max_chars: int | None) -> str:
    """``text.truncate`` as stored text is cut: a short tail, no redaction marker cut in two."""
    from claude_mem.text import truncate

    return truncate(text, max_chars, tail_part=5, max_tail=1000, whole=_MARKERS)


# Text kept on each side of a cut beyond what the limit keeps: a secret that straddles
# the cut is redacted whole before the cut is made (PEM blocks fail closed anyway).
_CUT_MARGIN = 4096


def clean_text(text: str, max_chars: int | None = None) -> str:
    """``strip_private``, then ``redact_secrets``, then truncate.

    A text far over ``max_chars`` is cut first (with a margin) and only what is kept is
    cleaned: 50 MB of output costs what its head and tail cost, not 25 s of regexes.
    A cut keeps the problem lines of what it drops (``_middle_lines``) right after its
    marker, in the head's room.
    """
    if max_chars is not None and len(text) > max(0, max_chars) >= 4 * MIDDLE_CHARS:
        middle = _middle_lines(text, max_chars)
        if middle:
            kept = _clean_cut(text, max_chars - len(middle) - 1)
            at = kept.find(MIDDLE_MARK_END)
            if at >= 0:
                at += len(MIDDLE_MARK_END)
                return kept[:at] + middle + "\n" + kept[at:]
    return _clean_cut(text, max_chars)


def _clean_cut(text: str, max_chars: int | None) -> str:
    if max_chars is not None and len(text) > max(0, max_chars) + 2 * _CUT_MARGIN:
        return _clean_long(text, max(0, max_chars))
    if needs_cleaning(text):
        text = _redact(strip_private(text))
    return cut(text, max_chars)


# What a cut keeps of the part it drops: lines that report a problem (a compiler's or a
# tool's ``warning:`` / ``error:``, a logger's ``[error]`` (not its ``[warning]`` chatter), an
# exception with its message,
# the message under TAP's ``error: |-``, a count of problems). A test run's long output
# has its outcome at the end and its warnings in the middle, which the head and the short
# tail of the cut lost (issue 21, round 12). At most ``MIDDLE_LINES`` lines, ``MIDDLE_CHARS``
# characters; a repeated line (the same warning for fifteen files) counts once, after the
# lines said once.
MIDDLE_LINES = 4
MIDDLE_CHARS = 900
MIDDLE_SCAN = 64 * 1024
MIDDLE_MARK_END = " chars truncated ...]\n"
_MIDDLE_WORDS = ("warn", "error", "exception", "vulnerab", "deprecat", "fatal", "critical", "problem", "issue")
_MIDDLE_LINE = (r"(?i)(?:(?:warning|error)(?:\[[\w-]+\])?: \S|.*\[(?:error|critical|fatal)\]|"
                r"(?:[\w.]+\.)?\w*(?:error|exception): \S|"
                r"\d+ (?:[\w-]+ ){0,3}(?:vulnerabilit\w*|warnings?|errors?|deprecations?|problems?|issues?)\b)")
_BLOCK_KEY = r"(?i)(?:error|message): [|>][-+]?$"


def _middle_lines(text: str, max_chars: int) -> str:
    """The problem lines of the part of ``text`` a cut to ``max_chars`` drops, cleaned,
    one per line; "" when there are none, or when the text holds anything private or a
    key block (a line alone cannot show it sat inside one: fail closed). Reads at most
    ``MIDDLE_SCAN`` characters of that part, and only the lines a problem word is in
    (found with ``str.find``: a case-blind regex over every position costs milliseconds)."""
    tail = min(1000, max_chars // 5)
    start, end = max_chars - tail, len(text) - tail
    low = text[start:min(end, start + MIDDLE_SCAN)].lower()
    begins = set()
    for word in _MIDDLE_WORDS:
        at = low.find(word)
        while at >= 0:
            begins.add(low.rfind("\n", 0, at) + 1)
            stop = low.find("\n", at)
            at = low.find(word, stop) if stop >= 0 else -1
    begins.discard(0)  # the first line may be cut in two
    if not begins:
        return ""
    whole = text.lower()
    if "<private" in whole or "-----begin" in whole or "putty" in whole:
        return ""
    import re

    from claude_mem.text import said_once_first

    part = text[start:start + len(low)]
    problem, block_key = re.compile(_MIDDLE_LINE), re.compile(_BLOCK_KEY)
    found = []
    for begin in sorted(begins):
        stop = part.find("\n", begin)
        if stop < 0:
            break  # the last line may be cut in two
        line = part[begin:stop].strip()
        if block_key.match(line):  # TAP's ``error: |-``: the message is the next line
            after = part.find("\n", stop + 1)
            line = part[stop + 1:after].strip() if after > 0 else ""
        elif not problem.match(line):
            continue
        line = line[:300]
        if line:
            found.append((begin, line))
    out, size = [], 0
    for line in said_once_first(found, MIDDLE_LINES):
        line = _redact(line) if needs_cleaning(line) else line
        if size + len(line) + 1 <= MIDDLE_CHARS:
            out.append(line)
            size += len(line) + 1
    return "\n".join(out)


def _clean_long(text: str, max_chars: int) -> str:
    n = len(text)
    head_raw = text[:max_chars + _CUT_MARGIN]
    tail_len = min(1000, max_chars) + _CUT_MARGIN
    tail_start = n - tail_len
    tail_raw = text[tail_start:]
    head = _redact(strip_private(head_raw)) if needs_cleaning(head_raw) else head_raw
    if "<private" in head.lower() or _open_private(text, tail_start):
        tail = PRIVATE                     # a private block runs into (or through) the tail
    elif needs_cleaning(tail_raw):
        tail = tail_raw
        if "PRIVATE KEY" in tail and "-----END" in tail:
            tail = _p().pem_tail.sub(_PEM_MARKER, tail)  # its BEGIN was cut off
        if "Private-Lines" not in tail and "PuTTY" in text[max(0, tail_start - 8192):tail_start]:
            tail = PRIVATE
        tail = _redact(strip_private(tail))
    else:
        tail = tail_raw
    # Never keep the first characters of the tail: they may be the end of a secret
    # whose start was cut away.
    tail = tail[_CUT_MARGIN:] if len(tail) > _CUT_MARGIN else tail
    return cut(head + "\u2026" + tail, max_chars)


def _open_private(text: str, end: int) -> bool:
    """Is a ``<private>`` block still open at ``end``? (Counted on the lowered text.)"""
    low_opens = text.count("<private", 0, end) + text.count("<PRIVATE", 0, end) + \
        text.count("<Private", 0, end)
    if not low_opens:
        return False
    depth = 0
    for m in _p().private_tag.finditer(text, 0, end):
        depth = depth + 1 if not m.group(1) else max(0, depth - 1)
    return depth > 0


def _secret_key(key) -> int:
    """How surely this dict key names a secret (``api_key``: STRONG, ``AccountKey``: WEAK)."""
    if not isinstance(key, str) or not key:
        return 0
    low = key.lower()
    if not any(kw in low for kw in _NAME_KEYWORDS):   # no regex for most keys
        return 0
    p = _p()
    if not (p.name_full.fullmatch(key) and p.name_kw.search(key)):
        return 0
    return _secret_level(key)


def clean_value(obj, max_chars: int | None = None, budget: list | None = None,
                wider: dict | None = None):
    """Return a copy of a JSON-like value with every string cleaned.

    Dict keys are cleaned like any text (an MCP tool may key its answer by token);
    a string under a secret-looking key (``{"api_key": "abc123"}``) is replaced by
    ``[REDACTED]`` unless it is an obvious non-secret (weak names such as
    ``AccountKey`` only when the value looks machine-made). Lists and tuples become
    lists; other scalars pass through. ``budget`` (a one-item list, characters left)
    bounds the total text kept: strings past it become a truncation marker, so a
    payload of a million small strings costs no more than a few large ones. ``wider``
    ({key: max_chars}) gives the values under those keys of this dict (not deeper) a
    limit of their own.
    """
    if isinstance(obj, str):
        return _budgeted(obj, max_chars, budget)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = clean_text(k, 1000) if isinstance(k, str) else k
            while key in out:              # two secrets as keys: keep both values
                key = f"{key} "
            limit = wider.get(k, max_chars) if wider else max_chars
            level = _secret_key(k) if isinstance(v, str) else 0
            if level:
                cleaned = _budgeted(v, limit, budget)
                if level == STRONG and not _non_secret(cleaned, k):
                    cleaned = REDACTED
                elif level == WEAK and _looks_random(cleaned) and not _non_secret(cleaned, k):
                    cleaned = REDACTED
                out[key] = cleaned
            else:
                out[key] = clean_value(v, limit, budget)
        return out
    if isinstance(obj, (list, tuple)):
        return [clean_value(v, max_chars, budget) for v in obj]
    return obj


def _budgeted(text: str, max_chars: int | None, budget: list | None) -> str:
    if budget is not None:
        if budget[0] <= 0:
            from claude_mem.text import TRUNCATED

            return TRUNCATED.format(len(text)).strip()
        limit = budget[0] if max_chars is None else min(max_chars, budget[0])
        out = clean_text(text, max(limit, 200))
        budget[0] -= len(out)
        return out
    return clean_text(text, max_chars)


# A subagent's report is the only record of the work it did out of sight (its own tool
# calls fire no hook here): its response keeps this many times the per-string limit, so
# the findings in the middle of a long report (after a quoted draft) are not cut away.
REPORT_TOOLS = frozenset({"Task", "Agent"})
REPORT_FACTOR = 4


def clean_json_text(raw: str, max_chars_per_string: int | None = None,
                    max_total_chars: int | None = None) -> str | None:
    """Parse ``raw`` as JSON, clean it, dump compactly; None if not JSON.

    Parsing is bounded (``boundedjson``: nesting cut at 64 levels, lone surrogates
    repaired), so the result always encodes as UTF-8. In a hook payload of a subagent
    (``tool_name`` in ``REPORT_TOOLS``) the ``tool_response`` strings may be
    ``REPORT_FACTOR`` times ``max_chars_per_string`` long (``max_total_chars`` still holds).
    """
    import json

    from claude_mem import boundedjson

    try:
        obj = boundedjson.loads(raw)
    except (ValueError, TypeError):
        return None
    budget = None if max_total_chars is None else [max(0, max_total_chars)]
    wider = None
    if (max_chars_per_string is not None and isinstance(obj, dict)
            and obj.get("tool_name") in REPORT_TOOLS):
        wider = {"tool_response": max_chars_per_string * REPORT_FACTOR}
    return json.dumps(clean_value(obj, max_chars_per_string, budget, wider),
                      ensure_ascii=False, separators=(",", ":"))


def clean_raw_json_text(raw: str, max_chars: int) -> str:
    """Last resort for a payload the JSON cleaner could not handle: clean it as text.

    The secrets rules also work on JSON text (escapes included); the result is cut to
    ``max_chars`` and made valid UTF-8. It may no longer be JSON: the worker then parks
    it with the reason, which is better than losing it or storing a secret.
    """
    text = clean_text(raw[:max(0, max_chars) + 4096])
    return cut(text, max_chars).encode("utf-8", "backslashreplace").decode("utf-8")


def clean_payload(raw: str, settings) -> str | None:
    """A hook's stdin as it may be stored: raw when nothing needs removing, else cleaned JSON.

    The one cleaning every way into the queue shares (the hooks, the transcript import),
    sized by ``settings.max_payload_bytes`` and ``max_tool_output_chars``. None only for
    text that is not JSON. Never raises: if the JSON cleaner fails on something
    unforeseen, the raw text is cleaned as text instead (secrets still go), because an
    event must never be lost over how it was cleaned.
    """
    max_payload = clamp_limit(settings.max_payload_bytes, DEFAULT_MAX_PAYLOAD)
    if len(raw) <= max_payload and not needs_cleaning(raw):
        return raw
    max_chars = clamp_limit(settings.max_tool_output_chars, DEFAULT_MAX_CHARS)
    try:
        return clean_json_text(raw, max_chars_per_string=max_chars, max_total_chars=max_payload)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        from claude_mem import log

        log.error(f"cleaning the payload as JSON failed ({exc!r}); cleaning it as text")
        return clean_raw_json_text(raw, max_payload)
