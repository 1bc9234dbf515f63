"""An in-process LLM back-end for the compressor's own policy: retries, caps, breaker.

Like simonw/llm's ``MockModel``: ``FakeBackend(*replies)`` answers each ``complete`` with
the next scripted reply, in order — a string is the model's text, an ``LLMError`` (or any
exception) is raised as that attempt's failure, a callable gets the ``Turn`` and returns
either. When the script runs out, ``default`` answers. Every call's turn is kept in
``turns``; token counts are estimated from the text, as a server would count them.

It implements ``claude_mem.compress.base.Backend``; the HTTP fake
(``fake_llm_server.FakeLLMServer``) stays for end-to-end tests of the real SDKs.
"""
from __future__ import annotations

from claude_mem.compress.base import Completion, LLMError, Turn, estimate_tokens

OBSERVATION = ("<observation><type>bugfix</type><title>Discount applied after tax</title>"
               "<facts><fact>calculate_total taxed before discounting</fact></facts>"
               "</observation>")
SUMMARY = "<summary><request>Fix the invoice total</request></summary>"


def answer(turn: Turn) -> str:
    """A well-behaved model: a summary when asked for one, else an observation."""
    return SUMMARY if turn.kind == "summary" else OBSERVATION


class FakeBackend:
    name = "fake"
    model = "scripted"

    def __init__(self, *replies, default=answer):
        self.replies = list(replies)
        self.default = default
        self.turns: list[Turn] = []
        self.discarded: list[int] = []
        self.finalized: list[int] = []
        self.closed = False

    @property
    def calls(self) -> int:
        return len(self.turns)

    def complete(self, ctx, turn: Turn, timeout: float) -> Completion:
        self.turns.append(turn)
        reply = self.replies.pop(0) if self.replies else self.default
        if callable(reply) and not isinstance(reply, BaseException):
            reply = reply(turn)
        if isinstance(reply, BaseException):
            raise reply
        return Completion(reply, estimate_tokens(turn.text()), estimate_tokens(reply))

    def estimate_tokens(self, ctx, turn: Turn) -> int:
        return estimate_tokens(turn.text())

    def discard(self, session_id: int) -> None:
        self.discarded.append(session_id)

    def finalize(self, session_id: int) -> None:
        self.finalized.append(session_id)

    def close(self) -> None:
        self.closed = True


__all__ = ["FakeBackend", "LLMError", "OBSERVATION", "SUMMARY", "answer"]
