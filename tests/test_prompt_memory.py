"""PromptMemory serves what the store holds for a request, reading only what is new."""
from __future__ import annotations

import pytest

from claude_mem import config
from claude_mem.models import Observation
from claude_mem.prompt_memory import PromptMemory
from claude_mem.store import Store


class CountingStore:
    """The real store, counting the observation rows it decodes for PromptMemory."""

    def __init__(self, store):
        self.store, self.decoded = store, 0

    def prompt_observations_mark(self, *args):
        return self.store.prompt_observations_mark(*args)

    def observations_for_prompt(self, *args, **kwargs):
        rows = self.store.observations_for_prompt(*args, **kwargs)
        self.decoded += len(rows)
        return rows


@pytest.fixture
def store():
    s = Store(config.db_path())
    with s.write():
        session = s.open_session("pm", "proj", "/w/proj", 1.0)
        s.add_prompt(session["id"], "p1", "fix it", 1.0)
    yield s
    s.close()


def add(store, n, start=0):
    with store.write():
        for i in range(start, start + n):
            store.add_observation(1, "proj", 1, Observation(type="discovery", title=f"step {i}"),
                                  f"h{i}", "heuristic", float(i))


def test_serves_the_store_s_rows_and_decodes_each_row_once(store):
    counting = CountingStore(store)
    memory = PromptMemory(counting)
    for batch in range(50):
        add(store, 10, batch * 10)
        got = memory.observations(1, 1)
        assert [o["id"] for o in got] == [o["id"] for o in store.observations_for_prompt(1, 1)]
    assert len(got) == 500
    assert counting.decoded == 500  # linear: each row read once, not 25,500 times


def test_rows_deleted_behind_its_back_are_not_served(store):
    memory = PromptMemory(store)
    add(store, 5)
    assert len(memory.observations(1, 1)) == 5
    with store.write():
        store.db.execute("DELETE FROM observations WHERE title = 'step 2'")
    assert [o["title"] for o in memory.observations(1, 1)] == ["step 0", "step 1", "step 3", "step 4"]
    with store.write():
        store.db.execute("DELETE FROM observations WHERE title = 'step 0'")
    add(store, 1, 9)
    assert [o["title"] for o in memory.observations(1, 1)] == ["step 1", "step 3", "step 4", "step 9"]


def test_keeps_only_recent_requests(store):
    memory = PromptMemory(store, capacity=2)
    for prompt in (1, 2, 3):
        memory.observations(1, prompt)
    assert list(memory._cached) == [(1, 2), (1, 3)]
    memory.forget(1)
    assert not memory._cached


def test_rows_the_worker_stored_are_kept_as_a_reader_reads_them(store):
    """The worker hands over the rows it stored (``store_observation``): the request's next
    read serves them without decoding anything, equal to what the table gives back, and a
    row another writer added meanwhile makes it read again."""
    counting = CountingStore(store)
    memory = PromptMemory(counting)
    add(store, 2)
    assert len(memory.observations(1, 1)) == 2
    made = [Observation(type="change", title="Édité « x »", subtitle="", narrative="n",
                        facts=("Change: `a` → `b`", "- a", "+ b"), concepts=("edit",),
                        files_modified=("src/é.py",), tool_name="Edit", tool_use_id="t1"),
            Observation(type="discovery", title="Read y", tool_name="Read")]
    with store.write():
        rows = [store.store_observation(1, "proj", 1, obs, f"k{n}", "heuristic", 7 + n)
                for n, obs in enumerate(made)]  # an int time: a REAL column gives a float
        assert store.store_observation(1, "proj", 1, made[0], "k0", "heuristic", 9.0) is None
    assert rows == store.observations_for_prompt(1, 1)[2:]
    memory.stored(1, 1, rows)
    before = counting.decoded
    assert list(memory.observations(1, 1)) == store.observations_for_prompt(1, 1)
    assert counting.decoded == before  # served from what was handed over
    add(store, 1, 5)  # another writer's row, then the worker's next one
    with store.write():
        more = [store.store_observation(1, "proj", 1, made[1], "k9", "heuristic", 10.0)]
    memory.stored(1, 1, more)
    assert list(memory.observations(1, 1)) == store.observations_for_prompt(1, 1)
    assert counting.decoded > before  # the mark told the copy was not the table's
