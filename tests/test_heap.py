"""The worker's heap setting (``heap.keep_freed_heap``), seen through glibc's own
accounting (``mallinfo2``) in a fresh interpreter: a block of the size SQLite allocates
and frees per statement comes from the heap and stays there once freed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from claude_mem import heap

PROBE = r"""
import ctypes, json, sys
from claude_mem import heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
done = heap.keep_freed_heap()
size = int(sys.argv[1])
before = libc.mallinfo2()
block = libc.malloc(size)
during = libc.mallinfo2()
libc.free(block)
after = libc.mallinfo2()
print(json.dumps({"set": done, "mapped": during.hblks - before.hblks,
                  "kept_at_top": after.keepcost, "heap_after": after.arena}))
"""


def probe(size: int) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(size)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(os, "confstr"),
                    reason="glibc's mallopt: Linux only")
def test_a_freed_statement_sized_block_stays_in_the_heap():
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            pytest.skip("not glibc: keep_freed_heap does nothing here")
    except ValueError:
        pytest.skip("not glibc: keep_freed_heap does nothing here")
    from claude_mem import heap

    statement_sized = probe(600_000)  # larger than glibc's default trim and map sizes
    assert statement_sized["set"] is True
    assert statement_sized["mapped"] == 0, "taken from the heap, not mapped on its own"
    assert statement_sized["kept_at_top"] >= 600_000, "not given back to the kernel"
    huge = probe(heap.MMAP_BELOW + 4096)
    assert huge["mapped"] == 1, "a huge block is still mapped on its own, and unmapped when freed"
    assert huge["kept_at_top"] < heap.MMAP_BELOW


def test_the_worker_s_start_up_is_kept_out_of_the_collector():
    done = subprocess.run([sys.executable, "-c", "import gc, json\n"
                           "from claude_mem import heap\n"
                           "before = gc.get_freeze_count()\n"
                           "heap.keep_for_life()\n"
                           "print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after, threshold = json.loads(done.stdout)
    assert before == 0 and after > 1000  # the interpreter's and claude_mem's objects
    # The youngest generation is looked at after heap.YOUNG_OBJECTS new containers; the
    # older generations keep Python's defaults.
    assert threshold == [heap.YOUNG_OBJECTS, 10, 10]
