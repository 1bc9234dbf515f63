"""When a request's summary may be made: not before its tool events are in.

With capture in the background (``hook_events``: the tool hooks are async) Claude Code does
not wait for a PostToolUse hook, so a request's last tool event can be committed after its
Stop. Each row carries the moment its hook process started (``received_at``) and the queue is
taken in that order, so the late row still goes first once it is there; this module decides
whether it can still come.

Contract (``SummaryGate(store, settings)``, asked by the drain before a Stop row's work):
- ``wait(row, event) -> float``: 0 when the Stop may be summarized now; else the seconds
  before asking again, during which the row (and the rest of its session) waits in the queue.
- Only a Claude Code Stop younger than ``GRACE_SECONDS`` with a transcript and a
  ``prompt_id`` is ever held. The transcript says which tool calls of that request fired a
  hook (``importers.replay``'s rules, read from the request's first line to the end of the
  file); the Stop waits while one of them is not yet stored (``processed_tool_uses``).
- Once ``GRACE_SECONDS`` have passed for a Stop it held, the tool events still missing
  (a hook that was killed, a full disk, a spool file still waiting) are queued again from
  the transcript, cleaned like a hook's payload and timed at their call, so they go before
  the Stop; then the summary is made. A real hook event arriving later still is the same
  ``tool_use_id``: the handlers drop it as already processed.
- An older Stop (an import, a backlog) is never held and costs no transcript read.

A tool event committed after its request's summary anyway (the transcript was not yet
written when the Stop was looked at, or there is none) is still stored, and the summary is
made again with it in its place by time (``handlers.Handlers.handle_tools``,
``handlers.in_time_order``): the gate spares that second summary when it can, the handlers
make the outcome right when it cannot.
"""
from __future__ import annotations

import json
import os
import time

from claude_mem import log
from claude_mem.events import Stop  # asked of every unit: imported once, not per call
from claude_mem.importers.replay import Transcript

# How long a Stop waits for its request's tool events before they are taken from the
# transcript (a hook in the background normally commits within tens of milliseconds).
GRACE_SECONDS = 5.0
# Pause between two looks while a Stop waits.
POLL_SECONDS = 0.1
# The transcript is read backwards from its end in growing steps, up to this much.
_MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024
_FIRST_STEP = 256 * 1024


class SummaryGate:
    def __init__(self, store, settings):
        self.store = store
        self.settings = settings
        self._held: dict[int, float] = {}     # Stop row id -> when it was first held
        self._recovered: set[int] = set()     # Stop rows whose missing events were queued

    def wait(self, row, event) -> float:
        if not _is_stop(event) or not event.transcript_path or not event.prompt_id:
            return 0.0
        row_id = row["id"]
        age = time.time() - float(row["received_at"] or 0)
        if row_id not in self._held and age >= GRACE_SECONDS:
            return 0.0  # an import or a backlog: its tool events were queued long ago
        if row_id in self._recovered:
            self._forget(row_id)
            return 0.0
        try:
            missing = self._missing(event)
        except Exception as exc:  # noqa: BLE001 - the summary must never be blocked by this
            log.warning(f"summary of {event.session_id[:8]}: could not read the transcript ({exc!r})")
            missing = {}
        if not missing:
            self._forget(row_id)
            return 0.0
        if row_id not in self._held:
            self._held[row_id] = time.monotonic()
            log.info(f"Stop of {event.session_id[:8]} waits for {len(missing)} tool event(s) of its "
                     f"request: {', '.join(sorted(missing))}")
        if age < GRACE_SECONDS:
            return min(POLL_SECONDS, GRACE_SECONDS - age)
        self._recover(missing, float(row["received_at"]))
        self._recovered.add(row_id)
        return 0.01  # the recovered rows sort before the Stop: take them on the next pass

    def _forget(self, row_id: int) -> None:
        self._held.pop(row_id, None)
        self._recovered.discard(row_id)

    def _missing(self, event) -> dict:
        """The request's tool events the transcript has and the store does not."""
        expected = request_tool_events(event.transcript_path, event.prompt_id)
        if not expected:
            return {}
        session = self.store.session_by_claude_id(event.session_id)
        done = self.store.processed_tool_uses(session["id"], list(expected)) if session else set()
        return {k: v for k, v in expected.items() if k not in done}

    def _recover(self, missing: dict, stop_at: float) -> None:
        """Queue the missing calls, each timed at its call (before the Stop, whatever the
        transcript's clock says), so the next pass takes them before the Stop."""
        from claude_mem import privacy

        with self.store.write():
            for use_id, replayed in missing.items():
                cleaned = privacy.clean_payload(json.dumps(replayed.payload, ensure_ascii=False),
                                                self.settings)
                if cleaned is not None:
                    at = replayed.at if 0 < replayed.at < stop_at else stop_at - 0.001
                    self.store.enqueue(replayed.name, cleaned, at, cleaned=True)
        log.warning(f"{len(missing)} tool event(s) of a request never arrived from their hooks; "
                    f"taken from the transcript: {', '.join(sorted(missing))}")


def _is_stop(event) -> bool:
    return isinstance(event, Stop) and event.agent == "claude-code"


def request_tool_events(path: str, prompt_id: str) -> dict:
    """``{tool_use_id: ReplayedEvent}``: the PostToolUse/PostToolUseFailure events the request
    ``prompt_id`` fired, by the transcript at ``path`` ({} when it cannot tell)."""
    lines = _request_lines(path, prompt_id)
    if not lines:
        return {}
    replay = _RequestReplay(path, lines)
    return {e.payload.get("tool_use_id"): e for e in replay.events()
            if e.name in ("PostToolUse", "PostToolUseFailure")
            and e.payload.get("prompt_id") == prompt_id and e.payload.get("tool_use_id")}


def _request_lines(path: str, prompt_id: str) -> list[bytes]:
    """The transcript's lines from the request's first line to the end, read from the end."""
    from claude_mem import boundedfile

    quoted = prompt_id.encode("utf-8", "replace") + b'"'
    markers = (b'"promptId":"' + quoted, b'"promptId": "' + quoted)  # Claude Code's, and spaced
    try:
        # Opened without blocking and refused unless a regular file: a FIFO named as the
        # transcript must not hang the worker (``open`` would wait for a writer).
        with boundedfile.open_regular(path, max_bytes=None) as fh:
            size = os.fstat(fh.fileno()).st_size
            step = _FIRST_STEP
            while True:
                start = max(0, size - step)
                fh.seek(start)
                data = fh.read(size - start)
                at = _first_line_with(data, markers, start > 0)
                if at is not None:
                    return data[at:].splitlines()
                if start == 0 or step >= _MAX_TRANSCRIPT_BYTES:
                    return []
                step *= 4
    except (OSError, boundedfile.Refused):
        return []


def _first_line_with(data: bytes, markers, partial_start: bool) -> int | None:
    """Where the first whole line holding one of ``markers`` begins in ``data``, or None."""
    hits = [at for at in (data.find(m) for m in markers) if at >= 0]
    if not hits:
        return None
    found = min(hits)
    begin = data.rfind(b"\n", 0, found) + 1
    if begin == 0 and partial_start:
        return None  # the line began before what was read: read further back
    return begin


class _RequestReplay(Transcript):
    """``importers.replay.Transcript`` over the lines of one request, not the whole file."""

    def __init__(self, path: str, lines: list[bytes]):
        super().__init__(path)
        self._lines = lines

    def entries(self):
        for line in self._lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry
