"""Prompts for the LLM compressor back-ends (Agent SDK, Messages API, OpenAI-compatible).

Contract: pure functions that return ``str``; standard library only; no I/O;
they never raise on odd event data (missing keys, non-JSON values). The XML
formats spelled out here are exactly what ``compress.xmlparse`` reads.

- ``system_prompt()`` — role, what to record and skip, types, formats, privacy.
- ``init_prompt(project, request, prompt_number)`` — a new user request began.
- ``events_prompt(events, max_chars=4000)`` — a batch of tool events; each
  event's input + output + error is cut to ``max_chars`` (head and tail kept,
  with a ``[... N chars truncated ...]`` marker) and asks for ``<observation>``s.
- ``summary_prompt(request, last_assistant_message, observations)`` — asks for
  exactly one ``<summary>``.
- ``finalize_prompt(reason)`` — the session is ending; one last summary or ``<skip/>``.

These are sent many times per session, so they stay short: the system prompt
carries the formats once and the per-turn prompts only remind.
"""
from __future__ import annotations

import json

from claude_mem.text import one_line as _one_line, truncate

__all__ = [
    "OBSERVATION_FORMAT",
    "SUMMARY_FORMAT",
    "TYPE_DESCRIPTIONS",
    "system_prompt",
    "init_prompt",
    "events_prompt",
    "summary_prompt",
    "finalize_prompt",
    "truncate",
]

DEFAULT_MAX_CHARS = 4000
MAX_LISTED_OBSERVATIONS = 40

TYPE_DESCRIPTIONS = (
    ("bugfix", "something was broken and now works; say what caused it"),
    ("feature", "a new capability or behaviour was added"),
    ("refactor", "code was restructured; behaviour is unchanged"),
    ("change", "any other modification: config, dependencies, docs, tests"),
    ("discovery", "something was learned about how the system works or why it fails; nothing changed"),
    ("decision", "a choice between options was made; say why and what was rejected"),
)

OBSERVATION_FORMAT = """\
<observation>
  <type>bugfix | feature | refactor | change | discovery | decision</type>
  <title>headline, under 80 characters</title>
  <subtitle>one sentence of context</subtitle>
  <facts>
    <fact>one concrete, self-contained fact: names, paths, commands, values, error text</fact>
  </facts>
  <narrative>a few sentences: what happened, why, and how it works now</narrative>
  <concepts><concept>keyword</concept></concepts>
  <files_read><file>path/relative/to/project</file></files_read>
  <files_modified><file>path/relative/to/project</file></files_modified>
</observation>"""

SUMMARY_FORMAT = """\
<summary>
  <request>the goal the user asked for, in one sentence (for "continue": the goal it continues)</request>
  <investigated>what was looked at</investigated>
  <learned>what was found out about the code or the problem</learned>
  <completed>what was done and now works</completed>
  <next_steps>what is left open or planned</next_steps>
  <notes>Claude's final reply, condensed: names, outcomes, what is still open</notes>
  <files_read><file>path</file></files_read>
  <files_edited><file>path</file></files_edited>
</summary>"""

_SKIP_RULE = "Reply with nothing but the XML; if nothing is worth recording, reply <skip/>."


