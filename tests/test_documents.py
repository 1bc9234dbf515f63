"""compress.documents: a markdown document's headings and the commands of its shell blocks,
read from documents real sessions wrote (tests/fixtures/real-world, see its README)."""
from __future__ import annotations

import json
from pathlib import Path

from claude_mem.compress import documents
from claude_mem.compress.heuristic import HeuristicCompressor
from claude_mem.compress.base import SessionContext
from claude_mem.config import load
from claude_mem.events import parse_event

REAL = Path(__file__).parent / "fixtures" / "real-world"


def _record(session: str, index: int) -> dict:
    return json.loads((REAL / f"session-{session}.jsonl").read_text().splitlines()[index])


def test_a_readmes_shell_blocks_give_its_commands_and_their_comments_are_no_headings():
    # episodic-research: the README the model rewrote (a "## Development" block of
    # "# Watch mode" / "npm run dev" lines, "./test-local.sh", exports of API keys).
    readme = _record("episodic-research", 90)["stdin"]["tool_input"]["new_string"]
    assert documents.command_list(readme)[:4] == [
        "npm install", "export ANTHROPIC_API_KEY=…", "export OPENAI_API_KEY=…", "npm run build"]
    assert "./test-local.sh" in documents.command_list(readme) and "npm test" in documents.command_list(readme)
    assert documents.commands(readme).startswith("Commands: npm install; export ANTHROPIC_API_KEY=…;")
    assert len(documents.commands(readme)) <= 200
    assert "# Watch mode" not in documents.headings(readme, 20)
    assert documents.headings(readme, 3) == ["## Quick Start", "### Prerequisites", "### Installation"]
    # Elixir code in a plan (spotter-beads' plan.md) is code, not commands.
    plan = _record("spotter-beads", 12)["stdin"]["tool_input"]["content"]
    assert documents.commands(plan) == ""


def test_console_blocks_and_prompted_lines():
    text = ("Install:\n\n```console\n$ pip install coding-memory\nCollecting coding-memory\n"
            "$ claude-mem doctor   # checks the hooks\n```\n\n```\n$ make test\n```\n"
            "```json\n{\"a\": 1}\n```\n")
    assert documents.command_list(text) == ["pip install coding-memory", "claude-mem doctor", "make test"]
    assert documents.commands(text, known=("make test",)) == "Commands: pip install coding-memory; claude-mem doctor"
    assert documents.commands("no code here") == ""


def test_a_written_and_an_edited_document_keep_their_commands():
    compressor = HeuristicCompressor(load())
    ctx = SessionContext(session_id=1, claude_session_id="s", project="episodic-research",
                         cwd="/home/dev/episodic-research", prompt_number=1, request="Write the README")
    events = [parse_event(r["event"], json.dumps(r["stdin"]))
              for r in (_record("episodic-research", 59), _record("episodic-research", 90))]
    written, edited = compressor.observe(ctx, events).observations
    assert "Commands: npm install; npm run dev" in written.facts
    assert "# Watch mode" not in written.facts
    # The edit added build, run and test commands; "npm install" was already there.
    added = next(f for f in edited.facts if f.startswith("Commands: "))
    assert "npm run build" in added and "./test-local.sh" in added and "npm install;" not in added
