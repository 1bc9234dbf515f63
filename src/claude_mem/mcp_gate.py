"""The MCP server's front door on stdio: every line the client sends is checked here
before the SDK sees it, and every line it cannot take is answered with a JSON-RPC error.

Contract: ``run(server)`` serves an MCP SDK server (``MCPServer``, or v1's ``FastMCP``)
over this process's stdin/stdout until the client hangs up, through ``Gate``:
- a line longer than ``MAX_LINE_BYTES`` is dropped unread and answered ``-32600``;
- text that is not JSON is answered ``-32700`` (parse error, ``id: null``);
- JSON nested deeper than ``MAX_DEPTH`` (arguments included) is answered ``-32600`` with
  the request's id, found by parsing a cut copy (``boundedjson``): the client is never
  left to wait out its timeout;
- a batch, a non-object, an id that is a float, an object, a list or a boolean, a method
  that is not text: ``-32600``, echoing a scalar id so a client can match the answer;
- lone UTF-16 surrogates (``"\\ud800"``) are replaced by U+FFFD and the request goes on;
- what the SDK's own message model would refuse is answered ``-32600`` with the id.
Without the SDK rejecting them silently, no request the client sent goes unanswered.
The SDK's answers and the gate's share one writer, one whole line at a time. While
serving, fd 0 reads the null device and fd 1 points at stderr (as the SDK's own stdio
transport does), so stray output of a library never corrupts the protocol stream.
"""
from __future__ import annotations

import json
import os
import sys
import threading

MAX_LINE_BYTES = 1 << 20      # 1 MiB: the largest request the tools could need is ~10 KB
MAX_DEPTH = 32                # initialize's capabilities nest ~5 deep; arguments ~3

PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def error_line(ident, code: int, message: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": ident,
                       "error": {"code": code, "message": message}}) + "\n"


def _depth(text: str) -> int:
    """How deep the brackets of JSON text nest (strings skipped), without parsing it."""
    from claude_mem import boundedjson

    depth = deepest = 0
    for match in boundedjson._tokens().finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _scalar_id(message):
    """The id to answer with: the request's own when it is a scalar, else null."""
    if isinstance(message, dict):
        ident = message.get("id")
        if isinstance(ident, (str, int, float)) and not isinstance(ident, bool):
            return ident
    return None


def _message_check():
    """The SDK's own validation of one JSON-RPC message (v2's adapter, else v1's model)."""
    try:
        import mcp_types

        adapter = mcp_types.jsonrpc_message_adapter
        return lambda line: adapter.validate_json(line, by_name=False)
    except (ImportError, AttributeError):
        from mcp.types import JSONRPCMessage

        return JSONRPCMessage.model_validate_json


def check(line: str, validate=None) -> tuple[str | None, str | None]:
    """``(line to pass on, None)`` or ``(None, error line to answer)`` for one client line."""
    from claude_mem import boundedjson

    if len(line) > MAX_DEPTH and _depth(line) > MAX_DEPTH:
        try:
            cut = boundedjson.loads(line, max_depth=MAX_DEPTH)
        except ValueError:
            cut = None
        return None, error_line(_scalar_id(cut), INVALID_REQUEST,
                                f"request nested more than {MAX_DEPTH} levels deep")
    try:
        message = boundedjson.loads(line)  # lone surrogates come back as U+FFFD
    except ValueError:
        return None, error_line(None, PARSE_ERROR, "parse error: not JSON")
    if not isinstance(message, dict):
        what = "batches are not supported" if isinstance(message, list) else "not a JSON-RPC message"
        return None, error_line(None, INVALID_REQUEST, f"invalid request: {what}")
    ident = message.get("id", None)
    if "id" in message and (isinstance(ident, bool) or not isinstance(ident, (str, int))):
        return None, error_line(_scalar_id(message), INVALID_REQUEST,
                                "invalid request: an id must be a string or an integer")
    if "method" in message and not isinstance(message["method"], str):
        return None, error_line(_scalar_id(message), INVALID_REQUEST,
                                "invalid request: method must be a string")
    clean = json.dumps(message, ensure_ascii=False)
    if validate is not None:
        try:
            validate(clean)
        except Exception as exc:  # the SDK would drop it without a word
            if "method" not in message or "id" not in message:
                return None, None  # a malformed answer or notification: nobody waits for it
            return None, error_line(_scalar_id(message), INVALID_REQUEST,
                                    "invalid request: not a JSON-RPC request of the shape MCP "
                                    f"defines ({type(exc).__name__})")
    return clean + "\n", None


class Output:
    """The one writer of the protocol stream: whole lines, one at a time."""

    def __init__(self, fd: int):
        self.file = os.fdopen(fd, "wb", buffering=0, closefd=False)
        self.lock = threading.Lock()

    def write_now(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        with self.lock:
            self.file.write(data)

    async def write(self, text: str) -> None:
        import anyio

        await anyio.to_thread.run_sync(self.write_now, text)

    async def flush(self) -> None:
        return None


class Gate:
    """The client's lines, checked: iterated by the SDK as its stdin."""

    def __init__(self, fd: int, output: Output):
        self.file = os.fdopen(fd, "rb", buffering=1 << 16, closefd=False)
        self.output = output
        self.validate = _message_check()

    def __aiter__(self):
        return self

    def _next_line(self) -> tuple[str | None, str | None] | None:
        """Blocking: the next ``check`` result, or None at the end of input."""
        while True:
            raw = self.file.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return None
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # the rest of it, unread
                    raw = self.file.readline(1 << 20)
                return None, error_line(None, INVALID_REQUEST,
                                        f"request larger than {MAX_LINE_BYTES} bytes")
            text = raw.decode("utf-8", "replace").strip()
            if text:
                return check(text, self.validate)

    async def __anext__(self) -> str:
        import anyio

        while True:
            result = await anyio.to_thread.run_sync(self._next_line, abandon_on_cancel=True) \
                if _takes_abandon() else await anyio.to_thread.run_sync(self._next_line)
            if result is None:
                raise StopAsyncIteration
            passed, answer = result
            if answer:
                await self.output.write(answer)
            if passed:
                return passed


def _takes_abandon() -> bool:
    import inspect

    import anyio

    return "abandon_on_cancel" in inspect.signature(anyio.to_thread.run_sync).parameters


def _private_fds() -> tuple[int, int]:
    """Private copies of fd 0 and 1 for the protocol; fd 0 then reads /dev/null and fd 1
    writes to stderr, so nothing else can read the client's lines or write into the answers."""
    stdin_fd, stdout_fd = os.dup(0), os.dup(1)
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)
    except OSError:
        pass
    return stdin_fd, stdout_fd


def run(server) -> None:
    """Serve ``server`` over stdio through the gate until the client hangs up."""
    import anyio

    try:
        from mcp.server.stdio import stdio_server
    except ImportError:  # pragma: no cover - every SDK with a server has it
        raise
    lowlevel = getattr(server, "_lowlevel_server", None) or getattr(server, "_mcp_server")
    sys.stdout.flush()
    stdin_fd, stdout_fd = _private_fds()
    output = Output(stdout_fd)

    async def serve() -> None:
        async with stdio_server(stdin=Gate(stdin_fd, output), stdout=output) as (reader, writer):
            await lowlevel.run(reader, writer, lowlevel.create_initialization_options())

    anyio.run(serve)
