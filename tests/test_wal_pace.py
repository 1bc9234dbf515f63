"""A bulk writer checkpoints in pieces and begins the next WAL itself (``store.wal_pace``):
the WAL stays small, nothing is lost, and a hook committing right after such a checkpoint
appends to the WAL instead of restarting it (a restart syncs, holding the write lock).

Real SQLite files, real hook processes; how long anything took is the bench's business
(``bench/lock_budget.py``), never asserted here."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from claude_mem import config
from claude_mem.store import Store, wal_pace
from helpers import fill_edits, hook_argv, no_worker_yet

_PAYLOAD = "x" * 240_000  # a big tool response: 16 fill a step with ~4 MB of pages


def _wal_frames() -> list[int]:
    """The page number of each frame of the current WAL: its 32-byte header, then 24-byte
    frame headers each followed by a page, up to the first frame whose salt (bytes 8-16)
    is not the header's (bytes 16-24): frames left from before the WAL was restarted."""
    try:
        data = open(config.db_path() + "-wal", "rb").read()
    except FileNotFoundError:
        return []
    if len(data) < 32:
        return []
    page_size = int.from_bytes(data[8:12], "big")
    frames = []
    for at in range(32, len(data) - 24 - page_size + 1, 24 + page_size):
        if data[at + 8:at + 16] != data[16:24]:
            break
        frames.append(int.from_bytes(data[at:at + 4], "big"))
    return frames


def _bulk_step(store, n: int) -> None:
    """One housekeeping step that writes about 4 MB (as a forget step writes pages)."""
    with store.housekeeping_step(), store.write():
        for k in range(16):
            store.enqueue("PostToolUse", json.dumps({"session_id": "bulk", "n": n, "k": k,
                                                     "pad": _PAYLOAD}))


def test_bulk_steps_checkpoint_in_pieces_so_the_wal_stays_small():
    with Store(config.db_path()) as store:
        pace = store.wal_pace()
        for n in range(12):  # ~48 MB through the WAL
            _bulk_step(store, n)
        assert pace.checkpoints >= 3 and pace.restarts >= 3
        # Without the pieces (automatic checkpoints off, as for the worker) the WAL would
        # hold all of it; here it was begun again after every few megabytes.
        assert os.path.getsize(config.db_path() + "-wal") < 2 * wal_pace.CHECKPOINT_BYTES
        assert store.queue_stats()["pending"] == 12 * 16  # nothing lost
        assert store.integrity() == "ok"


def test_a_forget_checkpoints_as_it_goes_and_loses_nothing(monkeypatch):
    # Pieces of 1 MB: this small project's forget writes a few MB, a large one's hundreds.
    monkeypatch.setattr(wal_pace, "CHECKPOINT_BYTES", 1 << 20)
    with Store(config.db_path()) as store:
        fill_edits(store, "big", 12, 150)
        fill_edits(store, "kept", 3, 20)
    with Store(config.db_path()) as store:  # the forget command's own connection
        counts = store.forget_project("big")
        pace = store.wal_pace()
        assert counts["observations"] == 1800 and store.project_row_count("big") == 0
        assert store.project_row_count("kept") == 60 and store.search("zzqkept")
        assert pace.checkpoints >= 1 and pace.restarts >= 1
        merged, truncated = store.scrub()
        assert merged and truncated
        assert store.integrity() == "ok"


