"""HELD-OUT corpus of secret shapes outside the families ``privacy.py`` names (issue 22).

Written together with the tuning corpus (``secret_corpus_unseen.py``) and committed BEFORE
the context-and-shape detector existed; the detector was never tuned on it. Do not edit it
to make a figure better: if the detector misses something here, the figure says so. (A
new held-out set, written before the next round of tuning, is the honest way to move on.)

Same families as the tuning corpus, other instances: other invented vendor prefixes and
body alphabets, other prose around the credential word, other URL schemes, other crypt
formats, other credential export layouts. ``heldout_shapes(seed)`` returns
``(label, text, secret)`` triples; ``HELDOUT_LOOK_ALIKES`` must be kept unchanged.

Acceptance (issue 22): at least 95 % of these secrets kept out, every look-alike kept.
"""
from __future__ import annotations

import base64
import string

from secret_corpus import ALNUM, B64, HEX, URLSAFE, _Gen

LOWER_DIGITS = string.ascii_lowercase + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
CRYPT64 = "./" + string.ascii_letters + string.digits


def heldout_shapes(seed: int = 7) -> list[tuple[str, str, str]]:
    g = _Gen(seed)
    out: list[tuple[str, str, str]] = []

    def add(label: str, template: str, secret: str) -> None:
        out.append((label, template.replace("{S}", secret), secret))

    # -- vendor tokens with prefixes nobody listed ------------------------------------------
    vendors = [
        ("plk-live", "plk_live_" + g.s(ALNUM, 34)),
        ("vx-svc", "vxsvc-" + g.s(URLSAFE, 56)),
        ("hb-key", "hbk_" + g.s(ALNUM, 30) + g.s(string.digits, 6)),
        ("mlr", "mlr_" + g.s(LOWER_DIGITS, 44)),
        ("trc-upper", "TRC_" + g.s(UPPER_DIGITS, 36)),
        ("kite", "kite-" + g.s(ALNUM, 40)),
        ("dz-pat", "dzpat_" + g.s(ALNUM, 40) + "_" + g.s(ALNUM, 6)),
        ("qw-prod", "qw_prod_sk_" + g.s(URLSAFE, 48)),
        ("letters", "fbl_" + g.s(string.ascii_letters, 36)),
        ("dot-sep", "ymk." + g.s(ALNUM, 48)),
        ("rtk-session", "rtk_sess_" + g.s(ALNUM, 44)),
        ("numeric-vendor", "v2_" + g.s(ALNUM, 48)),
        ("hyphen-chain", "ops-svc-" + g.s(ALNUM, 40)),
        ("checksum", "gsq_" + g.s(ALNUM, 30) + "_" + g.s(ALNUM, 6)),
    ]
    for label, token in vendors:
        add(f"prefix-{label}", "{S}", token)
    add("prefix-in-prose", "ok, paste {S} into the dashboard and restart", "pst_" + g.s(ALNUM, 40))
    add("prefix-yaml-neutral", "upstream:\n  value: {S}", "upl_live_" + g.s(URLSAFE, 40))
    add("prefix-command", "./deploy.sh --with {S}", "dpl_" + g.s(ALNUM, 44))
    add("prefix-python-call", "sdk.init('{S}')", "hbt_sk_" + g.s(ALNUM, 40))
    add("prefix-json-array", '["{S}"]', "rvx_" + g.s(URLSAFE, 50))

    # -- a credential word nearby ------------------------------------------------------------
    add("near-personal-access-token", "your personal access token: {S}", g.s(ALNUM, 40))
    add("near-helm-set", "- name: MAILER_SECRET\n  value: \"{S}\"", g.s(ALNUM, 36))
    add("near-ecs-env", '{"name": "API_KEY", "value": "{S}"}', g.s(URLSAFE, 44))
    add("near-table", "| staging | api key | {S} |", g.s(ALNUM, 32))
    add("near-token-was", "new deploy token -> {S}", g.s(URLSAFE, 40))
    add("near-auth-prose", "auth with {S} from now on", g.s(ALNUM, 40))
    add("near-secret-paren", "(client secret {S})", g.s(ALNUM, 40))
    add("near-key-colon-hex", "license key   {S}", g.s(HEX, 40))
    add("near-credential-b64", "credential blob {S}", g.s(B64, 60))
    add("near-bearer-quoted", "use the bearer '{S}' for now", g.s(ALNUM, 40))

    # -- URLs with a key in the user part ------------------------------------------------------
    add("dsn-https-hex", "dsn = \"https://{S}@o98765.ingest.us.sentry.io/1234567\"", g.s(HEX, 32))
    add("dsn-user-pass", "https://{S}:" + g.s(HEX, 32) + "@sentry.internal/3", g.s(HEX, 32))
    add("url-user-token-git", "https://{S}@github.com/acme/private.git", "ghx_" + g.s(ALNUM, 36))
    add("url-user-nats", "nats://{S}@nats.example.org:4222", g.s(URLSAFE, 44))
    add("url-user-postgres-key", "postgresql://{S}@db.example.com:5432/app", g.s(ALNUM, 40))
    add("url-user-x-token", "https://x-token:{S}@registry.example.io/v2/", g.s(ALNUM, 32))
    add("url-pass-mssql", "mssql://sa:{S}@sql.internal:1433/app", g.s(ALNUM, 20))

    # -- credential files by their layout -----------------------------------------------------
    add("htpasswd-2b", "deploy:$2b$12${S}", g.s(CRYPT64, 53))
    add("htpasswd-apr1-ci", "ci:$apr1${S}", g.s(CRYPT64, 8) + "$" + g.s(CRYPT64, 22))
    add("htpasswd-md5-crypt", "ops:$1${S}", g.s(CRYPT64, 8) + "$" + g.s(CRYPT64, 22))
    add("shadow-sha256", "jane:$5${S}:19500:0:99999:7:::", g.s(CRYPT64, 16) + "$" + g.s(CRYPT64, 43))
    add("yescrypt", "root:$y$j9T${S}:19800::::::", g.s(CRYPT64, 22) + "$" + g.s(CRYPT64, 43))
    add("ssha512", "userPassword:: {SSHA512}{S}", base64.b64encode(g.r.randbytes(72)).decode())
    add("scrypt-mcf", "$scrypt$ln=16,r=8,p=1${S}", g.s(B64[:-2], 22) + "$" + g.s(B64[:-2], 43))
    add("netrc-multi", "machine a.example.com\nlogin ci\npassword {S}\n", g.s(ALNUM, 28))
    add("netrc-quoted", 'machine b.example.com login bot password "{S}"', g.password())
    csv_secret = g.s(B64, 40)
    add("csv-iam-keys-titled", "Access key ID,Secret access key\nAKIA" + g.s(UPPER_DIGITS, 16) + ",{S}", csv_secret)
    add("csv-username-password", "username,password,url\nbackup,{S},https://nas.local", g.password())
    add("csv-quoted", '"name","token"\n"ci","{S}"', g.s(ALNUM, 40))
    add("tsv-keys", "env\tapi_key\nprod\t{S}", g.s(ALNUM, 32))
    add("md-table-secrets", "| App | Client Secret |\n| --- | --- |\n| web | {S} |", g.s(URLSAFE, 40))

    # -- private key ids ----------------------------------------------------------------------
    add("private-key-id-tf", 'private_key_id = "{S}"', g.s(HEX, 40))
    add("private-key-id-camel", '{"privateKeyId": "{S}"}', g.s(HEX, 40))
    add("private-key-id-upper", "SA_PRIVATE_KEY_ID: {S}", g.s(HEX, 40))
    return out


