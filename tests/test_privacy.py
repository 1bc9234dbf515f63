"""Tests for claude_mem.privacy: private tags, secret redaction, truncation,
the import-free prefilter (superset property) and the no-``re`` import rule."""
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from claude_mem.privacy import (
    REDACTED,
    clean_json_text,
    clean_text,
    clean_value,
    needs_cleaning,
    redact_secrets,
    strip_private,
)

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def _secret(parts):
    # Built by concatenation so this file holds no scanner-triggering literals.
    return "".join(parts)


OPENAI = _secret(["sk-", "proj-", "Ab12Cd34Ef56Gh78Ij90Kl12Mn34"])
ANTHROPIC = _secret(["sk-", "ant-api03-", "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0"])
OPENAI_OLD = _secret(["sk-", "T3BlbkFJ0123456789abcdefghij"])
AWS_ID = _secret(["AKIA", "IOSFODNN7EXAMPLE"])
AWS_STS = _secret(["ASIA", "Y34FZKBOKMUTVV7A"])
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GH = {p: _secret([p, "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"]) for p in
      ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")}
GH_PAT = _secret(["github_pat_", "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"])
SLACK = {p: _secret([p, "-1234567890-0987654321-AbCdEfGhIjKl"]) for p in
         ("xoxa", "xoxb", "xoxp", "xoxr", "xoxs")}
GOOGLE = _secret(["AIza", "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"])
STRIPE = [_secret([p, "4eC39HqLyjWDarjtT1zdp7dc"]) for p in ("sk_live_", "rk_live_")]
JWT = _secret(["eyJ", "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", ".",
               "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ", ".",
               "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"])
PEM = _secret(["-----BEGIN ", "RSA PRIVATE KEY-----\n",
               "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\n",
               "Z1BjP5CE/Wm/Rr500PRK+Lh9x5eJPo5CAZ3/ANBE0s=\n",
               "-----END ", "RSA PRIVATE KEY-----"])

ALL_SECRETS = [OPENAI, ANTHROPIC, OPENAI_OLD, AWS_ID, AWS_STS, GH_PAT, GOOGLE, JWT,
               *GH.values(), *SLACK.values(), *STRIPE]


# --------------------------------------------------------------------------
# Provider tokens
# --------------------------------------------------------------------------

@pytest.mark.parametrize("secret", ALL_SECRETS)
def test_provider_tokens_redacted_alone_and_in_context(secret):
    assert clean_text(secret) == REDACTED
    text = f"got {secret} from the dashboard\n"
    assert clean_text(text) == f"got {REDACTED} from the dashboard\n"
    assert needs_cleaning(text)
    assert needs_cleaning(secret)


@pytest.mark.parametrize("text", [
    "task-1234567890abcdefghij1234 and risk-assessment-for-the-quarter-2024",
    "sk-learn is short",                      # too short, no digits
    "AKIA is not followed by 16 chars",
    "ASIA-PACIFIC region",
    "gh_pages branch, ghp_short",
    "xoxb- alone",
    "AIza too short",
    "sk_live_ and pk_live_4eC39HqLyjWDarjtT1zdp7dc",  # publishable key is public
    "eyJhbGciOiJIUzI1NiJ9 is only a header",
    "pip install scikit-learn==1.4.0",
])
def test_token_lookalikes_untouched(text):
    assert clean_text(text) == text


def test_aws_secret_access_key_assignment():
    for text in (f"aws_secret_access_key = {AWS_SECRET}",
                 f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
                 f'export AWS_SECRET_ACCESS_KEY="{AWS_SECRET}"'):
        out = clean_text(text)
        assert AWS_SECRET not in out and REDACTED in out
        assert out.lower().startswith(("aws_secret_access_key", "export aws_secret"))


# --------------------------------------------------------------------------
# PEM, headers, URLs, curl
# --------------------------------------------------------------------------

def test_pem_block_removed_whole():
    text = f"$ cat id_rsa\n{PEM}\n$ echo done"
    out = clean_text(text)
    assert out == "$ cat id_rsa\n[REDACTED PRIVATE KEY]\n$ echo done"


@pytest.mark.parametrize("kind", ["OPENSSH ", "EC ", "", "ENCRYPTED ", "DSA "])
def test_pem_variants_and_two_blocks(kind):
    block = PEM.replace("RSA ", kind)
    out = clean_text(f"a\n{block}\nb\n{block}\nc")
    assert out == "a\n[REDACTED PRIVATE KEY]\nb\n[REDACTED PRIVATE KEY]\nc"


def test_unclosed_pem_fails_closed():
    head = PEM.split("-----END")[0]
    out = clean_text("key:\n" + head + "and more text")
    assert out == "key:\n[REDACTED PRIVATE KEY]"


def test_public_key_and_certificate_untouched():
    text = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----"
    assert clean_text(text) == text
    text = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    assert clean_text(text) == text


@pytest.mark.parametrize("text,expected", [
    ('curl -H "Authorization: Bearer abc123xyz" https://api.example.com',
     'curl -H "Authorization: Bearer [REDACTED]" https://api.example.com'),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]"),
    ("authorization: token 0123456789abcdef", "authorization: token [REDACTED]"),
    ('{"Authorization": "Bearer abc123xyz"}', '{"Authorization": "Bearer [REDACTED]"}'),
    ("sent Bearer A1b2C3d4E5f6G7h8I9j0K1l2 upstream", "sent Bearer [REDACTED] upstream"),
    ('-H "Authorization: Bearer $TOKEN"', '-H "Authorization: Bearer $TOKEN"'),
    ("Bearer authentication is described in RFC 6750",
     "Bearer authentication is described in RFC 6750"),
])
def test_authorization_headers(text, expected):
    assert clean_text(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("git clone https://alice:hunter22@github.com/a/b.git",
     "git clone https://alice:[REDACTED]@github.com/a/b.git"),
    ("DATABASE_URL=postgres://app:s3cr3t-pw@db:5432/app",
     "DATABASE_URL=postgres://app:[REDACTED]@db:5432/app"),
    ("redis://:longpassword@localhost:6379/0", "redis://:[REDACTED]@localhost:6379/0"),
    ("mongodb+srv://u:p@ss%40word@cluster0.x.net", "mongodb+srv://u:[REDACTED]@cluster0.x.net"),
    ("https://user:${GH_TOKEN}@github.com", "https://user:${GH_TOKEN}@github.com"),
    ("https://git@github.com/a/b and ssh://git@host:22/x",
     "https://git@github.com/a/b and ssh://git@host:22/x"),
    ("http://localhost:8080/path@v2", "http://localhost:8080/path@v2"),
])
def test_credentials_in_urls(text, expected):
    assert clean_text(text) == expected


