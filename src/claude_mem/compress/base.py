"""The seams of compression: the shared types and the two interfaces, in one module.

- ``Compressor``: what the worker drives (``heuristic`` or an ``LLMCompressor``).
- ``Backend``: what ``llm.LLMCompressor`` drives, one model request at a time
  (``agent.ClaudeAgentBackend``, ``backends.AnthropicBackend``/``OpenAIBackend``).
- The registry of LLM back-ends (``llm.BACKENDS``) sits with the policy that chooses one:
  a back-end imports this module, so a registry naming it here would be an arrow back.
- Shared types: ``SessionContext`` (what a compressor knows about the work), ``Turn``
  (what to ask), ``Completion`` (what came back), ``LLMError`` (one failed attempt) and
  the helpers every back-end uses (``api_key``, ``estimate_tokens``, ``http_error``,
  ``stateless_messages``, ``relative_path``).

This module imports nothing from the back-ends or the compressors, so they all depend on
it and never on each other (no import cycle).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from claude_mem.models import Produced
from claude_mem.project import project_root

# Output tokens a reply may use: a batch of observations fits well within this.
MAX_OUTPUT_TOKENS = 4096
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class SessionContext:
    """What a compressor knows about the session a piece of work belongs to."""

    session_id: int            # our row id
    claude_session_id: str
    project: str
    cwd: str
    prompt_number: int
    request: str = ""          # the user's prompt for this request
    # Observations already stored for this request (dicts), oldest first.
    earlier: tuple = field(default=())
    # The thread's goal when ``request`` carries none of its own ("continue", "yes"): the
    # latest earlier request of the session that does.
    goal: str = ""
    # The final reply already kept for this request (an earlier Stop): a trivial later
    # reply, e.g. to a background task's notification, must not replace it.
    previous_reply: str = ""
    # The project's top folder (``project.project_root(cwd)``) when the caller knows it;
    # empty means "look it up" (it walks the folders, once per path otherwise).
    root: str = ""


@runtime_checkable
class Compressor(Protocol):
    """Turns hook events into observations and summaries.

    Called by the worker only, from one thread, outside any database transaction.
    """

    name: str

    def observe(self, ctx: SessionContext, events) -> Produced:
        """Observations for a batch of tool events of one request, in order."""

    def summarize(self, ctx: SessionContext, last_assistant_message: str,
                  observations) -> Produced:
        """The summary of a request, from what was observed (dicts as the store returns)."""

    def finalize(self, ctx: SessionContext, reason: str) -> None:
        """The session run is over: release per-session resources."""

    def close(self) -> None:
        """The worker is exiting."""


@runtime_checkable
class Backend(Protocol):
    """One LLM service, as ``llm.LLMCompressor`` drives it.

    Built from settings (raising ``ImportError`` when its SDK is missing, ``ValueError``
    for unusable configuration). ``complete`` is exactly one model request and raises
    ``LLMError`` for a failed attempt; retries, caps and fallback are the compressor's.
    """

    name: str
    model: str

    def complete(self, ctx: SessionContext, turn: Turn, timeout: float) -> Completion: ...

    def estimate_tokens(self, ctx: SessionContext, turn: Turn) -> int: ...

    def discard(self, session_id: int) -> None:
        """Forget any conversation kept for the session (after a failed attempt)."""

    def finalize(self, session_id: int) -> None: ...

    def close(self) -> None: ...


class LLMError(Exception):
    """One failed attempt; ``reason`` is short and goes into ``generated_by``."""

    def __init__(self, reason: str, *, retryable: bool = True, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


def http_error(status: int, headers=None) -> LLMError:
    """The LLMError for an HTTP error status (retry-after read from ``headers``)."""
    retry_after = None
    if headers is not None:
        retry_after = _retry_after(headers)
    if status == 429:
        return LLMError("rate limited", retry_after=retry_after)
    retryable = status in (408, 409) or status >= 500
    return LLMError(f"http {status}", retryable=retryable, retry_after=retry_after)


def _retry_after(headers) -> float | None:
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is not None:
            return max(0.0, float(value))
    except (TypeError, ValueError):  # an HTTP date or junk: use our own backoff
        pass
    return None


@dataclass(frozen=True)
class Turn:
    """What to ask: ``init`` (the request's init prompt, observe only), ``body``, and for a
    re-ask the unreadable reply and the reminder to send after it."""

    kind: str                         # "observe" | "summary"
    body: str
    init: str = ""
    reask: tuple[str, str] | None = None

    def text(self) -> str:
        return f"{self.init}\n\n{self.body}" if self.init else self.body


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0


def stateless_messages(turn: Turn) -> list[dict]:
    """The user/assistant messages for a back-end that keeps no conversation."""
    messages = [{"role": "user", "content": turn.text()}]
    if turn.reask:
        bad, reminder = turn.reask
        # The APIs refuse an empty assistant message.
        messages += [{"role": "assistant", "content": bad.strip() or "(empty reply)"},
                     {"role": "user", "content": reminder}]
    return messages


def api_key(settings, defaults: tuple[str, ...]) -> str | None:
    """The key from the variable named by ``llm_api_key_env``, else the first default set."""
    name = (settings.llm_api_key_env or "").strip()
    if name:
        value = os.environ.get(name)
        if not value:
            raise ValueError(f"llm_api_key_env names {name}, which is not set")
        return value
    for default in defaults:
        if os.environ.get(default):
            return os.environ[default]
    return None


def relative_path(path: str, ctx: SessionContext) -> str:
    """A path as a person names it: relative to the project (or cwd) when inside it."""
    if not path:
        return ""
    path = str(path)
    if not os.path.isabs(path):
        return os.path.normpath(path)
    if ctx.root:  # nothing to look up on the disk: the same strings, the same answer
        return _relative_to(path, ctx.root, ctx.cwd)
    return _relative_to.__wrapped__(path, project_root(ctx.cwd), ctx.cwd)


@functools.lru_cache(maxsize=1024)
def _relative_to(path: str, root: str, cwd: str) -> str:
    """``relative_path`` once the project's root is known (pure string work, remembered:
    a request names the same few files again and again)."""
    for base in dict.fromkeys([root, cwd]):
        if base and (path == base or path.startswith(base.rstrip(os.sep) + os.sep)):
            rest = path[len(base.rstrip(os.sep)) + 1:]
            if (rest and not rest.startswith(os.sep) and os.path.normpath(rest) == rest
                    and os.path.normpath(base) == base):
                return rest  # what relpath says, without its work: both already normal
            return os.path.relpath(path, base)
    return path


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


