"""What a memory recalled at the prompt shows (``recall_render.render``) depends on what the
memory says, never on the id it got or when it was stored: the same memory has another id
after another replay order (one digit more or less) and another time on another day."""
from __future__ import annotations

import re

from claude_mem import recall_render

STAMPS = re.compile(r"#\d+|\(\d{4}-\d\d-\d\d \d\d:\d\d")
# Stored at 2026-03-14 11:25 local time, and again 40 days, 9 h 41 min later.
WHEN = 1_773_487_500.0
LATER = WHEN + 40 * 86400 + 9 * 3600 + 41 * 60


def _hits(ids: tuple[int, int, int], at: float) -> list[dict]:
    """Three memories as recall.relevant gives them, the memory's highest id 4,000."""
    weights = {"invoic": 0.4, "discount": 0.35, "tax": 0.25}
    return [
        {"kind": "summary", "id": ids[0], "created_at": at, "updated_at": at, "score": -9.0,
         "request": "Fix the invoice total when a discount and tax both apply",
         "learned": "Cause: the discount was applied after tax, on the full subtotal (11 items, 25 cents off)",
         "completed": "Edited invoice.py: total() applies the discount first\nRan pytest: 11 passed",
         "notes": "Tax is now computed on the discounted subtotal",
         "text": "Fix the invoice total\nCause: the discount was applied after tax, on the full "
                 "subtotal (11 items, 25 cents off)\nEdited invoice.py\nRan pytest: 11 passed",
         "weights": weights, "coverage": 1.0, "ids_up_to": 4000},
        {"kind": "observation", "id": ids[1], "created_at": at, "type": "bugfix", "score": -8.0,
         "title": "Edited acme_billing/invoice.py: total",
         "narrative": "The discount is applied before tax: tax_rate times the discounted subtotal",
         "facts": ["total() = (subtotal - discount) * (1 + tax_rate)", "Exit code 0"],
         "text": "Edited acme_billing/invoice.py: total\nThe discount is applied before tax",
         "weights": weights, "coverage": 0.75, "ids_up_to": 4000},
        {"kind": "observation", "id": ids[2], "created_at": at, "type": "discovery", "score": -7.0,
         "title": "Ran pytest tests/test_invoice.py",
         "narrative": "test_total_with_discount_and_tax failed: expected 165.00, got 168.30",
         "facts": ["1 failed, 10 passed in 0.25s"],
         "text": "Ran pytest tests/test_invoice.py\ntest_total_with_discount_and_tax failed",
         "weights": weights, "coverage": 0.6, "ids_up_to": 4000},
    ]


def test_the_block_chosen_does_not_depend_on_the_ids_or_times_of_the_memories():
    asks = recall_render.asked_for("Why did the invoice total with discount and tax fail?")
    differed = 0
    for budget in range(200, 1300):
        first, _ = recall_render.render(_hits((7, 12, 13), WHEN), budget, asks)
        again, _ = recall_render.render(_hits((1007, 3012, 3013), LATER), budget, asks)
        assert len(first) <= budget and len(again) <= budget
        assert STAMPS.sub("#", first) == STAMPS.sub("#", again), budget
        differed += first != again
    assert differed  # the ids and times printed are each one's own


def test_a_memorys_line_says_what_the_block_has_not_said_yet():
    # Both lines of the second memory are worth the same on their own; the block's first
    # memory already shows "ledger", so the second memory's line is the one with "rounding".
    weights = {"ledger": 0.5, "rounding": 0.5}
    hits = [
        {"kind": "summary", "id": 3, "created_at": WHEN, "updated_at": WHEN, "score": -9.0,
         "request": "Look over the export", "completed": "The ledger export was rewritten",
         "text": "Look over the export\nThe ledger export was rewritten",
         "weights": weights, "coverage": 0.5, "ids_up_to": 40},
        {"kind": "observation", "id": 17, "created_at": WHEN, "type": "discovery", "score": -8.0,
         "title": "Ran the checks", "narrative": "The ledger check ran again\nThe rounding check failed",
         "text": "Ran the checks\nThe ledger check ran again\nThe rounding check failed",
         "weights": weights, "coverage": 0.5, "ids_up_to": 40},
    ]
    for budget in range(200, 1000):  # the first budget that holds both memories, a line each
        block, taken = recall_render.render(hits, budget)
        if len(taken) == 2:
            break
    assert len(taken) == 2, block
    shown = block.split("- obs #17", 1)[1]
    assert "rounding check failed" in shown and "ledger check" not in shown, block
