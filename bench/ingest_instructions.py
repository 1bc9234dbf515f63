"""Ingest by instructions: what the worker's drain of a fixed queue executes, under callgrind.

Usage::

    python bench/ingest_instructions.py [--against /other/checkout] [--cases short,long_500]
                                        [--events 10000] [--stretch 1000]

Each run queues the scale bench's ingest events (``bench/scale.py``'s ``ingest_events``,
the same seed and fixed times as ``bench/ingest_same.py``), then drains them through the
real ``Worker`` loop in process under ``valgrind --tool=callgrind``. Only the drain is
counted: the loop runs inside ``operator.call`` and callgrind collects only inside it
(``--toggle-collect=_operator_call``), so the enqueue, the imports and the worker's start
are left out, as are other threads. The count is the user-space instructions of the drain:
repeatable under any load, unlike CPU time on this machine.

``--stretch`` multiplies the group commit's time cut (``drain._GROUP_COMMIT_SECONDS``):
under valgrind the drain runs ~50x slower, so with the real cut it would commit several
times as often as a native run, and how often depends on the machine's load. The default
(1000) leaves only the ends of passes to cut transactions, so two checkouts make the same
transactions and their counts differ only by their per-event work; ``--stretch 40``
approximates a native run's commits (the figures of rounds 8-10).

Each count is preceded by one native run of the same drain (own data directory) that
fills the pycache prefix, so no module is compiled inside the count.

Kernel time is not counted (a statement journal spilled to a temporary file costs system
calls, not instructions): compare ``strace -c`` of the same drain when a change alters how
SQLite writes. Needs ``valgrind``; takes a few minutes per run.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ingest_same  # noqa: E402  (the drain's set-up, shared)

_RUN = r"""
import json, operator, sys
events_path, stretch = sys.argv[1], float(sys.argv[2])
from claude_mem import drain
drain._GROUP_COMMIT_SECONDS *= stretch
""" + ingest_same.DRAIN_SETUP + r"""
operator.call(w.run)  # callgrind counts inside this call only
w.close()
"""


def count(checkout: Path, events_path: str, stretch: float, tmp: str) -> int:
    data_dir = tempfile.mkdtemp(prefix="run-", dir=tmp)
    out = os.path.join(data_dir, "callgrind.out")
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": data_dir, "CLAUDE_MEM_SEARCH_MODE": "words",
           "CLAUDE_MEM_WORKER_IDLE_SECONDS": "600", "PYTHONPATH": str(checkout / "src"),
           # Compiled modules kept (per checkout): an import the drain makes late would
           # otherwise compile its source inside the count.
           "PYTHONPYCACHEPREFIX": os.path.join(tmp, "pycache-" + checkout.name)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Once without valgrind first, in a data directory of its own: with a fresh pycache
    # prefix every module the drain imports late (stdlib ones too) was compiled inside the
    # first case's count (~140 M instructions, 2 %, seen as ``builtin_compile`` under
    # ``_operator_call``), and not inside the second case's.
    warm_dir = tempfile.mkdtemp(prefix="warm-", dir=tmp)
    subprocess.run([sys.executable, "-c", _RUN, events_path, str(stretch)],
                   env={**env, "CLAUDE_MEM_DATA_DIR": warm_dir}, cwd=warm_dir, check=True,
                   capture_output=True)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--toggle-collect=_operator_call",
         f"--callgrind-out-file={out}", sys.executable, "-c", _RUN, events_path, str(stretch)],
        env=env, cwd=data_dir, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"callgrind run failed ({done.returncode}): {done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout (its src/ is used)")
    parser.add_argument("--events", type=int, default=10_000, help="events per case")
    parser.add_argument("--cases", default="short,long_500")
    parser.add_argument("--stretch", type=float, default=1000.0,
                        help="multiplier of the group commit's time cut (see above)")
    args = parser.parse_args()
    sides = [("this", HERE.parent)] + ([("against", args.against.resolve())] if args.against else [])
    print(f"load average {os.getloadavg()[0]:.2f}; stretch x{args.stretch:g}; sides: "
          + ", ".join(f"{name} {path}" for name, path in sides))
    with tempfile.TemporaryDirectory(prefix="ingest-instr-") as tmp:
        for case in args.cases.split(","):
            events, events_path = ingest_same.write_events(case, args.events, tmp)
            counts = {name: count(path, events_path, args.stretch, tmp) for name, path in sides}
            for name, n in counts.items():
                print(f"{case:<9} {name:<8} {n / 1e6:,.0f} M instructions for {len(events)} events"
                      f" ({n / len(events) / 1e3:,.0f} k per event)")
            if args.against:
                print(f"{case:<9} this / against: {counts['this'] / counts['against']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
