"""``claude-mem export`` writes safely (issue 22): a temp file nobody else can have made
(``O_EXCL``, random name, 0600) renamed over a regular file; straight into a FIFO or a
character device, never replacing it; one clear line for a full disk or a missing folder."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_mem import cli as cli_module

LEGACY_DB = Path(__file__).parent / "fixtures" / "claude-mem-13" / "claude-mem.db"


def cli(*args: str, expect: int = 0, stdout=None):
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], text=True,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == expect, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def memory():
    cli("import", "claude-mem-db", str(LEGACY_DB))


def test_export_to_a_regular_file_is_private_and_leaves_no_temp(tmp_path, memory):
    target = tmp_path / "out" / "memory.json"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o644)
    proc = cli("export", "-o", str(target))
    assert "private 0600" in proc.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert len(json.loads(target.read_text())["sessions"]) == 6
    assert os.listdir(target.parent) == ["memory.json"]


def test_a_precreated_temp_name_is_never_written(tmp_path, memory):
    """The old export opened ``PATH.<pid>.tmp`` without O_EXCL: whoever made that name first
    (in a shared sticky folder) read the export through it."""
    target = tmp_path / "memory.json"
    planted = Path(f"{target}.{os.getpid()}.tmp")
    planted.write_text("")
    os.chmod(planted, 0o644)
    with open(planted, "rb") as spy:  # the other user's handle, opened beforehand
        result = CliRunner().invoke(cli_module.main, ["export", "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert spy.read() == b""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["format"] == "claude-mem-export/1"


def test_a_device_is_never_replaced_and_a_full_disk_is_one_line(tmp_path, memory):
    """The old export, run as root, replaced the device node with a regular file. The test
    makes its own node of /dev/full's device (1, 7), so code with that bug can only ever
    replace the test's node, never the machine's /dev/full."""
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except (PermissionError, AttributeError):
        pytest.skip("making a device node needs root (the failure was seen as root)")
    proc = cli("export", "-o", str(full), expect=1)
    assert "No space left on device" in proc.stderr
    after = os.lstat(full)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == os.makedev(1, 7)
    with open(full, "w") as out:
        proc = cli("export", expect=1, stdout=out)
    assert "cannot write to standard output: No space left on device" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_a_fifo_is_written_straight(tmp_path, memory):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    proc = cli("export", "-o", str(fifo))
    out, _ = reader.communicate(timeout=30)
    assert json.loads(out)["format"] == "claude-mem-export/1"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and "written straight" in proc.stdout


def test_missing_folder_and_a_folder_are_clear_errors(tmp_path, memory):
    proc = cli("export", "-o", str(tmp_path / "nonexistent" / "d" / "x.json"), expect=1)
    assert "no such folder" in proc.stderr
    proc = cli("export", "-o", str(tmp_path), expect=2)  # click: a folder is not a file
    assert "directory" in proc.stderr.lower()


def test_symlinks_yours_are_followed_a_loop_is_refused(tmp_path, memory):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert "loop" in cli("export", "-o", str(tmp_path / "a"), expect=1).stderr
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    cli("export", "-o", str(tmp_path / "link.json"))
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "real.json").read_text())["format"] == "claude-mem-export/1"
