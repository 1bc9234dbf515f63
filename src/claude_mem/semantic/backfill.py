"""The worker's embedding thread: vectors for what was stored, off every hook's path.

Contract:
- ``EmbedThread.start_for(settings)`` starts it when search by meaning is wanted
  (``search_mode`` is not ``words``) and its packages are installed; else None. It has
  its own store connection and loads the model itself, so the worker's drain never waits
  on the model (and no hook ever does: hooks only queue).
- It embeds rows without a current vector, newest first (``Store.rows_to_embed``), a
  batch at a time, each row as its passages (``passages``: one vector each, stored
  together in the row's BLOB), each batch stored in one short transaction
  (``save_vectors``, which skips rows deleted or re-made meanwhile). Existing memory is
  the same work: the background backfill is this loop finding older rows without vectors.
- Vectors of another model or recipe (an upgrade changed what is embedded) are deleted
  first, a short transaction at a time, so every row is embedded again the current way.
- ``poke(after)`` (the worker calls it after storing something) makes it look again once
  ``after`` seconds have passed since the last poke (at once for 0), and holds the batches
  of a backfill under way until then, and the model's loading (at the earliest
  ``LOAD_AFTER_SECONDS`` after the start: a worker starts with work to drain): while hooks keep the queue busy, a Claude Code session
  is at work and gets the CPU (a batch costs ~50 ms of it per row, and ``nice`` does not
  reach across Linux's autogroups); the vectors are made in the quiet moments between.
  Otherwise it looks every ``IDLE_SECONDS``. Once a kind is fully embedded it only looks
  above the highest id it saw (summaries, which are re-made in place, every time), and
  all of it again every ``RESCAN_SECONDS``.
- ``working()``: a batch was stored lately; the worker's idle exit waits for it (a
  backfill of a large memory takes longer than the worker's idle time).
- ``progress()`` is what ``status`` shows: rows embedded since the start, the rate, the
  model, the last error. ``stop()`` ends it within one batch.
"""
from __future__ import annotations

import threading
import time

from claude_mem import log

BATCH = 16
# Passages per call of the model: a search the worker answers waits for one call at most.
PASSAGES_PER_CALL = 16
IDLE_SECONDS = 30.0
RESCAN_SECONDS = 600.0
KINDS = ("summary", "observation", "prompt")  # summaries first: the densest memory
# The model loads no sooner than this after the thread starts (and, like a batch, only
# once the queue has been quiet ``poke``'s time): see ``run``.
LOAD_AFTER_SECONDS = 1.0


