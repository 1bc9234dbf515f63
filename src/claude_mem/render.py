"""Plain-text views of stored records for the CLI (``claude-mem show``).

Contract: ``detail(kind, item)`` turns what the store returns for a session, an
observation or a summary into readable text. No I/O.
"""
from __future__ import annotations

from claude_mem.text import when


def whose(item: dict) -> str:
    """Whose a record is: "yours", or the teammate (and machine) it was pulled from."""
    if not item.get("member"):
        return "yours (recorded on this machine)"
    return f"{item['member']}'s (on {item.get('machine') or '?'}, from the team database)"


def observation_text(obs: dict) -> str:
    lines = [f"Observation #{obs['id']} — {obs['type']} — {when(obs['created_at'], seconds=True)}"
             f" (prompt {obs.get('prompt_number')}, {obs.get('generated_by')})",
             f"  {obs['title']}"]
    if obs.get("member"):
        lines.insert(1, f"  by {whose(obs)}")
    if obs.get("subtitle"):
        lines.append(f"  {obs['subtitle']}")
    for fact in obs.get("facts") or []:
        lines.append(f"  • {fact}")
    if obs.get("narrative"):
        lines.append(f"  {obs['narrative']}")
    for label, key in (("files read", "files_read"), ("files modified", "files_modified"),
                       ("concepts", "concepts")):
        if obs.get(key):
            lines.append(f"  {label}: {', '.join(obs[key])}")
    return "\n".join(lines)


def summary_text(summary: dict) -> str:
    lines = [f"Summary #{summary['id']} — prompt {summary['prompt_number']} — "
             f"{when(summary.get('updated_at'), seconds=True)} ({summary.get('generated_by')})",
             f"  Request: {summary['request']}"]
    if summary.get("member"):
        lines.insert(1, f"  by {whose(summary)}")
    for label, key in (("Investigated", "investigated"), ("Learned", "learned"),
                       ("Completed", "completed"), ("Next steps", "next_steps"), ("Notes", "notes")):
        value = (summary.get(key) or "").strip()
        if value:
            lines.append(f"  {label}:")
            lines += [f"    {line}" for line in value.splitlines()]
    for label, key in (("Files read", "files_read"), ("Files edited", "files_edited")):
        if summary.get(key):
            lines.append(f"  {label}: {', '.join(summary[key])}")
    return "\n".join(lines)


def session_text(detail: dict) -> str:
    s = detail["session"]
    lines = [f"Session #{s['id']} {s['claude_session_id']}"
             + (f" — {whose(s)}" if s.get("member") else ""),
             f"  project {s['project']} ({s['cwd']}), agent {s.get('agent') or 'claude-code'}",
             f"  status {s['status']}" + (f" ({s['end_reason']})" if s.get("end_reason") else "")
             + f", started {when(s['started_at'], seconds=True)}, last activity {when(s['last_activity_at'], seconds=True)},"
             f" runs {s['runs']}", ""]
    for prompt in detail["prompts"]:
        lines.append(f"Prompt {prompt['prompt_number']} ({when(prompt['created_at'], seconds=True)}): {prompt['prompt']}")
        for obs in detail["observations"]:
            if obs["prompt_number"] == prompt["prompt_number"]:
                lines.append(f"  #{obs['id']} {obs['type']}: {obs['title']}")
        for summary in detail["summaries"]:
            if summary["prompt_number"] == prompt["prompt_number"]:
                lines.append("")
                lines += ["  " + line for line in summary_text(summary).splitlines()]
        lines.append("")
    orphans = [o for o in detail["observations"]
               if o["prompt_number"] not in {p["prompt_number"] for p in detail["prompts"]}]
    for obs in orphans:
        lines.append(f"  #{obs['id']} {obs['type']}: {obs['title']}")
    return "\n".join(lines).rstrip()


def detail(kind: str, item: dict) -> str:
    if kind == "obs":
        return observation_text(item)
    if kind == "summary":
        return summary_text(item)
    return session_text(item)


# -- search results ----------------------------------------------------------------------

# Which fields of a hit can hold the words that made it match, most telling first.
_MATCH_FIELDS = {
    "observation": ("title", "subtitle", "facts", "narrative", "files_modified", "files_read", "concepts"),
    "summary": ("request", "completed", "learned", "investigated", "next_steps", "notes",
                "files_edited", "files_read"),
    "prompt": ("prompt",),
}


def _flat(value) -> str:
    if isinstance(value, (list, tuple)):
        value = " · ".join(str(v) for v in value)
    return " ".join(str(value or "").split())


