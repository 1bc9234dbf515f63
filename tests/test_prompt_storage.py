"""Every stored prompt keeps to the prompt-length setting, and a prompt that was only an
image is still a request (issue 22, "Small"). Real hook processes and the real worker."""
from __future__ import annotations

from helpers import open_store, run_hook, wait_until_drained

CWD = "/home/dev/shop"


def _event(event, **fields):
    return {"session_id": "s-prompts", "cwd": CWD, "hook_event_name": event, **fields}


def _prompts():
    with open_store() as store:
        session = store.session_by_claude_id("s-prompts")
        return [p["prompt"] for p in store.prompts(session["id"])], session["id"]


def test_a_long_prompt_that_needed_no_cleaning_is_cut_to_the_setting():
    # Plain text: the hook's prefilter finds nothing to clean, so before the fix the whole
    # 6,298 characters were stored against the 6,000 of max_tool_output_chars.
    long_prompt = "Please refactor the invoice totals module. " + "Keep the rounding as is. " * 260
    long_prompt = long_prompt[:6298]
    assert len(long_prompt) == 6298
    assert run_hook("UserPromptSubmit", _event("UserPromptSubmit", prompt_id="p1",
                                               prompt=long_prompt)).returncode == 0
    wait_until_drained()
    (stored,), _ = _prompts()
    assert len(stored) <= 6000
    assert stored.startswith("Please refactor the invoice totals module.")
    assert "chars truncated" in stored


def test_an_image_only_prompt_is_stored_and_its_work_hangs_on_it():
    read = {"tool_name": "Read", "tool_use_id": "toolu_img_1",
            "tool_input": {"file_path": f"{CWD}/src/cart.py"},
            "tool_response": {"type": "text", "file": {"filePath": f"{CWD}/src/cart.py",
                                                       "content": "def total(items):\n    return 0\n",
                                                       "numLines": 2, "startLine": 1, "totalLines": 2}}}
    for event, payload in [
        ("UserPromptSubmit", _event("UserPromptSubmit", prompt_id="p1", prompt="Fix the cart total")),
        ("Stop", _event("Stop", prompt_id="p1", last_assistant_message="Fixed the cart total.")),
        ("UserPromptSubmit", _event("UserPromptSubmit", prompt_id="p2", prompt="")),
        ("PostToolUse", _event("PostToolUse", prompt_id="p2", **read)),
        ("Stop", _event("Stop", prompt_id="p2", last_assistant_message="The screenshot shows the "
                                                                       "cart page; total() returns 0.")),
    ]:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    prompts, session_id = _prompts()
    assert prompts == ["Fix the cart total", "[image]"]
    with open_store() as store:
        observations = store.observations_for_prompt(session_id, 2)
        summary = store.summary_for_prompt(session_id, 2)
    assert observations and any("cart.py" in " ".join(o["files_read"] or ()) or "cart.py" in o["title"]
                                for o in observations)
    assert summary is not None and summary["request"] == "[image]"
