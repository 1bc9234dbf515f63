"""The web viewer over HTTP: only its owner gets in, input is bounded, memory shows and streams.

The browser side (live feed, search, session page, status panel) is in
``test_viewer_browser.py``; here the real viewer process is driven with plain requests.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess

import pytest
from click.testing import CliRunner

from claude_mem import cli, control
from helpers import run_hook, wait_until_drained
from viewer_kit import SESSION_A, bash_event, fetch, start_viewer, stop_viewer, viewer  # noqa: F401


def test_the_printed_address_lets_the_owner_in_and_nothing_else_does(viewer):
    status, headers, _ = fetch(viewer.port, viewer.url.split(str(viewer.port), 1)[1])
    assert status == 303 and headers["Location"] == "/"  # the token leaves the address bar
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    pair = cookie.split(";", 1)[0]
    status, _, body = fetch(viewer.port, "/", {"Cookie": pair})
    assert status == 200 and b"Live memory" in body
    status, _, body = fetch(viewer.port, "/api/search?q=pytest", {"Cookie": pair})
    assert status == 200 and json.loads(body)

    for path in ("/", "/api/search?q=pytest", "/api/status", "/api/feed", "/api/events",
                 "/api/feed?limit=abc", "/search?q=" + "x" * 5000,
                 "/session/1", "/obs/1", "/static/app.js", "/settings"):
        status, _, body = fetch(viewer.port, path)
        assert status == 401, path
        assert b"pytest" not in body and b"acme" not in body
    wrong = "x" * len(viewer.token)
    assert fetch(viewer.port, f"/?token={wrong}")[0] == 401
    assert fetch(viewer.port, "/api/status", token=wrong)[0] == 401
    assert fetch(viewer.port, "/", {"Cookie": pair.split("=")[0] + "=" + wrong})[0] == 401
    # The token is the data dir owner's secret.
    from claude_mem.viewer import access

    assert os.stat(access.token_path()).st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="running a request as another Unix user needs root (runuser)")
@pytest.mark.skipif(shutil.which("runuser") is None, reason="runuser is not installed")
def test_another_unix_user_is_refused(viewer, tmp_path):
    from claude_mem.viewer import access

    probe = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n    open(sys.argv[2]).read(); print('token readable')\n"
        "except OSError as e:\n    print('token unreadable', type(e).__name__)\n"
        "for path in ('/api/search?q=pytest', '/', '/api/status'):\n"
        "    try:\n        r = urllib.request.urlopen(sys.argv[1] + path, timeout=10); print(r.status)\n"
        "    except urllib.error.HTTPError as e:\n        print(e.code)\n")
    result = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-I", "-c", probe,
                             viewer.base, access.token_path()],
                            capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0].startswith("token unreadable"), result.stdout
    assert lines[1:4] == ["401", "401", "401"], result.stdout


BAD_INPUT = [
    ("/api/feed?limit=abc", 400, "limit must be a whole number"),
    ("/api/feed?limit=-1", 400, "limit must be a whole number"),
    ("/api/feed?limit=0", 400, "limit must be a whole number"),
    ("/api/search?q=x&limit=99999999999999999999", 400, "limit must be a whole number"),
    ("/api/sessions?limit=1e9", 400, "limit must be a whole number"),
    ("/api/feed?type=bogus", 400, "type must be one of"),
    ("/api/events?s=nan", 400, "s must be a time"),
    ("/api/events?o=-5", 400, "o must be a whole number"),
    ("/api/observations/99999999999999999999", 404, "no observation"),
    ("/api/observations/9223372036854775808", 404, "no observation"),
    ("/api/sessions/%C2%B2", 404, "no session"),
    ("/obs/99999999999999999999", 404, "no observation"),
    ("/session/-1", 404, "no session"),
    ("/search?q=" + "x" * 1001, 400, "q is too long"),
    ("/api/search?q=a%00b", 400, "NUL"),
    ("/api/search?q=pytest&mode=banana", 400, "mode must be one of: words, meaning, both"),
    ("/nowhere", 404, "no such page"),
]


def test_bad_input_gets_a_clear_4xx(viewer):
    for path, status, words in BAD_INPUT:
        got, headers, body = fetch(viewer.port, path, token=viewer.token)
        assert got == status, (path, body[:300])
        assert words in body.decode(), path
        assert b"Traceback" not in body


def test_repeated_search_words_are_answered(viewer):
    # Search terms are bounded (length here, repeats reduced by the store): an answer, not a hang.
    status, _, body = fetch(viewer.port, "/api/search?q=" + "+".join(["pytest"] * 140),
                            token=viewer.token, timeout=60)
    assert status == 200 and json.loads(body)


def test_pages_and_api_show_the_memory(viewer):
    status, _, body = fetch(viewer.port, "/search?q=pytest", token=viewer.token)
    page = body.decode()
    assert status == 200 and "<mark>pytest</mark>" in page and "/obs/" in page
    hits = json.loads(fetch(viewer.port, "/api/search?q=calculate_total", token=viewer.token)[2])
    assert hits and "<mark>" in hits[0]["snippet_html"]
    obs_id = next(h["id"] for h in hits if h["kind"] == "observation")
    status, _, body = fetch(viewer.port, f"/obs/{obs_id}", token=viewer.token)
    assert status == 200 and "/session/1" in body.decode()
    detail = json.loads(fetch(viewer.port, f"/api/observations/{obs_id}", token=viewer.token)[2])
    assert detail["id"] == obs_id and ("previous" in detail and "next" in detail)
    status, _, body = fetch(viewer.port, "/session/1", token=viewer.token)
    page = body.decode()
    ids = [int(part.split("'")[0]) for part in page.split("<li class='obs' id='obs-")[1:]]
    assert ids == sorted(ids) and len(ids) == 8  # the timeline keeps storage order
    feed = json.loads(fetch(viewer.port, "/api/feed?type=summary", token=viewer.token)[2])
    assert [i["kind"] for i in feed["items"]] == ["summary", "summary"]
    some_type = json.loads(fetch(viewer.port, f"/api/observations/{obs_id}", token=viewer.token)[2])["type"]
    feed = json.loads(fetch(viewer.port, f"/api/feed?type={some_type}&project=acme-billing",
                            token=viewer.token)[2])
    assert feed["items"] and {i["type"] for i in feed["items"]} == {some_type}
    assert json.loads(fetch(viewer.port, "/api/feed?project=elsewhere", token=viewer.token)[2])["items"] == []
    status_report = json.loads(fetch(viewer.port, "/api/status", token=viewer.token)[2])
    assert status_report["queue"]["pending"] == 0 and status_report["database_bytes"] > 0
    assert status_report["counts"]["observations"] == 8
    # Search by meaning's line (off in tests: search_mode words, or the extra absent).
    assert "meaning: off" in status_report["text"] and "semantic" in status_report
    settings = json.loads(fetch(viewer.port, "/api/settings", token=viewer.token)[2])
    assert settings["values"]["viewer_port"] == viewer.port


def test_new_memory_is_pushed_to_an_open_stream(viewer, recorded):
    cursor = json.loads(fetch(viewer.port, "/api/feed?limit=1", token=viewer.token)[2])["cursor"]
    with socket.create_connection(("127.0.0.1", viewer.port), timeout=30) as conn:
        conn.sendall((f"GET /api/events?p={cursor['prompt']}&o={cursor['observation']}"
                      f"&s={cursor['summary']} HTTP/1.1\r\nHost: 127.0.0.1:{viewer.port}\r\n"
                      f"Authorization: Bearer {viewer.token}\r\n\r\n").encode())
        received = b""
        while b"event: status" not in received:  # the stream is open
            received += conn.recv(65536)
        run_hook("PostToolUse", bash_event(recorded, "echo quokka-streamed", "quokka-streamed",
                                           "toolu_stream_1"))
        while b"quokka-streamed" not in received:
            chunk = conn.recv(65536)
            assert chunk, "the stream closed"
            received += chunk
    item = next(json.loads(line[len("data: "):]) for line in received.decode().splitlines()
                if line.startswith("data: ") and "quokka-streamed" in line)
    assert item["kind"] == "observation" and item["claude_session_id"] == SESSION_A
    wait_until_drained()


def test_stored_markup_is_shown_as_text(viewer):
    run_hook("UserPromptSubmit", {"session_id": SESSION_A, "cwd": "/home/dev/acme-billing",
                                  "prompt_id": "p-markup", "prompt": "<script>alert(1)</script> please"})
    wait_until_drained()
    page = fetch(viewer.port, "/session/1", token=viewer.token)[2].decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_foreign_host_or_origin_is_refused_even_with_the_token(viewer):
    for headers in ({"Host": "evil.example:80"},            # DNS rebinding
                    {"Host": "127.0.0.1:1"},                # wrong port
                    {"Origin": "http://evil.example"},      # cross-site fetch
                    {"Sec-Fetch-Site": "cross-site"}):
        headers = {"Host": f"127.0.0.1:{viewer.port}", **headers}
        assert fetch(viewer.port, "/api/sessions", headers, token=viewer.token)[0] == 403, headers


def test_writes_are_not_accepted(viewer):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _ = fetch(viewer.port, "/api/sessions", method=method, token=viewer.token)
        assert status == 405 and headers["Allow"] == "GET, HEAD"
    status, _, _ = fetch(viewer.port, f"/settings?token={viewer.token}", method="POST", body=b"",
                         headers={"Origin": viewer.base})
    assert status in (400, 405)  # the key never travels in a change's address


def test_viewer_listens_on_loopback_only_in_its_own_process(viewer, monkeypatch):
    from claude_mem.viewer import process

    addresses = {line.split()[1] for line in open("/proc/net/tcp").read().splitlines()[1:]
                 if line.split()[3] == "0A"}  # LISTEN
    assert f"0100007F:{viewer.port:04X}" in addresses
    assert f"00000000:{viewer.port:04X}" not in addresses
    running = process.running()
    assert running["port"] == viewer.port and running["pid"] != control.read_pid()
    # Asking again finds the same process and prints the same address.
    result = CliRunner().invoke(cli.main, ["viewer", "--json"])
    info = json.loads(result.output)
    assert info["pid"] == running["pid"] and info["url"] == viewer.url and info["started"] is False
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", str(viewer.port + 1))
    lines = CliRunner().invoke(cli.main, ["viewer", "--no-open"]).output.splitlines()
    assert lines[0] == viewer.url and f"viewer_port is now {viewer.port + 1}" in lines[1]


def test_the_viewer_outlives_the_worker_and_says_it_is_down(viewer):
    assert control.stop_worker()
    result = CliRunner().invoke(cli.main, ["viewer", "--no-open"])
    lines = result.output.splitlines()
    assert result.exit_code == 0 and lines[0] == viewer.url
    assert "worker: not running" in lines[1]
    report = json.loads(fetch(viewer.port, "/api/status", token=viewer.token)[2])
    assert report["worker"]["running"] is False


def test_a_taken_port_is_explained_and_a_free_one_taken(monkeypatch):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", str(port))
        try:
            result = CliRunner().invoke(cli.main, ["viewer", "--no-open"])
            assert result.exit_code == 0, result.output
            url, note = result.output.splitlines()[:2]
            assert not url.startswith(f"http://127.0.0.1:{port}/")
            assert f"port {port} was taken (by pid {os.getpid()}" in note
            assert "viewer_port is unchanged" in note
        finally:
            stop_viewer()


def test_viewer_turned_off_is_explained(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_VIEWER_PORT", "0")
    result = CliRunner().invoke(cli.main, ["viewer", "--no-open"])
    assert result.exit_code == 1 and "turned off (viewer_port is 0)" in result.output


def test_export_writes_every_session_as_json(viewer, tmp_path):
    out = tmp_path / "export.json"
    result = CliRunner().invoke(cli.main, ["export", "--project", "acme-billing", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["format"] == "claude-mem-export/1"
    [session] = data["sessions"]
    assert session["session"]["claude_session_id"] == SESSION_A
    assert len(session["observations"]) == 8 and len(session["summaries"]) == 2


def test_stopping_leaves_no_viewer(monkeypatch):
    start_viewer(monkeypatch)
    stop_viewer()
    from claude_mem.viewer import process

    assert process.running() is None and not process.lock_held()
    result = CliRunner().invoke(cli.main, ["viewer", "--stop"])
    assert result.output.strip() == "no viewer running"


def _post(port, body: str, headers: dict) -> tuple:
    return fetch(port, "/settings", {"Content-Type": "application/x-www-form-urlencoded",
                                     "Content-Length": str(len(body.encode())), **headers},
                 method="POST", body=body.encode())


def test_settings_change_only_from_the_viewers_own_form(viewer):
    from urllib.parse import urlencode

    from claude_mem import config
    from claude_mem.viewer import access, routes

    if not routes.settings_editable():
        pytest.skip("config.set_value (the CLI's settings schema) is not in this tree yet")
    key = access.form_key(viewer.token)
    page = fetch(viewer.port, "/settings", token=viewer.token)[2].decode()
    assert f"value='{key}'" in page and viewer.token not in page
    origin = {"Origin": viewer.base}
    good = urlencode({"form_key": key, "name": "context_tokens", "value": "1234", "action": "set"})
    cookie = {"Cookie": f"{access.cookie_name(viewer.port)}={viewer.token}"}
    # Refused: no key at all, a foreign or missing Origin, a form without the form key.
    assert _post(viewer.port, good, origin)[0] == 401
    assert _post(viewer.port, good, {**cookie, "Origin": "http://evil.example"})[0] == 403
    assert _post(viewer.port, good, cookie)[0] == 403
    forged = urlencode({"form_key": "0" * 64, "name": "context_tokens", "value": "1234"})
    assert _post(viewer.port, forged, {**cookie, **origin})[0] == 403
    assert config.load().context_tokens != 1234
    # A value the setting cannot take is refused with the CLI's reason; nothing is written.
    bad = urlencode({"form_key": key, "name": "context_tokens", "value": "-5"})
    status, _, body = _post(viewer.port, bad, {**cookie, **origin})
    assert status == 400 and "not saved: context_tokens" in body.decode()
    # The page's own form gets through, and the CLI sees the value.
    status, headers, _ = _post(viewer.port, good, {**cookie, **origin})
    assert status == 303 and headers["Location"].startswith("/settings?saved=context_tokens")
    assert config.load().context_tokens == 1234
    reset = urlencode({"form_key": key, "name": "context_tokens", "action": "reset"})
    assert _post(viewer.port, reset, {**cookie, **origin})[0] == 303
    assert config.load().context_tokens == config.DEFAULTS["context_tokens"]


def test_secret_settings_are_masked_and_never_written_back(viewer):
    from urllib.parse import urlencode

    from claude_mem import config
    from claude_mem.viewer import access

    if "team_database_url" not in getattr(config, "SECRET_SETTINGS", ()):
        pytest.skip("no secret settings in this tree")
    config.set_value("team_database_url", "postgresql://me:hunter2secret@db.example/mem")
    page = fetch(viewer.port, "/settings", token=viewer.token)[2].decode()
    api = fetch(viewer.port, "/api/settings", token=viewer.token)[2].decode()
    assert "hunter2secret" not in page and "hunter2secret" not in api
    empty = urlencode({"form_key": access.form_key(viewer.token), "name": "team_database_url",
                       "value": ""})
    status, _, body = _post(viewer.port, empty, {"Origin": viewer.base,
                                                 "Cookie": f"{access.cookie_name(viewer.port)}={viewer.token}"})
    assert status == 400 and "type the new team_database_url" in body.decode()
    assert "hunter2secret" in config.load().team_database_url
