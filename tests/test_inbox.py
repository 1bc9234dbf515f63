"""The shell capture hook (``capture.sh``) and the worker's inbox: the same rows as the
Python hook, in order, never lost, the Python hook whenever the script cannot be sure.

Real processes throughout: the script runs as ``install`` writes it (through ``sh -c``, as
Claude Code runs a hook), the Python hook as a process, the worker's own ``inbox.take_in``
on a real SQLite file.
"""
from __future__ import annotations

import json
import os
import subprocess
import time

from claude_mem import config, inbox, install, wakeup
from helpers import (HOOK_NAME, close_inbox, load_fixture, no_worker_yet, open_inbox, open_store,
                     queued, run_hook, wait_for, wait_for_background_hooks, wait_until_drained)

SECRET = "AKIAIOSFODNN7EXAMPLE"


def shell_hook(event: str, payload, *, env: dict | None = None, cwd=None):
    """``capture.sh`` as Claude Code runs it: the installed command through ``sh -c``."""
    data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    command = install.capture_command(HOOK_NAME[event])
    return subprocess.run(["sh", "-c", command], input=data.encode() if isinstance(data, str) else data,
                          capture_output=True, env={**os.environ, **(env or {})}, cwd=cwd,
                          timeout=30)


def cases(tmp_path) -> list[tuple]:
    """``(event, payload, cwd, env)``: a recorded session's capture events, then payloads
    that exercise every rule of a hook's capture."""
    ignored = tmp_path / "ignored-project"
    ignored.mkdir(exist_ok=True)
    (ignored / ".claude-mem-ignore").write_text("")
    plain = tmp_path / "project"
    plain.mkdir(exist_ok=True)
    by_setting = tmp_path / "side-excluded"
    by_setting.mkdir(exist_ok=True)
    found = [(event, payload, plain, {}) for event, payload in load_fixture()
             if event in inbox.EVENTS]
    tool = {**next(payload for event, payload, _, _ in found if event == "PostToolUse"),
            "prompt_id": "a-later-request"}
    found += [
        ("PostToolUse", {**tool, "tool_use_id": "toolu_secret",
                         "tool_response": {"stdout": f"export AWS_ACCESS_KEY_ID={SECRET}\n"
                                                     "password=hunter2hunter2 <private>my diary</private>"}},
         plain, {}),
        ("PostToolUse", {**tool, "tool_use_id": "toolu_long", "tool_response": "x" * 20000 + " end"},
         plain, {}),
        ("PostToolUse", {**tool, "tool_use_id": "toolu_ignored_cwd"}, ignored, {}),
        ("PostToolUse", {**tool, "tool_use_id": "toolu_ignored_by_setting"}, by_setting, {}),
        ("PostToolUse", {**tool, "tool_use_id": "toolu_ignored_env"}, plain,
         {"CLAUDE_PROJECT_DIR": str(ignored)}),
        ("PostToolUse", {**tool, "tool_use_id": "toolu_unicode", "tool_response": "naïve ☃ \udce9"},
         plain, {}),
        ("PostToolUse", "not json at all", plain, {}),
        ("PostToolUse", '{"session_id": "cut', plain, {}),
        ("Stop", "", plain, {}),
    ]
    return found


