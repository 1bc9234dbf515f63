"""Search in a mode: by words, by meaning, or both fused (reciprocal rank fusion).

Contract:
- ``resolve_mode(mode, store, settings)``: ``words``, ``meaning`` or ``both`` from what was
  asked (``None`` or ``auto``: the ``search_mode`` setting, whose ``auto`` means ``both``
  when the model's packages are installed and vectors exist, else ``words``). Asking for
  meaning without the extra raises ``SemanticUnavailable`` with the install command.
- ``search(store, text, mode=, project=, kinds=, limit=)``: hits as ``Store.search`` makes
  them (``kind``, ``id``, ``title``, ``text``, ``score``: lower is better), plus
  ``matched`` (``words``, ``meaning`` or ``both``) and, when meaning took part,
  ``similarity`` (cosine). Fusion: each list (words' and meaning's top ``POOL``) gives a
  hit 1/(``RRF_K`` + rank); the sum orders the result and its negation is the ``score``.
  Meaning alone: the score is the negated cosine.
- The model and each database's vectors are loaded once per process and refreshed
  incrementally (``index``), so a long-lived process (MCP server, viewer) pays the load once.
"""
from __future__ import annotations

import threading

from claude_mem.semantic.base import (SemanticUnavailable, available, embedder, install_hint,
                                      model_setting)

MODES = ("words", "meaning", "both")
ALL_KINDS = ("observation", "summary", "prompt")
# Reciprocal rank fusion's constant (the usual 60: later ranks still count a little).
RRF_K = 60
# How deep each ranking is read before fusing.
POOL = 50
# What a rank in the meaning list counts for, against the same rank in the words list.
MEANING_WEIGHT = 1.0

_indexes: dict = {}
_lock = threading.Lock()


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

    key = (getattr(store, "path", id(store)), model.model)
    with _lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = VectorIndex(model.model, model.dim)
    index.refresh(store)
    return index


def nearest(store, text: str, *, project=None, kinds=ALL_KINDS, limit: int = POOL,
            settings=None) -> list[tuple[str, int, float]]:
    """``(kind, id, cosine)`` of the memories closest in meaning to ``text``."""
    if not str(text or "").strip():
        return []
    if settings is None:
        from claude_mem import config

        settings = config.load()
    model = embedder(model_setting(settings))
    query = model.query(text)
    return index_for(store, model).nearest(query, project=project, kinds=kinds, limit=limit)


def search(store, text: str, *, mode=None, project=None, kinds=ALL_KINDS, limit: int = 20,
           settings=None) -> list[dict]:
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
    near = nearest(store, text, project=project, kinds=kinds, limit=pool, settings=settings)
    words = store.search(text, project=project, kinds=kinds, limit=pool) if mode == "both" else []
    fused: dict = {}
    found: dict = {}
    similarity = {(kind, item): sim for kind, item, sim in near}
    for rank, hit in enumerate(words):
        key = (hit["kind"], hit["id"])
        found[key] = hit
        fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    for rank, (kind, item, sim) in enumerate(near):
        key = (kind, item)
        fused[key] = fused.get(key, 0.0) + (MEANING_WEIGHT / (RRF_K + rank + 1) if mode == "both"
                                            else sim)
    order = sorted(fused, key=lambda key: -fused[key])[: int(limit)]
    for kind in ALL_KINDS:
        missing = [item for k, item in order if k == kind and (k, item) not in found]
        for item, hit in store.hits_by_ids(kind, missing).items():
            found[(kind, item)] = hit
    hits = []
    word_keys = {(hit["kind"], hit["id"]) for hit in words}
    for key in order:
        hit = found.get(key)
        if hit is None:  # deleted since its vector was read
            continue
        hit["score"] = -fused[key]
        if key in similarity:
            hit["similarity"] = round(similarity[key], 4)
        hit["matched"] = ("both" if key in word_keys and key in similarity
                          else "words" if key in word_keys else "meaning")
        hits.append(hit)
    return hits
