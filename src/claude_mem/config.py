"""Where claude-mem keeps its data, and the settings that shape it — each one checked.

Contract:
- ``data_dir()`` is ``$CLAUDE_MEM_DATA_DIR`` or ``~/.claude-mem``; ``ensure_data_dir()``
  creates it private to the user (0700). The other paths (database, log, socket...) live
  beside it.
- ``SCHEMA`` is the one place a setting is described: its kind (text, choice, int, float,
  list), its range or choices, its default, its environment variable
  (``CLAUDE_MEM_<NAME>``) and a line of help. ``Setting.parse(value)`` turns text or a
  JSON value into the setting's value or raises ``SettingError`` whose message says what
  was wrong and what is allowed. ``config set/get/unset``, the ``config`` listing,
  ``doctor`` and the README's settings table all read it; other modules add their own
  settings with ``register(Setting(...))`` at import of this module's neighbours.
- ``load()`` returns a ``Settings``: the defaults, overlaid by ``<data dir>/settings.json``
  when it exists, overlaid by the environment variables. A bad value never raises and is
  never used: the default (or the file's value, for a bad environment variable) is kept
  and the problem is listed in ``settings.problems``; ``log.warn_once(settings.problems)`` logs each
  distinct set of problems one time, not on every hook call. ``settings.sources`` says
  where each value came from (``default``, ``settings.json``, ``env``).
- ``set_value``/``unset_value`` write ``settings.json`` atomically (0600), refusing a
  file that is not valid JSON instead of overwriting it.
- This module is on the hook path: it imports nothing but ``os`` at load time (``json``
  only when a settings file exists), and no ``dataclasses`` (which pulls in ``inspect``).

Why one module over 400 lines: most of it is the schema, one entry per setting; the
loader and writer next to it are what keeps every reader and writer on that schema.
"""

import os


def is_env_name(text: str) -> bool:
    """An environment variable's name: ASCII letters, digits and _, not starting with a digit
    (checked without ``re``: this module is on the hook path)."""
    return (text.isascii() and (text[:1].isalpha() or text[:1] == "_")
            and all(c.isalnum() or c == "_" for c in text))


def plain_number(number) -> str:
    """A limit as people write it: 1000000, not 1e+06; 0.05 stays 0.05."""
    if float(number).is_integer() and abs(number) < 1e16:
        return str(int(number))
    return f"{number:g}" if abs(number) >= 1e-4 else repr(float(number))


class SettingError(ValueError):
    """A value a setting cannot take; the message names the setting and what it accepts."""


