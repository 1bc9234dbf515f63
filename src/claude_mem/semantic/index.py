"""The vectors of one model in memory, for scoring a query against all of them at once.

Contract: ``VectorIndex(model, dim)``; ``refresh(store)`` brings it up to date by reading
only the vectors stored since it last looked (ids only grow; at most every
``REFRESH_SECONDS``), and reads everything again when some were deleted meanwhile
(forget, a re-made summary: looked for every ``RECOUNT_SECONDS`` by a count of every
vector, ~8 ms of CPU at 120k, which runs in a thread of its own on its own connection,
never inside a search; at once, inline, with ``force`` and on the first refresh).
``nearest(query, project=, kinds=, limit=)`` returns ``(kind, item_id, cosine)`` best
first; the cosines are exact (from the stored vectors). The list also says which of them
are near-duplicates of each other (``Found.duplicates``: pairs of positions whose best
passages have a cosine of at least ``DUPLICATE_COSINE``: a command run four times, a
to-do list re-written at each step), for the fusion to keep them from filling the first
places (``hybrid``).

How it stays fast at 100k vectors: a matrix product over every float32 vector reads
1.5 KB a vector (150 MB at 100k: ~15 ms on an idle core, several times that on a busy
one). Up to ``EXACT_MAX`` vectors it is done that way. Above, the vectors are kept as the
int8 codes they are stored as (a quarter of the size) plus a projection onto their
``PROJECTED`` principal directions (float32; the directions are computed from a sample
of the vectors themselves, again each time the index has doubled). A query is scored
against the projections first, and the best ``RESCORE`` are scored again exactly from
their codes: the projection only has to keep the true best among its best few hundred.
Those are found by a threshold read off a sample of the scores (``best_rows``), not a
partial sort of all of them. Vectors stored later are written into spare rows of the
arrays (their capacity doubles when full), so a search that finds new ones does not copy
the index.

A memory may have several vectors (one per passage, see ``passages``): each is a row of
the index with its memory's kind and id. ``nearest`` reads the best ``PASSAGES_READ``
times as many vectors as memories wanted and scores each memory found among them by its
best two passages: the best one's cosine plus ``SECOND_WEIGHT`` times the second's
(divided by ``1 + SECOND_WEIGHT``); a memory of one passage counts its only one, less
``ONE_PASSAGE_GAP``, as its second. Why: a long memory (a request's summary, a long
command's output) has up to 32 passages, and the best of many draws is high by chance:
one passage that happens to share the question's phrasing ("tests failed") puts a
memory about something else first. A memory about the question usually says it in more
than one place (the summary's request and the line that answers it; the command and its
output). On the tune questions of bench/recall.py (in-process, docs/recall.md) meaning
alone found 112 -> 117 of 143 (all sessions' memory) and 117 -> 124 (the tune sessions'
memory alone), and the fused search 127 -> 129 and 129 -> 130. ``len(index)`` counts
vectors.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from claude_mem.semantic import blas, codec
from claude_mem.semantic.found import Found

KIND_CODES = {"observation": 0, "summary": 1, "prompt": 2}
KIND_NAMES = {code: name for name, code in KIND_CODES.items()}
REFRESH_SECONDS = 0.5
# How often deletions are looked for (a count of every vector): a forgotten row's vector
# may be scored until then, and search drops rows that are gone (``hybrid``).
RECOUNT_SECONDS = 30.0
EXACT_MAX = 20_000
PROJECTED = 128
RESCORE = 2000
_SAMPLE = 4096
# best_rows: one score in _STRIDE sets the threshold, placed to keep ~_MARGIN x as many.
_STRIDE = 16
_MARGIN = 1.3
_READ_BATCH = 50_000
# Vectors read per memory wanted: a memory's other passages take places in the best list.
PASSAGES_READ = 4
# A memory's score by meaning: its best passage's cosine plus this share of its second
# best's; a memory of one passage has its only one, less ONE_PASSAGE_GAP, as its second
# (so it neither gains nor loses against a long memory whose second passage is about as
# close as that). Chosen on the tune questions of bench/recall.py: 0.2-0.3 with 0.05-0.1
# gave the same fused recall (129 of 143); 0 is the best passage alone (docs/recall.md).
SECOND_WEIGHT = 0.3
ONE_PASSAGE_GAP = 0.05
# Two memories whose best passages are this close say the same thing (e5's cosines of
# unrelated texts are ~0.75-0.85; a repeated command's memories ~0.99). Chosen on the
# tune questions of bench/recall.py (0.97-0.99 gave the same; docs/search.md).
DUPLICATE_COSINE = 0.98


def best_rows(scores, wanted: int):
    """The positions of at least the ``wanted`` highest ``scores`` (in no order; maybe a
    few more). A full partial sort of 120k scores took ~1.2 ms; instead a threshold is
    read off every ``_STRIDE``-th score (a little below the level that keeps ``wanted``,
    by ``_MARGIN``), and every score at or above it is taken: when that holds at least
    ``wanted`` it holds the best ``wanted`` too, else (or when far too many tie) the
    partial sort decides."""
    n = len(scores)
    if wanted >= n:
        return np.arange(n)
    if n >= 4 * wanted and wanted >= _STRIDE:
        sample = scores[::_STRIDE]
        place = min(len(sample) - 1, int(wanted / _STRIDE * _MARGIN))
        level = np.partition(sample, len(sample) - 1 - place)[len(sample) - 1 - place]
        rows = np.flatnonzero(scores >= level)
        if wanted <= len(rows) <= 4 * wanted:
            return rows
    return np.argpartition(-scores, wanted - 1)[:wanted]


# A product over fewer rows than these is done by one thread: sharing it (a wake-up of
# the waiting thread, ~0.05-0.1 ms) would cost about what it saves.
SPLIT_MIN = 40_000
RESCORE_SPLIT_MIN = 1024


def _shared(part, count: int, hand) -> None:
    """``part(start, end)`` over ``range(count)``: its pieces shared with the thread of
    ``hand`` (``hand.Hand.share``), all done here without one. Pieces start at multiples
    of ``hand.ALIGN`` (64) rows: OpenBLAS's gemv computes the rows of a block of 8 alike
    but the last, incomplete block by another path, so a cut elsewhere changed the last
    bits of a few cosines (numpy's einsum computes each row alone)."""
    if hand is None:
        part(0, count)
    else:
        hand.share(part, count)


class VectorIndex:
    def __init__(self, model: str, dim: int):
        # Before the first product: BLAS's second thread would spin on the core the next
        # query's embedding needs (``blas``).
        blas.one_thread()
        self.model, self.dim = model, dim
        self.lock = threading.Lock()
        self._reset()
        self.checked_at = float("-inf")
        self.counted_at = float("-inf")
        self.stale = False  # a count beside found deletions: read everything again
        self.counter: threading.Thread | None = None

    def _reset(self) -> None:
        # Each array is a view of the first ``count`` rows of a larger buffer (``_buffers``),
        # so that vectors added later are written in place: copying the whole index for
        # one new vector took 12-21 ms at 120k, inside the search that found it.
        self._buffers: dict[str, np.ndarray] = {}
        self.codes = np.zeros((0, self.dim), dtype=np.int8)
        self.scales = np.zeros(0, dtype=np.float32)
        self.full: np.ndarray | None = np.zeros((0, self.dim), dtype=np.float32)
        self.basis: np.ndarray | None = None   # (dim, PROJECTED) principal directions
        self.projected: np.ndarray | None = None
        self.basis_rows = 0
        self.kinds = np.zeros(0, dtype=np.int8)
        self.item_ids = np.zeros(0, dtype=np.int64)
        self.projects = np.zeros(0, dtype=np.int32)
        self.passage_counts = np.zeros(0, dtype=np.int32)  # its memory's passages, per row
        self.project_codes: dict[str, int] = {}
        self.count = 0
        self.top_id = 0
        self.seen_total = 0  # vectors of every model in the table when last read
        self._subsets: dict = {}  # (project code, kinds) -> the row numbers it allows

    def __len__(self) -> int:
        return self.count

    def refresh(self, store, *, force: bool = False) -> None:
        with self.lock:
            now = time.monotonic()
            if not force and not self.stale and now - self.checked_at < REFRESH_SECONDS:
                return
            self.checked_at = now
            path = getattr(store, "path", None)
            due = now - self.counted_at >= RECOUNT_SECONDS
            if due and not force and not self.stale and self.counted_at > float("-inf") \
                    and path and path != ":memory:":
                # A search must not pay for the count: it runs beside, and the next refresh
                # reads everything again if it found deletions (``stale``).
                self.counted_at = now
                self._count_beside(path)
                due = False
            if force or due or self.stale:
                self.counted_at = now
                self.stale = False
                total, top = store.vectors_mark()
                if total == self.seen_total and top <= self.top_id:
                    return
                added = store.vectors_added_after(self.top_id)
                if total != self.seen_total + added:  # some were deleted or replaced: start over
                    self._reset()
                self._append(self._read_after(store, self.top_id))
                self.top_id = max(self.top_id, top)
                self.seen_total = total
                return
            # Between counts only new vectors are looked for: the highest id is one step
            # of the key, where counting every vector took ~10 ms at 100k on a busy machine.
            top = store.vectors_top()
            if top <= self.top_id:
                return
            added = store.vectors_added_after(self.top_id)
            self._append(self._read_after(store, self.top_id))
            self.top_id = max(self.top_id, top)
            self.seen_total += added

    def _count_beside(self, path: str) -> None:
        """Count every vector in a thread with its own connection (called under the lock):
        when fewer are left than were read, rows were deleted, and ``stale`` makes the
        next refresh read everything again."""
        if self.counter is not None and self.counter.is_alive():
            return
        top, seen = self.top_id, self.seen_total

        def count() -> None:
            from claude_mem.store import Store

            try:
                with Store(path, migrate=False) as other:
                    total, added = other.vectors_census(top)
            except Exception:  # a locked or vanished file: the next count tries again
                return
            if total != seen + added:
                with self.lock:
                    self.stale = True

        self.counter = threading.Thread(target=count, name="claude-mem-vector-count", daemon=True)
        self.counter.start()

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
        n = len(rows)
        codes, scales, owners = codec.split_rows([r[4] for r in rows], self.dim)
        known = self.project_codes
        projects = np.fromiter((known.setdefault(r[3], len(known)) for r in rows),
                               dtype=np.int32, count=n)
        kinds = np.fromiter((KIND_CODES[r[1]] for r in rows), dtype=np.int8, count=n)
        items = np.fromiter((r[2] for r in rows), dtype=np.int64, count=n)
        before = self.count
        self.codes = self._put("codes", before, codes)
        self.scales = self._put("scales", before, scales)
        self.kinds = self._put("kinds", before, kinds[owners])
        self.item_ids = self._put("item_ids", before, items[owners])
        self.projects = self._put("projects", before, projects[owners])
        counts = np.bincount(owners, minlength=n).astype(np.int32)
        self.passage_counts = self._put("passage_counts", before, counts[owners])
        self.count += len(owners)
        self.top_id = max(self.top_id, rows[-1][0])
        self._subsets = {}
        if self.count <= EXACT_MAX:
            self.full = self._put("full", before, codec.decode(codes, scales))
            return
        self.full = None
        self._buffers.pop("full", None)
        if self.basis is None or self.count >= 2 * self.basis_rows:
            self._project_all()
        else:
            self.projected = self._put("projected", before, self._project(codes, scales))

    def _put(self, name: str, count: int, new: np.ndarray) -> np.ndarray:
        """The first ``count`` rows of buffer ``name`` followed by ``new`` (a view). A full
        buffer is replaced by one twice the size: its unused rows are never touched, so
        they take address space, not memory."""
        buffer = self._buffers.get(name)
        need = count + len(new)
        if buffer is None or need > len(buffer):
            bigger = np.empty((max(1024, 2 * need),) + new.shape[1:], dtype=new.dtype)
            if buffer is not None and count:
                bigger[:count] = buffer[:count]
            buffer = self._buffers[name] = bigger
        buffer[count:need] = new
        return buffer[:need]

    def _project(self, codes, scales, out=None):
        if out is None:
            out = np.empty((len(codes), self.basis.shape[1]), dtype=np.float32)
        for start in range(0, len(codes), 20_000):  # bounded temporaries
            part = codec.decode(codes[start:start + 20_000], scales[start:start + 20_000])
            out[start:start + 20_000] = part @ self.basis
        return out

    def _project_all(self) -> None:
        rng = np.random.default_rng(0)
        sample = rng.choice(self.count, size=min(_SAMPLE, self.count), replace=False)
        vectors = codec.decode(self.codes[sample], self.scales[sample])
        centred = vectors - vectors.mean(axis=0)
        # The principal directions from the (dim, dim) covariance: an SVD of the sample
        # itself took seconds on a busy machine, this takes milliseconds.
        values, directions = np.linalg.eigh(centred.T @ centred)
        top = np.argsort(values)[::-1][:PROJECTED]
        self.basis = np.ascontiguousarray(directions[:, top].astype(np.float32))
        self.basis_rows = self.count
        # Projected straight into a new buffer (with room to grow): no second full copy.
        buffer = np.empty((max(1024, 2 * self.count), self.basis.shape[1]), dtype=np.float32)
        self._buffers["projected"] = buffer
        self.projected = self._project(self.codes, self.scales, out=buffer[:self.count])

    def nearest(self, query, *, project: str | None = None, kinds=None,
                limit: int = 50, hand=None) -> list[tuple[str, int, float]]:
        """``hand``: a ``hand.Hand`` whose thread only waits for this answer; it is
        offered pieces of each large product (the same numbers either way)."""
        query = np.asarray(query, dtype=np.float32)
        with self.lock:
            if not self.count:
                return Found()
            rows = self._subset(project, kinds)  # None: every row
            if rows is not None and not len(rows):
                return Found()
            total = self.count if rows is None else len(rows)
            limit = max(1, int(limit))
            if self.full is not None:
                matrix = self.full if rows is None else self.full[rows]
                scores = matrix @ query
                wanted = min(total, limit * PASSAGES_READ)
            else:
                # Rank by the projections (the mean's share of every score is the same
                # constant, so it does not change the order), then rescore exactly.
                scores = self._projected_scores(query @ self.basis, rows, total, hand)
                wanted = min(total, max(RESCORE, 8 * limit * PASSAGES_READ))
            best = best_rows(scores, wanted)
            if rows is not None:
                best = rows[best]
            if self.full is None:
                values = self._rescored(query, best, hand)
            else:
                values = scores[best] if rows is None else self.full[best] @ query
            order = np.argsort(-values)
            best, values = best[order], values[order]
            read = min(len(best), limit * PASSAGES_READ)
            place, ranked = self._by_memory(best[:read], values[:read], limit)
            found = Found()
            for i, cosine, score in zip(best[place].tolist(), values[place].tolist(),
                                        ranked.tolist()):
                found.append((KIND_NAMES[int(self.kinds[i])], int(self.item_ids[i]), cosine))
                found.scores.append(score)
            found.duplicates = self._duplicates(best[place].tolist())
            return found

    def _projected_scores(self, projected_query, rows, total: int, hand):
        """The approximate score of every row (of ``rows``, or all): numpy's own SIMD loop,
        not BLAS's gemv (over 120k rows of 128 numbers 2.4-3.6 ms instead of 3.4-5.7, one
        thread, the GIL released). With a ``hand`` and at least ``SPLIT_MIN`` rows, it is
        shared."""
        projected = self.projected  # a piece done late reads what this scan read

        def part(start: int, end: int) -> None:
            matrix = projected[start:end] if rows is None else projected[rows[start:end]]
            # Into a temporary, then copied: einsum sums into its output, and a piece done
            # by both threads (``hand``) must only ever write its final numbers there.
            scores[start:end] = np.einsum("ij,j->i", matrix, projected_query)

        scores = np.empty(total, dtype=np.float32)
        _shared(part, total, hand if total >= SPLIT_MIN else None)
        return scores

    def _rescored(self, query, best, hand):
        """The exact cosines of rows ``best`` from their int8 codes, scaled after the
        product (one multiply per row, not per number); shared with a ``hand``."""
        codes, scales = self.codes, self.scales

        def part(start: int, end: int) -> None:
            rows = best[start:end]
            values[start:end] = (codes[rows].astype(np.float32) @ query) * scales[rows]

        values = np.empty(len(best), dtype=np.float32)
        _shared(part, len(best), hand if len(best) >= RESCORE_SPLIT_MIN else None)
        return values

    def _by_memory(self, rows, values, limit: int):
        """The best ``limit`` memories among ``rows`` (index rows of passages, ``values``
        their cosines, best first): the places of their best passages in ``rows`` and their
        scores, best first. A memory's score is its best passage's cosine plus
        ``SECOND_WEIGHT`` times its second best's (see the module docstring): the second
        one not among ``rows`` counts as the lowest cosine read (it is at most that), a
        memory of one passage counts its only one less ``ONE_PASSAGE_GAP``. The score is
        divided by ``1 + SECOND_WEIGHT`` to stay on the scale of a cosine."""
        codes = self.kinds[rows].astype(np.int64) * (1 << 48) + self.item_ids[rows]
        keys, first = np.unique(codes, return_index=True)  # a memory's first row is its best
        second = np.full(len(first), values[-1], dtype=np.float32)
        if len(first) < len(rows):
            rest = np.ones(len(rows), dtype=bool)
            rest[first] = False
            places = np.flatnonzero(rest)
            others, again = np.unique(codes[places], return_index=True)
            at = np.searchsorted(keys, others)  # every key of ``others`` is in ``keys``
            second[at] = values[places[again]]
        alone = self.passage_counts[rows[first]] <= 1
        second[alone] = values[first][alone] - ONE_PASSAGE_GAP
        scores = (values[first] + SECOND_WEIGHT * second) / (1.0 + SECOND_WEIGHT)
        # Best first; ties keep the order of the best passages.
        order = np.lexsort((first, -scores))[:limit]
        return first[order], scores[order]

    def _duplicates(self, rows) -> list:
        """Pairs of positions in ``rows`` whose vectors are near-duplicates."""
        if len(rows) < 2:
            return []
        vectors = (self.full[rows] if self.full is not None
                   else codec.decode(self.codes[rows], self.scales[rows]))
        close = np.triu((vectors @ vectors.T) >= DUPLICATE_COSINE, 1)
        return [(int(i), int(j)) for i, j in np.argwhere(close)]

    def _subset(self, project, kinds):
        """The row numbers of one project and/or some kinds (cached until rows are added)."""
        every_kind = kinds is None or set(kinds) >= set(KIND_CODES)
        if project is None and every_kind:
            return None
        key = (project, None if every_kind else tuple(sorted(kinds)))
        rows = self._subsets.get(key)
        if rows is None:
            keep = np.ones(self.count, dtype=bool)
            if project is not None:
                code = self.project_codes.get(project)
                keep &= (self.projects == code) if code is not None else False
            if not every_kind:
                keep &= np.isin(self.kinds, [KIND_CODES[k] for k in kinds if k in KIND_CODES])
            rows = self._subsets[key] = np.flatnonzero(keep)
        return rows