def match_snippet(hit: dict, query: str, width: int = 90, title_width: int = 72) -> str:
    """A short piece of the hit around the first query word it holds: why it matched.

    "" when the shown title already holds the word (or no field holds it literally, e.g.
    a match through a word's prefix that the title makes plain anyway).
    """
    words = [w.strip('"*').lower() for w in query.split() if w.strip('"*')]
    for key in _MATCH_FIELDS.get(hit.get("kind"), ()):
        text = _flat(hit.get(key))
        low = text.lower()
        spots = [low.find(w) for w in words if w in low]
        if not spots:
            continue
        at = min(spots)
        if key in ("title", "request", "prompt") and at < title_width - 10:
            return ""  # visible in the title column
        start = max(0, at - width // 3)
        piece = text[start:start + width]
        return (f"{key.replace('_', ' ')}: " + ("…" if start else "") + piece
                + ("…" if start + width < len(text) else ""))
    return ""


_LABELS = {"observation": "obs", "summary": "summary", "prompt": "prompt"}


def search_lines(hits: list[dict], query: str, *, with_project: bool = True,
                 title_width: int = 72) -> list[str]:
    """Aligned columns (kind and id, time, project, title), each hit followed by its snippet."""
    rows = []
    for hit in hits:
        ident = f"{_LABELS.get(hit['kind'], hit['kind'])} #{hit['id']}"
        stamp = when(hit.get("created_at"))
        title = _flat(hit.get("title"))
        if len(title) > title_width:
            title = title[: title_width - 1] + "…"
        where = str(hit.get("project", "")) + (f" ({hit['member']})" if hit.get("member") else "")
        if hit.get("agent") and hit["agent"] != "claude-code":
            where += f" [{hit['agent']}]"
        rows.append((ident, stamp, where, title, match_snippet(hit, query)))
    id_w = max((len(r[0]) for r in rows), default=0)
    proj_w = max((len(r[2]) for r in rows), default=0)
    lines = []
    for ident, stamp, proj, title, snippet in rows:
        project_col = f"  {proj:<{proj_w}}" if with_project else ""
        lines.append(f"{ident:<{id_w}}  {stamp}{project_col}  {title}")
        if snippet:
            lines.append(f"{'':<{id_w}}  ↳ {snippet}")
    return lines


# -- terminal safety -------------------------------------------------------------------

# What a terminal acts on instead of showing: C0 controls other than tab and newline (ESC
# starts OSC 52, which writes the reader's clipboard, and OSC 0, which sets the window
# title; CR and BS overwrite what was shown), DEL, and the C1 controls (U+0080-U+009F;
# U+009B is an 8-bit CSI, U+009D an OSC).
_CONTROL = None


def _control_rx():
    global _CONTROL
    if _CONTROL is None:
        import re

        _CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
    return _CONTROL


def _visible(m) -> str:
    code = ord(m.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)           # caret notation: ESC is ^[, CR ^M, BS ^H
    return f"\\u{code:04x}"                     # DEL and C1: written as their JSON escape


def terminal_safe(text: str) -> str:
    """``text`` with every control character a terminal would act on made visible.

    Tab and newline stay. C0 controls are shown in caret notation (``^[`` for ESC), DEL and
    the C1 controls as ``\\u009b``. JSON text keeps its meaning: ``json.dumps`` never leaves a C0
    control raw, and a C1 control becomes the very escape that decodes to it.
    """
    if text.isprintable() or not _control_rx().search(text):
        return text
    return _control_rx().sub(_visible, text)


class TerminalSafeStream:
    """A text stream that writes through ``terminal_safe`` (the CLI's standard output)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text) -> int:
        if isinstance(text, str):
            self._stream.write(terminal_safe(text))
        else:
            self._stream.write(text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def writable(self) -> bool:
        return True

    def __getattr__(self, name):  # encoding, errors, flush, fileno, isatty, buffer...
        if name == "buffer":  # bytes written around this object would skip the check
            raise AttributeError(name)
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Make every later write to ``sys.stdout`` and ``sys.stderr`` terminal-safe (the CLI's
    human output, and its errors, which may name stored projects or sessions)."""
    import sys

    if sys.stdout is not None and not isinstance(sys.stdout, TerminalSafeStream):
        sys.stdout = TerminalSafeStream(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, TerminalSafeStream):
        sys.stderr = TerminalSafeStream(sys.stderr)


def raw(stream):
    """The stream under a ``TerminalSafeStream``: for a progress bar, whose own CR must
    reach the terminal (it writes no stored text)."""
    return stream._stream if isinstance(stream, TerminalSafeStream) else stream
