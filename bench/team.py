"""Team memory at scale: N machines × M events each against one PostgreSQL on this machine.

    .venv/bin/python bench/team.py [--machines 10] [--events 1000] [--sync-every 0.5]

Starts a throwaway PostgreSQL cluster (``tests/pgcluster.py``), sets up the team schema
and one member role per machine, then runs every machine as its own process with its own
data dir: it stores ``--events`` observations of one shared project through the worker's
write path (``add_observation`` in a write transaction; the outbox trigger queues each
one), syncing every ``--sync-every`` seconds as the worker's thread would, and keeps
syncing until it holds every other machine's observations. Hooks and compression are
left out on purpose: they are measured by ``bench/hook_latency.py`` and ``bench/chaos.py``;
this measures the sync.

Prints:
- the cost of the outbox on the local write path: µs per stored observation in a shared
  project vs in a project that is not shared (the baseline, written alternately with the
  shared ones, so under the same load);
- sync throughput: records pushed per second of push time, pulled per second of pull time,
  and everything moved per second of wall time;
- the lag from "stored on one machine" to "in another machine's local store", p50/p95/max;
- PostgreSQL's size per observation (table + indexes + TOAST) and whether anything was
  duplicated or lost.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

KEY = "github.com/acme/bench"


def _observation(i: int, machine: int):
    from claude_mem.models import Observation

    return Observation(
        type="discovery", title=f"`pytest tests/test_m{machine}_{i}.py` passed on machine {machine}",
        subtitle="tests", facts=(f"fact {i} of machine {machine}", "12 passed in 0.41s"),
        narrative="Ran the focused test file after the change; it passed.",
        concepts=("testing",), files_read=(f"tests/test_m{machine}_{i}.py",),
        tool_name="Bash", tool_use_id=f"toolu_{machine}_{i}")


def child(args) -> int:
    """One machine: store, sync on a timer, keep syncing until it has everyone's rows."""
    from claude_mem import config
    from claude_mem.store import Store
    from claude_mem.store.team import TeamStore
    from claude_mem.team import sync as team_sync

    settings = config.load()
    store = Store(config.db_path(), busy_timeout_ms=15000)
    team = TeamStore(store)
    root = os.path.join(config.data_dir(), "project")
    team.share(KEY, "bench", root)
    with store.write():
        shared = store.open_session(f"bench-{args.index}", "bench", root, time.time())
        private = store.open_session(f"bench-{args.index}-local", "bench", "/elsewhere/bench",
                                     time.time())

    def store_one(session, i: int) -> float:
        at = time.time()
        started = time.perf_counter()
        with store.write():
            store.add_observation(session["id"], "bench", 1, _observation(i, args.index),
                                  f"h-{args.index}-{session['id']}-{i}", "bench", at)
        return time.perf_counter() - started

    baseline = []

    # Lag is measured when a pulled row lands here: now minus when its machine stored it.
    lags: list[float] = []
    original = team.apply_pulled

    def timed_apply(project_key, records):
        stored = original(project_key, records)
        now = time.time()
        lags.extend(now - r["created_at"] for r in records if r["body"] is not None)
        return stored

    team.apply_pulled = timed_apply
    sync_module_store = team_sync
    shared_writes, push_seconds, pull_seconds, pushed, pulled = [], 0.0, 0.0, 0, 0

    def one_sync() -> None:
        nonlocal push_seconds, pull_seconds, pushed, pulled
        result = sync_module_store.sync_once(store, settings, team=team)
        push_seconds += result["push_seconds"]
        pull_seconds += result["pull_seconds"]
        pushed += result["pushed"]
        pulled += result["pulled"]

    interval = args.sync_every
    next_sync = time.monotonic() + interval
    pace = args.duration / args.events  # spread the events over --duration seconds
    start = time.monotonic()
    for i in range(args.events):
        shared_writes.append(store_one(shared, i))
        # The baseline, under the same load: the same write in a project that is not shared
        # (it stays on this machine: nothing of it is queued, pushed or counted).
        baseline.append(store_one(private, i))
        if time.monotonic() >= next_sync:
            one_sync()
            next_sync = time.monotonic() + interval
        delay = start + (i + 1) * pace - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    expected = args.events * (args.machines - 1)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        one_sync()
        have = store.db.execute("SELECT COUNT(*) FROM observations WHERE member IS NOT NULL").fetchone()[0]
        if have >= expected and team.outbox_depth() == 0:
            break
        time.sleep(interval)
    have = store.db.execute("SELECT COUNT(*) FROM observations WHERE member IS NOT NULL").fetchone()[0]
    with open(args.out, "w") as fh:
        json.dump({"baseline": baseline, "shared": shared_writes, "lags": lags,
                   "push_seconds": push_seconds, "pull_seconds": pull_seconds,
                   "pushed": pushed, "pulled": pulled, "have": have, "expected": expected}, fh)
    store.close()
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--sync-every", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds over which each machine spreads its events")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    from tests.pgcluster import Cluster
    from claude_mem.store import postgres as pgstore

    work = tempfile.mkdtemp(prefix="claude-mem-bench-team-")
    cluster = Cluster.create()
    try:
        cluster.start()
        pgstore.init_db(cluster.url)
        procs, outs = [], []
        for index in range(args.machines):
            role, password = f"member{index}", secrets.token_hex(8)
            pgstore.add_member(cluster.url, role, "bench", password)
            data = os.path.join(work, f"machine{index}")
            out = os.path.join(work, f"result{index}.json")
            env = {**os.environ, "CLAUDE_MEM_DATA_DIR": data,
                   "CLAUDE_MEM_TEAM_DATABASE_URL": cluster.url_for(role, password),
                   "CLAUDE_MEM_TEAM_MEMBER": role}
            procs.append(subprocess.Popen(
                [sys.executable, __file__, "--child", "--index", str(index), "--out", out,
                 "--machines", str(args.machines), "--events", str(args.events),
                 "--sync-every", str(args.sync_every), "--duration", str(args.duration),
                 "--timeout", str(args.timeout)], env=env))
            outs.append(out)
        started = time.monotonic()
        failed = [p.args for p in procs if p.wait() != 0]
        wall = time.monotonic() - started
        if failed:
            print(f"{len(failed)} machine(s) failed", file=sys.stderr)
            return 1
        results = [json.load(open(out)) for out in outs]
        rows, size, distinct = pgstore.connect(cluster.url, autocommit=True).execute(
            "SELECT count(*), pg_total_relation_size('claude_mem.records'),"
            " count(DISTINCT uid) FROM claude_mem.records").fetchone()
    finally:
        cluster.destroy()
        subprocess.run(["rm", "-rf", work])

    base = statistics.median(v for r in results for v in r["baseline"]) * 1e6
    shared = statistics.median(v for r in results for v in r["shared"]) * 1e6
    lags = [v for r in results for v in r["lags"]]
    pushed = sum(r["pushed"] for r in results)
    pulled = sum(r["pulled"] for r in results)
    push_s = sum(r["push_seconds"] for r in results)
    pull_s = sum(r["pull_seconds"] for r in results)
    missing = sum(max(0, r["expected"] - r["have"]) for r in results)
    print(f"team memory: {args.machines} machines × {args.events} events, one PostgreSQL "
          f"on this machine, sync every {args.sync_every}s, events spread over {args.duration}s")
    print(f"local write path: {shared:.0f} µs per observation in a shared project vs "
          f"{base:.0f} µs not shared (×{shared / base:.2f}; the outbox trigger)")
    print(f"push: {pushed} records in {push_s:.2f} s of push time = {pushed / push_s:.0f} records/s")
    print(f"pull: {pulled} records in {pull_s:.2f} s of pull time = {pulled / pull_s:.0f} records/s")
    print(f"overall: {pushed + pulled} records moved in {wall:.1f} s wall = "
          f"{(pushed + pulled) / wall:.0f} records/s")
    print(f"lag store→available elsewhere: p50 {pct(lags, 0.5):.2f} s, p95 {pct(lags, 0.95):.2f} s,"
          f" max {max(lags):.2f} s ({len(lags)} deliveries)")
    print(f"PostgreSQL: {rows} records, {size / 1e6:.1f} MB = {size / max(rows, 1):.0f} bytes per "
          f"observation (table + indexes + TOAST); duplicates {rows - distinct}, "
          f"missing {missing}")
    return 0 if missing == 0 and rows == distinct == args.machines * args.events else 1


if __name__ == "__main__":
    sys.exit(main())