HELDOUT_LOOK_ALIKES = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main, origin/main)",
    "* 9fceb02 (tag: v1.4.0) Bump token library",
    "Reverts a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 which broke the key loader",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    '"id": "toolu_019xKpQ3mRt7VbNc2LhWy8Zd", "type": "tool_use"',
    "x-request-id: req_01HZY3V8Q2W4E6R8T0Y2U4I6O8",
    '"resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", "integrity": "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg=="',
    "golang.org/x/crypto v0.17.0 h1:r8bRNjWL3GshPW3gkd+RpvzWrZAwPS49OmTGZ/uhM4k=",
    "sha256sum: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  dist.tar.gz",
    "ghcr.io/acme/api@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw==",
    '"payload_b64": "eyJ0aXRsZSI6ICJ3ZWVrbHkgcmVwb3J0In0="',
    "/home/jane/.cache/pip/wheels/8a/3f/0c1s8zb5a6pc9fqy5r0m7d1z/",
    "build/static/js/main.8f3a2b1c.chunk.js",
    "api-deployment-6c9f8d7b5d-4xq7w   0/1   CrashLoopBackOff",
    "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "5f8d0d55b54764421b7156c3",
    "KeyManagementServiceClient.asyncDecrypt",
    "test_secret_rotation_invalidates_previous_secret_after_grace_period",
    "v3.0.0-alpha.12+exp.sha.5114f85",
    "https://gitlab.com/acme/app/-/merge_requests/42/diffs?commit_id=5114f85a3c",
    "https://api.example.com/v1/tokens?limit=20&cursor=abc",
    "ssh -i ~/.ssh/id_ed25519 deploy@203.0.113.10",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg= ops@bastion",
    "The key's randomart image is: SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
    "Restored cache key: node-modules-Linux-8e1b4b5bd6b2c4a3f5e7d9c1b3a5f7e9d1c3b5a7",
    "for f in $1 $2; do echo $f$SUFFIX; done",
    "PHP's password_hash() returns strings that start with $2y$ by default",
    "date,amount,currency\n2024-01-01,12.50,EUR\n2024-01-02,8.00,USD",
    "| Setting | Default |\n|---|---|\n| token_ttl | 3600 |\n| secret_store | vault |",
    "sort_key: created_at",
    "tokens used: 12834 (input 10211, output 2623)",
    'W/"0815-4a3b2c1d5e6f7a8b"',
    "gpg: key 3AA5C34371567BD2: public key \"Jane <jane@example.com>\" imported",
    "Idempotency-Key: 4c8e1f0a-9b2d-4e7f-a1c3-5d6e7f8a9b0c",
    "org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationProvider",
    "1712345678901234567",
    "counterrevolutionaries",
    "the api key is stored in the keychain, never in the repo",
]
