"""Where a hook's time goes: CPU time of each phase of the real hooks at 100k observations.

Usage: python bench/hook_phases.py [--observations 100000] [--runs 15] [--data-dir DIR]
                                   [--compare OTHER_CHECKOUT/src]

Wall-clock ratios on a shared 2-core machine swing with the neighbours' load; the CPU a hook
process spends does not (much). Each run starts a fresh ``python -I -S`` (the hooks' own
flags) on a small entry script that does what ``hook_entry.py`` does (the collector off when
that checkout's entry turns it off, ``claude_mem.hooks.main``, ``os._exit``) and reads ``time.process_time()`` when its first
line runs (the interpreter's own start), after ``import claude_mem.hooks`` and after
``main()``; the wall time and CPU of ``python -c pass`` and ``python -I -S -c pass``
(through ``wait4``) are taken in the same loop. Hooks: SessionStart (once the worker
rendered its context ahead, and cold: that rendering dropped first), UserPromptSubmit with
recall on (a prompt about the generated work, an unrelated one) and PostToolUse, fed the
payloads ``bench/scale.py`` uses, against a memory grown with ``scale.py``'s generator (kept
in ``--data-dir`` when given, so a second run skips the ~40 s build). With ``--compare`` the
same phases are timed for another checkout's ``src`` in the same loop (an A/B on one
machine, one memory, one worker; the two take turns going first). Prints medians in
milliseconds. Exits 0.
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

import scale  # noqa: E402  (the generator and the payloads)
from hook_latency import drop_rendering, rendered_ahead  # noqa: E402

# What hook_entry.py does, with three clock readings; the src folder comes from argv.
ENTRY = """\
import gc
import sys
if sys.argv.pop(1) == "gc-off":
    gc.disable()
import time
_t0 = time.process_time()
import os
sys.path.insert(0, sys.argv.pop(1))
from claude_mem.hooks import main
_t1 = time.process_time()
# As hook_entry.py calls it (a checkout whose main takes ``leaving`` leaves its connections open).
main(**({"leaving": True} if "leaving" in main.__code__.co_varnames else {}))
_t2 = time.process_time()
try:
    sys.stdout.flush()
except BaseException:
    pass
