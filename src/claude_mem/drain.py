"""The drain pass: one pass over the durable queue, rows turned into memory in order.

Contract (``Drain(store, settings, handlers, stopping, presence)``; ``run()`` is one pass, True if
any row was processed or parked; the worker's loop calls it and reads ``retry_at``,
``waiting_sessions``, ``max_seen_id`` and ``processed``):
- Rows are taken oldest first, per session in order. A row is deleted only in the same
  transaction that stores what was made from it (at-least-once, by ``handlers``). Each
  attempt is counted before the work starts, so a row that kills the worker is seen too (a
  pass counts all its never-tried rows in one transaction and gives back the counts of
  those it did not begin; a crash leaves them counted once, and they then go alone).
- A row that failed is retried alone, after a growing pause (``retry_backoff_seconds``,
  doubling, capped at a minute) during which its session waits (order) and the others
  flow; after ``max_attempts`` it is parked, never dropped. A payload that can never
  become an event is parked at once. Each row is parsed once a pass, and each cwd's
  project is looked up once a pass (the handlers' ``ProjectLookup`` is cleared here).
- Spool files and the inbox's files (``capture.sh``) are imported with each pass, listed
  after the batch is read so a later event never overtakes a spooled one (the inbox also
  holds back files created after one still being written, see inbox.py). An event that
  still comes after later ones of its request is put in its place by the handlers, which
  order a request's observations by their events' times.
- The heuristic (local, quick) stores several units per transaction while the queue is
  quiet (nothing queued for two passes in a row), one by one while hooks are queueing, so
  their inserts are not kept waiting (``_GroupCommit``). An LLM's units each commit alone.
  Inside a shared transaction the store defers what can wait to its commit (queue rows'
  deletes, sessions moved on) and reuses what a unit read for the next ones
  (``store.group_writes``): the worker is the only writer until the commit.
- The lock budget (``store.budget``): a shared transaction is cut after
  ``_GROUP_COMMIT_SECONDS``, and at once when a hook announces it is about to write
  (``presence``); between two units the pass steps aside while such a hook waits, so a
  hook waits at most one unit's transaction.
- ``stopping`` (a ``threading.Event``) ends a pass between two units.
- A Stop whose request's tool events are not all stored yet waits, uncounted, with the rest
  of its session (``summary_gate``: capture in the background).
"""
from __future__ import annotations

import time

from claude_mem import inbox, log, privacy, spool
from claude_mem.events import BadEvent, ToolEvent, parse_event
from claude_mem.handlers import row_ids
from claude_mem.summary_gate import SummaryGate


# Longest pause between two attempts at a failing queue row.
_MAX_RETRY_PAUSE = 60.0
# While the queue is quiet, the heuristic's units of work share a write transaction for
# at most this long (see ``_GroupCommit``): half the lock budget (``store.budget``), as a
# unit that begins just before the cut adds its own time.
_GROUP_COMMIT_SECONDS = 0.025
# The queue is quiet once this many passes in a row began with nothing new queued. One was
# not enough: hooks kept waiting by one grouped pass could leave the next one looking quiet
# too (measured with a hook every 10 ms during a backlog: p99 wait 35-80 ms against 10-20).
_QUIET_PASSES = 2
# While the queue is quiet the heuristic's passes take this many times ``limit`` rows: each
# pass has its own costs (reading and parsing the batch, one transaction counting its
# attempts, the housekeeping after it), and a quiet pass's units share transactions cut by
# time anyway. A hook that gets in meanwhile still turns the rest of the pass unit by unit.
_QUIET_BATCH_FACTOR = 4
# Between two units a pass asks at most this often whether the WAL is due for its
# checkpoint (``_checkpoint_between_units``): the question reads ``/proc/self/io`` (~14 µs,
# a few % of a unit's time when asked before every unit).
_CHECKPOINT_LOOK_SECONDS = 0.005