def test_the_shell_hook_stores_the_rows_the_python_hook_stores(tmp_path, monkeypatch):
    """Every capture event through the Python hook into one data dir, and through
    ``capture.sh`` plus the worker's take-in into another: the same rows, in the same order
    (settings.json's capture settings count for both)."""
    rows = {}
    for way in ("python", "shell"):
        monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / way))
        with no_worker_yet():
            config.set_value("max_tool_output_chars", 1000)
            config.set_value("exclude_projects", ["*-excluded"])
            fifo = open_inbox() if way == "shell" else None
            for event, payload, cwd, env in cases(tmp_path):
                if way == "python":
                    result = subprocess.run(run_argv(event), input=_bytes(payload), cwd=cwd,
                                            capture_output=True, env={**os.environ, **env},
                                            timeout=30)
                else:
                    result = shell_hook(event, payload, env=env, cwd=cwd)
                    time.sleep(0.002)  # the files' times are the kernel's coarse clock
                assert result.returncode == 0 and result.stdout == b"", result
            if way == "shell":
                assert len(inbox.waiting()) == len(cases(tmp_path))
                assert wakeup.drain(fifo).count(b"w") == len(cases(tmp_path))
                with open_store() as store:
                    while inbox.take_in(store):
                        pass
                assert inbox.waiting() == []
                close_inbox(fifo)
            rows[way] = queued()
    assert len(rows["python"]) == len(cases(tmp_path)) - 6  # 2 ignored, 3 not JSON, 1 empty
    assert rows["shell"] == rows["python"]
    stored = "\n".join(payload for _, payload, _ in rows["shell"])
    assert SECRET not in stored and "hunter2hunter2" not in stored and "my diary" not in stored
    ids = [json.loads(payload)["tool_use_id"] for event, payload, _ in rows["shell"]
           if event == "PostToolUse"]
    assert not [i for i in ids if "ignored" in i], ids


def run_argv(event: str) -> list[str]:
    return [install.sys.executable, "-I", "-S", install.ENTRY, HOOK_NAME[event]]


def _bytes(payload) -> bytes:
    return (payload if isinstance(payload, str) else json.dumps(payload)).encode()


def test_times_order_and_a_late_tool_event_before_its_stop(tmp_path):
    """A file's time is when its hook created it (its access time); files of one moment keep
    their writers' order; a tool event whose file is newer than its request's Stop goes just
    before that Stop."""
    tool = next(p for e, p in load_fixture() if e == "PostToolUse")
    stop = next(p for e, p in load_fixture() if e == "Stop" and p["session_id"] == tool["session_id"])
    assert stop.get("prompt_id") == tool["prompt_id"]
    with no_worker_yet():
        fifo = open_inbox()
        assert shell_hook("Stop", stop).returncode == 0
        assert shell_hook("PostToolUse", tool).returncode == 0
        [stop_file] = [n for n in inbox.waiting() if n.endswith(".Stop")]
        [tool_file] = [n for n in inbox.waiting() if n.endswith(".PostToolUse")]
        folder = config.inbox_dir()
        made = os.stat(os.path.join(folder, stop_file))
        stamp = min(made.st_atime_ns, made.st_mtime_ns)
        os.utime(os.path.join(folder, tool_file), ns=(stamp + 10**9, stamp + 10**9))
        with open_store() as store:
            assert inbox.take_in(store) == 2
            batch = store.pending_batch()
        close_inbox(fifo)
    assert [r["event"] for r in batch] == ["PostToolUse", "Stop"]
    assert batch[1]["received_at"] == stamp / 1e9
    assert stamp / 1e9 - 0.001 < batch[0]["received_at"] < stamp / 1e9


def test_a_file_taken_in_twice_is_queued_once_and_a_secret_is_overwritten(tmp_path):
    """A worker killed between the commit and the file's removal finds it again: not queued
    twice. The bytes of a payload that held a secret are overwritten before removal."""
    tool = next(p for e, p in load_fixture() if e == "PostToolUse")
    with no_worker_yet():
        fifo = open_inbox()
        assert shell_hook("PostToolUse", {**tool, "tool_response": f"key {SECRET}"}).returncode == 0
        [name] = inbox.waiting()
        path = os.path.join(config.inbox_dir(), name)
        keep = tmp_path / "copy"
        os.link(path, keep)  # the same inode: what take_in leaves of the bytes
        saved = keep.read_bytes()
        stamp = os.stat(path).st_mtime_ns
        with open_store() as store:
            assert inbox.take_in(store) == 1
            assert set(keep.read_bytes()) == {0}
            (tmp_path / "again").write_bytes(saved)
            os.replace(tmp_path / "again", path)
            os.utime(path, ns=(stamp, stamp))
            assert inbox.take_in(store) == 1
            rows = store.pending_batch()
        close_inbox(fifo)
    assert len(rows) == 1 and SECRET not in rows[0]["payload"]


