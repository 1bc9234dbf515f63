"""The web viewer the worker serves: loopback only, read-only, refuses foreign Host/Origin."""
from __future__ import annotations

import http.client
import json
import socket

import pytest
from click.testing import CliRunner

from claude_mem import cli
from helpers import run_hook, wait_until_drained

SESSION_A = "351e9b10-7539-48d0-b16d-f38661328494"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def viewer(recorded, monkeypatch):
    port = _free_port()
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", str(port))
    for event, payload in recorded:
        if payload["session_id"] == SESSION_A:
            run_hook(event, payload)
    wait_until_drained()
    result = CliRunner().invoke(cli.main, ["viewer"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"http://127.0.0.1:{port}/"
    return port


def get(port, path, headers=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_pages_and_api_show_the_memory(viewer):
    status, body = get(viewer, "/?project=acme-billing")
    assert status == 200
    page = body.decode()
    assert "acme-billing" in page and "Read acme_billing/invoice.py" in page
    status, body = get(viewer, "/?q=pytest")
    assert status == 200 and "1 failed, 4 passed" in body.decode()
    status, body = get(viewer, "/api/search?q=CHANGELOG")
    assert status == 200
    assert any(h["title"] == "Created CHANGELOG.md" for h in json.loads(body))
    status, body = get(viewer, "/api/sessions")
    assert [s["claude_session_id"] for s in json.loads(body)] == [SESSION_A]
    obs_id = json.loads(get(viewer, "/api/search?q=calculate_total")[1])[0]["id"]
    status, body = get(viewer, f"/obs/{obs_id}")
    assert status == 200 and "Observation #" in body.decode()
    assert get(viewer, "/obs/999999")[0] == 404


def test_viewer_escapes_stored_text(viewer):
    # A prompt with markup must show as text, not run as a script in the page.
    run_hook("UserPromptSubmit", {"session_id": "x", "cwd": "/w/acme-billing", "prompt_id": "p",
                                  "prompt": "<script>alert(1)</script> please"})
    wait_until_drained()
    page = get(viewer, "/")[1].decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example:80"},                       # DNS rebinding
    {"Host": "127.0.0.1:1"},                           # wrong port
    {"Origin": "http://evil.example"},                 # cross-site fetch
])
def test_foreign_host_or_origin_is_refused(viewer, headers):
    headers = {"Host": f"127.0.0.1:{viewer}", **headers}
    status, _ = get(viewer, "/api/sessions", headers)
    assert status == 403


def test_writes_are_not_accepted(viewer):
    assert get(viewer, "/api/sessions", method="POST")[0] == 501
    assert get(viewer, "/", method="DELETE")[0] == 501


def test_viewer_listens_on_loopback_only(viewer):
    from claude_mem import control

    reply = control.request({"cmd": "ping"})
    assert reply["viewer"] == f"http://127.0.0.1:{viewer}/"
    addresses = {line.split()[1] for line in open("/proc/net/tcp").read().splitlines()[1:]
                 if line.split()[3] == "0A"}  # LISTEN
    assert f"0100007F:{viewer:04X}" in addresses
    assert f"00000000:{viewer:04X}" not in addresses


def test_export_writes_every_session_as_json(viewer, tmp_path):
    out = tmp_path / "export.json"
    result = CliRunner().invoke(cli.main, ["export", "--project", "acme-billing", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["format"] == "claude-mem-export/1"
    [session] = data["sessions"]
    assert session["session"]["claude_session_id"] == SESSION_A
    assert len(session["observations"]) == 8 and len(session["summaries"]) == 2
