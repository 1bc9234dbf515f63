"""What tests share: waiting, running hooks, reading the store, finding processes.

Import from here (``from helpers import run_hook, wait_for``), never from ``conftest`` or
another test module; fixtures stay in ``conftest.py``. No pytest import: the chaos bench
uses the process scanner too.

- ``wait_for(predicate, timeout, what)``: the one poll loop; returns the predicate's
  truthy value or fails naming what it waited for.
- ``run_hook(event, payload)``: one hook as Claude Code runs it, a real process with the
  JSON on stdin (``hook_argv`` is its command line, ``HOOK_NAME`` event -> hook name);
  ``with no_worker_yet():`` queues hooks' events before any worker may start.
- ``open_store()``, ``wait_until_drained()``: the test's database, and waiting until the
  worker has processed every queued and spooled event.
- ``injection(folder, code)``: fault injection without a switch in product code: the
  environment that makes every Python process started with it (workers, CLI commands;
  not hooks, which run ``-I -S``) run ``code`` first, as a ``sitecustomize``; ready-made
  faults: ``held_worker_start(gate)`` (the worker waits after taking its lock, before it
  listens, until the test creates the file ``gate``) and ``kill_sync_after(point)`` (a team sync dies by SIGKILL). The ``inject``
  fixture applies one to the test's environment.
- ``processes(...)``: the one ``/proc`` scanner; ``our_processes(data_dir)`` and
  ``worker_pids(data_dir)`` are claude-mem processes of one data dir (found by their
  environment, so other runs on the machine never count); ``kill_leftovers(pids, what)``
  kills the ones a test's teardown found still running and fails naming them.
- ``poison_compressor(worker, marker)``: an in-process worker's compressor raises for any
  tool event whose input holds ``marker`` (a unit that fails, for failure isolation).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from claude_mem import config, control, inbox, install, wakeup
from claude_mem.hook_events import HOOK_EVENTS

FIXTURES = Path(__file__).parent / "fixtures" / "claude-code"
# Claude Code event name -> our hook command name ("PostToolUse" -> "post-tool-use").
HOOK_NAME = {event: name for name, event in HOOK_EVENTS.items()}


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# -- hooks ---------------------------------------------------------------------------------


def load_fixture(name: str = "session-invoice-fix") -> list[tuple[str, dict]]:
    events = []
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            events.append((record["event"], record["stdin"]))
    return events


def hook_argv(event: str) -> list[str]:
    return [sys.executable, "-I", "-S", install.ENTRY, HOOK_NAME.get(event, event)]


def run_hook(event: str, payload, *, command: str | None = None, env: dict | None = None,
             timeout: float = 30) -> subprocess.CompletedProcess:
    """Run one hook as Claude Code would: a process with the JSON on stdin."""
    data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    if isinstance(data, str):
        data = data.encode()
    full_env = {**os.environ, **(env or {})}
    if command is not None:
        return subprocess.run(command, shell=True, input=data, capture_output=True,
                              env=full_env, timeout=timeout)
    return subprocess.run(hook_argv(event), input=data, capture_output=True, env=full_env,
                          timeout=timeout)


class no_worker_yet:
    """Hold the worker lock so no worker can start: hooks run meanwhile commit their
    events and find a worker "starting" (as while a real one starts), so everything is
    queued before any worker reads the queue. Leaving releases the lock; start a worker
    with ``control.ensure_worker()`` then. Replaces "start slowly and hope the hooks
    are done by then", which a loaded machine defeats.
    """

    def __enter__(self):
        config.ensure_data_dir()
        self.fd = control.try_lock()
        assert self.fd is not None, "a worker is already running"
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
        return False


def context_from(output: bytes | str) -> str:
    """The additionalContext a SessionStart hook printed ("" for no output)."""
    text = output.decode() if isinstance(output, bytes) else output
    if not text.strip():
        return ""
    data = json.loads(text)
    assert data["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    return data["hookSpecificOutput"]["additionalContext"]


# -- the store -----------------------------------------------------------------------------


def open_store():
    from claude_mem.store import open_store as open_configured

    return open_configured()


def _drained() -> bool:
    if not os.path.exists(config.db_path()):
        return False
    with open_store() as store:
        return (store.queue_stats()["pending"] == 0 and not config.spooled_names()
                and not inbox.waiting())


def wait_until_drained(timeout: float = 30.0) -> None:
    """Wait until the hooks running in the background have stored their events and the
    worker has processed every queued and spooled event."""
    wait_for_background_hooks(timeout=timeout)
    wait_for(_drained, timeout, what="the queue to drain")


def background_hooks(data_dir: str | None = None) -> dict[int, str]:
    """Our hook processes still at work after leaving Claude Code's process tree
    (``hook_entry.py --background``) or on their way to the inbox (``capture.sh``), for
    ``data_dir`` (default: the configured one)."""
    data_dir = data_dir or config.data_dir()
    found = processes(cmdline_has=(b"hook_entry.py",),
                      environ_has=(f"CLAUDE_MEM_DATA_DIR={data_dir}".encode(),))
    return {pid: cmd for pid, cmd in found.items()
            if " --background " in f" {cmd} " or "capture.sh" in cmd}


def wait_for_background_hooks(data_dir: str | None = None, timeout: float = 30.0) -> None:
    """Wait until no hook of ours runs in the background: their events are then committed.

    Two looks in a row, 50 ms apart, must find none: a detaching hook is two processes for
    a moment (the child forks the grandchild, then exits), and one look through /proc can
    pass between them."""
    quiet = [0]

    def none_left() -> bool:
        quiet[0] = quiet[0] + 1 if not background_hooks(data_dir) else 0
        return quiet[0] >= 2

    wait_for(none_left, timeout, what="the hooks running in the background to finish")


# -- fault injection -----------------------------------------------------------------------


def injection(folder: Path, code: str) -> dict:
    """Environment entries that make Python processes started with them run ``code`` first."""
    import textwrap

    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "sitecustomize.py"
    before = script.read_text() if script.exists() else ""
    script.write_text(before + "\n" + textwrap.dedent(code))
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(folder)]
    return {"PYTHONPATH": os.pathsep.join([str(folder), *rest])}


def held_worker_start(gate: Path) -> str:
    """A worker that, once it holds the lock and wrote its pid file, waits (before it builds
    anything or listens) until the file ``gate`` exists: a slow start whose end the test
    chooses, however loaded the machine (at most a minute, so a failed test frees it)."""
    return f"""
        import sys
        if "claude_mem.worker" in sys.orig_argv:
            import os, time
            from claude_mem import pidlock

            _write_pid_file = pidlock.write_pid_file

            def _held(*args, **kwargs):
                _write_pid_file(*args, **kwargs)
                pidlock.write_pid_file = _write_pid_file  # only the start is held
                deadline = time.monotonic() + 60
                while not os.path.exists({str(gate)!r}) and time.monotonic() < deadline:
                    time.sleep(0.02)

            pidlock.write_pid_file = _held
        """


def kill_sync_after(point: str) -> str:
    """A ``team sync`` killed by SIGKILL right after the server committed its first pushed
    batch (``after-push``: before the outbox forgot it) or after the first pulled batch was
    stored locally (``after-pull``)."""
    target = {"after-push": ("claude_mem.store.postgres", "TeamDatabase", "push"),
              "after-pull": ("claude_mem.store.team", "TeamStore", "apply_pulled")}[point]
    return f"""
        import sys
        if "sync" in sys.orig_argv:
            import importlib, os, signal

            _owner = getattr(importlib.import_module({target[0]!r}), {target[1]!r})
            _done = getattr(_owner, {target[2]!r})

            def _then_die(*args, **kwargs):
                _done(*args, **kwargs)
                os.kill(os.getpid(), signal.SIGKILL)

            setattr(_owner, {target[2]!r}, _then_die)
        """


# -- processes -----------------------------------------------------------------------------


def processes(*, cmdline_has: tuple[bytes, ...] = (), environ_has: tuple[bytes, ...] = (),
              exe: str | None = None) -> dict[int, str]:
    """Live processes (pid -> command line) matching every criterion given.

    ``cmdline_has``: substrings of which the command line must hold one (zombies have an
    empty command line, so never match);
    ``environ_has``: exact ``NAME=value`` entries of the environment; ``exe``: the real
    path of the executable. This process itself is never listed.
    """
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if exe is not None and os.readlink(f"/proc/{entry}/exe") != exe:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
            if cmdline_has and not any(part in cmdline for part in cmdline_has):
                continue
            if environ_has:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    environ = fh.read().split(b"\0")
                if not all(item in environ for item in environ_has):
                    continue
        except OSError:
            continue  # gone meanwhile, or not ours to read
        found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def our_processes(data_dir: str) -> list[tuple[int, str]]:
    """Live claude-mem processes (pid, command line) whose environment names ``data_dir``."""
    return sorted(processes(cmdline_has=(b"claude_mem", b"claude-mem"),
                            environ_has=(f"CLAUDE_MEM_DATA_DIR={data_dir}".encode(),)).items())


def kill_leftovers(left, what: str) -> None:
    """Kill (SIGKILL, by pid) the processes in ``left`` that should have stopped by now, then fail
    naming them and ``what`` they outlived: a leak is reported without leaving it running."""
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"{what}: {left}"


def worker_pids(data_dir: str) -> list[int]:
    return [pid for pid, cmd in our_processes(data_dir) if "claude_mem.worker" in cmd]


def fill_edits(store, project: str, sessions: int, per_session: int, *,
               commit_each_session: bool = False) -> None:
    """``sessions`` sessions of ``per_session`` edit observations each in ``project`` (titles
    carry ``zzq<project>``, a word only that project's rows hold). One transaction, or one per
    session (``commit_each_session``: many small FTS5 segments, as a worker's commits make)."""
    from claude_mem.models import Observation

    def add(s: int) -> None:
        session = store.open_session(f"{project}-{s}", project, f"/w/{project}", time.time())
        store.add_prompt(session["id"], f"{project}-{s}-p", f"prompt of {project}", time.time())
        for i in range(per_session):
            store.add_observation(session["id"], project, 1, Observation(
                type="change", title=f"{project} edit {s} {i} zzq{project}",
                facts=(f"fact {i}",), tool_name="Edit"), f"{project}-{s}-{i}", "heuristic",
                time.time())

    if commit_each_session:
        for s in range(sessions):
            with store.write():
                add(s)
    else:
        with store.write():
            for s in range(sessions):
                add(s)


# -- the inbox ----------------------------------------------------------------------------


def open_inbox():
    """The inbox, the wake-up FIFO and the pid file as a running worker has them (this
    process stands in for it); the FIFO's fd."""
    config.ensure_data_dir()
    inbox.make()
    with open(config.pid_path(), "w") as fh:
        fh.write(str(os.getpid()))
    return wakeup.make()


def close_inbox(fifo: int) -> None:
    """This process no longer stands in for the worker."""
    os.close(fifo)
    os.unlink(config.pid_path())


def queued() -> list[tuple]:
    with open_store() as store:
        return [(r["event"], r["payload"], r["cleaned"]) for r in store.pending_batch(1000)]


def poison_compressor(worker, marker: str) -> None:
    """Make ``worker``'s compressor raise for tool events whose input holds ``marker``."""
    observe = worker.compressor.observe

    def poisoned(ctx, events):
        if any(marker in json.dumps(e.tool_input) for e in events):
            raise RuntimeError("poisoned event")
        return observe(ctx, events)

    worker.compressor.observe = poisoned
