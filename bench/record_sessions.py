"""Re-record the evaluation corpus: real Claude Code sessions against a scripted model.

Usage::

    python bench/record_sessions.py                 # every scenario
    python bench/record_sessions.py rust-ledger ... # some of them
    python bench/record_sessions.py --list          # names, folders, prompts and tool calls

What it does, for each scenario of ``bench/session_scenarios.py``:

1. builds the scenario's project for real under ``<root>/<name>`` (default root ``/tmp/cmrec``,
   so the project folder of every recording is ``/tmp/cmrec/<name>``): files, ``git init``,
   commits, a bare "origin" remote where the scenario wants one;
2. writes ``<root>/home/.claude/settings.json`` with one tiny recording hook for SessionStart,
   UserPromptSubmit, PostToolUse, PostToolUseFailure, PreCompact, Stop and SessionEnd that
   appends ``{"event": ..., "stdin": <payload>}`` to a file, one line per call, in firing order;
3. runs the REAL Claude Code CLI (the one bundled in the claude-agent-sdk wheel, see
   ``tests/fakes/claude_cli.py``) once per prompt -- ``claude -p PROMPT``, later prompts with
   ``--resume <session id>`` -- against the fake Messages API of ``tests/fakes/fake_llm_server.py``
   on 127.0.0.1. Only the model is scripted: its replies (prose and tool calls) are written in
   the scenario; the CLI runs the tools (Bash, Read, Edit, Write, Grep, Glob, TodoWrite ...) in
   the real project, so every tool output, exit code and patch is genuine;
4. checks the recording: every scripted tool call fired exactly one PostToolUse, or
   PostToolUseFailure where the scenario expects the call to fail (and only there), every reply
   was consumed, and every key term is a case-insensitive substring of the payloads;
5. writes ``<out>/<name>.jsonl`` (hook payloads), ``<name>.keys.json`` (the scenario's key terms,
   written with the scenario before anyone tuned a compressor to it) and
   ``<name>.transcript.jsonl`` (the CLI's own transcript, copied from
   ``<config>/projects/<folder>/<session>.jsonl``). Held-out scenarios go to ``<out>/heldout/``.

Nothing is rewritten or redacted: the paths in the files are the real ones of the run, under the
recognisable prefix ``/tmp/cmrec/`` (HOME is ``/tmp/cmrec/home``), which a replay may replace.
The recording refuses to write a fixture when a check fails, and says which.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "bench"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from tests.fakes.claude_cli import find_claude_binary, run_claude  # noqa: E402
from tests.fakes.fake_llm_server import (FakeLLMServer, Reply, Text, ToolUse,  # noqa: E402
                                         last_user_prompt, turns_since_prompt)

DEFAULT_ROOT = Path("/tmp/cmrec")
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "recorded"
HOOK_EVENTS = ("SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure",
               "PreCompact", "Stop", "SessionEnd")
ALLOWED_TOOLS = "Bash Read Edit Write Glob Grep TodoWrite ToolSearch"
TOOL_EVENTS = ("PostToolUse", "PostToolUseFailure")

# The recording hook: standard library only, one append per event so lines never interleave.
RECORD_HOOK = """\
import json, sys
payload = json.load(sys.stdin)
line = json.dumps({"event": payload.get("hook_event_name"), "stdin": payload})
with open(sys.argv[1], "a", encoding="utf-8") as f:
    f.write(line + "\\n")
"""


# ------------------------------------------------------------------------------------------
# The scenario vocabulary (used by bench/session_scenarios.py)
# ------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One scripted tool call; ``fails`` says the CLI must report it as PostToolUseFailure."""

    name: str
    input: dict
    fails: bool = False


@dataclass
class Turn:
    """One model reply: prose, then tool calls (none: the reply ends the request)."""

    text: str = ""
    calls: list[Call] = field(default_factory=list)


