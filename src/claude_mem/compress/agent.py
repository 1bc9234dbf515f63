"""The ``claude`` back-end: one Claude Agent SDK conversation per Claude Code session.

Contract: ``ClaudeAgentBackend(settings)`` raises ``ImportError`` when ``claude-agent-sdk`` is
missing and ``ValueError`` when ``llm_api_key_env`` names an unset variable. It offers what
``llm.LLMCompressor`` drives: ``complete(ctx, turn, timeout)`` sends ONE user message into
that session's agent conversation (streaming-input mode: a long-lived ``ClaudeSDKClient``,
``client.query`` per message) and returns the reply with its usage, or raises ``LLMError``;
``discard(session_id)`` and ``finalize(session_id)`` end that session's agent; ``close()``
ends them all and stops the event-loop thread. When any of these returns, no ``claude``
process it started is left running: after the SDK's own shutdown the pid is checked and
sent SIGTERM, then SIGKILL, if it is still there.

The conversation: a message for a request the agent has not seen yet starts with the init
prompt (project, request number, the user's request), so "init prompt, then events" costs no
extra call; summary prompts carry the request themselves. A failed turn leaves the failed
message in the CLI's history, so after any failure the agent is discarded and the next
attempt starts a fresh one (about a second of start-up). An agent whose context passes
``RECYCLE_TOKENS`` is replaced the same way, so a long session does not resend an ever
longer history; one idle for ``IDLE_SECONDS`` is closed, and at most ``MAX_AGENTS`` run.

Threads: the worker is synchronous, the SDK is asyncio. A private event loop runs in a daemon
thread owned by this object. Each agent is one asyncio task that owns its client from
``connect`` to ``disconnect`` (the SDK needs both in one task), fed by an ``asyncio.Queue``;
the worker thread waits on a ``concurrent.futures.Future`` with a timeout. Usage is returned
to the worker thread, which alone touches the database.

Isolation (the agent must never feed claude-mem, nor act): ``tools=[]`` (the API request
carries ``"tools": []``), ``max_turns=1``, ``setting_sources=[]`` (no user or project
settings, hence none of their hooks, ours included, and no CLAUDE.md), strict MCP config,
slash commands off, no session persistence (nothing in ``~/.claude/projects``, nothing in
the person's resume list), thinking off, cwd a private empty folder in the data dir, and
``CLAUDE_MEM_INTERNAL=1`` in its environment (our hooks return at once if they ever run).
``CLAUDE_CODE_MAX_RETRIES=0``: the compressor retries, counting every attempt; the CLI's own
``API_TIMEOUT_MS`` is ``llm_timeout_seconds``. Model: ``settings.model`` or
``claude-haiku-4-5``. ``llm_base_url`` becomes ``ANTHROPIC_BASE_URL``; the key comes from
``llm_api_key_env`` when set, else the CLI uses the person's own login / ``ANTHROPIC_API_KEY``.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import os
import signal
import threading
import time
from dataclasses import dataclass

from claude_mem import config, log
from claude_mem.pidlock import is_alive
from claude_mem.compress import prompts
from claude_mem.compress.base import (MAX_OUTPUT_TOKENS, Completion, LLMError, Turn, api_key,
                                      estimate_tokens, http_error)

DEFAULT_MODEL = "claude-haiku-4-5"
CONNECT_TIMEOUT = 60.0       # CLI start-up; no model request is made before the first query
TURN_SLACK = 15.0            # beyond the CLI's own API timeout, before we stop waiting
GRACEFUL_SECONDS = 10.0
RECYCLE_TOKENS = 60_000
IDLE_SECONDS = 600.0
MAX_AGENTS = 4


@dataclass
class _Reply:
    text: str
    is_error: bool
    status: int | None
    usage: dict


class _Agent:
    """One session's conversation: its task, inbox and CLI process id."""

    def __init__(self, session_id: int):
        self.session_id = session_id
        self.inbox: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None
        self.pid: int | None = None
        self.started: concurrent.futures.Future = concurrent.futures.Future()
        self.finished = threading.Event()
        self.current: concurrent.futures.Future | None = None
        self.prompt_number: int | None = None
        self.context_tokens = 0
        self.last_used = time.monotonic()
        self.stderr: collections.deque = collections.deque(maxlen=20)


