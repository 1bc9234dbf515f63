"""A searching thread that only waits lends a hand with the scan (semantic/hand.py): the
same scores whoever computes which piece, and a lending thread stuck inside a piece never
holds the scan up."""
from __future__ import annotations

import importlib.util
import threading

import pytest

if any(importlib.util.find_spec(name) is None for name in ("numpy", "threadpoolctl")):
    pytest.skip("the [semantic] extra (numpy, threadpoolctl) is not installed: "
                "pip install -e '.[semantic]' runs these tests", allow_module_level=True)

import numpy as np

from claude_mem.semantic import codec
from claude_mem.semantic import index as vector_index
from claude_mem.semantic.hand import ALIGN, Hand


def _lender(hand: Hand, done: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=hand.wait_and_lend, args=(done,), daemon=True)
    thread.start()
    return thread


def test_shared_pieces_cover_the_range_once_each_and_start_aligned():
    seen: list = []
    lock = threading.Lock()

    def part(start, end):
        with lock:
            seen.append((start, end))

    hand, done = Hand(), threading.Event()
    lender = _lender(hand, done)
    for count in (1, 63, 64, 65, 1000, 2000, 120_085):
        seen.clear()
        hand.share(part, count)
        covered = sorted(set(seen))
        assert covered[0][0] == 0 and covered[-1][1] == count
        assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))  # no gap, no overlap
        assert all(start % ALIGN == 0 for start, _ in covered)
    done.set()
    hand.wake.set()
    lender.join(10)
    assert not lender.is_alive()


def test_a_lending_thread_stuck_in_a_piece_does_not_hold_the_work_up():
    out = np.zeros(4096, dtype=np.int64)
    release, lender_in = threading.Event(), threading.Event()
    working = threading.get_ident()

    def part(start, end):
        if threading.get_ident() != working:
            lender_in.set()
            release.wait(30)  # the lender is "descheduled" inside its piece
        else:
            lender_in.wait(10)  # the lender gets a piece before the working thread is done
        out[start:end] = np.arange(start, end)

    hand, done = Hand(), threading.Event()
    lender = _lender(hand, done)
    finished = threading.Event()

    def work():
        nonlocal working
        working = threading.get_ident()
        hand.share(part, len(out))
        finished.set()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        # share returns while the lender is still blocked inside the piece it took.
        assert finished.wait(20)
        assert lender_in.is_set() and not release.is_set()
        assert np.array_equal(out, np.arange(len(out)))
    finally:
        release.set()
        done.set()
        hand.wake.set()
        worker.join(10)
        lender.join(10)


class _BothThreads:
    """Every piece done by two threads at once: what a piece redone while the other thread
    is still inside it does (``Hand.share``); the numbers written must stay right."""

    def share(self, part, count):
        for start in range(0, count, 512):
            end = min(count, start + 512)
            other = threading.Thread(target=part, args=(start, end))
            other.start()
            part(start, end)
            other.join()


def test_a_shared_scan_gives_the_same_answer_as_one_thread(monkeypatch):
    """The projected scan and the exact rescoring, shared in pieces with a waiting thread,
    give the same list, cosines, scores and near-duplicates, bit for bit; also when every
    piece is done by both threads at once."""
    monkeypatch.setattr(vector_index, "EXACT_MAX", 500)
    monkeypatch.setattr(vector_index, "SPLIT_MIN", 1000)
    monkeypatch.setattr(vector_index, "RESCORE_SPLIT_MIN", 100)
    rng = np.random.default_rng(5)
    dim, count = 384, 6000
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    vectors[::7] = vectors[3]  # some near-duplicates
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [(n + 1, ("observation", "summary", "prompt")[n % 3], n // 2 + 1, f"p{n % 4}",
             codec.pack(v)) for n, v in enumerate(vectors)]
    index = vector_index.VectorIndex("m", dim)
    index._append(rows)
    assert index.full is None
    for _ in range(12):
        query = rng.normal(size=dim).astype(np.float32)
        query /= np.linalg.norm(query)
        for project in (None, "p1"):
            alone = index.nearest(query, project=project, limit=50)
            hand, done = Hand(), threading.Event()
            lender = _lender(hand, done)
            try:
                shared = index.nearest(query, project=project, limit=50, hand=hand)
            finally:
                done.set()
                hand.wake.set()
                lender.join(10)
            assert list(shared) == list(alone)
            assert shared.scores == alone.scores and shared.duplicates == alone.duplicates
            twice = index.nearest(query, project=project, limit=50, hand=_BothThreads())
            assert list(twice) == list(alone) and twice.scores == alone.scores
