"""Where a search by meaning and words spends its time: each part's place on the clock.

Usage: python bench/search_path.py [--observations 100000] [--rounds 5] [--data-dir DIR]
                                   [--mode both|meaning] [--gap-ms 0] [--json]

Needs the [semantic] extra. The memory is bench/scale.py's (written in bulk through the
real Store, random unit vectors under the real model's name: timing does not depend on
their numbers), built in a throwaway data dir, or in ``--data-dir`` (built there when it holds none, and
left there: the next run skips the ~1.5 min build at 100k). Then scale.py's questions, in every project and in one, ``--rounds``
times, each search in process and warm (model and index loaded) with its question
embedded again (the process's cache of question vectors emptied), as
``scale.py --semantic`` times them. Each part is timed where it runs: the words'
ranking (``Store.search_keys``), the rows read (``Store.hits_by_keys``), the question's
embedding (the engine's call) and the scan (``VectorIndex.nearest``). Printed: ``both``
p50 / p95 and, per case (slowest first), the median start and end of each part in ms
after the search began; a part that starts late started after a thread was woken.

A/B against another checkout: ``python bench/search_path.py --src OTHER/src`` runs the
other code with this bench (run both in turn, the same minutes). On a busy machine run it
as ``chrt -f 10 python ...`` with ``--gap-ms 6``: the other work then cannot preempt it,
and the pause keeps its threads under the kernel's real-time limit (95 % of a core; above
it they are stopped for up to 50 ms). ``CLAUDE_MEM_QUERY_THREADS=2`` in the environment
embeds each question on two threads (``semantic/e5small.py``; the first line says how
many). Exits 0 (a measurement, not a test).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _parts(store, model, index_class, clock: list, events: dict) -> None:
    """Wrap each part so that its start and end (ms after ``clock[0]``) land in ``events``."""
    def wrap(owner, name, label):
        real = getattr(owner, name)

        def timed(*args, **kwargs):
            began = time.perf_counter() - clock[0]
            try:
                return real(*args, **kwargs)
            finally:
                events.setdefault(label, []).append(
                    (began * 1000, (time.perf_counter() - clock[0]) * 1000))
        setattr(owner, name, timed)

    wrap(store, "search_keys", "words")
    wrap(store, "hits_by_keys", "rows")
    wrap(model._model, "query", "embedding")
    wrap(index_class, "nearest", "scan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", choices=("both", "meaning"), default="both")
    parser.add_argument("--data-dir", help="where the memory is (built there if empty, kept)")
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause between searches")
    parser.add_argument("--src", help="another checkout's src to time instead of this one's")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="cm-search-path-")
    os.environ["CLAUDE_MEM_DATA_DIR"] = data_dir
    sys.path.insert(0, str(ROOT / "bench"))
    import scale  # noqa: E402  (bench/scale.py: the memory and the questions)

    # Whose code is timed: this checkout's, or the one ``--src`` names (scale.py put this
    # checkout's src first; nothing of claude_mem is imported yet).
    sys.path.insert(0, os.path.abspath(args.src) if args.src else str(ROOT / "src"))
    assert "claude_mem" not in sys.modules

    from claude_mem import config
    from claude_mem.semantic import hybrid
    from claude_mem.semantic.base import embedder
    from claude_mem.semantic.index import VectorIndex
    from claude_mem.store import Store

    report: dict = {"observations": args.observations, "mode": args.mode,
                    "src": args.src or str(ROOT / "src"), "cases": []}
    try:
        with Store(config.db_path()) as store:
            if not store.db.execute("SELECT count(*) FROM observations").fetchone()[0]:
                started = time.perf_counter()
                scale.build(store, 0, args.observations, random.Random(20261201),
                            [time.time() - 2 * args.observations])
                scale.fill_vectors(store)
                report["build_s"] = round(time.perf_counter() - started, 1)
            settings = config.load()
            model = embedder("e5-small")
            report["query_threads"] = getattr(model, "query_threads", 1)
            hybrid.index_for(store, model)
            for _, text in scale.QUERIES:  # warm: pages, threads, the engine's buffers
                hybrid.search(store, text, mode=args.mode, limit=20, settings=settings)
            clock, events = [0.0], {}
            _parts(store, model, VectorIndex, clock, events)
            cases: dict = {}
            totals = []
            for _ in range(args.rounds):
                for _, text in scale.QUERIES:
                    for project in (None, scale.SCOPED_PROJECT):
                        hybrid._queries.clear()
                        events.clear()
                        time.sleep(args.gap_ms / 1000)
                        clock[0] = time.perf_counter()
                        hybrid.search(store, text, mode=args.mode, project=project, limit=20,
                                      settings=settings)
                        total = (time.perf_counter() - clock[0]) * 1000
                        totals.append(total)
                        case = cases.setdefault((text, project), {"total": []})
                        case["total"].append(total)
                        for label, spans in events.items():
                            for n, span in enumerate(spans):
                                case.setdefault(f"{label}{n or ''}", []).append(span)
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    report.update(p50_ms=round(statistics.median(totals), 2), p95_ms=round(scale.pct(totals, 0.95), 2),
                  max_ms=round(max(totals), 2))
    for (text, project), case in sorted(cases.items(),
                                        key=lambda item: -statistics.median(item[1]["total"])):
        parts = {label: [round(statistics.median(s for s, _ in spans), 2),
                         round(statistics.median(e for _, e in spans), 2)]
                 for label, spans in sorted(case.items()) if label != "total"}
        report["cases"].append({"question": text, "project": project,
                                "total_ms": round(statistics.median(case["total"]), 2),
                                "parts_ms": parts})
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.mode} at {args.observations} observations, {len(totals)} searches: "
          f"p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms, max {report['max_ms']} ms "
          f"(the question embedded on {report['query_threads']} thread(s))")
    for case in report["cases"]:
        parts = "  ".join(f"{label} {start:.1f}-{end:.1f}"
                          for label, (start, end) in case["parts_ms"].items())
        where = case["project"] or "every project"
        print(f"{case['total_ms']:7.2f}  {case['question'][:26]:26} {where:14} {parts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
