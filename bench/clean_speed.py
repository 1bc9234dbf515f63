"""Cleaning speed: 50 MB of tool output full of secrets through the real PostToolUse hook.

Usage: python bench/clean_speed.py [--mb 50] [--runs 3]

Builds one PostToolUse payload whose ``stdout`` is ``--mb`` megabytes of lines holding fake
credentials (``tests/secret_corpus.py`` shapes), and one of the same size of plain text,
then times the exact hook command ``claude-mem install`` writes on each (median of
``--runs``), with a worker running. Also times ``privacy.clean_json_text`` in-process on
the secret-laden payload. Prints the figures and the ratio to the plain-text run; the
target is under 2 s for the secret-laden hook. Exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def payload(stdout: str) -> bytes:
    return json.dumps({"session_id": "bench-clean", "cwd": "/tmp/bench-clean",
                       "hook_event_name": "PostToolUse", "tool_name": "Bash",
                       "tool_use_id": "toolu_bench", "tool_input": {"command": "cat dump.txt"},
                       "tool_response": {"stdout": stdout, "stderr": "", "interrupted": False}}).encode()


def timed(argv, data: bytes, env: dict, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env, check=False)
        out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "tests"))
    from claude_mem import control, install, privacy
    from secret_corpus import secret_shapes

    size = int(args.mb * 1024 * 1024)
    block = "\n".join(text for _, text, _ in secret_shapes(3)) + "\n"
    secret_text = (block * (size // len(block) + 1))[:size]
    plain_line = "INFO 2026-12-01 12:00:00 worker processed batch 42 in 13 ms (ok)\n"
    plain_text = (plain_line * (size // len(plain_line) + 1))[:size]
    secret_payload, plain_payload = payload(secret_text), payload(plain_text)

    started = time.perf_counter()
    cleaned = privacy.clean_json_text(secret_payload.decode(), 6000, 1_000_000)
    in_process = time.perf_counter() - started
    leaked = [label for label, _, secret in secret_shapes(3) if secret in cleaned]

    tmp = tempfile.mkdtemp(prefix="cm-clean-")
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": os.path.join(tmp, "data"),
           "CLAUDE_MEM_WORKER_IDLE_SECONDS": "120", "CLAUDE_MEM_VIEWER_PORT": "0"}
    os.environ.update({k: env[k] for k in ("CLAUDE_MEM_DATA_DIR", "CLAUDE_MEM_VIEWER_PORT")})
    try:
        argv = shlex.split(install.hook_command("post-tool-use"))
        plain = timed(argv, plain_payload, env, args.runs)
        secret = timed(argv, secret_payload, env, args.runs)
    finally:
        control.stop_worker()
        shutil.rmtree(tmp, ignore_errors=True)
    p, s = statistics.median(plain), statistics.median(secret)
    print(f"cleaning speed, {args.mb:g} MB of tool output, {args.runs} runs each ({sys.executable})")
    print(f"{'case':<46} {'median s':>9}")
    print(f"{'PostToolUse hook, plain text':<46} {p:>9.2f}")
    print(f"{'PostToolUse hook, secrets on every line':<46} {s:>9.2f}   ({s / p:.2f}x plain)")
    print(f"{'privacy.clean_json_text in-process, secrets':<46} {in_process:>9.2f}")
    print(f"secret shapes left in the cleaned payload: {len(leaked)} {leaked[:5]}")
    print("target: the secret-laden hook under 2 s (it was 25 s; plain text 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
