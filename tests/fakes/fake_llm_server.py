"""A fake LLM HTTP server for tests (standard library only).

It speaks just enough of two wire protocols for real clients to work against it offline:

* **Anthropic Messages API** -- ``POST /v1/messages`` (the ``?beta=true`` query the Claude Code
  CLI adds is ignored). ``"stream": true`` gets Server-Sent Events (``message_start``,
  ``content_block_start``, ``content_block_delta`` with ``text_delta`` / ``input_json_delta``,
  ``content_block_stop``, ``message_delta`` with ``stop_reason`` and ``usage``,
  ``message_stop``); otherwise one JSON message. ``POST /v1/messages/count_tokens`` answers
  ``{"input_tokens": N}``. ``messages[]`` entries with ``role: "system"`` (Claude Code puts hook
  text there) are accepted like any other.
* **OpenAI chat completions** -- ``POST /v1/chat/completions``, plain JSON or ``stream: true``
  (``data: {chunk}`` lines ending with ``data: [DONE]``).
* Anything else: ``GET``/``HEAD`` -> 200 ``{}``; other methods/paths -> 404 JSON. A bug in this
  module or in a script answers 500 JSON and is kept in ``srv.errors``; the server never dies.

Usage::

    script = Script(
        rules=[Rule("make a file", [ToolUse("Bash", {"command": "echo hi > a.txt"}), Text("done")])],
        default=Text("ok"),
    )
    with FakeLLMServer(script) as srv:
        ...point a client at srv.url (OpenAI clients: srv.url + "/v1")...
        assert srv.model_requests[-1].body["stream"] is True

What decides a reply (the *script*), one of:

* ``Script(rules, default)`` -- **stateless**: the reply depends only on the request, so client
  retries, resumed sessions and parallel sessions need no bookkeeping. The rule whose ``match``
  is found in the *last real user prompt* is chosen, and the turn within it is the number of
  assistant messages after that prompt (turn 0 answers the prompt, turn 1 answers the first
  tool result, ...). Past the end of ``turns`` (or when no rule matches) ``default`` answers.
  A "real" user prompt is a ``role: "user"`` message holding a plain string, or text blocks,
  and no ``tool_result`` block; ``<system-reminder>...</system-reminder>`` text is removed first
  and a message left empty does not count. ``role: "system"`` messages are ignored.
* ``Queue(replies, default)`` -- each model request takes the next reply; once empty, every
  request gets ``default``. Meant for LLM-compressor tests whose prompts are not interesting.
  A plain ``list`` passed as the script is wrapped in a ``Queue``; a single reply (str, block,
  ``Reply``, ``Fault``) or ``None`` answers every request the same.
* any callable ``(request_body: dict) -> reply`` for full control. ``last_user_prompt(body)`` and
  ``turns_since_prompt(body)`` are exported to help write one.

A *reply* is a ``str`` (text), a ``Text`` or ``ToolUse`` block, a list of blocks, a ``Reply``
(blocks plus an optional forced ``stop_reason``), ``None`` (means ``Text("ok")``), or a ``Fault``.
A reply containing a ``ToolUse`` ends with ``stop_reason "tool_use"`` (OpenAI:
``finish_reason "tool_calls"``), else ``"end_turn"`` (OpenAI: ``"stop"``). Tool-use ids are
``toolu_`` + 24 hex characters unless given.

Faults (``Fault.http(500|429|529)``, ``Fault.garbage()``, ``Fault.hang(seconds|None)``,
``Fault.disconnect()``) apply to the *model* endpoints only (messages and chat completions) and
can be chosen three ways, checked in this order:

1. per request, queued: ``srv.fail_next(Fault.http(500), times=2)`` -- the next two model
   requests fail;
2. per server: ``FakeLLMServer(script, fault=...)`` or ``srv.fault = ...`` -- every request;
3. per request, from the script: a rule turn / queue item / callable may return a ``Fault``.

A failed request does not consume a ``Queue`` reply (so a retried request gets the reply meant
for it). ``Fault.hang(seconds)`` waits and then answers (the script's reply, or ``then=``);
``Fault.hang()`` never answers and the connection is closed when the server stops.
``srv.stop()`` returns promptly (well under a second) even while requests hang: handler threads
are daemons, hangs wait on a stop event, and open client sockets are shut down.

Recording: ``srv.requests`` is a snapshot list of ``RecordedRequest`` (method, path, query,
headers with lower-cased names, parsed JSON ``body`` or None, raw bytes), in arrival order.
Counters (``request_count``, ``model_request_count``, ``fault_count``) and
``wait_for_requests(n, timeout)`` are thread-safe.
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import socket
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Sequence, Union
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "Text",
    "ToolUse",
    "Reply",
    "Fault",
    "Rule",
    "Script",
    "Queue",
    "RecordedRequest",
    "FakeLLMServer",
    "last_user_prompt",
    "turns_since_prompt",
    "normalize_reply",
]


# --------------------------------------------------------------------------------------------
# Reply vocabulary
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text content block."""

    text: str


