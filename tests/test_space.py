"""The database file gives space back: new files use incremental auto-vacuum, old ones
are converted once, and the worker returns what a drained backlog freed."""
from __future__ import annotations

import json
import os
import time

from claude_mem import config
from claude_mem.housekeeping import Housekeeping
from claude_mem.presence import HookPresence
from claude_mem.store import Store
from claude_mem.store.shown import SHOWN_KEEP_SECONDS
from claude_mem.store.driver import sqlite3


def test_a_new_database_uses_incremental_auto_vacuum():
    with Store(config.db_path()) as store:
        assert store.space_stats()["auto_vacuum"] == "incremental"


def test_an_old_database_is_converted_and_keeps_its_rows(tmp_path):
    path = str(tmp_path / "old.db")
    plain = sqlite3.connect(path)  # a file made before auto-vacuum: no pragma
    plain.execute("CREATE TABLE keep (x)")
    plain.commit()
    plain.close()
    with Store(path) as store:
        assert store.space_stats()["auto_vacuum"] == "none"
        assert store.convert_to_incremental() is True
        assert store.space_stats()["auto_vacuum"] == "incremental"
        assert store.convert_to_incremental() is False
        assert store.db.execute("SELECT count(*) FROM migrations").fetchone()[0] >= 1


def test_reclaiming_returns_the_pages_a_drained_queue_freed():
    with Store(config.db_path()) as store:
        payload = json.dumps({"session_id": "s", "tool_response": {"stdout": "x" * 1200}})
        with store.write():
            ids = [store.enqueue("PostToolUse", payload) for _ in range(3000)]
        full = os.path.getsize(config.db_path()) + os.path.getsize(config.db_path() + "-wal")
        with store.write():
            store.delete_pending(ids)
        assert store.space_stats()["free_pages"] > 256
        while store.reclaim_space(max_pages=500):
            pass
        stats = store.space_stats()
        assert stats["free_pages"] < 256
        # Truncated, then begun again with page 1 alone (db.start_wal: no hook syncs it).
        assert stats["wal_bytes"] <= 32 + 24 + 4096
        assert os.path.getsize(config.db_path()) < full / 3


def test_housekeeping_forgets_old_recall_records_so_no_hook_has_to():
    now = time.time()
    with Store(config.db_path()) as store:
        store.record_shown("old-session", [("observation", 1)], now - SHOWN_KEEP_SECONDS - 60)
        store.record_shown("new-session", [("observation", 2)], now)
        keeping = Housekeeping(store, HookPresence())
        keeping.when_idle()
        assert store.shown_memory("old-session") == set()
        assert store.shown_memory("new-session") == {("observation", 2)}
        # Once per maintenance interval, not on every idle pass.
        store.record_shown("old-again", [("summary", 3)], now - SHOWN_KEEP_SECONDS - 60)
        keeping.when_idle()
        assert store.shown_memory("old-again") == {("summary", 3)}



def test_the_worker_checkpoints_by_what_the_wal_holds_not_by_its_file_size():
    """The WAL file keeps its size after a checkpoint; ``after_work`` copies again once
    the rows stored since then, at the bytes per row the last checkpoint found, come to
    more than ``CHECKPOINT_BYTES``: not after every pass."""
    from claude_mem import housekeeping

    with Store(config.db_path()) as store:
        store.stop_automatic_checkpoints()
        keeper = Housekeeping(store, HookPresence())
        payload = json.dumps({"session_id": "s", "tool_response": {"stdout": "x" * 3000}})
        stored = 0

        def burst(rows: int) -> int:
            with store.write():
                for _ in range(rows):
                    store.enqueue("PostToolUse", payload)
            return stored + rows

        def frames_waiting() -> int:  # a second PASSIVE checkpoint finds them copied
            busy, log, copied = store.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return log

        wal = config.db_path() + "-wal"
        stored = burst(2000)  # ~6 MB: over the threshold
        keeper.after_work(stored)
        assert keeper.rows_since_checkpoint == 0  # copied
        per_row = keeper.bytes_per_row
        assert 2000 < per_row < 5000  # a 3 KB payload's page and a half
        assert os.path.getsize(wal) > housekeeping.CHECKPOINT_BYTES  # the file stays large
        passes = 0
        while keeper.rows_since_checkpoint * per_row <= housekeeping.CHECKPOINT_BYTES:
            stored = burst(100)  # small passes: each ~0.3 MB, the WAL begins again
            keeper.after_work(stored)
            passes += 1
            if keeper.rows_since_checkpoint == 0:
                break
        # Copied once the rows' bytes passed the threshold, not at the first small pass.
        assert passes >= 10 and keeper.rows_since_checkpoint == 0
        held = store.checkpoint_passive()
        assert held == frames_waiting() * (store.db.execute("PRAGMA page_size").fetchone()[0] + 24)
