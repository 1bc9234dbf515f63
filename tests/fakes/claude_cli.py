"""Run the real Claude Code CLI offline, against a fake model (standard library only).

Contract:

* ``find_claude_binary()`` -> path of the native CLI that the installed ``claude_agent_sdk``
  wheel bundles (``claude_agent_sdk/_bundled/claude``), or None. The environment variable
  ``CLAUDE_MEM_TEST_CLAUDE_BIN`` overrides it (e.g. to try an npm-installed CLI). The package is
  located with ``importlib.util.find_spec`` so it is never imported here.
* ``claude_env(...)`` -> the clean environment a run uses: nothing from the caller's
  environment except ``PATH`` (so a developer's own ``~/.claude`` settings, API keys, proxies and
  hooks cannot leak into a test), plus the variables that keep the CLI quiet and offline.
* ``run_claude(prompt, ...)`` runs ``claude -p PROMPT --output-format json [extra_args...]`` and
  returns a ``ClaudeResult`` (exit code, parsed JSON with ``session_id`` / ``result`` /
  ``num_turns`` / ``permission_denials``, raw stdout/stderr, wall time). It raises
  ``ClaudeTimeout`` (after killing the process group it started) when ``timeout`` passes.

Things callers must pass through ``extra_args`` themselves:

* tools: ``("--allowedTools", "Bash")``. Without a permission flag ``-p`` mode *denies* Bash
  (exit 0, ``permission_denials`` filled), and as root ``--dangerously-skip-permissions`` is
  refused unless ``IS_SANDBOX=1``. ``--allowedTools`` is variadic, which is why the prompt is
  placed right after ``-p`` and extra_args come last: a trailing prompt would be eaten as a
  tool name.
* ``("--resume", session_id)`` or ``("--continue",)`` to go on with an earlier session (same
  ``home`` / ``config_dir``); ``("--settings", path)`` for an extra settings file.

Fault tests: by default the CLI retries a failing API call for well over a minute. Pass
``env={"CLAUDE_CODE_MAX_RETRIES": "1"}`` (one retry, ~0.6 s backoff) and, against a hanging
fake, ``"API_TIMEOUT_MS": "1000"``. A failed run exits 1 with ``result`` = "API Error: ...".
A streamed reply that is not SSE makes the CLI retry once *without* ``stream``.

A prompt that starts with "-" is sent on stdin (as an argument it would parse as an option).

Hooks are read from ``<config_dir>/settings.json`` (``CLAUDE_CONFIG_DIR`` replaces ``~/.claude``)
and from the project's ``<cwd>/.claude/settings.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from tests.fakes.cli_process import run_in_own_group

__all__ = ["find_claude_binary", "claude_env", "run_claude", "hook_responses", "ClaudeResult", "ClaudeTimeout"]

DUMMY_API_KEY = "sk-test-dummy"


def find_claude_binary() -> str | None:
    """Path of the CLI bundled in the installed claude_agent_sdk wheel, or None."""
    override = os.environ.get("CLAUDE_MEM_TEST_CLAUDE_BIN")
    if override:
        return override if os.access(override, os.X_OK) else None
    try:
        spec = importlib.util.find_spec("claude_agent_sdk")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "_bundled" / "claude"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def claude_env(*, home: str | os.PathLike, config_dir: str | os.PathLike, base_url: str,
               env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for one offline CLI run; ``env`` entries are added last (and win)."""
    out = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(config_dir),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": DUMMY_API_KEY,
        # No update checks, telemetry, feedback surveys or other side requests: the fake server
        # then sees exactly one POST /v1/messages per model turn.
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        # Keeps the task-list tooling (and its extra prompt text/tools) out of the run.
        "CLAUDE_CODE_ENABLE_TASKS": "false",
    }
    if env:
        out.update(env)
    return out


@dataclass
class ClaudeResult:
    returncode: int
    json: dict | None  # the --output-format json object, None if stdout was not JSON
    stdout: str
    stderr: str
    duration: float  # seconds, wall clock
    argv: list[str] = field(default_factory=list)

    @property
    def session_id(self) -> str | None:
        return (self.json or {}).get("session_id")

    @property
    def result(self) -> str | None:
        """The final assistant text."""
        return (self.json or {}).get("result")

    @property
    def is_error(self) -> bool:
        return self.returncode != 0 or bool((self.json or {}).get("is_error"))

    def describe(self) -> str:
        """Everything useful for an assertion message."""
        return (f"argv={self.argv!r}\nreturncode={self.returncode} duration={self.duration:.2f}s\n"
                f"stdout={self.stdout[-4000:]}\nstderr={self.stderr[-4000:]}")


class ClaudeTimeout(AssertionError):
    """The CLI did not finish in time; carries whatever it printed."""

    def __init__(self, argv: Sequence[str], timeout: float, stdout: str, stderr: str):
        super().__init__(f"claude did not finish within {timeout}s: {list(argv)!r}\n"
                         f"stdout={stdout[-4000:]}\nstderr={stderr[-4000:]}")
        self.stdout, self.stderr = stdout, stderr


def _parse_json(stdout: str) -> dict | None:
    text = stdout.strip()
    try:
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    except ValueError:
        pass
    # Be lenient if anything (a warning) got printed around the object: take the last JSON
    # line. With ``--output-format stream-json`` that is the run's ``result`` event, unless an
    # async hook's ``hook_response`` came after it (a capture hook that ends within a few ms
    # of the reply can): then the last ``result`` event is the run's outcome.
    last = None
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                if value.get("type") == "result":
                    return value
                last = last or value
    return last


def _text(data: Any) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def hook_responses(stream_json: str) -> list[dict]:
    """The ``hook_response`` events in the CLI's ``--output-format stream-json --verbose
    --include-hook-events`` output: each hook's name, stdout, stderr and exit code."""
    events = []
    for line in stream_json.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("subtype") == "hook_response":
            events.append(event)
    return events


def run_claude(prompt: str, *, cwd: str | os.PathLike, home: str | os.PathLike,
               config_dir: str | os.PathLike, base_url: str, extra_args: Sequence[str] = (),
               env: Mapping[str, str] | None = None, timeout: float = 120,
               binary: str | None = None) -> ClaudeResult:
    """Run ``claude -p PROMPT --output-format json *extra_args`` in ``cwd``; see module doc."""
    exe = binary or find_claude_binary()
    if exe is None:
        raise FileNotFoundError("Claude Code CLI not found (is claude-agent-sdk installed?)")
    Path(config_dir).mkdir(parents=True, exist_ok=True)
    Path(home).mkdir(parents=True, exist_ok=True)
    # A prompt starting with "-" would be parsed as an option; the CLI also reads the prompt
    # from stdin when none is given, so send such prompts that way.
    via_stdin = prompt.startswith("-")
    argv = [exe, "-p", *([] if via_stdin else [prompt]), "--output-format", "json", *extra_args]
    start = time.monotonic()
    returncode, out, err, timed_out = run_in_own_group(
        argv, cwd=cwd, env=claude_env(home=home, config_dir=config_dir, base_url=base_url, env=env),
        timeout=timeout, stdin_data=prompt.encode() if via_stdin else None)
    if timed_out:
        raise ClaudeTimeout(argv, timeout, _text(out), _text(err))
    stdout, stderr = _text(out), _text(err)
    return ClaudeResult(returncode, _parse_json(stdout), stdout, stderr,
                        time.monotonic() - start, argv)
