"""TUNING corpus of secret shapes outside the families ``privacy.py`` names (issue 22).

The context-and-shape detector was tuned on this file. Its twin,
``secret_corpus_heldout.py``, was written at the same time, before any tuning, and is never
tuned on: it is the figure that counts.

``unseen_shapes(seed)`` returns ``(label, text, secret)`` triples like
``secret_corpus.secret_shapes``: ``text`` is how the secret appears and ``secret`` is the
part that must never be stored. Values are random per seed (no rule can match a literal).
The families are the ones a prefix list always misses:

* vendor tokens with prefixes no list has (``<vendor>_<kind>_<body>``, ``<vendor>-<body>``),
  bare, in prose, under names that say nothing (``STAGING=…``);
* a machine-made value next to a credential word that is not an assignment of it
  (prose, ``- name: X_TOKEN`` / ``value: …``, ``{"name": …, "value": …}``, tables);
* URLs with a key in the user part (DSN style), with or without a password;
* credential files by their layout: ``htpasswd`` and crypt hashes, ``.netrc`` variants, CSV
  and TSV exports of credentials, markdown tables;
* private key ids.

``UNSEEN_LOOK_ALIKES`` must survive cleaning unchanged: ids and hashes of every kind that
sessions are full of, identifiers, base64 of ordinary data, URLs without credentials.
"""
from __future__ import annotations

import base64
import string

from secret_corpus import ALNUM, B64, HEX, URLSAFE, _Gen

LOWER_DIGITS = string.ascii_lowercase + string.digits
CRYPT64 = "./" + string.ascii_letters + string.digits