def test_the_python_hook_runs_whenever_the_script_cannot_be_sure(tmp_path, monkeypatch):
    """A capture setting in the environment, a data dir with ``..`` or not absolute, a
    running worker without an inbox (an older version): the Python hook stores the event
    itself, and the log says why (not for a setting: a choice). The memory-maker's own
    process records nothing. No worker running is no reason: the event goes into the inbox
    (made if need be) and a worker is started for it."""
    tool = next(p for e, p in load_fixture() if e == "PostToolUse")
    (tmp_path / "elsewhere").mkdir()
    data = str(config.data_dir())
    variants = [({"CLAUDE_MEM_MAX_TOOL_OUTPUT_CHARS": "500"}, "env-setting"),
                ({"CLAUDE_MEM_EXCLUDE_PROJECTS": ""}, "env-empty-setting"),
                ({"CLAUDE_MEM_DATA_DIR": str(tmp_path / "elsewhere" / ".." / "data")}, "dotdot")]
    with no_worker_yet():
        fifo = open_inbox()
        for env, label in variants:
            assert shell_hook("PostToolUse", {**tool, "tool_use_id": f"toolu_{label}"},
                              env=env).returncode == 0
        assert shell_hook("PostToolUse", {**tool, "tool_use_id": "toolu_internal"},
                          env={"CLAUDE_MEM_INTERNAL": "1"}).returncode == 0
        wait_for_background_hooks(data)
        assert inbox.waiting() == []
        inbox.unmake()  # its mark for the prompt hook (hook_inbox.PROMPTS_MARK)
        os.rmdir(config.inbox_dir())  # a worker that reads no inbox holds the FIFO
        assert shell_hook("PostToolUse", {**tool, "tool_use_id": "toolu_older_worker"}).returncode == 0
        wait_for_background_hooks(data)
        close_inbox(fifo)
        wakeup.remove()
        stored = queued()
        # No worker (the lock is held here, as by a worker still starting): into the inbox,
        # made by the script, and the worker's start is asked for.
        for label in ("no_worker_no_inbox", "no_worker"):
            assert shell_hook("PostToolUse", {**tool, "tool_use_id": f"toolu_{label}"}).returncode == 0
        wait_for_background_hooks(data)
        assert oct(os.stat(config.inbox_dir()).st_mode & 0o777) == "0o700"
        waiting = sorted(inbox.waiting())
        assert len(waiting) == 2 and queued() == stored
        with open_store() as store:
            assert inbox.take_in(store) == 2
            ids = [json.loads(payload)["tool_use_id"] for payload in
                   (r["payload"] for r in store.pending_batch(1000))]
    assert ids[-2:] == ["toolu_no_worker_no_inbox", "toolu_no_worker"]
    ids = [json.loads(payload)["tool_use_id"] for _, payload, _ in stored]
    assert sorted(ids) == sorted(["toolu_env-setting", "toolu_env-empty-setting", "toolu_dotdot",
                                  "toolu_older_worker"])
    assert all(cleaned for _, _, cleaned in stored)
    said = open(config.log_path()).read()
    assert ("capture.sh ran the Python hook (post-tool-use): the data dir's path has a .. in it"
            in said)
    assert ("capture.sh ran the Python hook (post-tool-use): the running worker has no inbox"
            in said)
    assert said.count("capture.sh ran the Python hook (wake-worker): no worker running: "
                      "starting one for the event in the inbox") == 2
    assert said.count("capture.sh ran the Python hook") == 4


