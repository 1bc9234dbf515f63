"""``claude-mem import claude-mem-db`` (a database the original claude-mem 13.25.3 wrote
itself) and ``claude-mem import json`` (export -> import into an empty data dir gives the
same memory: the same search results and the same context)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from claude_mem import control
from helpers import HOOK_NAME, load_fixture, open_store, run_hook, wait_until_drained

FIXTURES = Path(__file__).parent / "fixtures"
LEGACY_DB = FIXTURES / "claude-mem-13" / "claude-mem.db"


def cli(*args: str, expect: int = 0, stdin: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                          text=True, timeout=120, input=stdin)
    assert proc.returncode == expect, proc.stderr + proc.stdout
    return proc


def test_original_claude_mem_database(tmp_path):
    first = json.loads(cli("import", "claude-mem-db", str(LEGACY_DB), "--json").stdout)
    assert first["added"] == {"sessions": 6, "prompts": 8, "observations": 28, "summaries": 8}
    again = json.loads(cli("import", "claude-mem-db", str(LEGACY_DB), "--json").stdout)
    assert again["added"] == {"sessions": 0, "prompts": 0, "observations": 0, "summaries": 0}
    assert again["already"] == 6 + 8 + 28 + 8

    with open_store() as store:
        projects = {row["project"]: row["n"] for row in store.db.execute(
            "SELECT project, COUNT(*) AS n FROM sessions GROUP BY project")}
        assert projects == {"acme-billing": 2, "weatherly": 1, "alpha-api": 2, "beta-web": 1}
        acme = store.session_by_claude_id("351e9b10-7539-48d0-b16d-f38661328494")
        assert acme["cwd"] == "/home/dev/acme-billing"
        assert acme["started_at"] == 1796134483.868 and acme["status"] == "completed"
        assert acme["end_reason"] == "imported from claude-mem"
        prompts = store.prompts(acme["id"])
        assert [p["prompt_number"] for p in prompts] == [1, 2]
        assert prompts[1]["prompt"] == "Add a changelog entry for this fix."
        obs = store.observation(14)
        assert obs["title"] == "Located 'RATE_LIMIT' in 3 files"
        assert obs["generated_by"] == "claude-mem-db:claude-haiku-4-5-20251001"
        assert obs["created_at"] == 1796134701.332 and obs["project"] == "alpha-api"
        assert obs["files_read"] == ["alpha_api/ratelimit.py", "config/settings.py",
                                     "tests/test_ratelimit.py"]
        assert len(obs["facts"]) == 6 and obs["concepts"] == ["how-it-works"]
        # A file listed both absolute and project-relative by the original is listed once.
        for row in store.db.execute("SELECT files_read FROM observations"):
            files = json.loads(row[0])
            assert len(files) == len(set(files))
        types = dict(store.db.execute("SELECT type, COUNT(*) FROM observations GROUP BY type")
                     .fetchall())
        assert types == {"discovery": 17, "change": 7, "bugfix": 2, "feature": 2}
        # The tool calls the original saw count as processed for a later transcript import.
        assert store.db.execute("SELECT COUNT(*) FROM processed_tool_uses").fetchone()[0] == 32

    context = cli("context", "--cwd", "/home/dev/acme-billing").stdout
    assert "The invoice total is wrong" in context and "CHANGELOG.md" in context
    footer = cli("search", "Privacy", "Policy", "--json").stdout
    assert "templates/footer.html" in footer


def test_not_a_claude_mem_database(tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("just text")
    proc = cli("import", "claude-mem-db", str(junk), expect=1)
    assert "not a claude-mem database" in proc.stderr or "cannot be opened" in proc.stderr
    other = tmp_path / "other.db"
    import sqlite3
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert "not a claude-mem database" in cli("import", "claude-mem-db", str(other), expect=1).stderr


def test_export_then_import_into_an_empty_data_dir_gives_the_same_memory(tmp_path, monkeypatch):
    # Memory from three sources: a real CLI session through the hooks, a real transcript
    # imported, and the original claude-mem's database.
    for event, payload in load_fixture():
        if event in HOOK_NAME:
            run_hook(event, payload)
    wait_until_drained(60)
    transcript = FIXTURES / "real-world" / "transcripts" / "spotter-beads.jsonl"
    cli("import", "transcripts", str(transcript), "--json")
    cli("import", "claude-mem-db", str(LEGACY_DB), "--json")
    exported = cli("export").stdout
    queries = ["invoice tax", "spotter-0p7", "RATE_LIMIT", "footer", "credo dialyxir", "CHANGELOG"]
    cwds = ["/home/dev/acme-billing", "/home/USER/projects/spotter", "/home/dev/alpha-api"]

    def memory():
        searches = {q: json.loads(cli("search", *q.split(), "--json").stdout) for q in queries}
        contexts = {cwd: cli("context", "--cwd", cwd).stdout for cwd in cwds}
        again = json.loads(cli("export").stdout)
        again.pop("exported_at")
        return searches, contexts, again

    before = memory()
    assert all(before[0].values()) and all(before[1].values())
    control.stop_worker()
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / "new-machine"))
    path = tmp_path / "export.json"
    path.write_text(exported)
    report = json.loads(cli("import", "json", str(path), "--json").stdout)
    assert report["added"]["sessions"] == len(json.loads(exported)["sessions"])
    assert memory() == before
    # Twice adds nothing; reading stdin works too.
    assert json.loads(cli("import", "json", "-", "--json", stdin=exported).stdout)["added"] == {
        "sessions": 0, "prompts": 0, "observations": 0, "summaries": 0}
    # A transcript already in the export is recognised, not compressed again.
    assert json.loads(cli("import", "transcripts", str(transcript), "--json").stdout)[
        "queued_rows"] == 0


def test_import_json_rejects_what_is_not_an_export(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"sessions": 3}')
    assert "not a claude-mem export" in cli("import", "json", str(bad), expect=1).stderr
    bad.write_text("{not json")
    assert "not a readable JSON export" in cli("import", "json", str(bad), expect=1).stderr
