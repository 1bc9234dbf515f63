"""The README's first command: `claude-mem demo` works and leaves nothing behind."""
from __future__ import annotations

import os
import subprocess
import sys


def test_demo_replays_the_recorded_session_and_prints_the_next_sessions_context(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "claude_mem.cli", "demo"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Stored: 1 session, 2 prompts, 8 observations, 2 request summaries." in out
    assert "# claude-mem: memory of earlier work in acme-billing" in out
    assert "The invoice total is wrong when a discount and tax both apply" in out
    assert "`python -m pytest -q` failed (exit code 1): 1 failed, 4 passed" in out
    assert "`tax = (subtotal - discount) * invoice.tax_rate`" in out
    assert "Bump version to 0.3.1" in out
    assert "Cause: `calculate_total()` computed tax on the full subtotal" in out
    # A median of two samples is their mean; the last lines say what to do next, for real.
    assert "Median hook time: " in out and "(n=" in out
    assert f"{os.path.dirname(sys.executable)}/claude-mem install" in out.splitlines()[-2]
    assert "claude-mem doctor" in out.splitlines()[-1]
    # the throwaway data dir and its worker are gone
    data_dir = out.split("replaying a recorded Claude Code session into ")[1].split()[0]
    assert not os.path.exists(data_dir)
    ps = subprocess.run(["pgrep", "-f", data_dir], capture_output=True)
    assert ps.stdout == b""
