"""A thread that only waits for an answer lends a hand with it.

Contract: the working thread ``offer``s a job (a callable that writes its own output and
returns nothing), does its own part, then calls ``finish()``: the job is then done, by
the waiting thread if it took it (``lend``), else right there by the working thread
itself; an error the job raised in the waiting thread is raised by ``finish``. The
waiting thread calls ``wait_and_lend(done)``: it runs what is offered until the event
``done`` is set (the working thread sets ``wake`` after ``done``). One job is offered at
a time; each offer is followed by its ``finish`` before the next.

Why: a ``both`` search's words are usually found before its question is embedded; the
searching thread then waits while the meaning thread scores 120k projections and
rescores the best 2,000 (~4 ms, most of it reading memory, which two cores read faster
than one). The meaning thread offers half of each of the two products; a searching thread
still busy with its words never takes one, so the scan is never held up by a thread that
is elsewhere (the working thread does the half itself). Each number is computed the same
way whichever thread computes it: the halves give the same scores as the whole
(``index``: split at a multiple of ``index.SPLIT_ALIGN`` rows, tested).
"""
from __future__ import annotations

import threading


class Hand:
    def __init__(self):
        self._lock = threading.Lock()
        self._job = None            # offered and not yet taken
        self._taken = threading.Event()  # the taken job is finished (set: none pending)
        self._taken.set()
        self._error: BaseException | None = None
        self.wake = threading.Event()  # something offered, or the answer is ready

    def offer(self, job) -> None:
        with self._lock:
            self._job = job
        self.wake.set()

    def lend(self) -> None:
        """Run the job offered, if nobody took it yet (the waiting thread)."""
        with self._lock:
            job, self._job = self._job, None
            if job is None:
                return
            self._taken.clear()
        try:
            job()
        except BaseException as exc:  # raised in the working thread (``finish``)
            self._error = exc
        finally:
            self._taken.set()

    def finish(self) -> None:
        """The job offered last is done when this returns (the working thread)."""
        with self._lock:
            job, self._job = self._job, None
        if job is not None:
            job()
            return
        self._taken.wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def wait_and_lend(self, done: threading.Event) -> None:
        """Until ``done`` is set: run whatever is offered (the waiting thread)."""
        while not done.is_set():
            self.wake.wait()
            self.wake.clear()  # an offer made after this is seen: its job is in the slot
            self.lend()
