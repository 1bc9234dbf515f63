"""The vectors of one model in memory, for scoring a query against all of them at once.

Contract: ``VectorIndex(model, dim)``; ``refresh(store)`` brings it up to date by reading
only the vectors stored since it last looked (ids only grow), and reads everything again
when some were deleted meanwhile (forget, a re-made summary); it looks at most every
``REFRESH_SECONDS``. ``nearest(query, project=, kinds=, limit=)`` returns
``(kind, item_id, cosine)`` best first. Float32 in memory (numpy's fast path): 1.5 KB a
vector, 150 MB at 100k; the file keeps them at a quarter of that (``codec``).
"""
from __future__ import annotations

import threading
import time

import numpy as np

from claude_mem.semantic import codec

KIND_CODES = {"observation": 0, "summary": 1, "prompt": 2}
KIND_NAMES = {code: name for name, code in KIND_CODES.items()}
REFRESH_SECONDS = 0.5
_READ_BATCH = 50_000


class VectorIndex:
    def __init__(self, model: str, dim: int):
        self.model, self.dim = model, dim
        self.lock = threading.Lock()
        self._reset()
        self.checked_at = float("-inf")

    def _reset(self) -> None:
        self.matrix = np.zeros((0, self.dim), dtype=np.float32)
        self.kinds = np.zeros(0, dtype=np.int8)
        self.item_ids = np.zeros(0, dtype=np.int64)
        self.projects = np.zeros(0, dtype=np.int32)
        self.project_codes: dict[str, int] = {}
        self.count = 0
        self.top_id = 0

    def __len__(self) -> int:
        return self.count

    def refresh(self, store, *, force: bool = False) -> None:
        with self.lock:
            now = time.monotonic()
            if not force and now - self.checked_at < REFRESH_SECONDS:
                return
            self.checked_at = now
            count, top = store.vectors_mark(self.model)
            if count == self.count and top <= self.top_id:
                return
            rows = self._read_after(store, self.top_id)
            if self.count + len(rows) != count:  # some were deleted or replaced: start over
                self._reset()
                rows = self._read_after(store, 0)
            self._append(rows)
            self.top_id = max(self.top_id, top)

    def _read_after(self, store, after: int) -> list:
        rows: list = []
        while True:
            batch = store.vectors_after(after, self.model, _READ_BATCH)
            rows += batch
            if len(batch) < _READ_BATCH:
                return rows
            after = batch[-1][0]

    def _append(self, rows: list) -> None:
        if not rows:
            return
        codes = self.project_codes
        projects = np.fromiter((codes.setdefault(r[3], len(codes)) for r in rows),
                               dtype=np.int32, count=len(rows))
        self.matrix = np.concatenate([self.matrix, codec.unpack_many([r[4] for r in rows], self.dim)])
        self.kinds = np.concatenate([self.kinds, np.fromiter(
            (KIND_CODES[r[1]] for r in rows), dtype=np.int8, count=len(rows))])
        self.item_ids = np.concatenate([self.item_ids, np.fromiter(
            (r[2] for r in rows), dtype=np.int64, count=len(rows))])
        self.projects = np.concatenate([self.projects, projects])
        self.count += len(rows)
        self.top_id = max(self.top_id, rows[-1][0])

    def nearest(self, query, *, project: str | None = None, kinds=None,
                limit: int = 50) -> list[tuple[str, int, float]]:
        with self.lock:
            if not self.count:
                return []
            scores = self.matrix @ np.asarray(query, dtype=np.float32)
            keep = None
            if project is not None:
                code = self.project_codes.get(project)
                if code is None:
                    return []
                keep = self.projects == code
            if kinds is not None and set(kinds) != set(KIND_CODES):
                wanted = np.isin(self.kinds, [KIND_CODES[k] for k in kinds if k in KIND_CODES])
                keep = wanted if keep is None else keep & wanted
            if keep is not None:
                scores = np.where(keep, scores, -np.inf)
            limit = max(1, min(int(limit), self.count))
            best = np.argpartition(-scores, limit - 1)[:limit]
            best = best[np.argsort(-scores[best])]
            return [(KIND_NAMES[int(self.kinds[i])], int(self.item_ids[i]), float(scores[i]))
                    for i in best if scores[i] > -np.inf]