@dataclass
class Prompt:
    """One ``claude -p`` run. ``resume`` continues the scenario's session with --resume."""

    text: str
    turns: list[Turn]
    resume: bool = False
    pause: float = 0.0  # seconds to wait before this run (gives resumes a real gap)
    # What identifies this prompt's model requests when it is not the prompt text itself
    # (``/compact`` sends the CLI's own summary instruction): a substring of that request.
    match: str | None = None


@dataclass
class Scenario:
    name: str
    summary: str  # one line for the README: language, toolchain, what happens
    build: Callable[[Path], None]  # makes the project on disk (files, git ...)
    prompts: list[Prompt]
    keys: dict  # {"request": [...], "terms": [...]}, written before any tuning
    heldout: bool = False


@dataclass
class ScenarioSpec:
    """A registered scenario; ``make(project)`` returns its ``Scenario`` for that folder."""

    name: str
    summary: str
    heldout: bool
    factory: Callable[[Path], tuple]

    def make(self, project: Path) -> Scenario:
        build, prompts, keys = self.factory(project)
        return Scenario(self.name, self.summary, build, prompts, keys, self.heldout)


REGISTRY: list[ScenarioSpec] = []


def scenario(name: str, summary: str, *, heldout: bool = False):
    """Register ``factory(project) -> (build, prompts, keys)`` as a scenario."""
    def wrap(factory):
        REGISTRY.append(ScenarioSpec(name, summary, heldout, factory))
        return factory
    return wrap


def say(text: str, *calls: Call) -> Turn:
    return Turn(text, list(calls))


def bash(command: str, description: str = "", *, fails: bool = False,
         timeout: int | None = None) -> Call:
    data = {"command": command}
    if description:
        data["description"] = description
    if timeout:
        data["timeout"] = timeout
    return Call("Bash", data, fails)


def read(path, *, offset: int | None = None, limit: int | None = None) -> Call:
    data = {"file_path": str(path)}
    if offset is not None:
        data["offset"] = offset
    if limit is not None:
        data["limit"] = limit
    return Call("Read", data)


def edit(path, old: str, new: str, *, replace_all: bool = False, fails: bool = False) -> Call:
    data = {"file_path": str(path), "old_string": old, "new_string": new}
    if replace_all:
        data["replace_all"] = True
    return Call("Edit", data, fails)


def write(path, content: str) -> Call:
    return Call("Write", {"file_path": str(path), "content": content})


def grep(pattern: str, path=None, *, mode: str = "content", glob: str | None = None,
         line_numbers: bool = True) -> Call:
    data = {"pattern": pattern, "output_mode": mode}
    if path is not None:
        data["path"] = str(path)
    if glob:
        data["glob"] = glob
    if mode == "content" and line_numbers:
        data["-n"] = True
    return Call("Grep", data)


def glob(pattern: str, path=None) -> Call:
    data = {"pattern": pattern}
    if path is not None:
        data["path"] = str(path)
    return Call("Glob", data)


def load_todo() -> Call:
    """TodoWrite is a deferred tool in this CLI: the model loads it through ToolSearch first."""
    return Call("ToolSearch", {"query": "select:TodoWrite", "max_results": 1})


def todos(*items: tuple[str, str]) -> Call:
    """TodoWrite with (content, status) pairs; activeForm derived the way a model writes it."""
    out = []
    for content, status in items:
        words = content.split(" ", 1)
        verb = words[0]
        active = (verb[:-1] if verb.endswith("e") and not verb.endswith("ee") else verb) + "ing"
        out.append({"content": content, "status": status,
                    "activeForm": active + (" " + words[1] if len(words) > 1 else "")})
    return Call("TodoWrite", {"todos": out})


def files(project: Path, tree: dict[str, str]) -> None:
    """Write a tree of files (relative path -> text) under the project."""
    for rel, text in tree.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def sh(project: Path, *commands: str) -> None:
    """Run setup shell commands in the project (git init, commits ...); fail loudly."""
    for command in commands:
        done = subprocess.run(command, shell=True, cwd=project, capture_output=True, text=True,
                              env=_tool_env(project.parent / "home"))
        if done.returncode != 0:
            raise RuntimeError(f"setup command failed in {project}: {command}\n"
                               f"{done.stdout}{done.stderr}")


