"""What a markdown document (a README, a CLAUDE.md, a plan) says beyond its prose lines.

Contract: text in, short strings out; no I/O, standard library only.

- ``headings(text, limit)`` — its headings, not the ``# comment`` lines of its code blocks.
- ``commands(text)`` — the commands its shell blocks give (```bash, ```sh, ```console …,
  or any block whose lines are ``$ command``), in one ``Commands:`` fact: how to build,
  test and run the project is what a teammate looks a README or a CLAUDE.md up for, and
  ``extract.report_lines`` reads prose, not code blocks.
"""
from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_SHELL = {"bash", "sh", "shell", "zsh", "fish", "console", "terminal", "shell-session",
          "powershell", "pwsh", "ps1", "cmd", "bat"}
_PROMPT = re.compile(r"^(?:\$|%|>|PS>|PS [^>]*>)\s+")


def _blocks(text: str):
    """(language, lines) of each fenced block; (None, line) for each line outside them."""
    fence, language, body = "", "", []
    for line in str(text or "").splitlines():
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                    and not match.group(2):
                yield language, body
                fence, body = "", []
            else:
                body.append(line)
        elif match:
            fence, language = match.group(1), match.group(2).lower()
        else:
            yield None, line
    if fence:  # an unclosed block (a cut document): what it held is still code
        yield language, body


def headings(text: str, limit: int) -> list[str]:
    """The document's markdown headings, in order (at most ``limit``)."""
    out = []
    for language, content in _blocks(text):
        if language is None and re.match(r"^\s{0,3}#{1,6}\s+\S", content):
            out.append(" ".join(content.split())[:160])
            if len(out) >= limit:
                break
    return out


def command_list(text: str) -> list[str]:
    """The commands of the document's shell blocks, each once, in order: comments and blank
    lines skipped, prompts stripped, an ``export``'s value left out."""
    found: list[str] = []
    for language, content in _blocks(text):
        if language is None:
            continue
        lines = [line.strip() for line in content if line.strip()]
        prompted = [line for line in lines if _PROMPT.match(line)]
        if language in _SHELL:
            # A console block's unprompted lines are what its commands printed.
            picked = prompted or lines
        elif prompted and len(prompted) * 2 >= len(lines):
            picked = prompted
        else:
            continue
        for line in picked:
            command = re.sub(r"\s+#\s.*$", "", _PROMPT.sub("", line)).strip()  # a trailing comment
            command = re.sub(r"^(export\s+\w+)=.*$", r"\1=…", command)
            if command and not command.startswith("#") and command not in found:
                found.append(command)
    return found


def commands(text: str, known=(), limit: int = 200) -> str:
    """``Commands: npm install; npm run build; ./run.sh`` (those not in ``known``), else ""."""
    found = [c for c in command_list(text) if c not in known]
    if not found:
        return ""
    out = "Commands: " + found[0]
    for command in found[1:]:
        if len(out) + len(command) + 2 > limit:
            break
        out += "; " + command
    return out[:limit]
