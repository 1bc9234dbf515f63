"""The worker's housekeeping: the WAL copied and truncated, free pages given back, all of
it within the lock budget (``store.budget``) and never while a hook is about to write.

Contract (``Housekeeping(store, presence)``; the worker's loop calls ``after_work()`` after
a pass that did something, ``when_idle()`` after one that did not, and sleeps at most
``wait_hint()`` seconds):
- The worker's connection does not checkpoint inside its commits (SQLite's automatic
  checkpoint runs inside the COMMIT that crosses 1,000 pages and stalled the drain for up
  to seconds on a busy disk); ``after_work`` copies the WAL into the database (PASSIVE:
  writers go on beside it) once the worker wrote ``wal_pace.CHECKPOINT_BYTES`` since the
  last time, and then begins the next WAL itself (``store.wal_pace``: the restart's sync
  is then never in a hook's commit); not while a hook is about to write.
- The WAL is truncated (``scrub_files``: deleted rows' bytes leave the files) once the queue
  has stayed empty ``SCRUB_AFTER_QUIET_SECONDS``, not after every pass: a TRUNCATE
  checkpoint holds writers off while it runs, and during a burst of tool calls each hook
  would wait behind the one its predecessor caused (measured: SessionStart's enqueue 2 ->
  11 ms). A reader holding the WAL makes it fail: it is tried again a bit later.
- Right after truncating, ``scrub_files`` begins the next WAL itself (``store.start_wal``;
  for a CLI ``forget``'s scrub too): the commit that begins a WAL syncs it, and
  that would be the next hook's.
- Free pages go back to the file system in steps of about ``budget.STEP_MS``, taken in
  turn with other processes' steps (``budget.StepTurn``), the lock then free for
  ``budget.gap``; once nothing is left the next look comes ``MAINTENANCE_INTERVAL`` later.
  An older file is converted to incremental auto-vacuum once, when the queue is empty.
- The search index is merged here, not inside commits (``store.index_merge``): the
  worker turns FTS5's automerge off when it starts, and takes a step of merging after
  every pass that stored something and while idle until nothing is left, in turn with
  other processes' steps and never while a hook is about to write.
- Prompt recall's record of what each session was shown (``store.shown``) loses rows older
  than ``SHOWN_KEEP_SECONDS`` every ``MAINTENANCE_INTERVAL``: here, so no hook pays for it.
- Nothing here raises: housekeeping must never stop the worker (failures are logged).
"""
from __future__ import annotations

import time

from claude_mem import log
from claude_mem.store import budget, wal_pace
from claude_mem.store.shown import SHOWN_KEEP_SECONDS

MAINTENANCE_INTERVAL = 30.0
SCRUB_AFTER_QUIET_SECONDS = 1.0


class Housekeeping:
    def __init__(self, store, presence):
        self.store = store
        self.presence = presence
        store.stop_automatic_checkpoints()
        try:
            store.wal_pace()  # the worker writes in bulk: its pages are asked for now
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.warning(f"preparing the checkpoints failed: {exc!r}")
        self.next_step_at = 0.0
        self.shown_pruned_at: float | None = None
        self.conversion_checked = False
        # When to truncate the WAL: set once work is done, cleared once it has been
        # truncated; None means nothing new to scrub.
        self.scrub_due_at: float | None = None
        # Whether the search index may have segments to merge (an older file may have
        # some waiting, so look once at the start).
        self.merge_due = True
        try:
            if store.defer_index_merges():
                log.info("the search index is merged by the worker now, in steps")
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.warning(f"turning the search index's automerge off failed: {exc!r}")

    def after_work(self) -> None:
        self.scrub_due_at = time.monotonic() + SCRUB_AFTER_QUIET_SECONDS
        self.merge_due = True
        self.merge_index()
        try:
            # Every few MB this process wrote: checkpoint, then begin the next WAL itself
            # (store.wal_pace), unless a hook is about to write. In turn with other
            # processes' housekeeping steps (a ``forget``'s): one of them committing between
            # the checkpoint and ``start_wal`` would restart the WAL, syncing in its hold.
            # The step runs the checkpoint as it ends (``db._PacedStep``); not our turn: the
            # next pass tries again.
            if self.presence.waiting() or not self.store.checkpoint_when_due():
                # pages a long drain reaches stay in memory
                self.store.wal_pace().warm(wal_pace.WARM_EVERY_S)
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.warning(f"checkpoint failed: {exc!r}")

    def when_idle(self) -> None:
        now = time.monotonic()
        if (self.scrub_due_at is not None and now >= self.scrub_due_at
                and not self.presence.waiting()):
            self.scrub_due_at = (None if self.store.scrub_files()
                                 else time.monotonic() + SCRUB_AFTER_QUIET_SECONDS)
        self.forget_old_shown()
        self.merge_index()
        self.give_space_back()

    def merge_index(self) -> None:
        """A step of merging the search index, when there may be some to do, it is our
        turn and no hook is about to write (the next call comes after the gap)."""
        if not self.merge_due or self.presence.waiting():
            return
        try:
            more = self.store.merge_index_step(wait=False)
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.warning(f"merging the search index failed: {exc!r}")
            more = False
        if more is not None:  # None: another process's step (or our gap): look again later
            self.merge_due = more

    def forget_old_shown(self) -> None:
        now = time.monotonic()
        if (self.shown_pruned_at is not None and now - self.shown_pruned_at < MAINTENANCE_INTERVAL) \
                or self.presence.waiting():
            return
        self.shown_pruned_at = now
        try:
            self.store.forget_shown_before(time.time() - SHOWN_KEEP_SECONDS)
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.warning(f"forgetting old recall records failed: {exc!r}")

    def wait_hint(self) -> float:
        """Seconds until the next thing to do here."""
        now = time.monotonic()
        wait = max(0.0, self.next_step_at - now)
        if self.merge_due:
            wait = min(wait, budget.MIN_GAP_S)
        if self.scrub_due_at is not None:
            wait = min(wait, max(0.02, self.scrub_due_at - now))
        return wait

    def give_space_back(self) -> bool:
        """One step of giving space back, when its turn has come; True if it took one."""
        now = time.monotonic()
        if now < self.next_step_at:
            return False
        if self.presence.waiting():  # a hook is about to write: its turn first
            self.next_step_at = now + budget.MIN_GAP_S
            return False
        returned = 0
        try:
            if not self.conversion_checked:
                self.conversion_checked = True
                if not self.store.queue_stats()["pending"] and self.store.convert_to_incremental():
                    log.info("database converted to incremental auto-vacuum (one VACUUM)")
            returned = self.store.reclaim_space(wait=False)
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.warning(f"reclaiming space failed: {exc!r}")
        # A step taken, or not our turn (another process's step): look again once the
        # lock has been free a while.
        self.next_step_at = (time.monotonic() + budget.MIN_GAP_S if returned is None
                             or returned else now + MAINTENANCE_INTERVAL)
        return bool(returned)
