"""What each hook event becomes in the store: the worker's handlers, one per event kind.

Contract (``Handlers(store, compressor, settings, prompt_memory, projects)``: given the
store, the compressor, the settings, the open requests' observations (``PromptMemory``)
and the per-pass project lookup (``project.ProjectLookup``, which the drain clears at
every pass); it knows nothing of the queue's retry policy or of the worker's lifecycle):
- ``handle(event, group)`` takes one event (and, for tool events, the batch of rows it
  leads) and stores what it means; the queue rows are deleted in the same transaction
  that stores what was made from them (at-least-once, never lost).
- An event from an excluded project is dropped with its rows. Tool events already turned
  into memory are dropped before any compressor runs; observations carry a content hash
  (``content_hash``) so a redelivered event maps onto the rows it already made.
- ``finalize`` summarizes what has no summary yet and closes the session run (SessionEnd,
  and the watchdogs).
- Order is the order events happened, not the order they arrived: each observation is
  timed at its own event (``received_at``: when its hook started), and the compressor sees
  a request's observations sorted by that time (``in_time_order``; when observing, only
  those of events no later than the ones it is given). A hook that came late (in the
  background, spooled, a slow inbox writer) is stored last but told in its place.
- A tool event stored after its request's summary though it began before it is folded into
  that summary (made again, in time order), and does not reopen a session whose run ended
  after it began.
- Each handler makes its writes in one ``store.write()`` unit, which joins the worker's
  shared transaction when there is one (the heuristic's group commit, see drain.py; there
  the store defers queue deletes and session moves to the commit and serves what an earlier
  unit read or wrote, ``store.group_writes``: handlers see the same answers either way); an
  LLM compressor always runs outside any transaction, so model calls never hold the lock.
"""
from __future__ import annotations

import hashlib

from claude_mem import log, privacy, wrappers
from claude_mem.compress import SessionContext
from claude_mem.events import SessionEnd, SessionStart, Stop, ToolEvent, UserPrompt


# What a prompt that was only an image is stored as.
IMAGE_ONLY_PROMPT = "[image]"


def content_hash(*parts) -> str:
    # Each part's UTF-8 followed by a NUL, hashed at once (the same bytes as one update
    # per part: a part's lone surrogate is replaced alone either way).
    text = "\x00".join(map(str, parts)) + "\x00" if parts else ""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:40]


def _ended_after(session, at: float) -> bool:
    """Did this session's run end after ``at`` (an event that began before the end, late)?"""
    return session["status"] != "active" and float(session.get("completed_at") or 0) >= at


def in_time_order(observations, before: float | None = None) -> tuple:
    """A request's observations in the order their events happened: by ``created_at`` (the
    time of the event each was made from), then id. A tool event whose hook came late
    (a background hook, a spooled event) is stored after events that happened after it, so
    id order is arrival order, not the order a summary must tell ("failed, then fixed").
    With ``before``, only those of events no later than that time (a tie is a coarse
    clock's: kept)."""
    items = observations if before is None else [
        o for o in observations if float(o.get("created_at") or 0) <= before]
    return tuple(sorted(items, key=lambda o: (float(o.get("created_at") or 0), o["id"])))


# ``context_for``'s "read the summary yourself".
_UNREAD = object()


def row_ids(group) -> list[int]:
    """The queue row ids of a unit's group of ``(row, event)`` pairs."""
    return [r["id"] for r, _ in group]