def test_curl_user_and_uid_gid():
    assert clean_text("curl -u bob:hunter22 https://x") == f"curl -u bob:{REDACTED} https://x"
    assert clean_text("curl --user bob:hunter22 x") == f"curl --user bob:{REDACTED} x"
    for text in ("docker run -u 1000:1000 img", "git push -u origin main:main",
                 "curl -u $USER:$PASS x"):
        assert clean_text(text) == text


# --------------------------------------------------------------------------
# Named assignments
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("DB_PASSWORD=hunter22", "DB_PASSWORD=[REDACTED]"),
    ('export GITHUB_TOKEN="abc123def"', 'export GITHUB_TOKEN="[REDACTED]"'),
    ("export OPENAI_API_KEY='not-a-real-key'", "export OPENAI_API_KEY='[REDACTED]'"),
    ("MYSQL_PWD=hunter22 mysql -u root", "MYSQL_PWD=[REDACTED] mysql -u root"),
    ("db_passwd: hunter22", "db_passwd: [REDACTED]"),
    ("client_secret: 'abc123def'", "client_secret: '[REDACTED]'"),
    ('{"password": "hunter22", "user": "bob"}', '{"password": "[REDACTED]", "user": "bob"}'),
    ('{"apiKey":"abc123def"}', '{"apiKey":"[REDACTED]"}'),
    ("APIKEY = abc123def", "APIKEY = [REDACTED]"),
    ("access_key: abc123def", "access_key: [REDACTED]"),
    ("PRIVATE_KEY=abc123def", "PRIVATE_KEY=[REDACTED]"),
    ("GOOGLE_CREDENTIALS=abc123def", "GOOGLE_CREDENTIALS=[REDACTED]"),
    ("AUTH=abc123def", "AUTH=[REDACTED]"),
    ("X-Auth-Token: abc123def", "X-Auth-Token: [REDACTED]"),
    ("set PASSWORD=hunter22", "set PASSWORD=[REDACTED]"),
    ("$env:API_KEY = 'abc123def'", "$env:API_KEY = '[REDACTED]'"),
    ('password: str = "hunter22"', 'password: str = "[REDACTED]"'),
    ("config['secret'] = 'abc123def'", "config['secret'] = '[REDACTED]'"),
    ("$db = ['password' => 'hunter22'];", "$db = ['password' => '[REDACTED]'];"),
    ("PASSWORD=123456", "PASSWORD=[REDACTED]"),
    ("docker login --password hunter22 -u bob", "docker login --password [REDACTED] -u bob"),
    ("app --api-key=abc123def", "app --api-key=[REDACTED]"),
    ("CALLBACK=https://x.io/cb?token=abc123def", "CALLBACK=https://x.io/cb?token=[REDACTED]"),
    ('PASSWORD="unterminated secret', 'PASSWORD="[REDACTED]'),
    (r'{"command": "export TOKEN=\"abc123def\""}', r'{"command": "export TOKEN=\"[REDACTED]\""}'),
    ("//registry.npmjs.org/:_authToken=abc123def", "//registry.npmjs.org/:_authToken=[REDACTED]"),
    ("PassWord = hunter22", "PassWord = [REDACTED]"),
])
def test_named_assignments_redacted(text, expected):
    assert clean_text(text) == expected
    assert needs_cleaning(text)


