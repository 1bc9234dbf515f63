"""Search in a mode: by words, by meaning, or both fused (reciprocal rank fusion).

Contract:
- ``resolve_mode(mode, store, settings)``: ``words``, ``meaning`` or ``both`` from what was
  asked (``None`` or ``auto``: the ``search_mode`` setting, whose ``auto`` means ``both``
  when the model's packages are installed and vectors exist, else ``words``). Asking for
  meaning without the extra raises ``SemanticUnavailable`` with the install command.
- ``search(store, text, mode=, project=, kinds=, limit=)``: hits as ``Store.search`` makes
  them (``kind``, ``id``, ``title``, ``text``, ``score``: lower is better), plus
  ``matched`` (``words``, ``meaning`` or ``both``) and, when meaning took part,
  ``similarity`` (the cosine of its best passage). Fusion: each list (words' and
  meaning's top ``POOL``) gives a hit weight/(``RRF_K`` + rank) (meaning's weight
  ``MEANING_WEIGHT``, words' 1); the sum orders the result and its negation is the
  ``score``. The meaning list is ordered by each memory's score by meaning (``index``: its
  best two passages' cosines); meaning alone, the score is that score negated. Either way
  a memory that nearly repeats one placed before it (the index's ``duplicates``: the same
  command run again, a re-written to-do list) moves after the others of the first
  ``APART_DEPTH`` places: five copies of one thing in the top five leave no room for the
  answer.
- A question that places its answer in time ("why did the tests fail after the rename?",
  ``anchor.cue``), in a ``both`` search: the clause's words are searched too (beside the
  question's words, while it is embedded) and the fused candidates that lie in an anchor's
  request on the cue's side of it gain weight (``anchor.lift``) before the order is made.
  Any other question costs nothing more.
- The model and each database's vectors are loaded once per process and refreshed
  incrementally (``index``), so a long-lived process (MCP server, viewer) pays the load once.
  The one-shot CLI passes ``ask_worker``: the running worker, which keeps both loaded,
  answers the meaning half (``serve``); without a worker it is done in the CLI's process.
- The query is embedded, and the index scanned, on the calling thread while a thread of
  ``_runners`` finds the words (see ``_Beside``), and
  the last ``QUERY_CACHE`` queries' vectors are kept (``query_vector``): the viewer's
  search box, a mode switch or the model asking again repeat a question, and its
  embedding is the largest part of a search (~11 ms of CPU).
"""
from __future__ import annotations

import os
import queue
import threading
from collections import OrderedDict

from claude_mem.semantic import anchor
from claude_mem.semantic.base import (SemanticUnavailable, available, embedder, install_hint,
                                      model_setting)
from claude_mem.semantic.hand import Hand

MODES = ("words", "meaning", "both")
ALL_KINDS = ("observation", "summary", "prompt")
# Reciprocal rank fusion's constant: the smaller, the more a list's first places count
# against a memory both lists hold lower down. 15 with meaning weighing 1.25, and near-
# duplicates kept apart, on the tune questions of bench/recall.py (143, in-process on the
# tune sessions' memory): recall@5 0.916, against 0.881 with the usual 60 and equal
# weights; k 10-15 with 1.25-1.5 all gave 0.902-0.916, a weight of 2 fell to 0.874-0.881
# (docs/search.md).
RRF_K = 15
# How deep each ranking is read before fusing.
POOL = 50
# What a rank in the meaning list counts for, against the same rank in the words list.
MEANING_WEIGHT = 1.25
# How many of the first places are kept free of near-duplicates.
APART_DEPTH = 30
# How long the one-shot CLI waits for the worker's answer (its first loads the vectors; it
# may be finishing a call of the model for the backfill) before doing the work itself.
WORKER_TIMEOUT = 5.0

# How many recent queries' vectors a process keeps (~1.5 KB each). Benches that time
# searches set ``CLAUDE_MEM_QUERY_CACHE=0`` so that every search embeds its question.
_CACHE_SETTING = os.environ.get("CLAUDE_MEM_QUERY_CACHE", "").strip()
QUERY_CACHE = int(_CACHE_SETTING) if _CACHE_SETTING.isdigit() else 256

_indexes: dict = {}
_lock = threading.Lock()
_queries: "OrderedDict[tuple, object]" = OrderedDict()
_queries_lock = threading.Lock()