os.write(2, ("PHASES %.4f %.4f %.4f\\n" % (_t0 * 1000, (_t1 - _t0) * 1000, (_t2 - _t1) * 1000)).encode())
os._exit(0)
"""


def cpu_of(argv: list[str], stdin: bytes, env: dict) -> tuple[float, float, str]:
    """Wall ms and CPU ms (wait4) of one process, and its stderr."""
    read_end, write_end = os.pipe()
    err_read, err_write = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(read_end, 0)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(err_write, 2)
            for fd in (read_end, write_end, err_read, err_write):
                os.close(fd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(read_end)
    os.close(err_write)
    os.write(write_end, stdin)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(err_read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(err_read)
    _, _, usage = os.wait4(pid, 0)
    wall = (time.perf_counter() - started) * 1000
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, b"".join(chunks).decode("utf-8", "replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--data-dir", help="keep (or reuse) the generated memory here")
    parser.add_argument("--compare", help="another checkout's src folder, timed alongside")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="cm-phases-")
    data_dir = args.data_dir or os.path.join(tmp, "memory")
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": data_dir, "CLAUDE_MEM_SEARCH_MODE": "words",
           "CLAUDE_MEM_WORKER_IDLE_SECONDS": "600"}
    env.pop("CLAUDE_PROJECT_DIR", None)
    os.environ.update({k: env[k] for k in ("CLAUDE_MEM_DATA_DIR", "CLAUDE_MEM_SEARCH_MODE")})
    try:
        from claude_mem import config, control
        from claude_mem.store import Store

        if not os.path.exists(config.db_path()):
            with Store(config.db_path()) as store:
                scale.build(store, 0, args.observations, random.Random(20261201),
                            [time.time() - 2 * args.observations])
        project_dir = os.path.join(tmp, scale.SCOPED_PROJECT)
        os.makedirs(project_dir, exist_ok=True)
        entry = os.path.join(tmp, "entry.py")
        Path(entry).write_text(ENTRY)
        tool = json.dumps({"session_id": "phases-tool", "hook_event_name": "PostToolUse",
                           "cwd": project_dir, "transcript_path": "/none.jsonl", "tool_name": "Bash",
                           "tool_input": {"command": "ls"}, "tool_response": {"stdout": "a b c"}}).encode()
        # SessionStart twice: as a person meets it, the worker having rendered the context
        # ahead (context_refresh; the prompts of the run before changed the memory, so each
        # run waits for that rendering), and cold (the rendering dropped: the hook renders
        # itself). A checkout without the rendering ahead renders itself both times.
        start_payload = scale.session_start_payload(project_dir)
        hooks = [("SessionStart, rendered ahead", "session-start", start_payload),
                 ("SessionStart, cold", "session-start", start_payload),
                 ("UserPromptSubmit, related", "user-prompt-submit",
                  scale.prompt_payload(project_dir, scale.RELATED_PROMPT)),
                 ("UserPromptSubmit, unrelated", "user-prompt-submit",
                  scale.prompt_payload(project_dir, scale.UNRELATED_PROMPT)),
                 ("PostToolUse", "post-tool-use", tool)]
        sources = [("now", str(ROOT / "src"))] + ([("compare", args.compare)] if args.compare else [])
        py = sys.executable
        bare = {"python -c pass": [py, "-c", "pass"], "python -I -S -c pass": [py, "-I", "-S", "-c", "pass"]}
        figures: dict = {}
        for name, argv in bare.items():  # warm the caches once
            cpu_of(argv, b"", env)
        # The first SessionStart renders itself and asks the worker to keep it rendered.
        cpu_of([py, "-I", "-S", entry, "gc-off", str(ROOT / "src"), "session-start"], start_payload, env)
        for run_number in range(args.runs):
            for name, argv in bare.items():
                wall, cpu, _ = cpu_of(argv, b"", env)
                figures.setdefault(name, []).append((wall, cpu, 0, 0, 0))
            for label, hook, payload in hooks:
                if label == "SessionStart, rendered ahead":
                    rendered_ahead(project_dir)
                # Every other run the other checkout goes first: the one right after the
                # previous hook meets the worker still storing that hook's event (~1 ms).
                for tag, src in (sources if run_number % 2 == 0 else sources[::-1]):
                    # As that checkout's hook_entry.py does: the collector off, or not.
                    gc_mode = "gc-off" if "gc.disable()" in Path(src, "claude_mem", "hook_entry.py") \
                        .read_text() else "gc-on"
                    if label == "SessionStart, cold":
                        drop_rendering(project_dir)
                    wall, cpu, err = cpu_of([py, "-I", "-S", entry, gc_mode, src, hook], payload, env)
                    line = [l for l in err.splitlines() if l.startswith("PHASES ")]
                    start, imports, work = (float(x) for x in line[-1].split()[1:]) if line else (0, 0, 0)
                    figures.setdefault(f"{label} ({tag})", []).append((wall, cpu, start, imports, work))
        load = os.getloadavg()
        print(f"hook phases at {args.observations} observations, {args.runs} runs, load average "
              f"{load[0]:.1f} / {load[1]:.1f} (medians; CPU = user + system of the process)")
        print(f"{'':<40} {'wall ms':>8} {'CPU ms':>7} {'x bare':>7}   {'start':>6} {'import':>7} {'main':>6}")
        bare_wall = statistics.median(w for w, *_ in figures["python -c pass"])
        for name, rows in figures.items():
            wall, cpu, start, imports, work = (statistics.median(col) for col in zip(*rows))
            phases = f"{start:>6.2f} {imports:>7.2f} {work:>6.2f}" if start else ""
            print(f"{name:<40} {wall:>8.1f} {cpu:>7.2f} {wall / bare_wall:>6.2f}x   {phases}")
        print("start: CPU before the entry script's first line (the interpreter's own start);"
              " import: `import claude_mem.hooks`; main: the hook's work and the imports it does lazily")
    finally:
        try:
            control.stop_worker()
        except Exception:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