@pytest.mark.parametrize("text", [
    "the token count is 5",
    "Tokens: 5",
    "max_tokens=1000",
    '{"input_tokens": 123, "output_tokens": 45}',
    "TOKEN_LIMIT=4096",
    "AUTHOR=Jane Doe",
    "author: Jane",
    "PASSWORD=",
    'API_KEY=""',
    "TOKEN=${GITHUB_TOKEN}",
    "TOKEN=$GITHUB_TOKEN",
    "TOKEN=$(gh auth token)",
    "API_KEY=<your-api-key>",
    "API_KEY=your_api_key_here",
    "API_KEY=xxxxxxxx",
    "PASSWORD=********",
    "PASSWORD=changeme",
    "SECRET={{ vault_secret }}",
    "AUTH_ENABLED=true",
    "token: null",
    "PWD=/home/me/project",
    "OLDPWD=/tmp",
    "TOKEN_FILE=/run/secrets/token",
    "GOOGLE_APPLICATION_CREDENTIALS=./creds/service.json",
    '"token_type": "Bearer"',
    "secretName: db-creds",
    "AUTH_URL=https://auth.example.com/oauth",
    "api_key = os.environ['API_KEY']",
    "token = get_token()",
    "self.token = token",
    "token = self.session.token",
    "def f(token: str, password: Optional[str] = None):",
    "api_key=api_key",
    "if token == expected:",
    "git commit -m 'auth: fix token refresh on expiry'",
    "Authorization: Bearer",
    "the secret is in the vault",
    "the password prompt appeared",
])
def test_non_secrets_untouched(text):
    assert clean_text(text) == text


def test_name_stays_visible_and_rest_of_line_kept():
    out = clean_text("DB_PASSWORD=hunter22 # prod db\nDEBUG=1")
    assert out == "DB_PASSWORD=[REDACTED] # prod db\nDEBUG=1"


# --------------------------------------------------------------------------
# <private> tags
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("a <private>x</private> b", "a [private] b"),
    ("<PRIVATE>x</Private> and <private >y\nz</private >", "[private] and [private]"),
    ("a <private>one</private> b <private>two</private> c", "a [private] b [private] c"),
    ("keep <private>cut\nmore lines", "keep [private]"),
    ("stray </private> stays", "stray </private> stays"),
    ("<private>a<private>b</private>c</private>d", "[private]d"),
    ("<private>a<private>b</private>c", "[private]"),
    ("no tags <privately> here", "no tags <privately> here"),
])
def test_strip_private(text, expected):
    assert strip_private(text) == expected
    assert clean_text(text) == expected


def test_private_then_redact():
    text = f"<private>my key is {OPENAI}</private> and token={OPENAI}"
    assert clean_text(text) == f"[private] and token={REDACTED}"


