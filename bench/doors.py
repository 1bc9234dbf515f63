"""What the doors of issue 22 cost and how fast they answer.

Usage: python bench/doors.py [--runs 7]

- Reading: the real transcripts under tests/fixtures/real-world/transcripts through
  ``boundedfile.json_lines`` (regular files only, depth cut per value) against the plain
  baseline measured in the same run (``open`` + ``json.loads`` per line); median of
  ``--runs``, and the ratio.
- MCP: ``get_observations`` with 100,000 ids against the real server on stdio (a throwaway
  data dir holding the claude-mem-13 fixture): seconds until the answer (an error saying
  how many ids a call takes). Before the gate this call held the server for 44 s.
- Import json of a pipe of zeros (``import json - < /dev/zero``): seconds until refused.
Prints the figures; exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = sorted((ROOT / "tests" / "fixtures" / "real-world" / "transcripts").glob("*.jsonl"))
LEGACY_DB = ROOT / "tests" / "fixtures" / "claude-mem-13" / "claude-mem.db"


def plain_read(path: Path) -> int:
    count = 0
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                json.loads(line)
                count += 1
    return count


def bounded_read(path: Path) -> int:
    from claude_mem import boundedfile

    return sum(1 for _, value, _ in boundedfile.json_lines(str(path)) if value is not None)


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for path in TRANSCRIPTS:
            fn(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def mcp_many_ids(env: dict) -> float:
    proc = subprocess.Popen([sys.executable, "-m", "claude_mem.mcp_server"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)

    def send(message) -> None:
        proc.stdin.write((json.dumps(message) + "\n").encode())
        proc.stdin.flush()

    def answer(wait: float = 300) -> bytes:
        ready, _, _ = select.select([proc.stdout], [], [], wait)
        return proc.stdout.readline() if ready else b""

    try:
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}})
        answer()
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        started = time.monotonic()
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "get_observations", "arguments": {"ids": list(range(100_000))}}})
        line = answer()
        took = time.monotonic() - started
        assert b'"id":2' in line.replace(b" ", b""), line[:200]
        return took
    finally:
        proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def zeros_refused(env: dict) -> float:
    started = time.monotonic()
    with open("/dev/zero", "rb") as zeros:
        proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", "import", "json", "-"],
                              stdin=zeros, capture_output=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    size = sum(p.stat().st_size for p in TRANSCRIPTS)
    plain = median_seconds(plain_read, args.runs)
    bounded = median_seconds(bounded_read, args.runs)
    print(f"reading {len(TRANSCRIPTS)} real transcripts ({size / 1e6:.1f} MB), median of {args.runs}:"
          f" plain json.loads {plain * 1000:.1f} ms, boundedfile {bounded * 1000:.1f} ms"
          f" ({bounded / plain:.2f}x)")
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "CLAUDE_MEM_DATA_DIR": data}
        subprocess.run([sys.executable, "-m", "claude_mem.cli", "import", "claude-mem-db",
                        str(LEGACY_DB)], env=env, check=True, capture_output=True)
        print(f"MCP get_observations with 100,000 ids: answered in {mcp_many_ids(env):.2f} s")
        print(f"import json - < /dev/zero: refused in {zeros_refused(env):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
