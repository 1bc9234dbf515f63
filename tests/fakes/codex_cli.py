"""Run the real Codex CLI offline, against the fake Responses API (standard library only).

Contract:

* ``find_codex_binary()`` -> the native ``codex`` binary that the npm package ships, or None:
  ``$CLAUDE_MEM_TEST_CODEX_BIN``, else the one ``.ci/run`` installs under ``.ci/node``
  (``npm install --prefix .ci/node @openai/codex``), else ``codex`` on PATH.
* ``write_provider(codex_home, base_url, model)`` writes the ``config.toml`` that points Codex at
  the fake (``model_provider = "fake"``, ``wire_api = "responses"``), keeping nothing else.
* ``run_codex(prompt, ...)`` runs ``codex exec --skip-git-repo-check --json -s danger-full-access
  PROMPT`` in ``cwd`` with a clean environment (PATH, HOME, CODEX_HOME, the fake key, and what
  ``env`` adds) and returns a ``CodexResult``; ``ClaudeTimeout``-like ``CodexTimeout`` after
  killing its process group. Hooks run only once trusted (``claude-mem install --agent codex``
  trusts its own through ``codex app-server``); ``bypass_trust=True`` adds
  ``--dangerously-bypass-hook-trust`` instead.

Model: ``gpt-5.5`` by default, a model Codex knows, so it offers ``apply_patch`` (with an unknown
model name it offers only its shell tool).
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.cli_process import run_in_own_group

REPO = Path(__file__).resolve().parents[2]
FAKE_KEY_VAR = "CLAUDE_MEM_FAKE_OPENAI_KEY"


def find_codex_binary() -> str | None:
    override = os.environ.get("CLAUDE_MEM_TEST_CODEX_BIN")
    if override:
        return override if os.access(override, os.X_OK) else None
    pattern = str(REPO / ".ci" / "node" / "node_modules" / "@openai" / "codex-*" / "vendor" / "*"
                  / "bin" / "codex")  # the platform package's native binary
    for candidate in sorted(glob.glob(pattern)):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("codex")


def write_provider(codex_home, base_url: str, model: str = "gpt-5.5") -> Path:
    home = Path(codex_home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(
        "# written by tests/fakes/codex_cli.py: Codex against the fake Responses API\n"
        f'model = "{model}"\nmodel_provider = "fake"\n\n'
        "[model_providers.fake]\n"
        'name = "fake"\n'
        f'base_url = "{base_url}/v1"\n'
        'wire_api = "responses"\n'
        f'env_key = "{FAKE_KEY_VAR}"\n', encoding="utf-8")
    return path


@dataclass
class CodexResult:
    returncode: int
    stdout: str
    stderr: str
    duration: float
    argv: list = field(default_factory=list)

    @property
    def events(self) -> list[dict]:
        out = []
        for line in self.stdout.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    @property
    def thread_id(self) -> str | None:
        return next((e.get("thread_id") for e in self.events if e.get("type") == "thread.started"), None)

    def describe(self) -> str:
        return (f"argv={self.argv!r}\nreturncode={self.returncode} duration={self.duration:.2f}s\n"
                f"stdout={self.stdout[-3000:]}\nstderr={self.stderr[-3000:]}")


class CodexTimeout(AssertionError):
    pass


def codex_env(*, home, codex_home, env=None) -> dict:
    out = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "HOME": str(home),
           "CODEX_HOME": str(codex_home), FAKE_KEY_VAR: "sk-fake", "RUST_LOG": "error"}
    if env:
        out.update(env)
    return out


def run_codex(prompt: str, *, cwd, home, codex_home, env=None, extra_args=(), timeout: float = 60,
              bypass_trust: bool = False, binary: str | None = None) -> CodexResult:
    exe = binary or find_codex_binary()
    if exe is None:
        raise FileNotFoundError("Codex CLI not found (npm install @openai/codex)")
    Path(home).mkdir(parents=True, exist_ok=True)
    argv = [exe, "exec", "--skip-git-repo-check", "--json", "-s", "danger-full-access",
            *(["--dangerously-bypass-hook-trust"] if bypass_trust else []), *extra_args, prompt]
    start = time.monotonic()
    returncode, out, err, timed_out = run_in_own_group(
        argv, cwd=cwd, env=codex_env(home=home, codex_home=codex_home, env=env), timeout=timeout)
    if timed_out:
        raise CodexTimeout(f"codex did not finish within {timeout}s: {argv!r}\n{err[-3000:]!r}")
    return CodexResult(returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                       time.monotonic() - start, argv)
