"""Ingest, two checkouts side by side: the same memory made, and the worker's CPU per event.

Usage::

    python bench/ingest_same.py --against /path/to/other/checkout [--runs 5] [--events 10000]

Each run drains the scale bench's ingest events (``bench/scale.py``'s ``ingest_events``:
short requests of 8 tool calls, and 500-tool requests) through the real ``Worker`` loop,
in a fresh process and data directory per run, the checkout's own ``src`` on the path.
The events are made once, here, and every event's ``received_at`` is fixed, so both
checkouts are given byte-identical queues. Runs of the two checkouts alternate, and which
goes first turns too (A, B, B, A, A, B, ...): the machine's load falls on both alike, and so
does the first run of a pair's cost (round 11: this checkout measured first three times
gave 1.17-1.28x, the same pair the other way round 0.96x).

What it prints:
- **same memory**: a SHA-256 of every row of ``observations``, ``summaries``,
  ``user_prompts``, ``sessions`` and ``processed_tool_uses`` (all columns, ids and times
  included; ``processed_tool_uses.processed_at`` apart, shown but not counted: it is when
  the unit a tool call was stored in was cut, which the pass size decides), and of every
  (term, row, column, offset) the three search indexes hold
  (FTS5's ``fts5vocab``, after its ``integrity-check``): equal or not, per table. The
  index's cutting into segments is not compared (it depends on transactions and merges).
- **CPU**: the worker thread's CPU seconds per 10,000 events for each run, and the
  medians (in process: what the neighbours' load changes least; the wall time is shown
  too).

Exit status 1 when the memory differs. Without ``--against`` it runs this checkout alone.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale  # noqa: E402  (the bench's own event maker)

# The drain's set-up, shared with bench/ingest_instructions.py (it runs after the script's
# own imports, with ``events_path`` set): the events queued at fixed times, then a real
# ``Worker`` whose loop stops once a pass finds the queue empty (``w.run()``).
DRAIN_SETUP = r"""
from claude_mem import config, heap, worker
from claude_mem.store import Store
config.ensure_data_dir()
getattr(heap, "keep_for_life", heap.keep_freed_heap)()  # as the worker's main does
with open(events_path) as fh:
    events = json.load(fh)
with Store(config.db_path()) as store, store.write():
    for i, (event, payload) in enumerate(events):
        store.enqueue(event, json.dumps(payload), received_at=1_780_000_000.0 + i * 0.001,
                      cleaned=True)
w = worker.Worker(config.load())
one_pass = w.drain.run
def run_then_stop(*args, **kwargs):
    did = one_pass(*args, **kwargs)
    if not did and not w.store.queue_stats()["pending"]:
        w.stopping.set()
        w.wakeup.set()
    return did
w.drain.run = run_then_stop
"""

# One run, in a fresh interpreter with the checkout's src first on the path.
_RUN = r"""
import hashlib, json, os, sys, time
events_path, out_path = sys.argv[1], sys.argv[2]
""" + DRAIN_SETUP + r"""
cpu, wall = time.thread_time(), time.perf_counter()
w.run()
cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
w.close()
import sqlite3
db = sqlite3.connect(config.db_path())
digests, rows = {}, {}
for table, order in (("observations", "id"), ("summaries", "id"), ("user_prompts", "id"),
                     ("sessions", "id"), ("processed_tool_uses", "session_id, tool_use_id")):
    cursor = db.execute(f"SELECT * FROM {table} ORDER BY {order}")
    names = [d[0] for d in cursor.description]
    digest, n = hashlib.sha256(), 0
    unit_times = hashlib.sha256()
    for row in cursor:
        item = dict(zip(names, row))
        if table == "processed_tool_uses":  # when the unit it was stored in was cut
            unit_times.update(repr(item.pop("processed_at")).encode() + b"\n")
        digest.update(json.dumps(item, sort_keys=True).encode() + b"\n")
        n += 1
    digests[table], rows[table] = digest.hexdigest(), n
    if table == "processed_tool_uses":
        digests["processed_at (unit cuts)"], rows["processed_at (unit cuts)"] = unit_times.hexdigest(), n
