"""Claude Code transcripts, replayed as the hook events Claude Code would have fired.

Contract:
- ``Transcript(path).events()`` reads one transcript streaming (one line at a time, bounded
  memory whatever the file's size) and yields ``ReplayedEvent``s — ``(name, payload, at)``
  with ``payload`` shaped exactly like the JSON Claude Code gives the hook on stdin and ``at``
  the moment it would have fired (epoch seconds, never going backwards). A malformed line is
  counted in ``problems`` and skipped.
- ``parse_time(value)``: a transcript's ISO-8601 timestamp as epoch seconds.

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

Every rule above is a case of the same replay state machine (which turn a line belongs
to, what already fired), kept together so it reads in the order Claude Code fires. What
the import does with the events (what memory already holds, queueing, estimates, waiting
for the worker) is ``importers.transcripts``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
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
class ReplayedEvent:
    """One hook event as it would have fired: its name, stdin payload and moment.

    (Not ``hook_events.HookEvent``, which is a row of the table of hooks we install.)
    """

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


class EventReplay:
    """What a transcript replay (this module's, and Codex's rollouts) shares: the hook events one
    record stands for are queued with the payload fields every hook gets, their moments never
    going backwards, and drained after each record. A subclass sets ``session_id``, ``path``,
    ``cwd``, ``_at`` and ``_out``."""

    def _drain(self):
        out, self._out = self._out, []
        yield from out

    def _queue(self, name: str, ids: dict, fields: dict, at: float | None) -> None:
        """Queue ``name`` at ``at`` (None: the last moment): the common fields, ``ids``, ``fields``."""
        at = max(self._at, at if at is not None else self._at)
        self._at = at
        payload = {"session_id": self.session_id, "transcript_path": self.path, "cwd": self.cwd,
                   "hook_event_name": name, **ids, **fields}
        self._out.append(ReplayedEvent(name, payload, at))


class Transcript(EventReplay):
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
        self._out: list[ReplayedEvent] = []
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

    def _emit(self, name: str, fields: dict, at: float | None = None) -> None:
        ids = {}
        if name not in ("SessionStart",):
            ids["prompt_id"] = self._prompt_id
        if name in ("UserPromptSubmit", "PostToolUse", "PostToolUseFailure", "Stop"):
            ids["permission_mode"] = self._permission_mode
        self._queue(name, ids, fields, at)

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
