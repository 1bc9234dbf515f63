"""CPU priority of the worker's background threads: the drain first (lock budget).

Why: the worker's drain holds SQLite's write lock in short transactions; while it holds
it, every hook that wants to queue an event waits. The embedding thread (search by
meaning's backfill: seconds of model work per batch) runs in the same process, and on
Linux in the same autogroup, so the scheduler shared the CPU between the two evenly: a
drain transaction of 1-4 ms of CPU then waited 40-110 ms for a CPU inside its hold
(``bench/lock_budget.py`` with the backfill running; 0 holds over 50 ms in the drain
phase without it, 13-15 with it).

Contract: ``background_thread()`` is called first thing in such a thread: on Linux, where
niceness belongs to a thread, it raises the calling thread's niceness by ``NICER`` (an
unprivileged process may always lower its own priority; never raised back). Threads that
thread starts later inherit it (the model engine's own threads). Elsewhere (macOS's
``setpriority`` would lower the whole process, drain included) it does nothing. Returns
the niceness set, or None. Never raises.

With Linux's autogroups (the default on desktops) niceness ranks threads only within
their session, the worker's own: the embedding still gets all of the CPU the worker's
session is given whenever the drain is idle.
"""
from __future__ import annotations

import os
import sys

NICER = 10


def background_thread(nicer: int = NICER) -> int | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import threading

        tid = threading.get_native_id()
        niceness = min(19, os.getpriority(os.PRIO_PROCESS, tid) + int(nicer))
        os.setpriority(os.PRIO_PROCESS, tid, niceness)
        return niceness
    except (AttributeError, OSError, ValueError):
        return None