def system_prompt() -> str:
    """The standing instructions for the recorder model."""
    types = "\n".join(f"- {name}: {text}" for name, text in TYPE_DESCRIPTIONS)
    return f"""\
You are claude-mem's memory recorder. You watch a developer's Claude Code session: \
you are shown each user request and the tools Claude ran, with their inputs, outputs \
and errors. You write short, durable notes so that a later session can pick up where \
this one left off. You have no tools and never act on the project: you only write XML.

Record what a teammate would want to know next week:
- names: the modules, classes and functions created or changed, and where
- causes: the error line that says what went wrong (not a hint or the last line), \
the root cause, and the fix
- outcomes in the tool's own words ("14 doctests, 410 tests, 0 failures", \
"test result: ok. 7 passed"), coverage; a run that printed failures failed even with exit 0
- commit hashes, branches pushed, the user's answers to questions, settled config values
- decisions and their reasons; follow-ups left open
Skip routine listing and navigation, reads where nothing was learned, and restating the \
request. Merge repeated steps on one file into one note. A failure fixed later in the same \
request is learned (with its fix), not open. <task-notification>, <system-reminder> and \
<local-command-stdout> are Claude Code's wrappers, not the user's words.

Types:
{types}

Write each observation as:
{OBSERVATION_FORMAT}

When asked for a summary of a request, write exactly one:
{SUMMARY_FORMAT}

Rules:
- XML only: no prose, no code fences. If nothing is worth recording, reply <skip/>.
- One observation per distinct thing learned or done; merge related events.
- Facts stand alone: name the file, function, command or value. Past tense, no filler.
- Leave out fields you have nothing for. Escape & < > in text as &amp; &lt; &gt;, or \
wrap code in <![CDATA[ ... ]]>.

Privacy:
- Never copy secrets (API keys, tokens, passwords, private keys, credentials in URLs), \
even when they appear in the events; name them instead ("the token in .env").
- Text shown as [REDACTED] or [private] stays exactly that; never guess what it hid."""


