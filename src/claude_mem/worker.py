"""The worker: one per user, drains the durable queue into observations and summaries.

Its neighbours, one job each: ``handlers`` (what each event becomes in the store),
``pidlock`` (who is the worker: lock and pid file), ``control`` (the control socket, both
ends), ``spool`` (events SQLite could not take), ``watchdogs`` (sessions that never said
goodbye), ``store`` (all SQL).

Contract:
- Runs only while it holds the worker lock (``flock`` on ``worker.lock``, inherited from
  the hook that started it or taken here); a second worker exits at once. While holding
  the lock any leftover socket file is stale by definition and is replaced.
- Listens on ``<data dir>/worker.sock`` (data dir 0700) for one-line JSON commands:
  ``wake``, ``ping``, ``status``, ``stop``. Writes ``worker.pid``; removes both on exit.
- Drains ``pending`` oldest first, per session in order. A row is deleted only in the same
  transaction that stores what was made from it (at-least-once); observations carry a
  content hash so a redelivered event is stored once (twice in one batch included). Each
  attempt is counted before the work starts, so a row that kills the worker is seen too
  (a pass counts all its never-tried rows in one transaction and gives back the counts
  of those it did not begin; a crash leaves them counted once, and they then go alone);
  a row that failed is retried alone, after a growing pause (``retry_backoff_seconds``,
  doubling, capped at a minute) during which its session waits (order) and the others
  flow; after ``max_attempts`` it is parked, never dropped. Each row is parsed once a
  pass, and each cwd's project is looked up once a pass (``project.ProjectLookup``).
- Spool files (events a hook could not put into SQLite) are imported with each pass,
  listed after the batch is read so a later event never overtakes a spooled one; an
  import repeated after a crash is recognized and not queued twice; an unreadable file
  is moved to ``spool/bad``.
- Watchdogs: a session silent for ``session_silence_seconds`` is summarized from what it
  has and closed (no SessionEnd ever came: Ctrl-C, crash); sessions left active longer
  than ``session_max_age_hours`` (a worker was down) are summarized and marked failed
  once the queue is drained at start. The worker exits after ``worker_idle_seconds``
  with nothing to do, by a handshake that loses no wake-up: it stops listening, releases
  the lock, and only then looks for rows that arrived meanwhile; it keeps running if
  there are some and it can retake the lock (else the worker that took it drains them).
- An LLM compressor runs outside any transaction, so slow model calls never hold the write
  lock. The heuristic (local, quick) stores several units per transaction while the queue
  is quiet (nothing queued for two passes in a row), one by one while hooks are
  queueing, so their inserts are not kept waiting (``_GroupCommit``).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

from claude_mem import config, log, pidlock, privacy, spool, watchdogs
from claude_mem.control import ControlServer
from claude_mem.compress import make_compressor
from claude_mem.events import BadEvent, ToolEvent, parse_event
from claude_mem.handlers import EventHandlers, _ids
from claude_mem.project import ProjectLookup
from claude_mem.prompt_memory import PromptMemory
from claude_mem.store import open_store


# Longest pause between two attempts at a failing queue row.
_MAX_RETRY_PAUSE = 60.0
# While the queue is quiet, the heuristic's units of work share a write transaction for
# at most this long (see ``_GroupCommit``).
_GROUP_COMMIT_SECONDS = 0.1
# The queue is quiet once this many passes in a row began with nothing new queued. One was
# not enough: hooks kept waiting by one grouped pass could leave the next one looking quiet
# too (measured with a hook every 10 ms during a backlog: p99 wait 35-80 ms against 10-20).
_QUIET_PASSES = 2
# Idle housekeeping: at most this many free pages (4 KiB each) returned per step, and
# a step at most this often once nothing is left to return.
_RECLAIM_PAGES_PER_STEP = 8192
_MAINTENANCE_INTERVAL = 30.0
# The WAL is truncated (``scrub_files``) once the queue has stayed empty this long, not
# after every drain: a TRUNCATE checkpoint holds writers off while it copies and syncs, and
# during a burst of tool calls each hook would wait behind the one its predecessor caused
# (measured: SessionStart's enqueue 2 -> 11 ms). Deleted rows still leave the files within
# about a second of the burst's end, and at exit.
_SCRUB_AFTER_QUIET_SECONDS = 1.0


class Worker(EventHandlers):
    """The queue's one consumer: the loop, the retry policy, the idle exit."""

    def __init__(self, settings=None, lock_fd: int | None = None):
        self.settings = settings or config.load()
        self.store = open_store(busy_timeout_ms=15000)
        # Each open request's observations, read incrementally (linear ingest).
        self.prompt_memory = PromptMemory(self.store)
        # Each cwd's project, found once per pass over the queue instead of once per event.
        self.projects = ProjectLookup(self.settings.exclude_projects)
        self.next_maintenance_at = 0.0
        self.conversion_checked = False
        self.compressor = make_compressor(self.settings, self.store)
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.started_at = time.time()
        self.last_work_at = time.monotonic()
        self.processed = 0
        self.control = ControlServer({"wake": self._on_wake, "ping": self.describe,
                                      "status": self.describe, "stop": self._on_stop,
                                      "expire": self._on_expire},
                                     self.stopping)
        # `claude-mem cleanup-sessions` asks for these (max age in hours); the loop runs them.
        self.expire_requests: list[float] = []
        # The worker lock fd taken by ``main``; None only for a Worker built elsewhere
        # (tests), which then never releases a lock it does not have.
        self.lock_fd = lock_fd
        self.holds_lock = lock_fd is not None
        # Failed rows wait until this monotonic time before their next attempt.
        self.retry_at: dict[int, float] = {}
        # Sessions whose oldest queued row waits for a retry: the silence watchdog must
        # not close them under the queue's feet.
        self.waiting_sessions: set[str] = set()
        # Highest pending id seen by a drain pass: the idle handshake's "anything new?".
        self.max_seen_id = 0
        # The queue's sequence when the last pass began (see ``drain``).
        self.last_arrivals = -1
        self.quiet_passes = 0  # passes in a row that began with nothing new queued
        self.expired_checked = False
        # When to truncate the WAL (see ``scrub_files``): set once work is done, cleared
        # once it has been truncated; None means nothing new to scrub.
        self.scrub_due_at: float | None = None
        self.team_sync = None  # team memory's sync thread, when a team database is configured
        self.embedding = None  # search by meaning's embedding thread (the [semantic] extra)

    # -- control socket ----------------------------------------------------------------

    def listen(self) -> bool:
        """Serve the control socket; False (and polling only) when it cannot be made.

        Still drains without it: hooks commit first, and the poll finds their rows.
        """
        return self.control.listen()

    def stop_listening(self) -> None:
        """Close the control socket; remove its file only while it is surely ours."""
        # Without the lock the file may already be a new worker's.
        self.control.close(remove_file=self.holds_lock)

    def _on_expire(self, message: dict) -> dict:
        try:
            hours = float(message.get("max_age_hours"))
        except (TypeError, ValueError):
            return {"ok": False, "error": "max_age_hours must be a number"}
        if not 0 < hours < float("inf"):  # nan and inf too
            return {"ok": False, "error": "max_age_hours must be a finite number more than 0"}
        self.expire_requests.append(hours)
        self.wakeup.set()
        return {"queued": True}

    def _on_wake(self, message=None) -> None:
        self.wakeup.set()
        return None  # hooks do not wait for an answer

    def _on_stop(self, message=None) -> dict:
        self.stopping.set()
        self.wakeup.set()
        return {"stopping": True}

    def describe(self, message=None) -> dict:
        return {"pid": os.getpid(), "started_at": self.started_at, "processed": self.processed,
                "compressor": getattr(self.compressor, "name", "?"),
                "idle_seconds": round(time.monotonic() - self.last_work_at, 1),
                "embedding": self.embedding.progress() if self.embedding is not None else None}

    # -- the main loop -------------------------------------------------------------------

    def run(self) -> None:
        self.listen()
        spool.remove_stale_tmp()
        log.info(f"worker started (compressor {self.compressor.name})")
        if self.settings.team_database_url:
            from claude_mem.team.sync import SyncThread

            self.team_sync = SyncThread.start_for(self.settings)
        self.embedding = _start_embedding(self.settings)
        while not self.stopping.is_set():
            try:
                did = self.drain()
                while not did and self.expire_requests:
                    did = watchdogs.expire_old_sessions(self, self.expire_requests.pop(0)) or did
                if not did and not self.expired_checked:
                    # After the first drain, so an old session's queued events are
                    # handled before it is judged abandoned.
                    self.expired_checked = True
                    did = watchdogs.expire_old_sessions(self)
                if not did:
                    did = watchdogs.finalize_silent_sessions(self)
            except Exception as exc:  # keep serving; the rows stay queued for a retry
                import traceback

                log.error(f"worker loop error: {exc!r}\n{traceback.format_exc()}")
                did = False
                self.stopping.wait(1.0)
            if did:
                self.last_work_at = time.monotonic()
                self.scrub_due_at = self.last_work_at + _SCRUB_AFTER_QUIET_SECONDS
                if self.team_sync is not None:
                    self.team_sync.poke()  # push what was just stored, off this thread
                if self.embedding is not None:
                    self.embedding.poke()  # embed what was just stored, off this thread
                continue
            if self.scrub_due_at is not None and time.monotonic() >= self.scrub_due_at:
                # The queue stayed drained: let the deleted rows' bytes leave the WAL too
                # (a reader holding the WAL open makes it fail: try again a bit later).
                self.scrub_due_at = (None if self.store.scrub_files()
                                     else time.monotonic() + _SCRUB_AFTER_QUIET_SECONDS)
            if self.maintain():
                continue  # more space to give back; idle time keeps counting
            if not os.path.exists(config.db_path()):
                log.info("the database is gone (data dir removed?), exiting")
                break
            idle = time.monotonic() - self.last_work_at
            if idle >= float(self.settings.worker_idle_seconds):
                if self.leave_when_idle(idle):
                    break
                self.last_work_at = time.monotonic()
                continue
            wait = min(float(self.settings.worker_poll_seconds),
                       max(0.05, float(self.settings.worker_idle_seconds) - idle),
                       max(0.05, float(self.settings.session_silence_seconds) / 2))
            if self.retry_at:
                wait = min(wait, max(0.02, min(self.retry_at.values()) - time.monotonic()))
            if self.scrub_due_at is not None:
                wait = min(wait, max(0.02, self.scrub_due_at - time.monotonic()))
            self.wakeup.wait(wait)
            self.wakeup.clear()

    def maintain(self) -> bool:
        """Bounded housekeeping while idle (see store/space.py); True if there is more."""
        now = time.monotonic()
        if now < self.next_maintenance_at:
            return False
        returned = 0
        try:
            if not self.conversion_checked:
                self.conversion_checked = True
                if not self.store.queue_stats()["pending"] and self.store.convert_to_incremental():
                    log.info("database converted to incremental auto-vacuum (one VACUUM)")
            returned = self.store.reclaim_space(_RECLAIM_PAGES_PER_STEP)
        except Exception as exc:  # housekeeping must never stop the worker
            log.warning(f"reclaiming space failed: {exc!r}")
        self.next_maintenance_at = now + (0.0 if returned else _MAINTENANCE_INTERVAL)
        return bool(returned)

    def leave_when_idle(self, idle: float) -> bool:
        """The idle exit handshake; True to exit, False when new work kept us running.

        A hook commits its row *before* it tries to wake or start a worker. Once the
        socket is gone and the lock released, a hook either starts a new worker (which
        drains its row) or saw the lock still held, which means its row was committed
        before the release and the check below sees it.
        """
        log.info(f"worker idle for {idle:.0f}s, exiting")
        self.stop_listening()
        pidlock.remove_own_pid_file()
        if self.lock_fd is None:
            return True
        self.holds_lock = False
        found = []

        def new_work() -> bool:
            found.append(self._new_work())
            return found[-1]

        if not pidlock.leave_lock(self.lock_fd, new_work):
            if found and found[-1]:
                log.info("new work arrived while exiting; the worker that took the lock "
                         "drains it")
            return True
        self.holds_lock = True
        log.info("new work arrived while exiting; staying")
        pidlock.write_pid_file()
        self.listen()
        return False

    def _new_work(self) -> bool:
        newest = self.store.newest_pending_id()
        if newest is not None and newest > self.max_seen_id:
            return True
        return bool(config.spooled_names())

    def close(self) -> None:
        self.stopping.set()
        if self.team_sync is not None:
            self.team_sync.stop()
        if self.embedding is not None:
            self.embedding.stop()
        self.stop_listening()
        pidlock.remove_own_pid_file()
        try:
            self.compressor.close()
        except Exception as exc:
            log.warning(f"compressor close failed: {exc!r}")
        self.store.scrub_files()
        self.store.close()
        log.info(f"worker stopped after {self.processed} events")

    # -- draining ------------------------------------------------------------------------

    def drain(self, limit: int = 200) -> bool:
        """One pass over the queue; True if any row was processed or parked.

        Rows waiting for a retry are left alone (with the rest of their session, to keep
        its order) and do not count as work, so the loop sleeps instead of spinning.
        """
        # The spool is listed *after* the batch is read, until a listing finds nothing: a
        # session's hooks run one after another, so an event spooled before a row of this
        # batch was committed is then surely imported, and its arrival time sorts it first.
        # (Importing first and reading after let a later row overtake it.)
        progress = False
        self.projects.clear()
        # Did anything arrive since the last pass began? Then hooks are at work, and units
        # commit one by one so their inserts get in between (see ``_GroupCommit``); only
        # after passes in a row with nothing new do they share transactions.
        arrivals = self.store.queue_sequence()
        self.quiet_passes = self.quiet_passes + 1 if arrivals == self.last_arrivals else 0
        self.last_arrivals = arrivals
        quiet = self.quiet_passes >= _QUIET_PASSES
        rows = self.store.pending_batch(limit)
        while spool.import_into(self.store):
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
        batch = (_GroupCommit(self.store) if quiet and self.compressor.name == "heuristic"
                 else None)
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
                ids = _ids(group)
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
                fresh = row["id"] in premarked
                if not fresh:
                    self._commit_group(batch)  # the attempt must be on disk before its work
                    self.store.mark_attempt(ids)
                started.update(ids)
                progress = True
                if batch is None or not fresh or parse_error is not None:
                    self._attempt(unit, blocked)
                    continue
                try:
                    batch.add(unit, lambda: self.handle(event, group))
                except Exception as exc:  # noqa: BLE001 - tried again, alone, below
                    log.warning(f"rows {ids} ({row['event']}) failed inside a group of "
                                f"units ({exc!r}); redoing the group one unit at a time")
                    # The whole group's work is undone: what was read from it is stale,
                    # and each of its units goes again alone, so the failure is this
                    # unit's only (its batch-mates are stored, it is retried, then parked).
                    self.prompt_memory.clear()
                    for again in batch.take_undone() + [unit]:
                        if again[3] not in blocked:
                            self._attempt(again, blocked)
                    continue
                if batch.due():
                    self._commit_group(batch)
                    if self.store.queue_sequence() != arrivals:
                        batch = None  # a hook got in: commit unit by unit from here on
        finally:
            self._commit_group(batch)
            # Counted but never begun (their session was blocked by a failure, or the
            # worker is stopping): give the attempt back.
            self.store.unmark_attempt(premarked - started)
        return progress

    def _attempt(self, unit, blocked: set) -> None:
        """Turn one unit into memory in its own transactions; a failure blocks its session."""
        row, event, parse_error, session_key, group = unit
        ids = _ids(group)
        try:
            if parse_error is not None:
                raise parse_error
            self.handle(event, group)
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
            self.prompt_memory.clear()  # it may hold rows that are gone now
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
        if self.compressor.name == "heuristic":
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
                fresh.extend(_ids(group))
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
    end of every pass (200 rows) and once it has been open ``_GROUP_COMMIT_SECONDS``.

    Holding the write lock from one unit to the next leaves a hook's insert (whose retries
    come 1, 2, 5, 10 ... ms apart) almost no moment to get in: measured during a backlog,
    hooks waited 100-600 ms at p95-p99 instead of 5-20. So the worker groups only while
    the queue is quiet: when nothing was queued for two passes in a row (a backlog
    left by a stopped worker, an import); once a hook gets in (between passes, which read
    and parse without the lock), units commit one by one again until it is quiet.

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
            self.opened_at = time.monotonic()
        try:
            work()
        except BaseException as exc:
            transaction, self.transaction = self.transaction, None
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
            raise RuntimeError(f"the write transaction of {len(units)} units was lost; "
                               "their rows stay queued")
        try:
            transaction.__exit__(None, None, None)
        except BaseException as exc:
            if self.store.in_transaction:
                transaction.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return units

    def _lost(self) -> None:
        self.transaction = None
        self.undone += self.units
        self.units = []


