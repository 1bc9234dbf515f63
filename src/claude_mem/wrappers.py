"""Claude Code's own wrappers in prompt text, understood.

Contract: ``classify(text) -> (kind, text)`` tells what a UserPromptSubmit prompt (or a
transcript's user message) really is, and returns the text worth remembering:

- ``"prompt"`` — the person's request; ``<system-reminder>`` blocks removed, a slash
  command's ``<command-name>/<command-message>/<command-args>`` turned into ``/name args``.
- ``"notification"`` — a ``<task-notification>`` (a background task finished): not a
  request; the text is its ``<summary>``.
- ``"local"`` — output of a local command (``<local-command-stdout>``, ``<bash-stdout>``,
  ``<local-command-caveat>``): not a request.
- ``"interrupt"`` — "[Request interrupted by user]".
- ``"continuation"`` — the summary Claude Code puts first in a compacted conversation.
- ``"empty"`` — nothing left.

``is_trivial(text)`` is True for a request that carries no goal of its own ("continue",
"yes", "ok go ahead"): the thread's earlier request says what it is about.
Standard library only, no I/O.
"""
from __future__ import annotations

import re

_REMINDER = re.compile(r"<system-reminder>.*?(?:</system-reminder>|$)", re.S)
_TAG = re.compile(r"<(?P<tag>[a-z][a-z-]*)>(?P<body>.*?)</(?P=tag)>", re.S)
_LOCAL_TAGS = ("local-command-stdout", "local-command-stderr", "local-command-caveat",
               "bash-stdout", "bash-stderr", "bash-input")
_CONTINUATION = re.compile(r"^This session is being continued from a previous conversation", re.I)
_TRIVIAL = re.compile(
    r"^(?:(?:ok(?:ay)?|yes|yep|yeah|y|sure|please|pls|go|go on|go ahead|continue|proceed|"
    r"do it|next|resume|keep going|carry on|lgtm|sounds good|perfect|great|thanks?|thank you|"
    r"fine|right|correct|agreed|approved?|retry|try again|again|and|then|now|all|it|that|"
    r"this|one|both|1|2|3|a|b|c|do|please do|ship it|commit|push|yes please)[\s,.!]*)+$", re.I)


_TAG_PATTERNS: dict[str, "re.Pattern"] = {}


def _tag(text: str, name: str) -> str:
    pattern = _TAG_PATTERNS.get(name)
    if pattern is None:
        pattern = _TAG_PATTERNS[name] = re.compile(rf"<{name}>(.*?)</{name}>", re.S)
    match = pattern.search(text)
    return match.group(1).strip() if match else ""


def classify(text) -> tuple[str, str]:
    text = str(text or "")
    stripped = _REMINDER.sub("", text).strip()
    if not stripped:
        return "empty", ""
    if stripped.startswith("<task-notification>"):
        summary = _tag(stripped, "summary") or _tag(stripped, "status")
        return "notification", summary
    if stripped.startswith("[Request interrupted by user"):
        return "interrupt", ""
    if _CONTINUATION.match(stripped):
        return "continuation", stripped
    name = _tag(stripped, "command-name")
    if name:
        args = _tag(stripped, "command-args")
        rest = _TAG.sub("", stripped).strip()
        command = (name if name.startswith("/") else "/" + name) + (f" {args}" if args else "")
        return "prompt", command + (f"\n{rest}" if rest else "")
    if any(stripped.startswith(f"<{tag}>") for tag in _LOCAL_TAGS):
        rest = _TAG.sub("", stripped).strip()
        if not rest:
            return "local", ""
        stripped = rest
    return "prompt", stripped


def is_request(text) -> bool:
    """True when the prompt is something the person asked (not a wrapper, not empty)."""
    return classify(text)[0] == "prompt"


def is_trivial(text) -> bool:
    text = " ".join(str(text or "").split())
    return not text or (len(text) <= 40 and bool(_TRIVIAL.match(text)))