def git_init(project: Path, message: str, *, branch: str = "main") -> None:
    sh(project, f"git init -q -b {branch}", "git add -A", f"git commit -qm {json.dumps(message)}")


# ------------------------------------------------------------------------------------------
# Recording
# ------------------------------------------------------------------------------------------


def _tool_env(home: Path) -> dict[str, str]:
    """Variables the tools need with a throwaway HOME: toolchains stay where they are installed."""
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "HOME": str(home),
           "LANG": "C.UTF-8", "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1",
           "CARGO_TERM_COLOR": "never", "PYTHONDONTWRITEBYTECODE": "1",
           # Fixed dates make commit hashes the same on every recording, so a scripted reply
           # (and a key term) can name the commit.
           "GIT_AUTHOR_DATE": "2026-03-16T10:00:00+0000",
           "GIT_COMMITTER_DATE": "2026-03-16T10:00:00+0000"}
    real_home = Path(os.environ.get("HOME", "/root"))
    for var, default in (("CARGO_HOME", real_home / ".cargo"),
                         ("RUSTUP_HOME", real_home / ".rustup"),
                         ("PYENV_ROOT", real_home / ".pyenv")):
        value = os.environ.get(var) or (str(default) if Path(default).exists() else "")
        if value:
            env[var] = value
    return env


def _tool_use_id(name: str, p: int, t: int, c: int) -> str:
    return "toolu_" + hashlib.sha1(f"{name}/{p}/{t}/{c}".encode()).hexdigest()[:24]


class ScenarioModel:
    """The scripted model: picks the reply from the last real prompt and the turn since it."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.errors: list[str] = []
        self.served: set[tuple[int, int]] = set()

    def __call__(self, body: dict):
        prompt = last_user_prompt(body).strip()
        turn = turns_since_prompt(body)
        last_text = _last_message_text(body)
        for p, spec in enumerate(self.scenario.prompts):
            if spec.match is not None and spec.match in last_text:
                turn = 0  # e.g. /compact: one request, its instruction in the last message
                break
        else:
            # After a slash command the CLI sends the command's record and the next prompt
            # as one message, so the prompt is its end.
            for p, spec in enumerate(self.scenario.prompts):
                if spec.match is None and prompt.endswith(spec.text.strip()):
                    break
            else:
                p = None
        if p is None:
            self.errors.append(f"no scripted prompt matches {prompt[:300]!r}")
            return Text("(no script for this prompt)")
        if turn >= len(spec.turns):
            self.errors.append(f"prompt {p + 1}: model asked for turn {turn + 1}, "
                               f"script has {len(spec.turns)}")
            return Text("(script exhausted)")
        self.served.add((p, turn))
        step = spec.turns[turn]
        blocks = [Text(step.text)] if step.text else []
        blocks += [ToolUse(c.name, c.input, id=_tool_use_id(self.scenario.name, p, turn, i))
                   for i, c in enumerate(step.calls)]
        return Reply(blocks)


def _last_message_text(body: dict) -> str:
    """The text blocks of the request's last message (where /compact puts its instruction)."""
    messages = body.get("messages") or []
    if not messages or not isinstance(messages[-1], dict):
        return ""
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or []
                     if isinstance(b, dict) and b.get("type") == "text")


def expected_calls(scenario: Scenario) -> dict[str, Call]:
    out = {}
    for p, spec in enumerate(scenario.prompts):
        for t, step in enumerate(spec.turns):
            for i, call in enumerate(step.calls):
                out[_tool_use_id(scenario.name, p, t, i)] = call
    return out


