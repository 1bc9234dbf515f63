"""One write per hook: what SessionStart and UserPromptSubmit show a session from memory
(``shown_memory``, so prompt recall does not repeat it) is committed in the same
transaction as the hook's queued event, through the real hook processes.

The worker is held in its start (``held_worker_start``) while the hooks run, so their
queued rows are still there to compare with: a row of the event and the items it showed
carry the one timestamp ``hooks.enqueue`` took for that write.
"""
import json

import pytest

from claude_mem import control
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
