"""The MCP server over real stdio answers every line a client sends (issue 22): malformed
JSON, float/object ids, a batch, 100k-deep arguments, a lone surrogate in a query, 100k ids
to ``get_observations`` and an over-long line each get a JSON-RPC error (or a tool error)
with the request's id, and the server keeps serving. Raw lines, the real server process."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

LEGACY_DB = Path(__file__).parent / "fixtures" / "claude-mem-13" / "claude-mem.db"
ANSWER_SECONDS = 30  # a liveness bound (the client's timeout), not a timing assertion


class Server:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "claude_mem.mcp_server"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.buffer = b""

    def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def answer(self) -> dict:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([fd], [], [], ANSWER_SECONDS)
            assert ready, "the server left a request unanswered"
            chunk = os.read(fd, 1 << 16)
            assert chunk, "the server exited"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(tmp_path):
    subprocess.run([sys.executable, "-m", "claude_mem.cli", "import", "claude-mem-db",
                    str(LEGACY_DB)], check=True, capture_output=True, timeout=60)
    srv = Server()
    srv.send(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}))
    assert srv.answer()["id"] == 0
    srv.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    yield srv
    srv.close()


def call(ident, tool: str, arguments) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments}})


def test_every_malformed_request_gets_a_json_rpc_error(server):
    deep = "[" * 100_000 + "]" * 100_000
    cases = [
        ('{"jsonrpc": "2.0", "id": 1, "method": "tools/li', None, -32700),
        (json.dumps({"jsonrpc": "2.0", "id": 2.5, "method": "tools/list"}), 2.5, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}), None, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": True, "method": "tools/list"}), None, -32600),
        ("[]", None, -32600),
        ("42", None, -32600),
        (call(3, "search", {"query": "x"}).replace('"x"', deep), 3, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": 5}), 4, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 5, "method": 7}), 5, -32600),
        (b'{"jsonrpc": "2.0", "id": 6, "method": "x", "pad": "' + b"a" * (2 << 20) + b'"}',
         None, -32600),
        (b"\xff\xfe not utf-8 \x00", None, -32700),
    ]
    for line, ident, code in cases:
        server.send(line)
        reply = server.answer()
        assert reply.get("error", {}).get("code") == code, (line[:80], reply)
        assert reply["id"] == ident
    # Still serving.
    server.send(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}))
    assert len(server.answer()["result"]["tools"]) == 5


def test_limits_on_tool_arguments_answer_at_once(server):
    server.send(call(10, "get_observations", {"ids": list(range(100_000))}))
    reply = server.answer()
    assert reply["id"] == 10 and reply["result"]["isError"]
    assert "100,000 ids in one call" in reply["result"]["content"][0]["text"]
    server.send(call(11, "search", {"query": "invoice " * 2000}))
    reply = server.answer()
    assert reply["result"]["isError"] and "at most 1,000" in reply["result"]["content"][0]["text"]
    server.send(call(12, "get_observations", {"ids": [14, 14, 14]}))
    text = server.answer()["result"]["content"][0]["text"]
    assert text.count("Observation #14") == 1


def test_a_lone_surrogate_in_a_query_is_answered(server):
    server.send('{"jsonrpc": "2.0", "id": 13, "method": "tools/call", "params": {"name": '
                '"search", "arguments": {"query": "invoice \\ud800", "project": "*"}}}')
    reply = server.answer()
    assert reply["id"] == 13 and "invoice" in reply["result"]["content"][0]["text"].lower()