def check_recording(scenario: Scenario, events: list[dict], model: ScenarioModel) -> list[str]:
    """Everything that makes a recording unusable, as messages (empty: good)."""
    problems = list(model.errors)
    for p, spec in enumerate(scenario.prompts):
        for t in range(len(spec.turns)):
            if (p, t) not in model.served:
                problems.append(f"prompt {p + 1} turn {t + 1} was never asked for")
    calls = expected_calls(scenario)
    seen: dict[str, str] = {}
    for e in events:
        if e["event"] in TOOL_EVENTS:
            tid = e["stdin"].get("tool_use_id")
            if tid in seen:
                problems.append(f"tool call {tid} fired twice")
            seen[tid] = e["event"]
    for tid, call in calls.items():
        got = seen.get(tid)
        want = "PostToolUseFailure" if call.fails else "PostToolUse"
        if got != want:
            detail = ""
            for e in events:
                if e["stdin"].get("tool_use_id") == tid:
                    detail = str(e["stdin"].get("error") or e["stdin"].get("tool_response"))[:600]
            problems.append(f"{call.name} {json.dumps(call.input)[:160]}: expected {want}, "
                            f"got {got}\n    {detail}")
    haystack = key_term_haystack(events)
    for term in scenario.keys.get("terms", []) + scenario.keys.get("request", []):
        if term.lower() not in haystack:
            problems.append(f"key term not in payloads: {term!r}")
    return problems