@dataclass(frozen=True)
class ToolUse:
    """A tool call. ``id`` defaults to a fresh ``toolu_`` + 24 hex id for every reply."""

    name: str
    input: dict = field(default_factory=dict)
    id: str | None = None


Block = Union[Text, ToolUse]


@dataclass(frozen=True)
class Reply:
    """A whole assistant message. ``stop_reason`` overrides the inferred one (e.g. "max_tokens")."""

    blocks: tuple = ()
    stop_reason: str | None = None

    def __init__(self, *blocks: Block | str, stop_reason: str | None = None):
        # Accept Reply(Text("a"), ToolUse(...)) as well as Reply([..]) for convenience.
        if len(blocks) == 1 and isinstance(blocks[0], (list, tuple)):
            blocks = tuple(blocks[0])
        norm = tuple(Text(b) if isinstance(b, str) else b for b in blocks)
        for b in norm:
            if not isinstance(b, (Text, ToolUse)):
                raise TypeError(f"Reply blocks must be Text or ToolUse, got {b!r}")
        object.__setattr__(self, "blocks", norm)
        object.__setattr__(self, "stop_reason", stop_reason)

    @property
    def has_tool_use(self) -> bool:
        return any(isinstance(b, ToolUse) for b in self.blocks)


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Fault:
    """A way for a model request to go wrong. Build with the classmethods."""

    kind: str  # "http" | "garbage" | "hang" | "disconnect"
    status: int = 500
    seconds: float | None = None
    retry_after: float | None = None
    message: str | None = None
    body: bytes = b""
    then: Any = None  # reply after a timed hang (None: the script's reply / "ok")

    @classmethod
    def http(cls, status: int = 500, *, retry_after: float | None = None,
             message: str | None = None) -> "Fault":
        """An error status with an Anthropic-style (or OpenAI-style) error JSON.

        429 defaults to ``retry-after: 1``; pass ``retry_after=0`` for fast SDK retries.
        """
        if retry_after is None and status == 429:
            retry_after = 1
        return cls("http", status=status, retry_after=retry_after, message=message)

    @classmethod
    def garbage(cls, body: bytes | str = b"<html>this is not JSON {{{") -> "Fault":
        """HTTP 200 whose body is not JSON (content-type still claims JSON)."""
        return cls("garbage", status=200, body=body.encode() if isinstance(body, str) else body)

    @classmethod
    def hang(cls, seconds: float | None = None, *, then: "ReplyLike" = None) -> "Fault":
        """Sleep ``seconds`` then answer; ``seconds=None`` never answers (until server stop).

        The late answer is ``then`` if given, else the script's reply -- except when the hang
        itself came from the script, where it is ``then`` or ``Text("ok")``.
        """
        return cls("hang", seconds=seconds, then=then)

    @classmethod
    def disconnect(cls) -> "Fault":
        """Close the connection without writing any response."""
        return cls("disconnect")


ReplyLike = Union[str, Text, ToolUse, Reply, Fault, Sequence[Block], None]


def normalize_reply(value: ReplyLike) -> Reply | Fault:
    """Turn anything a script may return into a ``Reply`` or a ``Fault``."""
    if value is None:
        return Reply(Text("ok"))
    if isinstance(value, (Reply, Fault)):
        return value
    if isinstance(value, str):
        return Reply(Text(value))
    if isinstance(value, (Text, ToolUse)):
        return Reply(value)
    if isinstance(value, (list, tuple)):
        return Reply(*value)
    raise TypeError(f"not a reply: {value!r}")


