"""Where claude-mem keeps its data, and the settings that shape it.

Contract:
- ``data_dir()`` is ``$CLAUDE_MEM_DATA_DIR`` or ``~/.claude-mem``; ``ensure_data_dir()``
  creates it private to the user (0700).
- ``load()`` returns a ``Settings``: the defaults below, overlaid by
  ``<data dir>/settings.json`` when that file exists, overlaid by ``CLAUDE_MEM_<NAME>``
  environment variables (upper-case setting name). Bad values are ignored with the
  default kept, never raised: a hook must not fail over a typo in a settings file.
- This module is on the hook path: it imports nothing but ``os`` at load time (``json``
  only when a settings file exists), and no ``dataclasses`` (which pulls in ``inspect``).
"""

import os

DEFAULTS: dict = {
    # Compression
    "compressor": "heuristic",          # heuristic | claude | anthropic | openai
    "model": "",                        # back-end specific; empty = the back-end's default
    "llm_base_url": "",                 # anthropic/openai endpoint override
    "llm_api_key_env": "",              # name of the env var holding the key
    "llm_timeout_seconds": 60.0,
    "llm_max_retries": 2,
    "llm_max_calls_per_session": 60,
    "llm_max_tokens_per_session": 200_000,
    "llm_batch_size": 8,                # tool events per LLM call
    "skip_tools": ["ToolSearch", "ListMcpResourcesTool", "ReadMcpResourceTool"],
    # Capture
    "max_tool_output_chars": 6000,      # per string, before storage / LLM
    "max_payload_bytes": 1_000_000,     # hook input above this is parsed and shrunk
    "exclude_projects": [],             # project names or absolute paths never recorded
    # Context at session start
    "context_tokens": 1500,             # about 4 characters a token; hard cap below 10k chars
    "context_sources": ["startup", "resume", "compact"],  # compact: other sessions only; add "clear" to taste
    "context_observations": 40,
    "context_summaries": 8,
    # Worker lifecycle
    "worker_idle_seconds": 7200.0,      # exit after this long with nothing to do
    "session_silence_seconds": 1800.0,  # finalize a session silent this long (no SessionEnd came)
    "session_max_age_hours": 24.0,      # active sessions older than this are expired
    "worker_poll_seconds": 5.0,         # safety poll of the queue besides socket wake-ups
    "max_attempts": 5,                  # a queue row failing this often is parked
    "retry_backoff_seconds": 2.0,       # pause before a failed row's retry; doubles each time
    "worker_start_delay_seconds": 0.0,  # test hook: simulate a slow worker start
    # Viewer
    "viewer_port": 37737,             # 0 turns the viewer off; not 37777, the original claude-mem's port
    # Team memory (the [team] extra): shared projects mirrored through PostgreSQL
    "team_database_url": "",            # a libpq URL; its password is never printed
    "team_member": "",                  # how teammates see you; default git user.name, else login
    "team_sync_seconds": 30.0,          # the worker syncs this often (and soon after it stores)
    "team_connect_timeout_seconds": 5.0,
    "team_sync_batch": 500,             # records per server transaction when pushing or pulling
    "team_backoff_seconds": 5.0,        # first pause after a failed sync; doubles, up to 5 minutes
}

# Settings whose values are never printed as they are (``display_value`` masks them).
SECRET_SETTINGS = ("team_database_url",)


def display_value(name: str, value):
    """A setting's value as it may be shown or logged."""
    if name in SECRET_SETTINGS and value:
        from claude_mem.team.urls import mask

        return mask(str(value))
    return value

# Hard ceiling on what SessionStart prints: Claude Code cuts hook output at 10,000 chars.
CONTEXT_HARD_LIMIT_CHARS = 9500


def data_dir() -> str:
    configured = os.environ.get("CLAUDE_MEM_DATA_DIR")
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    return os.path.join(os.path.expanduser("~"), ".claude-mem")


def ensure_data_dir() -> str:
    path = data_dir()
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def db_path() -> str:
    return os.path.join(data_dir(), "claude-mem.db")


def settings_path() -> str:
    return os.path.join(data_dir(), "settings.json")


def log_path() -> str:
    return os.path.join(data_dir(), "logs", "claude-mem.log")


def spool_dir() -> str:
    """Where hooks leave events the database could not take; the worker imports them."""
    return os.path.join(data_dir(), "spool")


def spooled_names() -> list[str]:
    """The spooled event files waiting for import, oldest first (names sort by time)."""
    try:
        return sorted(n for n in os.listdir(spool_dir()) if n.endswith(".json"))
    except OSError:
        return []


def socket_path() -> str:
    return os.path.join(data_dir(), "worker.sock")


def pid_path() -> str:
    return os.path.join(data_dir(), "worker.pid")


def lock_path() -> str:
    return os.path.join(data_dir(), "worker.lock")


class Settings:
    """Resolved settings; attribute access (``settings.context_tokens``)."""

    __slots__ = ("values", "problems")

    def __init__(self, values: dict, problems: list[str]):
        self.values = values
        self.problems = problems

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict:
        return dict(self.values)


def coerce(name: str, value, default):
    """Turn ``value`` into the type of ``default``; raise ValueError when it cannot."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name}: expected true/false, got {value!r}")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, list):
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]
    return str(value)


def load() -> Settings:
    values = dict(DEFAULTS)
    problems: list[str] = []
    path = settings_path()
    if os.path.exists(path):
        from claude_mem import jsonlite

        try:
            with open(path, encoding="utf-8") as fh:
                from_file = jsonlite.loads(fh.read())
            if not isinstance(from_file, dict):
                raise ValueError("top level must be an object")
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: {exc}")
            from_file = {}
        for name, value in from_file.items():
            if name not in DEFAULTS:
                problems.append(f"{path}: unknown setting {name!r}")
                continue
            try:
                values[name] = coerce(name, value, DEFAULTS[name])
            except (TypeError, ValueError) as exc:
                problems.append(f"{path}: {exc}")
    for name, default in DEFAULTS.items():
        raw = os.environ.get("CLAUDE_MEM_" + name.upper())
        if raw is None:
            continue
        try:
            values[name] = coerce(name, raw, default)
        except (TypeError, ValueError) as exc:
            problems.append(f"CLAUDE_MEM_{name.upper()}: {exc}")
    return Settings(values, problems)
