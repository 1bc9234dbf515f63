"""Writers waiting for the write lock, as the worker sees them (the lock budget's signal).

A hook writes ``h`` into the worker's wake-up FIFO just before its insert and ``w`` once it
has committed (``wakeup.announce`` / ``wakeup.poke``); every other writer of ours
(``forget``, ``import``, a CLI command: ``store.db``'s write units outside the worker)
writes ``a`` before its ``BEGIN IMMEDIATE`` and ``d`` once it is done
(``wakeup.about_to_write`` / ``wakeup.done``). "Hooks" below means all of them: the worker
steps aside for each alike. The two are counted apart: a ``w`` is also every plain wake-up
(a prompt left in the inbox, ``control.wake``), and one arriving while a writer waited took
that writer's place in a single count (measured: an announced probe then waited 161 ms
behind four shared transactions in a row); an ``a`` is only ever matched by its own ``d``.
``HookPresence.heard(bytes)`` is fed what the FIFO's reader got; ``waiting()`` is True while
more hooks announced themselves than said they are done, for at most ``_STALE_SECONDS``
after the last announcement (a hook that spooled its event, died or found no worker never
says it is done: it must not keep the worker waiting). ``yield_to_hooks()`` blocks until
those hooks are done or ``_YIELD_SECONDS`` have passed.

The worker asks before taking the lock for something that can wait (a group commit, a
housekeeping step, the WAL truncation) and between units of a drain pass: a hook then
waits at most one unit's transaction, not a run of them. Bytes of older hooks (``w``
only) just count as done; so does a ``w`` that only wakes (a poke without announcement),
which can end a wait early, never make one longer. Thread-safe: the FIFO is read on the
control thread.
"""
from __future__ import annotations

import threading
import time

# An announcement older than this no longer counts (see the module docstring).
_STALE_SECONDS = 0.25
# The longest the worker leaves the lock to hooks in one go.
_YIELD_SECONDS = 0.05


class HookPresence:
    def __init__(self):
        self.lock = threading.Lock()
        self.done = threading.Condition(self.lock)
        # [hooks (h/w), other writers (a/d)]: how many are waiting, and when the last of
        # each kind announced itself (for ``_STALE_SECONDS``).
        self.pending = [0, 0]
        self.announced_at = [0.0, 0.0]
        self.yields = 0  # how often the worker stepped aside (status, tests)

    def heard(self, data: bytes) -> None:
        counts = [(data.count(b"h"), data.count(b"w")), (data.count(b"a"), data.count(b"d"))]
        if not any(arrived or finished for arrived, finished in counts):
            return
        with self.lock:
            now = time.monotonic()
            for kind, (arrived, finished) in enumerate(counts):
                if arrived:
                    self.announced_at[kind] = now
                self.pending[kind] = max(0, self.pending[kind] + arrived - finished)
            if not any(self.pending):
                self.done.notify_all()

    def waiting(self) -> bool:
        with self.lock:
            return self._waiting(time.monotonic())

    def _waiting(self, now: float) -> bool:
        for kind in (0, 1):
            if self.pending[kind] and now - self.announced_at[kind] > _STALE_SECONDS:
                self.pending[kind] = 0  # their goodbyes never came: spooled, died, no worker then
        return any(self.pending)

    def yield_to_hooks(self) -> bool:
        """Wait (lock free) until the announced hooks are done; True if there were any."""
        deadline = time.monotonic() + _YIELD_SECONDS
        with self.lock:
            if not self._waiting(time.monotonic()):
                return False
            self.yields += 1
            while self._waiting(time.monotonic()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.done.wait(left)
        return True