class Drain:
    """The queue's passes and their retry policy; its state outlives a pass."""

    def __init__(self, store, settings, handlers, stopping, presence=None):
        self.store = store
        # Hooks about to write (``presence.HookPresence``); None: nobody tells (tests).
        self.presence = presence
        self.settings = settings
        self.handlers = handlers
        self.stopping = stopping
        self.processed = 0  # rows turned into memory since the worker started
        self.taken_in = 0  # inbox files handled since the worker started (status)
        # Failed rows wait until this monotonic time before their next attempt.
        self.retry_at: dict[int, float] = {}
        # Sessions whose oldest queued row waits for a retry: the silence watchdog must
        # not close them under the queue's feet.
        self.waiting_sessions: set[str] = set()
        # Highest pending id seen by a pass: the idle handshake's "anything new?".
        self.max_seen_id = 0
        # The queue's sequence when the last pass began (see ``run``).
        self.last_arrivals = -1
        self.quiet_passes = 0  # passes in a row that began with nothing new queued
        self.checkpoint_look_at = 0.0  # see ``_checkpoint_between_units``
        # Whether a request's summary may be made yet (capture in the background).
        self.summary_gate = SummaryGate(store, settings)

    def run(self, limit: int = 200) -> bool:
        """One pass over the queue; True if any row was processed or parked.

        Rows waiting for a retry are left alone (with the rest of their session, to keep
        its order) and do not count as work, so the loop sleeps instead of spinning.
        """
        # The spool is listed *after* the batch is read, until a listing finds nothing: a
        # session's hooks run one after another, so an event spooled before a row of this
        # batch was committed is then surely imported, and its arrival time sorts it first.
        # (Importing first and reading after let a later row overtake it.)
        progress = False
        self.handlers.projects.clear()
        # Did anything arrive since the last pass began? Then hooks are at work, and units
        # commit one by one so their inserts get in between (see ``_GroupCommit``); only
        # after passes in a row with nothing new do they share transactions.
        arrivals = self.store.queue_sequence()
        self.quiet_passes = self.quiet_passes + 1 if arrivals == self.last_arrivals else 0
        self.last_arrivals = arrivals
        quiet = self.quiet_passes >= _QUIET_PASSES
        if quiet and self.handlers.compressor.name == "heuristic":
            limit *= _QUIET_BATCH_FACTOR  # see the constant
        rows = self.store.pending_batch(limit)
        while self._import_files():
            progress = True
            rows = self.store.pending_batch(limit)
        now = time.monotonic()
        self.waiting_sessions = set()
        if not rows:
            return progress
        self.max_seen_id = max(self.max_seen_id, max(r["id"] for r in rows))
        max_attempts = int(self.settings.max_attempts)
        plan = self._plan(rows)
        # One transaction counts the attempts of every group of fresh rows this pass will
        # work on, instead of one per group (see ``_premark``).
        premarked = self._premark(plan, now)
        started: set[int] = set()
        blocked: set[str] = set()
        # The heuristic is quick and local: while the queue is quiet its units share write
        # transactions (see ``_GroupCommit``). An LLM's units each commit alone, so a model
        # call never holds the write lock.
        heuristic = self.handlers.compressor.name == "heuristic"
        batch = _GroupCommit(self.store) if quiet and heuristic else None
        try:
            for unit in plan:
                row, event, parse_error, session_key, group = unit
                if self.stopping.is_set():
                    break
                if isinstance(parse_error, BadEvent):
                    log.warning(f"queue row {row['id']} parked: {parse_error}")
                    self.store.park(row["id"], str(parse_error))
                    self.retry_at.pop(row["id"], None)
                    progress = True
                    continue
                if session_key in blocked:
                    continue
                ids = row_ids(group)
                if row["attempts"] >= max_attempts:
                    self.store.park(row["id"], f"gave up after {row['attempts']} attempts: "
                                               f"{row['last_error']}")
                    self.retry_at.pop(row["id"], None)
                    log.error(f"parked queue row {row['id']} ({row['event']}) after "
                              f"{row['attempts']} failed attempts; see `claude-mem worker parked`")
                    progress = True
                    continue
                if self.retry_at.get(row["id"], 0.0) > now:
                    blocked.add(session_key)
                    self.waiting_sessions.add(session_key)
                    continue
                # A Stop waits (uncounted, with its session) for its request's tool events.
                hold = self.summary_gate.wait(row, event) if parse_error is None else 0.0
                if hold:
                    self.retry_at[row["id"]] = now + hold
                    blocked.add(session_key)
                    self.waiting_sessions.add(session_key)
                    continue
                fresh = row["id"] in premarked
                if not fresh:
                    self._commit_group(batch)  # the attempt must be on disk before its work
                    self.store.mark_attempt(ids)
                started.update(ids)
                progress = True
                if batch is None or not fresh or parse_error is not None:
                    self._step_aside()
                    self._attempt(unit, blocked)
                    continue
                try:
                    batch.add(unit, lambda: self.handlers.handle(event, group))
                except Exception as exc:  # noqa: BLE001 - tried again, alone, below
                    log.warning(f"rows {ids} ({row['event']}) failed inside a group of "
                                f"units ({exc!r}); redoing the group one unit at a time")
                    # The whole group's work is undone: what was read from it is stale,
                    # and each of its units goes again alone, so the failure is this
                    # unit's only (its batch-mates are stored, it is retried, then parked).
                    self.handlers.prompt_memory.clear()
                    for again in batch.take_undone() + [unit]:
                        if again[3] not in blocked:
                            self._attempt(again, blocked)
                    continue
                if batch.due() or self._hook_waiting():
                    self._commit_group(batch)
                    self._step_aside()
                    if self.store.queue_sequence() != arrivals:
                        batch = None  # a hook got in: commit unit by unit from here on
        finally:
            self._commit_group(batch)
            # Counted but never begun (their session was blocked by a failure, or the
            # worker is stopping): give the attempt back.
            self.store.unmark_attempt(premarked - started)
        return progress

    def _import_files(self) -> int:
        """Queue what waits in files: the spool's, then the inbox's (``capture.sh``)."""
        spooled = spool.import_into(self.store)
        taken = inbox.take_in(self.store)
        self.taken_in += taken
        return spooled + taken

    def _hook_waiting(self) -> bool:
        return self.presence is not None and self.presence.waiting()

    def _step_aside(self) -> None:
        """Between two units: a hook about to write gets the lock first (lock budget); and
        once this pass has written enough, the WAL is copied and begun again here, not
        after the pass (``_checkpoint_between_units``)."""
        if self.presence is not None:
            self.presence.yield_to_hooks()
        self._checkpoint_between_units()

    def _checkpoint_between_units(self) -> None:
        """A pass over a backlog writes up to ~50 MB of WAL before the pass ends, and the
        worker's checkpoint (``housekeeping``) came only then: the WAL's cycles were 12-52
        MB instead of ``wal_pace.CHECKPOINT_BYTES``, each checkpoint copied and synced that
        much at once, and the WAL file, which only a truncation shrinks, stayed as large as
        the largest cycle (a ``forget``'s or the idle worker's TRUNCATE then gave it all back
        inside one hold: 89-187 ms when it had reached 112-459 MB). Here, outside any
        transaction and not while a hook is about to write, the store checkpoints once it is
        due (``Database.checkpoint_when_due``; stores without one, none)."""
        now = time.monotonic()
        if now < self.checkpoint_look_at or self._hook_waiting() or self.store.in_transaction:
            return
        self.checkpoint_look_at = now + _CHECKPOINT_LOOK_SECONDS
        checkpoint = getattr(self.store, "checkpoint_when_due", None)
        if checkpoint is not None:
            try:
                checkpoint()
            except Exception as exc:  # noqa: BLE001 - the pass goes on; the next call retries
                log.warning(f"checkpoint between units failed: {exc!r}")

    def _attempt(self, unit, blocked: set) -> None:
        """Turn one unit into memory in its own transactions; a failure blocks its session."""
        row, event, parse_error, session_key, group = unit
        ids = row_ids(group)
        try:
            if parse_error is not None:
                raise parse_error
            self.handlers.handle(event, group)
            self._done(unit)
        except Exception as exc:
            import traceback

            log.error(f"rows {ids} ({row['event']}) failed: {exc!r}\n"
                      f"{traceback.format_exc()}")
            base = float(self.settings.retry_backoff_seconds)
            for r, _ in group:
                self.store.record_failure(r["id"], repr(exc))
                pause = min(_MAX_RETRY_PAUSE, max(0.0, base) * 2 ** r["attempts"])
                self.retry_at[r["id"]] = time.monotonic() + pause
            blocked.add(session_key)  # keep this session's order: retry later
            self.waiting_sessions.add(session_key)

    def _done(self, unit) -> None:
        group = unit[4]
        self.processed += len(group)
        for r, _ in group:
            self.retry_at.pop(r["id"], None)

    def _commit_group(self, batch) -> None:
        if batch is None:
            return
        try:
            stored = batch.commit()
        except BaseException:
            self.handlers.prompt_memory.clear()  # it may hold rows that are gone now
            raise
        for unit in stored:
            self._done(unit)

    def _plan(self, rows) -> list[tuple]:
        """The pass's rows as units of work, in queue order, each row parsed once.

        Each unit is ``(row, event, parse_error, session_key, group)``. Tool events of one
        request that follow each other are one group (the compressor sees them together);
        a row that failed (or was in flight when a worker died) goes alone, so one bad
        event cannot take its batch-mates down with it.
        """
        # Any exception while turning a row into memory -- parsing included -- is a failed
        # attempt of that row alone: retried with a pause, then parked with its reason.
        # Only a payload that can never become an event (BadEvent) is parked at once.
        parsed = []
        for row in rows:
            try:
                parsed.append((parse_event(row["event"], self.scrubbed_payload(row)), None))
            except Exception as exc:  # noqa: BLE001 - e.g. MemoryError; never block the queue
                parsed.append((None, exc))
        size = max(1, int(self.settings.llm_batch_size))
        if self.handlers.compressor.name == "heuristic":
            size = max(size, 64)  # no model call to size: fewer, larger units of work
        plan = []
        i = 0
        while i < len(rows):
            row = rows[i]
            event, error = parsed[i]
            i += 1
            session_key = event.session_id if event is not None else _session_hint(row["payload"])
            group = [(row, event)]
            if isinstance(event, ToolEvent) and row["attempts"] == 0:
                while i < len(rows) and len(group) < size and rows[i]["attempts"] == 0:
                    nxt, nxt_error = parsed[i]
                    if nxt_error is not None:  # it gets its own turn, alone
                        break
                    if not (isinstance(nxt, ToolEvent) and nxt.session_id == event.session_id
                            and nxt.prompt_id == event.prompt_id):
                        break
                    group.append((rows[i], nxt))
                    i += 1
            plan.append((row, event, error, session_key, group))
        return plan

    def _premark(self, plan, now: float) -> set[int]:
        """Count, in one transaction, an attempt of every fresh unit the pass will begin.

        Fresh means never tried (``attempts == 0``). The attempt is still counted before
        the work starts, so a row that kills the worker is seen and, once its count reaches
        ``max_attempts``, parked. A crash also leaves the pass's other fresh rows counted
        once without having been tried; they are then no longer fresh, so each goes alone
        and is counted just before its own work: at most one such extra count per row.
        Rows already tried are counted one unit at a time, as before. Returns the ids.
        """
        fresh: list[int] = []
        waiting: set[str] = set()
        for row, _event, error, session_key, group in plan:
            if isinstance(error, BadEvent) or session_key in waiting:
                continue
            if self.retry_at.get(row["id"], 0.0) > now:
                waiting.add(session_key)
                continue
            if row["attempts"] == 0:  # max_attempts is at least 1: never parked now
                fresh.extend(row_ids(group))
        if fresh:
            self.store.mark_attempt(fresh)
        return set(fresh)

    def scrubbed_payload(self, row) -> str:
        """The row's payload after a second cleaning pass, before anything is made from it.

        Hooks clean what they store and mark their rows ``cleaned``: those are taken as
        they are. This catches what reached the queue another way (an older version's
        spool or hook, an imported queue). The raw row is deleted once processed (``secure_delete``), and the WAL
        is truncated when the queue drains, so its bytes do not outlive it.
        """
        text = row["payload"]
        if row.get("cleaned") or not isinstance(text, str) or not privacy.needs_cleaning(text):
            return text
        cleaned = privacy.clean_json_text(
            text, privacy.clamp_limit(self.settings.max_tool_output_chars, privacy.DEFAULT_MAX_CHARS),
            privacy.clamp_limit(self.settings.max_payload_bytes, privacy.DEFAULT_MAX_PAYLOAD))
        return text if cleaned is None else cleaned


