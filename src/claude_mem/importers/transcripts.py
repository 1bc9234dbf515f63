"""Claude Code transcripts, replayed as the hook events Claude Code would have fired.

Contract:
- ``find_transcripts(config_dir=None)`` lists the session transcripts under Claude Code's
  ``projects/`` folder (``$CLAUDE_CONFIG_DIR`` or ``~/.claude``), newest last; subagent
  transcripts (``…/subagents/agent-*.jsonl``) are not sessions and are left out.
- ``Transcript(path).events()`` reads one transcript streaming (one line at a time, bounded
  memory whatever the file's size) and yields ``HookEvent``s — ``(name, payload, at)`` with
  ``payload`` shaped exactly like the JSON Claude Code gives the hook on stdin and ``at`` the
  moment it would have fired (epoch seconds, never going backwards). A malformed line is
  counted in ``problems`` and skipped.
- ``SessionPlan(store, …)`` decides, per event, whether memory already holds it (a session
  captured live by the hooks, or imported before): sessions by session id, prompts by
  ``promptId`` or, for prompts the hooks saw under their own id, by their text, tool calls by
  ``tool_use_id``. Only what is missing is queued; the import is idempotent.

What fires, as measured on Claude Code 2.1.38/2.1.39 and 2.1.332 (see the tests):
- SessionStart ``startup`` at the first entry; SessionStart ``compact`` at each
  ``compact_boundary`` (the ``isCompactSummary`` message that follows is not a prompt).
- UserPromptSubmit for each typed prompt; a ``/command`` counts when the model answered it
  (custom commands and skills), not when Claude Code handled it locally (``/compact``,
  ``/model``…). Meta messages, local-command output, ``!`` shell input and
  ``<task-notification>`` turns are not prompts. A message queued while the model worked
  counts where it reached the model (``queued_command``) or as its own turn.
- PostToolUse where a tool_use is answered by a successful tool_result, with the entry's
  ``toolUseResult`` as ``tool_response``; PostToolUseFailure for a failed call that ran.
  No hook for a call that never ran: a ``<tool_use_error>`` validation error, a rejected or
  interrupted call, a Bash call a PreToolUse hook blocked (a Bash that ran always reports
  ``Exit code N``). Where the transcript recorded hook progress for the call, that decides.
  Events come in the order results arrived (parallel calls finish in any order).
- Stop where a turn ends without an interruption, also after an empty last response, with
  the turn's last non-empty text as ``last_assistant_message``: where Claude Code noted it
  (``stop_hook_summary``, ``turn_duration``), else before the next prompt or at the end.
- Sidechain entries are subagents' own steps: like the hooks' payloads, the import keeps the
  Task call and its result (the subagent's report), not every step inside it.
- SessionEnd at the end of the transcript (reason ``import``).

Long because the one concern is: every rule above is a case of the same replay state
machine (which turn a line belongs to, what already fired), kept together so it reads in
the order Claude Code fires.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime

# A line longer than this is skipped as malformed (no real entry comes close).
MAX_LINE_BYTES = 64 * 1024 * 1024

# Built-in commands Claude Code runs itself: no model turn, no UserPromptSubmit.
LOCAL_COMMANDS = frozenset({
    "add-dir", "agents", "bashes", "bug", "clear", "compact", "config", "context", "cost",
    "doctor", "exit", "export", "help", "hooks", "ide", "install-github-app", "login",
    "logout", "mcp", "memory", "migrate-installer", "model", "output-style", "permissions",
    "plugin", "plugins", "privacy-settings", "quit", "release-notes", "resume", "rewind",
    "sandbox", "status", "statusline", "terminal-setup", "theme", "todos", "upgrade", "usage",
    "vim",
})

_UUID_NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_NOT_PROMPT_PREFIXES = ("<local-command-stdout>", "<local-command-stderr>",
                        "<local-command-caveat>", "<bash-input>", "<bash-stdout>",
                        "<bash-stderr>", "<user-memory-input>", "Caveat: The messages below")
_NEVER_RAN = ("<tool_use_error>", "The user doesn't want to proceed",
              "[Request interrupted by user", "User rejected", "The user rejected")


def claude_config_dir(config_dir: str | None = None) -> str:
    return os.path.abspath(os.path.expanduser(
        config_dir or os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join("~", ".claude")))


def _is_session_file(path: str) -> bool:
    name = os.path.basename(path)
    return (name.endswith(".jsonl") and not name.startswith("agent-")
            and "subagents" not in path.split(os.sep))


def find_transcripts(config_dir: str | None = None) -> list[str]:
    """The session transcripts Claude Code keeps under ``<config dir>/projects``, oldest first.

    For ``claude-mem install`` to say how many wait for ``claude-mem import transcripts``.
    """
    return transcript_files([os.path.join(claude_config_dir(config_dir), "projects")])


def transcript_files(paths) -> list[str]:
    """Every transcript named by ``paths`` (files, or folders searched recursively)."""
    found: list[tuple[float, str]] = []
    for path in paths:
        path = os.path.abspath(os.path.expanduser(path))
        if os.path.lexists(path) and not os.path.isdir(path):  # named directly: whatever it
            # is (a FIFO, a device), the import reports it rather than passing over it
            found.append((_mtime(path), path))
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d != "subagents"]
            for name in files:
                full = os.path.join(folder, name)
                if _is_session_file(full):
                    found.append((_mtime(full), full))
    seen, out = set(), []
    for _, path in sorted(found):
        if path not in seen:
            seen.add(path)
            out.append(path)
    return out


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def parse_time(value) -> float | None:
    """An ISO-8601 timestamp (``2026-02-10T21:54:53.186Z``) as epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


