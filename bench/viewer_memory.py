"""Memory of the worker and of the viewer: resident set size (RSS) before and after use.

Usage: python bench/viewer_memory.py [--events 200] [--streams 3] [--requests 60]

In a throwaway data dir: replays the recorded Claude Code session through the real hooks
(which start the real worker), then ``--events`` more tool events; reads the worker's RSS
once drained. Then starts the viewer (its own process, as ``claude-mem viewer`` does), reads
its RSS idle, opens ``--streams`` live feeds, makes ``--requests`` page and API requests
(feed, search, session, observation, status, settings) while more events flow, and reads
both RSS figures again. The worker must stay at or under 50 MB idle (the issue's limit);
the viewer's figure is printed beside it. Everything is stopped and removed at the end.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

WORKER_LIMIT_MB = 50.0


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="claude-mem-viewer-bench-")
    os.environ.update(CLAUDE_MEM_DATA_DIR=os.path.join(tmp, "data"), HOME=tmp,
                      CLAUDE_MEM_VIEWER_PORT=str(free_port()), CLAUDE_MEM_WORKER_IDLE_SECONDS="600")
    from claude_mem import control, install
    from claude_mem.hooks import HOOK_EVENTS
    from claude_mem.store import open_store
    from claude_mem.viewer import process

    names = {event: name for name, event in HOOK_EVENTS.items()}
    fixture = ROOT / "tests" / "fixtures" / "claude-code" / "session-invoice-fix.jsonl"
    recorded = [json.loads(line) for line in fixture.read_text().splitlines() if line.strip()]
    recorded = [(r["event"], r["stdin"]) for r in recorded if r["event"] in names]
    template = next(p for e, p in recorded if e == "PostToolUse" and p.get("tool_name") == "Bash")

    def hook(event: str, payload: dict) -> None:
        subprocess.run([sys.executable, "-I", "-S", install.ENTRY, names[event]],
                       input=json.dumps(payload).encode(), capture_output=True, timeout=60)

    def more_events(count: int, tag: str) -> None:
        for n in range(count):
            hook("PostToolUse", {**template, "tool_use_id": f"toolu_{tag}_{n}",
                                 "tool_input": {"command": f"make target-{tag}-{n}"},
                                 "tool_response": {**template["tool_response"], "stdout": f"built {n}"}})

    def drained() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with open_store() as store:
                if store.queue_stats()["pending"] == 0:
                    return
            time.sleep(0.1)
        raise SystemExit("the queue did not drain")

    try:
        for event, payload in recorded:
            hook(event, payload)
        more_events(args.events, "a")
        drained()
        worker = control.read_pid()
        time.sleep(1.0)
        worker_idle = rss_mb(worker)

        info = process.ensure()
        viewer, port, token = info["pid"], info["port"], info["url"].split("token=")[1]
        time.sleep(1.0)
        viewer_idle = rss_mb(viewer)
        auth = {"Authorization": f"Bearer {token}"}
        streams = []
        for _ in range(args.streams):
            conn = socket.create_connection(("127.0.0.1", port), timeout=30)
            conn.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                         f"Authorization: Bearer {token}\r\n\r\n".encode())
            streams.append(conn)
        more_events(args.events // 4, "b")
        paths = ["/", "/api/feed", "/search?q=pytest", "/api/search?q=target", "/session/1",
                 "/obs/3", "/status", "/api/status", "/settings"]
        started = time.perf_counter()
        for n in range(args.requests):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", paths[n % len(paths)], headers=auth)
            response = conn.getresponse()
            response.read()
            conn.close()
            assert response.status == 200, (paths[n % len(paths)], response.status)
        per_request_ms = (time.perf_counter() - started) * 1000 / max(1, args.requests)
        drained()
        time.sleep(1.0)
        viewer_used = rss_mb(viewer)
        worker_after = rss_mb(worker)
        for conn in streams:
            conn.close()

        print(f"worker RSS idle after {args.events + 15} events: {worker_idle:.1f} MB "
              f"(limit {WORKER_LIMIT_MB:.0f} MB)")
        print(f"worker RSS after the viewer served and {args.events // 4} more events: {worker_after:.1f} MB")
        print(f"viewer RSS idle: {viewer_idle:.1f} MB (its own process)")
        print(f"viewer RSS after {args.streams} live streams and {args.requests} requests: "
              f"{viewer_used:.1f} MB; {per_request_ms:.1f} ms per request")
        return 0 if max(worker_idle, worker_after) <= WORKER_LIMIT_MB else 1
    finally:
        process.stop()
        control.stop_worker()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
