"""The shared text toolkit: times, one-liners, file lists, truncation."""
from __future__ import annotations

import time

from claude_mem.text import ago, files, one_line, truncate, when


def test_when_formats_local_time_and_marks_a_missing_one():
    at = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
    assert when(at) == "2026-03-04 05:06"
    assert when(at, seconds=True) == "2026-03-04 05:06:07"
    assert when(at, fmt="%H:%M:%S") == "05:06:07"
    assert when(None) == when(0) == "-"


def test_one_line_folds_whitespace_and_cuts_with_an_ellipsis():
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line(None) == ""
    assert one_line("abcdefghij", 5) == "abcd…"
    assert one_line("abcde", 5) == "abcde"


def test_files_shows_the_first_and_counts_the_rest():
    assert files(["a", "b", "c"], 2) == "a, b (+1 more)"
    assert files([], 3) == ""


def test_truncate_keeps_head_and_tail_within_the_limit():
    text = "HEAD" + "x" * 5000 + "TAIL"
    cut = truncate(text, 200)
    assert cut.startswith("HEAD") and cut.endswith("TAIL") and "chars truncated" in cut
    assert len(cut) <= 200
    assert truncate("short", 200) == "short"


def test_ago_says_how_long_since_in_the_largest_fitting_unit():
    now = 1_000_000.0
    assert ago(now - 30, now) == "just now"
    assert ago(now - 600, now) == "10 min ago"
    assert ago(now - 3 * 3600, now) == "3 h ago"
    assert ago(now - 3 * 86400, now) == "3 d ago"
    assert ago(None) == "never"