# --------------------------------------------------------------------------
# Truncation
# --------------------------------------------------------------------------

def test_truncation_keeps_head_and_tail_and_counts():
    text = "H" * 500 + "M" * 1000 + "T" * 100
    out = clean_text(text, max_chars=400)
    assert len(out) <= 400
    head, marker, tail = out.split("\n")
    assert head == "H" * len(head) and len(head) >= 250
    assert tail == "T" * len(tail) and len(tail) >= 20
    assert marker == f"[... {len(text) - len(head) - len(tail)} chars truncated ...]"
    assert clean_text("short", max_chars=400) == "short"
    assert clean_text("abcdef", max_chars=3) == "abc"       # no room for a marker
    assert clean_text("abc", max_chars=None) == "abc"
    # A bad setting (max_tool_output_chars = -1) must never make cleaning fail.
    assert clean_text("abc", max_chars=-1) == ""


def test_truncation_does_not_split_markers():
    text = "A" * 40 + "API_KEY=abc123def " * 40
    for limit in range(60, 200, 7):
        out = clean_text(text, max_chars=limit)
        assert len(out) <= limit
        head, _, tail = out.partition("\n[...")
        for part in (head, tail.partition("...]\n")[2]):
            assert part.count("[") == part.count("]")


def test_truncation_applies_after_redaction():
    out = clean_text(f"{OPENAI} " + "x" * 1000, max_chars=100)
    assert out.startswith(REDACTED) and len(out) <= 100


# --------------------------------------------------------------------------
# clean_value / clean_json_text
# --------------------------------------------------------------------------

def _post_tool_use_payload():
    return {
        "session_id": "abc-123",
        "transcript_path": "/home/me/.claude/projects/x/abc-123.jsonl",
        "cwd": "/home/me/project",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {
            "command": f"export OPENAI_API_KEY={OPENAI} && cat ~/.ssh/id_rsa",
            "description": "Show key",
        },
        "tool_response": {
            "stdout": f"{PEM}\n",
            "stderr": "",
            "interrupted": False,
            "isImage": False,
        },
        "tool_use_id": "toolu_01",
        "extra": [1, 2.5, None, True, {"note": "<private>mine</private> ok"}],
        "auth_token": "abc123def",
    }


def test_clean_value_post_tool_use_payload():
    payload = _post_tool_use_payload()
    before = json.dumps(payload)
    out = clean_value(payload)
    assert json.dumps(payload) == before                 # input not mutated
    assert list(out) == list(payload)                    # keys untouched
    assert out["tool_input"]["command"] == \
        f"export OPENAI_API_KEY={REDACTED} && cat ~/.ssh/id_rsa"
    assert out["tool_response"]["stdout"] == "[REDACTED PRIVATE KEY]\n"
    assert out["tool_response"]["interrupted"] is False
    assert out["extra"] == [1, 2.5, None, True, {"note": "[private] ok"}]
    assert out["auth_token"] == REDACTED                 # secret-looking key
    assert out["session_id"] == "abc-123" and out["cwd"] == "/home/me/project"
    dumped = json.dumps(out)
    assert OPENAI not in dumped and "MIIE" not in dumped and "mine" not in dumped


def test_clean_value_keys_kept_and_truncation_per_string():
    out = clean_value({"password": "hunter22", "token": "${T}", "max_tokens": "50",
                       "a": ["x" * 500, ("y",)]}, max_chars=100)
    assert out["password"] == REDACTED
    assert out["token"] == "${T}" and out["max_tokens"] == "50"
    assert len(out["a"][0]) <= 100 and out["a"][1] == ["y"]


def test_clean_json_text():
    raw = json.dumps(_post_tool_use_payload())
    assert needs_cleaning(raw)
    out = clean_json_text(raw)
    assert out is not None and OPENAI not in out and ", " not in out
    assert json.loads(out) == clean_value(_post_tool_use_payload())
    assert clean_json_text('{"p": "caf\\u00e9 <private>x</private>"}') == '{"p":"café [private]"}'
    assert clean_json_text("not json") is None
    assert clean_json_text("") is None
    assert clean_json_text('{"a": 1}', max_chars_per_string=10) == '{"a":1}'


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

