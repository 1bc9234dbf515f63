"""Nothing lost, nothing left running: faults injected into real hook and worker processes.

- kill -9 of the worker at random moments under 5 concurrent sessions (bench/chaos.py);
- the database locked by another process; a data dir that cannot be written at all
  (ENOTDIR), a full disk and a read-only data dir (a tiny tmpfs and a read-only bind
  mount in a private mount namespace: chmod does not stop root);
- a poison event that makes the compressor raise, and one that kills the worker;
- the same payload delivered twice, and a spool import repeated after a crash.

The compressor faults are injected into the real worker process through a
``sitecustomize`` module on its PYTHONPATH (hooks run with ``-I -S`` and never see it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from functools import lru_cache

import pytest
from click.testing import CliRunner

from bench.chaos import format_report, run_chaos
from claude_mem import cli, config, control, install, log
from claude_mem.store import Store
from faultkit import bash, end, prompt, python_argv, stop
from helpers import (HOOK_NAME, no_worker_yet, open_store, our_processes, run_hook, wait_for,
                     wait_until_drained)

pytestmark = pytest.mark.usefixtures("no_strays")


def observation_ids() -> dict[str, int]:
    with open_store() as store:
        return {row[0]: row[1] for row in store.db.execute(
            "SELECT tool_use_id, COUNT(*) FROM observations GROUP BY tool_use_id")}


def session(name: str) -> dict:
    with open_store() as store:
        row = store.session_by_claude_id(name)
        return dict(row) if row else {}


# -- kill -9 under load --------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_at_random_moments_under_five_concurrent_sessions(tmp_path):
    # A slightly slow compressor keeps the worker busy, so the kills land mid-work.
    r = run_chaos(str(tmp_path / "projects"), events=500, sessions=5, kills=5, seed=7,
                  baseline_runs=0, compress_delay_ms=15)
    report = format_report(r)
    print(report)
    assert r["kills"] == 5, report
    assert not r["hooks_failed"], r["hooks_failed"][:5]
    assert r["lost"] == 0, report
    assert r["duplicated"] == 0 and r["content_hashes_unique"], report
    assert r["stored"] == r["tool_events"] - r["skipped_expected"], report
    assert r["skipped_by_rule"] == r["skipped_expected"] > 0, report
    assert r["unexpected_observations"] == 0, report
    assert r["prompts"] == r["prompts_expected"], report
    assert r["unsummarized_prompts"] == 0 and r["summaries"] == r["prompts_expected"], report
    assert r["sessions_completed"] == 5, report
    assert r["pending_left"] == 0 and not r["parked"], report
    assert r["worker_stopped"] and not r["orphans"], report


# -- the database locked by someone else ---------------------------------------------------

# Holds the database until its stdin closes: the test says when, no clock decides.
LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("COMMIT")
"""


