"""The first-run and everyday frictions of issue 19, each as a person meets it.

Real commands (the CLI in-process through click's runner, or as a process), real hooks and
worker, the real Claude Code CLI where the friction came from it (``claude mcp list``).
Each test failed on the code before the fix.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from claude_mem import cli, config
from helpers import open_store, run_hook, wait_for, wait_until_drained
from viewer_kit import fetch, free_port, stop_viewer, viewer  # noqa: F401

KEY = "sk-ant-api03-" + "Q7x" * 30 + "-AA"


def invoke(*args, code=0, env=None):
    result = CliRunner().invoke(cli.main, list(args), env=env)
    assert result.exit_code == code, result.output
    return result


def test_register_mcp_without_claude_on_path_points_below_and_succeeds(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = invoke("install", "--register-mcp")
    out = result.output
    assert "not on PATH here; run the `claude mcp add` line of step 2 below" in out
    step2 = out.split("  2. ", 1)[1].split("  3. ", 1)[0]
    assert "claude mcp add --scope user claude-mem --" in step2
    assert "--register-mcp" not in step2  # not offered again: it just could not run here


def test_export_into_a_missing_folder_says_so(tmp_path):
    run_hook("UserPromptSubmit", {"session_id": "s-export", "cwd": str(tmp_path), "prompt": "hi",
                                  "hook_event_name": "UserPromptSubmit"})
    wait_until_drained()
    target = tmp_path / "no" / "such" / "folder" / "x.json"
    result = invoke("export", "-o", str(target), code=1)
    assert f"no such folder: {target.parent}" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def _demo(*args, env=None):
    return subprocess.run([sys.executable, "-m", "claude_mem.cli", "demo", *args], capture_output=True,
                          text=True, timeout=180, env={**os.environ, **(env or {})})


def test_demo_keep_says_how_to_use_its_folder_and_leaves_no_empty_session(tmp_path):
    kept = tmp_path / "demo-copy"
    proc = _demo("--keep", str(kept))
    assert proc.returncode == 0, proc.stderr
    assert f"CLAUDE_MEM_DATA_DIR={kept} claude-mem sessions" in proc.stdout
    env = {"CLAUDE_MEM_DATA_DIR": str(kept)}
    sessions = json.loads(invoke("sessions", "--json", env=env).output)
    assert sessions and all(s["prompt_counter"] > 0 for s in sessions), sessions
    assert not [s for s in sessions if s["status"] == "active"], sessions


def test_demo_keep_refuses_a_folder_with_memory_and_leaves_its_worker_alone(tmp_path):
    run_hook("UserPromptSubmit", {"session_id": "s-real", "cwd": str(tmp_path), "prompt": "real work",
                                  "hook_event_name": "UserPromptSubmit"})
    wait_until_drained()
    data = config.data_dir()
    pid = int(Path(data, "worker.pid").read_text())
    proc = _demo("--keep", data)
    assert proc.returncode == 1
    assert "is not empty (it holds claude-mem memory)" in proc.stderr
    os.kill(pid, 0)  # still running
    with open_store() as store:
        assert store.counts()["sessions"] == 1


def test_claude_mcp_list_leaves_no_empty_session(tmp_path):
    from tests.fakes.claude_cli import claude_env, find_claude_binary

    claude = find_claude_binary()
    if claude is None:
        pytest.skip("the Claude Code CLI bundled in claude-agent-sdk is missing")
    invoke("install")  # the hooks into this test's CLAUDE_CONFIG_DIR
    env = claude_env(home=os.environ["HOME"], config_dir=os.environ["CLAUDE_CONFIG_DIR"],
                     base_url="http://127.0.0.1:9")
    env.update({k: v for k, v in os.environ.items() if k.startswith("CLAUDE_MEM_")})
    for args in (("mcp", "list"), ("mcp", "get", "nothing-here")):
        subprocess.run([claude, *args], capture_output=True, text=True, timeout=120, env=env,
                       cwd=tmp_path, stdin=subprocess.DEVNULL)
    wait_until_drained()
    with open_store() as store:
        assert store.queue_sequence() >= 1  # Claude Code did fire its session hooks
        assert store.counts()["sessions"] == 0
    assert json.loads(invoke("sessions", "--json").output) == []


def test_a_session_still_begins_with_its_first_prompt_and_a_resume_reopens_it(tmp_path):
    base = {"session_id": "s-kept", "cwd": str(tmp_path)}
    run_hook("SessionStart", {**base, "hook_event_name": "SessionStart", "source": "startup"})
    run_hook("UserPromptSubmit", {**base, "hook_event_name": "UserPromptSubmit", "prompt": "fix it"})
    run_hook("SessionEnd", {**base, "hook_event_name": "SessionEnd", "reason": "other"})
    run_hook("SessionStart", {**base, "hook_event_name": "SessionStart", "source": "resume"})
    wait_until_drained()
    [session] = json.loads(invoke("sessions", "--json").output)
    assert session["prompt_counter"] == 1 and session["status"] == "active" and session["runs"] == 2


def test_an_api_key_is_refused_as_llm_api_key_env_and_never_printed(tmp_path):
    result = invoke("config", "set", "llm_api_key_env", KEY, code=1)
    assert "refused" in result.output and "not the name of a variable" in result.output
    assert KEY not in result.output and KEY[:20] not in result.output
    assert not os.path.exists(config.settings_path()) or KEY not in Path(config.settings_path()).read_text()
    invoke("config", "set", "llm_api_key_env", "MY_ANTHROPIC_KEY")  # a name is fine
    # Put there by hand (or by an older version): never shown, and not used.
    Path(config.settings_path()).write_text(json.dumps({"llm_api_key_env": KEY}))
    for args in (("doctor",), ("doctor", "--json"), ("config",), ("config", "--json"),
                 ("config", "get", "llm_api_key_env"), ("config", "get", "llm_api_key_env", "--json")):
        result = CliRunner().invoke(cli.main, list(args))
        assert KEY[:20] not in result.output, args
    assert config.load().llm_api_key_env == ""


def test_doctor_advice_for_an_unreadable_settings_file_is_to_fix_the_file(tmp_path):
    invoke("install")
    Path(config.ensure_data_dir(), "settings.json").write_text("{ not json")
    out = invoke("doctor", code=1).output
    line = next(l for l in out.splitlines() if "settings problems" in l)
    assert "correct the JSON in" in line and "config set NAME VALUE" not in line
    # ...because that is what config set says too.
    assert "fix or remove it first" in invoke("config", "set", "context_tokens", "2000", code=1).output


def test_a_negative_number_is_refused_for_what_it_is():
    out = invoke("config", "set", "context_tokens", "-5", code=1).output
    assert "context_tokens: -5 is too small; allowed: an integer from 100 to 100000" in out


def test_a_row_parked_at_once_does_not_read_as_zero_attempts(tmp_path):
    run_hook("UserPromptSubmit", {"hook_event_name": "UserPromptSubmit", "cwd": str(tmp_path),
                                  "prompt": "no session id"})
    def parked() -> bool:
        with open_store() as store:
            return store.queue_stats()["parked"] == 1

    wait_for(parked, 60, interval=0.1, what="the row to be parked")
    out = invoke("worker", "parked").output
    assert "parked at once, it can never become an event" in out and "0 attempt" not in out
    doctor = invoke("doctor", code=1).output
    assert "parked (failed repeatedly, or can never become an event)" in doctor


def test_range_hints_are_plain_numbers():
    for setting in config.SCHEMA.values():
        assert "e+" not in setting.allowed(), (setting.name, setting.allowed())
    assert "from 200 to 1000000" in invoke("config", "get", "max_tool_output_chars").output
    out = invoke("config", "set", "max_payload_bytes", "200000000", code=1).output
    assert "200000000 is too large; allowed: an integer from 10000 to 100000000" in out


def _commands(group: click.Group, ctx: click.Context, path=()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, click.Context(command, parent=ctx), (*path, name))


def test_every_json_option_says_what_it_prints():
    ctx = click.Context(cli.main)
    missing = [" ".join(path) for path, command in _commands(cli.main, ctx)
               for param in command.params
               if isinstance(param, click.Option) and "--json" in param.opts and not param.help]
    assert not missing, f"--json without help: {missing}"


def test_hook_help_lists_its_events():
    out = invoke("hook", "--help").output
    for event in ("session-start", "user-prompt-submit", "post-tool-use", "post-tool-use-failure",
                  "stop", "session-end"):
        assert event in out


def test_a_second_data_dirs_viewer_takes_a_free_port_and_keeps_its_settings(tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", str(port))
    first = invoke("viewer", "--no-open").output.splitlines()[0]
    assert first.startswith(f"http://127.0.0.1:{port}/")
    first_data = config.data_dir()
    second_data = str(tmp_path / "second-memory")
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", second_data)
    try:
        result = invoke("viewer", "--no-open")
        url, note = result.output.splitlines()[:2]
        second_port = int(re.match(r"http://127\.0\.0\.1:(\d+)/", url).group(1))
        assert second_port != port
        assert f"port {port} was taken" in note and "viewer_port is unchanged" in note
        assert not os.path.exists(os.path.join(second_data, "settings.json"))
        token = url.split("token=", 1)[1]
        assert fetch(second_port, "/api/status", token=token)[0] == 200
    finally:
        stop_viewer()
        monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", first_data)
        stop_viewer()


def test_the_viewer_renders_the_models_markdown_safely(viewer):  # noqa: F811
    from claude_mem.viewer import markdown

    html = markdown.to_html("**Cause:** `calculate_total()` taxed the *full* subtotal.\n\n"
                            "- one <b>two</b>\n- `<script>alert(1)</script>`\n\n"
                            "[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n"
                            "```\n**not bold** <i>\n```")
    assert "<strong>Cause:</strong> <code>calculate_total()</code>" in html
    assert "<em>full</em>" in html
    assert "<ul><li>one &lt;b&gt;two&lt;/b&gt;</li><li><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></li></ul>" in html
    assert "<pre><code>**not bold** &lt;i&gt;</code></pre>" in html
    assert "<a" not in html and "<img" not in html and "<script" not in html and "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    tags = set(re.findall(r"<(/?[a-z]+)", html))
    assert tags <= {"p", "/p", "strong", "/strong", "em", "/em", "code", "/code", "ul", "/ul",
                    "li", "/li", "pre", "/pre", "br"}
    # On the session page, the recorded model reply's Markdown is rendered, not shown raw.
    with open_store() as store:
        session_id = store.sessions(None, 10)[0]["id"]
    body = fetch(viewer.port, f"/session/{session_id}", token=viewer.token)[2].decode()
    assert "<code>acme_billing/invoice.py</code>" in body
    assert "`acme_billing/invoice.py`" not in body