def resolve_mode(mode, store, settings) -> str:
    wanted = str(mode or getattr(settings, "search_mode", "auto") or "auto").lower()
    if wanted not in MODES + ("auto",):
        raise ValueError(f"unknown search mode {mode!r}: use words, meaning or both")
    name = model_setting(settings)
    if wanted == "auto":
        if not available(name):
            return "words"
        from claude_mem.semantic.base import embedder_class

        return "both" if store.has_vectors(embedder_class(name).model_id()) else "words"
    if wanted != "words" and not available(name):
        raise SemanticUnavailable(f"search by meaning is not installed: {install_hint()}")
    return wanted


def index_for(store, model):
    """This process's index of ``store``'s vectors of ``model``, brought up to date."""
    from claude_mem.semantic.index import VectorIndex

    key = (_key_of(store), model.model)
    with _lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = VectorIndex(model.model, model.dim)
    index.refresh(store)
    return index


def _key_of(store):
    return getattr(store, "path", id(store))


def release(store) -> None:
    """Forget this process's indexes of ``store`` (their memory goes back to the system)."""
    with _lock:
        for key in [key for key in _indexes if key[0] == _key_of(store)]:
            del _indexes[key]


def vectors_held(store) -> int:
    """How many vectors this process's indexes of ``store`` hold."""
    with _lock:
        return sum(len(index) for key, index in _indexes.items() if key[0] == _key_of(store))


def query_vector(model, text: str):
    """``model.query(text)``, remembered for the last ``QUERY_CACHE`` distinct queries of
    this process (the vector is read-only: every caller shares it)."""
    if QUERY_CACHE <= 0:
        return model.query(text)
    key = (model.model, text)
    with _queries_lock:
        vector = _queries.get(key)
        if vector is not None:
            _queries.move_to_end(key)
            return vector
    vector = model.query(text)
    vector.flags.writeable = False
    with _queries_lock:
        _queries[key] = vector
        while len(_queries) > QUERY_CACHE:
            _queries.popitem(last=False)
    return vector


def nearest(store, text: str, *, project=None, kinds=ALL_KINDS, limit: int = POOL,
            settings=None) -> list[tuple[str, int, float]]:
    """``(kind, id, cosine)`` of the memories closest in meaning to ``text``."""
    if not str(text or "").strip():
        return []
    if settings is None:
        from claude_mem import config

        settings = config.load()
    model = embedder(model_setting(settings))
    return scan(store, model, query_vector(model, text), project=project, kinds=kinds,
                limit=limit)


def scan(store, model, query, *, project=None, kinds=ALL_KINDS, limit: int = POOL):
    """The memories nearest to an embedded ``query`` (this process's index of ``store``)."""
    return index_for(store, model).nearest(query, project=project, kinds=kinds, limit=limit)


class _Runners:
    """Threads that live on and run what a search does beside its question (``_Beside``:
    the words, then a hand with the scan), one search at a time
    each: a search takes an idle one (a new one when none is idle) and hands it back when
    done; at most ``KEEP`` idle ones are kept. Why not a thread per search: starting one
    (~0.1 ms) and faulting in its stack and its share of the heap cost each search a few
    page faults at the median (now none), on the path to the answer (docs/search.md,
    Round 10)."""

    KEEP = 2

    def __init__(self):
        self.lock = threading.Lock()
        self.idle: list = []   # the job queues of idle threads

    def run(self, job) -> None:
        """``job()`` on one of the threads (it must not raise)."""
        with self.lock:
            jobs = self.idle.pop() if self.idle else None
        if jobs is None:
            jobs = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(jobs,), name="claude-mem-query",
                             daemon=True).start()
        jobs.put(job)

    def _serve(self, jobs) -> None:
        while True:
            job = jobs.get()
            job()
            del job  # nothing of a finished search is held while idle
            with self.lock:
                if len(self.idle) >= self.KEEP:
                    return
                self.idle.append(jobs)


_runners = _Runners()
if hasattr(os, "register_at_fork"):
    # A forked child has none of the threads: it must start its own, not queue for them.
    os.register_at_fork(after_in_child=lambda: _runners.idle.clear())


