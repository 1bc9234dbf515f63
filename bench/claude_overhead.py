"""What claude-mem costs a real Claude Code run: `claude -p` with our hooks vs without.

Usage: python bench/claude_overhead.py [--rounds 6] [--tools 8] [--model-seconds 0]

The real Claude Code CLI (bundled in the claude-agent-sdk wheel) runs offline against the
fake Messages API in tests/fakes/ (the model is the only thing faked): each run is one
prompt answered with ``--tools`` Bash calls that really run, then a final reply. Three config
dirs alternate round-robin, so machine load affects all alike: our hooks installed
(``claude-mem install``; the real worker running, as in steady use), no hooks at all, and
the same hook table with every command replaced by ``cat >/dev/null`` (what Claude Code
itself spends on running a hook: spawning a shell, writing the JSON, waiting). Prints
the median wall time of each, the ratio with/without, and the cost per hook call split
into Claude Code's own share and ours. A run fires ``--tools`` + 4 hooks (SessionStart,
UserPromptSubmit, one PostToolUse per tool call, Stop, SessionEnd), one after another.
It also prints the floor for hooks that each start a Python interpreter (the no-op run plus
one bare ``python -I -S -c pass`` per hook call, timed in the same run). ``--async-capture``
adds a fourth config, our hooks with PostToolUse marked ``"async": true`` (Claude Code runs
it in the background): a measurement of what that would give, not what ``install`` writes.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--tools", type=int, default=8)
    parser.add_argument("--model-seconds", type=float, default=0.0,
                        help="how long the fake model takes per turn (0: instant, the worst "
                             "case for the ratio; a real model takes seconds)")
    parser.add_argument("--async-capture", action="store_true",
                        help="also time our hooks with PostToolUse marked async (measurement only)")
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
    cli = str(Path(sys.executable).with_name("claude-mem"))
    with_hooks, without = tmp / "with-hooks", tmp / "without"
    without.mkdir()
    subprocess.run([cli, "install", "--claude-config-dir", str(with_hooks)], check=True,
                   capture_output=True, env={**os.environ, **env})
    noop = tmp / "no-op-hooks"
    noop.mkdir()
    table = json.loads((with_hooks / "settings.json").read_text())
    for matchers in table["hooks"].values():
        for matcher in matchers:
            for hook in matcher["hooks"]:
                hook["command"] = "cat >/dev/null"
    (noop / "settings.json").write_text(json.dumps(table))
    configs = [("with claude-mem hooks", with_hooks), ("without hooks", without), ("no-op hooks", noop)]
    if args.async_capture:
        # Measurement only (not what install writes): Claude Code 2.1 runs a command hook
        # marked "async" in the background. It sends SIGTERM to those still running when
        # it exits, so a capture hook there could lose its event (docs/performance.md).
        capture = tmp / "async-capture"
        capture.mkdir()
        table = json.loads((with_hooks / "settings.json").read_text())
        for event in ("PostToolUse", "PostToolUseFailure"):
            for matcher in table["hooks"].get(event, []):
                for hook in matcher["hooks"]:
                    hook["async"] = True
        (capture / "settings.json").write_text(json.dumps(table))
        configs.append(("claude-mem, async capture", capture))
    times: dict[str, list[float]] = {label: [] for label, _ in configs}
    try:
        with FakeLLMServer(script(args.tools, args.model_seconds)) as server:
            for round_number in range(args.rounds + 1):  # round 0 warms caches, not counted
                for label, config_dir in configs:
                    started = time.perf_counter()
                    result = run_claude(f"Look around the project (round {round_number}).",
                                        cwd=project, home=tmp / "home", config_dir=config_dir,
                                        base_url=server.url, env=env,
                                        extra_args=("--allowedTools", "Bash"), timeout=300)
                    elapsed = time.perf_counter() - started
                    if result.returncode != 0:
                        print(f"run failed: {result.describe()}")
                        return 1
                    if round_number:
                        times[label].append(elapsed)
    finally:
        subprocess.run([cli, "worker", "stop"], capture_output=True, env={**os.environ, **env})
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"claude -p with {args.tools} Bash calls, {args.rounds} rounds each, round-robin,"
          f" the fake model answering in {args.model_seconds:g} s")
    for label, values in times.items():
        print(f"{label:<24} median {statistics.median(values):6.2f} s   "
              f"min {min(values):6.2f} s   max {max(values):6.2f} s")
    ours, bare, idle = (statistics.median(times[k]) for k in
                        ("with claude-mem hooks", "without hooks", "no-op hooks"))
    # The floor for hooks that are Python processes Claude Code waits for: its own cost of
    # a hook call plus an interpreter start (what the hook command starts with), each call.
    starts = []
    for _ in range(20):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=False)
        starts.append((time.perf_counter() - started) * 1000)
    start_ms = statistics.median(starts)
    hooks_fired = args.tools + 4
    print(f"bare `python -I -S -c pass` {start_ms:.1f} ms: {hooks_fired} such starts after the no-op"
          f" hooks' run = {(idle + hooks_fired * start_ms / 1000) / bare:.2f}x, the floor for"
          " hooks that start a Python interpreter each")
    if args.async_capture:
        print(f"async capture/without: {statistics.median(times['claude-mem, async capture']) / bare:.2f}x"
              " (PostToolUse in the background; not what install writes)")
    calls = args.tools + 4
    print(f"ratio with/without: {ours / bare:.2f}x   (target <= 1.15x);"
          f" no-op hooks/without: {idle / bare:.2f}x")
    print(f"per hook call ({calls} a run): {1000 * (ours - bare) / calls:.1f} ms in all, of which"
          f" Claude Code's own {1000 * (idle - bare) / calls:.1f} ms and claude-mem's"
          f" {1000 * (ours - idle) / calls:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
