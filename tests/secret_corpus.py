"""A corpus of fake credentials in the shapes people leak them, and of look-alikes that must stay.

``secret_shapes(seed)`` returns ``(label, text, secret)`` triples: ``text`` is how the secret
appears (an assignment, a header, a flag, a bare token…) and ``secret`` is the part that must
never be stored. Values are random per seed, so no rule can match a literal; the shapes follow
the families gitleaks and detect-secrets cover and those the hostile test found leaking.

``PLACEMENTS`` puts a text where sessions put such things (prompt, ``.env`` Read, ``cat``
output, command line, Edit, Write, failure text, assistant reply, MCP tool JSON keys): each
returns the hook events (event name, payload without the common fields) carrying it.

``LOOK_ALIKES`` are strings that resemble secrets and must survive cleaning unchanged:
commit hashes, UUIDs, test ids, base64 of ordinary data, code that mentions passwords without
holding one.
"""
from __future__ import annotations

import base64
import random
import string

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


class _Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def s(self, alphabet: str, n: int) -> str:
        # At least one digit and one letter of each case where the alphabet has them, so a
        # value never accidentally reads as a word.
        out = [self.r.choice(alphabet) for _ in range(n)]
        for i, group in enumerate((string.digits, string.ascii_uppercase, string.ascii_lowercase)):
            usable = sorted(set(group) & set(alphabet))
            if n > 6 and usable:
                out[1 + i * 2] = self.r.choice(usable)
        return "".join(out)

    def word(self) -> str:
        return self.r.choice(["Hunter", "Orange", "Falcon", "Maple", "Cobalt", "Juniper", "Pepper"])

    def password(self) -> str:
        return f"{self.word()}{self.r.randint(10, 99)}.{self.word()}{self.s(ALNUM, 4)}!"