class Setting:
    """One setting: its kind, default, limits and help (see the module contract)."""

    __slots__ = ("name", "kind", "default", "help", "choices", "minimum", "maximum")

    def __init__(self, name: str, kind: str, default, help: str, *, choices: tuple = (),
                 minimum=None, maximum=None):
        self.name = name
        self.kind = kind            # text | name | choice | int | float | list | bool
        self.default = default
        self.help = help
        self.choices = tuple(choices)
        self.minimum = minimum
        self.maximum = maximum

    @property
    def env(self) -> str:
        return "CLAUDE_MEM_" + self.name.upper()

    def allowed(self) -> str:
        """What values are allowed, in words ("an integer from 100 to 100000")."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "list":
            items = (" from " + ", ".join(self.choices)) if self.choices else ""
            return f"a list of names{items} (comma-separated or a JSON list)"
        if self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            low, high = self.minimum, self.maximum
            if low is not None and high is not None:
                return f"{noun} from {plain_number(low)} to {plain_number(high)}"
            if low is not None:
                return f"{noun} of at least {plain_number(low)}"
            if high is not None:
                return f"{noun} of at most {plain_number(high)}"
            return noun
        if self.kind == "name":
            return "the name of an environment variable (letters, digits and _), or empty"
        return "text"

    def _fail(self, why: str):
        raise SettingError(f"{self.name}: {why}; allowed: {self.allowed()}")

    def parse(self, value):
        """``value`` (text from a command line or env var, or a JSON value) as this setting's value."""
        kind = self.kind
        if kind in ("int", "float"):
            return self._number(value)
        if kind == "list":
            return self._list(value)
        if kind == "bool":
            return self._bool(value)
        if not isinstance(value, str):
            self._fail(f"{value!r} is not text")
        if kind == "name":
            name = value.strip()
            if name and not is_env_name(name):
                # Never echo it: what lands here is usually the key itself.
                self._fail("that is not the name of a variable (it looks like the key itself, which "
                           "would be stored in plain text); put the key in an environment variable, "
                           "e.g. `export ANTHROPIC_API_KEY=...`, and give its name")
            return name
        if kind == "choice":
            picked = value.strip().lower()
            if picked not in self.choices:
                self._fail(f"{value!r} is not a valid choice")
            return picked
        return value.strip()

    def _number(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self._fail(f"{value!r} is not {'an integer' if self.kind == 'int' else 'a number'}")
        try:
            if self.kind == "int":
                if isinstance(value, float):
                    if not value.is_integer():
                        raise ValueError
                    value = int(value)
                number = int(value.strip()) if isinstance(value, str) else int(value)
            else:
                number = float(value.strip()) if isinstance(value, str) else float(value)
                if number != number or number in (float("inf"), float("-inf")):
                    raise ValueError
        except ValueError:
            self._fail(f"{value!r} is not {'an integer' if self.kind == 'int' else 'a number'}")
        if self.minimum is not None and number < self.minimum:
            self._fail(f"{plain_number(number)} is too small")
        if self.maximum is not None and number > self.maximum:
            self._fail(f"{plain_number(number)} is too large")
        return number

    def _bool(self, value):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in ("true", "on", "yes", "1"):
            return True
        if text in ("false", "off", "no", "0"):
            return False
        self._fail(f"{value!r} is not true or false")

    def _list(self, value):
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                from claude_mem import jsonlite

                try:
                    value = jsonlite.loads(text)
                except ValueError:
                    self._fail(f"{text!r} is not a valid JSON list")
            else:
                value = [part for part in text.split(",")]
        if not isinstance(value, list):
            self._fail(f"{value!r} is not a list")
        items = []
        for item in value:
            if not isinstance(item, str):
                self._fail(f"{item!r} in the list is not text")
            item = item.strip()
            if not item:
                continue
            if self.choices and item.lower() not in self.choices:
                self._fail(f"{item!r} is not a valid choice")
            items.append(item.lower() if self.choices else item)
        return items


    def salvage(self, value):
        """The usable part of a list from a hand-edited file (``["proj", 1]`` keeps
        ``["proj"]``): one bad entry must not drop the others, and for ``exclude_projects``
        dropping them would record projects the person excluded. None when nothing is usable."""
        if self.kind != "list" or not isinstance(value, list):
            return None
        kept = []
        for item in value:
            try:
                kept += self._list([item])
            except SettingError:
                continue
        return kept or None


SCHEMA: dict = {}
# Plain defaults by name, for code that builds ``Settings`` by hand (tests).
DEFAULTS: dict = {}


def register(*settings: Setting) -> None:
    """Add settings to the schema (each module that owns settings may call this)."""
    for setting in settings:
        SCHEMA[setting.name] = setting
        DEFAULTS[setting.name] = setting.default


register(
    # Compression
    Setting("compressor", "choice", "heuristic",
            "what turns events into observations and summaries (LLM ones need their extra)",
            choices=("heuristic", "claude", "anthropic", "openai")),
    Setting("model", "text", "", "the LLM model; empty means the back-end's default"),
    Setting("llm_base_url", "text", "", "endpoint of the anthropic/openai/claude back-end (proxy, Ollama...)"),
    Setting("llm_api_key_env", "name", "",
            "name of the environment variable that holds the API key (not the key itself)"),
    Setting("llm_timeout_seconds", "float", 60.0, "seconds one LLM call may take",
            minimum=1, maximum=3600),
    Setting("llm_max_retries", "int", 2, "retries of a failed LLM call", minimum=0, maximum=10),
    Setting("llm_max_calls_per_session", "int", 60,
            "LLM calls per Claude Code session before the heuristic takes over", minimum=0),
    Setting("llm_max_tokens_per_session", "int", 200_000,
            "LLM tokens per Claude Code session before the heuristic takes over", minimum=0),
    Setting("llm_batch_size", "int", 8, "tool events sent in one LLM call", minimum=1, maximum=100),
    Setting("skip_tools", "list", ["ToolSearch", "ListMcpResourcesTool", "ReadMcpResourceTool"],
            "tools whose events are not worth an observation"),
    # Capture
    Setting("capture_in_background", "bool", True,
            "`install` writes the tool, Stop and SessionEnd hooks to run in the background "
            "(Claude Code does not wait for their writes); false keeps them synchronous. "
            "Re-run `claude-mem install` after changing it"),
    Setting("max_tool_output_chars", "int", 6000,
            "each stored string is cut to this many characters (head and tail kept; a subagent's report to 4 times as many)",
            minimum=200, maximum=1_000_000),
    Setting("max_payload_bytes", "int", 1_000_000,
            "hook input above this size is parsed and shrunk before storage",
            minimum=10_000, maximum=100_000_000),
    Setting("exclude_projects", "list", [],
            "projects never recorded: names, paths or globs (*, **, ?, ~); "
            "or put a .claude-mem-ignore file in the project"),
    # Context at session start
    Setting("context_tokens", "int", 1500,
            "context budget at session start (~4 characters a token; never over 9,500 characters)",
            minimum=100, maximum=100_000),
    Setting("context_sources", "list", ["startup", "resume", "compact"],
            "SessionStart sources that get context (compact: the other sessions' memory only)",
            choices=("startup", "resume", "clear", "compact")),
    Setting("context_observations", "int", 40, "recent observations considered for the context "
            "(three times as many when the summaries leave most of the budget unused)",
            minimum=0, maximum=1000),
    Setting("context_summaries", "int", 16, "recent request summaries considered for the context",
            minimum=0, maximum=200),
    # Asking the memory (docs/search.md)
    Setting("search_mode", "choice", "auto",
            "how search ranks: words, meaning (the [semantic] extra), both fused; auto = both "
            "once vectors exist, else words", choices=("auto", "words", "meaning", "both")),
    Setting("semantic_model", "choice", "e5-small",
            "the embedding model of search by meaning (shipped inside its package)",
            choices=("e5-small",)),
    Setting("prompt_recall", "bool", True,
            "add the earlier memories most relevant to each prompt (nothing when none is)"),
    Setting("prompt_recall_tokens", "int", 450,
            "most tokens prompt recall adds to a prompt (~4 characters a token)",
            minimum=50, maximum=500),
    # Worker lifecycle
    Setting("worker_idle_seconds", "float", 7200.0,
            "the worker exits after this long with nothing to do", minimum=0.5),
    Setting("session_silence_seconds", "float", 1800.0,
            "a session silent this long (no SessionEnd came) is summarized and closed", minimum=0.5),
    Setting("session_max_age_hours", "float", 24.0,
            "active sessions older than this are summarized and marked failed", minimum=0.01),
    Setting("worker_poll_seconds", "float", 5.0,
            "safety poll of the queue besides socket wake-ups", minimum=0.05, maximum=3600),
    Setting("max_attempts", "int", 5, "a queue row failing this often is parked",
            minimum=1, maximum=100),
    Setting("retry_backoff_seconds", "float", 2.0,
            "pause before a failed row's retry; doubles each time", minimum=0, maximum=3600),
    # Viewer
    Setting("viewer_port", "int", 37737,
            "port of the web viewer on 127.0.0.1; 0 turns it off (not 37777, the original's)",
            minimum=0, maximum=65535),
    # Team memory (the [team] extra): shared projects mirrored through PostgreSQL
    Setting("team_database_url", "text", "",
            "libpq URL of the team's PostgreSQL database; its password is never printed"),
    Setting("team_member", "text", "",
            "how teammates see you; empty means git user.name, else your login"),
    Setting("team_sync_seconds", "float", 30.0,
            "the worker syncs this often (and soon after it stores)", minimum=0.1, maximum=86400),
    Setting("team_connect_timeout_seconds", "float", 5.0,
            "seconds to wait for the team database to answer a connection", minimum=0.1, maximum=300),
    Setting("team_sync_batch", "int", 500,
            "records per server transaction when pushing or pulling", minimum=1, maximum=100_000),
    Setting("team_backoff_seconds", "float", 5.0,
            "first pause after a failed sync; doubles, up to 5 minutes", minimum=0.05, maximum=300),
)

# Settings whose values are never printed as they are (``display_value`` masks them).
SECRET_SETTINGS = ("team_database_url",)


def display_value(name: str, value):
    """A setting's value as it may be shown or logged."""
    if name in SECRET_SETTINGS and value:
        from claude_mem.dburl import mask

        return mask(str(value))
    setting = SCHEMA.get(name)
    if setting is not None and setting.kind == "name" and isinstance(value, str) \
            and value.strip() and not is_env_name(value.strip()):
        return f"[hidden: not a variable name, {len(value)} characters]"
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


def inbox_dir() -> str:
    """Where the shell capture hook (``capture.sh``) leaves events for the worker (``inbox``)."""
    return os.path.join(data_dir(), "inbox")


def socket_path() -> str:
    return os.path.join(data_dir(), "worker.sock")


def wake_path() -> str:
    """The worker's wake-up FIFO: a hook writes one byte to it (see ``control``)."""
    return os.path.join(data_dir(), "worker.wake")


def pid_path() -> str:
    return os.path.join(data_dir(), "worker.pid")


def lock_path() -> str:
    return os.path.join(data_dir(), "worker.lock")


class Settings:
    """Resolved settings; attribute access (``settings.context_tokens``)."""

    __slots__ = ("values", "problems", "sources")

    def __init__(self, values: dict, problems: list[str], sources: dict | None = None):
        self.values = values
        self.problems = problems
        self.sources = sources or {}

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict:
        return dict(self.values)

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")


MAX_SETTINGS_BYTES = 4 << 20   # a settings file people edit by hand; Claude Code's too


class SettingsFileError(Exception):
    """settings.json exists but cannot be read as a JSON object."""


def read_json_object(path: str) -> dict:
    """The JSON object in ``path`` ({} when the file is missing or blank).

    Raises SettingsFileError naming the file when it is not JSON or not an object: a
    settings file people edit by hand is refused, never overwritten. Read through
    ``boundedfile``: a FIFO or device in its place is refused instead of hanging the hook,
    at most ``MAX_SETTINGS_BYTES`` are read, and a value nested too deeply is cut to a
    marker (that one setting is then reported) instead of losing the whole file.
    """
    if not os.path.exists(path):
        return {}
    from claude_mem import boundedfile, jsonlite  # the hook path: no `import json`

    try:
        text = boundedfile.read_text(path, MAX_SETTINGS_BYTES)
    except boundedfile.Refused as exc:
        raise SettingsFileError(str(exc)) from None
    try:
        if not text.strip():
            return {}
        try:
            data = jsonlite.loads(text)
        except ValueError:
            data = boundedfile.loads(text, path)  # too deep for the C parser: cut per value
    except (OSError, ValueError) as exc:
        raise SettingsFileError(f"{path} cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SettingsFileError(f"{path} must hold a JSON object, not {type(data).__name__}")
    return data


def read_settings_file() -> dict:
    """What settings.json holds ({} when there is none); raises SettingsFileError if unreadable."""
    return read_json_object(settings_path())


def load(environ=None) -> Settings:
    """The settings (see the module contract); ``environ``: the variables to read instead of
    this process's (``{}``: the defaults and settings.json only)."""
    environ = os.environ if environ is None else environ
    values = dict(DEFAULTS)
    sources: dict = {}
    problems: list[str] = []
    try:
        from_file = read_settings_file()
    except SettingsFileError as exc:
        problems.append(f"{exc}; using the defaults")
        from_file = {}
    for name, value in from_file.items():
        setting = SCHEMA.get(name)
        if setting is None:
            problems.append(f"settings.json: unknown setting {name!r} ignored")
            continue
        try:
            values[name] = setting.parse(value)
            sources[name] = "settings.json"
        except SettingError as exc:
            kept = setting.salvage(value)
            if kept is None:
                problems.append(f"settings.json: {exc}; using {_shown(values[name])}")
                continue
            values[name], sources[name] = kept, "settings.json"
            problems.append(f"settings.json: {exc}; kept the other entries {_shown(kept)}")
    for name, setting in SCHEMA.items():
        raw = environ.get(setting.env)
        if raw is None:
            continue
        try:
            values[name] = setting.parse(raw)
            sources[name] = "env"
        except SettingError as exc:
            problems.append(f"{setting.env}: {exc}; using {_shown(values[name])}")
    return Settings(values, problems, sources)


def _shown(value) -> str:
    from claude_mem import jsonlite

    return jsonlite.dumps(value)


def unknown_setting_message(name: str) -> str:
    close = [known for known in SCHEMA if name.lower() in known or known in name.lower()]
    hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
    return f"unknown setting {name!r}{hint}; `claude-mem config` lists them all"


def _write_settings_file(data: dict) -> str:
    import json

    ensure_data_dir()
    path = settings_path()
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def set_value(name: str, value):
    """Check ``value`` against the schema and write it to settings.json; returns the parsed value.

    Raises KeyError (unknown name: message from ``unknown_setting_message``), SettingError
    (a value the setting cannot take) or SettingsFileError (the file cannot be read).
    """
    setting = SCHEMA.get(name)
    if setting is None:
        raise KeyError(unknown_setting_message(name))
    parsed = setting.parse(value)
    data = read_settings_file()
    data[name] = parsed
    _write_settings_file(data)
    return parsed


def unset_value(name: str) -> bool:
    """Remove ``name`` from settings.json (back to its default); False when it was not there."""
    data = read_settings_file()
    if name not in data:
        if name not in SCHEMA:
            raise KeyError(unknown_setting_message(name))
        return False
    del data[name]
    _write_settings_file(data)
    return True


def settings_table_markdown() -> str:
    """The README's settings table, generated from the schema (a test keeps them in step)."""
    import json

    rows = ["| setting | default | allowed | meaning |", "|---|---|---|---|"]
    for setting in SCHEMA.values():
        default = json.dumps(setting.default)
        rows.append(f"| `{setting.name}` | `{default}` | {setting.allowed()} | {setting.help} |")
    return "\n".join(rows)
