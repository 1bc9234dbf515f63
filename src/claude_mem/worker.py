"""The worker: one per user, drains the durable queue into observations and summaries.

Made of parts, each given only what it uses: ``handlers`` (what each event becomes in the
store), ``drain`` (one pass over the queue, its retry policy and group commits), ``watchdogs``
(sessions that never said goodbye), ``pidlock`` (who is the worker: lock and pid file),
``control`` (the control socket, both ends), ``spool`` (events SQLite could not take),
``inbox`` (events hooks left as files), ``housekeeping`` (the WAL and free pages, within the
lock budget), ``presence`` (hooks about to write, heard on the wake-up FIFO: the worker steps
aside for them), ``context_refresh`` (the SessionStart context, rendered ahead and handed to
its hook), ``reconcile`` (after a Codex session ends, what its rollout holds and no hook saw),
``prompt_recall`` (recall for the UserPromptSubmit hook), ``store`` (all SQL). This module
keeps the lifecycle: start, the loop, the idle exit, stop.

Contract:
- Runs only while it holds the worker lock (``flock`` on ``worker.lock``, inherited from
  the hook that started it or taken here); a second worker exits at once. While holding
  the lock any leftover socket file is stale by definition and is replaced.
- Listens on ``<data dir>/worker.sock`` (data dir 0700) for one-line JSON commands:
  ``wake``, ``ping``, ``status``, ``stop``, ``expire``, ``nearest`` (search by meaning
  for a one-shot CLI search, semantic/serve.py), ``recall`` (prompt_recall.py), ``start``
  (start_answer.py). Writes ``worker.pid``; removes both on exit.
- Drains the queue with ``drain.Drain`` (at-least-once, per-session order, counted
  attempts, growing retry pauses, parking after ``max_attempts``; see its contract).
- Watchdogs: a session silent for ``session_silence_seconds`` is summarized from what it
  has and closed (no SessionEnd ever came: Ctrl-C, crash); sessions left active longer
  than ``session_max_age_hours`` (a worker was down) are summarized and marked failed
  once the queue is drained at start. The worker exits after ``worker_idle_seconds``
  with nothing to do, by a handshake that loses no wake-up: it stops listening, releases
  the lock, and only then looks for rows that arrived meanwhile; it keeps running if
  there are some and it can retake the lock (else the worker that took it drains them).
- An LLM compressor runs outside any transaction, so slow model calls never hold the write
  lock (see ``drain._GroupCommit`` for the heuristic's shared transactions).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

from claude_mem import config, heap, inbox, log, pidlock, spool, watchdogs
from claude_mem.control import ControlServer
from claude_mem.compress import make_compressor
from claude_mem.context_refresh import Refresher
from claude_mem.drain import Drain
from claude_mem.handlers import Handlers
from claude_mem.project import ProjectLookup
from claude_mem.presence import HookPresence
from claude_mem.prompt_memory import PromptMemory
from claude_mem.prompt_recall import PromptRecall
from claude_mem.housekeeping import Housekeeping
from claude_mem.reconcile import Reconciler
from claude_mem.store import open_store



# The embedding thread's batches wait until the queue has been quiet this long
# (``semantic/backfill.EmbedThread.poke``).
EMBED_AFTER_QUIET_SECONDS = 1.0


class Worker:
    """The queue's one consumer: the loop, the idle exit, the parts put together."""

    def __init__(self, settings=None, lock_fd: int | None = None):
        self.settings = settings or config.load()
        self.store = open_store(busy_timeout_ms=15000)
        self.store.serve_the_worker()  # see store/db.py
        self.compressor = make_compressor(self.settings, self.store)
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        # Each open request's observations are read incrementally (linear ingest); each
        # cwd's project is found once per pass over the queue instead of once per event.
        self.handlers = Handlers(self.store, self.compressor, self.settings,
                                 PromptMemory(self.store),
                                 ProjectLookup(self.settings.exclude_projects))
        # What an ended session's own record holds and no hook saw (Codex's shell patches).
        self.reconciler = Reconciler(self.store, self.settings)
        self.handlers.on_end = self.reconciler.want
        # Hooks about to write (their ``h`` on the wake-up FIFO): the worker steps aside.
        self.presence = HookPresence()
        self.drain = Drain(self.store, self.settings, self.handlers, self.stopping,
                           presence=self.presence)
        self.started_at = time.time()
        self.last_work_at = time.monotonic()
        self.prompt_recall = PromptRecall(writer=self.store)  # its gate: see store/db.py
        self.start_context = Refresher(self.store, self.settings, self.presence)  # rendered ahead
        self.control = ControlServer({
            "wake": self._on_wake, "fifo": self.presence.heard, "ping": self.describe,
            "status": self.describe, "stop": self._on_stop, "expire": self._on_expire,
            "nearest": self._on_nearest, "recall": self.prompt_recall.answer,
            "start": self.start_context.answer}, self.stopping)
        # `claude-mem cleanup-sessions` asks for these (max age in hours); the loop runs them.
        self.expire_requests: list[float] = []
        # The worker lock fd taken by ``main``; None only for a Worker built elsewhere
        # (tests), which then never releases a lock it does not have.
        self.lock_fd = lock_fd
        self.holds_lock = lock_fd is not None
        self.expired_checked = False
        # The WAL and free pages, within the lock budget (see housekeeping.py).
        self.housekeeping = Housekeeping(self.store, self.presence)
        self.team_sync = None  # team memory's sync thread, when a team database is configured
        self.embedding = None  # search by meaning's embedding thread (the [semantic] extra)
        self.nearest = None  # answers a one-shot search's meaning half (semantic/serve.py)

    # -- control socket ----------------------------------------------------------------

    def listen(self) -> bool:
        """Serve the control socket; False (and polling only) when it cannot be made. Still
        drains without it: hooks commit first, and the poll finds their rows."""
        return self.control.listen()

    def stop_listening(self) -> None:
        """Close the control socket and what answers on it; remove its file only while it
        is surely ours (without the lock it may already be a new worker's)."""
        self.control.close(remove_file=self.holds_lock)
        if self.nearest is not None:
            self.nearest.close()
        self.prompt_recall.close()
        self.start_context.close()

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

    def _on_nearest(self, message: dict) -> dict:
        """A one-shot ``claude-mem search`` asks for the memories nearest in meaning: this
        worker's model and vectors are loaded once (see semantic/serve.py)."""
        if self.nearest is None:
            from claude_mem.semantic.serve import Nearest

            self.nearest = Nearest(self.settings)
        return self.nearest.answer(message)

    def _on_wake(self, message=None) -> None:  # None: hooks do not wait for an answer
        self.wakeup.set()

    def _on_stop(self, message=None) -> dict:
        self.stopping.set()
        self.wakeup.set()
        return {"stopping": True}

    def describe(self, message=None) -> dict:
        return {"pid": os.getpid(), "started_at": self.started_at,
                "processed": self.drain.processed, "taken_from_inbox": self.drain.taken_in,
                "compressor": getattr(self.compressor, "name", "?"),
                "idle_seconds": round(time.monotonic() - self.last_work_at, 1),
                "embedding": self.embedding.progress() if self.embedding is not None else None,
                "searches_answered": self.nearest.answered if self.nearest is not None else 0,
                **self.prompt_recall.counts(), **self.start_context.answerer.counts(),
                "meaning_index_vectors": self.nearest.held() if self.nearest is not None else 0}

    # -- the main loop -------------------------------------------------------------------

    def run(self) -> None:
        try:  # before the FIFO: capture.sh takes a FIFO without an inbox for an older worker
            inbox.make()
        except OSError as exc:
            log.error(f"cannot make the inbox ({exc}); capture hooks run Python")
        self.listen()
        spool.remove_stale_tmp()
        log.info(f"worker started (compressor {self.compressor.name})")
        if self.settings.team_database_url:
            from claude_mem.team.sync import SyncThread

            self.team_sync = SyncThread.start_for(self.settings)
        self.embedding = _start_embedding(self.settings)
        while not self.stopping.is_set():
            try:
                did = self.drain.run() or self.watch()
            except Exception as exc:  # keep serving; the rows stay queued for a retry
                import traceback

                log.error(f"worker loop error: {exc!r}\n{traceback.format_exc()}")
                did = False
                self.stopping.wait(1.0)
            if did:
                if self.reconciler.waiting and not self.store.in_transaction:
                    self.reconciler.run()  # queued rows are the next pass's work
                self.housekeeping.after_work()
                self.start_context.after_work()
                self.last_work_at = time.monotonic()
                if self.team_sync is not None:
                    self.team_sync.poke()  # push what was just stored, off this thread
                if self.embedding is not None:
                    # Embed what was just stored, off this thread, once the queue has
                    # been quiet a moment: not on the CPU the session is using now.
                    self.embedding.poke(after=EMBED_AFTER_QUIET_SECONDS)
                continue
            self.housekeeping.when_idle()  # WAL truncation, a step of giving space back
            self.start_context.when_idle()  # the SessionStart context, rendered ahead
            self.prompt_recall.release_if_unused()
            if not os.path.exists(config.db_path()):
                log.info("the database is gone (data dir removed?), exiting")
                break
            idle = time.monotonic() - self.last_work_at
            if idle >= float(self.settings.worker_idle_seconds) and (
                    self.embedding is not None and self.embedding.working()):
                # The backfill is work too: leaving would stop it halfway.
                self.last_work_at = time.monotonic()
                continue
            if idle >= float(self.settings.worker_idle_seconds):
                if self.leave_when_idle(idle):
                    break
                self.last_work_at = time.monotonic()
                continue
            wait = min(float(self.settings.worker_poll_seconds),
                       max(0.05, float(self.settings.worker_idle_seconds) - idle),
                       max(0.05, float(self.settings.session_silence_seconds) / 2))
            if self.drain.retry_at:
                wait = min(wait, max(0.02, min(self.drain.retry_at.values()) - time.monotonic()))
            wait = min(wait, self.housekeeping.wait_hint(), self.start_context.wait_hint())
            self.wakeup.wait(wait)
            self.wakeup.clear()

    def watch(self) -> bool:
        """The watchdogs, once a pass found nothing to do; True if any closed a session."""
        store, finalize, stopping = self.store, self.handlers.finalize, self.stopping
        did = False
        while not did and self.expire_requests:
            did = watchdogs.expire_old_sessions(store, finalize, self.expire_requests.pop(0),
                                                stopping)
        if not did and not self.expired_checked:
            # After the first drain, so an old session's queued events are handled before
            # it is judged abandoned.
            self.expired_checked = True
            did = watchdogs.expire_old_sessions(store, finalize,
                                                self.settings.session_max_age_hours, stopping)
        if not did:
            did = watchdogs.finalize_silent_sessions(
                store, finalize, self.settings.session_silence_seconds,
                self.drain.waiting_sessions, stopping)
        return did

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
        if newest is not None and newest > self.drain.max_seen_id:
            return True
        return bool(config.spooled_names() or inbox.waiting())

    def close(self) -> None:
        self.stopping.set()
        if self.holds_lock:  # prompts go back to the hooks' own path (the next worker may be older)
            inbox.unmake()
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
        log.info(f"worker stopped after {self.drain.processed} events")


def _start_embedding(settings):
    """Search by meaning's thread when its extra is installed (semantic/backfill.py); a
    failure to start leaves search by words, never the worker, without it."""
    try:
        from claude_mem.semantic.backfill import EmbedThread

        return EmbedThread.start_for(settings)
    except Exception as exc:  # noqa: BLE001
        log.error(f"search by meaning could not start: {exc!r}")
        return None


def main() -> int:
    os.umask(0o077)
    config.ensure_data_dir()
    fd = pidlock.take_worker_lock()
    if fd is None:
        return 0  # another worker holds the lock: it will drain the queue
    settings = config.load()
    log.warn_once(settings.problems)
    heap.keep_for_life()  # SQLite's blocks stay in the heap, start-up leaves the GC (heap.py)
    pidlock.write_pid_file()
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