_TYPE_KEY = b'"type":"'


def _uninteresting_progress(line: bytes) -> bool:
    """A progress line other than hook progress, known without parsing it.

    The entry's own ``type`` is the first ``"type":"`` in the line (the keys before it hold
    no objects), and inside JSON strings quotes are escaped, so this cannot misread text.
    Only hook progress is used (which hooks ran for a tool call).
    """
    at = line.find(_TYPE_KEY)
    return at >= 0 and line.startswith(b'progress"', at + len(_TYPE_KEY)) \
        and b"hook_progress" not in line


@dataclass
class HookEvent:
    name: str
    payload: dict
    at: float


def _text_of(content) -> str:
    """The text of a message or tool_result content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text") or ""))
            elif isinstance(block, str):
                parts.append(block)
        return "\n".join(parts)
    return ""


def _command_prompt(text: str) -> tuple[str, str] | None:
    """``(command name, prompt text)`` for a slash-command message, else None."""
    match = re.search(r"<command-name>\s*/?([^<]*?)\s*</command-name>", text)
    if not match:
        return None
    name = match.group(1).strip()
    args = re.search(r"<command-args>(.*?)</command-args>", text, re.S)
    args_text = args.group(1).strip() if args else ""
    return name, f"/{name} {args_text}" if args_text else f"/{name}"


@dataclass
class _Turn:
    prompt_id: str = ""
    last_text: str = ""
    last_at: float = 0.0
    answered: bool = False      # the model said or did something in it
    interrupted: bool = False
    failed: bool = False        # ended by an API error: no Stop fires


class Transcript:
    """One transcript file, read streaming into the hook events it stands for."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[str] = []   # "line N: why" for each skipped line
        self.lines = 0
        self.bytes_read = 0
        self.session_id = ""
        self.cwd = ""
        self.first_at: float | None = None
        self.last_at: float | None = None
        stem = os.path.basename(path)[:-len(".jsonl")] if path.endswith(".jsonl") else ""
        self._file_session = stem if _UUID_NAME.match(stem) else ""

    # -- reading -------------------------------------------------------------------------

    def entries(self):
        """Each JSON object in the file, in order; malformed lines are noted and skipped.

        Read through ``boundedfile``: a FIFO or device refuses to open, an over-long line is
        skipped, and a line nested too deeply loses only its deep value.
        """
        from claude_mem import boundedfile

        counter = [0, 0]
        try:
            for number, entry, problem in boundedfile.json_lines(
                    self.path, MAX_LINE_BYTES, skip=_uninteresting_progress, counter=counter):
                self.bytes_read, self.lines = counter
                if problem:
                    self.problems.append(f"line {number}: {problem}")
                    continue
                if not isinstance(entry, dict):
                    self.problems.append(f"line {number}: a JSON {type(entry).__name__}, not an object")
                    continue
                yield entry
        finally:
            self.bytes_read = counter[0]

    # -- converting ----------------------------------------------------------------------

    def events(self):
        """The hook events of this session, in the order the hooks would have fired."""
        self._out: list[HookEvent] = []
        self._started = False
        self._turn: _Turn | None = None
        self._prompt_id = ""
        self._permission_mode = "default"
        self._tools: dict[str, tuple[str, dict]] = {}   # tool_use_id -> (name, input)
        self._hooked: dict[str, set] = {}                # tool_use_id -> hook events seen
        self._command: tuple[str, dict, float] | None = None  # a /command not yet answered
        self._at = 0.0
        for entry in self.entries():
            self._entry(entry)
            yield from self._drain()
        self._settle_command(answered=False)
        self._end_turn()
        if self._started:
            self._emit("SessionEnd", {"reason": "import"})
        yield from self._drain()

    def _drain(self):
        out, self._out = self._out, []
        yield from out

    def _emit(self, name: str, fields: dict, at: float | None = None) -> None:
        at = max(self._at, at if at is not None else self._at)
        self._at = at
        payload = {"session_id": self.session_id, "transcript_path": self.path, "cwd": self.cwd,
                   "hook_event_name": name}
        if name not in ("SessionStart",):
            payload["prompt_id"] = self._prompt_id
        if name in ("UserPromptSubmit", "PostToolUse", "PostToolUseFailure", "Stop"):
            payload["permission_mode"] = self._permission_mode
        payload.update(fields)
        self._out.append(HookEvent(name, payload, at))

    def _start(self, at: float) -> None:
        if not self._started and self.session_id:
            self._started = True
            self._emit("SessionStart", {"source": "startup"}, at)

    def _entry(self, entry: dict) -> None:
        kind = entry.get("type")
        if kind == "progress":
            data = entry.get("data")
            if isinstance(data, dict) and data.get("type") == "hook_progress":
                use_id = entry.get("parentToolUseID") or entry.get("toolUseID")
                if isinstance(use_id, str) and use_id in self._tools:
                    self._hooked.setdefault(use_id, set()).add(data.get("hookEvent"))
            return
        if entry.get("isSidechain") is True:
            return  # a subagent's own step; its Task call and report are in the main line
        at = parse_time(entry.get("timestamp"))
        if kind not in ("user", "assistant", "system", "attachment"):
            return  # queue operations, snapshots, summaries, costs…: no hook of their own
        if not self.session_id:
            sid = entry.get("sessionId")
            self.session_id = self._file_session or (sid if isinstance(sid, str) else "")
        if isinstance(entry.get("cwd"), str) and entry["cwd"]:
            self.cwd = entry["cwd"]
        if at is not None:
            self.first_at = at if self.first_at is None else self.first_at
            self.last_at = at if self.last_at is None else max(self.last_at, at)
        at = at if at is not None else self._at
        if not self.session_id:
            return
        self._start(at)
        turn = self._turn
        self._dispatch(kind, entry, at)
        if turn is not None and turn is self._turn:  # the entry belongs to the running turn
            turn.last_at = max(turn.last_at, at)

    def _dispatch(self, kind: str, entry: dict, at: float) -> None:
        if kind == "system":
            subtype = entry.get("subtype")
            if subtype in ("stop_hook_summary", "turn_duration"):
                self._end_turn()  # Claude Code noted the end of the turn: Stop fired here
            elif subtype == "compact_boundary":
                metadata = entry.get("compactMetadata")
                if isinstance(metadata, dict) and metadata.get("trigger") == "manual":
                    self._end_turn()  # /compact runs between turns
                self._emit("SessionStart", {"source": "compact"}, at)
            return
        if kind == "attachment":
            attachment = entry.get("attachment")
            if isinstance(attachment, dict) and attachment.get("type") == "queued_command":
                text = _text_of(attachment.get("prompt"))
                if text.strip() and not text.lstrip().startswith("<task-notification>"):
                    self._prompt(text, entry, at)
            return
        message = entry.get("message")
        if not isinstance(message, dict):
            return
        if kind == "assistant":
            self._assistant(entry, message, at)
        else:
            self._user(entry, message, at)

    def _assistant(self, entry: dict, message: dict, at: float) -> None:
        self._settle_command(answered=True)
        if message.get("model") == "<synthetic>" or entry.get("isApiErrorMessage"):
            if entry.get("isApiErrorMessage") and self._turn is not None:
                self._turn.failed = True
            return
        if self._turn is None:
            self._turn = _Turn(prompt_id=self._prompt_id, last_at=at)
        self._turn.answered = True
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and str(block.get("text") or "").strip():
                self._turn.last_text = str(block["text"]).strip()
            elif block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                tool_input = block.get("input")
                self._tools[block["id"]] = (str(block.get("name") or "unknown"),
                                            tool_input if isinstance(tool_input, dict) else {})

    def _user(self, entry: dict, message: dict, at: float) -> None:
        content = message.get("content")
        results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"] \
            if isinstance(content, list) else []
        if results:
            for block in results:
                self._tool_result(entry, block, len(results) == 1, at)
            if "[Request interrupted by user" in _text_of(content) and self._turn is not None:
                self._turn.interrupted = True
            return
        text = _text_of(content)
        stripped = text.strip()
        if entry.get("isMeta") or entry.get("isCompactSummary") or entry.get("isVisibleInTranscriptOnly"):
            if entry.get("isMeta"):
                self._settle_command(answered=True)  # a command's expansion goes to the model
            return
        if not stripped:
            return
        if stripped.startswith("[Request interrupted by user"):
            if self._turn is not None:
                self._turn.interrupted = True
            return
        if stripped.startswith(_NOT_PROMPT_PREFIXES):
            self._settle_command(answered=False)
            return
        if stripped.startswith("<task-notification>"):
            # A background task reported in: the model works on, the hooks see no prompt,
            # and its turn ends with a Stop of its own.
            self._settle_command(answered=False)
            self._end_turn()
            self._turn = _Turn(prompt_id=self._prompt_id, last_at=at)
            return
        command = _command_prompt(stripped)
        if command is not None:
            self._settle_command(answered=False)
            self._command = (command[1], entry, at) if command[0] not in LOCAL_COMMANDS else None
            return
        self._settle_command(answered=False)
        self._prompt(text, entry, at)

    def _settle_command(self, *, answered: bool) -> None:
        """A /command became a prompt if the model took it up, else Claude Code ran it."""
        if self._command is None:
            return
        text, entry, at = self._command
        self._command = None
        if answered:
            self._prompt(text, entry, at)

    def _prompt(self, text: str, entry: dict, at: float) -> None:
        self._end_turn()
        prompt_id = entry.get("promptId") or entry.get("uuid") or f"line-{self.lines}"
        self._prompt_id = str(prompt_id)
        if isinstance(entry.get("permissionMode"), str):
            self._permission_mode = entry["permissionMode"]
        self._emit("UserPromptSubmit", {"prompt": text}, at)
        self._turn = _Turn(prompt_id=self._prompt_id, last_at=at)

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is None or not turn.answered or turn.interrupted or turn.failed:
            return
        self._emit("Stop", {"stop_hook_active": False,
                            "last_assistant_message": turn.last_text}, turn.last_at)

    def _tool_result(self, entry: dict, block: dict, single: bool, at: float) -> None:
        use_id = block.get("tool_use_id")
        known = self._tools.pop(use_id, None) if isinstance(use_id, str) else None
        if known is None:
            return  # no call seen for it (e.g. lost to a malformed line)
        name, tool_input = known
        hooked = self._hooked.pop(use_id, set())
        text = _text_of(block.get("content"))
        base = {"tool_name": name, "tool_input": tool_input, "tool_use_id": use_id}
        if not block.get("is_error"):
            response = entry.get("toolUseResult") if single and "toolUseResult" in entry else text
            self._emit("PostToolUse", {**base, "tool_response": response}, at)
            return
        if hooked:  # the transcript saw which hooks ran for this call
            if "PostToolUseFailure" in hooked or "PostToolUse" in hooked:
                self._emit("PostToolUseFailure", {**base, "error": text, "is_interrupt": False}, at)
            return
        stripped = text.lstrip()
        if stripped.startswith(_NEVER_RAN):
            if "[Request interrupted by user" in stripped and self._turn is not None:
                self._turn.interrupted = True
            return
        if name == "Bash" and not stripped.startswith(("Exit code", "Command timed out")):
            return  # a PreToolUse hook's refusal: the command never ran
        self._emit("PostToolUseFailure", {**base, "error": text, "is_interrupt": False}, at)