class Handlers:
    """What each event becomes in the store, one method per event kind."""

    def __init__(self, store, compressor, settings, prompt_memory, projects):
        self.store = store
        self.compressor = compressor
        self.settings = settings
        self.prompt_memory = prompt_memory
        self.projects = projects
        # Told of every stored SessionEnd (``reconcile.Reconciler.want``); None: nobody.
        self.on_end = None

    def handle(self, event, group) -> None:
        ids = row_ids(group)
        at = group[-1][0]["received_at"]
        cwd = event.cwd
        if self.projects.excluded(cwd):
            with self.store.write():
                self.store.delete_pending(ids)
            return
        name = self.projects.name(cwd)
        handler = self.HANDLERS.get(type(event))
        if handler is None:  # parse_event only makes the kinds above: a programming error
            raise TypeError(f"no handler for {type(event).__name__}")
        handler(self, event, group, name, at)

    def handle_start(self, event: SessionStart, group, name: str, at: float) -> None:
        # A session is made by its first prompt or tool call, not by its start: Claude Code
        # also starts (and ends) sessions that never take a prompt (`claude mcp list`,
        # `claude mcp get`), and those would fill `sessions` with empty rows. A session we
        # already know (resume, compaction, clear) is reopened here as before.
        with self.store.write():
            if self.store.session_by_claude_id(event.session_id) is not None:
                self.store.open_session(event.session_id, name, event.cwd, at,
                                        new_run=event.source == "resume", agent=event.agent)
            self.store.delete_pending(row_ids(group))

    def handle_prompt(self, event: UserPrompt, group, name: str, at: float) -> None:
        kind, text = wrappers.classify(event.prompt)
        if kind == "empty" and not event.prompt.strip():
            # A prompt with no text is one that sent only an image (Claude Code keeps the
            # picture out of the hook's payload): still a request its work belongs to.
            kind, text = "prompt", IMAGE_ONLY_PROMPT
        if kind == "prompt":
            # The hook cuts only payloads it had to clean; this cut holds for every prompt.
            text = privacy.cut(text, privacy.clamp_limit(
                self.settings.max_tool_output_chars, privacy.DEFAULT_MAX_CHARS))
        with self.store.write():
            session = self.store.open_session(event.session_id, name, event.cwd, at, agent=event.agent)
            # A background task's notification or a local command's output is not a
            # request: what follows belongs to the request that is still running.
            if kind == "prompt":
                self.store.add_prompt(session["id"], event.prompt_id or None, text, at)
            self.store.delete_pending(row_ids(group))

    def context_for(self, session, prompt_number: int, before: float | None = None,
                    previous=_UNREAD, prompt=_UNREAD) -> SessionContext:
        """What the compressor knows of a request; ``earlier``: its observations in time
        order (``in_time_order``), with ``before`` only those of events before that time;
        ``previous``: the request's summary, ``prompt``: its prompt row, when the caller
        has read them already (``_prompt_of``)."""
        if prompt is _UNREAD:
            prompt = self.store.prompt(session["id"], prompt_number) if prompt_number else None
        request = prompt["prompt"] if prompt else ""
        goal = ""
        if prompt_number and wrappers.is_trivial(request):
            # "continue" says nothing; the thread's earlier request says what it is about.
            goal = next((p["prompt"] for p in reversed(self.store.prompts(session["id"]))
                         if p["prompt_number"] < prompt_number and not wrappers.is_trivial(p["prompt"])), "")
        if previous is _UNREAD:
            previous = self._summary(session, prompt_number)
        return SessionContext(
            session_id=session["id"], claude_session_id=session["claude_session_id"],
            project=session["project"], cwd=session["cwd"], prompt_number=prompt_number,
            request=request, goal=goal, previous_reply=(previous or {}).get("notes") or "",
            earlier=in_time_order(self.prompt_memory.observations(session["id"], prompt_number),
                                  before),
            root=self.projects.root(session["cwd"]),
        )

    def _prompt_of(self, session, event) -> tuple:
        """``(prompt number, its prompt row or _UNREAD)`` of an event's request: by its
        ``prompt_id`` (number and row in one read), else the session's latest prompt."""
        row = self.store.prompt_by_id(session["id"], event.prompt_id or None)
        if row is not None:
            return row["prompt_number"], row
        return self.store.prompt_number_for(session["id"], None), _UNREAD

    def _summary(self, session, prompt_number: int):
        return self.store.summary_for_prompt(session["id"], prompt_number) if prompt_number else None

    def _session(self, event, name: str, at: float):
        session = self.store.session_by_claude_id(event.session_id)
        if session is None:
            with self.store.write():
                session = self.store.open_session(event.session_id, name, event.cwd, at, agent=event.agent)
        return session

    def handle_tools(self, event: ToolEvent, group, name: str, at: float) -> None:
        session = self._session(event, name, at)
        prompt_number, prompt = self._prompt_of(session, event)
        # The compressor sees what happened before these events, not what came before them.
        # The request's summary is read once: nothing below writes it before the fold.
        summary = self._summary(session, prompt_number)
        ctx = self.context_for(session, prompt_number,
                               before=min(float(r["received_at"]) for r, _ in group),
                               previous=summary, prompt=prompt)
        # A redelivery that lands in the same batch as the original would otherwise get
        # position 1 under the same tool_use_id below, hence a second hash.
        # Events already turned into memory in an earlier batch are dropped here, before
        # any compressor (an LLM's observations carry no tool_use_id to dedupe them later).
        keys = self.store.processed_tool_uses(session["id"], [e.tool_use_id for _, e in group])
        unique = []
        for r, e in group:
            key = e.tool_use_id or r["payload"]
            if key not in keys:
                keys.add(key)
                unique.append((r, e))
        if not unique:
            with self.store.write():
                self.store.delete_pending(row_ids(group))
            return
        produced = self.compressor.observe(ctx, [e for _, e in unique])
        # One hash per source event (its tool_use_id) and position, so a redelivered
        # event maps onto the rows it already made.
        # (Hashing every payload of the batch is only needed for an observation without one.)
        batch_key = (content_hash(*(r["payload"] for r, _ in unique))
                     if any(not obs.tool_use_id for obs in produced.observations) else "")
        seen: dict[str, int] = {}
        began = min(float(r["received_at"]) for r, _ in unique)
        # Each observation is timed at its own event, so a request's observations can be
        # put in the order their events happened (``in_time_order``) whatever order they came.
        event_at = {e.tool_use_id: float(r["received_at"]) for r, e in unique if e.tool_use_id}
        with self.store.write():
            if not _ended_after(session, began):  # a late event does not reopen its session
                session = self.store.open_session(event.session_id, name, event.cwd, at, agent=event.agent)
            items = []
            for obs in produced.observations:
                key = obs.tool_use_id or batch_key
                position = seen.get(key, 0)
                seen[key] = position + 1
                items.append((obs, content_hash(event.session_id, key, position),
                              event_at.get(obs.tool_use_id, at)))
            stored = [row for row in self.store.store_observations(
                session["id"], session["project"], prompt_number, items, produced.generated_by)
                if row is not None]
            self.store.mark_tool_uses_processed(session["id"], [e.tool_use_id for _, e in unique], at)
            self.store.delete_pending(row_ids(group))
        # The request's summary reads these again (Stop): kept, not read back.
        self.prompt_memory.stored(session["id"], prompt_number, stored)
        self._fold_into_summary(session, prompt_number, began, summary)

    def _fold_into_summary(self, session, prompt_number: int, began: float, summary) -> None:
        """Tool events that began before their request's summary (``summary``, as read before
        they were stored) was made but were stored after it (a hook in the background that
        came late, see ``summary_gate``): the summary is made again with them, keeping its
        time and the final reply it had."""
        if not prompt_number:
            return
        if summary is None or began >= float(summary.get("updated_at") or 0):
            return  # none yet (the Stop will make it), or the events are newer than it
        remade, generated_by = self.summarize_prompt(session, prompt_number, "")
        if remade is not None:
            with self.store.write():
                self.store.upsert_summary(session["id"], session["project"], prompt_number, remade,
                                          generated_by, float(summary["updated_at"]))

    def summarize_prompt(self, session, prompt_number: int, last_message: str,
                         prompt=_UNREAD) -> tuple:
        ctx = self.context_for(session, prompt_number, prompt=prompt)
        produced = self.compressor.summarize(ctx, last_message, list(ctx.earlier))
        return produced.summary, produced.generated_by

    def handle_stop(self, event: Stop, group, name: str, at: float) -> None:
        ids = row_ids(group)
        session = self._session(event, name, at)
        prompt_number, prompt = self._prompt_of(session, event)
        summary = generated_by = None
        if prompt_number or event.last_assistant_message:
            summary, generated_by = self.summarize_prompt(session, prompt_number,
                                                          event.last_assistant_message, prompt)
        with self.store.write():
            self.store.touch_session(session["id"], at)
            if summary is not None:
                self.store.upsert_summary(session["id"], session["project"], prompt_number,
                                          summary, generated_by, at)
            self.store.delete_pending(ids)

    def finalize(self, session, reason: str, at: float, ids=(), status: str = "completed") -> None:
        """Summarize what has no summary yet and close the session run."""
        made = []
        for prompt_number in self.store.unsummarized_prompts(session["id"]):
            summary, generated_by = self.summarize_prompt(session, prompt_number, "")
            if summary is not None:
                made.append((prompt_number, summary, generated_by))
        try:
            self.compressor.finalize(self.context_for(session, 0), reason)
        except Exception as exc:
            log.warning(f"compressor finalize failed: {exc!r}")
        with self.store.write():
            for prompt_number, summary, generated_by in made:
                self.store.upsert_summary(session["id"], session["project"], prompt_number,
                                          summary, generated_by, at)
            self.store.complete_session(session["id"], reason, at, status)
            self.store.delete_pending(ids)
        self.prompt_memory.forget(session["id"])

    def handle_end(self, event: SessionEnd, group, name: str, at: float) -> None:
        session = self.store.session_by_claude_id(event.session_id)
        if session is None:  # it never took a prompt or a tool call: nothing to remember
            with self.store.write():
                self.store.delete_pending(row_ids(group))
            return
        self.finalize(session, event.reason, at, row_ids(group))
        if self.on_end is not None:
            self.on_end(event)

    # One handler per event kind (parse_event's classes): adding a kind is one line here.
    HANDLERS = {SessionStart: handle_start, UserPrompt: handle_prompt, ToolEvent: handle_tools,
                Stop: handle_stop, SessionEnd: handle_end}
