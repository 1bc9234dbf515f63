"""The SQLite store: migrations, queue, idempotent prompts, dedup, FTS kept in sync."""
from __future__ import annotations

import os
import stat
import time

import pytest
from hypothesis import given, settings, strategies as st

from claude_mem import config
from claude_mem.models import Observation, Summary
from claude_mem.store import MIGRATIONS, Store, fts_query


@pytest.fixture
def store():
    s = Store(config.db_path())
    yield s
    s.close()


def test_migrations_are_recorded_and_reopening_applies_nothing(store):
    names = [r[0] for r in store.db.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert names == [m.__name__ for m in MIGRATIONS]
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    again = Store(config.db_path())
    assert again.migrate() == []
    again.close()
    # Opening skips importing the migrations when the file records this version.
    from claude_mem.store import db

    assert db.SCHEMA_VERSION == len(MIGRATIONS)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_database_and_folder_are_private(store):
    assert stat.S_IMODE(os.stat(config.db_path()).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(config.data_dir()).st_mode) == 0o700


def test_a_failed_write_rolls_back_everything(store):
    with pytest.raises(RuntimeError):
        with store.write():
            store.enqueue("PostToolUse", "{}")
            raise RuntimeError("boom")
    assert store.queue_stats()["pending"] == 0


def test_prompts_are_numbered_once_per_prompt_id(store):
    with store.write():
        session = store.open_session("s", "proj", "/p", time.time())
        assert store.add_prompt(session["id"], "a", "first", time.time()) == 1
        assert store.add_prompt(session["id"], "a", "first", time.time()) == 1
        assert store.add_prompt(session["id"], "b", "second", time.time()) == 2
        assert store.prompt_number_for(session["id"], "b") == 2
        assert store.prompt_number_for(session["id"], None) == 2


def test_a_completed_session_reopens_on_new_activity(store):
    with store.write():
        session = store.open_session("s", "proj", "/p", 1.0)
        store.complete_session(session["id"], "other", 2.0)
        again = store.open_session("s", "proj", "/p", 3.0)
    assert again["id"] == session["id"] and again["status"] == "active" and again["runs"] == 2
    assert store.counts()["sessions"] == 1


def _obs(title="Ran `make test`", **kw):
    return Observation(type="discovery", title=title, facts=("Command: make test",),
                       files_read=("src/app.py",), **kw)


def test_observations_are_deduplicated_by_content_hash(store):
    with store.write():
        session = store.open_session("s", "proj", "/p", time.time())
        first = store.add_observation(session["id"], "proj", 1, _obs(), "h1", "heuristic", 1.0)
        second = store.add_observation(session["id"], "proj", 1, _obs(), "h1", "heuristic", 2.0)
    assert first is not None and second is None
    assert store.counts()["observations"] == 1


def test_fts_follows_inserts_updates_and_deletes(store):
    with store.write():
        session = store.open_session("s", "proj", "/p", time.time())
        oid = store.add_observation(session["id"], "proj", 1, _obs("Read parser.py"), "h", "x", 1.0)
    assert [h["id"] for h in store.search("parser")] == [oid]
    with store.write():
        store.db.execute("UPDATE observations SET title = 'Read lexer.py' WHERE id = ?", (oid,))
    assert store.search("parser") == [] and store.search("lexer")
    with store.write():
        store.db.execute("DELETE FROM observations WHERE id = ?", (oid,))
    assert store.search("lexer") == []


def test_search_ranks_title_hits_first_and_filters_by_project(store):
    with store.write():
        a = store.open_session("a", "alpha", "/a", 1.0)
        b = store.open_session("b", "beta", "/b", 1.0)
        weak = store.add_observation(a["id"], "alpha", 1, Observation(
            type="change", title="Tidied imports", narrative="mentions cache once"), "1", "x", 1.0)
        strong = store.add_observation(a["id"], "alpha", 1, Observation(
            type="change", title="Cache invalidation fixed"), "2", "x", 1.0)
        store.add_observation(b["id"], "beta", 1, Observation(type="change", title="cache"), "3", "x", 1.0)
        store.upsert_summary(a["id"], "alpha", 1, Summary(request="Speed up the cache"), "x", 1.0)
    hits = store.search("cache", project="alpha")
    assert {h["project"] for h in hits} == {"alpha"}
    obs_ids = [h["id"] for h in hits if h["kind"] == "observation"]
    assert obs_ids == [strong, weak]
    assert any(h["kind"] == "summary" for h in hits)


@pytest.mark.parametrize("query", ['"', "*", "AND", "NOT x", "a:b", "(", "-x", "NEAR(a b)", "x OR", "'"])
def test_user_queries_are_never_fts_syntax(store, query):
    store.search(query)  # must not raise


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_is_a_safe_query(text):
    s = Store(config.db_path())
    try:
        s.search(text)
    finally:
        s.close()


def test_fts_query_quotes_terms():
    assert fts_query('foo "bar" baz*') == '"foo" OR "bar" OR "baz"*'
    assert fts_query('say "exit code" ab"c') == '"say" OR "exit" OR "code" OR "ab" OR "c"'
    assert fts_query("   ") == ""


def test_summary_upsert_replaces_per_prompt(store):
    with store.write():
        s = store.open_session("s", "proj", "/p", 1.0)
        store.upsert_summary(s["id"], "proj", 1, Summary(request="r", completed="early"), "x", 1.0)
        store.upsert_summary(s["id"], "proj", 1, Summary(request="r", completed="final"), "x", 2.0)
    rows = store.recent_summaries("proj", 5)
    assert len(rows) == 1 and rows[0]["completed"] == "final"
    assert store.search("final") and not store.search("early")


def test_readers_return_plain_dicts_and_satisfy_the_memory_protocols(store):
    from claude_mem.store.protocol import MemoryReader, MemoryWriter

    assert isinstance(store, MemoryReader) and isinstance(store, MemoryWriter)
    with store.write():
        s = store.open_session("s", "proj", "/p", 1.0)
        store.add_prompt(s["id"], "a", "first", 1.0)
        store.enqueue("Stop", "{}")
    assert type(s) is dict and type(store.session(s["id"])) is dict
    assert type(store.prompt(s["id"], 1)) is dict
    assert all(type(r) is dict for r in store.sessions() + store.prompts(s["id"])
               + store.pending_batch() + store.active_sessions())


def test_projects_come_newest_activity_first(store):
    with store.write():
        store.open_session("a", "alpha", "/a", 1.0)
        store.open_session("b", "beta", "/b", 2.0)
        store.open_session("c", "alpha", "/a", 3.0)
    assert store.projects_by_recency() == ["alpha", "beta"]
    assert store.projects_by_recency(1) == ["alpha"]


def test_observations_around_one_count_both_sides(store):
    with store.write():
        s = store.open_session("s", "proj", "/p", 1.0)
        ids = [store.add_observation(s["id"], "proj", 1, _obs(f"step {i}"), f"h{i}", "t", 1.0 + i)
               for i in range(7)]
    around = store.observations_around(s["id"], ids[3], 2, 1)
    assert [o["id"] for o in around["earlier"]] == ids[1:3]
    assert [o["id"] for o in around["later"]] == ids[4:5]
    assert (around["earlier_total"], around["later_total"]) == (3, 3)


def test_enqueue_once_skips_an_event_already_queued(store):
    assert store.enqueue_once("Stop", '{"a": 1}', 5.0) is True
    assert store.enqueue_once("Stop", '{"a": 1}', 5.0) is False
    assert store.enqueue_once("Stop", '{"a": 1}', 6.0) is True
    assert store.queue_stats()["pending"] == 2
    assert store.newest_pending_id() == store.pending_batch()[-1]["id"]