# --------------------------------------------------------------------------------------------
# Reading a conversation (both APIs use the same role/content shape for what we need)
# --------------------------------------------------------------------------------------------

_REMINDER_RE = re.compile(r"<system-reminder>.*?(</system-reminder>|\Z)", re.S)


def _prompt_text(message: dict) -> str | None:
    """The prompt text of a *real* user message, or None if it is not one.

    Messages carrying a tool_result are the client returning tool output, not the person
    speaking, even if they also carry text (reminders, hook feedback) -- counting them as
    prompts would reset the turn counter mid-rule.
    """
    if not isinstance(message, dict) or message.get("role") != "user":
        return None
    content = message.get("content")
    if isinstance(content, str):
        parts = [content]
    elif isinstance(content, list):
        parts = []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                return None
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
    else:
        return None
    text = "\n".join(_REMINDER_RE.sub("", p).strip() for p in parts).strip()
    return text or None


def _last_prompt_index(body: dict) -> int | None:
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return None
    for i in range(len(messages) - 1, -1, -1):
        if _prompt_text(messages[i]) is not None:
            return i
    return None


def last_user_prompt(body: dict) -> str:
    """Text of the last real user prompt in a request body ("" if there is none)."""
    i = _last_prompt_index(body)
    return "" if i is None else (_prompt_text(body["messages"][i]) or "")


def turns_since_prompt(body: dict) -> int:
    """How many assistant messages follow the last real user prompt (= index of the next turn)."""
    i = _last_prompt_index(body)
    if i is None:
        return 0
    return sum(1 for m in body["messages"][i + 1:]
               if isinstance(m, dict) and m.get("role") == "assistant")


# --------------------------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------------------------


@dataclass
class Rule:
    """``turns[k]`` answers the k-th model turn after a prompt that ``match`` accepts.

    ``match`` is a substring (case-sensitive), a compiled regex (searched), or a predicate
    ``(prompt_text) -> bool``.
    """

    match: Union[str, "re.Pattern[str]", Callable[[str], bool]]
    turns: Sequence[ReplyLike] = ()

    def matches(self, prompt: str) -> bool:
        if isinstance(self.match, str):
            return self.match in prompt
        if isinstance(self.match, re.Pattern):
            return self.match.search(prompt) is not None
        return bool(self.match(prompt))


class Script:
    """Stateless chooser: first matching rule, turn = assistant messages since the prompt."""

    def __init__(self, rules: Iterable[Rule] = (), default: ReplyLike = Text("ok")):
        self.rules = list(rules)
        self.default = default

    def __call__(self, body: dict) -> ReplyLike:
        prompt = last_user_prompt(body)
        turn = turns_since_prompt(body)
        for rule in self.rules:
            if rule.matches(prompt):
                return rule.turns[turn] if turn < len(rule.turns) else self.default
        return self.default


class Queue:
    """Fixed sequence of replies, one per model request; ``default`` once exhausted."""

    def __init__(self, replies: Iterable[ReplyLike] = (), default: ReplyLike = Text("ok")):
        self._items = list(replies)
        self.default = default
        self._lock = threading.Lock()

    def __call__(self, body: dict) -> ReplyLike:
        with self._lock:
            return self._items.pop(0) if self._items else self.default

    def push(self, *replies: ReplyLike) -> None:
        with self._lock:
            self._items.extend(replies)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


# --------------------------------------------------------------------------------------------
# Wire formats
# --------------------------------------------------------------------------------------------


