"""Shared fixtures. Helper functions live in ``helpers.py``: import them from there.

- ``isolated_env`` (every test): its own data dir, HOME and Claude config dir, set in the
  environment and nothing else. Only a test that used its data dir (unit tests do not)
  pays for the check that nothing it started outlives it: the worker is stopped, and any
  claude-mem process of this data dir left behind (found by its environment in
  /proc, so other runs on the machine never count) fails the test.
- ``worker``: a running worker for tests that need one up front; its pid.
- ``no_strays`` (asked for by the fault-injection modules through ``pytestmark``): wakes
  a stopped worker, stops it, and fails the test if any claude-mem process outlives it.
- ``helpers``: processes a test starts for itself (a ``sleep``, a lock holder), killed by pid.
- ``inject``: ``inject(code)`` makes every Python process the test starts from then on run
  ``code`` first (``helpers.injection``): fault injection with no switch in product code.
- ``recorded``: the recorded real-CLI session, only the events claude-mem hooks.
"""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from claude_mem import config, control
from helpers import HOOK_NAME, injection, load_fixture, our_processes, wait_for, worker_pids


# Module-scoped fixtures start workers before ``isolated_env`` runs: the same default for them.
os.environ.setdefault("CLAUDE_MEM_SEARCH_MODE", "words")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    data = tmp_path / "data"
    home = tmp_path / "home"
    claude_dir = tmp_path / "claude"
    home.mkdir()
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(data))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_dir))
    monkeypatch.setenv("CLAUDE_MEM_WORKER_POLL_SECONDS", "0.5")
    monkeypatch.setenv("CLAUDE_MEM_WORKER_IDLE_SECONDS", "120")
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", "0")  # tests that want the viewer pick a free port
    # Search by words unless a test asks for meaning: with the [semantic] extra installed, a
    # worker would otherwise embed everything every test stores (CPU the suite has not got).
    monkeypatch.setenv("CLAUDE_MEM_SEARCH_MODE", "words")
    for name in ("CLAUDE_PROJECT_DIR", "CLAUDE_MEM_COMPRESSOR", "CLAUDE_MEM_INTERNAL",
                 "CLAUDECODE", "CLAUDE_CODE_SESSION_ID"):
        monkeypatch.delenv(name, raising=False)
    # Each test's stores announce their writes, as a new process's do: an in-process worker
    # (``Database.serve_the_worker``) turns that off for its whole process, and without
    # this a later test that counts announcements failed after such a test.
    from claude_mem.store.db import Database

    monkeypatch.setattr(Database, "announces_writes", True)
    yield tmp_path
    # A test may have moved to another data dir (monkeypatch.setenv): its worker is the one
    # that must not outlive it, so check the dir in effect now as well as the first one.
    current = os.environ.get("CLAUDE_MEM_DATA_DIR") or str(data)
    if not data.exists() and not os.path.exists(current):
        return  # nothing ran against a data dir (a unit test): nothing can outlive it
    pid = control.read_pid()
    if control.worker_lock_held():
        assert control.stop_worker(), "the worker did not stop"
    if pid:
        # A worker that has let go of its lock may still be exiting (its command line already
        # gone, so ``stop_worker`` no longer counts it) on a loaded machine: a moment's grace.
        try:
            wait_for(lambda: not control.is_alive(pid), timeout=5, what=f"worker pid {pid} to exit")
        except AssertionError:
            raise AssertionError(f"worker pid {pid} outlived its test")
    try:
        wait_for(lambda: not (our_processes(str(data)) or our_processes(current)), timeout=5,
                 what="claude-mem processes of this test to exit")
    except AssertionError:
        raise AssertionError("claude-mem processes outlived the test: "
                             f"{our_processes(str(data)) + our_processes(current)}")


@pytest.fixture
def worker(isolated_env) -> int:
    """A worker started (as a hook would) and answering; its pid."""
    assert control.ensure_worker() == "started"
    reply = wait_for(lambda: control.request({"cmd": "ping"}, timeout=1.0), what="the worker")
    return reply["pid"]


@pytest.fixture
def inject(tmp_path, monkeypatch):
    def apply(code: str) -> None:
        for name, value in injection(tmp_path / "inject", code).items():
            monkeypatch.setenv(name, value)
    return apply


@pytest.fixture
def recorded():
    """The recorded real-CLI session, only the events claude-mem hooks."""
    return [(e, p) for e, p in load_fixture() if e in HOOK_NAME]


class Helpers:
    """Processes a test starts for itself (a ``sleep``, a lock holder); killed by pid."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def spawn(self, argv, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGCONT)
                    proc.kill()
                except OSError:
                    pass
            proc.wait(timeout=10)


@pytest.fixture
def helpers():
    """Processes a test starts for itself (``helpers.spawn``), killed by pid at the end."""
    h = Helpers()
    yield h
    h.close()


@pytest.fixture
def no_strays(isolated_env):
    """Stronger than ``isolated_env``'s check, for tests that stop or kill workers: SIGCONT
    to a stopped worker, stop it, and fail (after SIGKILL) if any claude-mem process of
    this data dir is still alive. Modules ask for it with ``pytestmark``."""
    yield
    data_dir = config.data_dir()
    for pid in worker_pids(data_dir):  # a stopped (SIGSTOP) worker cannot obey a stop request
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    if control.worker_lock_held():
        control.stop_worker(timeout=5)
    try:
        wait_for(lambda: not our_processes(data_dir), timeout=5, what="claude-mem processes to exit")
    except AssertionError:
        left = our_processes(data_dir)
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        pytest.fail(f"claude-mem processes outlived the test: {left}")
