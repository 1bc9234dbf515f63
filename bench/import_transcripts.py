"""Transcript import benchmark: a generated 15 MB Claude Code transcript through
``claude-mem import transcripts`` with the heuristic compressor.

Usage: python bench/import_transcripts.py [--mb 15] [--keep DIR]

The transcript has the shape of a real one (Claude Code 2.1.x): prompts, thinking and text,
tool calls (Bash, Read, Edit, Grep, Write) answered by results that carry the tool's own
output object, hook progress lines, an occasional failed command, a compaction. The import
runs as its own process, exactly as a person runs it, and is timed until the worker has made
the memory (the command waits for that). Printed, all measured in this run:

- the baseline: reading the same file line by line with ``json.loads`` and nothing else;
- the import: tool calls per second of wall time (target >= 1,000 on 2 cores), the ratio to
  the baseline's time, the CPU seconds of the import process and the worker (on a shared,
  busy machine wall time says more about the neighbours), and the peak RSS of both.
Exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _entry(kind: str, session: str, cwd: str, at: float, parent: str | None, **fields) -> dict:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"
    return {"parentUuid": parent, "isSidechain": False, "userType": "external", "cwd": cwd,
            "sessionId": session, "version": "2.1.39", "gitBranch": "main", "type": kind,
            "uuid": str(uuid.uuid4()), "timestamp": stamp, **fields}


def _usage() -> dict:
    return {"input_tokens": 3, "cache_creation_input_tokens": 812, "cache_read_input_tokens": 40211,
            "output_tokens": 95, "service_tier": "standard"}


def _tool(n: int, cwd: str) -> tuple[str, dict, object, str, bool]:
    """(name, input, toolUseResult, result text, is_error) for the n-th call."""
    path = f"{cwd}/lib/module_{n % 97}.py"
    body = "".join(f"def function_{n}_{i}(value):\n    return value * {i}  # line {i}\n"
                   for i in range(40))
    kind = n % 10
    if kind in (0, 1, 2):
        return ("Read", {"file_path": path},
                {"type": "text", "file": {"filePath": path, "content": body, "numLines": 80,
                                          "startLine": 1, "totalLines": 80}}, body, False)
    if kind in (3, 4):
        old, new = f"return value * {n % 40}", f"return value * {n % 40 + 1}"
        return ("Edit", {"file_path": path, "old_string": old, "new_string": new,
                         "replace_all": False},
                {"filePath": path, "oldString": old, "newString": new, "originalFile": body,
                 "structuredPatch": [{"oldStart": 3, "oldLines": 1, "newStart": 3, "newLines": 1,
                                      "lines": [f"-    {old}", f"+    {new}"]}],
                 "userModified": False, "replaceAll": False},
                f"The file {path} has been updated.", False)
    if kind == 5:
        out = "".join(f"lib/module_{i}.py:{i}:def function_{n}_{i}(value):\n" for i in range(25))
        return ("Grep", {"pattern": f"function_{n}", "path": cwd, "output_mode": "content"},
                {"mode": "content", "numFiles": 25, "filenames": [], "content": out,
                 "numLines": 25}, out, False)
    if kind == 6 and n % 20 == 6:
        error = (f"Exit code 1\n{'.' * 40}F{'.' * 20}\nFAILED tests/test_module_{n % 97}.py::"
                 f"test_case_{n} - AssertionError: expected {n} got {n + 1}\n1 failed, 61 passed")
        return ("Bash", {"command": "python -m pytest -q", "description": "Run the tests"},
                "Error: " + error, error, True)
    if kind == 7:
        return ("Write", {"file_path": f"{cwd}/notes/note_{n}.md", "content": body[:1200]},
                {"type": "create", "filePath": f"{cwd}/notes/note_{n}.md", "content": body[:1200],
                 "structuredPatch": []}, f"File created successfully at: {cwd}/notes/note_{n}.md",
                False)
    out = f"{62 if n % 2 else 61} passed in 0.{n % 90 + 10}s"
    return ("Bash", {"command": f"python -m pytest -q tests/test_module_{n % 97}.py",
                     "description": "Run the tests"},
            {"stdout": "." * 62 + "\n" + out, "stderr": "", "interrupted": False,
             "isImage": False}, "." * 62 + "\n" + out, False)


def generate_transcript(path: Path, megabytes: float, cwd: str = "/home/dev/bench-project",
                        session: str | None = None) -> int:
    """Write a transcript of about ``megabytes``; returns how many tool calls it holds."""
    session = session or str(uuid.uuid4())
    target = int(megabytes * 1024 * 1024)
    at = 1796000000.0
    calls = 0
    parent = None
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        def put(entry: dict) -> None:
            nonlocal parent
            fh.write(json.dumps(entry, separators=(",", ":")) + "\n")  # as Claude Code writes
            parent = entry.get("uuid", parent)

        prompt = 0
        while fh.tell() < target:
            if calls % 60 == 0:
                prompt += 1
                put(_entry("user", session, cwd, at, parent, promptId=str(uuid.uuid4()),
                           message={"role": "user", "content": f"Request {prompt}: fix the "
                                    f"failing case in module_{prompt % 97} and keep tests green"},
                           permissionMode="default"))
                if prompt == 3:
                    put(_entry("system", session, cwd, at, parent, subtype="compact_boundary",
                               content="Conversation compacted",
                               compactMetadata={"trigger": "auto", "preTokens": 160000}))
                    put(_entry("user", session, cwd, at, parent, isCompactSummary=True,
                               message={"role": "user", "content": "Summary of earlier work."}))
            at += 1.5
            name, tool_input, result, text, failed = _tool(calls, cwd)
            use_id = f"toolu_bench{calls:08d}"
            message_id = f"msg_bench{calls:08d}"
            put(_entry("assistant", session, cwd, at, parent, requestId=f"req_{calls}", message={
                "model": "claude-opus-4-6", "id": message_id, "type": "message",
                "role": "assistant", "content": [{"type": "thinking", "thinking":
                                                  f"Next I will use {name}.", "signature": "x" * 200}],
                "stop_reason": None, "usage": _usage()}))
            put(_entry("assistant", session, cwd, at, parent, requestId=f"req_{calls}", message={
                "model": "claude-opus-4-6", "id": message_id, "type": "message",
                "role": "assistant", "content": [{"type": "tool_use", "id": use_id, "name": name,
                                                  "input": tool_input}],
                "stop_reason": None, "usage": _usage()}))
            for hook in ("PreToolUse", "PostToolUseFailure" if failed else "PostToolUse"):
                put(_entry("progress", session, cwd, at, parent, toolUseID=use_id,
                           parentToolUseID=use_id, data={"type": "hook_progress",
                                                         "hookEvent": hook,
                                                         "hookName": f"{hook}:{name}",
                                                         "command": "echo hook"}))
            at += 0.5
            put(_entry("user", session, cwd, at, parent, toolUseResult=result,
                       sourceToolAssistantUUID=parent, message={"role": "user", "content": [
                           {"tool_use_id": use_id, "type": "tool_result", "content": text,
                            "is_error": failed}]}))
            calls += 1
            if calls % 60 == 59:
                put(_entry("assistant", session, cwd, at, parent, message={
                    "model": "claude-opus-4-6", "id": f"msg_end{calls}", "type": "message",
                    "role": "assistant", "content": [{"type": "text", "text":
                                                      f"Done with request {prompt}: tests pass."}],
                    "stop_reason": None, "usage": _usage()}))
                put(_entry("system", session, cwd, at, parent, subtype="turn_duration",
                           durationMs=90000))
    return calls


def baseline_seconds(path: Path) -> float:
    started = time.perf_counter()
    with open(path, "rb") as fh:
        for line in fh:
            json.loads(line)
    return time.perf_counter() - started


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds_of_pid(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _peak_rss_mb_of_pid(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_import(transcript: Path, data_dir: str) -> dict:
    """Run the real command; its wall time, report, peak RSS, and the worker's peak RSS."""
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": data_dir, "CLAUDE_MEM_COMPRESSOR": "heuristic",
           "CLAUDE_MEM_VIEWER_PORT": "0", "CLAUDE_MEM_WORKER_POLL_SECONDS": "0.5"}
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "claude_mem.cli", "import", "transcripts",
                             str(transcript), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
    # The kernel's high-water mark of the process's own memory (VmHWM), read until it exits:
    # wait4's ru_maxrss would also count the pre-exec copy of this (possibly big) process.
    peak = 0.0

    def watch() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, _peak_rss_mb_of_pid(proc.pid) or 0.0)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    watcher.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"import failed: {stderr.decode()[-2000:]}")
    worker_rss = worker_cpu = None
    pid_file = Path(data_dir) / "worker.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().strip() or 0)
        worker_rss, worker_cpu = _peak_rss_mb_of_pid(pid), _cpu_seconds_of_pid(pid)
    subprocess.run([sys.executable, "-m", "claude_mem.cli", "worker", "stop"], env=env,
                   capture_output=True, cwd=str(ROOT))
    return {"seconds": seconds, "report": json.loads(stdout), "rss_mb": peak,
            "worker_rss_mb": worker_rss, "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
            "worker_cpu": worker_cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=15.0)
    parser.add_argument("--keep", help="keep the transcript and data dir here")
    args = parser.parse_args(argv)
    work = Path(args.keep or tempfile.mkdtemp(prefix="claude-mem-import-bench-"))
    try:
        transcript = work / "projects" / "-home-dev-bench-project" / f"{uuid.uuid4()}.jsonl"
        calls = generate_transcript(transcript, args.mb)
        size_mb = transcript.stat().st_size / 1024 / 1024
        base = baseline_seconds(transcript)
        result = run_import(transcript, str(work / "data"))
        queued = result["report"]["queued"]
        imported = queued.get("PostToolUse", 0) + queued.get("PostToolUseFailure", 0)
        print(f"transcript: {size_mb:.1f} MB, {calls} tool calls, {imported} imported "
              f"({queued.get('PostToolUseFailure', 0)} failed), "
              f"{queued.get('UserPromptSubmit', 0)} prompts")
        print(f"baseline (json.loads of every line): {base:.2f} s")
        print(f"import until the memory is made:     {result['seconds']:.2f} s = "
              f"{imported / result['seconds']:,.0f} tool calls/s "
              f"({result['seconds'] / base:.1f}x the baseline; target >= 1,000 calls/s)")
        if result["worker_cpu"] is not None:
            cpu = result["cpu"] + result["worker_cpu"]
            print(f"CPU time: import process {result['cpu']:.2f} s + worker "
                  f"{result['worker_cpu']:.2f} s = {imported / cpu:,.0f} tool calls per CPU-second "
                  f"(what one idle core would do, I/O waits aside; load average now "
                  f"{os.getloadavg()[0]:.1f})")
        worker = result["worker_rss_mb"]
        print(f"peak RSS: import process {result['rss_mb']:.0f} MB, worker "
              + (f"{worker:.0f} MB" if worker else "n/a")
              + f" (transcript {size_mb:.0f} MB)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
