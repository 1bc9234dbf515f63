"""LLM compression back-ends: ``claude`` (Agent SDK), ``anthropic`` (Messages API), ``openai``.

Contract
--------
``make_llm_compressor(name, settings, store) -> LLMCompressor`` for ``name`` in ``claude``,
``anthropic``, ``openai``. It raises ``ImportError`` naming the extra to install when the
back-end's SDK is missing (``pip install 'coding-memory[claude]'``) and ``ValueError`` for an
unknown name or unusable configuration (e.g. ``llm_api_key_env`` names an unset variable);
``make_compressor`` then falls back to the heuristic compressor.

``LLMCompressor`` has the ``HeuristicCompressor`` interface (``name``, ``observe``,
``summarize``, ``finalize``, ``close``) and is called by the worker only, from one thread,
outside any database transaction.

- ``observe(ctx, events)``: tools in ``settings.skip_tools`` are dropped first; what is left is
  ONE model request (the worker batches up to ``llm_batch_size`` events of one request).
  A ``<skip/>`` answer is respected: nothing is stored for those events.
- ``summarize(ctx, last_assistant_message, observations)``: one request; a request always gets
  a summary (the heuristic's when the model gives none); an empty ``<request>`` is filled from
  ``ctx.request``.
- ``Produced.generated_by`` names the maker: ``"<backend>:<model>"`` (``"claude:claude-haiku-4-5"``)
  or ``"heuristic (fallback: <reason>)"`` with a short reason (``timeout``, ``http 500``,
  ``rate limited``, ``garbage reply``, ``unreadable reply``, ``no summary``, ``call cap``,
  ``token cap``, ...).

Failures: timeouts, connection errors, HTTP 408/409/429/5xx/529 and bodies that are not the
API's JSON are retried up to ``llm_max_retries`` times with exponential backoff (a 429's
``retry-after`` is honoured up to ``RETRY_AFTER_CAP`` seconds; longer means give up now). Other
4xx (bad key, unknown model) are not retried. A reply with no readable XML is asked again once
(when ``llm_max_retries`` > 0), then the heuristic does that piece of work. After a piece of work
fails, the back-end rests (``BREAKER_SECONDS``, doubling up to ``BREAKER_MAX``) and work goes
straight to the heuristic, so a dead endpoint costs the worker one timeout, not one per batch.

Cost: every attempt, failed or not, is one call in ``llm_usage`` (``store.record_llm_usage``:
calls, input/output tokens as the API reports them, failures). Before each attempt the session's
totals are read back from the database (so caps survive worker restarts): at
``llm_max_calls_per_session`` calls, or when the tokens used plus the estimated input of the
request would pass ``llm_max_tokens_per_session``, the rest of the session uses the heuristic.
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import replace

from claude_mem import log
from claude_mem.compress import prompts
from claude_mem.compress.base import Completion, LLMError, SessionContext, Turn, relative_path
from claude_mem.compress.heuristic import HeuristicCompressor, is_own_tool
from claude_mem.compress.xmlparse import parse_reply, parse_summary
from claude_mem.models import Observation, Produced

# The LLM back-ends, name -> "module:Class", imported only when chosen (their SDKs are
# optional extras). A new back-end is one module implementing ``base.Backend`` and one
# line here; its extra is ``coding-memory[<name>]``.
BACKENDS = {
    "claude": "claude_mem.compress.agent:ClaudeAgentBackend",
    "anthropic": "claude_mem.compress.backends:AnthropicBackend",
    "openai": "claude_mem.compress.backends:OpenAIBackend",
}

RETRY_AFTER_CAP = 20.0
BREAKER_SECONDS = 30.0
BREAKER_MAX = 300.0

REMINDER = {
    "observe": "Your last reply had no <observation> blocks and no <skip/> that I could read. "
               "Reply again with only <observation> blocks, or <skip/>. XML only.",
    "summary": "Your last reply had no <summary> block that I could read. Reply again with "
               "exactly one <summary> block and nothing else.",
}

_THINK = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|\Z)", re.S | re.I)


def backend_class(name: str):
    """The registered back-end class for ``name`` (importing its module: may raise
    ``ImportError``); ``KeyError`` for a name not in ``BACKENDS``."""
    import importlib

    module, _, attr = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def make_llm_compressor(name: str, settings, store=None) -> "LLMCompressor":
    name = (name or "").strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"unknown compressor {name!r} (choose heuristic, {', '.join(BACKENDS)})")
    try:
        backend = backend_class(name)(settings)
    except ImportError as exc:
        raise ImportError(f"the {name} compressor needs its extra: "
                          f"pip install 'coding-memory[{name}]' ({exc})") from exc
    return LLMCompressor(backend, settings, store)


class LLMCompressor:
    """The back-end-independent part: prompts, parsing, retries, caps, fallback, accounting."""

    # Class attributes so tests can shorten waits without new settings.
    backoff_base = 0.5
    backoff_max = 8.0
    retry_after_cap = RETRY_AFTER_CAP
    breaker_seconds = BREAKER_SECONDS

    def __init__(self, backend, settings, store=None):
        self.backend = backend
        self.settings = settings
        self.store = store
        self.fallback = HeuristicCompressor(settings)
        self.skip_tools = set(getattr(settings, "skip_tools", None) or ())
        self.label = f"{backend.name}:{backend.model}"
        self.name = self.label
        self._memory_usage: dict[int, list[int]] = {}  # floor if a usage write fails
        self._down_until = 0.0
        self._down_reason = ""
        self._trips = 0
        self._capped: set[int] = set()

    # -- the compressor interface ----------------------------------------------------------

    def observe(self, ctx: SessionContext, events) -> Produced:
        events = [e for e in events if e.tool_name not in self.skip_tools
                  and not is_own_tool(e.tool_name)]
        if not events:
            return Produced(generated_by=self.label)
        turn = Turn("observe",
                    init=prompts.init_prompt(ctx.project, _clean(ctx.request), ctx.prompt_number),
                    body=prompts.events_prompt([_event_dict(e) for e in events]))
        found, reason, warnings = self._ask(ctx, turn, _read_observations)
        if found is None:
            made = self.fallback.observe(ctx, events)
            return Produced(observations=made.observations, generated_by=_fallback(reason),
                            warnings=tuple(warnings))
        return Produced(observations=tuple(self._finish(ctx, o, events) for o in found),
                        generated_by=self.label, warnings=tuple(warnings))

    def summarize(self, ctx: SessionContext, last_assistant_message: str, observations) -> Produced:
        observations = list(observations)
        if not (ctx.request or last_assistant_message or observations):
            return self.fallback.summarize(ctx, last_assistant_message, observations)
        turn = Turn("summary", body=prompts.summary_prompt(
            _clean(ctx.request), _clean(last_assistant_message), observations,
            goal=_clean(ctx.goal), previous_reply=_clean(ctx.previous_reply)))
        summary, reason, warnings = self._ask(ctx, turn, _read_summary)
        if summary is None:
            made = self.fallback.summarize(ctx, last_assistant_message, observations)
            reason = "no summary" if reason == "unreadable reply" else reason
            return Produced(summary=made.summary, generated_by=_fallback(reason),
                            warnings=tuple(warnings))
        if not summary.request.strip():
            summary = replace(summary, request=self.fallback.summary_for(ctx, "", []).request)
        summary = replace(summary,
                          files_read=_rel_all(summary.files_read, ctx),
                          files_edited=_rel_all(summary.files_edited, ctx))
        return Produced(summary=summary, generated_by=self.label, warnings=tuple(warnings))

    def finalize(self, ctx: SessionContext, reason: str) -> None:
        self._capped.discard(ctx.session_id)
        self.backend.finalize(ctx.session_id)

    def close(self) -> None:
        self.backend.close()

    # -- asking, with retries, caps and the breaker ------------------------------------------

    def _ask(self, ctx: SessionContext, turn: Turn, read):
        """``(result, "", warnings)`` or ``(None, reason, warnings)``."""
        retries = max(0, int(self.settings.llm_max_retries))
        timeout = float(self.settings.llm_timeout_seconds)
        attempt = 0
        warnings: list[str] = []
        while True:
            blocked = self._blocked(ctx, turn)
            if blocked:
                return None, blocked, warnings
            try:
                done = self.backend.complete(ctx, turn, timeout)
            except LLMError as err:
                self._account(ctx, None)
                self._discard(ctx)
                log.warning(f"{self.label}: {turn.kind} for session {ctx.claude_session_id} "
                            f"failed (attempt {attempt + 1}): {err.reason}")
                delay = self._delay(attempt, err.retry_after)
                if not err.retryable or attempt >= retries or delay is None:
                    self._trip(err.reason, err.retry_after if delay is None else None)
                    return None, err.reason, warnings
                attempt += 1
                time.sleep(delay)
                continue
            except Exception as exc:  # a client-library bug must not cost the work
                self._account(ctx, None)
                self._discard(ctx)
                log.error(f"{self.label}: unexpected {exc!r} during {turn.kind}")
                self._trip(f"error {type(exc).__name__}", None)
                return None, f"error {type(exc).__name__}", warnings
            self._account(ctx, done)
            self._trips = 0
            result, notes = read(_THINK.sub("", done.text or ""))
            warnings.extend(notes)
            if result is not None:
                return result, "", warnings
            log.warning(f"{self.label}: unreadable {turn.kind} reply for session "
                        f"{ctx.claude_session_id}: {'; '.join(notes)[:200]}")
            if turn.reask is not None or attempt >= retries:
                return None, "unreadable reply", warnings
            attempt += 1
            turn = replace(turn, reask=(done.text or "", REMINDER[turn.kind]))

    def _blocked(self, ctx: SessionContext, turn: Turn) -> str:
        if time.monotonic() < self._down_until:
            return self._down_reason
        calls, tokens = self._usage(ctx.session_id)
        reason = ""
        if calls >= int(self.settings.llm_max_calls_per_session):
            reason = "call cap"
        elif tokens + self.backend.estimate_tokens(ctx, turn) > int(self.settings.llm_max_tokens_per_session):
            reason = "token cap"
        if reason and ctx.session_id not in self._capped:
            self._capped.add(ctx.session_id)
            log.info(f"{self.label}: session {ctx.claude_session_id} reached its {reason} "
                     f"({calls} calls, {tokens} tokens); using the heuristic for the rest of it")
        return reason

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt; None when the server asks for too long."""
        if retry_after is not None:
            return None if retry_after > self.retry_after_cap else retry_after
        base = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        return base * random.uniform(0.8, 1.2)  # jitter: parallel workers do not retry in step

    def _trip(self, reason: str, rest: float | None) -> None:
        self._trips += 1
        seconds = rest if rest is not None else min(
            BREAKER_MAX, self.breaker_seconds * (2 ** (self._trips - 1)))
        self._down_until = time.monotonic() + seconds
        self._down_reason = reason
        log.warning(f"{self.label}: {reason}; using the heuristic for the next {seconds:.0f}s")

    def _discard(self, ctx: SessionContext) -> None:
        try:
            self.backend.discard(ctx.session_id)
        except Exception as exc:
            log.warning(f"{self.label}: could not reset session {ctx.claude_session_id}: {exc!r}")

    # -- accounting --------------------------------------------------------------------------

    def _usage(self, session_id: int) -> tuple[int, int]:
        calls, tokens = self._memory_usage.get(session_id, (0, 0))
        if self.store is not None:
            try:
                row = self.store.llm_usage_for_session(session_id)
                calls, tokens = max(calls, int(row["calls"])), max(tokens, int(row["tokens"]))
            except Exception as exc:
                log.warning(f"{self.label}: reading llm usage failed: {exc!r}")
        return calls, tokens

    def _account(self, ctx: SessionContext, done: Completion | None) -> None:
        tokens_in = done.input_tokens if done else 0
        tokens_out = done.output_tokens if done else 0
        memory = self._memory_usage.setdefault(ctx.session_id, [0, 0])
        memory[0] += 1
        memory[1] += tokens_in + tokens_out
        if self.store is None:
            return
        try:
            self.store.record_llm_usage(ctx.session_id, self.backend.name, self.backend.model,
                                        calls=1, input_tokens=tokens_in, output_tokens=tokens_out,
                                        failures=0 if done else 1)
        except Exception as exc:  # the in-memory count still holds the cap
            log.warning(f"{self.label}: recording llm usage failed: {exc!r}")

    # -- shaping what the model wrote --------------------------------------------------------

    def _finish(self, ctx: SessionContext, obs: Observation, events) -> Observation:
        tools = list(dict.fromkeys(e.tool_name for e in events))
        return replace(
            obs,
            files_read=_rel_all(obs.files_read, ctx),
            files_modified=_rel_all(obs.files_modified, ctx),
            tool_name=",".join(tools)[:200],
            # One event: its id keys the content hash, so a redelivered event maps onto the
            # rows it already made. A merged batch has no single id; the worker then hashes
            # the batch.
            tool_use_id=events[0].tool_use_id if len(events) == 1 else "",
        )