def test_a_running_worker_takes_files_in_and_a_waiting_file_is_not_lost(tmp_path, worker):
    """With the worker running, a shell hook's event is processed at once (the FIFO wakes it);
    a file left while no worker ran is taken in by the next worker, started for it by
    ``hook_entry --background wake-worker`` (what the script runs when the worker left)."""
    events = [(e, p) for e, p in load_fixture() if e != "PreToolUse"][:16]
    for event, payload in events:
        if event in inbox.EVENTS:
            assert shell_hook(event, payload).returncode == 0
        else:
            assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    with open_store() as store:
        tools = store.db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
        summaries = store.db.execute("SELECT COUNT(*) FROM summaries").fetchone()[0]
    assert tools >= 5 and summaries >= 1
    from claude_mem import control

    # A worker killed with -9 leaves its FIFO and pid file behind: the hook's file goes into
    # the inbox, and the script, finding no live worker, starts one to take it in.
    assert control.stop_worker()
    os.mkfifo(config.wake_path(), 0o600)
    dead = subprocess.Popen(["true"])
    dead.wait()
    with open(config.pid_path(), "w") as fh:
        fh.write(str(dead.pid))
    tool = next(p for e, p in load_fixture() if e == "PostToolUse")
    assert shell_hook("PostToolUse", {**tool, "tool_use_id": "toolu_left"}).returncode == 0
    wait_until_drained()
    assert control.worker_lock_held() and inbox.waiting() == []
    with open_store() as store:
        assert "toolu_left" in store.processed_tool_uses(
            store.session_by_claude_id(tool["session_id"])["id"], ["toolu_left"])


def test_a_file_still_being_written_waits_and_an_unfinished_one_is_moved_aside(tmp_path):
    """No end mark: the hook is still writing, the worker leaves the file for a later pass;
    still none long after its last write (its hook was killed): moved to inbox/bad."""
    tool = next(p for e, p in load_fixture() if e == "PostToolUse")
    with no_worker_yet():
        fifo = open_inbox()
        assert shell_hook("PostToolUse", tool).returncode == 0
        [name] = inbox.waiting()
        path = os.path.join(config.inbox_dir(), name)
        whole = open(path, "rb").read()
        assert whole.endswith(inbox.END)
        with open(path, "wb") as fh:
            fh.write(whole[:-len(inbox.END) - 10])
        with open_store() as store:
            assert inbox.take_in(store) == 0 and inbox.waiting() == [name]
            with open(path, "ab") as fh:  # the hook finishes
                fh.write(whole[-len(inbox.END) - 10:])
            assert inbox.take_in(store) == 1 and inbox.waiting() == []
            assert len(store.pending_batch()) == 1
            assert shell_hook("PostToolUse", {**tool, "tool_use_id": "toolu_killed"}).returncode == 0
            [name] = inbox.waiting()
            path = os.path.join(config.inbox_dir(), name)
            with open(path, "r+b") as fh:
                fh.truncate(os.path.getsize(path) - 5)
            old = time.time() - inbox.UNFINISHED_SECONDS - 1
            os.utime(path, (old, old))
            assert inbox.take_in(store) == 1 and inbox.waiting() == []
            assert os.listdir(os.path.join(config.inbox_dir(), "bad")) == [name]
            assert len(store.pending_batch()) == 1
        close_inbox(fifo)


def test_capture_sh_hands_over_every_setting_the_capture_reads():
    """The settings ``hooks.capture_payload`` reads (recorded while it cleans payloads that
    take every path: plain, a secret, a long output, one over ``max_payload_bytes``, an
    opted-out project) are exactly the ones whose environment variable makes ``capture.sh``
    run the Python hook instead: the worker reads only settings.json."""
    import re

    from claude_mem import hooks

    read = set()

    class Recording(config.Settings):
        __slots__ = ()

        def __getattr__(self, name):
            read.add(name)
            return super().__getattr__(name)

    settings = Recording(dict(config.DEFAULTS), [])
    tool = next(p for e, p in load_fixture() if e == "PostToolUse")
    for payload in (tool, {**tool, "tool_response": f"key={SECRET}"},
                    {**tool, "tool_response": "y" * 30000 + " password=hunter2hunter2"},
                    {**tool, "tool_response": "z" * 2_000_000}):
        for project_dir in ("", "/tmp/somewhere"):
            hooks.capture_payload("PostToolUse", json.dumps(payload), settings, project_dir)
    script = open(install.CAPTURE_SCRIPT).read()
    handed_over = {m.lower() for m in re.findall(r"\$\{CLAUDE_MEM_([A-Z_]+)\+x\}", script)}
    assert read == handed_over, (read, handed_over)
