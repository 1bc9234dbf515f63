"""Settings doors (issue 22): a hand-edited ``exclude_projects`` with one bad entry keeps the
good ones (so the excluded project stays unrecorded) and doctor names the bad one; a
settings file that is a FIFO or holds one 100k-deep value costs only what is broken;
``cleanup-sessions --max-age`` refuses nan, inf and negatives."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from claude_mem import config
from helpers import open_store, run_hook


def cli(*args: str, expect: int | None = 0, timeout: float = 60):
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                          text=True, timeout=timeout)
    if expect is not None:
        assert proc.returncode == expect, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    return proc


def _settings(value) -> None:
    config.ensure_data_dir()
    with open(config.settings_path(), "w") as fh:
        fh.write(value if isinstance(value, str) else json.dumps(value))


def test_one_bad_exclude_entry_keeps_the_others(tmp_path):
    secret_project = tmp_path / "proj"
    secret_project.mkdir()
    _settings({"exclude_projects": ["proj", 1], "context_tokens": 1500})
    settings = config.load()
    assert settings.exclude_projects == ["proj"] and settings.context_tokens == 1500
    assert any("exclude_projects" in p and "1" in p for p in settings.problems)
    # The excluded project stays unrecorded through a real hook.
    run_hook("UserPromptSubmit", {"session_id": "x1", "cwd": str(secret_project),
                                  "hook_event_name": "UserPromptSubmit",
                                  "prompt": "the excluded project's plans"})
    if os.path.exists(config.db_path()):
        with open_store() as store:
            assert store.counts()["prompts"] == 0
    doctor = cli("doctor", expect=None)
    assert "exclude_projects" in doctor.stdout and "kept the other entries" in doctor.stdout


def test_a_deep_value_costs_only_its_setting(tmp_path):
    _settings('{"context_tokens": 2500, "exclude_projects": ' + "[" * 100_000 + "]" * 100_000
              + "}")
    settings = config.load()
    assert settings.context_tokens == 2500
    assert settings.exclude_projects == [] and settings.problems


def test_a_fifo_in_place_of_the_settings_file_is_refused_not_waited_on(tmp_path):
    config.ensure_data_dir()
    os.mkfifo(config.settings_path())
    proc = cli("config", timeout=20)
    assert "FIFO" in proc.stderr
    assert "FIFO" in cli("doctor", expect=1, timeout=20).stdout
    settings = config.load()
    assert settings.context_tokens == config.DEFAULTS["context_tokens"]
    # Every hook reads the settings: none may wait on the FIFO (run_hook would time out).
    proc = run_hook("SessionStart", {"session_id": "f1", "cwd": str(tmp_path),
                                     "hook_event_name": "SessionStart", "source": "startup"},
                    timeout=20)
    assert proc.returncode == 0


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "NaN"])
def test_cleanup_sessions_refuses_hours_that_are_not_a_positive_number(value):
    proc = cli("cleanup-sessions", f"--max-age={value}", "--dry-run", expect=2)
    assert "--max-age" in proc.stderr