class _Beside:
    """What a search does beside the question's embedding, on a thread of ``_runners``,
    while the calling thread embeds the question and scans the index itself: this
    process's index brought up to date (``indexed``; not when the worker is asked), the
    words' ranking (``words``, a ``both`` search only) and, while the caller is still
    busy, the rows of the words' first ``limit`` (``found``); then ``done`` (the caller's
    connection is the caller's again) and, until the caller's scan is over, a hand with
    its pieces (``hand``). The model's C code, numpy's products and SQLite all run
    without the GIL, so on two cores the words cost the question little time.

    Why the caller embeds and scans, and the thread of ``_runners`` does the words (it was
    the other way round up to round 10): the question's embedding and then the scan are
    the longest path of a search, and on this path nothing now waits for another thread
    to be woken: the embedding starts at once (not once a sleeping thread has been woken,
    and on a quiet machine its idle core woken too), and the scan is followed by the
    fusion on the same thread, the words long found (not by a wake-up of the searching
    thread). A search whose words take longer than its question waits for them, as it
    did (docs/search.md, Round 11).

    Asked with ``ask_worker`` (the one-shot CLI), the caller asks the running worker for
    the nearest memories over its control socket (its model and its index are loaded
    already, where this process would load both, ~1 s at 100k vectors); without an answer
    (no worker, an older one, an error) it embeds the question and scans itself, once the
    words are done."""

    def __init__(self, store, text, project, kinds, pool, limit, settings, *, words: bool,
                 ask_worker: bool, clause: str | None = None):
        self.store, self.text, self.project, self.kinds = store, text, project, kinds
        self.clause = clause
        self.pool, self.limit, self.settings = pool, limit, settings
        self.want_words, self.want_index = words, not ask_worker
        self.index = None
        self.words: list = []
        self.found: dict = {}
        self.clause_keys: list = []
        self.error: BaseException | None = None
        self.indexed = threading.Event()
        self.done = threading.Event()
        self.scanned = threading.Event()  # the caller's scan is over (or will not happen)
        self.hand = None if ask_worker else Hand()
        _runners.run(self.run)

    def run(self) -> None:
        try:
            if self.want_index:
                # This thread's turn on the caller's connection (~0.01 ms when nothing is new).
                self.index = index_for(self.store, embedder(model_setting(self.settings)))
                self.indexed.set()
            if self.want_words:
                # The words' ranking only (``search_keys``): of their 50 the fusion shows
                # ``limit`` at most, and only the hits shown are read (decoding a row is
                # most of a search's Python).
                self.words = self.store.search_keys(self.text, project=self.project,
                                                    kinds=self.kinds, limit=self.pool)
                if self.clause:  # an anchored question: where its clause's event lies
                    # (before the rows below: the fusion needs it, the rows only save time)
                    self.clause_keys = self.store.search_keys(
                        self.clause, project=self.project, kinds=self.kinds,
                        limit=anchor.CLAUSE_POOL)
                if self.words and not self.scanned.is_set():
                    # While the question is still being embedded: the words' own first
                    # ``limit``, most of which are shown, are read now, in its time.
                    self.found = self.store.hits_by_keys(self.words[: int(self.limit)])
        except BaseException as exc:  # handed to the caller
            self.error = exc
        finally:
            self.indexed.set()
            self.done.set()
        if self.hand is not None:
            self.hand.wait_and_lend(self.scanned)  # pieces of the caller's scan meanwhile

    def nearest(self) -> list[tuple[str, int, float]]:
        """The memories nearest to the question, found on the calling thread."""
        if not self.want_index:
            found = worker_nearest(self.text, project=self.project, kinds=self.kinds,
                                   limit=self.pool, model=model_setting(self.settings))
            if found is not None:
                return found
        model = embedder(model_setting(self.settings))
        query = query_vector(model, self.text)
        self.indexed.wait()  # set long before, but for a question whose vector was kept
        if self.index is None:  # the worker could not answer, or the index failed
            self.done.wait()
            if self.error is not None:
                raise self.error
            return scan(self.store, model, query, project=self.project, kinds=self.kinds,
                        limit=self.pool)
        return self.index.nearest(query, project=self.project, kinds=self.kinds,
                                  limit=self.pool, hand=self.hand)

    def result(self):
        """``(words, found, clause_keys)`` once the thread is done with the connection; its
        error raised. Called once, after ``nearest`` (or its error): ends the thread's lending."""
        self.scanned.set()
        if self.hand is not None:
            self.hand.wake.set()
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.words, self.found, self.clause_keys