def unseen_shapes(seed: int = 1) -> list[tuple[str, str, str]]:
    g = _Gen(seed)
    out: list[tuple[str, str, str]] = []

    def add(label: str, template: str, secret: str) -> None:
        out.append((label, template.replace("{S}", secret), secret))

    # -- vendor tokens with prefixes nobody listed ------------------------------------------
    vendors = [
        ("acme-live", "acme_live_" + g.s(ALNUM, 40)),
        ("zk-prod", "zkp_prod_" + g.s(URLSAFE, 43)),
        ("mxt-dash", "mxt-" + g.s(ALNUM, 48)),
        ("qpk", "qpk_" + g.s(ALNUM, 36) + g.s(string.digits, 6)),
        ("brx-sec", "brx_sec_" + g.s(LOWER_DIGITS, 40)),
        ("nv-api", "nvapi-" + g.s(URLSAFE, 64)),
        ("wrk-pat", "wrkpat_" + g.s(ALNUM, 32) + "_" + g.s(ALNUM, 8)),
        ("cflr", "cflr_" + g.s(ALNUM, 52)),
        ("ory-at", "ory_at_" + g.s(URLSAFE, 43) + "." + g.s(URLSAFE, 43)),
        ("letters-only", "lnr_" + g.s(string.ascii_letters, 40)),
        ("upper-digits", "KRX-" + g.s(string.ascii_uppercase + string.digits, 40)),
        ("two-part", "tpx_" + g.s(ALNUM, 12) + "_" + g.s(ALNUM, 32)),
        ("dotted-prefix", "ak.live." + g.s(ALNUM, 44)),
        ("long-vendor", "cloudvendorapi_" + g.s(ALNUM, 48)),
    ]
    for label, token in vendors:
        add(f"prefix-{label}", "{S}", token)
    add("prefix-in-prose", "I rotated it, the new one is {S} and the old one is gone",
        "obx_" + g.s(ALNUM, 44))
    add("prefix-neutral-env", "STAGING={S}", "stg_live_" + g.s(ALNUM, 40))
    add("prefix-cli-arg", "acmectl login --with {S} --region eu", "acm_" + g.s(URLSAFE, 48))
    add("prefix-json-neutral", '{"value": "{S}", "scope": "read"}', "rvk_" + g.s(ALNUM, 45))
    add("prefix-quoted-code", 'client = Acme("{S}")', "acme_sk_" + g.s(ALNUM, 40))

    # -- a credential word nearby ------------------------------------------------------------
    add("near-api-token-prose", "here's the api token for staging: {S}", g.s(ALNUM, 32))
    add("near-k8s-name-value", "- name: ACME_TOKEN\n  value: {S}", g.s(URLSAFE, 40))
    add("near-json-name-value", '{"name": "DEPLOY_KEY", "value": "{S}"}', g.s(ALNUM, 40))
    add("near-table-row", "| prod | token | {S} |", g.s(ALNUM, 36))
    add("near-use-key", "use key {S} for the upload bucket", g.s(ALNUM, 40))
    add("near-credentials", "credentials {S} (expires Friday)", g.s(URLSAFE, 48))
    add("near-bearer-token", "send it as a bearer token {S}", g.s(ALNUM, 40))
    add("near-signing-secret-prose", "The webhook signing secret for prod: {S}", g.s(B64, 44))
    add("near-key-hex", "api key 4 staging -> {S}", g.s(HEX, 32))
    add("near-passwd-generated", "generated passwd {S}", g.s(ALNUM + "!#%+", 24))

    # -- URLs with a key in the user part ------------------------------------------------------
    add("dsn-sentry", "SENTRY_DSN=https://{S}@o450123.ingest.sentry.io/4505123",
        g.s(HEX, 32))
    add("dsn-sentry-bare", "dsn: https://{S}@errors.example.com/12", g.s(HEX, 32))
    add("url-user-oauth-basic", "git clone https://{S}:x-oauth-basic@github.com/acme/app.git",
        g.s(ALNUM, 40))
    add("url-user-amqps", "amqps://{S}@broker.example.net/prod", g.s(URLSAFE, 40))
    add("url-user-mongodb-srv", "mongodb+srv://{S}@cluster0.ab1cd.mongodb.net/app",
        g.s(ALNUM, 32))
    add("url-user-empty-pass", "curl https://{S}:@api.example.com/v1/charges", g.s(ALNUM, 32))
    add("url-pass-clickhouse", "clickhouse://default:{S}@ch.internal:9000/db", g.s(ALNUM, 24))

    # -- credential files by their layout -----------------------------------------------------
    add("htpasswd-apr1", "jane:$apr1${S}", g.s(CRYPT64, 8) + "$" + g.s(CRYPT64, 22))
    add("htpasswd-bcrypt", "admin:$2y$10${S}", g.s(CRYPT64, 53))
    add("htpasswd-sha", "bob:{SHA}{S}", base64.b64encode(g.r.randbytes(20)).decode())
    add("shadow-sha512", "root:$6${S}:19700:0:99999:7:::", g.s(CRYPT64, 16) + "$" + g.s(CRYPT64, 86))
    add("argon2", "hash = '$argon2id$v=19$m=65536,t=3,p=4${S}'",
        g.s(B64[:-2], 22) + "$" + g.s(B64[:-2], 43))
    add("django-pbkdf2", "pbkdf2_sha256$600000${S}", g.s(ALNUM, 22) + "$" + g.s(B64, 43) + "=")
    add("ssha", "userPassword: {SSHA}{S}", base64.b64encode(g.r.randbytes(24)).decode())
    add("netrc-tabs", "machine api.acme.io\n\tlogin deploy\n\tpassword {S}", g.s(ALNUM, 24))
    add("netrc-default", "default login anonymous password {S}", g.password())
    add("netrc-account", "machine ftp.acme.io login jane account ops password {S}", g.password())
    csv_secret = g.s(B64, 40)
    add("csv-aws-keys", "access_key_id,secret_access_key\nAKIA" + g.s(string.ascii_uppercase + string.digits, 16)
        + ",{S}", csv_secret)
    add("csv-iam-console", "User name,Password,Access key ID,Secret access key,Console login link\n"
        "jane,{S},AKIA" + g.s(string.ascii_uppercase + string.digits, 16) + "," + g.s(B64, 40)
        + ",https://123456789012.signin.aws.amazon.com/console", g.password())
    add("csv-client-secret", "client_id,client_secret,redirect_uri\n" + g.s(string.digits, 12)
        + ",{S},https://app.example.com/cb", g.s(URLSAFE, 40))
    add("csv-semicolon", "service;api_token\nbilling;{S}", g.s(ALNUM, 36))
    add("tsv-passwords", "host\tusername\tpassword\ndb1.internal\tapp\t{S}", g.password())
    add("md-table-keys", "| Service | API Key |\n|---|---|\n| mailer | {S} |", g.s(ALNUM, 32))

    # -- private key ids ----------------------------------------------------------------------
    add("private-key-id-json", '{"type": "service_account", "private_key_id": "{S}"}', g.s(HEX, 40))
    add("private-key-id-env", "GCP_PRIVATE_KEY_ID={S}", g.s(HEX, 40))
    add("private-key-id-yaml", "private_key_id: {S}", g.s(HEX, 40))
    return out