FRAGMENTS = [
    "sk-", "sk-ant-api03-", "sk-proj-", "AKIA", "ASIA", "ghp_", "gho_", "github_pat_",
    "xoxb-", "xapp-", "AIza", "sk_live_", "rk_test_", "whsec_", "eyJ", ".", "-",
    "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "PRIVATE KEY",
    "<private>", "</private>", "<PRIVATE >", "<private", "Authorization", "authorization",
    "Bearer ", "basic ", "token ", "://", "https://", "@", ":", "=", "==", "=>", ":=",
    '"', "'", "\\", "\\\"", " ", "\t", "\n", "[", "]", "{", "}", "(", ")", ",", ";", "$",
    "${", "$(", "<", ">", "password", "PASSWORD", "Passwd", "passphrase", "pwd", "_PWD",
    "PWD", "secret", "Secret", "token", "Token", "tokens", "api_key", "apiKey", "API-KEY",
    "ACCESS_KEY", "private_key", "credentials", "auth", "Auth", "author", "export ", "--",
    " -u ", "--user ", "-u", "[REDACTED]", "[private]", "xxx", "changeme", "none", "str",
    "os.environ", "f", "r", "1000", "hunter22", "K", "\u212a", "\u0130", "\u017f",
    "\\u00", "\\/", "/", "?", "&", "#",
    # the anchors that count only with their token's shape (Mailchimp, Twilio, Mailgun,
    # Telegram) and the escapes the prefilter lets pass (colours) or not (a hidden "S")
    "-us", "-us1", "SK", "key-", ":A", "0123456789abcdef0123456789abcdef", "1234567",
    "\\u001b", "\\u0007", "\\u000b", "\\u0053", "\\u001c",
]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/="

texts = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(alphabet=B64, min_size=1, max_size=40),
        st.text(max_size=6),
    ),
    max_size=14,
).map("".join)

# database=None: leave no .hypothesis/ directory behind in the repo.
FAST = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(texts)
def test_prefilter_is_superset(text):
    if clean_text(text) != text:
        assert needs_cleaning(text)
    if redact_secrets(text) != text or strip_private(text) != text:
        assert needs_cleaning(text)


@FAST
@given(texts)
# Found by CI: the escape's letters ("u0007") join the credential word into one raw run,
# and decoding moved the value's run past that run's end.
@example("\x07passwordsk-PASSWORDPASSWORD00000000A0A0")
def test_prefilter_superset_for_raw_json(text):
    for raw in (json.dumps(text), json.dumps(text, ensure_ascii=False),
                json.dumps({"k": text, text[:12]: [text]})):
        cleaned = clean_json_text(raw)
        plain = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":"))
        if cleaned != plain:
            assert needs_cleaning(raw)


@FAST
@given(texts)
def test_idempotent(text):
    once = clean_text(text)
    assert clean_text(once) == once
    assert redact_secrets(redact_secrets(text)) == redact_secrets(text)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(), st.one_of(st.none(), st.integers(min_value=0, max_value=200)))
def test_never_raises_and_respects_limit(text, limit):
    out = clean_text(text, limit)
    assert isinstance(out, str)
    if limit is not None:
        assert len(out) <= limit
    if not needs_cleaning(text):
        assert clean_text(text) == text


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
))
def test_clean_value_never_raises_and_keeps_keys(value):
    out = clean_value(value)
    if isinstance(value, dict):
        # Keys are cleaned like text (a secret used as a key goes); none is merged away.
        assert len(out) == len(value)
        assert [k for k in out if k in value] == [k for k in value if clean_text(k) == k]
    assert clean_value(out) == out


def test_every_example_secret_triggers_prefilter():
    for secret in ALL_SECRETS + [PEM, AWS_SECRET and f"aws_secret_access_key={AWS_SECRET}"]:
        assert needs_cleaning(secret)
        assert clean_text(secret) != secret


def test_prefilter_quiet_on_ordinary_text():
    for text in (
        "Ran 12 tests, 12 passed in 0.3s",
        "The key insight is that the tokenizer splits words.",
        "def main():\n    print('hello')\n",
        "See https://docs.python.org/3/library/re.html for details",
        "email me at a@b.c",
        "cd /tmp && ls -la",
        "the token count is 5",
    ):
        assert not needs_cleaning(text), text


