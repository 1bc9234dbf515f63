"""The model-reply parser on hostile input: linear, not quadratic.

Usage: python bench/xmlparse_worst_case.py [--runs 3]

Times ``xmlparse.parse_reply`` on a reply full of what makes a naive scanner go back over
the text again and again (50,000 unclosed ``<``, 20,000 unterminated attribute quotes and
comment openers, inside two observations), against a plain reply of the same length, and
at twice the size: a linear parser's time doubles, a quadratic one's quadruples. Prints
the figures (median of ``--runs``) and the ratios. Moved here from a timed assertion in
tests/test_xmlparse.py (tests assert behaviour, benches measure time). Exits 0.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from claude_mem.compress.xmlparse import parse_reply  # noqa: E402


def hostile(scale: int) -> str:
    one = ("<observation><title>T</title>" + "<" * 50000 * scale + " " * 50000 * scale
           + '<a "' * 20000 * scale + "<!--" * 20000 * scale + "</observation>")
    return one * 2


def plain(length: int) -> str:
    body = "<observation><title>T</title><narrative>" + "word " * (length // 10)
    return (body + "</narrative></observation>") * 2


def timed(text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        parse_reply(text)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    small, large = hostile(1), hostile(2)
    t_plain = timed(plain(len(small)), args.runs)
    t_small = timed(small, args.runs)
    t_large = timed(large, args.runs)
    print(f"plain reply   {len(small):>9,} chars  {t_plain * 1000:8.1f} ms")
    print(f"hostile reply {len(small):>9,} chars  {t_small * 1000:8.1f} ms  "
          f"({t_small / t_plain:.1f}x the plain reply)")
    print(f"hostile reply {len(large):>9,} chars  {t_large * 1000:8.1f} ms  "
          f"({t_large / t_small:.2f}x for twice the text: ~2 linear, ~4 quadratic)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
