"""One write per hook: what SessionStart and UserPromptSubmit show a session from memory
(``shown_memory``, so prompt recall does not repeat it) is committed in the same
transaction as the hook's queued event, through the real hook processes.

The worker is held in its start (``held_worker_start``) while the hooks run, so their
queued rows are still there to compare with: a row of the event and the items it showed
carry the one timestamp ``hooks.enqueue`` took for that write.
"""
import json
import os
import subprocess
import sys

import pytest

from claude_mem import config, control, wakeup
from claude_mem.store.db import AUTOCHECKPOINT_PAGES
from helpers import held_worker_start, open_store, run_hook, wait_until_drained

CWD = "/home/dev/acme-billing"

pytestmark = pytest.mark.usefixtures("no_strays")


@pytest.fixture
def held_worker(recorded, tmp_path, inject):
    """The recorded session in memory, then no worker running and the next one held."""
    for event, payload in recorded:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    assert control.stop_worker()
    gate = tmp_path / "worker-may-start"
    inject(held_worker_start(gate))
    yield
    gate.touch()
    wait_until_drained()


def queued(event: str, session: str) -> list[dict]:
    with open_store() as store:
        rows = store.db.execute("SELECT payload, received_at FROM pending WHERE event = ?",
                                (event,)).fetchall()
    return [dict(row) for row in rows if json.loads(row["payload"]).get("session_id") == session]


def shown_at(session: str) -> set:
    with open_store() as store:
        return {row[0] for row in store.db.execute(
            "SELECT shown_at FROM shown_memory WHERE claude_session_id = ?", (session,))}


def test_session_start_records_what_it_showed_with_its_event(held_worker):
    # Rendered by the hook (no rendering ahead): a new session started from the worker's
    # rendering queues no event at all, only what it showed (tests/test_start_cache.py).
    with open_store() as store:
        store.drop_project_contexts("acme-billing")
    done = run_hook("SessionStart", {"session_id": "s-start", "transcript_path": "/x.jsonl",
                                     "cwd": CWD, "hook_event_name": "SessionStart",
                                     "source": "startup"})
    assert done.returncode == 0 and b"additionalContext" in done.stdout
    [row] = queued("SessionStart", "s-start")
    assert shown_at("s-start") == {row["received_at"]}, "one write: the event and what it showed"


def test_a_recalled_prompt_is_queued_with_what_it_showed(held_worker):
    payload = {"session_id": "s-prompt", "transcript_path": "/x.jsonl", "cwd": CWD,
               "hook_event_name": "UserPromptSubmit",
               "prompt": "Why did test_total_with_discount_and_tax fail before the fix?"}
    done = run_hook("UserPromptSubmit", payload)
    assert done.returncode == 0 and b"additionalContext" in done.stdout
    [row] = queued("UserPromptSubmit", "s-prompt")
    assert shown_at("s-prompt") == {row["received_at"]}, "one write: the prompt and its recall"
    # An unrelated prompt shows nothing: its event is queued alone, nothing recorded.
    done = run_hook("UserPromptSubmit", {**payload, "session_id": "s-other",
                                         "prompt": "Translate the onboarding email into Spanish."})
    assert done.returncode == 0 and done.stdout == b""
    assert len(queued("UserPromptSubmit", "s-other")) == 1 and shown_at("s-other") == set()


def _wal_frames() -> tuple[int, int]:
    """(frames in the WAL, frames of it already copied into the database), read from the
    WAL index's header (``mxFrame`` at byte 16, ``nBackfill`` at byte 96) by another process:
    closing a descriptor of the file here would drop this process's SQLite locks on it."""
    code = ("import struct, sys; head = open(sys.argv[1], 'rb').read(100); "
            "print(struct.unpack_from('<I', head, 16)[0], struct.unpack_from('<I', head, 96)[0])")
    done = subprocess.run([sys.executable, "-c", code, config.db_path() + "-shm"],
                          capture_output=True, text=True, check=True)
    frames, copied = done.stdout.split()
    return int(frames), int(copied)


def _grow_wal_past_the_automatic_checkpoint(store) -> None:
    """A WAL holding more frames than a hook's automatic checkpoint waits for, none copied."""
    store.stop_automatic_checkpoints()
    store.db.execute("CREATE TABLE IF NOT EXISTS test_bulk (data BLOB)")
    with store.write():
        store.db.executemany("INSERT INTO test_bulk VALUES (?)",
                             [(os.urandom(3000),) for _ in range(AUTOCHECKPOINT_PAGES + 500)])
    frames, copied = _wal_frames()
    assert frames > AUTOCHECKPOINT_PAGES and copied == 0


def test_a_hook_leaves_checkpoints_to_a_running_worker_and_makes_them_without_one(held_worker):
    # Its automatic checkpoint syncs the WAL and the database inside the hook's COMMIT
    # (25-45 ms in a drain): a running worker checkpoints by itself, outside any hook.
    start = {"transcript_path": "/x.jsonl", "cwd": CWD, "hook_event_name": "SessionStart",
             "source": "startup"}
    keeper = open_store()  # open throughout: the last connection to close removes the WAL
    try:
        keeper.drop_project_contexts("acme-billing")  # rendered by the hook: it queues its event
        _grow_wal_past_the_automatic_checkpoint(keeper)
        _hooks_with_and_without_a_worker(start)
    finally:
        keeper.close()


def _hooks_with_and_without_a_worker(start: dict) -> None:
    fifo = wakeup.make()  # a worker's end of the wake-up FIFO: "a worker is running"
    try:
        done = run_hook("SessionStart", {**start, "session_id": "s-worker-runs"})
        assert done.returncode == 0 and queued("SessionStart", "s-worker-runs")
        assert b"h" in wakeup.drain(fifo), "the hook announced itself to the worker"
    finally:
        wakeup.remove()
        os.close(fifo)
    frames, copied = _wal_frames()
    assert frames > AUTOCHECKPOINT_PAGES and copied == 0, "the hook copied nothing"
    # No worker reads: the hook's commit checkpoints (the WAL must not grow without end).
    done = run_hook("SessionStart", {**start, "session_id": "s-no-worker"})
    assert done.returncode == 0 and queued("SessionStart", "s-no-worker")
    frames, copied = _wal_frames()
    assert copied == frames > AUTOCHECKPOINT_PAGES, "copied by the hook's own checkpoint"
