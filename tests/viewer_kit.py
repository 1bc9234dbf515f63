"""What the viewer tests share: a running viewer over the recorded session, and requests to it.

The viewer runs as its real process, started by the real ``claude-mem viewer --no-open``
on a free port; the address it prints on its first line is how the tests get in.
"""
from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from claude_mem import cli
from helpers import run_hook, wait_until_drained

SESSION_A = "351e9b10-7539-48d0-b16d-f38661328494"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Viewer:
    port: int
    url: str  # the first line `claude-mem viewer --no-open` printed

    @property
    def token(self) -> str:
        return self.url.split("token=", 1)[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def fetch(port: int, path: str, headers: dict | None = None, method: str = "GET",
          token: str | None = None, timeout: float = 10, body: bytes | None = None):
    """One request; (status, headers, body). ``token`` is sent as a bearer header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.headers, body


def start_viewer(monkeypatch) -> Viewer:
    port = free_port()
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", str(port))
    result = CliRunner().invoke(cli.main, ["viewer", "--no-open"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"http://127.0.0.1:{port}/?token="), result.output
    return Viewer(port, first)


def stop_viewer() -> None:
    from claude_mem.viewer import process

    assert process.stop(), "the viewer did not stop"


@pytest.fixture
def viewer(recorded, monkeypatch):
    """A viewer over the recorded real-CLI session (its events replayed through the hooks)."""
    for event, payload in recorded:
        if payload["session_id"] == SESSION_A:
            run_hook(event, payload)
    wait_until_drained()
    try:
        yield start_viewer(monkeypatch)
    finally:
        stop_viewer()


def bash_event(recorded, command: str, output: str, tool_use_id: str) -> dict:
    """A PostToolUse of session A's last prompt running ``command``, shaped like the recorded ones."""
    template = next(p for e, p in reversed(recorded)
                    if e == "PostToolUse" and p.get("tool_name") == "Bash")
    return {**template, "tool_use_id": tool_use_id,
            "tool_input": {"command": command, "description": f"run {command}"},
            "tool_response": {**template["tool_response"], "stdout": output}}
