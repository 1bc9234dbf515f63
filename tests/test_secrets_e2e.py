"""No secret survives anywhere; look-alikes do. Real hook processes, the real worker, an LLM.

197 shapes of fake credentials (``secret_corpus``), each in 9 placements (prompt, ``.env``
Read, ``cat`` output, command line, Edit, Write, failure text, assistant reply, MCP tool
JSON keys), go through the real hooks into the real worker, whose compressor is the
anthropic back-end pointed at a fake Messages API that *echoes* what it is sent into the
observations it returns (so anything the model saw would be stored too). Then: no byte of
any secret in any file under the data directory (database, WAL, logs, spool), in
``export``, ``search``, the SessionStart context, what hooks print (prompt recall), or in
any request the fake LLM received;
every look-alike kept in the stored prompts and in what the model saw.
"""
from __future__ import annotations

import json
import os
import re

import pytest
from click.testing import CliRunner

from claude_mem import cli, config, control
from helpers import context_from, run_hook, wait_until_drained
from secret_corpus import LOOK_ALIKES, PLACEMENTS, events_for, secret_shapes
from tests.fakes.fake_llm_server import FakeLLMServer, Text

pytestmark = pytest.mark.usefixtures("no_strays")

CHUNK = 25


def echo_model(body: dict):
    """Summaries for summary prompts; otherwise an observation quoting the request back."""
    text = ""
    for message in body.get("messages") or []:
        content = message.get("content")
        text += content if isinstance(content, str) else "".join(
            b.get("text", "") for b in content if isinstance(b, dict))
    quoted = re.sub(r"[<>&]", " ", text)[-20000:]
    if "Summarize it" in text:
        return Text(f"<summary><request>echo</request><learned>{quoted}</learned></summary>")
    return Text(f"<observation><type>discovery</type><title>echo</title>"
                f"<narrative>{quoted}</narrative></observation>")


def fragments(secret: str) -> list[str]:
    """What must not appear: the secret, and each line of a multi-line one."""
    parts = [secret] + [line for line in secret.split("\n") if len(line) >= 8]
    return parts + [p.lower() for p in parts]


def find_leaks(blob: str | bytes, shapes) -> list[str]:
    if isinstance(blob, bytes):
        blob = blob.decode("utf-8", "replace")
    return sorted({label for label, _, secret in shapes
                   for part in fragments(secret) if part in blob})


@pytest.mark.slow
def test_no_secret_survives_anywhere_and_look_alikes_are_kept(tmp_path, monkeypatch):
    shapes = secret_shapes(seed=20261201)
    assert len(shapes) >= 150 and len(PLACEMENTS) >= 8
    project = tmp_path / "acme"
    (project / ".git").mkdir(parents=True)
    cwd = str(project)
    with FakeLLMServer(echo_model) as srv:
        monkeypatch.setenv("CLAUDE_MEM_COMPRESSOR", "anthropic")
        monkeypatch.setenv("CLAUDE_MEM_LLM_BASE_URL", srv.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-dummy")
        monkeypatch.setenv("CLAUDE_MEM_MAX_TOOL_OUTPUT_CHARS", "200000")  # nothing hidden by cuts
        monkeypatch.setenv("CLAUDE_MEM_LLM_MAX_CALLS_PER_SESSION", "1000")
        monkeypatch.setenv("CLAUDE_MEM_LLM_MAX_TOKENS_PER_SESSION", "100000000")
        sessions = []
        outputs = []  # what hooks print (prompt recall at UserPromptSubmit): checked for leaks
        for kind in PLACEMENTS:
            sid = f"secrets-{kind}"
            sessions.append(sid)
            base = {"session_id": sid, "cwd": cwd, "transcript_path": f"/tmp/{sid}.jsonl"}
            events = [("UserPromptSubmit", {"prompt": f"Set up the {kind} configuration", "prompt_id": f"{sid}-p1"})]
            for n, start in enumerate(range(0, len(shapes), CHUNK)):
                texts = [text for _, text, _ in shapes[start:start + CHUNK]]
                events += events_for(kind, texts, n)
            events += [("Stop", {"last_assistant_message": "Done."}), ("SessionEnd", {"reason": "other"})]
            for event, payload in events:
                payload = {**base, "hook_event_name": event, "prompt_id": f"{sid}-p1", **payload}
                result = run_hook(event, payload)
                assert result.returncode == 0, result
                if result.stdout:
                    assert event == "UserPromptSubmit", result
                    outputs.append(json.dumps(json.loads(result.stdout)))
        look = "\n".join(LOOK_ALIKES)
        base = {"session_id": "lookalikes", "cwd": cwd, "transcript_path": "/tmp/l.jsonl", "prompt_id": "l1"}
        for event, payload in [
                ("UserPromptSubmit", {"prompt": f"Keep these:\n{look}"}),
                ("PostToolUse", {"tool_name": "Bash", "tool_use_id": "toolu_look",
                                 "tool_input": {"command": "cat notes.txt"},
                                 "tool_response": {"stdout": look, "stderr": "", "interrupted": False}}),
                ("Stop", {"last_assistant_message": "Kept."}), ("SessionEnd", {"reason": "other"})]:
            assert run_hook(event, {**base, "hook_event_name": event, **payload}).returncode == 0
        wait_until_drained(timeout=240)
        requests = json.dumps([r.body for r in srv.model_requests])
        assert srv.model_request_count > 20
    runner = CliRunner()
    exported = runner.invoke(cli.main, ["export"]).output
    searched = "".join(runner.invoke(cli.main, ["search", "--json", "--limit", "500", word]).output
                       for word in ("deploy", "configuration", "echo", "settings", "password", "token"))
    context = context_from(run_hook("SessionStart", {"session_id": "next", "cwd": cwd,
                                                     "source": "startup"}).stdout)
    assert "echo" in exported and context
    assert control.stop_worker()  # its last act truncates the WAL
    files = {}
    for folder, _, names in os.walk(config.data_dir()):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                with open(path, "rb") as fh:
                    files[os.path.relpath(path, config.data_dir())] = fh.read()
    assert "claude-mem.db" in files
    leaks = {where: find_leaks(blob, shapes) for where, blob in
             [*files.items(), ("export", exported), ("search", searched), ("context", context),
              ("llm requests", requests), ("hook output", "\n".join(outputs))]}
    assert {where: found for where, found in leaks.items() if found} == {}
    # Look-alikes: kept verbatim where the prompt is stored, and sent to the model intact.
    prompts = json.loads(exported)
    stored = "\n".join(p["prompt"] for s in prompts["sessions"] for p in s["prompts"])
    assert [la for la in LOOK_ALIKES if la not in stored] == []
    assert [la for la in LOOK_ALIKES if json.dumps(la)[1:-1] not in requests] == []
