"""Helpers of the team-memory tests: git project folders and "machines".

``Machine``: a data dir, HOME and settings of its own; hooks run as real processes and
start that machine's real worker; ``cli()`` runs ``claude-mem`` as that machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import our_processes

ROOT = Path(__file__).resolve().parents[2]


def git_project(folder: Path, remote: str | None) -> Path:
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    if remote:
        subprocess.run(["git", "-C", str(folder), "remote", "add", "origin", remote], check=True)
    return folder


class Machine:
    """One computer of one member: its own data dir, HOME, settings and worker."""

    def __init__(self, base: Path, name: str, settings: dict):
        self.name = name
        self.home = base / name / "home"
        self.data = base / name / "data"
        self.home.mkdir(parents=True)
        self.data.mkdir(parents=True, mode=0o700)
        (self.data / "settings.json").write_text(json.dumps(settings))
        self.env = {**os.environ, "HOME": str(self.home), "CLAUDE_MEM_DATA_DIR": str(self.data),
                    "CLAUDE_MEM_TEAM_SYNC_SECONDS": "1", "CLAUDE_MEM_TEAM_BACKOFF_SECONDS": "0.5"}
        self.env.pop("CLAUDE_MEM_TEAM_DATABASE_URL", None)
        self.url = str(settings.get("team_database_url", ""))

    def hook(self, event: str, payload: dict) -> subprocess.CompletedProcess:
        from claude_mem import install
        from claude_mem.hooks import HOOK_EVENTS

        name = {ev: n for n, ev in HOOK_EVENTS.items()}[event]
        return subprocess.run([sys.executable, "-I", "-S", install.ENTRY, name], input=json.dumps(payload).encode(),
                              capture_output=True, env=self.env, timeout=60)

    def cli(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                              text=True, env={**self.env, **(env or {})}, timeout=120, cwd=ROOT)
        if check and done.returncode != 0:
            raise AssertionError(f"claude-mem {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done

    def sync(self, *args: str, check: bool = True, env: dict | None = None):
        """``claude-mem team sync --json`` against the machine's server; the parsed result."""
        done = self.cli("team", "sync", "--json", *args, check=check,
                        env={"CLAUDE_MEM_TEAM_DATABASE_URL": self.url, **(env or {})})
        return done, (json.loads(done.stdout) if done.stdout.strip().startswith("{") else None)

    def store(self):
        from claude_mem.store import Store

        return Store(str(self.data / "claude-mem.db"))

    def stop(self) -> None:
        import time

        self.cli("worker", "stop", check=False)
        deadline = time.monotonic() + 5
        while our_processes(str(self.data)) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = our_processes(str(self.data))
        for pid, _ in left:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        assert not left, f"processes of machine {self.name} outlived the test: {left}"


