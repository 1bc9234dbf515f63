"""What Claude Code does with a hook it runs in the background: the facts behind capture in the background.

Usage: python bench/claude_async_probe.py [--binary PATH]   (default: the bundled CLI)

Each scenario runs ``claude -p`` (one Bash call, then a final reply, against the fake model
in tests/fakes) with a probe hook: a Python script that logs its start (pid, session), every
signal it gets (SIGTERM, SIGHUP, SIGINT caught unless the command ignores them), a heartbeat
every 0.1 s and its end, to a file. The hook sleeps 3 s, so it is still running when the run
ends right after the Stop. Printed per scenario, in seconds from the CLI's exit: when each
probe started, was signalled, last beat, and ended; and the gap from the Stop to the exit.
docs/performance.md keeps what Claude Code 2.1.332 did; the e2e tests keep the outcome.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.claude_cli import find_claude_binary, run_claude  # noqa: E402
from tests.fakes.fake_llm_server import FakeLLMServer, Rule, Script, Text, ToolUse  # noqa: E402

PROBE = r'''
import os, signal, sys, time
log, name, sleep = os.environ["PROBE_LOG"], sys.argv[1], float(sys.argv[2])
def say(what):
    with open(log, "a") as fh:
        fh.write(f"{time.time():.3f} {name} {what}\n")
if os.environ.get("PROBE_DETACH"):
    data = sys.stdin.read()
    if os.fork():
        os._exit(0)
    os.setsid()
else:
    data = sys.stdin.read()
if os.environ.get("PROBE_SETSID"):
    try:
        os.setsid()
    except OSError:
        pass
say(f"start pid={os.getpid()} sid={os.getsid(0)} term={'ignored' if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN else 'default'}")
for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    if signal.getsignal(sig) != signal.SIG_IGN:
        signal.signal(sig, lambda s, f: say(f"signal {s}"))
end = time.time() + sleep
while time.time() < end:
    time.sleep(0.1)
    say("beat")
say("end")
'''

SCENARIOS = [
    ("async PostToolUse and Stop, default signals", {"async": True}, "", {}),
    ("async, SIGTERM ignored before the interpreter", {"async": True}, "trap '' TERM; exec ", {}),
    ("async, the probe calls setsid()", {"async": True}, "", {"PROBE_SETSID": "1"}),
    ("async, SIGTERM ignored and the probe detaches (fork, setsid)", {"async": True},
     "trap '' HUP TERM; exec ", {"PROBE_DETACH": "1"}),
    ("async SessionEnd", {"async": True}, "", {}),
]


def scenario(binary, label, flags, prefix, env, tmp: Path, server) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp))
    probe, log, config = folder / "probe.py", folder / "probe.log", folder / "config"
    probe.write_text(PROBE)
    config.mkdir()
    events = ["SessionEnd"] if label.startswith("async SessionEnd") else ["PostToolUse", "Stop"]
    hooks = {}
    for event in events:
        hook = {"type": "command", "command": f"{prefix}{sys.executable} {probe} {event} 3", **flags}
        hooks[event] = [{"matcher": "*", "hooks": [hook]}] if event == "PostToolUse" else [{"hooks": [hook]}]
    (config / "settings.json").write_text(json.dumps({"hooks": hooks}))
    project = folder / "project"
    project.mkdir()
    run = run_claude("probe the hooks", cwd=project, home=folder / "home", config_dir=config,
                     base_url=server.url, extra_args=("--allowedTools", "Bash"),
                     env={"PROBE_LOG": str(log), **env}, binary=binary, timeout=120)
    exited = time.time()
    time.sleep(4)  # the probes sleep 3 s: let the survivors finish
    print(f"== {label}: exit code {run.returncode}, the run took {run.duration:.2f} s")
    lines = log.read_text().splitlines() if log.exists() else []
    by_probe: dict[str, dict] = {}
    for line in lines:
        stamp, name, what = line.split(" ", 2)
        t = float(stamp) - exited
        seen = by_probe.setdefault(name, {"signals": []})
        if what.startswith("start"):
            seen["start"], seen["how"] = t, what
        elif what.startswith("signal"):
            seen["signals"].append(f"{what.split()[1]} at {t:+.2f}")
        elif what == "beat":
            seen["last beat"] = t
        elif what == "end":
            seen["end"] = t
    for name in events:
        seen = by_probe.get(name)
        if seen is None:
            print(f"   {name}: never started its script")
            continue
        ended = f"ended at {seen['end']:+.2f}" if "end" in seen else \
            f"killed (last beat {seen.get('last beat', seen['start']):+.2f})"
        print(f"   {name}: started {seen['start']:+.2f} ({seen['how']}); signals: "
              f"{', '.join(seen['signals']) or 'none'}; {ended}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="a Claude Code CLI (default: the bundled one)")
    args = parser.parse_args()
    binary = args.binary or find_claude_binary()
    if binary is None:
        print("Claude Code CLI not found (pip install claude-agent-sdk): nothing probed")
        return 1
    script = Script(rules=[Rule("probe", [ToolUse("Bash", {"command": "echo step", "description": "x"}),
                                          Text("done")])], default=Text("ok"))
    with tempfile.TemporaryDirectory(prefix="cm-probe-") as tmp, FakeLLMServer(script) as server:
        for label, flags, prefix, env in SCENARIOS:
            scenario(binary, label, flags, prefix, env, Path(tmp), server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