def _start_embedding(settings):
    """Search by meaning's thread when its extra is installed (semantic/backfill.py); a
    failure to start leaves search by words, never the worker, without it."""
    try:
        from claude_mem.semantic.backfill import EmbedThread

        return EmbedThread.start_for(settings)
    except Exception as exc:  # noqa: BLE001
        log.error(f"search by meaning could not start: {exc!r}")
        return None


def _session_hint(payload) -> str:
    """The session a row that cannot be parsed probably belongs to (for ordering only)."""
    import re

    m = re.search(r'"session_id"\s*:\s*"([^"\\]{1,200})"', str(payload)[:100_000])
    return m.group(1).strip() if m else f"unparsed:{id(payload)}"


def main() -> int:
    os.umask(0o077)
    config.ensure_data_dir()
    fd = pidlock.take_worker_lock()
    if fd is None:
        return 0  # another worker holds the lock: it will drain the queue
    settings = config.load()
    log.warn_once(settings.problems)
    pidlock.write_pid_file()
    delay = float(settings.worker_start_delay_seconds)
    if delay > 0:
        time.sleep(delay)
    try:
        worker = Worker(settings, lock_fd=fd)
    except Exception as exc:  # e.g. the database cannot be opened: say so, leave no pid
        import traceback

        log.error(f"worker could not start: {exc!r}\n{traceback.format_exc()}")
        try:
            os.unlink(config.pid_path())
        except OSError:
            pass
        return 1
    signal.signal(signal.SIGTERM, lambda *_: (worker.stopping.set(), worker.wakeup.set()))
    signal.signal(signal.SIGINT, lambda *_: (worker.stopping.set(), worker.wakeup.set()))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        worker.run()
    except Exception as exc:
        import traceback

        log.error(f"worker crashed: {exc!r}\n{traceback.format_exc()}")
    finally:
        worker.close()
    # The lock fd stays open on purpose: the kernel drops the lock when this process is
    # gone, so "lock free" really means "no worker process" to whoever checks.
    return 0


if __name__ == "__main__":
    sys.exit(main())