# -- deciding what memory already holds ----------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(str(text or "").split())


@dataclass
class SessionPlan:
    """Filters one transcript's events down to what memory does not hold yet."""

    state: dict | None                  # Store.session_import_state(), None for a new session
    clean: object = None                # payload text -> the text the hooks would store
    kept: dict = field(default_factory=dict)      # event name -> count queued
    skipped: int = 0
    _prompt_ids: dict = field(default_factory=dict)   # transcript prompt id -> stored one
    _touched_prompts: set = field(default_factory=set)
    _pending: list = field(default_factory=list)

    def __post_init__(self):
        state = self.state or {}
        self._known_ids = {p["prompt_id"] for p in state.get("prompts", ()) if p["prompt_id"]}
        # Prompts the hooks stored under their own ids, matched by text in order.
        self._by_text = [(_norm(p["prompt"]), p["prompt_id"]) for p in state.get("prompts", ())]
        self._processed = set(state.get("processed", ()))
        self._summarized_ids = set(state.get("summarized_prompt_ids", ()))

    @property
    def is_new(self) -> bool:
        return self.state is None

    def admit(self, event: HookEvent) -> HookEvent | None:
        """The event to queue (prompt ids mapped onto stored ones), or None if memory has it."""
        if self.state is None:
            self._count(event)
            return event
        payload = event.payload
        name = event.name
        source_prompt = payload.get("prompt_id", "")
        if source_prompt in self._prompt_ids:
            payload = {**payload, "prompt_id": self._prompt_ids[source_prompt]}
        if name == "SessionStart":
            return self._skip()
        if name == "UserPromptSubmit":
            stored = self._match_prompt(source_prompt, payload.get("prompt", ""))
            if stored is not None:
                self._prompt_ids[source_prompt] = stored
                return self._skip()
        elif name in ("PostToolUse", "PostToolUseFailure"):
            if payload.get("tool_use_id") in self._processed:
                return self._skip()
            self._touched_prompts.add(payload.get("prompt_id", ""))
        elif name == "Stop":
            prompt = payload.get("prompt_id", "")
            if prompt in self._summarized_ids and prompt not in self._touched_prompts:
                return self._skip()
        elif name == "SessionEnd":
            if not self.kept or self.state["session"]["status"] == "active":
                return self._skip()  # nothing new, or a session that is live right now
        event = HookEvent(name, payload, event.at)
        self._count(event)
        return event

    def _match_prompt(self, prompt_id: str, text: str) -> str | None:
        if prompt_id in self._known_ids:
            return prompt_id
        cleaned = _norm(self.clean(text) if self.clean else text)
        for i, (stored_text, stored_id) in enumerate(self._by_text):
            if stored_text == cleaned or stored_text == _norm(text):
                del self._by_text[i]
                return stored_id or prompt_id
        return None

    def _skip(self):
        self.skipped += 1
        return None

    def _count(self, event: HookEvent) -> None:
        self.kept[event.name] = self.kept.get(event.name, 0) + 1


