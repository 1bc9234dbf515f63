"""The worker's heaps: freed memory is kept for the next statement, not handed back, and
what start-up made is kept out of Python's collector.

Contract: ``keep_for_life()`` is called once by the worker process at its start (never
by a hook: their processes are short, nor in a test's process): ``keep_freed_heap()``,
then ``gc.freeze()``: the modules, code and settings start-up made live as long as the
process, and the collector's full passes no longer walk them (without it, one full pass
in a 10k-event drain was about 1 % of the worker's CPU); and the collector's youngest
generation is looked at after ``YOUNG_OBJECTS`` new containers instead of Python's 700
(the older generations keep their defaults). A drain makes few reference cycles: at 700
a 10k-event drain ran 64 young and 6 middle passes, ~22 ms of the real worker's CPU
(``gc.callbacks``), at 10,000 one pass, ~2 ms; the cycles it does make are freed a few
thousand objects later. ``keep_freed_heap()``: with
glibc it sets, through ``mallopt``, the size from which a block is mapped on its own
(``MMAP_BELOW``) and how much free memory at the top of the heap is kept before it is
given back to the kernel (``TRIM_ABOVE``); returns True if both were set. Elsewhere
(macOS, musl) it does nothing and returns False.

Why: glibc's defaults give the top of the heap back whenever more than ~128 KiB is free
there, and SQLite allocates and frees blocks of that size for many statements (a
statement journal's first 64 KiB chunk; a temporary B-tree's page cache, ~20 pages at
once: an IN list, a UNION, a RETURNING clause). Depending on what else sits on the heap,
each such statement then grew the heap again and faulted its pages in afresh. Measured
on the scale bench's short requests (10k events, the real worker): 53,000 page faults
where round 4's code had 1,000, and ~10 % of the worker's CPU. Python's own objects
come from its arenas and are not affected. Costs at most ``TRIM_ABOVE`` of resident
memory kept after a peak.
"""
from __future__ import annotations

import gc
import os
import sys

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# Blocks from this size on are mapped on their own and unmapped when freed (a large
# payload or transcript); smaller ones come from the heap and stay for reuse.
MMAP_BELOW = 1 << 20
# Free memory at the top of the heap beyond this is given back to the kernel.
TRIM_ABOVE = 4 << 20
# New container objects (net of those freed) between two passes over the youngest
# generation (Python's default: 700); see the module docstring.
YOUNG_OBJECTS = 10_000


def keep_freed_heap() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):
        return False  # not glibc after all: its defaults stay
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt answers 1 when it took the value. Setting either also stops glibc moving its
    # thresholds by itself, so both are set.
    return mallopt(_M_MMAP_THRESHOLD, MMAP_BELOW) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_ABOVE) == 1


def keep_for_life() -> bool:
    """``keep_freed_heap()``, then start-up's objects frozen and the youngest generation
    looked at less often (see the module docstring)."""
    kept = keep_freed_heap()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, middle, oldest)
    return kept
