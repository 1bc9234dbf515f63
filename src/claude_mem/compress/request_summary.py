"""The heuristic's request summary: what one request did, read back from its observations.

Contract: ``summarize(ctx, last_message, observations) -> Summary``, deterministic, no I/O.
It is built from its observations and the model's final reply:
edits merged per file with the symbols they touched, the last outcome of each check,
commits, failures a later step fixed (learned, with the fix) apart from those still
open (next steps), the user's decisions, and the final reply itself (``notes``, bounded),
which a later trivial reply (an answer to a ``<task-notification>``) does not overwrite.
The observations' tagged facts (``Command:``, ``Outcome:``, ``Cause:``, ``Commit:``, ...) are
written by the tool rules in ``heuristic``; ``facts`` holds what both sides share.
"""
from __future__ import annotations

import os
import re

from claude_mem.compress import extract
from claude_mem.compress.base import SessionContext
from claude_mem.compress.facts import (CHECK_COMMAND, MUTATING_COMMANDS, READ_ONLY, code_span,
                                       core_command, dedupe, first_fact, is_failure)
from claude_mem.models import Summary
from claude_mem.text import one_line


def summarize(ctx: SessionContext, last_message: str, observations) -> Summary:
    """The summary of one request from its observations and the model's final reply."""
    observations = list(observations)
    files_read = dedupe(f for o in observations for f in o.get("files_read", []))
    files_edited = dedupe(f for o in observations for f in o.get("files_modified", []))
    fixed, unresolved = _failures(observations)
    reply = _best_reply(last_message, getattr(ctx, "previous_reply", "") or "")
    sentences = _sentences(reply)

    learned = []
    for failure, fix in fixed:
        if is_failure(fix):  # failed for another reason first
            learned.append(f"First: {_failure_line(failure)}")
            continue
        learned.append(_failure_line(failure) + f" → fixed: {code_span(first_fact(fix, 'Command') or fix['title'], 70)}")
    # A look that failed (``cat`` of a missing file) found something out; a failed
    # action (tests, build, push) nothing later fixed is still open.
    # (A look is also a fetch, a search or a read that failed: no command, nothing changed.)
    looks = [o for o in unresolved if READ_ONLY.match(core_command(first_fact(o, "Command")))
             or (o.get("tool_name") or first_fact(o, "Tool")) in LOOK_TOOLS]
    unresolved = [o for o in unresolved if o not in looks]
    learned += [_failure_line(o) for o in looks]
    learned += [f"Decided: {a}" for o in observations for a in _facts(o, "Answer")]
    # A problem a failure's line already quotes (a failed build's first error) is said once.
    told = learned + [_failure_line(o) for o in unresolved]
    learned += [p for p in _problems(observations)
                if not any(p.split("`: ", 1)[-1].removesuffix(" → fixed")[:60] in line for line in told)]
    # A lead-in ("This might make sense because:") announces a list; it says nothing.
    learned += [s for s in sentences if CAUSE_WORDS.search(s) and not s.rstrip().endswith(":")][:3]

    # Short, dense facts first (commits, outcomes, state changes), then the edits.
    completed = [f"Committed {_with_hash(first_fact(o, 'Commit'), observations[i:])}"
                 + (f" — {one_line(first_fact(o, 'Commit body'), 160)}" if first_fact(o, "Commit body") else "")
                 for i, o in enumerate(observations) if first_fact(o, "Commit")]
    completed += _outcomes(observations)
    completed += _notable_commands(observations)
    completed += _merged_edits(observations)
    if sentences and not completed:
        # The reply's first sentence with content: "Perfect." or "Ah, good point." is not
        # what came of the request.
        completed.append(next((x for x in sentences if not _interjection(x)), sentences[0]))

    looked = [o for o in observations if o.get("type") == "discovery" and not is_failure(o)
              and "command" not in o.get("concepts", [])]
    # Subagents' findings first, wherever they came in the request (work done out of
    # sight has no other summary), then the first looks, then the last commands' findings.
    delegated = [_finding(o) for o in looked if "subagent" in o.get("concepts", [])][:4]
    investigated = delegated + list(dedupe(_finding(o) for o in looked
                                           if "subagent" not in o.get("concepts", [])))[:4]
    investigated += [o["title"] for o in observations
                     if "command" in o.get("concepts", []) and o.get("type") == "discovery"
                     and not is_failure(o) and "test" not in o.get("concepts", [])][-3:]

    # What still fails first: a todo list's open items are often the same thing in
    # plan form, and the summary keeps only the first few steps.
    next_steps = [f"Still failing: {_failure_line(o)}" for o in unresolved]
    for obs in observations:
        if "todo" in obs.get("concepts", []):
            next_steps = next_steps[:len(unresolved)] + [
                f.split("] ", 1)[1] for f in obs.get("facts", []) if f.startswith(("[pending]", "[in_progress]"))]
    next_steps += [s for s in sentences if NEXT_WORDS.search(s) and s not in learned
                   and not any(_similar(s, step) for step in next_steps)][:2]

    request = _with_pasted_error(getattr(ctx, "request", "") or "")
    goal = getattr(ctx, "goal", "") or ""
    if goal and goal != request:
        request = f"{request.strip()} (continuing: {goal.strip()})" if request.strip() else goal
    return Summary(
        request=one_line(request or "(no prompt recorded)", 1000),
        investigated=_join(dedupe(investigated), 10),
        learned=_join(dedupe(learned), 8),
        completed=_join(dedupe(completed), 18),
        next_steps=_join(dedupe(next_steps), 5),
        notes=_bounded_reply(reply),
        files_read=files_read[:30],
        files_edited=files_edited[:30],
    )