class EmbedThread(threading.Thread):
    def __init__(self, settings):
        super().__init__(name="claude-mem-embed", daemon=True)
        from claude_mem.semantic.base import model_setting

        self.settings = settings
        self.model_name = model_setting(settings)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.embedded = 0
        self.busy_seconds = 0.0
        self.started_at = time.time()
        self.last_error = ""
        self.model = ""
        self.floor = {kind: 0 for kind in KINDS}
        self.rescan_at = 0.0
        self.purged = False
        self.last_batch_at = time.monotonic()
        # No batch, and no model loaded, before this (monotonic): see ``poke``. A worker
        # starts because there is work: its first passes come first.
        self.resume_at = time.monotonic() + LOAD_AFTER_SECONDS

    @classmethod
    def start_for(cls, settings):
        from claude_mem.semantic.base import available, model_setting

        if str(getattr(settings, "search_mode", "auto")) == "words":
            return None
        if not available(model_setting(settings)):
            return None
        thread = cls(settings)
        thread.start()
        return thread

    def working(self) -> bool:
        """True while the backfill goes on (a batch stored within ``2 * IDLE_SECONDS``, or
        the model still loading): the worker does not leave for being idle meanwhile."""
        return self.is_alive() and time.monotonic() - self.last_batch_at < 2 * IDLE_SECONDS

    def poke(self, after: float = 0.0) -> None:
        self.resume_at = time.monotonic() + after
        self.wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.wake.set()
        self.join(timeout)

    def progress(self) -> dict:
        rate = self.embedded / self.busy_seconds if self.busy_seconds > 0 else 0.0
        return {"model": self.model, "embedded_since_start": self.embedded,
                "rows_per_second": round(rate, 1), "last_error": self.last_error}

    def run(self) -> None:
        from claude_mem import cpu_priority
        from claude_mem.semantic.base import embedder
        from claude_mem.store import open_store

        # Below the drain, which holds the write lock hooks wait for (cpu_priority.py);
        # before the model loads, so the engine's threads inherit it.
        cpu_priority.background_thread()
        store = None
        try:
            # The model loads once the queue has been quiet a moment too (``poke``): loading
            # it imports the model engine, which holds the GIL for long stretches, and the
            # drain, waiting for the GIL, held the write lock meanwhile (the lock bench's
            # sampler saw the worker's first holds of a backlog spend 15-16 of 25 ms in a
            # ``futex`` wait, with the model loading beside them).
            if not self._wait_for_quiet():
                return
            model = embedder(self.model_name)
            self.model = model.model
            store = open_store(busy_timeout_ms=15000)
            while self._wait_for_quiet():
                try:
                    did = self.step(store, model)
                except Exception as exc:  # a bad row or a locked file: try again later
                    self.last_error = repr(exc)
                    log.warning(f"embedding failed: {exc!r}")
                    did = False
                if not did:
                    self.wake.wait(IDLE_SECONDS)
                    self.wake.clear()
        except Exception as exc:  # the model cannot load: words-only search goes on
            self.last_error = repr(exc)
            log.error(f"search by meaning is off: the embedding model did not load: {exc!r}")
        finally:
            if store is not None:
                store.close()

    def _wait_for_quiet(self) -> bool:
        """Wait while the queue is busy (``poke``); False once stopping."""
        while not self.stopping.is_set():
            left = self.resume_at - time.monotonic()
            if left <= 0:
                return True
            self.wake.wait(left)  # the queue is busy: the session has the CPU (see ``poke``)
            self.wake.clear()
        return False

    def step(self, store, model) -> bool:
        """Embed one batch of whatever waits; False when nothing waited."""
        now = time.monotonic()
        if now >= self.rescan_at:
            self.floor = {kind: 0 for kind in KINDS}
            self.rescan_at = now + RESCAN_SECONDS
        if not self.purged:
            # Vectors another model or recipe made are never read: drop them (a batch at a
            # time, each a short write) so the rows count as waiting and get re-made.
            while store.drop_vectors_not_of(model.model, limit=2000) and not self.stopping.is_set():
                pass
            self.purged = True
        for kind in KINDS:
            top = store.highest_id(kind)
            rows = store.rows_to_embed(kind, model.model, above=self.floor[kind], limit=BATCH)
            if not rows:
                if kind != "summary":
                    self.floor[kind] = top  # all below is embedded: look above it only
                continue
            started = time.monotonic()
            items = self.embed_rows(kind, rows, model)
            if items is None:  # stopping
                return False
            stored = store.save_vectors(items, model.model)
            self.last_batch_at = time.monotonic()
            self.busy_seconds += time.monotonic() - started
            self.embedded += stored
            return True
        return False

    def embed_rows(self, kind, rows, model):
        """``(kind, row, blob)`` for each row: its passages embedded (at most
        ``PASSAGES_PER_CALL`` in one call of the model, so stopping waits for one call
        only); None when asked to stop meanwhile."""
        from claude_mem.semantic import codec
        from claude_mem.semantic.passages import passages

        texts, owners = [], []
        for n, row in enumerate(rows):
            for text in passages(kind, row):
                texts.append(text)
                owners.append(n)
        vectors = []
        for start in range(0, len(texts), PASSAGES_PER_CALL):
            if self.stopping.is_set():
                return None
            vectors.extend(model.passages(texts[start:start + PASSAGES_PER_CALL]))
        per_row: list[list] = [[] for _ in rows]
        for owner, vector in zip(owners, vectors):
            per_row[owner].append(vector)
        return [(kind, row, codec.pack_many(found)) for row, found in zip(rows, per_row)]