def init_prompt(project: str, request: str, prompt_number: int, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """A new user request started; tool events for it follow in later messages."""
    return (
        f"New request #{prompt_number} in project {_one_line(project) or '(unknown)'}:\n"
        f"<user_request>\n{truncate(str(request or '').strip(), max_chars)}\n</user_request>\n"
        "Tool events for it follow in later messages. "
        "If this message has no tool events, reply <skip/>."
    )


def events_prompt(events: list[dict], max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """A batch of tool events, each cut to ``max_chars``, asking for observations."""
    events = list(events or ())
    out = [f"Tool events ({len(events)}):"]
    last_cwd = last_prompt = None
    for n, ev in enumerate(events, 1):
        if not isinstance(ev, dict):
            ev = {"tool_name": "?", "tool_response": ev}
        attrs = [f'n="{n}"', f'tool="{_attr(ev.get("tool_name")) or "?"}"']
        # cwd and prompt number repeat across a batch: say them only when they change.
        prompt = ev.get("prompt_number")
        if prompt is not None and prompt != last_prompt:
            attrs.append(f'prompt="{_attr(prompt)}"')
            last_prompt = prompt
        cwd = ev.get("cwd")
        if cwd and cwd != last_cwd:
            attrs.append(f'cwd="{_attr(cwd)}"')
            last_cwd = cwd
        error = ev.get("error")
        if error:
            attrs.append('status="failed"')
        parts = {
            "input": _json(ev.get("tool_input")) if ev.get("tool_input") not in (None, {}, "") else "",
            "output": _render(ev.get("tool_response")),
            "error": error if isinstance(error, str) else _render(error),
        }
        fitted = _fit(parts, max_chars)
        body = []
        for key in ("input", "output", "error"):
            text = fitted[key]
            if text:
                sep = "\n" if "\n" in text else " "
                body.append(f"{key}:{sep}{text}")
        out.append(f"<event {' '.join(attrs)}>")
        out.extend(body)
        out.append("</event>")
    if not events:
        out.append("(none)")
    out.append("Write zero or more <observation> blocks for what is worth remembering "
               "from these events. " + _SKIP_RULE)
    return "\n".join(out)


def summary_prompt(request: str, last_assistant_message: str, observations: list,
                   max_chars: int = DEFAULT_MAX_CHARS, *, goal: str = "",
                   previous_reply: str = "") -> str:
    """Ask for exactly one <summary> of the request that just finished.

    ``observations`` are ``Observation`` records or the dicts the store
    returns; only type, title and files are shown. ``goal`` is the thread's earlier
    request when this one is only "continue"; ``previous_reply`` is the final reply an
    earlier summary of this request kept (a later one-line reply must not erase it).
    """
    obs = list(observations or ())
    lines = [_observation_line(o) for o in obs[:MAX_LISTED_OBSERVATIONS]]
    if len(obs) > MAX_LISTED_OBSERVATIONS:
        lines.append(f"- … and {len(obs) - MAX_LISTED_OBSERVATIONS} more")
    reply = truncate(str(last_assistant_message or "").strip(), max_chars) or "(none)"
    extra = ""
    if goal and goal.strip():
        extra += f"<thread_goal>\n{truncate(goal.strip(), max_chars // 2)}\n</thread_goal>\n"
    if previous_reply and previous_reply.strip():
        extra += ("<earlier_final_reply>\n" + truncate(previous_reply.strip(), max_chars)
                  + "\n</earlier_final_reply>\n(keep what it says unless the last reply replaces it)\n")
    return (
        "The request below has finished. Summarize it.\n"
        f"<user_request>\n{truncate(str(request or '').strip(), max_chars)}\n</user_request>\n"
        + extra +
        f"<claude_last_reply>\n{reply}\n</claude_last_reply>\n"
        "Observations recorded for it:\n" + ("\n".join(lines) if lines else "(none)") + "\n"
        "Reply with exactly one <summary> block (request, investigated, learned, completed, "
        "next_steps, notes, files_read, files_edited) and nothing else."
    )


def finalize_prompt(reason: str) -> str:
    """The session is ending: one last summary if some work is still unsummarized."""
    why = _one_line(reason)[:200] or "unknown"
    return (
        f"The Claude Code session is ending (reason: {why}). If work since the last "
        "summary has not been summarized yet, reply with one final <summary> covering it; "
        "otherwise reply <skip/>. XML only."
    )


# --- helpers ----------------------------------------------------------------


def _fit(parts: dict[str, str], budget: int) -> dict[str, str]:
    """Share ``budget`` characters among parts: short ones whole, long ones cut evenly."""
    out = dict(parts)
    remaining = max(int(budget), 0)
    pending = sorted((k for k in parts if parts[k]), key=lambda k: len(parts[k]))
    while pending:
        share = remaining // len(pending)
        key = pending.pop(0)
        out[key] = truncate(parts[key], share)
        remaining = max(remaining - len(out[key]), 0)
    return out


def _json(value) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # circular structures and the like
        return repr(value)


def _render(value, prefix: str = "", depth: int = 0) -> str:
    """Tool output for a model to read: strings raw (no JSON escaping of
    newlines), dicts flattened to ``key: value`` lines, empty values dropped."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and depth < 3:
        lines = []
        for key, item in value.items():
            if item is None or item == "" or item == [] or item == {}:
                continue
            name = f"{prefix}{key}"
            if isinstance(item, dict) and depth < 2:
                lines.append(_render(item, name + ".", depth + 1))
            elif isinstance(item, str):
                lines.append(f"{name}:\n{item}" if "\n" in item else f"{name}: {item}")
            else:
                lines.append(f"{name}: {_json(item)}")
        return "\n".join(line for line in lines if line)
    return _json(value)


def _observation_line(o) -> str:
    get = o.get if isinstance(o, dict) else (lambda k, d=None: getattr(o, k, d))
    files = _seq(get("files_modified", None)) or _seq(get("files_read", None))
    line = f"- [{_one_line(get('type', '') or 'change')}] {_one_line(get('title', '') or '')[:200]}"
    if files:
        line += " (" + ", ".join(_one_line(f) for f in files[:5]) + ("…" if len(files) > 5 else "") + ")"
    return line


def _seq(value) -> list:
    """A list field from a record: a tuple, or the JSON text a store may keep."""
    if not value:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _attr(value) -> str:
    return _one_line(value).replace('"', "'")[:300]
