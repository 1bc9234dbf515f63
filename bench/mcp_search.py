"""MCP search benchmark: the ``search`` tool's round trip through the real MCP server at scale.

Usage: python bench/mcp_search.py [--observations 100000] [--runs 5] [--json]

One memory of ``--observations`` observations, built in bulk like ``bench/scale.py`` (the
same builder, so the word frequencies are known). The real server (``python -m
claude_mem.mcp_server``, stdio, the process Claude Code starts) gets a fixed mix of 50
``search`` calls (25 queries: the scale bench's rare, mid-frequency, common, multi-word and
prefix queries plus 15 identifiers of every frequency, each once across all projects and
once in one project) ``--runs`` times over, as newline-delimited JSON-RPC on its stdin.
Printed: the round trip's p50/p95/max (request written .. answer read), the same calls'
``search_text`` in this process (the tool's own work, without the protocol), and the
slowest queries. Target (issue 23): round trip p95 <= 15 ms at 100k.
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

import scale  # noqa: E402


def query_mix() -> list[tuple[str, str | None]]:
    texts = [text for _, text in scale.QUERIES]
    texts += [scale.IDENTS[i] for i in (0, 5, 17, 60, 150, 400, 900, 1_500, 2_500, 4_000,
                                        6_000, 9_000, 12_000, 16_000, 19_999)]
    return [(text, project) for text in texts for project in (None, scale.SCOPED_PROJECT)]


class Server:
    def __init__(self, env: dict, cwd: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "claude_mem.mcp_server", "--cwd", cwd],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env)
        self.next_id = 0
        self.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                 "clientInfo": {"name": "bench", "version": "1"}})
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def call(self, method: str, params: dict) -> dict:
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the MCP server hung up")
            answer = json.loads(line)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="cm-mcp-")
    data_dir = os.path.join(tmp, "memory")
    os.environ["CLAUDE_MEM_DATA_DIR"] = data_dir
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": data_dir, "CLAUDE_MEM_SEARCH_MODE": "words"}
    env.pop("CLAUDE_PROJECT_DIR", None)
    report: dict = {"observations": args.observations, "load_before": os.getloadavg()}
    server = None
    try:
        from claude_mem import config, mcp_server
        from claude_mem.store import Store

        with Store(config.db_path()) as store:
            scale.build(store, 0, args.observations, random.Random(20261201),
                        [time.time() - 2 * args.observations])
        cwd = os.path.join(tmp, scale.SCOPED_PROJECT)
        os.makedirs(cwd)
        mix = query_mix()
        server = Server(env, cwd)
        for text, project in mix:  # warm the page cache and the server
            server.call("tools/call", {"name": "search", "arguments": {
                "query": text, **({"project": project} if project else {"project": "*"})}})
        trips, tool, by_query = [], [], {}
        for _ in range(args.runs):
            for text, project in mix:
                arguments = {"query": text, "project": project or "*"}
                started = time.perf_counter()
                server.call("tools/call", {"name": "search", "arguments": arguments})
                elapsed = (time.perf_counter() - started) * 1000
                trips.append(elapsed)
                by_query.setdefault(f"{text} [{project or '*'}]", []).append(elapsed)
                started = time.perf_counter()
                mcp_server.search_text(text, project or "*", cwd=cwd, mode="words")
                tool.append((time.perf_counter() - started) * 1000)
        report.update({
            "calls": len(trips), "round_trip_p50_ms": round(statistics.median(trips), 2),
            "round_trip_p95_ms": round(pct(trips, 0.95), 2), "round_trip_max_ms": round(max(trips), 1),
            "tool_p50_ms": round(statistics.median(tool), 2), "tool_p95_ms": round(pct(tool, 0.95), 2),
            "slowest": sorted(((round(statistics.median(v), 2), k) for k, v in by_query.items()),
                              reverse=True)[:6],
            "load_after": os.getloadavg()})
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"MCP search at {report['observations']} observations: {report['calls']} calls "
          f"(load average {report['load_before'][0]:.1f} before, {report['load_after'][0]:.1f} after)")
    print(f"round trip p50 {report['round_trip_p50_ms']} ms, p95 {report['round_trip_p95_ms']} ms, "
          f"max {report['round_trip_max_ms']} ms; the tool in process p50 {report['tool_p50_ms']} ms, "
          f"p95 {report['tool_p95_ms']} ms")
    print("slowest queries (median ms): " + "; ".join(f"{k} {v}" for v, k in report["slowest"]))
    print("target: round trip p95 <= 15 ms at 100k")
    return 0


if __name__ == "__main__":
    sys.exit(main())
