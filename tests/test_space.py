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
