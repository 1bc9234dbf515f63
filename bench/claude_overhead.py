"""What claude-mem costs a real Claude Code run: `claude -p` with our hooks vs without.

Usage: python bench/claude_overhead.py [--rounds 6] [--tools 8] [--model-seconds 0]

The real Claude Code CLI (bundled in the claude-agent-sdk wheel) runs offline against the
fake Messages API in tests/fakes/ (the model is the only thing faked): each run is one
prompt answered with ``--tools`` Bash calls that really run, then a final reply. Four config
dirs alternate round-robin, so machine load affects all alike:
- no hooks at all;
- no-op hooks: our hook table (synchronous) with every command replaced by ``cat >/dev/null``
  (what Claude Code itself spends on running a hook: a shell, the JSON, the wait);
- ours, as ``claude-mem install`` writes them (capture in the background: the tool hooks and
  SessionEnd async, Stop detached, each through ``capture.sh`` into the worker's inbox, no
  interpreter; docs/architecture.md);
- ours in the background with a Python hook per capture event (round 5's shape: each hook
  starts an interpreter that leaves Claude Code's process tree);
- ours synchronous (``capture_in_background`` false), what install wrote before.
The real worker runs for both of ours (one data dir), as in steady use. After each run the
bench waits, untimed, until the hooks in the background have finished and the queue is
drained, so no run's leftover work is charged to the next one; the background work that
overlaps a run (a real model takes seconds per turn) is in that run's time.
It prints each config's median wall time and ratio to the run without hooks, the load
average before and after, the CPU each run cost (Linux: the bench is the subreaper of every
process a run starts, detached hooks included, so their CPU reaches its own children's
usage; plus the worker's CPU from the run's start until its work for the run is done; the
machine's load hardly moves it), and the floor for hooks that are Python processes Claude Code
waits for (the no-op run plus one bare ``python -I -S -c pass`` per hook call). A run fires
``--tools`` + 4 hooks (SessionStart, UserPromptSubmit, one PostToolUse per tool call, Stop,
SessionEnd).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fakes.claude_cli import find_claude_binary, run_claude  # noqa: E402
from tests.fakes.fake_llm_server import (FakeLLMServer, Text, ToolUse,  # noqa: E402
                                         turns_since_prompt)


def script(tools: int, seconds: float = 0.0):
    commands = ["ls -la", "cat README.md", "python3 -c 'print(6*7)'", "git status --short",
                "wc -l README.md", "echo checking", "date +%s", "uname -s"]

    def reply(body: dict):
        if seconds:
            time.sleep(seconds)  # a real model's turn takes seconds; 0 is the worst case
        turn = turns_since_prompt(body)
        if turn < tools:
            return [Text("Let me look."), ToolUse("Bash", {"command": commands[turn % len(commands)],
                                                           "description": "look around"})]
        return Text("Done: the project has a README and a clean tree.")
    return reply


def become_subreaper() -> bool:
    """Processes that leave a run's tree (detached hooks) are reparented to this process
    instead of init, so their CPU is counted in ``RUSAGE_CHILDREN`` once reaped (Linux)."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker_cpu(pid: int | None) -> float:
    """Seconds on a CPU of every thread of the worker (``schedstat``: nanoseconds)."""
    if not pid:
        return 0.0
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as fh:
                total += int(fh.read().split()[0])
    except (OSError, ValueError):
        pass
    return total / 1e9


