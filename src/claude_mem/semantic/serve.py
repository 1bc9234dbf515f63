"""The worker's answer to ``nearest``: search by meaning for a one-shot process.

A one-shot ``claude-mem search`` would load the model and every vector to answer one
question (~1 s at 100k vectors); the worker has the model loaded already (its embedding
thread) and keeps its index of the vectors once built. So the CLI sends
``{"cmd": "nearest", "text", "project", "kinds", "limit", "model"}`` on the control socket
(data dir 0700: only the owner) and gets ``{"ok": true, "hits": [[kind, id, cosine], ...]}``
back, with ``"duplicates": [[i, j], ...]`` (positions of near-duplicate hits, see
``found.Found``); words and the fusion stay in the CLI (``hybrid.search``).

Contract: ``Nearest().answer(message)`` never raises: a bad request or a missing extra is
``{"error": ...}`` (no ``hits``), and the CLI then does the work itself. Its own store
connection (never the drain's), one question at a time; ``close()`` at the worker's exit.
Nothing here runs unless asked: a worker that is never asked loads no index.
A thread of its own (while an index is held) lets it go once no question came for
``RELEASE_SECONDS`` (``release_if_unused``): at 120k vectors it holds ~130 MB (int8 codes and their
projections), which a worker that answered one CLI search kept for the rest of its life (two
hours idle by default); the next question reads it again (~0.6 s of CPU at 120k).
``held()`` is how many vectors the index holds now (``status``).
"""

from __future__ import annotations

import threading
import time

MAX_TEXT = 10_000
MAX_LIMIT = 500
# How long the index is kept after the last question (seconds).
RELEASE_SECONDS = 600.0


class Nearest:
    def __init__(self, settings):
        self.settings = settings
        self.store = None
        self.lock = threading.Lock()
        self.answered = 0  # questions answered (``status`` shows it)
        self.asked_at = 0.0  # monotonic time of the last question

    def answer(self, message: dict) -> dict:
        from claude_mem import log

        try:
            text, project, kinds, limit, model = self._read(message)
        except ValueError as exc:
            return {"error": str(exc)}
        try:
            from claude_mem.semantic import hybrid
            from claude_mem.semantic.base import available

            if not available(model):
                return {"error": f"search by meaning is not installed for {model!r}"}
            settings = _WithModel(self.settings, model)
            with self.lock:
                self.asked_at = time.monotonic()
                if self.store is None:
                    from claude_mem.store import open_store

                    self.store = open_store(busy_timeout_ms=5000)
                    threading.Thread(target=self._release_when_unused, daemon=True,
                                     name="claude-mem-nearest-release").start()
                found = hybrid.nearest(self.store, text, project=project, kinds=kinds,
                                       limit=limit, settings=settings)
                self.answered += 1
        except Exception as exc:  # the asker falls back to doing it itself
            log.warning(f"nearest for a search failed: {exc!r}")
            return {"error": repr(exc)[:300]}
        return {"hits": [[kind, item, round(cosine, 6)] for kind, item, cosine in found],
                "duplicates": [list(pair) for pair in getattr(found, "duplicates", [])],
                "scores": [round(score, 6) for score in getattr(found, "scores", [])]}

    @staticmethod
    def _read(message: dict):
        from claude_mem.semantic.base import EMBEDDERS
        from claude_mem.semantic.hybrid import ALL_KINDS

        text = message.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise ValueError("text must be a non-empty string of at most 10,000 characters")
        project = message.get("project")
        if project is not None and not isinstance(project, str):
            raise ValueError("project must be a string or null")
        kinds = message.get("kinds") or list(ALL_KINDS)
        if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(ALL_KINDS):
            raise ValueError(f"kinds must be some of {', '.join(ALL_KINDS)}")
        limit = message.get("limit", 50)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        model = message.get("model") or "e5-small"
        if model not in EMBEDDERS:
            raise ValueError(f"unknown model {model!r}")
        return text, project, tuple(kinds), limit, model

    def held(self) -> int:
        """Vectors in this worker's index (0 when none is loaded)."""
        store = self.store
        if store is None:
            return 0
        from claude_mem.semantic import hybrid

        return hybrid.vectors_held(store)

    def _release_when_unused(self) -> None:
        while self.store is not None:  # until released or closed
            time.sleep(max(0.2, min(RELEASE_SECONDS, 30.0)))
            self.release_if_unused()

    def release_if_unused(self) -> bool:
        """Let the index go when no question came for ``RELEASE_SECONDS``; True if it did."""
        if self.store is None or time.monotonic() - self.asked_at < RELEASE_SECONDS:
            return False
        if not self.lock.acquire(blocking=False):  # a question is being answered
            return False
        try:
            if self.store is None or time.monotonic() - self.asked_at < RELEASE_SECONDS:
                return False
            from claude_mem.semantic import hybrid

            hybrid.release(self.store)
            self.store.close()
            self.store = None
            return True
        finally:
            self.lock.release()

    def close(self) -> None:
        with self.lock:
            if self.store is not None:
                self.store.close()
                self.store = None


class _WithModel:
    """The worker's settings with the model the asker named."""

    def __init__(self, settings, model: str):
        self._settings, self.semantic_model = settings, model

    def __getattr__(self, name):
        return getattr(self._settings, name)