def _estimate_tokens(value: Any) -> int:
    # ~4 characters per token is the usual rule of thumb; tests only need plausible numbers.
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return max(1, len(text) // 4)


def _hex(n: int) -> str:
    return secrets.token_hex(n // 2)


def _materialize(reply: Reply) -> list[dict]:
    """Anthropic content blocks, with tool-use ids fixed for this response."""
    out = []
    for b in reply.blocks:
        if isinstance(b, Text):
            out.append({"type": "text", "text": b.text})
        else:
            out.append({"type": "tool_use", "id": b.id or "toolu_" + _hex(24),
                        "name": b.name, "input": dict(b.input)})
    return out


def _stop_reason(reply: Reply) -> str:
    return reply.stop_reason or ("tool_use" if reply.has_tool_use else "end_turn")


def _chunks(text: str, size: int = 16) -> list[str]:
    # Several deltas per block so clients' accumulation code is exercised.
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def anthropic_message(body: dict, reply: Reply) -> dict:
    content = _materialize(reply)
    return {
        "id": "msg_" + _hex(24),
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "fake-model",
        "content": content,
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": {"input_tokens": _estimate_tokens(body.get("messages", [])),
                  "output_tokens": _estimate_tokens(content),
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }


def anthropic_stream(body: dict, reply: Reply) -> bytes:
    msg = anthropic_message(body, reply)
    start = dict(msg, content=[], stop_reason=None,
                 usage=dict(msg["usage"], output_tokens=1))
    out = [_sse("message_start", {"type": "message_start", "message": start}),
           _sse("ping", {"type": "ping"})]
    for i, block in enumerate(msg["content"]):
        if block["type"] == "text":
            out.append(_sse("content_block_start", {"type": "content_block_start", "index": i,
                                                    "content_block": {"type": "text", "text": ""}}))
            deltas = [{"type": "text_delta", "text": t} for t in _chunks(block["text"])]
        else:
            out.append(_sse("content_block_start", {
                "type": "content_block_start", "index": i,
                "content_block": dict(block, input={})}))
            deltas = [{"type": "input_json_delta", "partial_json": p}
                      for p in _chunks(json.dumps(block["input"]))]
        for d in deltas:
            out.append(_sse("content_block_delta",
                            {"type": "content_block_delta", "index": i, "delta": d}))
        out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": i}))
    out.append(_sse("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": msg["usage"]["output_tokens"]}}))
    out.append(_sse("message_stop", {"type": "message_stop"}))
    return b"".join(out)


def _openai_message(reply: Reply) -> tuple[dict, str]:
    text = "".join(b.text for b in reply.blocks if isinstance(b, Text))
    calls = [{"id": "call_" + _hex(24), "type": "function",
              "function": {"name": b.name, "arguments": json.dumps(b.input)}}
             for b in reply.blocks if isinstance(b, ToolUse)]
    message: dict = {"role": "assistant", "content": text if (text or not calls) else None}
    if calls:
        message["tool_calls"] = calls
    finish = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}.get(
        _stop_reason(reply), "stop")
    return message, finish


def openai_completion(body: dict, reply: Reply) -> dict:
    message, finish = _openai_message(reply)
    prompt_t = _estimate_tokens(body.get("messages", []))
    completion_t = _estimate_tokens(message)
    return {
        "id": "chatcmpl-" + _hex(24),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": prompt_t, "completion_tokens": completion_t,
                  "total_tokens": prompt_t + completion_t},
    }