def _read_observations(text: str):
    found, summary, warnings = parse_reply(text)
    if found:
        return found, warnings
    if not warnings and summary is None:  # a deliberate <skip/>
        return [], warnings
    return None, warnings or ["no <observation> in reply"]


def _read_summary(text: str):
    summary, warnings = parse_summary(text)
    return summary, warnings or ([] if summary else ["no <summary> in reply"])


def _fallback(reason: str) -> str:
    return f"heuristic (fallback: {reason})"


def _rel_all(paths, ctx: SessionContext) -> tuple[str, ...]:
    return tuple(dict.fromkeys(relative_path(p, ctx) for p in paths if p))


def _clean(text) -> str:
    """Defence in depth: hooks already clean what they store, but a row queued by an older
    version or written by hand must not carry a secret to a third party."""
    text = "" if text is None else str(text)
    try:
        from claude_mem import privacy

        return privacy.clean_text(text) if privacy.needs_cleaning(text) else text
    except Exception as exc:  # the hooks cleaned it already; a filter bug must not stop work
        log.warning(f"privacy filter failed before an LLM call: {exc!r}")
        return text


def _clean_value(value):
    try:
        from claude_mem import privacy

        return privacy.clean_value(value)
    except Exception as exc:
        log.warning(f"privacy filter failed before an LLM call: {exc!r}")
        return value


def _event_dict(event) -> dict:
    return {
        "tool_name": event.tool_name,
        "tool_input": _clean_value(event.tool_input),
        "tool_response": _clean_value(event.tool_response),
        "error": _clean(event.error) if event.error else None,
        "cwd": event.cwd,
    }