class ClaudeAgentBackend:
    name = "claude"

    def __init__(self, settings):
        import claude_agent_sdk  # ImportError here names the extra (see make_llm_compressor)

        self.sdk = claude_agent_sdk
        self.model = (settings.model or "").strip() or DEFAULT_MODEL
        self.timeout = float(settings.llm_timeout_seconds)
        self.system = prompts.system_prompt()
        self.env = self._env(settings)
        self.agents: dict[int, _Agent] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _env(self, settings) -> dict[str, str]:
        env = {
            "CLAUDE_MEM_INTERNAL": "1",
            # No update checks, telemetry or error reports: the agent only talks to the model.
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
            "API_TIMEOUT_MS": str(max(1000, int(self.timeout * 1000))),
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS": str(MAX_OUTPUT_TOKENS),
        }
        if settings.llm_base_url:
            env["ANTHROPIC_BASE_URL"] = settings.llm_base_url
        key = api_key(settings, ())
        if key:
            env["ANTHROPIC_API_KEY"] = key
        return env

    def _options(self, agent: _Agent):
        folder = os.path.join(config.ensure_data_dir(), "agent")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        return self.sdk.ClaudeAgentOptions(
            system_prompt=self.system,
            tools=[],
            allowed_tools=[],
            max_turns=1,
            setting_sources=[],
            strict_mcp_config=True,
            model=self.model,
            thinking={"type": "disabled"},
            cwd=folder,
            env=self.env,
            extra_args={"no-session-persistence": None, "disable-slash-commands": None},
            stderr=agent.stderr.append,
        )

    # -- what the compressor calls ----------------------------------------------------------

    def estimate_tokens(self, ctx, turn: Turn) -> int:
        agent = self.agents.get(ctx.session_id)
        if agent is not None and not agent.finished.is_set():
            history = agent.context_tokens
        else:
            history = estimate_tokens(self.system)
        text = turn.reask[1] if turn.reask else turn.text()
        return history + estimate_tokens(text)

    def complete(self, ctx, turn: Turn, timeout: float) -> Completion:
        agent = self._agent_for(ctx.session_id)
        if turn.reask:
            text = turn.reask[1]  # the agent has the question and its own answer already
        elif turn.init and agent.prompt_number != ctx.prompt_number:
            text = turn.text()
        else:
            text = turn.body
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(agent.inbox.put_nowait, (text, future))
        try:
            reply: _Reply = future.result(timeout + TURN_SLACK)
        except concurrent.futures.TimeoutError:
            self._stop(agent, graceful=False)
            raise LLMError("timeout") from None
        except Exception as exc:
            self._stop(agent, graceful=False)
            detail = " | ".join(list(agent.stderr)[-3:])
            log.warning(f"claude agent for session {ctx.session_id} failed: {exc!r} {detail}")
            raise LLMError("agent failed") from None
        agent.last_used = time.monotonic()
        if reply.is_error:
            if reply.status:
                raise http_error(reply.status)
            if "timed out" in reply.text.lower():
                raise LLMError("timeout")
            raise LLMError("api error")
        usage = reply.usage or {}
        tokens_in = sum(int(usage.get(k) or 0) for k in (
            "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
        tokens_out = int(usage.get("output_tokens") or 0)
        agent.context_tokens = tokens_in + tokens_out
        if turn.init:
            agent.prompt_number = ctx.prompt_number
        return Completion(reply.text, tokens_in, tokens_out)

    def discard(self, session_id: int) -> None:
        agent = self.agents.get(session_id)
        if agent is not None:
            self._stop(agent, graceful=True)

    def finalize(self, session_id: int) -> None:
        self.discard(session_id)

    def close(self) -> None:
        for agent in list(self.agents.values()):
            self._stop(agent, graceful=True)
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(5)
            if not loop.is_running():
                loop.close()

    def pids(self) -> list[int]:
        """The CLI processes running now (for status and tests)."""
        return [a.pid for a in self.agents.values() if a.pid and is_alive(a.pid)]

    # -- agents -------------------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="claude-mem-agents", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def _agent_for(self, session_id: int) -> _Agent:
        loop = self._ensure_loop()
        agent = self.agents.get(session_id)
        if agent is not None and (agent.finished.is_set() or agent.context_tokens > RECYCLE_TOKENS):
            self._stop(agent, graceful=True)
            agent = None
        if agent is not None:
            return agent
        self._make_room()
        agent = _Agent(session_id)
        self.agents[session_id] = agent

        def start() -> None:
            agent.inbox = asyncio.Queue()
            agent.task = loop.create_task(self._run(agent))

        loop.call_soon_threadsafe(start)
        try:
            agent.started.result(CONNECT_TIMEOUT)
        except concurrent.futures.TimeoutError:
            self._stop(agent, graceful=False)
            raise LLMError("agent start timeout") from None
        except self.sdk.CLINotFoundError:
            self._stop(agent, graceful=False)
            raise LLMError("claude CLI not found", retryable=False) from None
        except Exception as exc:
            self._stop(agent, graceful=False)
            detail = " | ".join(list(agent.stderr)[-3:])
            log.warning(f"claude agent did not start: {exc!r} {detail}")
            raise LLMError("agent start failed") from None
        return agent

    def _make_room(self) -> None:
        now = time.monotonic()
        for agent in list(self.agents.values()):
            if now - agent.last_used > IDLE_SECONDS:
                self._stop(agent, graceful=True)
        while len(self.agents) >= MAX_AGENTS:
            oldest = min(self.agents.values(), key=lambda a: a.last_used)
            self._stop(oldest, graceful=True)

    async def _run(self, agent: _Agent) -> None:
        sdk = self.sdk
        client = None
        try:
            client = sdk.ClaudeSDKClient(self._options(agent))
            await client.connect()
            agent.pid = _pid_of(client)
            agent.started.set_result(agent.pid)
            while True:
                item = await agent.inbox.get()
                if item is None:
                    break
                text, future = item
                agent.current = future
                try:
                    reply = await self._turn(client, text)
                except Exception as exc:
                    future.set_exception(exc)
                    break  # the transport is in an unknown state: end this agent
                future.set_result(reply)
                agent.current = None
        except Exception as exc:
            if not agent.started.done():
                agent.started.set_exception(exc)
        finally:
            if client is not None:
                try:
                    await client.disconnect()
                except BaseException:  # cancelled or broken: the pid check below finishes it
                    pass
            stopped = LLMError("agent stopped")
            for future in [agent.current] + _drain(agent.inbox):
                if future is not None and not future.done():
                    future.set_exception(stopped)
            if not agent.started.done():
                agent.started.set_exception(stopped)
            agent.finished.set()

    async def _turn(self, client, text: str) -> _Reply:
        sdk = self.sdk
        await client.query(text)
        parts: list[str] = []
        result = None
        async for message in client.receive_response():
            if isinstance(message, sdk.AssistantMessage):
                parts.extend(block.text for block in message.content
                             if isinstance(block, sdk.TextBlock))
            elif isinstance(message, sdk.ResultMessage):
                result = message
        if result is None:
            raise RuntimeError("the agent ended without a result")
        text = "\n".join(parts) if parts else (result.result or "")
        return _Reply(text=text, is_error=bool(result.is_error),
                      status=getattr(result, "api_error_status", None), usage=result.usage or {})

    def _stop(self, agent: _Agent, *, graceful: bool) -> None:
        """End an agent and make sure its CLI process is gone."""
        loop = self._loop
        if self.agents.get(agent.session_id) is agent:
            del self.agents[agent.session_id]
        if loop is not None and agent.task is None and not agent.finished.is_set():
            # start() may not have run yet: let it, so there is a task to stop.
            _wait_for(lambda: agent.task is not None, 2.0)
        if agent.task is None:
            agent.finished.set()
        if graceful and not agent.finished.is_set() and loop is not None and agent.inbox is not None:
            loop.call_soon_threadsafe(agent.inbox.put_nowait, None)
            agent.finished.wait(GRACEFUL_SECONDS)
        if not agent.finished.is_set():
            # Killing the CLI ends the task's read; the task then runs its own clean-up.
            _signal(agent.pid, signal.SIGTERM)
            if not agent.finished.wait(3.0):
                _signal(agent.pid, signal.SIGKILL)
                if loop is not None and agent.task is not None:
                    loop.call_soon_threadsafe(agent.task.cancel)
                agent.finished.wait(5.0)
        if agent.pid and not _wait_for(lambda: not is_alive(agent.pid), 3.0):
            _signal(agent.pid, signal.SIGKILL)
            if not _wait_for(lambda: not is_alive(agent.pid), 3.0):
                log.error(f"claude agent pid {agent.pid} did not exit")


def _drain(queue: asyncio.Queue | None) -> list:
    items = []
    while queue is not None and not queue.empty():
        item = queue.get_nowait()
        if item is not None:
            items.append(item[1])
    return items


def _pid_of(client) -> int | None:
    # Private attributes of the SDK; without them the SDK's own shutdown still stops the CLI.
    process = getattr(getattr(client, "_transport", None), "_process", None)
    return getattr(process, "pid", None)


def _signal(pid: int | None, sig: int) -> None:
    if pid:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
