"""``claude-mem import transcripts``: the run — which files, what memory lacks, queueing
it, what an LLM would spend, waiting for the worker.

Contract:
- ``find_transcripts(config_dir=None)`` lists the session transcripts under Claude Code's
  ``projects/`` folder (``$CLAUDE_CONFIG_DIR`` or ``~/.claude``), oldest first; subagent
  transcripts (``…/subagents/agent-*.jsonl``) are not sessions and are left out.
- ``SessionPlan(state, …)`` decides, per replayed event (``replay.Transcript``), whether
  memory already holds it (a session captured live by the hooks, or imported before):
  sessions by session id, prompts by ``promptId`` or, for prompts the hooks saw under their
  own id, by their text, tool calls by ``tool_use_id``. Only what is missing is queued; the
  import is idempotent.
- ``import_transcripts(paths, …)`` queues what memory lacks, cleaned exactly as the hooks
  clean (``privacy.clean_payload``), a long session in parts so the worker starts early;
  ``dry_run`` writes nothing and, under an LLM back-end, estimates the calls and tokens;
  with ``wait`` it returns once the worker has turned the rows into memory (or parked them),
  giving up on a worker that makes no progress for ``_GIVE_UP_SECONDS``. One bad file
  never ends the import of the others. ``reader`` reads one file into events
  (``replay.Transcript`` by default; ``importers.codex.Rollout`` for Codex rollouts).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from claude_mem.importers.replay import ReplayedEvent, Transcript


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

    def admit(self, event: ReplayedEvent) -> ReplayedEvent | None:
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
        event = ReplayedEvent(name, payload, event.at)
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

    def _count(self, event: ReplayedEvent) -> None:
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
    from claude_mem import privacy

    def clean_payload(raw: str) -> str | None:
        return privacy.clean_payload(raw, settings)

    def clean_text(text: str) -> str:
        return privacy.clean_text(text, privacy.clamp_limit(
            settings.max_tool_output_chars, privacy.DEFAULT_MAX_CHARS)) \
            if privacy.needs_cleaning(text) else text

    return clean_payload, clean_text


def import_transcripts(paths, *, store=None, since: float | None = None,
                       project: str | None = None, dry_run: bool = False, settings=None,
                       progress=None, wait: bool = True, reader=None,
                       agent: str = "claude-code", wake: bool = True) -> dict:
    """Queue what the transcripts at ``paths`` hold and memory lacks; returns a report.

    ``progress(kind, **info)`` is called with ``"file"`` (index, total, path, bytes_done,
    bytes_total) after each file and ``"drain"`` (left, total) while the worker works.
    With ``dry_run`` nothing is written; the report then carries what would be queued and,
    under an LLM back-end, the estimated calls and tokens. ``reader``: what reads one file
    into events (default ``Transcript``; ``importers.codex.Rollout`` for Codex rollouts) and
    ``agent`` whose events they are (queued as that agent's, ``hook_events.queue_event``).
    ``wake=False``: the worker is not woken (the worker itself importing, ``reconcile``).
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
                                      projects=projects, control=control if wake else None,
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
                if outcome["rows"] and not dry_run and wake:
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
                if control is not None:
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
