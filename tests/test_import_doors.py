"""Imports are doors as strong as the hooks (issue 22), each through the real CLI:

- ``import json`` and ``import claude-mem-db`` of records full of secrets and ``<private>``
  text leave none of them in any file of the data dir (database, WAL, SHM, logs), in
  ``search``, ``export`` or the session-start context;
- a FIFO, a ``/dev/zero`` (named, symlinked in a folder, or piped) is refused at once;
- a bad record (an id of 2**70, a null observation, 100k-deep nesting, odd column types)
  costs that record, with a report, never a traceback or the other sessions;
- one 100k-deep transcript line costs that line's deep value, not the transcript.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import open_store

FIXTURES = Path(__file__).parent / "fixtures"
LEGACY_DB = FIXTURES / "claude-mem-13" / "claude-mem.db"
BEADS = FIXTURES / "real-world" / "transcripts" / "spotter-beads.jsonl"

# Each value must never be stored; each text is how it appears in what is imported.
SECRETS = {
    "Tr0ub4dor-horse-7731": "the password=Tr0ub4dor-horse-7731 for staging",
    "9xQ2kLm3Np4Rs5Tu6Vw7Xy8Za1Bc2De3Fg4Hi5Jk":
        "aws_secret_access_key = 9xQ2kLm3Np4Rs5Tu6Vw7Xy8Za1Bc2De3Fg4Hi5Jk",
    "ghp_Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5": "pushed with ghp_Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5",
    "diary-entry-4471-kept-private": "notes <private>diary-entry-4471-kept-private</private> end",
}
LEAKY = " ".join(SECRETS.values())


def cli(*args: str, expect: int | None = 0, stdin=None, timeout: float = 60):
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=stdin)
    if expect is not None:
        assert proc.returncode == expect, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def assert_no_secret_anywhere(project_dir: Path, words: list[str]) -> None:
    """Not in any file of the data dir, nor in search, export or context."""
    data = Path(os.environ["CLAUDE_MEM_DATA_DIR"])
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name == "claude-mem.db" for p in files)
    for path in files:
        blob = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in blob, f"{secret} in {path.name}"
    outputs = [cli("export").stdout, cli("context", "--cwd", str(project_dir)).stdout]
    outputs += [cli("search", word, "--json").stdout for word in words]
    outputs += [cli("search", word).stdout for word in words]
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text
    assert "[REDACTED]" in outputs[0] and "[private]" in outputs[0]


def _export_document(project_dir: Path, sessions: int = 3) -> dict:
    out = []
    for n in range(1, sessions + 1):
        sid = f"5ec7e7a0-0000-4000-8000-00000000000{n}"
        out.append({
            "session": {"id": n, "claude_session_id": sid, "project": project_dir.name,
                        "cwd": str(project_dir), "status": "completed",
                        "started_at": 1_790_000_000 + n * 100, "last_activity_at": 1_790_000_050 + n * 100,
                        "completed_at": 1_790_000_060 + n * 100, "runs": 1},
            "prompts": [{"prompt_id": f"p{n}", "prompt_number": 1, "created_at": 1_790_000_001 + n * 100,
                         "prompt": f"deploy staging {LEAKY}"}],
            "observations": [{
                "id": n, "prompt_number": 1, "type": "change", "title": f"Rotated staging {LEAKY}",
                "subtitle": LEAKY, "narrative": f"Deployment narrative {LEAKY}",
                "facts": [LEAKY, "plain fact"], "concepts": ["how-it-works"],
                "files_read": [f"config/{SECRETS['diary-entry-4471-kept-private']}"],
                "files_modified": ["deploy.sh"], "content_hash": f"h{n}", "generated_by": "heuristic",
                "created_at": 1_790_000_010 + n * 100, "tool_use_id": f"toolu_{n}"}],
            "summaries": [{
                "id": n, "prompt_number": 1, "request": f"deploy staging {LEAKY}",
                "investigated": LEAKY, "learned": LEAKY, "completed": f"Deployment {LEAKY}",
                "next_steps": LEAKY, "notes": LEAKY, "files_read": [], "files_edited": ["deploy.sh"],
                "generated_by": "heuristic", "created_at": 1_790_000_020 + n * 100,
                "updated_at": 1_790_000_020 + n * 100}],
        })
    return {"format": "claude-mem-export/1", "exported_at": 1_790_001_000, "sessions": out}


def test_import_json_of_secrets_stores_none_of_them(tmp_path):
    project = tmp_path / "vault"
    project.mkdir()
    export = tmp_path / "leaky.json"
    export.write_text(json.dumps(_export_document(project)))
    report = json.loads(cli("import", "json", str(export), "--json").stdout)
    assert report["added"] == {"sessions": 3, "prompts": 3, "observations": 3, "summaries": 3}
    assert report["problems"] == [] and report["already"] == 0
    assert_no_secret_anywhere(project, ["staging", "Deployment", "Rotated"])
    # The redacted copy is still the same memory: importing it again adds nothing.
    again = json.loads(cli("import", "json", str(export), "--json").stdout)
    assert again["added"] == {"sessions": 0, "prompts": 0, "observations": 0, "summaries": 0}
    assert again["already"] == 12


def test_import_claude_mem_db_of_secrets_stores_none_of_them(tmp_path):
    legacy = tmp_path / "claude-mem.db"
    shutil.copy(LEGACY_DB, legacy)
    db = sqlite3.connect(legacy)
    db.execute("UPDATE user_prompts SET prompt_text = prompt_text || ' ' || ?", (LEAKY,))
    db.execute("UPDATE observations SET title = title || ' ' || ?, narrative = ?, subtitle = ?,"
               " facts = ?, files_read = ?", (LEAKY, LEAKY, LEAKY, json.dumps([LEAKY, "x"]),
                                              json.dumps([LEAKY])))
    db.execute("UPDATE session_summaries SET request = request || ' ' || ?, learned = ?,"
               " completed = ?, notes = ?", (LEAKY, LEAKY, LEAKY, LEAKY))
    db.commit()
    db.close()
    report = json.loads(cli("import", "claude-mem-db", str(legacy), "--json").stdout)
    assert report["added"] == {"sessions": 6, "prompts": 8, "observations": 28, "summaries": 8}
    assert report["problems"] == []
    project = tmp_path / "acme-billing"
    project.mkdir()
    assert_no_secret_anywhere(project, ["invoice", "changelog", "staging"])


def test_bad_records_in_an_export_cost_only_themselves(tmp_path):
    project = tmp_path / "app"
    project.mkdir()
    document = _export_document(project, sessions=13)
    sessions = document["sessions"]
    sessions[0]["session"]["id"] = 2**70                       # an id SQLite cannot hold
    sessions[1]["observations"].append(None)                   # a null observation
    deep = "x"
    for _ in range(100_000):
        deep = [deep]
    sessions[2]["observations"][0]["facts"] = "DEEP"           # replaced in the text below
    sessions[3]["prompts"][0]["prompt_number"] = 2**70
    sessions[4]["summaries"][0]["prompt_number"] = {"odd": 1}  # this summary is left out
    sessions[5]["session"]["started_at"] = "yesterday"         # this session is left out
    sessions[6]["observations"][0]["id"] = -5
    sessions[7]["observations"][0]["created_at"] = float("1e300")
    sessions[8] = "not a session"
    text = json.dumps(document).replace('"DEEP"', "[" * 100_000 + '"x"' + "]" * 100_000)
    export = tmp_path / "odd.json"
    export.write_text(text.replace("1e+300", "1e300"))
    proc = cli("import", "json", str(export), "--json")
    report = json.loads(proc.stdout)
    problems = "\n".join(report["problems"])
    assert report["added"]["sessions"] == 11, problems
    assert report["added"]["observations"] == 10
    assert report["added"]["summaries"] == 10
    assert "observation 2 left out" in problems and "started_at" in problems
    assert "summary 1 left out: prompt_number" in problems and "session 9: not a session" in problems
    assert report["already"] == 0
    with open_store() as store:
        assert store.counts()["sessions"] == 11
    # The human report says the same, one line each, no traceback.
    human = cli("import", "json", str(export)).stdout
    assert "Imported 0 session(s)" in human and "skipped:" in human


@pytest.mark.parametrize("kind", ["json", "claude-mem-db"])
def test_fifo_and_dev_zero_are_refused_at_once(tmp_path, kind):
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    proc = cli("import", kind, str(fifo), expect=1, timeout=20)
    assert "FIFO" in proc.stderr
    proc = cli("import", kind, "/dev/zero", expect=1, timeout=20)
    assert "device" in proc.stderr


def test_import_json_from_a_pipe_of_zeros_is_refused_at_its_first_chunk(tmp_path):
    with open("/dev/zero", "rb") as zeros:
        proc = cli("import", "json", "-", expect=1, stdin=zeros, timeout=20)
    assert "not a JSON document" in proc.stderr


def test_claude_mem_db_with_odd_column_types(tmp_path):
    legacy = tmp_path / "odd.db"
    shutil.copy(LEGACY_DB, legacy)
    db = sqlite3.connect(legacy)
    # Both prompts of two sessions lose their numbers; texts of every SQLite type.
    db.execute("UPDATE user_prompts SET prompt_number = X'01' WHERE id IN (1, 2)")
    db.execute("UPDATE user_prompts SET prompt_number = 'two', prompt_text = 'same text'"
               " WHERE id IN (4, 5)")
    db.execute("UPDATE user_prompts SET prompt_text = X'4142FF' WHERE id = 3")
    db.execute("UPDATE user_prompts SET prompt_text = 12345, created_at_epoch = 'soon' WHERE id = 6")
    db.execute("UPDATE user_prompts SET prompt_number = 1e30 WHERE id = 7")
    db.execute("UPDATE observations SET facts = ? WHERE id = 1",
               ("[" * 100_000 + "]" * 100_000,))
    db.execute("UPDATE observations SET facts = X'00FF', concepts = 7, title = 3.5 WHERE id = 2")
    db.execute("UPDATE observations SET id = 9223372036854775807 WHERE id = 3")
    db.execute("UPDATE session_summaries SET prompt_number = 'x', files_read = '{\"a\": 1}'"
               " WHERE id = 1")
    db.execute("UPDATE sdk_sessions SET started_at_epoch = 1e300 WHERE id = 1")
    db.commit()
    db.close()
    report = json.loads(cli("import", "claude-mem-db", str(legacy), "--json").stdout)
    assert report["added"] == {"sessions": 6, "prompts": 8, "observations": 28, "summaries": 8}
    assert report["already"] == 0, report
    with open_store() as store:
        prompts = [r[0] for r in store.db.execute("SELECT prompt FROM user_prompts")]
    assert len(prompts) == 8 and prompts.count("same text") == 2 and "12345" in prompts
    again = json.loads(cli("import", "claude-mem-db", str(legacy), "--json").stdout)
    assert sum(again["added"].values()) == 0 and again["already"] == 6 + 8 + 28 + 8


def _transcript_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "claude" / "projects" / "-spotter"
    folder.mkdir(parents=True)
    shutil.copy(BEADS, folder / "spotter-beads.jsonl")
    return folder


def _dry_import(folder: Path) -> dict:
    return json.loads(cli("import", "transcripts", str(folder), "--dry-run", "--json",
                          timeout=60).stdout)


def test_fifo_and_dev_zero_in_a_transcripts_folder_are_skipped(tmp_path):
    folder = _transcript_folder(tmp_path)
    baseline = _dry_import(folder)
    os.mkfifo(folder / "x.jsonl")
    os.symlink("/dev/zero", folder / "zero.jsonl")
    report = _dry_import(folder)
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped_files"]}
    assert "FIFO" in reasons["x.jsonl"] and "device" in reasons["zero.jsonl"]
    assert report["queued"] == baseline["queued"]
    # Named directly, the same.
    proc = cli("import", "transcripts", str(folder / "x.jsonl"), "--dry-run", timeout=20)
    assert "FIFO" in proc.stdout


def test_one_very_deep_line_costs_only_that_line(tmp_path):
    folder = _transcript_folder(tmp_path)
    baseline = _dry_import(folder)
    assert baseline["queued"]["UserPromptSubmit"] == 2
    path = folder / "spotter-beads.jsonl"
    lines = path.read_text().splitlines()
    deep = json.dumps({"type": "user", "sessionId": json.loads(lines[3]).get("sessionId"),
                       "message": {"role": "user", "content": "DEEP"}})
    lines.insert(len(lines) // 2, deep.replace('"DEEP"', "[" * 100_000 + "]" * 100_000))
    path.write_text("\n".join(lines) + "\n")
    report = _dry_import(folder)
    assert report["skipped_files"] == []
    assert report["queued"] == baseline["queued"]