def key_term_haystack(events: list[dict]) -> str:
    """What a key term must be a substring of (lower-cased): every string in the payloads
    (keys and values, unescaped) and, for good measure, the payloads' JSON text."""
    parts: list[str] = []

    def walk(value) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                parts.append(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif value is not None:
            parts.append(str(value))

    for e in events:
        walk(e)
        parts.append(json.dumps(e, ensure_ascii=False))
    return "\n".join(parts).lower()


def record(spec: ScenarioSpec, *, root: Path, out: Path, timeout: float = 300) -> dict:
    """Record one scenario; returns its figures. Raises RuntimeError when a check fails."""
    started = time.monotonic()
    home = root / "home"
    config_dir = home / ".claude"
    project = root / spec.name
    scenario = spec.make(project)
    for path in (project,):
        if path.exists():
            shutil.rmtree(path)
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Dana Dev\n\temail = dana@example.com\n[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n", encoding="utf-8")
    project.mkdir(parents=True)
    scenario.build(project)

    events_file = root / f".events-{scenario.name}.jsonl"
    events_file.unlink(missing_ok=True)
    hook_file = root / "record_hook.py"
    hook_file.write_text(RECORD_HOOK, encoding="utf-8")
    config_dir.mkdir(parents=True, exist_ok=True)
    # A neutral interpreter path: the command line shows up in the transcript (/compact).
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    command = f"{python} {hook_file} {events_file}"
    hooks = {ev: [{"hooks": [{"type": "command", "command": command}]}] if ev not in TOOL_EVENTS
             else [{"matcher": "*", "hooks": [{"type": "command", "command": command}]}]
             for ev in HOOK_EVENTS}
    (config_dir / "settings.json").write_text(json.dumps({"hooks": hooks}, indent=2))

    model = ScenarioModel(scenario)
    session_id = None
    runs = []
    with FakeLLMServer(model) as srv:
        for p, run in enumerate(scenario.prompts):
            if run.pause:
                time.sleep(run.pause)
            extra = ["--allowedTools", *ALLOWED_TOOLS.split()]
            if run.resume:
                if not session_id:
                    raise RuntimeError("a resumed prompt needs an earlier run")
                extra = ["--resume", session_id, *extra]
            res = run_claude(run.text, cwd=project, home=home, config_dir=config_dir,
                             base_url=srv.url, extra_args=extra, timeout=timeout,
                             env={k: v for k, v in _tool_env(home).items()
                                  if k not in ("PATH", "HOME")})
            if res.is_error or not res.session_id:
                raise RuntimeError(f"{scenario.name} prompt {p + 1} failed:\n{res.describe()}")
            if run.resume and res.session_id != session_id:
                raise RuntimeError(f"{scenario.name}: --resume gave a new session id")
            session_id = res.session_id
            runs.append(round(res.duration, 2))
        if srv.errors:
            raise RuntimeError(f"fake server errors: {srv.errors!r}")
        model_turns = srv.model_request_count

    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    problems = check_recording(scenario, events, model)
    if problems:
        raise RuntimeError(f"{scenario.name}: recording rejected:\n  " + "\n  ".join(problems))
    transcripts = sorted((config_dir / "projects").glob(f"*/{session_id}.jsonl"))
    if len(transcripts) != 1:
        raise RuntimeError(f"{scenario.name}: transcript of {session_id} not found")

    dest = out / "heldout" if scenario.heldout else out
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / f"{scenario.name}.jsonl", "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    shutil.copyfile(transcripts[0], dest / f"{scenario.name}.transcript.jsonl")
    (dest / f"{scenario.name}.keys.json").write_text(
        json.dumps(scenario.keys, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    events_file.unlink()
    counts = _counts(events)
    counts.update(name=scenario.name, heldout=scenario.heldout, model_turns=model_turns,
                  seconds=round(time.monotonic() - started, 1), run_seconds=runs)
    return counts


def _counts(events: list[dict]) -> dict:
    tools = [e for e in events if e["event"] in TOOL_EVENTS]
    return {"events": len(events),
            "prompts": sum(e["event"] == "UserPromptSubmit" for e in events),
            "resumes": sum(e["event"] == "SessionStart" and e["stdin"].get("source") == "resume"
                           for e in events),
            "tool_calls": len(tools),
            "failed": sum(e["event"] == "PostToolUseFailure" for e in events),
            "tools": sorted({e["stdin"].get("tool_name") for e in tools})}


def fixture_table(out: Path) -> str:
    """A Markdown table of the recorded fixtures under ``out`` (counted from the files)."""
    rows = ["| session | set | prompts | resumes | tool calls (failed) | tools | events |",
            "|---|---|---|---|---|---|---|"]
    for path in sorted(out.glob("*.jsonl")) + sorted(out.glob("heldout/*.jsonl")):
        if path.name.endswith(".transcript.jsonl"):
            continue
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        c = _counts(events)
        rows.append(f"| {path.stem} | {'held out' if path.parent.name == 'heldout' else 'tuning'}"
                    f" | {c['prompts']} | {c['resumes']} | {c['tool_calls']} ({c['failed']}) | "
                    f"{', '.join(c['tools'])} | {c['events']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    import session_scenarios  # noqa: F401 - registers the scenarios

    SCENARIOS = REGISTRY

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="scenarios to record (default: all)")
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                    help="where projects and HOME are made (default /tmp/cmrec)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--table", action="store_true",
                    help="print the README's table of the recorded fixtures in --out and exit")
    args = ap.parse_args(argv)
    if args.table:
        print(fixture_table(args.out))
        return 0
    by_name = {s.name: s for s in SCENARIOS}
    if args.list:
        for s in SCENARIOS:
            made = s.make(args.root / s.name)
            calls = sum(len(t.calls) for p in made.prompts for t in p.turns)
            print(f"{s.name:28} {'heldout' if s.heldout else 'tuning ':8} prompts={len(made.prompts)}"
                  f" calls={calls:3}  {s.summary}")
        return 0
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)}")
    if find_claude_binary() is None:
        print("Claude Code CLI not found: pip install -e '.[test]' (claude-agent-sdk)",
              file=sys.stderr)
        return 2
    chosen = [by_name[n] for n in args.names] if args.names else SCENARIOS
    t0 = time.monotonic()
    failed = 0
    for s in chosen:
        try:
            c = record(s, root=args.root, out=args.out)
        except RuntimeError as exc:
            failed += 1
            print(f"FAILED {exc}", file=sys.stderr)
            continue
        print(f"{c['name']:28} {'heldout' if c['heldout'] else 'tuning ':8} "
              f"prompts={c['prompts']} resumes={c['resumes']} tool_calls={c['tool_calls']:3} "
              f"failed={c['failed']} events={c['events']:3} turns={c['model_turns']:3} "
              f"{c['seconds']:6.1f}s  tools={','.join(c['tools'])}", flush=True)
    print(f"recorded {len(chosen) - failed}/{len(chosen)} in {time.monotonic() - t0:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    # Run as the importable module, so the scenarios register into the same REGISTRY.
    import record_sessions

    raise SystemExit(record_sessions.main())
