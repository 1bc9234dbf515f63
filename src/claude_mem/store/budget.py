"""The lock budget: no writer holds SQLite's write lock long enough to keep a hook waiting.

Why: hooks put their event on the queue with a 0.75 s busy timeout and spool it past that;
a person waits for every hook. SQLite has one write lock, and a waiting writer retries
through its busy handler 1, 2, 5, 10, 15, 20, 25, 25 ... ms apart. So a long write (space
given back after a big drain, forgetting a large project, an import's queue part) is cut
into steps that each hold the lock about ``STEP_MS`` (the budget is 50 ms), and between two
steps the lock stays free ``gap(held)`` long: longer than a waiting writer's next retry,
so it surely gets in.

Contract:
- ``Steps(first)`` sizes one kind of repeated work by time: ``size()`` is how many items
  the next step should take, ``done(items, seconds)`` feeds back what a step took. The
  rate is remembered between steps (items per second, smoothed) and the next size aims at
  ``STEP_MS``; it grows at most fourfold a step, so one cheap step cannot make the next
  one long.
- ``Steps(first, aim_ms=...)`` can aim at a fraction of a step instead: the size of one
  statement of several inside a step (see ``StepClock``).
- ``StepClock()``, started once a step holds the lock: ``over()`` is True once the step
  has held it ``STEP_MS``. A step made of several small statements ends on that clock, not
  on a guess of how many items fit: one unexpectedly costly item (a long observation's
  search-index terms) or a moment the process was preempted then ends the step early
  instead of making it long.
- ``CommitCost()``: a ``StepClock`` for one kind of step that leaves room for its commit
  (``clock()``), fed with how long each commit took (``took(seconds)``).
- ``pause(held_seconds)`` sleeps the gap after a step that held the lock that long.
- ``StepTurn(db_path)``: whose turn it is to take a step, across processes. Two
  housekeepers each leaving gaps (the worker giving space back after a ``forget`` while
  the ``forget`` command deletes and merges) would fill each other's gaps and leave the
  hooks none. So a step is taken under an ``flock`` on ``housekeeping.lock`` beside the
  database, and its end writes into that file the time until which the lock must stay
  free; the next step (of any process) begins only after it. ``step(wait)`` is the
  context manager: with ``wait=False`` (the worker, which has a queue to serve) it yields
  False instead of waiting for its turn.
- Standard library only; nothing here runs on the hook path.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import time

# What a step aims at, and the budget no step may pass (bench/lock_budget.py checks it).
# A fifth of the budget: on a busy machine a hold's wall time is its CPU time times the
# runnable threads it shares a CPU with (2-4 on the bench's 2 cores); at 20 ms, index
# merge and forget steps (up to 26 ms of CPU with their commits) held the lock 60-90 ms.
STEP_MS = 10.0
BUDGET_MS = 50.0
# The lock stays free at least this long between two steps: a writer that started waiting
# during the step retries within it (its busy handler sleeps at most 25 ms at a time
# during its first ~150 ms of waiting).
MIN_GAP_S = 0.03


def gap(held_seconds: float) -> float:
    """How long the lock stays free after a step that held it ``held_seconds``."""
    return max(MIN_GAP_S, held_seconds)


def pause(held_seconds: float) -> None:
    time.sleep(gap(held_seconds))


class Steps:
    """How many items of one kind of work fit in a step of ``STEP_MS`` (see the module doc)."""

    def __init__(self, first: int = 64, least: int = 1, most: int = 1_000_000,
                 aim_ms: float = STEP_MS):
        self.next = max(least, first)
        self.least, self.most = least, most
        self.aim_ms = aim_ms
        self.rate: float | None = None  # items per second, smoothed

    def size(self) -> int:
        return self.next

    def done(self, items: int, seconds: float) -> None:
        if items <= 0:
            return
        rate = items / max(seconds, 1e-4)
        self.rate = rate if self.rate is None else 0.5 * self.rate + 0.5 * rate
        # Aim at the slower of the two (the last step, the smoothed one): a step that
        # took long is believed at once, a fast one only gradually.
        aim = min(rate, self.rate) * self.aim_ms / 1000
        self.next = int(max(self.least, min(self.most, 4 * items, aim)))


class StepClock:
    """Started when a step has the lock; ``over()`` once it has held it ``STEP_MS``."""

    __slots__ = ("ends",)

    def __init__(self, ms: float = STEP_MS):
        self.ends = time.perf_counter() + ms / 1000

    def over(self) -> bool:
        return time.perf_counter() >= self.ends


class CommitCost:
    """How long one kind of step's COMMIT took (the slower of the last and a smoothed
    value): ``clock()`` is a ``StepClock`` that ends the step's statements that much
    before ``STEP_MS``, so statements and commit together aim at the step's time (a
    forget step's commit writes the search index's deletions: up to half its time)."""

    __slots__ = ("ms",)

    def __init__(self):
        self.ms = 0.0

    def clock(self) -> StepClock:
        return StepClock(max(STEP_MS / 4, STEP_MS - self.ms))

    def took(self, seconds: float) -> None:
        ms = seconds * 1000
        self.ms = max(ms, 0.5 * self.ms + 0.5 * ms)

    @contextlib.contextmanager
    def step(self, write):
        """``with commit.step(store.write) as clock:`` one write unit whose statements stop
        once ``clock`` is over; its COMMIT is timed for the next step's clock (not when the
        unit failed: it was rolled back)."""
        with write():
            yield self.clock()
            committing = time.perf_counter()
        self.took(time.perf_counter() - committing)


class StepTurn:
    """Steps of housekeeping take turns across processes (see the module docstring)."""

    def __init__(self, db_path: str):
        self.path = os.path.join(os.path.dirname(os.path.abspath(db_path)), "housekeeping.lock")
        self.fd: int | None = None

    def _open(self) -> int:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                              0o600)
        return self.fd

    def _free_until(self, fd: int) -> float:
        data = os.pread(fd, 8, 0)
        return struct.unpack("<d", data)[0] if len(data) == 8 else 0.0

    def step(self, wait: bool = True) -> "_Step":
        return _Step(self, wait)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _Step:
    """``with turn.step(wait) as mine:`` -- ``mine`` False: not this caller's turn (wait=False)."""

    __slots__ = ("turn", "wait", "began", "mine")

    def __init__(self, turn: StepTurn, wait: bool):
        self.turn, self.wait, self.mine, self.began = turn, wait, False, 0.0

    def __enter__(self) -> bool:
        try:
            fd = self.turn._open()
        except OSError:  # no lock file possible (read-only folder): steps still leave gaps
            self.began = time.perf_counter()
            return True
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return False
            # time.time(), not monotonic: the file is read by other processes.
            left = self.turn._free_until(fd) - time.time()
            if left <= 0:
                self.mine = True
                # The step's write begins on a fresh share of the CPU: it is then less
                # likely to be preempted while it holds the lock (store.db).
                try:
                    os.sched_yield()
                except (AttributeError, OSError):
                    pass
                self.began = time.perf_counter()
                return True
            fcntl.flock(fd, fcntl.LOCK_UN)
            if not self.wait:
                return False
            time.sleep(min(left, 1.0))

    def __exit__(self, *exc) -> bool:
        held = time.perf_counter() - self.began
        if self.mine:
            fd = self.turn.fd
            try:
                os.pwrite(fd, struct.pack("<d", time.time() + gap(held)), 0)
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
        elif self.turn.fd is None and self.began:
            pause(held)  # no lock file: this caller leaves its own gap
        return False
