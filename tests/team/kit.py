"""Helpers of the team-memory tests: git project folders and "machines".

``Machine``: a data dir, HOME and settings of its own; hooks run as real processes and
start that machine's real worker; ``cli()`` runs ``claude-mem`` as that machine.
``run_session`` plays one session through a machine's hooks, ``context_of`` is what its
next session starts with, ``settled`` says its queue and outbox are empty,
``server_text`` dumps the team database's records, ``with_db`` names a database in a URL.
``share_billing_clones`` gives two machines a shared clone each of one repository;
``sharing_store`` is a bare store (no hooks, no worker) sharing it, with its member's settings.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from faultkit import bash, end, prompt, stop
from helpers import our_processes, wait_for

ROOT = Path(__file__).resolve().parents[2]
REMOTE = "git@github.com:Acme/Billing.git"


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
        self.cli("worker", "stop", check=False)
        try:
            wait_for(lambda: not our_processes(str(self.data)), timeout=5,
                     what=f"machine {self.name}'s processes to exit")
        except AssertionError:
            pass  # killed and reported below
        left = our_processes(str(self.data))
        for pid, _ in left:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        assert not left, f"processes of machine {self.name} outlived the test: {left}"


def with_db(url: str, dbname: str, user: str | None = None, password: str | None = None) -> str:
    from psycopg.conninfo import make_conninfo

    extra = {"dbname": dbname}
    if user:
        extra.update(user=user, password=password)
    return make_conninfo(url, **extra)


def run_session(machine, sid: str, cwd, commands: list[str], text: str | None = None) -> None:
    cwd = str(cwd)
    events = [("SessionStart", {"session_id": sid, "cwd": cwd, "hook_event_name": "SessionStart",
                                "source": "startup", "transcript_path": f"/tmp/{sid}.jsonl"}),
              prompt(sid, cwd, 1, text)]
    events += [bash(sid, cwd, i, command=c) for i, c in enumerate(commands)]
    events += [stop(sid, cwd), end(sid, cwd)]
    for event, payload in events:
        done = machine.hook(event, payload)
        assert done.returncode == 0, done.stderr


def settled(machine) -> bool:
    """Queue drained and outbox empty on ``machine``."""
    with machine.store() as store:
        queue = store.queue_stats()["pending"]
        outbox = store.db.execute("SELECT COUNT(*) FROM team_outbox").fetchone()[0]
    return queue == 0 and outbox == 0


def context_of(machine, cwd) -> str:
    done = machine.hook("SessionStart", {"session_id": f"next-{time.time_ns()}", "cwd": str(cwd),
                                         "hook_event_name": "SessionStart", "source": "startup",
                                         "transcript_path": "/tmp/none.jsonl"})
    assert done.returncode == 0
    return json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"] if done.stdout.strip() else ""


def server_text(team_db) -> str:
    return "\n".join(json.dumps(row, default=str) for row in team_db.query(
        "SELECT * FROM claude_mem.records ORDER BY uid"))


def share_billing_clones(tmp_path: Path, first, second, folders: tuple[str, str] = ("a", "b")
                         ) -> tuple[Path, Path]:
    """A clone of ``REMOTE`` for each machine (``tmp_path/<folder>/billing``), shared by each."""
    clones = []
    for machine, folder in zip((first, second), folders):
        clone = git_project(tmp_path / folder / "billing", REMOTE)
        machine.cli("team", "share", "--cwd", str(clone))
        clones.append(clone)
    return clones[0], clones[1]


def sharing_store(tmp_path: Path, team_db, alias: str, monkeypatch):
    """``alias``'s own Store sharing the billing project, and the settings naming ``alias`` as the
    member (``(store, settings)``); the member's URL and name are left in the environment."""
    from claude_mem import config
    from claude_mem.store import Store
    from claude_mem.store.team import TeamStore

    store = Store(str(tmp_path / alias / "claude-mem.db"))
    TeamStore(store).share("github.com/acme/billing", "billing", f"/src/{alias}/billing")
    monkeypatch.setenv("CLAUDE_MEM_TEAM_DATABASE_URL", team_db.url_for(alias))
    monkeypatch.setenv("CLAUDE_MEM_TEAM_MEMBER", alias)
    return store, config.load()
