"""The worker's background threads run below its drain (cpu_priority.py, lock budget)."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from claude_mem import cpu_priority

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="niceness per thread is Linux's")


def niceness(tid: int) -> int:
    with open(f"/proc/self/task/{tid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[16])  # field 19: nice


def test_a_background_thread_and_the_threads_it_starts_run_below_the_rest():
    main_before = niceness(threading.get_native_id())
    seen = {}

    def background():
        seen["set"] = cpu_priority.background_thread()
        seen["self"] = niceness(threading.get_native_id())
        child = threading.Thread(target=lambda: seen.update(child=niceness(threading.get_native_id())))
        child.start()
        child.join()

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    expected = min(19, main_before + cpu_priority.NICER)
    assert seen["set"] == seen["self"] == expected
    assert seen["child"] == expected  # e.g. the model engine's own threads
    assert niceness(threading.get_native_id()) == main_before  # the drain's thread: untouched
    assert os.getpriority(os.PRIO_PROCESS, 0) == main_before
