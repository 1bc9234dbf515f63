"""The offline demo: a recorded Claude Code session replayed through the real machinery.

Contract: ``run_demo(out)`` replays ``data/demo-session.jsonl`` — hook payloads recorded
from the real Claude Code CLI (a bug hunt: search, read, a failing test run, an edit, a
passing run, then a resumed prompt that writes a changelog) — by starting the real hook
command as a separate process per event with the payload on stdin, into a throwaway data
directory. The real worker drains the queue with the heuristic compressor; then the
next session's SessionStart hook runs and the context it would inject is printed. The
worker is stopped and the data directory removed at the end (unless ``keep`` is given).

``keep`` names a folder that must be new or empty (``DemoRefused`` otherwise): the demo never
mixes its session into real memory or stops a worker that serves one. Kept, the folder is a
data dir of its own, and the demo ends by saying how to look at it.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources

from claude_mem import control, install
from claude_mem.hook_events import HOOK_EVENTS

_NAME_FOR_EVENT = {event: name for name, event in HOOK_EVENTS.items()}


def recorded_events() -> list[tuple[str, dict]]:
    text = resources.files("claude_mem").joinpath("data/demo-session.jsonl").read_text("utf-8")
    events = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            events.append((record["event"], record["stdin"]))
    return events


def run_hook(event: str, payload: dict, env: dict) -> tuple[str, float]:
    command = [sys.executable, "-I", "-S", install.ENTRY, _NAME_FOR_EVENT[event]]
    started = time.perf_counter()
    proc = subprocess.run(command, input=json.dumps(payload).encode(), capture_output=True,
                          env=env, timeout=30)
    return proc.stdout.decode(), (time.perf_counter() - started) * 1000


def wait_for_queue(store, timeout: float = 30.0) -> bool:
    """Until nothing waits in the queue or in the worker's inbox (a prompt and the tool
    events go there while a worker runs); False after ``timeout`` seconds."""
    from claude_mem import inbox

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not inbox.waiting() and store.queue_stats()["pending"] == 0:
            return True
        time.sleep(0.05)
    return False


def _describe(event: str, payload: dict) -> str:
    if event == "UserPromptSubmit":
        return f"prompt: {payload.get('prompt', '')[:70]!r}"
    if event in ("PostToolUse", "PostToolUseFailure"):
        data = payload.get("tool_input") or {}
        target = data.get("command") or data.get("file_path") or data.get("pattern") or ""
        return f"{payload.get('tool_name')} {str(target)[:60]}"
    if event == "SessionStart":
        return f"source={payload.get('source')}"
    if event == "SessionEnd":
        return f"reason={payload.get('reason')}"
    return ""


def next_steps() -> list[str]:
    """The demo's last lines: how to start using it for real, with this environment's paths."""
    exe = os.path.join(os.path.dirname(sys.executable), "claude-mem")
    command = exe if os.path.exists(exe) else f"{sys.executable} -m claude_mem.cli"
    return ["", "That was a throwaway copy. To give your own Claude Code sessions this memory:",
            f"  {command} install     # adds the hooks, then prints the next steps (restart Claude Code, MCP, viewer)",
            f"  {command} doctor      # checks that everything is in place"]


class DemoRefused(Exception):
    """--keep named a folder the demo must not write into."""


def check_keep(folder: str) -> str:
    """The absolute folder for ``--keep``, or DemoRefused saying why not."""
    path = os.path.abspath(os.path.expanduser(folder))
    if os.path.exists(path) and not os.path.isdir(path):
        raise DemoRefused(f"--keep {folder}: {path} is a file, not a folder")
    if os.path.isdir(path) and os.listdir(path):
        raise DemoRefused(
            f"--keep {folder}: {path} is not empty"
            + (" (it holds claude-mem memory)" if os.path.exists(os.path.join(path, "claude-mem.db")) else "")
            + ". The demo keeps its copy in a new or empty folder, so it never mixes into real "
              "memory or stops the worker that serves it; name another, e.g. --keep /tmp/claude-mem-demo")
    return path


def kept_lines(data_dir: str) -> list[str]:
    quoted = shlex.quote(data_dir)
    return ["", f"The demo's memory is kept in {data_dir}, a data dir of its own. Look at it with:",
            f"  CLAUDE_MEM_DATA_DIR={quoted} claude-mem sessions",
            f"  CLAUDE_MEM_DATA_DIR={quoted} claude-mem search discount",
            f"  CLAUDE_MEM_DATA_DIR={quoted} claude-mem viewer --no-open",
            f"and remove it with: rm -rf {quoted}  (your own memory stays in its data dir)"]


def run_demo(out=print, keep: str | None = None) -> str:
    """Run the demo; returns the context the next session receives."""
    from claude_mem.store import open_store

    if keep:
        keep = check_keep(keep)
    data_dir = keep or tempfile.mkdtemp(prefix="claude-mem-demo-")
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": data_dir, "CLAUDE_MEM_COMPRESSOR": "heuristic"}
    env.pop("CLAUDE_PROJECT_DIR", None)
    previous = os.environ.get("CLAUDE_MEM_DATA_DIR")
    os.environ["CLAUDE_MEM_DATA_DIR"] = data_dir
    events = [(e, p) for e, p in recorded_events() if e in _NAME_FOR_EVENT]
    # The last session is the "next session": replay up to its SessionStart.
    next_start = max(i for i, (e, _) in enumerate(events) if e == "SessionStart")
    out(f"claude-mem demo — replaying a recorded Claude Code session into {data_dir}\n")
    timings: dict[str, list[float]] = {}
    context = ""
    try:
        for event, payload in events[:next_start]:
            _, ms = run_hook(event, payload, env)
            timings.setdefault(event, []).append(ms)
            out(f"  hook {event:<19} {ms:6.1f} ms  {_describe(event, payload)}")
        store = open_store()
        try:
            if not wait_for_queue(store):
                out("  (the worker did not drain the queue in time)")
            counts = store.counts()
        finally:
            store.close()
        out(f"\nStored: {counts['sessions']} session, {counts['prompts']} prompts, "
            f"{counts['observations']} observations, {counts['summaries']} request summaries.")
        event, payload = events[next_start]
        stdout, ms = run_hook(event, payload, env)
        out(f"\nA new session starts in the same project (SessionStart hook, {ms:.1f} ms). "
            "It receives this context:\n")
        if stdout.strip():
            context = json.loads(stdout)["hookSpecificOutput"]["additionalContext"]
        out("-" * 78)
        out(context.rstrip() or "(no context)")
        out("-" * 78)
        # statistics.median: the mean of the middle two for an even count, not the larger one.
        medians = {e: statistics.median(v) for e, v in timings.items()}
        out("\nMedian hook time: " + ", ".join(f"{e} {m:.0f} ms (n={len(timings[e])})"
                                               for e, m in medians.items()))
        if keep:
            for line in kept_lines(data_dir):
                out(line)
        for line in next_steps():
            out(line)
    finally:
        control.stop_worker()
        if previous is None:
            os.environ.pop("CLAUDE_MEM_DATA_DIR", None)
        else:
            os.environ["CLAUDE_MEM_DATA_DIR"] = previous
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return context