class _GroupCommit:
    """Units of work stored several to one write transaction: the heuristic's, while quiet.

    Each commit writes its pages to the WAL and a new segment to every full-text index it
    touched: a short request's three units (prompt, tools, reply) committed one by one
    spent about a third of the worker's time there. The transaction is committed at the
    end of every pass (800 rows while quiet, ``_QUIET_BATCH_FACTOR``) and once it has been
    open ``_GROUP_COMMIT_SECONDS``.

    Holding the write lock from one unit to the next leaves a hook's insert (whose retries
    come 1, 2, 5, 10 ... ms apart) almost no moment to get in: measured during a backlog,
    hooks waited 100-600 ms at p95-p99 instead of 5-20. So the worker groups only while
    the queue is quiet: when nothing was queued for two passes in a row (a backlog
    left by a stopped worker, an import); once a hook gets in (between passes, which read
    and parse without the lock), units commit one by one again until it is quiet.

    The store's group (``begin_group`` after BEGIN, ``flush_group`` before COMMIT,
    ``end_group`` whatever happens) makes the units' deferred writes once, at the commit.

    A unit that raises rolls the whole transaction back (no savepoints: releasing one
    flushes the full-text indexes just as a commit does); ``take_undone`` hands back the
    units whose work was lost, for the worker to do again one at a time. Their rows were
    never deleted: nothing is lost, and the failure stays the failing unit's alone.
    """

    def __init__(self, store):
        self.store = store
        self.transaction = None
        self.units: list = []
        self.undone: list = []
        self.opened_at = 0.0

    def add(self, unit, work) -> None:
        """Run ``work()`` inside the shared transaction; ``unit`` is stored at the commit."""
        if self.transaction is not None and not self.store.in_transaction:
            self._lost()  # SQLite ended it on an error: its units are redone
        if self.transaction is None:
            self.transaction = self.store.write()
            self.transaction.__enter__()
            self.store.begin_group()  # its units' writes that can wait do (group_writes)
            self.opened_at = time.monotonic()
        try:
            work()
        except BaseException as exc:
            transaction, self.transaction = self.transaction, None
            self.store.end_group()
            if self.store.in_transaction:
                transaction.__exit__(type(exc), exc, exc.__traceback__)  # roll back
            self.undone += self.units
            self.units = []
            raise
        self.units.append(unit)

    def due(self) -> bool:
        return time.monotonic() - self.opened_at >= _GROUP_COMMIT_SECONDS

    def take_undone(self) -> list:
        undone, self.undone = self.undone, []
        return undone

    def commit(self) -> list:
        """Commit; returns the units now stored."""
        transaction, units = self.transaction, self.units
        self.transaction, self.units = None, []
        if transaction is None:
            return []
        if not self.store.in_transaction:
            self.store.end_group()
            raise RuntimeError(f"the write transaction of {len(units)} units was lost; "
                               "their rows stay queued")
        try:
            self.store.flush_group()
            transaction.__exit__(None, None, None)
        except BaseException as exc:
            if self.store.in_transaction:
                transaction.__exit__(type(exc), exc, exc.__traceback__)
            raise
        finally:
            self.store.end_group()
        return units

    def _lost(self) -> None:
        self.store.end_group()
        self.transaction = None
        self.undone += self.units
        self.units = []


def _session_hint(payload) -> str:
    """The session a row that cannot be parsed probably belongs to (for ordering only)."""
    import re

    m = re.search(r'"session_id"\s*:\s*"([^"\\]{1,200})"', str(payload)[:100_000])
    return m.group(1).strip() if m else f"unparsed:{id(payload)}"