for table in ("observations_fts", "summaries_fts", "user_prompts_fts"):
    db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
    db.execute(f"CREATE VIRTUAL TABLE temp.terms_{table} USING fts5vocab(main, {table}, 'instance')")
    digest, n = hashlib.sha256(), 0
    for row in db.execute(f"SELECT term, doc, col, offset FROM temp.terms_{table} ORDER BY 1, 2, 3, 4"):
        digest.update(json.dumps(list(row)).encode() + b"\n")
        n += 1
    digests[table], rows[table] = digest.hexdigest(), n
db.close()
with open(out_path, "w") as fh:
    json.dump({"cpu": cpu, "wall": wall, "events": len(events), "digests": digests,
               "rows": rows}, fh)
"""


# Compared and shown, but not memory: ``processed_tool_uses.processed_at`` (written, never
# read) is the time of the last event of the unit a tool call was stored in, and units are
# cut where passes are (a quiet pass took 200 rows before round 9, 800 since).
NOT_MEMORY = {"processed_at (unit cuts)"}


def write_events(case: str, about: int, tmp: str) -> tuple[list, str]:
    """The scale bench's ingest events of ``case`` (short: 8 tools a request, else 500),
    about ``about`` of them, the same seed every time, and the JSON file they are in."""
    tools = 8 if case == "short" else 500
    events = scale.ingest_events(case, max(1, about // (tools + 2)), tools, random.Random(20261201))
    events_path = os.path.join(tmp, f"{case}.json")
    with open(events_path, "w") as fh:
        json.dump(events, fh)
    return events, events_path


def run_once(checkout: Path, events_path: str, tmp: str) -> dict:
    data_dir = tempfile.mkdtemp(prefix="run-", dir=tmp)
    out = os.path.join(data_dir, "result.json")
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": data_dir, "CLAUDE_MEM_SEARCH_MODE": "words",
           "CLAUDE_MEM_WORKER_IDLE_SECONDS": "600",
           "PYTHONPATH": str(checkout / "src")}
    subprocess.run([sys.executable, "-c", _RUN, events_path, out], env=env, check=True,
                   cwd=data_dir)
    with open(out) as fh:
        return json.load(fh)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout (its src/ is used)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each checkout per case")
    parser.add_argument("--events", type=int, default=10_000, help="events per case")
    parser.add_argument("--cases", default="short,long_500")
    args = parser.parse_args()
    this = HERE.parent
    sides = [("this", this)] + ([("against", args.against.resolve())] if args.against else [])
    differ = False
    print(f"load average {os.getloadavg()[0]:.2f}; sides: "
          + ", ".join(f"{name} {path}" for name, path in sides))
    with tempfile.TemporaryDirectory(prefix="ingest-same-") as tmp:
        for case in args.cases.split(","):
            events, events_path = write_events(case, args.events, tmp)
            results = {name: [] for name, _ in sides}
            for run in range(args.runs):
                for name, path in (sides if run % 2 == 0 else sides[::-1]):
                    results[name].append(run_once(path, events_path, tmp))
            per10k = {name: [r["cpu"] / r["events"] * 10_000 for r in rs] for name, rs in results.items()}
            for name, rs in results.items():
                print(f"{case:<9} {name:<8} CPU s/10k events: "
                      + " ".join(f"{c:.3f}" for c in per10k[name])
                      + f"  median {statistics.median(per10k[name]):.3f}"
                      + f"  (wall s/10k median {statistics.median(r['wall'] / r['events'] * 10_000 for r in rs):.3f})")
            if args.against:
                ratio = statistics.median(per10k["this"]) / statistics.median(per10k["against"])
                print(f"{case:<9} this / against CPU (medians): {ratio:.3f}")
            every = [r for rs in results.values() for r in rs]
            first = every[0]
            for table, digest in first["digests"].items():
                same = all(r["digests"][table] == digest for r in every)
                differ |= not same and table not in NOT_MEMORY
                print(f"{case:<9} {table:<20} {first['rows'][table]:>7} rows  "
                      + ("same in every run" if same else
                         ("differs (not memory): " if table in NOT_MEMORY else "DIFFERS: ")
                         + " ".join(f"{r['digests'][table][:12]}" for r in every)))
    print("memory: " + ("DIFFERS" if differ else "the same"))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