def test_a_hook_right_after_a_bulk_writers_checkpoint_syncs_nothing():
    """The bulk writer's checkpoint copied the whole WAL; it then wrote page 1 into a new
    one itself, so the next commit (a hook's) appends: no header sync, no folder sync,
    while holding the write lock."""
    with no_worker_yet():
        with Store(config.db_path()) as store:
            pace = store.wal_pace()
            n = 0
            while pace.restarts == 0:  # until a step's checkpoint has just begun the WAL
                _bulk_step(store, n)
                n += 1
            assert _wal_frames() == [1]
            strace = shutil.which("strace")
            if strace is None:  # the WAL's shape above is the part every machine checks
                pytest.skip("strace is not installed: the hook's syncs are not counted here")
            trace = os.path.join(config.data_dir(), "hook.strace")
            payload = {"session_id": "hook-after-bulk", "hook_event_name": "PostToolUse",
                       "cwd": str(config.data_dir()), "tool_name": "Bash",
                       "tool_use_id": "toolu_after_bulk", "tool_input": {"command": "ls"},
                       "tool_response": {"stdout": "a", "stderr": ""}}
            done = subprocess.run([strace, "-f", "-e", "trace=fsync,fdatasync", "-o", trace,
                                   *hook_argv("PostToolUse")],
                                  input=json.dumps(payload).encode(), capture_output=True,
                                  timeout=60)
            assert done.returncode == 0
            assert store.queue_stats()["pending"] == 16 * n + 1  # the hook's event is in
            assert [line for line in open(trace) if "sync(" in line] == []


def test_a_restart_a_reader_kept_off_is_tried_again_until_it_happens():
    """A reader on the newest pages lets the checkpoint copy everything but keeps SQLite
    from restarting the WAL (the restart's commit only appends): the next call checkpoints
    and begins it again, instead of letting the WAL grow another ``CHECKPOINT_BYTES``."""
    import sqlite3

    with Store(config.db_path()) as store:
        pace = store.wal_pace()
        for n in range(3):  # plain write units: no step, so no checkpoint yet
            with store.write():
                for k in range(16):
                    store.enqueue("PostToolUse", json.dumps({"n": n, "k": k, "pad": _PAYLOAD}))
        reader = sqlite3.connect(config.db_path(), isolation_level=None)
        try:
            reader.execute("BEGIN")
            assert reader.execute("SELECT count(*) FROM pending").fetchone()[0] == 48
            assert pace.after_write()  # checkpointed, the WAL copied whole ...
            assert pace.restarts == 0  # ... but not restarted while the reader reads
            assert len(_wal_frames()) > 1
        finally:
            reader.execute("COMMIT")
            reader.close()
        assert pace.after_write() and pace.restarts == 1  # tried again at the next call
        assert _wal_frames() == [1]
        assert not pace.due()


def test_a_drain_pass_over_a_backlog_checkpoints_between_its_units(tmp_path, monkeypatch):
    # A pass over a backlog wrote up to ~50 MB of WAL before the worker's checkpoint after
    # the pass: the WAL's cycles, and its file, were that long. Now the pass itself copies
    # and begins the WAL between two units once the pace is due (drain._step_aside).
    from faultkit import bash, prompt, stop
    from claude_mem.worker import Worker

    monkeypatch.setattr(wal_pace, "CHECKPOINT_BYTES", 64 * 1024)
    cwd = str(tmp_path)
    events = []
    for s in range(60):  # each session's units are separate write units (not quiet)
        events.append(prompt(f"S{s}", cwd))
        events += [bash(f"S{s}", cwd, i, command=f"cat notes-{s}-{i}.txt") for i in range(2)]
        events.append(stop(f"S{s}", cwd))
    with Store(config.db_path()) as store:
        with store.write():
            for event, payload in events:
                store.enqueue(event, json.dumps(payload))
    w = Worker(config.load())
    try:
        assert w.store.scrub_files()  # the WAL file from nothing: what the pass makes of it
        pace = w.store.wal_pace()
        checkpoints, restarts = pace.checkpoints, pace.restarts
        assert w.drain.run(limit=len(events))  # one pass over every row
        # Begun again inside the pass (before: only after it, by the worker's loop). How
        # often depends on the machine: a checkpoint is a housekeeping step, and the next
        # one waits for the gap after it (budget.StepTurn).
        assert pace.checkpoints - checkpoints >= 2 and pace.restarts - restarts >= 2
        assert w.store.queue_stats()["pending"] == 0  # nothing lost
        assert w.store.integrity() == "ok"
    finally:
        w.close()
