"""What the heuristic's tool rules write and its request summary reads back.

Contract: pure functions over observation dicts and shell command text, no I/O:
- ``first_fact(obs, tag)``: the first tagged fact ``tag: value`` of an observation, without
  its tag (the tags are listed in ``heuristic``'s docstring).
- ``core_command(command)``: the command that matters in a chain (``cd x && FOO=1 mix test
  2>&1 | tail`` is ``mix test``); ``READ_ONLY``, ``MUTATING_COMMANDS`` and
  ``CHECK_COMMAND`` say whether one only looks, changes something, or checks the work.
- ``is_failure(obs)``, ``dedupe(items)`` (order kept), ``code_span(text)`` (one line, in
  backticks).
"""
from __future__ import annotations

import functools
import re

from claude_mem.compress import extract
from claude_mem.text import one_line


# Commands that only look: their output is discovery, never a change worth listing.
READ_ONLY = re.compile(
    r"^(ls|ll|cat|head|tail|less|more|grep|egrep|rg|ag|find|fd|pwd|echo|printf|wc|which|whereis|"
    r"type|file|tree|du|df|ps|top|env|printenv|stat|diff|sort|uniq|cut|awk|jq|yq|date|whoami|"
    r"hostname|uname|id|history|man|sleep|true|test|\[|sed\s+-n|git\s+(status|log|diff|show|"
    r"branch|remote|ls-files|rev-parse|blame|describe|shortlog|reflog|config\s+--get|grep|"
    r"worktree\s+list|stash\s+list)|\w[\w.-]*\s+(show|list|ls|ready|status|view|info|search|get|"
    r"describe|inspect|--version|-v|--help|help))\b")


CHECK_COMMAND = re.compile(
    r"\b(test|tests|pytest|unittest|tox|nox|jest|vitest|mocha|rspec|phpunit|ctest|check|lint|"
    r"clippy|credo|dialyzer|mypy|pyright|ruff|flake8|pylint|eslint|tsc|build|compile|verify|"
    r"coverage|cover|bench)\b")


MUTATING_COMMANDS = re.compile(
    r"^(git\s+(commit|push|merge|rebase|reset|checkout|switch|add|rm|mv|tag|stash|apply|cherry-pick|"
    r"worktree\s+add|branch\s+-[dDmM])|rm|mv|cp|mkdir|touch|chmod|chown|ln|sed\s+-i|tee|pip\d*\s+install|"
    r"uv\s+(add|pip|sync)|npm\s+(i|install|uninstall|publish)|yarn\s+add|pnpm\s+add|poetry\s+add|"
    r"cargo\s+(add|install|publish)|mix\s+(deps\.get|igniter\.install|ecto\.\w+)|make|patch|"
    r"gh\s+(pr|issue|release)\s+(create|merge|close|edit|comment))\b")


def code_span(text: str, limit: int = 80) -> str:
    return "`" + one_line(text, limit).replace("`", "'") + "`"


def dedupe(items) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)


def first_fact(obs, tag: str) -> str:
    """The first fact ``tag: value`` of an observation dict, without the tag."""
    prefix = tag + ": "
    for fact in obs.get("facts", ()):  # a loop, not next(genexpr): ~46 calls a summary
        if fact.startswith(prefix):
            return fact[len(prefix):]
    return ""


def core_command(command: str) -> str:
    """The command that matters in a chain: ``cd x && FOO=1 mix test 2>&1 | tail`` → ``mix test``.

    Split on the masked text (quotes and heredocs cannot split it), shown from the original
    (a ``--title="…"`` keeps its words), first line only. Remembered for commands of
    ordinary length: a request's summary asks again for every command its steps ran.
    """
    command = str(command or "")
    if len(command) <= 1000:
        return _remembered(command)
    return find_core_command(command)


# ``find_core_command``'s patterns, compiled once (it runs for every shell command).
_COMMAND_BREAK = re.compile(r"&&|\|\||;|\n")
_SETUP_STEP = re.compile(r"^\s*(cd|export|source|set|\.)\s")
_REDIRECTION = re.compile(r"\s+\d?>&?\d?\S*")
_LEADING_ASSIGNMENTS = re.compile(r"^\s*(\w+=\S*\s+)+")


def find_core_command(command: str) -> str:
    mask = extract.mask_quoted(command)
    spans, start = [], 0
    for match in _COMMAND_BREAK.finditer(mask):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(mask)))
    spans = [(a, b) for a, b in spans if mask[a:b].strip()]
    if not spans:
        return ""
    plain = [(a, b) for a, b in spans if not _SETUP_STEP.match(mask[a:b])] or spans
    a, b = next(((a, b) for a, b in plain if CHECK_COMMAND.search(mask[a:b].split("|")[0])), plain[-1])
    pipe = mask.find("|", a, b)
    b = pipe if pipe >= 0 else b
    masked, text = mask[a:b], command[a:b]
    # Redirections (``2>&1``, ``> out``) and leading ``VAR=value`` are noise in a name.
    for match in reversed(list(_REDIRECTION.finditer(masked))):
        text = text[:match.start()] + text[match.end():]
    text = _LEADING_ASSIGNMENTS.sub("", text)
    return text.strip().split("\n")[0].strip()


_remembered = functools.lru_cache(maxsize=512)(find_core_command)


def is_failure(obs) -> bool:
    concepts = obs.get("concepts", []) if isinstance(obs, dict) else obs.concepts
    return "failure" in concepts