@pytest.mark.slow
def test_hooks_spool_quickly_while_another_process_holds_the_database(tmp_path, helpers):
    cwd = str(tmp_path)
    assert run_hook(*prompt("s1", cwd)).returncode == 0
    wait_until_drained()
    # Held until the test lets go: both hooks below meet it, however loaded the machine.
    locker = helpers.spawn([*python_argv(LOCKER), config.db_path()], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    assert locker.stdout.readline() == b"locked\n"
    spool = os.path.join(config.data_dir(), "spool")
    for event, payload in [bash("s1", cwd, 0), bash("s1", cwd, 1)]:
        proc = run_hook(event, payload)
        assert proc.returncode == 0 and proc.stdout == b""
    # They returned while the lock was still held: each waited its bounded while (0.75 s,
    # timed by bench/hook_latency.py), then wrote its event to the spool.
    assert locker.poll() is None
    assert len([n for n in os.listdir(spool) if n.endswith(".json")]) == 2
    assert sum("database unavailable (database is locked); spooling" in line
               for line in log.tail(20, "warn")) == 2
    locker.stdin.close()
    assert locker.wait(timeout=10) == 0
    for event, payload in [bash("s1", cwd, 2), stop("s1", cwd), end("s1", cwd)]:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    assert observation_ids() == {f"toolu_s1_1_{i}": 1 for i in range(3)}
    assert not [n for n in os.listdir(spool) if not n.startswith(".")]
    with open_store() as store:
        detail = store.session_detail(store.session_by_claude_id("s1")["id"])
        assert detail["session"]["status"] == "completed"
        # Spooled events keep their arrival time, so the request's order is intact.
        assert [o["tool_use_id"] for o in detail["observations"]] == [f"toolu_s1_1_{i}" for i in range(3)]
        assert len(detail["summaries"]) == 1


# -- nowhere to write ----------------------------------------------------------------------


def test_data_dir_that_cannot_exist_hooks_exit_0_and_say_so(tmp_path):
    """ENOTDIR: the data dir's parent is a regular file. Works as root, unlike chmod.

    Nothing can be written (not the database, the spool or the log), so the event is
    lost; what this proves is that the hook stays calm, fast and silent on stdout, and
    says so on stderr since its log file is unwritable too.
    """
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data dir's parent should be\n")
    env = {"CLAUDE_MEM_DATA_DIR": str(blocker / "data")}
    cwd = str(tmp_path)
    for event, payload in [("SessionStart", {"session_id": "s1", "cwd": cwd, "source": "startup"}),
                           prompt("s1", cwd), bash("s1", cwd, 0), stop("s1", cwd), end("s1", cwd)]:
        proc = run_hook(event, payload, env=env)
        assert proc.returncode == 0 and proc.stdout == b"", (event, proc)
        assert b"Traceback" not in proc.stderr
        if event != "SessionStart":
            err = proc.stderr.decode()
            assert f"claude-mem ERROR: {event}: could not spool the event either" in err, err
            assert "it is lost" in err and "Not a directory" in err
    assert not our_processes(str(blocker / "data"))
    result = CliRunner().invoke(cli.main, ["status"], env=env)
    assert result.exit_code == 0 and "no database yet" in result.output
    result = CliRunner().invoke(cli.main, ["doctor"], env=env)
    assert result.exit_code == 1 and "missing" in result.output


@lru_cache(maxsize=1)
def _can_mount_privately() -> bool:
    if not shutil.which("unshare") or not shutil.which("mount"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d && rmdir $d"],
        capture_output=True)
    return probe.returncode == 0


NAMESPACE_SCRIPT = r"""
import json, os, subprocess, sys, time
sys.path.insert(0, %(tests)r)
from claude_mem import config, control, install
from claude_mem.store import Store
from helpers import wait_for, worker_pids

data, phases_file = sys.argv[1], sys.argv[2]
phases = json.load(open(phases_file))
HOOK = %(hooks)r


def workers():
    return worker_pids(data)


def log_text():
    try:
        return open(config.log_path(), encoding="utf-8", errors="replace").read()
    except OSError:
        return ""


def play(name):
    results = []
    for event, payload in phases[name]:
        before = log_text()
        proc = subprocess.run([sys.executable, "-I", "-S", install.ENTRY, HOOK[event]],
                              input=json.dumps(payload).encode(), capture_output=True, timeout=60)
        after = log_text()
        results.append({"event": event, "tool_use_id": payload.get("tool_use_id"),
                        "rc": proc.returncode, "out": proc.stdout.decode(errors="replace"),
                        "err": proc.stderr.decode(errors="replace"),
                        "log": after[len(before):] if after.startswith(before) else after})
    return results


def _drained():
    with Store(config.db_path()) as store:
        spool = os.path.join(data, "spool")
        return store.queue_stats()["pending"] == 0 and not (
            os.path.isdir(spool) and any(n.endswith(".json") for n in os.listdir(spool)))


def drained(timeout=30):
    try:
        return wait_for(_drained, timeout, what="the queue to drain")
    except AssertionError:
        return False


out = {}
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k,mode=0700", "tmpfs", data], check=True)
out["before"] = play("before")
out["drained_before"] = drained()
filler = os.path.join(data, "filler")
with open(filler, "wb") as fh:  # fill the disk to the last byte
    try:
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
    except OSError as exc:
        out["fill_error"] = str(exc)
out["full"] = play("full")
out["workers_while_full"] = workers()
os.unlink(filler)
out["after"] = play("after")
out["drained_after"] = drained()
out["stopped_before_ro"] = control.stop_worker()
subprocess.run(["mount", "--bind", data, data], check=True)
subprocess.run(["mount", "-o", "remount,ro,bind", data], check=True)
try:
    open(os.path.join(data, "probe"), "w")
    out["ro_effective"] = False
except OSError:
    out["ro_effective"] = True
out["readonly"] = play("readonly")
out["workers_while_readonly"] = workers()
subprocess.run(["umount", data], check=True)  # the read/write tmpfs is back
out["final"] = play("final")
out["drained_final"] = drained()
with Store(config.db_path()) as store:
    out["observations"] = {r[0]: r[1] for r in store.db.execute(
        "SELECT tool_use_id, COUNT(*) FROM observations GROUP BY tool_use_id")}
    out["sessions"] = {r["claude_session_id"]: r["status"] for r in store.db.execute("SELECT * FROM sessions")}
    out["summaries"] = store.counts()["summaries"]
    out["parked"] = store.queue_stats()["parked"]
out["stopped"] = control.stop_worker()
try:
    wait_for(lambda: not workers(), 5, what="the worker to exit")
except AssertionError:
    pass
out["workers_at_end"] = workers()
print(json.dumps(out))
"""


@pytest.mark.slow
def test_disk_full_and_read_only_data_dir_in_a_private_mount_namespace(tmp_path):
    """A real ENOSPC (a 1.5 MB tmpfs filled to the last byte) and a real EROFS (a read-only
    bind mount), both visible only inside ``unshare --mount``, so root cannot write
    through them and nothing leaks to the rest of the machine.

    Proven: every hook exits 0 with nothing on stdout; each event is either stored
    or reported lost by a line (log file, else stderr); the worker survives the full
    disk and catches up once space is back; none starts while the dir is read-only.
    """
    if not _can_mount_privately():
        pytest.skip("needs unshare and mount in a private mount namespace (CAP_SYS_ADMIN)")
    cwd = str(tmp_path / "proj")
    os.makedirs(cwd)
    big = bash("df", cwd, 2, command="cat huge.log")
    big[1]["tool_response"]["stdout"] = "log line that fills the disk\n" * 15000  # ~430 KB
    phases = {
        "before": [prompt("df", cwd), bash("df", cwd, 0)],
        "full": [bash("df", cwd, 1), big],
        "after": [bash("df", cwd, 3), stop("df", cwd), end("df", cwd)],
        "readonly": [("SessionStart", {"session_id": "ro", "cwd": cwd, "source": "startup"}),
                     prompt("ro", cwd), bash("ro", cwd, 0)],
        "final": [bash("ro", cwd, 1), stop("ro", cwd), end("ro", cwd)],
    }
    (tmp_path / "phases.json").write_text(json.dumps(phases))
    config.ensure_data_dir()  # the mount point
    script = tmp_path / "in_namespace.py"
    script.write_text(NAMESPACE_SCRIPT % {"hooks": HOOK_NAME,
                                          "tests": os.path.dirname(os.path.abspath(__file__))})
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                           str(script), config.data_dir(), str(tmp_path / "phases.json")],
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    out = json.loads(proc.stdout)
    assert "No space left on device" in out["fill_error"]
    assert out["ro_effective"], "the read-only bind did not stop root's writes"
    assert out["drained_before"] and out["drained_after"] and out["drained_final"]

    def lost(result) -> bool:
        return "it is lost" in result["err"] or "it is lost" in result["log"]

    for phase in ("before", "full", "after", "readonly", "final"):
        for result in out[phase]:
            assert result["rc"] == 0, result
            assert result["out"] == "" or json.loads(result["out"]), result
            assert "Traceback" not in result["err"]
            stored = out["observations"].get(result["tool_use_id"], 0)
            if result["event"] in ("PostToolUse", "PostToolUseFailure"):
                assert stored == 1 or (stored == 0 and lost(result)), (phase, result, stored)
    # The big event met a full disk: it could neither be stored nor spooled, and said so.
    big_result = out["full"][1]
    assert out["observations"].get(big_result["tool_use_id"]) is None and lost(big_result)
    assert out["workers_while_full"], "the worker died of the full disk"
    # Read-only: every recording hook reports the loss on stderr (its log is read-only
    # too), none starts a worker; afterwards the same session records normally.
    for result in out["readonly"][1:]:
        assert "Read-only file system" in result["err"] and "it is lost" in result["err"], result
    assert out["workers_while_readonly"] == []
    for name in ("toolu_df_1_0", "toolu_df_1_3", "toolu_ro_1_1"):
        assert out["observations"].get(name) == 1, (name, out["observations"])
    assert out["sessions"] == {"df": "completed", "ro": "completed"}
    assert out["parked"] == 0
    assert out["stopped"] and out["workers_at_end"] == []


