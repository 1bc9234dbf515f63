"""bench/recall.py works end to end on one short session (the figures themselves are the
bench's business; here: the replay stored the session, the matching finds an answer when
asked in its own words, every path was measured, and the probes left nothing behind)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import our_processes

BENCH = Path(__file__).resolve().parent.parent / "bench" / "recall.py"


def test_recall_bench_on_one_session(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--json", "--sets", "tune", "--only", "py-bisect",
         "--unrelated", "2", "--modes", "words"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)

    assert result["replayed"] == {"sessions": 1, "events": 13, "drained": True}
    assert result["stored"]["observation"] > 0 and result["stored"]["summary"] >= 1
    tune = result["sets"]["tune"]
    written = json.loads((BENCH.parent / "recall_questions" / "tune.json").read_text("utf-8"))
    asked = [q for q in written["questions"] if q["project"] == "py-bisect"]
    assert tune["questions"] == len(asked) >= 4
    # Every py-bisect answer is stored, and asking with the answer's own words finds each one.
    assert tune["answer_in_memory"] == 1.0
    assert tune["control_answer_words"]["recall@5"] == 1.0
    for path in ("cli", "mcp"):
        figure = tune["search"]["words"][path]
        assert 0.0 <= figure["mrr"] <= figure["recall@5"] <= 1.0
    assert tune["prompt_recall"]["prompts"] == sum(p["project"] == "py-bisect" for p in written["prompts"])
    assert result["unrelated"]["prompts"] == 2
    assert result["probes_left_in_memory"] == 0  # every probe's session was forgotten
    for path in ("cli search (words)", "mcp search (words)", "UserPromptSubmit", "bare interpreter start"):
        assert result["latency"][path]["n"] > 0 and result["latency"][path]["p50"] > 0
    assert our_processes(result["data_dir"]) == []  # the worker and MCP server are gone


def test_recall_bench_can_ask_each_question_in_its_own_project(tmp_path):
    # --scope project: the diagnostic beside the published figure (every project searched):
    # the CLI gets --project and the MCP server project=<the question's>, and the JSON says so.
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--json", "--sets", "tune", "--only", "py-bisect",
         "--modes", "words", "--no-prompts", "--scope", "project"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["scope"] == "project"
    words = result["sets"]["tune"]["search"]["words"]
    assert words["cli"]["n"] == words["mcp"]["n"] >= 4
    assert words["cli"]["recall@5"] == words["mcp"]["recall@5"] > 0  # both asked in py-bisect
    assert our_processes(result["data_dir"]) == []  # the worker and MCP server are gone
