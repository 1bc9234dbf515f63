"""Lock tracing (benches only): each hold of SQLite's write lock appended to a file.

Contract: with ``CLAUDE_MEM_LOCK_TRACE`` set to a file path (``PATH``, read once),
``store.db`` imports this module and its write units and lock-taking statements call
``trace_hold`` (``<pid> <unix time> <ms held> <ms on a CPU> <ms waiting for a CPU> <what>``,
holds of 1 ms or more; ``cpu_times()`` is this thread's CPU figures from Linux's
``/proc/thread-self/schedstat``, elsewhere CPU time only and 0); a hook's commit of its
event calls ``trace_wait`` (``<pid> <unix time> <ms> 0 0 wait:<what>``, its wait for the
lock included). ``sampler_begin`` / ``sampler_note`` / ``trace_hold`` also tell this
process's ``lock_sampler`` when one is open. ``bench/lock_budget.py`` reads the file. Unset
(always, outside that bench) nothing imports this module.
"""

import os
import sys
import time

PATH = os.environ.get("CLAUDE_MEM_LOCK_TRACE") or None

# Frames of the write unit itself: a hold is named by the first callers outside them.
_HERE = {os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
         for name in ("db.py", "lock_trace.py")} | {__file__}


def cpu_times() -> tuple[float, float]:
    """This thread's milliseconds on a CPU and waiting for one, so far (lock tracing)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as fh:
            fields = fh.read().split()
        return int(fields[0]) / 1e6, int(fields[1]) / 1e6
    except (OSError, ValueError, IndexError):
        return time.thread_time() * 1000, 0.0


def _sampler():
    """Lock tracing's ``lock_sampler`` holder side, if this process opened one (only bulk
    writers do; looked up, never imported here: a hook would pay the import inside its
    hold)."""
    module = sys.modules.get("claude_mem.store.lock_sampler")
    return module.current() if module is not None else None


def sampler_begin() -> None:
    """Lock tracing: this thread now holds the write lock (``lock_sampler``, if opened)."""
    sampler = _sampler()
    if sampler is not None:
        sampler.begin()


def sampler_note(what: str, started: float, **fields) -> None:
    sampler = _sampler()
    if sampler is not None:
        sampler.note(what, started, **fields)


def trace_hold(started: float, what: str, sched: tuple[float, float] | None = None) -> None:
    """Append one lock hold to the trace file (see the module docstring); ``sched`` is
    ``cpu_times()`` when the hold began."""
    held = (time.perf_counter() - started) * 1000
    if PATH is None:
        return
    sampler = _sampler()
    if sampler is not None:
        sampler.end(held, what)
    if held < 1.0:
        return
    cpu = waited = 0.0
    if sched is not None:
        now = cpu_times()
        cpu, waited = now[0] - sched[0], now[1] - sched[1]
    _append(f"{os.getpid()} {time.time():.3f} {held:.2f} {cpu:.2f} {waited:.2f} "
            f"{what or _callers()}\n")


def _callers() -> str:
    """The first few callers outside the store's write unit (lock tracing names a hold
    by them)."""
    caller = sys._getframe(1)
    where = []
    while caller is not None and len(where) < 4:
        if caller.f_code.co_filename not in _HERE:
            where.append(caller.f_code.co_name)
        caller = caller.f_back
    return "/".join(where)


def trace_wait(started: float, what: str) -> None:
    """Lock tracing (benches): how long a hook took to commit its event, the wait for the
    write lock included: ``<pid> <unix time> <ms> 0 0 wait:<what>``, every time."""
    waited_ms = (time.perf_counter() - started) * 1000
    _append(f"{os.getpid()} {time.time():.3f} {waited_ms:.2f} 0 0 wait:{what}\n")


def _append(line: str) -> None:
    """One line appended to the trace file (one ``write``, so lines of several processes
    never mix); nothing when it cannot be written, or no file is set (``TypeError``)."""
    try:
        fd = os.open(PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except (OSError, TypeError):
        pass
