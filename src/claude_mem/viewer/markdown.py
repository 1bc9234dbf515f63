"""The little Markdown the model writes (summaries, final replies), as safe HTML for the viewer.

Contract: ``to_html(text)`` returns HTML in which every character of ``text`` was escaped
first; only then are a few shapes turned into tags that carry no attributes at all, so no
input can produce a link, an attribute, a script or an event handler. Understood:

- blocks: paragraphs (blank lines), ``- `` / ``* `` / ``+ `` bullet lists, ``1. `` numbered
  lists, fenced code (three backticks, kept verbatim), ``#`` headings (shown as bold lines);
- inline: ```code``` (its content left as it is), ``**bold**`` / ``__bold__``, ``*em*``;
  ``[text](url)`` keeps its text and shows the address in brackets, never as a link.

Anything else stays as the text it was. ``inline_html(text)`` does the inline part only, for
one-line places.
"""
from __future__ import annotations

import html
import re

_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_EM = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}```")


def _inline_escaped(escaped: str) -> str:
    """Inline shapes over text that is already escaped (code spans are left alone)."""
    parts = _CODE.split(escaped)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # inside backticks
            out.append(f"<code>{part}</code>")
            continue
        part = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", part)
        part = _BOLD.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", part)
        part = _EM.sub(lambda m: f"<em>{m.group(1)}</em>", part)
        out.append(part)
    return "".join(out)


def inline_html(text: str) -> str:
    return _inline_escaped(html.escape(str(text or ""), quote=True))


def to_html(text: str) -> str:
    lines = str(text or "").replace("\r\n", "\n").split("\n")
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    code: list[str] | None = None

    def close_paragraph():
        if paragraph:
            blocks.append("<p>" + "<br>".join(inline_html(p) for p in paragraph) + "</p>")
            paragraph.clear()

    def close_list():
        nonlocal list_tag
        if items:
            blocks.append(f"<{list_tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
        list_tag = ""

    for line in lines:
        if code is not None:
            if _FENCE.match(line):
                blocks.append("<pre><code>" + html.escape("\n".join(code), quote=True) + "</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        if _FENCE.match(line):
            close_paragraph()
            close_list()
            code = []
            continue
        if not line.strip():
            close_paragraph()
            close_list()
            continue
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if bullet or numbered:
            tag = "ul" if bullet else "ol"
            close_paragraph()
            if list_tag and list_tag != tag:
                close_list()
            list_tag = tag
            items.append(inline_html((bullet or numbered).group(1)))
            continue
        heading = _HEADING.match(line)
        if heading:
            close_paragraph()
            close_list()
            blocks.append(f"<p><strong>{inline_html(heading.group(1))}</strong></p>")
            continue
        if items and line.startswith((" ", "\t")):  # a list item going on over lines
            items[-1] += " " + inline_html(line.strip())
            continue
        close_list()
        paragraph.append(line.strip())
    if code is not None:  # an unclosed fence: what there is, verbatim
        blocks.append("<pre><code>" + html.escape("\n".join(code), quote=True) + "</code></pre>")
    close_paragraph()
    close_list()
    return "".join(blocks)