def secret_shapes(seed: int = 1) -> list[tuple[str, str, str]]:
    g = _Gen(seed)
    out: list[tuple[str, str, str]] = []

    def add(label: str, template: str, secret: str) -> None:
        out.append((label, template.replace("{S}", secret), secret))

    # -- vendor tokens, bare --------------------------------------------------------------
    vendor = [
        ("openai", "sk-" + g.s(ALNUM, 48)), ("openai-proj", "sk-proj-" + g.s(URLSAFE, 60)),
        ("anthropic", "sk-ant-api03-" + g.s(URLSAFE, 80) + "-" + g.s(URLSAFE, 6) + "AA"),
        ("openrouter", "sk-or-v1-" + g.s(HEX, 64)),
        ("aws-akia", "AKIA" + g.s(string.ascii_uppercase + string.digits, 16)),
        ("aws-asia", "ASIA" + g.s(string.ascii_uppercase + string.digits, 16)),
        ("github-ghp", "ghp_" + g.s(ALNUM, 36)), ("github-gho", "gho_" + g.s(ALNUM, 36)),
        ("github-ghs", "ghs_" + g.s(ALNUM, 36)), ("github-pat", "github_pat_" + g.s(ALNUM, 22) + "_" + g.s(ALNUM, 59)),
        ("gitlab-pat", "glpat-" + g.s(URLSAFE, 20)), ("gitlab-deploy", "gldt-" + g.s(URLSAFE, 20)),
        ("gitlab-runner", "glrt-" + g.s(URLSAFE, 20)),
        ("slack-bot", "xoxb-" + g.s(string.digits, 12) + "-" + g.s(string.digits, 12) + "-" + g.s(ALNUM, 24)),
        ("slack-user", "xoxp-" + g.s(string.digits, 12) + "-" + g.s(ALNUM, 30)),
        ("slack-app", "xapp-1-" + g.s(ALNUM, 11) + "-" + g.s(string.digits, 13) + "-" + g.s(HEX, 64)),
        ("slack-webhook", "https://hooks.slack.com/services/T" + g.s(ALNUM.upper(), 8) + "/B"
         + g.s(ALNUM.upper(), 8) + "/" + g.s(ALNUM, 24)),
        ("discord-webhook", "https://discord.com/api/webhooks/" + g.s(string.digits, 18) + "/" + g.s(URLSAFE, 68)),
        ("google-api", "AIza" + g.s(URLSAFE, 35)), ("google-oauth", "ya29." + g.s(URLSAFE, 60)),
        ("google-client-secret", "GOCSPX-" + g.s(URLSAFE, 28)),
        ("stripe-live", "sk_live_" + g.s(ALNUM, 24)), ("stripe-restricted", "rk_live_" + g.s(ALNUM, 24)),
        ("stripe-test", "sk_test_" + g.s(ALNUM, 24)), ("stripe-webhook", "whsec_" + g.s(ALNUM, 32)),
        ("npm", "npm_" + g.s(ALNUM, 36)), ("pypi", "pypi-AgEIcHlwaS5vcmc" + g.s(URLSAFE, 70)),
        ("digitalocean", "dop_v1_" + g.s(HEX, 64)), ("digitalocean-oauth", "doo_v1_" + g.s(HEX, 64)),
        ("shopify", "shpat_" + g.s(HEX, 32)), ("shopify-shared", "shpss_" + g.s(HEX, 32)),
        ("huggingface", "hf_" + g.s(string.ascii_letters, 34)),
        ("databricks", "dapi" + g.s(HEX, 32)), ("grafana-sa", "glsa_" + g.s(ALNUM, 32) + "_" + g.s(HEX, 8)),
        ("grafana-cloud", "glc_" + g.s(ALNUM, 60) + "=="),
        ("age", "AGE-SECRET-KEY-1" + g.s(string.ascii_uppercase + string.digits, 58)),
        ("telegram", g.s(string.digits, 10) + ":AA" + g.s(URLSAFE, 33)),
        ("discord-bot", "MT" + g.s(ALNUM, 24) + "." + g.s(URLSAFE, 6) + "." + g.s(URLSAFE, 38)),
        ("sendgrid", "SG." + g.s(URLSAFE, 22) + "." + g.s(URLSAFE, 43)),
        ("vault", "hvs." + g.s(URLSAFE, 90)), ("vault-batch", "hvb." + g.s(URLSAFE, 90)),
        ("twilio", "SK" + g.s(HEX, 32)), ("mailgun", "key-" + g.s(HEX, 32)),
        ("mailchimp", g.s(HEX, 32) + "-us14"), ("linear", "lin_api_" + g.s(ALNUM, 40)),
        ("postman", "PMAK-" + g.s(HEX, 24) + "-" + g.s(HEX, 34)),
        ("doppler", "dp.pt." + g.s(ALNUM, 43)), ("pulumi", "pul-" + g.s(HEX, 40)),
        ("terraform", g.s(ALNUM, 14) + ".atlasv1." + g.s(URLSAFE, 67)),
        ("sentry", "sntrys_" + g.s(B64, 60)), ("newrelic", "NRAK-" + g.s(ALNUM.upper(), 27)),
        ("dynatrace", "dt0c01." + g.s(string.ascii_uppercase + string.digits, 24) + "." + g.s(string.ascii_uppercase + string.digits, 64)),
        ("flyio", "fo1_" + g.s(URLSAFE, 43)), ("supabase", "sbp_" + g.s(HEX, 40)),
        ("contentful", "CFPAT-" + g.s(URLSAFE, 43)), ("figma", "figd_" + g.s(URLSAFE, 40)),
        ("notion", "ntn_" + g.s(ALNUM, 46)), ("planetscale", "pscale_tkn_" + g.s(URLSAFE, 43)),
        ("dockerhub", "dckr_pat_" + g.s(URLSAFE, 27)), ("jfrog", "AKCp" + g.s(ALNUM, 69)),
        ("buildkite", "bkua_" + g.s(HEX, 40)), ("groq", "gsk_" + g.s(ALNUM, 52)),
        ("xai", "xai-" + g.s(ALNUM, 80)), ("perplexity", "pplx-" + g.s(ALNUM, 48)),
        ("replicate", "r8_" + g.s(ALNUM, 37)), ("langsmith", "lsv2_pt_" + g.s(HEX, 32) + "_" + g.s(HEX, 10)),
        ("tailscale", "tskey-auth-" + g.s(ALNUM, 17) + "-" + g.s(ALNUM, 33)),
        ("alibaba", "LTAI" + g.s(ALNUM, 20)), ("square", "sq0atp-" + g.s(URLSAFE, 22)),
        ("atlassian", "ATATT3xFfGF0" + g.s(URLSAFE, 180)),
        ("azure-ad-secret", g.s(ALNUM, 3) + "8Q~" + g.s(ALNUM + "_~.-", 34)),
        ("rubygems", "rubygems_" + g.s(HEX, 48)), ("readme", "rdme_" + g.s(HEX, 70)),
        ("jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + base64.urlsafe_b64encode(
            ('{"sub":"' + g.s(ALNUM, 12) + '","name":"Jane"}').encode()).decode().rstrip("=")
         + "." + g.s(URLSAFE, 43)),
    ]
    for label, token in vendor:
        add(label, "{S}", token)
    add("token-in-sentence", "my key is {S} use it", "sk-" + g.s(ALNUM, 40))

    # -- secret-ish names with values (dots, _KEY, formats) ------------------------------------
    for name in ("DB_PASSWORD", "PASSWORD", "MYSQL_ROOT_PASSWORD", "POSTGRES_PASSWORD", "REDIS_PASS",
                 "SMTP_PASSWD", "ADMIN_PWD", "APP_SECRET", "JWT_SECRET", "SESSION_SECRET",
                 "CLIENT_SECRET", "AUTH_TOKEN", "ACCESS_TOKEN", "REFRESH_TOKEN", "API_TOKEN",
                 "GITHUB_TOKEN", "NPM_TOKEN", "API_KEY", "OPENAI_API_KEY", "STRIPE_SECRET_KEY",
                 "ENCRYPTION_KEY", "SIGNING_KEY", "SECRET_KEY", "MASTER_KEY", "LICENSE_KEY",
                 "PRIVATE_KEY_PASSPHRASE", "AWS_SECRET_ACCESS_KEY", "DJANGO_SECRET_KEY",
                 "WEBHOOK_SECRET", "CREDENTIALS", "AUTH_KEY", "HMAC_KEY"):
        value = g.password() if g.r.random() < 0.5 else g.s(B64, 32)
        add(f"env-{name}", name + "={S}", value)
    add("export", "export DATABASE_PASSWORD='{S}'", g.password())
    add("yaml-password-dots", "password: {S}", "correct.horse." + g.word().lower() + ".staple" + str(g.r.randint(1, 9)))
    add("yaml-token", "  token: {S}", g.s(ALNUM, 40))
    add("json-password", '{"password": "{S}"}', g.password())
    add("json-apiKey", '{"apiKey": "{S}"}', g.s(ALNUM, 32))
    add("json-client-secret", '{"client_secret": "{S}"}', g.s(URLSAFE, 40))
    add("python-assign", 'SECRET_KEY = "{S}"', "django-insecure-" + g.s(ALNUM + "!@#%^&*(-_=+)", 50))
    add("js-const", "const apiKey = '{S}';", g.s(ALNUM, 32))
    add("toml", 'api_key = "{S}"', g.s(ALNUM, 32))
    add("ini", "password = {S}", g.password())
    add("properties", "spring.datasource.password={S}", g.password())
    add("go-struct", 'Password: "{S}",', g.password())
    add("sendgrid-dots-env", "SENDGRID_API_KEY={S}", "SG." + g.s(URLSAFE, 22) + "." + g.s(URLSAFE, 43))
    add("vault-env", "VAULT_TOKEN={S}", "hvs." + g.s(URLSAFE, 24))
    add("azure-accountkey", "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={S};EndpointSuffix=core.windows.net",
        g.s(B64, 86) + "==")
    add("azure-sas", "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig={S}",
        g.s(ALNUM, 40) + "%3D")
    add("kubeconfig-key-data", "    client-key-data: {S}", "LS0tLS1CRUdJTiBSU0Eg" + g.s(B64, 120) + "=")
    add("kubeconfig-token", "    token: {S}", g.s(ALNUM, 60))
    add("dockerfile-env", "ENV DB_PASSWORD {S}", g.password())
    add("dockerfile-env-key", "ENV STRIPE_KEY {S}", g.s(ALNUM, 30))
    add("dockerfile-arg", "ARG NPM_TOKEN={S}", g.s(ALNUM, 36))
    add("xml-password", "<password>{S}</password>", g.password())
    add("xml-Password", "<Password>{S}</Password>", g.password())
    add("xml-apikey", "<apiKey>{S}</apiKey>", g.s(ALNUM, 32))
    add("xml-appsetting", '<add key="ApiSecret" value="{S}" />', g.s(ALNUM, 32))
    add("maven-settings", "<server><id>x</id><username>u</username><password>{S}</password></server>", g.password())
    add("pgpass", "db.internal:5432:appdb:appuser:{S}", g.password())
    add("pgpass-star", "*:*:*:postgres:{S}", g.password())
    add("netrc", "machine api.example.com login jane password {S}", g.password())
    add("netrc-multiline", "machine github.com\n  login jane\n  password {S}", g.s(ALNUM, 20))
    add("authorization-bearer", "Authorization: Bearer {S}", g.s(URLSAFE, 40))
    add("authorization-basic", "Authorization: Basic {S}", base64.b64encode(f"jane:{g.password()}".encode()).decode())
    add("authorization-ssws", "Authorization: SSWS {S}", "00" + g.s(URLSAFE, 40))
    add("authorization-token", "Authorization: token {S}", g.s(HEX, 40))
    add("authorization-bare", "Authorization: {S}", g.s(URLSAFE, 40))
    add("authorization-apikey", "Authorization: ApiKey {S}", g.s(B64, 40))
    add("header-x-api-key", "X-API-Key: {S}", g.s(ALNUM, 32))
    add("header-x-auth-token", "X-Auth-Token: {S}", g.s(ALNUM, 32))
    add("curl-header", "curl -H 'Authorization: Bearer {S}' https://api.example.com", g.s(URLSAFE, 40))
    add("cookie-header", "Cookie: sessionid={S}; theme=dark", g.s(ALNUM, 32))
    add("set-cookie", "Set-Cookie: auth={S}; Path=/; HttpOnly", g.s(ALNUM, 40))
    add("cookie-csrf", "Cookie: csrftoken=abc; session={S}", g.s(ALNUM, 40))
    add("curl-cookie", "curl -b 'sid={S}' https://example.com", g.s(ALNUM, 32))
    add("docker-login", "docker login -u jane -p {S} registry.example.com", g.password())
    add("docker-login-quoted", 'docker login --username jane -p "{S}" ghcr.io', g.s(ALNUM, 24))
    add("sshpass", "sshpass -p '{S}' ssh deploy@host", g.password())
    add("sshpass-bare", "sshpass -p {S} scp a b:", g.password())
    add("mysql-p", "mysql -u root -p{S} appdb", g.password())
    add("mysqldump-p", "mysqldump -uroot -p{S} --all-databases", g.s(ALNUM, 16))
    add("redis-cli", "redis-cli -h cache -a {S} ping", g.s(ALNUM, 24))
    add("cli-password", "psql --password={S}", g.password())
    add("cli-token", "gh auth login --with-token {S}", "ghp_" + g.s(ALNUM, 36))
    add("cli-api-key", "tool --api-key {S} run", g.s(ALNUM, 32))
    add("openssl-pass", "openssl rsa -in k.pem -passin pass:{S}", g.password())
    add("curl-user", "curl -u jane:{S} https://example.com", g.password())
    add("url-creds-postgres", "postgres://app:{S}@db.example.com:5432/app", g.password())
    add("url-creds-https", "https://jane:{S}@git.example.com/repo.git", g.s(ALNUM, 20))
    add("url-creds-redis", "redis://:{S}@cache:6379/0", g.s(ALNUM, 24))
    add("url-creds-amqp", "amqp://guest:{S}@mq:5672/", g.password())
    add("url-token-param", "https://api.example.com/v1?access_token={S}&x=1", g.s(ALNUM, 40))
    add("url-key-param", "https://maps.example.com/api?key={S}", g.s(ALNUM, 39))
    add("prose-password", "the password is {S}", g.password())
    add("prose-token", "Your token is: {S}", g.s(ALNUM, 40))
    add("pem-rsa", "-----BEGIN RSA PRIVATE KEY-----\n{S}\n-----END RSA PRIVATE KEY-----",
        "\n".join(g.s(B64, 64) for _ in range(6)))
    add("pem-openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\n{S}\n-----END OPENSSH PRIVATE KEY-----",
        "\n".join(g.s(B64, 70) for _ in range(5)))
    add("pem-ec", "-----BEGIN EC PRIVATE KEY-----\n{S}\n-----END EC PRIVATE KEY-----", g.s(B64, 64))
    add("pem-pkcs8", "-----BEGIN PRIVATE KEY-----\n{S}\n-----END PRIVATE KEY-----", g.s(B64, 64))
    add("pem-encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{S}\n-----END ENCRYPTED PRIVATE KEY-----", g.s(B64, 64))
    add("pgp-private", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{S}\n-----END PGP PRIVATE KEY BLOCK-----", g.s(B64, 64))
    add("putty", "PuTTY-User-Key-File-3: ssh-rsa\nPrivate-Lines: 2\n{S}\nPrivate-MAC: 00",
        g.s(B64, 64) + "\n" + g.s(B64, 40))
    add("private-tag", "keep this <private>{S}</private> out", "my home address is " + g.word() + " street")
    add("private-tag-attrs", '<private reason="personal">{S}</private>', "diagnosis " + g.word())
    add("private-tag-upper", "<PRIVATE>{S}</PRIVATE>", "salary " + str(g.r.randint(10000, 99999)))
    add("gcp-sa-json", '{"type": "service_account", "private_key_id": "' + g.s(HEX, 40) + '", "private_key": "{S}"}',
        "-----BEGIN PRIVATE KEY-----\\n" + g.s(B64, 64) + "\\n-----END PRIVATE KEY-----\\n")
    add("npmrc", "//registry.npmjs.org/:_authToken={S}", "npm_" + g.s(ALNUM, 36))
    add("pypirc", "[pypi]\nusername = __token__\npassword = {S}", "pypi-AgEIcHlwaS5vcmc" + g.s(URLSAFE, 60))
    add("docker-config-auth", '{"auths": {"ghcr.io": {"auth": "{S}"}}}', base64.b64encode(f"jane:{g.password()}".encode()).decode())
    add("git-credentials", "https://jane:{S}@github.com", "ghp_" + g.s(ALNUM, 36))
    add("heroku", "HEROKU_API_KEY={S}", "%s-%s-%s-%s-%s" % (g.s(HEX, 8), g.s(HEX, 4), g.s(HEX, 4), g.s(HEX, 4), g.s(HEX, 12)))
    add("terraform-var", 'db_password = "{S}"', g.password())
    add("helm-set", "helm install x --set auth.password={S}", g.password())
    add("k8s-secret-literal", "kubectl create secret generic db --from-literal=password={S}", g.password())
    add("camel-dbPassword", "dbPassword: '{S}'", g.password())
    add("hash-rocket", ':password => "{S}"', g.password())
    add("php-array", "'api_secret' => '{S}',", g.s(ALNUM, 32))
    add("powershell", '$env:API_TOKEN = "{S}"', g.s(ALNUM, 32))
    add("windows-set", "set DB_PASS={S}", g.password())
    add("github-actions", "GH_TOKEN: {S}", "ghs_" + g.s(ALNUM, 36))
    add("passphrase", "passphrase: {S}", g.password())
    add("pin-like", "SMTP_PASSWORD={S}", g.s(string.digits, 8))
    return out


def _events(kind: str, texts: list[str], i: int) -> list[tuple[str, dict]]:
    tid = f"toolu_{kind}_{i}"
    text = "\n\n".join(texts)
    if kind == "prompt":
        return [("UserPromptSubmit", {"prompt": f"Please deploy with this:\n{text}\nthanks"})]
    if kind == "env_read":
        return [("PostToolUse", {"tool_name": "Read", "tool_use_id": tid,
                                 "tool_input": {"file_path": "/srv/app/.env"},
                                 "tool_response": {"type": "text", "file": {
                                     "filePath": "/srv/app/.env", "content": f"# app settings\n{text}\nDEBUG=false\n",
                                     "numLines": 3, "startLine": 1, "totalLines": 3}}})]
    if kind == "cat":
        return [("PostToolUse", {"tool_name": "Bash", "tool_use_id": tid,
                                 "tool_input": {"command": "cat config/settings.local"},
                                 "tool_response": {"stdout": f"[main]\n{text}\n", "stderr": "", "interrupted": False}})]
    if kind == "command":
        return [("PostToolUse", {"tool_name": "Bash", "tool_use_id": tid,
                                 "tool_input": {"command": f"{text} && echo done"},
                                 "tool_response": {"stdout": "done", "stderr": "", "interrupted": False}})]
    if kind == "edit":
        return [("PostToolUse", {"tool_name": "Edit", "tool_use_id": tid,
                                 "tool_input": {"file_path": "/srv/app/config.py", "old_string": "x = 1",
                                                "new_string": f"x = 1\n{text}\n"},
                                 "tool_response": {"filePath": "/srv/app/config.py", "oldString": "x = 1",
                                                   "newString": f"x = 1\n{text}\n"}})]
    if kind == "write":
        return [("PostToolUse", {"tool_name": "Write", "tool_use_id": tid,
                                 "tool_input": {"file_path": "/srv/app/deploy.sh", "content": f"#!/bin/sh\n{text}\n"},
                                 "tool_response": {"type": "create", "filePath": "/srv/app/deploy.sh"}})]
    if kind == "failure":
        return [("PostToolUseFailure", {"tool_name": "Bash", "tool_use_id": tid,
                                        "tool_input": {"command": "./deploy.sh"},
                                        "error": f"Exit code 1\nerror: rejected credentials\n{text}\n"})]
    if kind == "reply":
        return [("Stop", {"stop_hook_active": False,
                          "last_assistant_message": f"I configured it as follows:\n{text}\nAll set."})]
    if kind == "mcp_keys":
        keys = {block: {"scope": "read"} for block in texts}
        return [("PostToolUse", {"tool_name": "mcp__vault__list_tokens", "tool_use_id": tid,
                                 "tool_input": {"path": "team/tokens"},
                                 "tool_response": {"tokens": keys}})]
    raise ValueError(kind)


PLACEMENTS = ("prompt", "env_read", "cat", "command", "edit", "write", "failure", "reply", "mcp_keys")


def events_for(kind: str, texts: list[str], i: int) -> list[tuple[str, dict]]:
    """The hook events that carry ``texts`` (one block each) in placement ``kind``."""
    return _events(kind, texts, i)


LOOK_ALIKES = [
    "9fceb02d0ae598e95dc970b74767f19372d61af8",        # git commit
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "a1b2c3d",                                          # short hash
    "550e8400-e29b-41d4-a716-446655440000",            # UUID
    "request_id=7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "tests/test_auth.py::test_password_reset_token_expires",
    "tests/test_api.py::TestApiKey::test_rotate_key[sha256]",
    "SGVsbG8sIHdvcmxkISBUaGlzIGlzIG9yZGluYXJ5IGRhdGEu",  # base64 of ordinary text
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "password = getpass.getpass()",
    "password = request.form['password']",
    "self.password = password",
    "if not password:",
    "def check_password(password: str) -> bool:",
    "token = get_token()",
    "api_key = os.environ['API_KEY']",
    "password = os.environ.get('DB_PASSWORD')",
    "secret = settings.SECRET_KEY",
    "max_tokens=1024",
    "token_count: 1500",
    "PRIMARY KEY (id)",
    "key: value",
    "sort_key: created_at",
    "The password reset flow sends an email.",
    "Use the token bucket algorithm for rate limits.",
    "See https://docs.python.org/3/library/secrets.html",
    "version 1.2.3-beta.4",
    "/home/jane/projects/acme/src/auth/tokens.py",
    "PASSWORD_MIN_LENGTH = 12",
    "AUTH_USER_MODEL = 'accounts.User'",
    "password_hash = bcrypt.hashpw(pw, salt)",
    "export PATH=/usr/local/bin:$PATH",
    "DB_PASSWORD=${DB_PASSWORD}",
    "API_KEY=<your-api-key>",
    "session_id: 0b5c7a7e-2f5c-4c8e-9f3e-1d2c3b4a5f6e",
    "12:30:45 INFO started worker",
    "node_modules/.bin/eslint --fix src/",
    "docker run -p 8080:80 -u 1000:1000 nginx",
    "mysql -u root -p appdb",
    "TOKEN_EXPIRY_SECONDS=3600",
]