# -- the import itself ---------------------------------------------------------------------

# Rows staged per executemany: bounded memory, few round trips.
_STAGE_CHUNK = 256
# A session longer than this many events enters the queue in parts of this size.
_QUEUE_CHUNK = 1024
# The report lists this many malformed lines (and counts them all).
_MAX_LISTED_PROBLEMS = 100
# Stop waiting for a worker that made no progress this long (an LLM call is far shorter).
_GIVE_UP_SECONDS = 300
# A model call's fixed cost beyond the events it carries (prompt template, reply), in tokens;
# used only by the --dry-run estimate.
_CALL_OVERHEAD_TOKENS = 900
_REPLY_TOKENS = 350


class _Estimate:
    """What an LLM back-end would spend on the queued events (``--dry-run``)."""

    def __init__(self, settings):
        self.batch = max(1, int(settings.llm_batch_size))
        self.max_calls = int(settings.llm_max_calls_per_session)
        self.max_tokens = int(settings.llm_max_tokens_per_session)
        self.skip = set(settings.skip_tools or ())
        self.calls = self.tokens = self.capped_sessions = 0

    def session(self, events: list[tuple[str, int]]) -> None:
        """``events``: (event name, payload characters) of one session, in order."""
        calls = tokens = 0
        batch_chars = batched = 0
        capped = False

        def spend(chars: int) -> None:
            nonlocal calls, tokens, capped
            cost = chars // 4 + _CALL_OVERHEAD_TOKENS + _REPLY_TOKENS
            if calls + 1 > self.max_calls or tokens + cost > self.max_tokens:
                capped = True  # the compressor continues with the heuristic
                return
            calls += 1
            tokens += cost

        for name, chars in events:
            if name in ("PostToolUse", "PostToolUseFailure"):
                batch_chars += chars
                batched += 1
                if batched == self.batch:
                    spend(batch_chars)
                    batch_chars = batched = 0
            elif name in ("Stop", "UserPromptSubmit"):
                if batched:
                    spend(batch_chars)
                    batch_chars = batched = 0
                if name == "Stop":
                    spend(chars)
        if batched:
            spend(batch_chars)
        self.calls += calls
        self.tokens += tokens
        self.capped_sessions += capped

    def as_dict(self) -> dict:
        return {"calls": self.calls, "tokens": self.tokens,
                "sessions_at_cap": self.capped_sessions,
                "caps": {"llm_max_calls_per_session": self.max_calls,
                         "llm_max_tokens_per_session": self.max_tokens}}


