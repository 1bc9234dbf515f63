"""Settings are checked against one schema: by `config set/get/unset`, the loader, doctor, README."""
from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_mem import cli, config, log


def run(*args, env=None):
    return CliRunner().invoke(cli.main, list(args), env=env)


def settings_file() -> dict:
    return json.loads(Path(config.settings_path()).read_text())


@pytest.mark.parametrize("name, value, reason", [
    ("compressor", "gpt", "'gpt' is not a valid choice; allowed: one of heuristic, claude, anthropic, openai"),
    ("context_tokens", "-5", "-5 is too small; allowed: an integer from 100 to 100000"),
    ("context_tokens", "abc", "'abc' is not an integer"),
    ("context_tokens", "2.5", "'2.5' is not an integer"),
    ("viewer_port", "70000", "70000 is too large"),
    ("llm_timeout_seconds", "soon", "'soon' is not a number"),
    ("context_sources", "startup,lunch", "'lunch' is not a valid choice"),
])
def test_config_set_refuses_wrong_values_with_the_reason(name, value, reason):
    result = run("config", "set", name, "--", value)
    assert result.exit_code == 1, result.output
    assert f"refused: {name}: {reason}" in result.output
    assert "Traceback" not in result.output and "invalid literal" not in result.output
    assert not os.path.exists(config.settings_path())  # nothing written


def test_unknown_setting_is_named_with_a_suggestion():
    result = run("config", "set", "context_token", "500")
    assert result.exit_code == 2
    assert "unknown setting 'context_token' (did you mean context_tokens" in result.output
    assert run("config", "get", "nope").exit_code == 2


def test_set_get_unset_round_trip_with_sources(monkeypatch):
    result = run("config", "set", "compressor", "Anthropic", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["value"] == "anthropic"
    assert settings_file() == {"compressor": "anthropic"}
    assert stat.S_IMODE(os.stat(config.settings_path()).st_mode) == 0o600
    got = json.loads(run("config", "get", "compressor", "--json").output)
    assert got["value"] == "anthropic" and got["source"] == "settings.json"
    assert got["default"] == "heuristic" and got["env"] == "CLAUDE_MEM_COMPRESSOR"
    monkeypatch.setenv("CLAUDE_MEM_COMPRESSOR", "openai")
    assert json.loads(run("config", "get", "compressor", "--json").output)["source"] == "env"
    monkeypatch.delenv("CLAUDE_MEM_COMPRESSOR")
    result = run("config", "unset", "compressor")
    assert result.exit_code == 0 and 'back to the default "heuristic"' in result.output
    assert settings_file() == {}
    assert "was not set" in run("config", "unset", "compressor").output
    text = run("config", "get", "compressor").output
    assert text.startswith('compressor = "heuristic"   (from default)')


def test_a_broken_settings_file_is_refused_not_overwritten():
    config.ensure_data_dir()
    Path(config.settings_path()).write_text("{not json")
    result = run("config", "set", "context_tokens", "1200")
    assert result.exit_code == 1 and "cannot be read as JSON" in result.output
    assert Path(config.settings_path()).read_text() == "{not json"


def test_loader_keeps_the_default_for_bad_values_and_warns_once(monkeypatch):
    config.ensure_data_dir()
    Path(config.settings_path()).write_text(json.dumps(
        {"compressor": "gpt", "context_tokens": "abc", "context_summaries": 3, "colour": "blue"}))
    monkeypatch.setenv("CLAUDE_MEM_MAX_ATTEMPTS", "-1")
    settings = config.load()
    assert settings.compressor == "heuristic" and settings.context_tokens == 1500
    assert settings.context_summaries == 3 and settings.source("context_summaries") == "settings.json"
    assert settings.max_attempts == 5
    text = "\n".join(settings.problems)
    assert "compressor: 'gpt' is not a valid choice" in text and 'using "heuristic"' in text
    assert "unknown setting 'colour'" in text and "CLAUDE_MEM_MAX_ATTEMPTS" in text
    for _ in range(3):  # as three hooks would
        log.warn_once(config.load().problems)
    warned = [line for line in log.tail(50) if "settings:" in line]
    assert len(warned) == len(settings.problems)


def test_doctor_agrees_with_the_worker_about_settings_and_the_compressor(monkeypatch):
    config.ensure_data_dir()
    Path(config.settings_path()).write_text(json.dumps({"compressor": "gpt"}))
    result = run("doctor", "--json")
    report = json.loads(result.output)
    assert result.exit_code == 1 and not report["ok"]
    fixes = [c["message"] for c in report["checks"] if c["status"] == "fix"]
    assert any("compressor: 'gpt' is not a valid choice" in m and "config unset" in m for m in fixes)
    # The worker would use the heuristic: doctor says the heuristic is what runs.
    assert any(c["message"] == "compressor heuristic is ready" for c in report["checks"])


def test_claude_compressor_without_its_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "claude_agent_sdk", None)  # as if the extra were missing
    result = run("config", "set", "compressor", "claude")
    assert result.exit_code == 0
    assert "needs the [claude] extra, which is not installed" in result.output
    assert f"{sys.executable} -m pip install" in result.output and "[claude]" in result.output
    report = json.loads(run("doctor", "--json").output)
    fix = [c["message"] for c in report["checks"] if c["status"] == "fix"]
    assert any("uses the heuristic instead" in m and "-m pip install" in m for m in fix)


def test_readme_documents_every_setting_as_the_schema_says():
    readme = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    assert config.settings_table_markdown() in readme, \
        "docs/configuration.md settings table is out of date: paste config.settings_table_markdown()"
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, re.M))
    assert set(config.SCHEMA) <= documented