def worker_nearest(text: str, *, project=None, kinds=ALL_KINDS, limit: int = POOL,
                   model: str = "e5-small", timeout: float = WORKER_TIMEOUT):
    """The running worker's ``nearest`` answer, or None (no worker, or it could not)."""
    from claude_mem import control

    reply = control.request({"cmd": "nearest", "text": text, "project": project,
                             "kinds": list(kinds), "limit": int(limit), "model": model},
                            timeout=timeout)
    hits = reply.get("hits") if isinstance(reply, dict) and reply.get("ok") else None
    if not isinstance(hits, list):
        return None
    from claude_mem.semantic.found import Found  # no numpy in the one-shot CLI

    try:
        found = Found((str(kind), int(item), float(cosine)) for kind, item, cosine in hits)
        found.duplicates = [(int(i), int(j)) for i, j in reply.get("duplicates") or []]
        found.scores = [float(score) for score in reply.get("scores") or []]
    except (TypeError, ValueError):
        return None
    return found


def apart(order: list, near) -> list:
    """``order`` with each memory that nearly repeats one kept before it (``near``'s
    ``duplicates``) moved after the others of the first ``APART_DEPTH`` places."""
    pairs = getattr(near, "duplicates", None)
    if not pairs:
        return order
    same: dict = {}
    for i, j in pairs:
        if 0 <= i < len(near) and 0 <= j < len(near):
            a, b = tuple(near[i][:2]), tuple(near[j][:2])
            same.setdefault(a, set()).add(b)
            same.setdefault(b, set()).add(a)
    kept, later = [], []
    for key in order[:APART_DEPTH]:
        (later if same.get(key, set()).intersection(kept) else kept).append(key)
    return kept + later + order[APART_DEPTH:]


def search(store, text: str, *, mode=None, project=None, kinds=ALL_KINDS, limit: int = 20,
           settings=None, ask_worker: bool = False) -> list[dict]:
    if settings is None:
        from claude_mem import config

        settings = config.load()
    mode = resolve_mode(mode, store, settings)
    if mode == "words":
        hits = store.search(text, project=project, kinds=kinds, limit=limit)
        for hit in hits:
            hit["matched"] = "words"
        return hits
    pool = max(int(limit), POOL)
    cue = anchor.cue(text) if mode == "both" else None
    clause_keys: list = []
    if str(text or "").strip():
        beside = _Beside(store, text, project, tuple(kinds), pool, limit, settings,
                         words=mode == "both", ask_worker=ask_worker,
                         clause=cue[1] if cue else None)
        near: list = []
        try:
            near = beside.nearest()
        finally:  # after an error too: the thread lends until the scan is over
            words, found, clause_keys = beside.result()
    else:
        words = (store.search_keys(text, project=project, kinds=kinds, limit=pool)
                 if mode == "both" else [])
        found, near = {}, []
    fused: dict = {}
    similarity = {(kind, item): sim for kind, item, sim in near}
    # Meaning alone orders by each memory's score (its best two passages, ``index``), not
    # by its best passage's cosine; an older worker's answer has only the cosines.
    scores = getattr(near, "scores", None)
    meant = (scores if scores and len(scores) == len(near) else [sim for _, _, sim in near])
    for rank, key in enumerate(words):
        fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    for rank, (kind, item, _) in enumerate(near):
        key = (kind, item)
        fused[key] = fused.get(key, 0.0) + (MEANING_WEIGHT / (RRF_K + rank + 1) if mode == "both"
                                            else meant[rank])
    order = sorted(fused, key=lambda key: -fused[key])
    if cue and clause_keys:
        anchor.lift(fused, order, cue[0], clause_keys,
                    store.places(anchor.wanted(order, clause_keys)))
        order = sorted(fused, key=lambda key: -fused[key])
    order = apart(order, near)[: int(limit)]
    found.update(store.hits_by_keys([key for key in order if key not in found]))
    hits = []
    word_keys = set(words)
    score = float("-inf")
    for key in order:
        hit = found.get(key)
        if hit is None:  # deleted since its vector was read
            continue
        # A memory moved down for repeating another keeps the order's place: the scores
        # never go down along the list (lower is better).
        score = hit["score"] = max(score, -fused[key])
        if key in similarity:
            hit["similarity"] = round(similarity[key], 4)
        hit["matched"] = ("both" if key in word_keys and key in similarity
                          else "words" if key in word_keys else "meaning")
        hits.append(hit)
    return hits
