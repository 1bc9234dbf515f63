"""What claude-mem costs a real Claude Code run: `claude -p` with our hooks vs without.

Usage: python bench/claude_overhead.py [--rounds 6] [--tools 8]

The real Claude Code CLI (bundled in the claude-agent-sdk wheel) runs offline against the
fake Messages API in tests/fakes/ (the model is the only thing faked): each run is one
prompt answered with ``--tools`` Bash calls that really run, then a final reply. Runs with
our hooks installed (``claude-mem install`` into one config dir; the real worker running,
as in steady use) and without (a second, empty config dir) alternate round-robin, so
machine load affects both alike. Prints the median wall time of each and their ratio.
"""
from __future__ import annotations

import argparse
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


def script(tools: int):
    commands = ["ls -la", "cat README.md", "python3 -c 'print(6*7)'", "git status --short",
                "wc -l README.md", "echo checking", "date +%s", "uname -s"]

    def reply(body: dict):
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
    times: dict[str, list[float]] = {"with claude-mem hooks": [], "without hooks": []}
    try:
        with FakeLLMServer(script(args.tools)) as server:
            for round_number in range(args.rounds + 1):  # round 0 warms caches, not counted
                for label, config_dir in (("with claude-mem hooks", with_hooks),
                                          ("without hooks", without)):
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
    print(f"claude -p with {args.tools} Bash calls, {args.rounds} rounds each, round-robin")
    for label, values in times.items():
        print(f"{label:<24} median {statistics.median(values):6.2f} s   "
              f"min {min(values):6.2f} s   max {max(values):6.2f} s")
    ratio = statistics.median(times["with claude-mem hooks"]) / statistics.median(times["without hooks"])
    print(f"ratio with/without: {ratio:.2f}x   (target <= 1.10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