# Tools that only look: one that failed found something out (a page refused, a file
# missing), like a failed ``cat``; it is not work left open.
LOOK_TOOLS = frozenset({"WebFetch", "WebSearch", "Read", "Grep", "Glob", "LS", "NotebookRead"})

CAUSE_WORDS = re.compile(
    r"\b(cause|because|root|turns? out|due to|the (bug|problem|issue)|was (computing|using|missing)|"
    r"found that|learned|means|instead of|so that|which is why|the reason)\b", re.I)


NEXT_WORDS = re.compile(
    r"\b(next|follow-?up|todo|to do|still|remaining|left on|pending|should|want me to|later|"
    r"not yet|when you)\b", re.I)


NOTES_LIMIT = 2400

# Patterns used once per request summary, compiled once.
_RULE_OR_FENCE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$|^\s*(```|~~~)\w*\s*$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")


def _facts(obs, tag: str) -> list[str]:
    prefix = tag + ": "
    return [f[len(prefix):] for f in obs.get("facts", []) if f.startswith(prefix)]


def _command_key(command: str) -> str:
    """Two runs are "the same step" when their core command starts alike (``git push``)."""
    words = [w for w in core_command(command).split() if not w.startswith("-")]
    return " ".join(words[:2])


def _with_pasted_error(request: str, head: int = 240) -> str:
    """A prompt that pastes a long log keeps its start and the log's telling error line
    (which a one-line rendering of the request would otherwise cut away)."""
    if len(request) <= 2 * head:
        return request
    lines = request.splitlines()
    why = extract.cause(lines)
    if not why or why in request[:head] or not _looks_like_log(lines):
        return request  # a long request in words ("if the tests fail, …") is kept as it is
    return f"{request[:head].rstrip()} … {why}"


def _looks_like_log(lines) -> bool:
    """Most lines carry figures inside them (times, sizes, counts, line numbers), as a tool's
    output does; a list of instructions numbers its lines at their start only."""
    body = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line) for line in lines if line.strip()]
    with_figures = [line for line in body if re.search(r"\d", line)]
    return len(body) >= 6 and len(with_figures) >= len(body) / 2


def _finding(obs) -> str:
    """What a look found: its title; a subagent's with more of its report, since the
    report is all that is left of work done out of sight."""
    if "subagent" not in obs.get("concepts", []):
        return obs["title"]
    title = obs["title"]
    more = [one_line(f, 120) for f in obs.get("facts", [])[1:] if f and f[:40] not in title][:3]
    return title + (": " + "; ".join(more) if more else "")


def _failure_line(obs) -> str:
    title = obs["title"]
    why = first_fact(obs, "Cause")
    # The title may hold the cause cut short ("… error TS2322: Type '"press"' is not…"):
    # repeating it adds nothing.
    shown = why and (why in title or why[:60] in title)
    return title + (f" — {one_line(why, 160)}" if why and not shown else "")


def _step_key(obs) -> str:
    command = first_fact(obs, "Command")
    if command:
        return "cmd:" + _command_key(command)
    files = list(obs.get("files_modified") or []) or list(obs.get("files_read") or [])
    tool = obs.get("tool_name") or first_fact(obs, "Tool")
    return f"{tool}:{files[0] if files else obs['title']}"


def _failures(observations) -> tuple[list, list]:
    """(failure, the later step that fixed it) pairs, and failures nothing later fixed.

    A failure is superseded when a later step of the same kind succeeded: the same command
    (``git push`` → ``git push --set-upstream …``), or an edit/write of the same file after
    a failed edit of it.
    """
    fixed, open_ = [], []
    for i, obs in enumerate(observations):
        if not is_failure(obs):
            continue
        key = _step_key(obs)
        first_command = bool(first_fact(obs, "Command"))
        later = [o for o in observations[i + 1:] if _step_key(o) == key
                 or (key.split(":", 1)[0] in ("Edit", "Write", "MultiEdit", "apply_patch")
                     and key.split(":", 1)[1] in (o.get("files_modified") or []))]
        fix = next((o for o in later if not is_failure(o)), None)
        if fix is not None:
            fixed.append((obs, fix))
        elif later:
            # A later attempt failed too: that one speaks for both, unless this one failed
            # for another reason (the first obstacle, got past, is knowledge of its own).
            why = first_fact(obs, "Cause")
            if why and first_command and all(first_fact(o, "Cause") != why for o in later if is_failure(o)):
                fixed.append((obs, next(o for o in later if is_failure(o))))
            continue
        else:
            open_.append(obs)
    # Edit-tool hiccups fixed by a retry are noise; failed commands and their fix are knowledge.
    fixed = [(f, fix) for f, fix in fixed if first_fact(f, "Command")]
    return fixed, open_


def _merged_edits(observations) -> list[str]:
    """One line per file: created/edited, how often, and the symbols it touched."""
    order: list[str] = []
    info: dict[str, dict] = {}
    for obs in observations:
        if not obs.get("files_modified") or "command" in obs.get("concepts", []):
            continue
        for path in obs["files_modified"]:
            entry = info.setdefault(path, {"created": False, "edits": 0, "names": [], "title": obs["title"],
                                           "change": ""})
            entry["change"] = entry["change"] or first_fact(obs, "Change")
            entry["content"] = _facts(obs, "Content") or entry.get("content") or []
            if path not in order:
                order.append(path)
            entry["edits"] += 1
            entry["created"] = entry["created"] or "created" in obs.get("concepts", [])
            for part in first_fact(obs, "Symbols").split(", "):
                if part and not part.startswith("+") and part not in entry["names"]:
                    entry["names"].append(part)
            if not entry["names"] and obs.get("subtitle") and "write" in obs.get("concepts", []):
                entry["subtitle"] = obs["subtitle"]
    lines = []
    for path in order:
        entry = info[path]
        if entry.get("content"):  # a document written: what it says, in its own lines
            said = "; ".join(c.rstrip(" ;") for c in entry["content"][:2])
            lines.append(entry["title"] + " — " + one_line(said, 200))
            continue
        if entry["edits"] == 1 and not entry["names"]:
            lines.append(entry["title"])
            continue
        verb = "Created" if entry["created"] else "Edited"
        count = f" ({entry['edits']} edits)" if entry["edits"] > 1 else ""
        names = entry["names"]
        detail = ", ".join(names[:8]) + (f", +{len(names) - 8} more" if len(names) > 8 else "")
        change = f" ({entry['change']})" if entry["change"] and entry["edits"] <= 3 and not entry["created"] else ""
        lines.append(f"{verb} {path}{count}" + (f": {detail}" if detail else
                                               (f" — {entry['subtitle']}" if entry.get("subtitle") else "")) + change)
    return lines


def _problems(observations, limit: int = 4) -> list[str]:
    """Diagnostics a check printed; those whose file was edited afterwards (fixed) first,
    then those with a place, then one finding a check printed without one (a credo
    suggestion: its place is on another line)."""
    fixed, seen, placeless, files, told = [], [], [], set(), set()
    for i, obs in enumerate(observations):
        command = core_command(first_fact(obs, "Command"))
        for problem in _facts(obs, "Problem"):
            # ``path:line`` or tsc's ``path(line,col)``
            path = re.match(r"\s*([\w./-]+\.\w+)(?::\d+|\(\d+,)", problem)
            if path and path.group(1) in files:
                continue  # one problem per file says where; the index has the rest
            files.add(path.group(1) if path else problem)
            line = f"{code_span(command, 40)}: {problem}"
            later_edit = path and any(
                any(f.endswith(path.group(1).lstrip("./")) or path.group(1).endswith(f)
                    for f in o.get("files_modified") or []) for o in observations[i + 1:])
            if later_edit:
                fixed.append(line + " → fixed")
            elif path:
                seen.append(line)
            elif command not in told:
                told.add(command)
                placeless.append(f"{code_span(command, 40)}: {problem.lstrip('┃│|> ')}")
    return list(dedupe(fixed + seen + placeless))[:limit]


def _with_hash(commit: str, later) -> str:
    """A commit known by its message only (``git commit -q``): the hash a later ``git log``
    printed for that message, when there is one."""
    if re.match(r"^[0-9a-f]{7,40} ", commit):
        return commit
    for obs in later:
        for fact in obs.get("facts", []):
            match = re.match(r"^([0-9a-f]{7,40}) (.+)$", fact.strip())
            if match and match.group(2).strip().startswith(commit[:60]):
                return f"{match.group(1)} {commit}"
    return commit


def _outcomes(observations) -> list[str]:
    """The last outcome of each distinct check command (test, build, lint)."""
    last: dict[str, str] = {}
    for obs in observations:
        result = first_fact(obs, "Outcome")
        command = first_fact(obs, "Command")
        if not command and not result:
            continue
        key = core_command(command) if command else "Read " + os.path.basename(
            (obs.get("files_read") or [obs["title"]])[0])
        last.pop(key, None)  # a later run of the same check replaces what an earlier one said
        if result and not is_failure(obs):  # a failing last run is a next step, not done
            last[key] = f"{code_span(key, 60)}: {result}"
    return list(last.values())[-4:]


def _notable_commands(observations) -> list[str]:
    """State-changing commands (not tests, not git add/commit, not reads) and what they said."""
    out = []
    for obs in observations:
        command = first_fact(obs, "Command")
        if (not command or is_failure(obs) or first_fact(obs, "Outcome") or first_fact(obs, "Commit")
                or "test" in obs.get("concepts", [])):
            continue
        core = core_command(command)
        if READ_ONLY.match(core) or re.match(r"^git\s+(add|stash|checkout|status)\b", core):
            continue
        said = first_fact(obs, "Output")
        if CHECK_COMMAND.search(core) and not extract.conclusive(said):
            continue  # a check that printed no outcome: its problems are listed elsewhere
        if not said and not MUTATING_COMMANDS.match(core):
            continue
        if said and _echoes(said, core):
            said = ""  # ``bd close X --reason="…"`` → "✓ Closed X: …": the command said it
        out.append(f"Ran {code_span(core, 90)}" + (f" → {one_line(said, 100)}" if said else ""))
    return list(dedupe(out))[-8:]


def _echoes(said: str, command: str) -> bool:
    """Most words of what a command printed (an id it made is new) are its own arguments."""
    words = _words(said)
    return len(words) >= 4 and len(words & _words(command)) >= 0.8 * len(words)


def _best_reply(new: str, previous: str) -> str:
    """The request's best summary: a trivial later reply must not replace a substantive one."""
    new, previous = str(new or "").strip(), str(previous or "").strip()
    if previous and len(previous) >= 200 and len(new) < max(200, len(previous) // 3):
        # Kept, with the short afterword (it may still say something: "all 15 tests pass").
        return previous if not new or new in previous else f"{previous}\n(then) {new}"
    return new or previous


def _bounded_reply(reply: str) -> str:
    """The final reply kept as notes: blank lines and table rules squeezed, then bounded."""
    lines = []
    for line in str(reply or "").splitlines():
        # Blank lines, table rules and code fences cost budget and say nothing.
        if not line.strip() or _RULE_OR_FENCE.match(line):
            continue
        lines.append(line.rstrip())
    text = "\n".join(lines)
    if len(text) > NOTES_LIMIT:
        text = text[: NOTES_LIMIT - 1].rsplit("\n", 1)[0] if "\n" in text[:NOTES_LIMIT] else text[:NOTES_LIMIT - 1]
        text += "…"
    return text


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9_.]{3,}", text.lower())}


def _similar(a: str, b: str) -> bool:
    """Most of the shorter text's words appear in the other: the same point said twice."""
    wa, wb = _words(a), _words(b)
    small = min(len(wa), len(wb))
    return small > 0 and len(wa & wb) / small >= 0.6


_INTERJECTION = re.compile(r"^(perfect|great|excellent|done|ok(ay)?|sure|yes|no|ah|oh|hmm|right|alright|"
                          r"good|nice|got it|you'?re (right|not wrong)|absolutely|exactly)\b", re.I)


def _interjection(sentence: str) -> bool:
    """A short sentence that only reacts ("Perfect!", "Ah, this is a crucial decision.")."""
    return len(sentence) < 60 and bool(_INTERJECTION.match(sentence.strip("*_ ")))


def _plain(markdown: str) -> str:
    # Bold only: "__" is too common in code (``__init__.py``) to treat as markup.
    return _BOLD.sub(r"\1", str(markdown or "")).strip()


def _sentences(markdown: str) -> list[str]:
    out = []
    for line in _plain(markdown).splitlines():
        line = line.strip().lstrip("-*• ").strip()
        if not line or line.startswith("#") or line.startswith("|"):
            continue
        for part in _SENTENCE_BREAK.split(line):
            part = part.strip()
            if len(part) > 3:
                out.append(one_line(part, 300))
    return out


def _join(items, limit: int) -> str:
    items = list(items)[:limit]
    return "\n".join(f"- {item}" for item in items)
