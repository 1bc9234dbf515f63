"""The interface every embedding model implements (see ``base`` for the registry).

Apart from ``base`` because a model's module subclasses it while ``base.EMBEDDERS`` names
that module: in one file the two would import each other.
"""
from __future__ import annotations


class Embedder:
    """One embedding model, loaded once per process (see ``embedder``)."""

    name = ""      # the registry name (the semantic_model setting)
    model = ""     # recorded with every vector
    dim = 0
    # Text beyond this many characters is not embedded: the head of a memory (its title,
    # the first facts) says what it is about, and long inputs cost time linearly.
    max_chars = 1200

    @classmethod
    def model_id(cls) -> str:
        """``model`` without loading the model (from the package's version)."""
        raise NotImplementedError

    def passages(self, texts: list[str]):
        """An (n, dim) float32 array, one normalized vector per text."""
        raise NotImplementedError

    def query(self, text: str):
        """A (dim,) float32 normalized vector for a search question."""
        raise NotImplementedError

    def close(self) -> None:
        pass
