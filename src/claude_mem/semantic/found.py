"""What a search by meaning finds: a list that also says which of its memories repeat each other.

Contract: ``Found`` is a list of ``(kind, item_id, cosine)``, best first (the cosine of
the memory's best passage), with ``scores``: each memory's score by meaning in the same
order (what orders the list: its best two passages, ``index.VectorIndex._by_memory``;
empty when not known, e.g. an older worker's answer), and ``duplicates``: pairs
``(i, j)``, ``i < j``, of positions in the list whose memories are near-duplicates
(``index.DUPLICATE_COSINE``). The index makes it; the one-shot CLI rebuilds
it from the worker's answer (``hybrid.worker_nearest``) without importing numpy (~45 ms of
each CLI question's process), which is why it lives apart from ``index``.
"""
from __future__ import annotations


class Found(list):
    """``(kind, item_id, cosine)`` best first, ``scores`` (each memory's score by meaning)
    and ``duplicates``: pairs ``(i, j)``, ``i < j``, of positions in the list whose
    memories are near-duplicates."""

    duplicates: list = []

    def __init__(self, *args):
        super().__init__(*args)
        self.scores: list = []