# -- poison -------------------------------------------------------------------------------

RAISE_ON_POISON = """
from claude_mem.compress import heuristic

_observe = heuristic.HeuristicCompressor.observe


def observe(self, ctx, events):
    for event in events:
        if "POISON" in str(event.tool_input):
            raise RuntimeError(f"poisoned event {event.tool_use_id}")
    return _observe(self, ctx, events)


heuristic.HeuristicCompressor.observe = observe
"""

CRASH_ON_POISON = """
import os, signal
from claude_mem.compress import heuristic

_observe = heuristic.HeuristicCompressor.observe


def observe(self, ctx, events):
    for event in events:
        if "POISON" in str(event.tool_input):
            os.kill(os.getpid(), signal.SIGKILL)  # as a segfault or the OOM killer would
    return _observe(self, ctx, events)


heuristic.HeuristicCompressor.observe = observe
"""


@pytest.mark.slow
def test_poison_event_is_parked_not_dropped_while_other_sessions_flow(tmp_path, monkeypatch, inject):
    inject(RAISE_ON_POISON)
    monkeypatch.setenv("CLAUDE_MEM_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("CLAUDE_MEM_RETRY_BACKOFF_SECONDS", "0.05")
    cwd = str(tmp_path)
    poison = bash("P", cwd, 1, command="echo POISON")
    events = [prompt("P", cwd), bash("P", cwd, 0), poison, bash("P", cwd, 2), stop("P", cwd), end("P", cwd),
              prompt("Q", cwd), bash("Q", cwd, 0), bash("Q", cwd, 1), stop("Q", cwd), end("Q", cwd)]
    with no_worker_yet():  # one batch for all of P
        for event, payload in events:
            assert run_hook(event, payload).returncode == 0
    assert control.ensure_worker() == "started"
    wait_until_drained()
    with open_store() as store:
        parked = [dict(r) for r in store.parked_rows()]
    assert len(parked) == 1 and parked[0]["attempts"] == 3
    assert parked[0]["last_error"] == "gave up after 3 attempts: RuntimeError('poisoned event toolu_P_1_1')"
    # Its batch-mates were retried alone and stored; P finished in order after it; Q flowed.
    assert observation_ids() == {"toolu_P_1_0": 1, "toolu_P_1_2": 1, "toolu_Q_1_0": 1, "toolu_Q_1_1": 1}
    assert session("P")["status"] == "completed" and session("Q")["status"] == "completed"
    out = CliRunner().invoke(cli.main, ["status"]).output
    assert "queue:   0 pending, 1 parked" in out
    assert (f"  parked #{parked[0]['id']} PostToolUse (3 attempts): gave up after 3 attempts: "
            "RuntimeError('poisoned event toolu_P_1_1')") in out
    result = CliRunner().invoke(cli.main, ["doctor"])
    assert result.exit_code == 1 and "FIX   1 queue row(s) parked (failed repeatedly" in result.output
    assert any("parked queue row" in line for line in log.tail(50, "error"))
    # Parked, not dropped: once the cause is gone it is one command away from memory.
    assert control.stop_worker()
    monkeypatch.delenv("PYTHONPATH")
    assert "1 parked row(s) queued again" in CliRunner().invoke(cli.main, ["worker", "retry-parked"]).output
    wait_until_drained()
    assert observation_ids()["toolu_P_1_1"] == 1
    with open_store() as store:
        assert store.queue_stats()["parked"] == 0


@pytest.mark.slow
def test_event_that_kills_the_worker_is_parked_after_max_attempts(tmp_path, monkeypatch, inject):
    inject(CRASH_ON_POISON)
    monkeypatch.setenv("CLAUDE_MEM_MAX_ATTEMPTS", "2")
    cwd = str(tmp_path)
    with no_worker_yet():  # queue it all first: the poison row has a batch-mate
        for event, payload in [prompt("K", cwd), bash("K", cwd, 0, command="echo POISON"),
                               bash("K", cwd, 1)]:
            assert run_hook(event, payload).returncode == 0
    assert control.ensure_worker() == "started"

    def settled():
        with open_store() as store:
            if store.queue_stats()["pending"] == 0:
                return "drained"
        # The lock is held from the moment a starter takes it until the worker is gone.
        return None if control.worker_lock_held() else "died"

    deaths = 0
    for _ in range(6):  # what the next hook would do each time: start a new worker
        if wait_for(settled, what="the worker to drain or die") == "drained":
            break
        deaths += 1
        assert control.ensure_worker() == "started"
    assert deaths == 2  # attempt 1 (with its batch-mate) and attempt 2 (alone), then parked
    with open_store() as store:
        parked = [dict(r) for r in store.parked_rows()]
    assert len(parked) == 1 and parked[0]["last_error"].startswith("gave up after 2 attempts")
    assert "POISON" in store_payload(parked[0]["id"])
    assert observation_ids() == {"toolu_K_1_1": 1}  # the innocent batch-mate made it


def store_payload(pending_id: int) -> str:
    with open_store() as store:
        return store.db.execute("SELECT payload FROM pending WHERE id = ?", (pending_id,)).fetchone()[0]


# -- redelivery ---------------------------------------------------------------------------


def test_the_same_payload_delivered_twice_is_stored_once(tmp_path, monkeypatch):
    cwd = str(tmp_path)
    a, b = bash("s1", cwd, 0), bash("s1", cwd, 1)
    # Twice within one batch (all queued before a worker starts), then again later.
    with no_worker_yet():
        for event, payload in [prompt("s1", cwd), a, a, b, a]:
            assert run_hook(event, payload).returncode == 0
    assert control.ensure_worker() == "started"
    wait_until_drained()
    for event, payload in [prompt("s1", cwd), a, b, stop("s1", cwd), stop("s1", cwd),
                           end("s1", cwd), end("s1", cwd)]:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    assert observation_ids() == {"toolu_s1_1_0": 1, "toolu_s1_1_1": 1}
    with open_store() as store:
        counts = store.counts()
        assert (counts["prompts"], counts["summaries"], counts["sessions"]) == (1, 1, 1)
        s1 = store.session_by_claude_id("s1")
        assert s1["status"] == "completed" and s1["runs"] == 1


def test_a_spool_import_repeated_after_a_crash_is_not_queued_twice(tmp_path):
    """The worker died between committing a spooled event and deleting its file."""
    cwd = str(tmp_path)
    # No prompt_id: nothing downstream would hide a duplicate row (it would be a 2nd prompt).
    payload = json.dumps({"session_id": "s1", "cwd": cwd, "hook_event_name": "UserPromptSubmit",
                          "prompt": "Explain the spool"})
    received_at = time.time()
    config.ensure_data_dir()
    with Store(config.db_path()) as store:
        store.enqueue("UserPromptSubmit", payload, received_at)
    spool = os.path.join(config.data_dir(), "spool")
    os.makedirs(spool, mode=0o700)
    with open(os.path.join(spool, f"{time.time_ns()}-1.UserPromptSubmit.json"), "w") as fh:
        fh.write(f"{received_at!r}\n{payload}")
    with open(os.path.join(spool, f"{time.time_ns()}-2.Stop.json"), "w") as fh:
        fh.write("not a time\n{}")  # unreadable: set aside, not retried forever
    assert control.ensure_worker() == "started"
    wait_until_drained()
    with open_store() as store:
        assert store.counts()["prompts"] == 1
    assert os.listdir(os.path.join(spool, "bad")) and not [
        n for n in os.listdir(spool) if n.endswith(".json")]