def _clean_for_storage(settings):
    """The hooks' own cleaning (privacy, size), so imported text is stored as live text is."""
    from claude_mem import hooks, privacy

    def clean_payload(raw: str) -> str | None:
        return hooks._clean_payload(raw, settings)

    def clean_text(text: str) -> str:
        return privacy.clean_text(text, privacy.clamp_limit(
            settings.max_tool_output_chars, privacy.DEFAULT_MAX_CHARS)) \
            if privacy.needs_cleaning(text) else text

    return clean_payload, clean_text


def import_transcripts(paths, *, store=None, since: float | None = None,
                       project: str | None = None, dry_run: bool = False, settings=None,
                       progress=None, wait: bool = True, reader=None,
                       agent: str = "claude-code") -> dict:
    """Queue what the transcripts at ``paths`` hold and memory lacks; returns a report.

    ``progress(kind, **info)`` is called with ``"file"`` (index, total, path, bytes_done,
    bytes_total) after each file and ``"drain"`` (left, total) while the worker works.
    With ``dry_run`` nothing is written; the report then carries what would be queued and,
    under an LLM back-end, the estimated calls and tokens. ``reader``: what reads one file
    into events (default ``Transcript``; ``importers.codex.Rollout`` for Codex rollouts) and
    ``agent`` whose events they are (queued as that agent's, ``hook_events.queue_event``).
    """
    import time

    from claude_mem import config, control
    from claude_mem import project as projects

    settings = settings or config.load()
    started = time.monotonic()
    files = transcript_files(paths)
    total_bytes = sum(os.path.getsize(p) for p in files if os.path.exists(p))
    clean_payload, clean_text = _clean_for_storage(settings)
    llm = (settings.compressor or "heuristic").strip().lower() != "heuristic"
    estimate = _Estimate(settings) if llm else None
    report = {"files": len(files), "bytes": total_bytes, "sessions": {"new": 0, "partial": 0,
              "already": 0}, "queued": {}, "queued_rows": 0, "skipped_files": [],
              "problems": [], "problem_count": 0, "parked": 0, "still_queued": 0,
              "dry_run": dry_run,
              "compressor": settings.compressor}
    owned_store = store is None
    if store is None:
        if dry_run and not os.path.exists(config.db_path()):
            store = None
        else:
            from claude_mem.store import open_store

            config.ensure_data_dir()
            store = open_store(busy_timeout_ms=15000)
    bytes_done = 0
    last_id = 0
    try:
        for index, path in enumerate(files, 1):
            size = os.path.getsize(path) if os.path.exists(path) else 0
            try:
                outcome = _import_one(path, store, since=since, project=project,
                                      dry_run=dry_run, clean_payload=clean_payload,
                                      clean_text=clean_text, estimate=estimate,
                                      projects=projects, control=control,
                                      reader=reader or Transcript, agent=agent)
            except Exception as exc:  # one bad file must not end the import of the others
                from claude_mem import log

                log.error(f"import of {path} failed: {exc!r}")
                if store is not None and not dry_run:
                    store.discard_staged()
                outcome = {"skipped": f"unreadable ({exc})"}
            bytes_done += size
            for problem in outcome.get("problems", ()):
                report["problem_count"] += 1
                if len(report["problems"]) < _MAX_LISTED_PROBLEMS:
                    report["problems"].append(f"{path}: {problem}")
            if "skipped" in outcome:
                report["skipped_files"].append({"path": path, "reason": outcome["skipped"]})
            else:
                report["sessions"][outcome["kind"]] += 1
                for name, count in outcome["queued"].items():
                    report["queued"][name] = report["queued"].get(name, 0) + count
                report["queued_rows"] += outcome["rows"]
                last_id = max(last_id, outcome.get("last_id", 0))
                if outcome["rows"] and not dry_run:
                    _poke(control)
            if progress:
                progress("file", index=index, total=len(files), path=path,
                         bytes_done=bytes_done, bytes_total=total_bytes, outcome=outcome)
        if last_id and wait and not dry_run:
            report["parked"], report["still_queued"] = _wait_for_worker(
                store, last_id, report["queued_rows"], progress, control)
    finally:
        if owned_store and store is not None:
            store.close()
    if estimate is not None:
        report["llm_estimate"] = estimate.as_dict()
    report["seconds"] = round(time.monotonic() - started, 3)
    return report


