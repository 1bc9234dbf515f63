"""Stateless HTTP back-ends for the LLM compressor: ``anthropic`` and ``openai``.

Contract: each class is built from settings (raising ``ImportError`` when its SDK is missing
and ``ValueError`` for unusable configuration) and offers what ``llm.LLMCompressor`` drives:
``name``, ``model``, ``complete(ctx, turn, timeout) -> Completion`` (raises ``base.LLMError``
for one failed attempt), ``estimate_tokens(ctx, turn)``, ``discard(session_id)``,
``finalize(session_id)``, ``close()``. One ``complete`` is exactly one HTTP request: the
SDKs' own retries are off (``max_retries=0``) so that every attempt is counted against the
session's call cap. Nothing is kept between requests: system prompt + init + events (or the
summary prompt) go out together every time.

- ``anthropic``: the Messages API via the ``anthropic`` package. ``model`` defaults to
  ``claude-haiku-4-5``; ``llm_base_url`` overrides the endpoint; the key comes from the
  variable named by ``llm_api_key_env``, else ``ANTHROPIC_API_KEY`` (or
  ``ANTHROPIC_AUTH_TOKEN``, which the package reads itself).
- ``openai``: any OpenAI-compatible chat-completions endpoint via the ``openai`` package
  (``llm_base_url`` e.g. ``http://127.0.0.1:11434/v1`` for Ollama). ``model`` is required when
  ``llm_base_url`` is set (``gpt-4o-mini`` on api.openai.com otherwise); the key comes from
  ``llm_api_key_env``, else ``OPENAI_API_KEY``, else ``"not-needed"`` (local servers ignore it).
"""
from __future__ import annotations

import os

from claude_mem.compress import prompts
from claude_mem.compress.base import (MAX_OUTPUT_TOKENS, Completion, LLMError, Turn, api_key,
                                      estimate_tokens, http_error, stateless_messages)


class _Stateless:
    name = ""
    model = ""

    def __init__(self) -> None:
        self.system = prompts.system_prompt()

    def estimate_tokens(self, ctx, turn: Turn) -> int:
        size = estimate_tokens(self.system) + estimate_tokens(turn.text())
        if turn.reask:
            size += estimate_tokens(turn.reask[0]) + estimate_tokens(turn.reask[1])
        return size

    # Nothing is held per session.
    def discard(self, session_id: int) -> None:
        return None

    def finalize(self, session_id: int) -> None:
        return None

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass


class sdk_errors:
    """Map the anthropic/openai SDKs' exceptions (they share the names) to ``LLMError``."""

    def __init__(self, sdk):
        self.sdk = sdk

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        sdk = self.sdk
        if exc_type is None:
            return False
        if issubclass(exc_type, sdk.APIStatusError):
            raise http_error(exc.status_code, exc.response.headers) from None
        if issubclass(exc_type, sdk.APITimeoutError):  # a subclass of APIConnectionError
            raise LLMError("timeout") from None
        if issubclass(exc_type, sdk.APIConnectionError):
            raise LLMError("connection error") from None
        if issubclass(exc_type, (sdk.APIResponseValidationError, ValueError)):
            # a 200 whose body is not the API's JSON
            raise LLMError("garbage reply") from None
        return False


class AnthropicBackend(_Stateless):
    name = "anthropic"
    DEFAULT_MODEL = "claude-haiku-4-5"

    def __init__(self, settings):
        import anthropic  # ImportError here names the extra (see make_llm_compressor)

        super().__init__()
        self.sdk = anthropic
        self.model = (settings.model or "").strip() or self.DEFAULT_MODEL
        key = api_key(settings, ("ANTHROPIC_API_KEY",))
        if key is None and not os.environ.get("ANTHROPIC_AUTH_TOKEN"):
            raise ValueError("the anthropic compressor needs a key: set ANTHROPIC_API_KEY "
                             "or name your variable in llm_api_key_env")
        options = {"timeout": float(settings.llm_timeout_seconds), "max_retries": 0}
        if key is not None:
            options["api_key"] = key
        if settings.llm_base_url:
            options["base_url"] = settings.llm_base_url
        self.client = anthropic.Anthropic(**options)

    def complete(self, ctx, turn: Turn, timeout: float) -> Completion:
        with sdk_errors(self.sdk):
            message = self.client.messages.create(
                model=self.model, max_tokens=MAX_OUTPUT_TOKENS, system=self.system,
                messages=stateless_messages(turn), timeout=timeout)
        text = "".join(getattr(block, "text", "") for block in (message.content or [])
                       if getattr(block, "type", "") == "text")
        usage = message.usage
        tokens_in = sum(int(getattr(usage, field, 0) or 0) for field in (
            "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
        return Completion(text, tokens_in, int(getattr(usage, "output_tokens", 0) or 0))


class OpenAIBackend(_Stateless):
    name = "openai"
    DEFAULT_MODEL = "gpt-4o-mini"

    def __init__(self, settings):
        import openai

        super().__init__()
        self.sdk = openai
        base_url = (settings.llm_base_url or "").strip() or None
        self.model = (settings.model or "").strip()
        if not self.model:
            if base_url:
                raise ValueError("the openai compressor with llm_base_url needs `model` "
                                 "(the name your server knows, e.g. llama3.2)")
            self.model = self.DEFAULT_MODEL
        key = api_key(settings, ("OPENAI_API_KEY",)) or "not-needed"
        self.client = openai.OpenAI(api_key=key, base_url=base_url,
                                    timeout=float(settings.llm_timeout_seconds), max_retries=0)

    def complete(self, ctx, turn: Turn, timeout: float) -> Completion:
        messages = [{"role": "system", "content": self.system}] + stateless_messages(turn)
        with sdk_errors(self.sdk):
            reply = self.client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=MAX_OUTPUT_TOKENS, timeout=timeout)
        choices = getattr(reply, "choices", None) or []
        if not choices:
            raise LLMError("garbage reply")
        text = choices[0].message.content or ""
        usage = getattr(reply, "usage", None)
        if usage is not None and usage.prompt_tokens is not None:
            return Completion(text, int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0))
        # Some local servers report no usage: count an estimate so the token cap still holds.
        return Completion(text, self.estimate_tokens(ctx, turn), estimate_tokens(text))
