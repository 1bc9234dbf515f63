"""A thread that only waits for an answer lends a hand with it, and is never waited for.

Contract: the working thread calls ``share(part, count)``: ``part(start, end)`` is run
over ``range(count)`` in ``CHUNKS`` pieces (each but the last a multiple of ``ALIGN``
long), taken in turn by the working thread and by a thread that called ``lend()`` (the
waiting one: ``wait_and_lend(done)`` runs whatever is offered until the event ``done`` is
set; the working thread sets ``wake`` after setting it). When ``share`` returns, every
piece is done: a piece the other thread took and has not finished within ``REDO_AFTER``
seconds is done again by the working thread. ``part`` must write its own output slice,
compute each number the same way whoever runs it, and write only finished numbers there
(never sum into it: numpy's ``einsum(out=)`` does, and a piece done by both threads at
once then gave wrong scores), so a piece done twice writes the same numbers twice (the
other thread's late copy included). An error in the lending
thread is dropped there: its pieces are then not finished and the working thread does
them.

Why: a ``both`` search's words are usually found before its question is embedded; the
thread that found them then waits while the searching thread scores 120k projections and
rescores the best 2,000 (~4 ms, most of it reading memory, which two cores read faster
than one; ``hybrid._Beside``). The pieces are shared; a thread still busy with the words
takes none, and one descheduled in the middle of a piece (a busy machine) costs the working
thread at most ``REDO_AFTER`` and the piece again, never a time slice. Rounds 5 and 9 split
the scan in two fixed halves: 1.8x slower under load 13, no gain at load 1.8.
"""
from __future__ import annotations

import threading

CHUNKS = 4
ALIGN = 64
# A piece is ~0.4-0.8 ms of work at 100k vectors on this machine: one not done this long
# after the working thread ran out of pieces is done again by it.
REDO_AFTER = 0.001


class _Work:
    def __init__(self, part, count: int):
        size = max(ALIGN, -(-count // CHUNKS // ALIGN) * ALIGN)  # rounded up to ALIGN
        self.part = part
        self.pieces = [(start, min(count, start + size)) for start in range(0, count, size)]
        self.finished = [False] * len(self.pieces)
        self.lock = threading.Lock()
        self.next = 0
        self.all_done = threading.Event()

    def run(self) -> None:
        """Take pieces until none is left."""
        while True:
            with self.lock:
                if self.next >= len(self.pieces):
                    return
                piece, self.next = self.next, self.next + 1
            self.part(*self.pieces[piece])
            self.finished[piece] = True
            if all(self.finished):
                self.all_done.set()


class Hand:
    def __init__(self):
        self._lock = threading.Lock()
        self._work: _Work | None = None
        self.wake = threading.Event()  # something offered, or the answer is ready

    def share(self, part, count: int) -> None:
        """``part`` over ``range(count)``, pieces shared with a lending thread (above)."""
        work = _Work(part, count)
        with self._lock:
            self._work = work
        self.wake.set()
        work.run()
        with self._lock:
            self._work = None
        if all(work.finished) or work.all_done.wait(REDO_AFTER):
            return
        for piece, (start, end) in enumerate(work.pieces):
            if not work.finished[piece]:
                part(start, end)

    def lend(self) -> None:
        """Take pieces of the work on offer, if any (the waiting thread)."""
        with self._lock:
            work = self._work
        if work is None:
            return
        try:
            work.run()
        except Exception:  # noqa: BLE001  its pieces stay unfinished: the working thread does them
            pass

    def wait_and_lend(self, done: threading.Event) -> None:
        """Until ``done`` is set: take pieces of whatever is offered (the waiting thread)."""
        while not done.is_set():
            self.wake.wait()
            self.wake.clear()  # an offer made after this is seen: its work is in the slot
            self.lend()