def _poke(control) -> None:
    try:
        control.ensure_worker()
    except OSError:
        pass  # the wait below tries again; the rows are safe in the queue


def _wait_for_worker(store, last_id: int, total: int, progress, control) -> tuple[int, int]:
    """Until the worker has turned every queued row into memory (or parked it).

    Returns ``(parked, still queued)``. A worker that makes no progress for
    ``_GIVE_UP_SECONDS`` despite being started again is left to finish later: the rows are
    safe in the queue, and the report says how many wait.
    """
    import time

    last_left, last_change, stalled_since = None, time.monotonic(), time.monotonic()
    while True:
        state = store.pending_up_to(last_id)
        left = state["pending"]
        if progress:
            progress("drain", left=left, total=total)
        if left == 0:
            return state["parked"], 0
        now = time.monotonic()
        if left != last_left:
            last_left, last_change, stalled_since = left, now, now
        elif now - stalled_since > _GIVE_UP_SECONDS:
            return state["parked"], left
        elif now - last_change > 10:
            _poke(control)  # a worker that exited or died: start another
            last_change = now
        time.sleep(0.1)


def _import_one(path, store, *, since, project, dry_run, clean_payload, clean_text, estimate,
                projects, control, reader=None, agent: str = "claude-code") -> dict:
    from claude_mem import boundedfile
    from claude_mem.hook_events import queue_event

    refused = boundedfile.check_regular(path)
    if refused:  # a FIFO would hang the read, /dev/zero would never end
        return {"skipped": refused}
    transcript = (reader or Transcript)(path)
    if since is not None and _mtime(path) < since:
        return {"skipped": "older than --since"}
    events = transcript.events()
    first = next(events, None)
    if first is None:
        return {"skipped": "no session in it" + (f" ({len(transcript.problems)} malformed lines)"
                                                  if transcript.problems else ""),
                "problems": transcript.problems}
    name = projects.project_name(transcript.cwd) if transcript.cwd else "unknown"
    if project and project not in (name, transcript.cwd):
        return {"skipped": f"project {name}"}
    state = store.session_import_state(transcript.session_id) if store is not None else None
    plan = SessionPlan(state, clean=clean_text)
    staged: list = []
    sizes: list = []
    rows = committed = last_id = 0
    if store is not None and not dry_run:
        store.discard_staged()

    def admitted():
        yield first
        yield from events

    for event in admitted():
        kept = plan.admit(event)
        if kept is None:
            continue
        raw = json.dumps(kept.payload, ensure_ascii=False)
        payload = clean_payload(raw)
        if payload is None:
            transcript.problems.append(f"{kept.name} event could not be cleaned; left out")
            continue
        rows += 1
        if estimate is not None:
            sizes.append((kept.name, len(payload)))
        if dry_run:
            continue
        staged.append((queue_event(agent, kept.name), payload, kept.at))
        if len(staged) >= _STAGE_CHUNK:
            store.stage_events(staged)
            staged = []
            if since is None and rows - committed >= _QUEUE_CHUNK:
                # Let the worker start on a long session while the rest is read (the other
                # core). It is slower than reading, so the queue does not run dry meanwhile.
                count, last_id = store.commit_staged()
                committed += count
                _poke(control)
    if since is not None and (transcript.last_at or 0) < since:
        if store is not None and not dry_run:
            store.discard_staged()
        return {"skipped": "older than --since", "problems": transcript.problems}
    if not dry_run and rows:
        if staged:
            store.stage_events(staged)
        count, last = store.commit_staged()
        rows, last_id = committed + count, max(last_id, last)
    if estimate is not None:
        estimate.session(sizes)
    kind = "new" if plan.is_new else ("partial" if rows else "already")
    return {"kind": kind, "session_id": transcript.session_id, "project": name,
            "cwd": transcript.cwd, "rows": rows, "queued": dict(plan.kept), "last_id": last_id,
            "problems": transcript.problems}
