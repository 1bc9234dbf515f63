"""Stored text never drives the reader's terminal (issue 22): OSC 52 (clipboard), OSC 0
(title), CR, BS, 8-bit CSI inside a prompt, a title or a command are shown, not obeyed, by
every human-readable command; ``--json`` output keeps the exact stored text."""
from __future__ import annotations

import json
import subprocess
import sys

from claude_mem import render

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"          # writes "rm -rf ~" to the clipboard
OSC0 = "\x1b]0;pwned\x07"                       # sets the window title
TRICKS = f"fix{OSC52} the{OSC0} build\rOVERWRITE\x08\x08 \x9b31m red \x9d8;;x\x9c done\x7f"
CONTROLS = [chr(c) for c in (*range(0, 9), *range(11, 32), *range(0x7F, 0xA0))]


def cli(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for stream in (proc.stdout, proc.stderr):
        assert not [c for c in stream if c in CONTROLS], (args, stream)
    return proc.stdout


def _memory(tmp_path) -> None:
    project = tmp_path / "termproj"
    project.mkdir()
    session = {"session": {"id": 1, "claude_session_id": "7e4a1a1a-0000-4000-8000-000000000001",
                           "project": "termproj", "cwd": str(project), "status": "completed",
                           "started_at": 1_790_000_000, "last_activity_at": 1_790_000_100},
               "prompts": [{"prompt_number": 1, "prompt": f"please {TRICKS}",
                            "created_at": 1_790_000_001, "prompt_id": "p1"}],
               "observations": [{"id": 1, "prompt_number": 1, "type": "bugfix",
                                 "title": f"Ran make {TRICKS}", "subtitle": TRICKS,
                                 "narrative": f"narrative {TRICKS}", "facts": [f"$ make {TRICKS}"],
                                 "concepts": [], "files_read": [f"src/{OSC52}.c"],
                                 "files_modified": [], "content_hash": "t1",
                                 "generated_by": "heuristic", "created_at": 1_790_000_010}],
               "summaries": [{"id": 1, "prompt_number": 1, "request": f"please {TRICKS}",
                              "completed": f"done {TRICKS}", "investigated": "", "learned": "",
                              "next_steps": "", "notes": "", "files_read": [], "files_edited": [],
                              "generated_by": "heuristic", "created_at": 1_790_000_020,
                              "updated_at": 1_790_000_020}]}
    export = tmp_path / "tricks.json"
    export.write_text(json.dumps({"format": "claude-mem-export/1", "exported_at": 1,
                                  "sessions": [session]}))
    cli("import", "json", str(export))
    return project


def test_every_human_output_shows_control_characters_instead_of_obeying_them(tmp_path):
    project = _memory(tmp_path)
    outputs = {
        "search": cli("search", "make"),
        "sessions": cli("sessions"),
        "show session": cli("show", "1"),
        "show obs": cli("show", "obs", "1"),
        "show summary": cli("show", "summary", "1"),
        "context": cli("context", "--cwd", str(project)),
        "status": cli("status"),
        "export": cli("export"),
    }
    for name, text in outputs.items():
        if name not in ("status", "export"):
            assert "^[]52;c;cm0gLXJmIH4=^G" in text or "^[]0;pwned^G" in text, name
    assert "build^MOVERWRITE^H^H" in outputs["show obs"]
    assert "\\u009b31m" in outputs["show obs"]


def test_json_output_keeps_the_stored_text(tmp_path):
    _memory(tmp_path)
    hits = json.loads(cli("search", "make", "--json"))
    titles = [hit.get("title") for hit in hits if hit["kind"] == "observation"]
    assert titles == [f"Ran make {TRICKS}"]
    exported = json.loads(cli("export"))
    assert exported["sessions"][0]["prompts"][0]["prompt"] == f"please {TRICKS}"


def test_terminal_safe_is_json_preserving_and_leaves_plain_text_alone():
    plain = "naïve café — tabs\tand\nnewlines ✓"
    assert render.terminal_safe(plain) is plain
    value = {"k": TRICKS}
    text = json.dumps(value, ensure_ascii=False)
    assert json.loads(render.terminal_safe(text)) == value
    assert not [c for c in render.terminal_safe(TRICKS) if c in CONTROLS]