def settle(pid: int | None) -> None:
    """Until the worker has used under 3 ms of CPU in 1.5 s (its idle loops use ~0.5 ms a
    second; its work after the drain: the start context rendered ahead, the vectors made once
    the queue is quiet), at most 30 s: none of it is charged to the next run."""
    deadline = time.monotonic() + 30
    window = [(time.monotonic(), worker_cpu(pid))]
    while time.monotonic() < deadline:
        time.sleep(0.1)
        window.append((time.monotonic(), worker_cpu(pid)))
        while window[-1][0] - window[1][0] >= 1.5:
            window.pop(0)
        if window[-1][0] - window[0][0] >= 1.5 and window[-1][1] - window[0][1] < 0.003:
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--tools", type=int, default=8)
    parser.add_argument("--model-seconds", type=float, default=0.0,
                        help="how long the fake model takes per turn (0: instant, the worst "
                             "case for the ratio; a real model takes seconds)")
    parser.add_argument("--async-stop", action="store_true",
                        help="also time ours with Stop async too (measurement only: an async Stop "
                             "is still starting when `claude -p` ends its run; install keeps it detached)")
    args = parser.parse_args()
    if find_claude_binary() is None:
        print("Claude Code CLI not found (pip install claude-agent-sdk): nothing measured")
        return 1

    tmp = Path(tempfile.mkdtemp(prefix="cm-overhead-"))
    project = tmp / "overhead-demo"
    project.mkdir()
    (project / "README.md").write_text("# demo\n")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    data_dir = tmp / "data"
    env = {"CLAUDE_MEM_DATA_DIR": str(data_dir), "CLAUDE_MEM_WORKER_IDLE_SECONDS": "600"}
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import wait_until_drained

    cli = str(Path(sys.executable).with_name("claude-mem"))
    ours, ours_sync, without = tmp / "ours", tmp / "ours-sync", tmp / "without"
    without.mkdir()
    subprocess.run([cli, "install", "--claude-config-dir", str(ours)], check=True,
                   capture_output=True, env={**os.environ, **env})
    subprocess.run([cli, "install", "--claude-config-dir", str(ours_sync)], check=True,
                   capture_output=True, env={**os.environ, **env, "CLAUDE_MEM_CAPTURE_IN_BACKGROUND": "0"})
    ours_python = tmp / "ours-python"
    subprocess.run([sys.executable, "-c", "import sys; from claude_mem import install; "
                    "install.install(sys.argv[1], background=True, shell=False)", str(ours_python)],
                   check=True, env={**os.environ, **env})
    noop = tmp / "no-op-hooks"
    noop.mkdir()
    table = json.loads((ours_sync / "settings.json").read_text())
    for matchers in table["hooks"].values():
        for matcher in matchers:
            for hook in matcher["hooks"]:
                hook["command"] = "cat >/dev/null"
    (noop / "settings.json").write_text(json.dumps(table))
    labels = {"without": "without hooks", "noop": "no-op hooks", "ours": "ours (inbox)",
              "python": "ours (bg Python)", "sync": "ours (synchronous)"}
    configs = [("ours", ours), ("without", without), ("python", ours_python), ("noop", noop),
               ("sync", ours_sync)]
    if args.async_stop:
        async_stop = tmp / "ours-async-stop"
        async_stop.mkdir()
        table = json.loads((ours / "settings.json").read_text())
        for matcher in table["hooks"]["Stop"]:
            for hook in matcher["hooks"]:
                hook["async"] = True
        (async_stop / "settings.json").write_text(json.dumps(table))
        labels["async-stop"] = "ours, Stop async"
        configs.append(("async-stop", async_stop))
    times: dict[str, list[float]] = {key: [] for key, _ in configs}
    cpu: dict[str, list[float]] = {key: [] for key, _ in configs}
    worker_part: dict[str, list[float]] = {key: [] for key, _ in configs}
    counting = become_subreaper()
    from claude_mem import control

    control.ensure_worker()  # the bench's child: its CPU is read from /proc, run by run
    wait_for_worker = time.monotonic() + 30
    while control.read_pid() is None and time.monotonic() < wait_for_worker:
        time.sleep(0.05)
    load_before = os.getloadavg()
    try:
        with FakeLLMServer(script(args.tools, args.model_seconds)) as server:
            for round_number in range(args.rounds + 1):  # round 0 warms caches, not counted
                # Each round starts with another config, so none always follows the same one.
                order = configs[round_number % len(configs):] + configs[:round_number % len(configs)]
                for key, config_dir in order:
                    worker = control.read_pid()
                    worker_before = worker_cpu(worker)
                    cpu_before = children_cpu() + worker_before
                    started = time.perf_counter()
                    result = run_claude(f"Look around the project (round {round_number}).",
                                        cwd=project, home=tmp / "home", config_dir=config_dir,
                                        base_url=server.url, env=env,
                                        extra_args=("--allowedTools", "Bash"), timeout=300)
                    elapsed = time.perf_counter() - started
                    if result.returncode != 0:
                        print(f"run failed: {result.describe()}")
                        return 1
                    if key in ("ours", "python", "sync", "async-stop"):
                        wait_until_drained(timeout=120)  # untimed: no leftovers in the next run
                        settle(worker)
                    reap_orphans()
                    if round_number:
                        times[key].append(elapsed)
                        if worker != control.read_pid():
                            counting = False  # the worker changed: its CPU cannot be split
                        worker_after = worker_cpu(worker)
                        cpu[key].append(children_cpu() + worker_after - cpu_before)
                        worker_part[key].append(worker_after - worker_before)
    finally:
        subprocess.run([cli, "worker", "stop"], capture_output=True, env={**os.environ, **env})
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"claude -p with {args.tools} Bash calls, {args.rounds} rounds each, round-robin,"
          f" the fake model answering in {args.model_seconds:g} s")
    print("load average before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(
        *load_before, *load_after))
    bare = statistics.median(times["without"])
    for key, values in times.items():
        median = statistics.median(values)
        print(f"{labels[key]:<20} median {median:6.2f} s   min {min(values):6.2f} s   "
              f"max {max(values):6.2f} s   {median / bare:5.2f}x")
    idle = statistics.median(times["noop"])
    # The floor for hooks that are Python processes Claude Code waits for: its own cost of
    # a hook call plus an interpreter start (what the hook command starts with), each call.
    starts = []
    for _ in range(20):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=False)
        starts.append((time.perf_counter() - started) * 1000)
    start_ms = statistics.median(starts)
    calls = args.tools + 4
    print(f"bare `python -I -S -c pass` {start_ms:.1f} ms: {calls} such starts after the no-op"
          f" hooks' run = {(idle + calls * start_ms / 1000) / bare:.2f}x, the floor for"
          " hooks that each start a Python interpreter Claude Code waits for")
    for key in [k for k in ("ours", "python", "sync", "async-stop") if k in times]:
        median = statistics.median(times[key])
        # Each round's own ratio (the same round's run without hooks as its baseline): the
        # load drifts less within a round than across the whole bench.
        paired = statistics.median(a / b for a, b in zip(times[key], times["without"]))
        print(f"{labels[key]}: {median / bare:.2f}x without hooks (target <= 1.15x), median of the"
              f" rounds' own ratios {paired:.2f}x; {1000 * (median - bare) / calls:.1f} ms per hook call")
    print(f"no-op hooks: {idle / bare:.2f}x ({1000 * (idle - bare) / calls:.1f} ms per hook call,"
          " Claude Code's own)")
    if counting:
        bare_cpu = statistics.median(cpu["without"])
        print("CPU per run (Claude Code, every process the run started, detached ones included,"
              " and the worker's work for it):")
        for key, values in cpu.items():
            median = statistics.median(values)
            print(f"  {labels[key]:<20} median {1000 * median:7.0f} ms   {median / bare_cpu:5.2f}x"
                  f"   {1000 * (median - bare_cpu) / calls:5.1f} ms per hook call; the worker's"
                  f" part {1000 * statistics.median(worker_part[key]):5.0f} ms")
    else:
        print("CPU per run not measured (no subreaper here, or the worker was restarted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
