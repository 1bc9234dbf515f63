"""What reaches the next session, through the real hooks and worker: wrappers, kept replies,
the thread's goal, sessions without a request."""
from __future__ import annotations

from helpers import context_from, open_store, run_hook, wait_until_drained

CWD = "/home/dev/ledger"
FINAL = ("Committed `7cd451c` \"Add Ledger::balance_at\". `cargo test`: test result: ok. 7 passed; "
         "0 failed. The late-booked entry was missed because entries are stored in booking order, "
         "not date order, so `take_while` stopped early; `filter` fixed it.")
NOTIFICATION = ("<task-notification>\n<task-id>b7636e2</task-id>\n<status>completed</status>\n"
                "<summary>Background command \"cargo test\" completed (exit code 0)</summary>\n"
                "</task-notification>")


def _event(event, **fields):
    return {"session_id": "s-ledger", "cwd": CWD, "hook_event_name": event, **fields}


def test_a_notification_is_no_request_and_its_reply_does_not_erase_the_summary():
    for event, payload in [
        ("SessionStart", _event("SessionStart", source="startup")),
        ("UserPromptSubmit", _event("UserPromptSubmit", prompt_id="p1",
                                    prompt="<system-reminder>hi</system-reminder>Add balance_at to Ledger")),
        ("Stop", _event("Stop", prompt_id="p1", last_assistant_message="Let me check the tests.")),
        ("UserPromptSubmit", _event("UserPromptSubmit", prompt_id="p2", prompt="continue")),
        ("Stop", _event("Stop", prompt_id="p2", last_assistant_message=FINAL)),
        ("UserPromptSubmit", _event("UserPromptSubmit", prompt_id="p3", prompt=NOTIFICATION)),
        ("Stop", _event("Stop", prompt_id="p3", last_assistant_message="Background run passed too.")),
        ("SessionEnd", _event("SessionEnd", reason="other")),
    ]:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    with open_store() as store:
        session = store.session_by_claude_id("s-ledger")
        prompts = [p["prompt"] for p in store.prompts(session["id"])]
    assert prompts == ["Add balance_at to Ledger", "continue"]  # the notification is no request
    text = context_from(run_hook("SessionStart", _event("SessionStart", session_id="next",
                                                        source="startup")).stdout)
    latest = text[text.index("## Latest work"):]
    assert "**Request:** continue (continuing: Add balance_at to Ledger)" in latest
    assert "booking order" in latest and "7cd451c" in latest
    assert "Background run passed too." in latest
    assert "task-notification" not in text and "system-reminder" not in text


def test_a_session_without_a_request_is_not_shown():
    for event, payload in [
        ("SessionStart", _event("SessionStart", session_id="s-empty", source="startup")),
        ("Stop", _event("Stop", session_id="s-empty", last_assistant_message="MCP servers: none")),
        ("SessionEnd", _event("SessionEnd", session_id="s-empty", reason="other")),
    ]:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    assert run_hook("SessionStart", _event("SessionStart", session_id="n", source="startup")).stdout == b""