UNSEEN_LOOK_ALIKES = [
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8\nAuthor: Jane <jane@example.com>",
    "Merge: 3f78685 9fceb02",
    "fix(auth): refresh token rotation (a94a8fe5ccb19ba61c4c0873d391e987982fbbd3)",
    "session_id 6f1c2e9a-3b4d-4e8f-9a0b-1c2d3e4f5a6b",
    '"tool_use_id": "toolu_01LvWnndr3MWQW8w3xEieBJx"',
    "msg_01Ab9CdEfGh2IjKlMnOpQrSt req_011CY18gLpbFQrSgEbGovLeU",
    '"integrity": "sha512-Fz2Wb0Ok2Sbw9P0b3SL7PDm0xWfi+kRoyMcM1qtDvRUbcdGBaNgP3PMf8ma6DgbnWwBhrcpe/qJFP2TgGcIhsQ=="',
    "github.com/stretchr/testify v1.8.4 h1:CcVxjf3Q8PM0mHUKJCdn+eZZtm5yQwehR5yeSVQQcUk=",
    "--hash=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "docker.io/library/nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
    "SGVsbG8sIHRoaXMgaXMganVzdCBhIGdyZWV0aW5nIG1lc3NhZ2U=",
    '"key": "UmVwb3J0IGZvciBRMyAyMDI0IGlzIHJlYWR5Lg=="',
    "/nix/store/0c1s8zb5a6pc9fqy5r0m7d1z1v0l5nrx-python3-3.11.4/bin/python3",
    "dist/assets/index-4f8a2c9e.js  142.31 kB",
    "web-7d4b9c8f6-x2k9p   1/1   Running   0   3h",
    "01HGW8Q6Z3K9V2M4N7P5R8T1YB",
    "ObjectId('507f1f77bcf86cd799439011')",
    "TokenRefreshAuthenticationFilter",
    "tests/test_keys.py::test_api_key_rotation_keeps_old_key_valid_for_24h PASSED",
    "version 2.14.0-rc.3+build.20240101",
    "https://github.com/acme/app/commit/9fceb02d0ae598e95dc970b74767f19372d61af8",
    "https://example.com/search?q=token&page=2",
    "git@github.com:acme/app.git",
    "ssh://git@git.example.com:2222/acme/app.git",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl jane@laptop",
    "256 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s jane@laptop (ED25519)",
    "Cache restored from key: Linux-pip-1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
    "echo $HOME$PATH",
    "crypt(3) hashes look like $2y$10$ followed by the salt and hash",
    "id,name,email\n1,Jane,jane@example.com\n2,Bob,bob@example.com",
    "| Variable | Meaning |\n|---|---|\n| API_TOKEN | the token the CLI sends to the API |",
    "key: value",
    "token_count=1500 max_tokens=4096",
    "ETag: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"",
    "Key fingerprint = 1A2B 3C4D 5E6F 7A8B 9C0D  1E2F 3A4B 5C6D 7E8F 9A0B",
    "idempotency-key: 8e4f6f2a-1c3d-4b5e-8f9a-0b1c2d3e4f5a",
    "AbstractSingletonProxyFactoryBean.getObject()",
    "1700000000123 2024-01-01T12:00:00.000Z",
    "internationalization localization",
    "primary key (account_id, created_at)",
]