def test_prefilter_quiet_on_common_anchor_look_alikes_and_terminal_colours():
    """What sent a quarter of real tool payloads through the full cleaning for nothing:
    "-us"/"SK"/"key-"/":A" without the shape their tokens have, and colour codes that
    Claude Code writes as JSON escapes."""
    for raw in (
        json.dumps({"tool_response": {"stdout": "run-user-setup; TASK-12 done; DISK ok"}}),
        json.dumps({"content": "ALTER TABLE t ADD CONSTRAINT primary-key-id; Note:All good"}),
        json.dumps({"stdout": "\x1b[32m5 passed\x1b[0m in 0.2s\x07"}),
    ):
        assert not needs_cleaning(raw), raw


def test_prefilter_still_sees_tokens_behind_those_anchors_and_escapes():
    hex32 = "0123456789abcdef" * 2
    for secret in (f"{hex32}-us7", f"SK{hex32}", f"key-{hex32}", "1234567:A" + "b" * 34):
        assert needs_cleaning(json.dumps({"stdout": f"value {secret} here"})), secret
    # An escape of a printable character or of a blank may hide an anchor: still cleaned.
    hidden = '{"a": "\\u0053K' + hex32 + '"}'  # "SK<32 hex>" with its S escaped
    assert needs_cleaning(hidden)
    assert hex32 not in json.loads(clean_json_text(hidden))["a"]
    for raw in ('{"a": "\\u003cprivate>x"}', '{"a": "password\\u000b= hunter2hunter2"}'):
        assert needs_cleaning(raw), raw


# --------------------------------------------------------------------------
# Import cost
# --------------------------------------------------------------------------

def test_import_does_not_load_re_or_json():
    code = (
        "import sys\n"
        f"sys.path.insert(0, {SRC!r})\n"
        "before = {'re', 'json'} & set(sys.modules)\n"
        "import claude_mem.privacy as p\n"
        "p.needs_cleaning('export API_KEY=abc <private>x</private> https://u:p@h')\n"
        "print(sorted(({'re', 'json'} & set(sys.modules)) - before))\n"
    )
    res = subprocess.run([sys.executable, "-S", "-c", code],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


@pytest.mark.parametrize("text, expected", [
    ("password: correct horse battery staple", "password: [REDACTED]"),
    ("DB_PASSWORD=Hunter2.Secret99", "DB_PASSWORD=[REDACTED]"),
    ("ENCRYPTION_KEY=9f86d081884c7d659a2feaa0c55ad015", "ENCRYPTION_KEY=[REDACTED]"),
    ("Authorization: SSWS 00abcDEF123ghiJKL456mnoPQR", "Authorization: SSWS [REDACTED]"),
    ("Cookie: sessionid=a8F3kd92LmQ; theme=dark", "Cookie: sessionid=[REDACTED]; theme=[REDACTED]"),
    ("mysql -uroot -pS3cretPw appdb", "mysql -uroot -p[REDACTED] appdb"),
    ("ENV DB_PASSWORD Hunter2.Secret99", "ENV DB_PASSWORD [REDACTED]"),
    ("<password>Hunter2.Secret99</password>", "<password>[REDACTED]</password>"),
    ("db:5432:app:appuser:Hunter2x", "db:5432:app:appuser:[REDACTED]"),
    ('<private reason="health">a diagnosis</private> ok', "[private] ok"),
])
def test_families_the_hostile_test_found(text, expected):
    assert clean_text(text) == expected


@pytest.mark.parametrize("text", [
    "The password: must be 12 chars", "password: reset the flow", "sort_key: created_at",
    "primary_key = 550e8400-e29b-41d4-a716-446655440000", "secret = settings.SECRET_KEY",
    "9fceb02d0ae598e95dc970b74767f19372d61af8", "SGVsbG8sIHdvcmxkIQ==",
])
def test_look_alikes_of_those_families_stay(text):
    assert clean_text(text) == text


def test_secrets_used_as_json_keys_are_cleaned():
    token = "ghp_" + "aB3" * 12
    out = clean_value({"tokens": {token: {"scope": "read"}, "ok": 1}})
    assert token not in json.dumps(out) and out["tokens"]["ok"] == 1
