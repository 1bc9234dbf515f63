"""Run the real Gemini CLI offline, against the fake Gemini API (standard library only).

* ``find_gemini_binary()`` -> ``$CLAUDE_MEM_TEST_GEMINI_BIN``, else the ``gemini`` script
  ``.ci/run`` installs under ``.ci/node`` (npm ``@google/gemini-cli``; it needs ``node`` on PATH),
  else ``gemini`` on PATH; None when there is none or no ``node``.
* ``write_auth(gemini_dir)`` writes the ``settings.json`` that selects API-key auth (any key:
  the fake checks none) and turns usage statistics off.
* ``run_gemini(prompt, ...)`` runs ``gemini -p PROMPT --yolo --output-format json -m MODEL`` in
  ``cwd`` with a clean environment (PATH, HOME, the key, ``GOOGLE_GEMINI_BASE_URL`` = the fake,
  the folder trusted) and returns ``(returncode, stdout, stderr)``; raises ``AssertionError``
  after killing its process group when ``timeout`` passes.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.fakes.cli_process import run_in_own_group

REPO = Path(__file__).resolve().parents[2]


def find_gemini_binary() -> str | None:
    if shutil.which("node") is None:
        return None
    override = os.environ.get("CLAUDE_MEM_TEST_GEMINI_BIN")
    if override:
        return override if os.access(override, os.X_OK) else None
    local = REPO / ".ci" / "node" / "node_modules" / ".bin" / "gemini"
    if os.access(local, os.X_OK):
        return str(local)
    return shutil.which("gemini")


def write_auth(gemini_dir) -> Path:
    folder = Path(gemini_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "settings.json"
    path.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}},
                                "privacy": {"usageStatisticsEnabled": False}}, indent=2))
    return path


def run_gemini(prompt: str, *, cwd, home, base_url: str, env=None, model: str = "gemini-2.5-flash",
               timeout: float = 90, binary: str | None = None) -> tuple[int, str, str]:
    exe = binary or find_gemini_binary()
    if exe is None:
        raise FileNotFoundError("Gemini CLI not found (npm install @google/gemini-cli)")
    full_env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "HOME": str(home),
                "GEMINI_API_KEY": "fake-key", "GOOGLE_GEMINI_BASE_URL": base_url,
                "GEMINI_CLI_TRUST_WORKSPACE": "true", "NO_COLOR": "1", **(env or {})}
    argv = [exe, "-p", prompt, "--yolo", "--output-format", "json", "-m", model]
    returncode, out, err, timed_out = run_in_own_group(argv, cwd=cwd, env=full_env, timeout=timeout)
    if timed_out:
        raise AssertionError(f"gemini did not finish within {timeout}s\n{err[-3000:]!r}")
    return returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
