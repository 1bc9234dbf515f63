"""A question's embedding on one thread and on two, under libgomp's wait settings.

Usage: python bench/query_threads.py [--questions 42] [--gap-ms 5] [--cores 0,1] [--json]

Each variant runs in a process of its own (libgomp reads its settings once, when the
engine loads): one thread; two threads with the spin this project sets
(``GOMP_SPINCOUNT=1000``, ``semantic/e5small.py``); two threads with libgomp's default
spin (300,000 turns); two threads asleep at once (``OMP_WAIT_POLICY=passive``). Each
embeds the same questions (``E5Small.query``, ``query_threads`` 1 or 2) with a pause
between them, and prints the wall-clock p50 / p95 of a question and the CPU time of the
whole process per question (the second thread's spinning included). ``--cores 1`` runs
every variant on one core (``taskset``): two threads then share it, as they do when the
words search of a ``both`` search has the other. On a busy machine run it as ``chrt -f 10
python ...`` or at a raised priority: the others' work otherwise decides the figures.
Exits 0 (a measurement, not a test).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["how do I configure the worker socket", "why did the build fail on arm64",
             "sqlite busy timeout in hooks", "recall of prompt-time memory",
             "fix flaky test in viewer", "where is the digest written",
             "vector index rescoring int8 codes pca"]
VARIANTS = [("one thread", 1, {}),
            ("two, spin 1,000 (kept)", 2, {}),
            ("two, libgomp's default spin", 2, {"GOMP_SPINCOUNT": "300000"}),
            ("two, passive", 2, {"OMP_WAIT_POLICY": "passive"})]


def child(threads: int, count: int, gap: float) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from claude_mem.semantic.e5small import E5Small

    import scale  # bench/scale.py: its percentile, the one every bench here prints

    model = E5Small(threads=1, query_threads=threads)
    questions = (QUESTIONS * (count // len(QUESTIONS) + 1))[:count]
    for question in questions[:5]:  # warm: pages, the engine's second thread
        model.query(question)
    times = []
    cpu = time.process_time()
    for question in questions:
        time.sleep(gap)
        started = time.perf_counter()
        model.query(question)
        times.append((time.perf_counter() - started) * 1000)
    cpu = (time.process_time() - cpu) * 1000 / len(questions)
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(scale.pct(times, 0.95), 2),
            "cpu_ms_per_question": round(cpu, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=42)
    parser.add_argument("--gap-ms", type=float, default=5.0)
    parser.add_argument("--cores", help="taskset's list of cores for every variant")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.questions, args.gap_ms / 1000)))
        return 0
    prefix = ["taskset", "-c", args.cores] if args.cores and shutil.which("taskset") else []
    report = {"cores": args.cores or "all", "load": os.getloadavg()[0], "variants": []}
    for label, threads, settings in VARIANTS:
        env = {k: v for k, v in os.environ.items()
               if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "CLAUDE_MEM_QUERY_THREADS")}
        env.update(settings)
        done = subprocess.run(prefix + [sys.executable, __file__, "--child", str(threads),
                                        "--questions", str(args.questions),
                                        "--gap-ms", str(args.gap_ms)],
                              capture_output=True, text=True, env=env, timeout=600)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 0
        report["variants"].append({"variant": label, **json.loads(done.stdout)})
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"a question's embedding, {args.questions} questions, cores {report['cores']}, "
          f"load {report['load']:.2f}:")
    for row in report["variants"]:
        print(f"  {row['variant']:<30} p50 {row['p50_ms']:6.2f} ms  p95 {row['p95_ms']:6.2f} ms"
              f"  CPU {row['cpu_ms_per_question']:6.2f} ms a question")
    return 0


if __name__ == "__main__":
    sys.exit(main())
