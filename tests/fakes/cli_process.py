"""Running a real agent CLI (Claude Code, Codex, Gemini) as a test subprocess.

``run_in_own_group`` starts the CLI in its own session/process group, so that on a timeout the
CLI *and* every hook it spawned are killed together; it returns whatever output there was and
says whether the time ran out. Each CLI driver raises its own timeout error from that.
"""
from __future__ import annotations

import os
import signal
import subprocess
from typing import Mapping, Sequence

__all__ = ["run_in_own_group"]


def run_in_own_group(argv: Sequence[str], *, cwd: str | os.PathLike, env: Mapping[str, str],
                     timeout: float, stdin_data: bytes | None = None
                     ) -> tuple[int | None, bytes, bytes, bool]:
    """Run ``argv`` to the end or until ``timeout``: ``(returncode, stdout, stderr, timed_out)``.

    ``stdin_data`` is written to the CLI's stdin (None: stdin is /dev/null)."""
    proc = subprocess.Popen(list(argv), cwd=str(cwd), env=dict(env),
                            stdin=subprocess.DEVNULL if stdin_data is None else subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(stdin_data, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        out, err = proc.communicate()
        return proc.returncode, out, err, True
    return proc.returncode, out, err, False
