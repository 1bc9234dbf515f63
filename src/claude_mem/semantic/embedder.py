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
    # A passage beyond this many characters is cut (``passages`` makes them far shorter;
    # this bounds a query, whose cost grows with its length).
    max_chars = 1200

    @classmethod
    def model_id(cls) -> str:
        """``model`` without loading the model: the engine's name and version, and the
        recipe of what is embedded (``passages.RECIPE``), so vectors made by another
        version of either are re-made, never mixed."""
        from claude_mem.semantic.passages import RECIPE

        return f"{cls.engine_id()}+{RECIPE}"

    @classmethod
    def engine_id(cls) -> str:
        """The model and the package that runs it, with its version."""
        raise NotImplementedError

    def passages(self, texts: list[str]):
        """An (n, dim) float32 array, one normalized vector per text."""
        raise NotImplementedError

    def query(self, text: str):
        """A (dim,) float32 normalized vector for a search question."""
        raise NotImplementedError

    def close(self) -> None:
        pass