def openai_stream(body: dict, reply: Reply) -> bytes:
    full = openai_completion(body, reply)
    message, finish = full["choices"][0]["message"], full["choices"][0]["finish_reason"]
    base = {k: full[k] for k in ("id", "created", "model")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict, finish_reason=None, **extra) -> bytes:
        data = dict(base, choices=[{"index": 0, "delta": delta,
                                    "finish_reason": finish_reason, "logprobs": None}], **extra)
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    out = [chunk({"role": "assistant", "content": ""})]
    if message.get("content"):
        out += [chunk({"content": t}) for t in _chunks(message["content"])]
    for i, call in enumerate(message.get("tool_calls", [])):
        out.append(chunk({"tool_calls": [dict(call, index=i)]}))
    out.append(chunk({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        data = dict(base, choices=[], usage=full["usage"])
        out.append(b"data: " + json.dumps(data).encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict  # parse_qs result, e.g. {"beta": ["true"]}
    headers: dict  # lower-cased names
    body: Any  # parsed JSON, or None
    raw: bytes
    time: float

    @property
    def kind(self) -> str:
        return _endpoint_kind(self.method, self.path)

    @property
    def prompt(self) -> str:
        return last_user_prompt(self.body) if isinstance(self.body, dict) else ""


def _endpoint_kind(method: str, path: str) -> str:
    p = path.rstrip("/")
    if method == "POST" and p.endswith("/messages/count_tokens"):
        return "count_tokens"
    if method == "POST" and p.endswith("/v1/messages"):
        return "anthropic"
    if method == "POST" and p.endswith("/chat/completions"):
        return "openai"
    return "other"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must not keep the process alive
    block_on_close = False  # server_close() must not join hung handler threads
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: 16 clients connecting at once on a loaded
    # machine overflowed it before the accept loop ran (a reset seen once in a full run).
    request_queue_size = 128
    owner: "FakeLLMServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Errors outside _handle (e.g. a client resetting a keep-alive socket while the request
        # line is read) would otherwise print a traceback; a vanished client is not a failure.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError) or self.owner._stop_event.is_set():
            return
        if exc is not None:
            self.owner._error(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response therefore sends Content-Length
    # Headers and body go out in separate writes; with Nagle + delayed ACK each keep-alive
    # request would then stall ~40 ms.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep pytest output clean

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    # Every method goes through one entry point so nothing can escape as a traceback.
    def do_GET(self) -> None: self._handle()
    def do_HEAD(self) -> None: self._handle()
    def do_POST(self) -> None: self._handle()
    def do_PUT(self) -> None: self._handle()
    def do_PATCH(self) -> None: self._handle()
    def do_DELETE(self) -> None: self._handle()
    def do_OPTIONS(self) -> None: self._handle()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        enc = (self.headers.get("Content-Encoding") or "").lower()
        if enc == "gzip":
            data = gzip.decompress(data)
        elif enc == "deflate":
            data = zlib.decompress(data)
        return data

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", "req_" + _hex(24))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _send_json(self, status: int, obj: Any, extra: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), extra=extra)

    def _handle(self) -> None:
        owner = self.server.owner
        try:
            raw = self._read_body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            split = urlsplit(self.path)
            rec = RecordedRequest(self.command, split.path, parse_qs(split.query),
                                  {k.lower(): v for k, v in self.headers.items()}, body, raw,
                                  time.time())
            kind = rec.kind
            owner._record(rec)
            if kind == "count_tokens":
                tokens = _estimate_tokens((body or {}).get("messages", [])) if isinstance(body, dict) else 1
                return self._send_json(200, {"input_tokens": tokens})
            if kind == "other":
                if self.command in ("GET", "HEAD"):
                    return self._send_json(200, {})
                return self._send_json(404, _error_json("anthropic", 404,
                                                        f"no fake route for {self.command} {split.path}"))
            self._model_request(kind, body)
        except ConnectionError:
            self.close_connection = True  # the client went away
        except OSError as exc:
            self.close_connection = True
            if not owner._stop_event.is_set():  # sockets are torn down while stopping: expected
                owner._error(exc)
        except Exception as exc:  # a bug here or in a script: report, don't die
            owner._error(exc)
            try:
                self._send_json(500, _error_json("anthropic", 500, f"fake server error: {exc!r}"))
            except OSError:
                pass
            self.close_connection = True

    def _model_request(self, kind: str, body: Any) -> None:
        owner = self.server.owner
        if not isinstance(body, dict):
            return self._send_json(400, _error_json(kind, 400, "request body is not a JSON object"))

        fault = owner._take_fault()
        if fault is not None:
            owner._count_fault()
            if fault.kind != "hang":
                return self._apply_fault(kind, fault)
            if not self._hang(fault):
                return
            # A timed server/queued hang then answers as if nothing happened (or with `then`).
            reply = normalize_reply(fault.then) if fault.then is not None else None
        else:
            reply = None
        if reply is None:
            reply = normalize_reply(owner.script(body))
        while isinstance(reply, Fault):  # the script asked for a fault for this request
            owner._count_fault()
            if reply.kind != "hang":
                return self._apply_fault(kind, reply)
            if not self._hang(reply):
                return
            # Asking the (stateless) script again would loop; answer with `then` instead.
            reply = normalize_reply(reply.then)

        stream = body.get("stream") is True
        if kind == "anthropic":
            if stream:
                self._send(200, anthropic_stream(body, reply), "text/event-stream",
                           {"Cache-Control": "no-cache"})
            else:
                self._send_json(200, anthropic_message(body, reply))
        else:
            if stream:
                self._send(200, openai_stream(body, reply), "text/event-stream",
                           {"Cache-Control": "no-cache"})
            else:
                self._send_json(200, openai_completion(body, reply))

    def _hang(self, fault: Fault) -> bool:
        """Wait out a hang; False (connection to be dropped) if endless or the server stops."""
        # Wait on the stop event rather than time.sleep so stop() ends every hang at once.
        if fault.seconds is None or self.server.owner._stop_event.wait(fault.seconds):
            self.server.owner._stop_event.wait()
            self.close_connection = True
            return False
        return True

    def _apply_fault(self, kind: str, fault: Fault) -> None:
        if fault.kind == "http":
            extra = {}
            if fault.retry_after is not None:
                extra["retry-after"] = f"{fault.retry_after:g}"
                extra["retry-after-ms"] = str(int(fault.retry_after * 1000))
            return self._send_json(fault.status, _error_json(kind, fault.status, fault.message),
                                   extra)
        if fault.kind == "garbage":
            return self._send(fault.status, fault.body)
        if fault.kind == "disconnect":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        raise ValueError(f"unknown fault kind {fault.kind!r}")


def _error_json(kind: str, status: int, message: str | None) -> dict:
    etype = _ERROR_TYPES.get(status, "api_error")
    message = message or f"fake {etype} ({status})"
    if kind == "openai":
        return {"error": {"message": message, "type": etype, "param": None, "code": str(status)}}
    return {"type": "error", "error": {"type": etype, "message": message}}


Chooser = Callable[[dict], ReplyLike]


class FakeLLMServer:
    """Threaded fake LLM endpoint on 127.0.0.1:<ephemeral>. See the module docstring."""

    def __init__(self, script: Chooser | Script | Queue | ReplyLike = None, *,
                 fault: Fault | None = None, host: str = "127.0.0.1", port: int = 0):
        if isinstance(script, (list, tuple)):
            script = Queue(script)  # a plain list is the fixed queue of replies
        elif script is None or isinstance(script, (str, Text, ToolUse, Reply, Fault)):
            fixed = script
            script = lambda body: fixed  # noqa: E731 - a constant reply is a trivial chooser
        self.script: Chooser = script
        self.fault = fault
        self._host, self._port = host, port
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._pending_faults: list[Fault] = []
        self._fault_count = 0
        self._errors: list[BaseException] = []
        self._conns: set = set()
        self._stop_event = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FakeLLMServer":
        if self._httpd is not None:
            return self
        self._stop_event.clear()
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        # A short poll interval keeps shutdown() fast.
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-llm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop_event.set()  # releases hung handlers
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:  # idle keep-alive handlers block in recv(); wake them
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> "FakeLLMServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:54321 (no /v1)."""
        return f"http://{self._host}:{self.port}"

    # ---- faults ------------------------------------------------------------------------------
    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """The next ``times`` model requests get ``fault`` (before any server-wide fault)."""
        with self._lock:
            self._pending_faults.extend([fault] * times)

    def _take_fault(self) -> Fault | None:
        with self._lock:
            if self._pending_faults:
                return self._pending_faults.pop(0)
            return self.fault

    def _count_fault(self) -> None:
        with self._lock:
            self._fault_count += 1

    # ---- recording ---------------------------------------------------------------------------
    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(rec)
            self._lock.notify_all()

    def _error(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)

    def _track(self, conn: Any, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def model_requests(self) -> list[RecordedRequest]:
        """Only the Anthropic messages / OpenAI chat-completions requests."""
        with self._lock:
            return [r for r in self._requests if r.kind in ("anthropic", "openai")]

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def model_request_count(self) -> int:
        return len(self.model_requests)

    @property
    def fault_count(self) -> int:
        """How many model requests were answered with (or delayed by) a fault."""
        with self._lock:
            return self._fault_count

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside the server or the script (answered as HTTP 500)."""
        with self._lock:
            return list(self._errors)

    def wait_for_requests(self, n: int, timeout: float = 5.0, *, model_only: bool = True) -> bool:
        """Block until at least ``n`` (model) requests have arrived; False on timeout."""
        def enough() -> bool:
            rs = self._requests
            return (sum(1 for r in rs if r.kind in ("anthropic", "openai")) if model_only
                    else len(rs)) >= n
        with self._lock:
            return self._lock.wait_for(enough, timeout)

    def clear(self) -> None:
        """Forget recorded requests, errors, pending faults and the fault counter."""
        with self._lock:
            self._requests.clear()
            self._errors.clear()
            self._pending_faults.clear()
            self._fault_count = 0
