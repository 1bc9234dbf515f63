"""The offline compressor: deterministic observations and summaries from the events alone.

Contract: no network, no dependency, same input → same output. Every tool event that is
not skipped by rule (``settings.skip_tools``) yields one observation whose title a person
would write, with the files read/modified as paths relative to the project, and — for
shell commands — the command itself and whether it failed, so every command and every
file touched is findable by full-text search. A request's summary is built from its
observations and the assistant's last reply.
"""
from __future__ import annotations

import json
import os
import re

from claude_mem.compress.base import SessionContext, relative_path
from claude_mem.models import Observation, Produced, Summary

BUG_WORDS = re.compile(
    r"\b(fix\w*|bugs?|wrong|broken|errors?|fail\w*|crash\w*|regress\w*|incorrect|issue)\b", re.I)
REFACTOR_WORDS = re.compile(r"\b(refactor\w*|renam\w*|clean\s*up|extract\w*|simplif\w*|reorgani[sz]\w*|move)\b", re.I)
FEATURE_WORDS = re.compile(r"\b(add\w*|implement\w*|creat\w*|support\w*|new|introduc\w*|build)\b", re.I)
DOC_FILE = re.compile(r"(\.(md|rst|txt|adoc)$|(^|/)(CHANGELOG|README|LICENSE|NOTICE|AUTHORS)[^/]*$)", re.I)
DEFINITION = re.compile(
    r"^\s*(?:export\s+)?(?:async\s+)?(?:def|class|function|fn|func|interface|struct|enum|type)\s+"
    r"([A-Za-z_][A-Za-z0-9_]*)")
ERROR_LINE = re.compile(
    r"(^E\s{2,}|Error\b|Exception\b|Traceback|^FAILED\b|\berror:|^fatal:|No such file|"
    r"command not found|Permission denied|not found|cannot |can't |\bpanic)", re.I)
TEST_SUMMARY = re.compile(
    r"(\d+ (passed|failed|errors?|skipped)\b.*|Tests?:\s+.*|Ran \d+ tests?.*|"
    r"test result: .*|OK \(\d+ tests?\)|FAILED \(.*\))", re.I)
EXIT_CODE = re.compile(r"^Exit code (\d+)", re.I)
REDIRECT = re.compile(r"(?<![<>&\d])>>?\s*([^\s;&|<>]+)")
MUTATING_COMMANDS = re.compile(
    r"^(git\s+(commit|push|merge|rebase|reset|checkout|switch|add|rm|mv|tag|stash|apply|cherry-pick)|"
    r"rm|mv|cp|mkdir|touch|chmod|chown|ln|sed\s+-i|tee|pip\d*\s+install|uv\s+(add|pip)|"
    r"npm\s+(i|install|uninstall)|yarn\s+add|pnpm\s+add|poetry\s+add|cargo\s+add|make|patch)\b")
CAUSE_WORDS = re.compile(
    r"\b(cause|because|root|turns? out|due to|the (bug|problem|issue)|was (computing|using|missing)|"
    r"found that|learned|means)\b", re.I)
NEXT_WORDS = re.compile(
    r"\b(next|follow-?up|todo|to do|still|remaining|left on|pending|should|want me to|later|"
    r"not yet|when you)\b", re.I)

LIST_LIMIT = 12


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _code(text: str, limit: int = 80) -> str:
    return "`" + _short(text, limit).replace("`", "'") + "`"


def _dedupe(items) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in str(text or "").splitlines() if line.strip()]


class HeuristicCompressor:
    name = "heuristic"

    def __init__(self, settings=None):
        self.skip_tools = set(getattr(settings, "skip_tools", None) or ())

    # -- paths -----------------------------------------------------------------------

    # A path as a person names it (shared with the LLM compressor, which owns no copy).
    rel = staticmethod(relative_path)

    # -- interface -------------------------------------------------------------------

    def observe(self, ctx: SessionContext, events) -> Produced:
        observations = []
        failures_so_far = any(_is_failure(o) for o in ctx.earlier)
        for event in events:
            if event.tool_name in self.skip_tools:
                continue
            obs = self.observe_one(ctx, event, failures_so_far)
            if obs is not None:
                observations.append(obs)
                failures_so_far = failures_so_far or event.failed
        return Produced(observations=tuple(observations), generated_by=self.name)

    def summarize(self, ctx: SessionContext, last_assistant_message: str, observations) -> Produced:
        return Produced(summary=self.summary_for(ctx, last_assistant_message, observations),
                        generated_by=self.name)

    def finalize(self, ctx: SessionContext, reason: str) -> None:
        return None

    def close(self) -> None:
        return None

    # -- observations ----------------------------------------------------------------

    def _change_type(self, ctx: SessionContext, path: str, failures_so_far: bool) -> str:
        if path and DOC_FILE.search(path):
            return "change"
        request = ctx.request or ""
        if failures_so_far or BUG_WORDS.search(request):
            return "bugfix"
        if REFACTOR_WORDS.search(request):
            return "refactor"
        if FEATURE_WORDS.search(request):
            return "feature"
        return "change"

    def observe_one(self, ctx: SessionContext, event, failures_so_far: bool = False):
        tool = event.tool_name
        data = event.tool_input or {}
        response = event.tool_response
        handler = getattr(self, "_" + re.sub(r"\W", "_", tool.lower()), None)
        if event.failed:
            obs = self._failure(ctx, event)
        elif handler is not None:
            obs = handler(ctx, data, response, failures_so_far)
        else:
            obs = self._generic(ctx, tool, data, response)
        if obs is None:
            return None
        return Observation(**{**obs, "tool_name": tool, "tool_use_id": event.tool_use_id})

    def _read(self, ctx, data, response, _):
        path = self.rel(data.get("file_path", ""), ctx)
        file = response.get("file", {}) if isinstance(response, dict) else {}
        content = file.get("content", "") if isinstance(file, dict) else ""
        total = file.get("totalLines") or file.get("numLines") if isinstance(file, dict) else None
        names = _dedupe(m.group(1) for m in map(DEFINITION.match, content.splitlines()) if m)
        facts = [f"Read {path}" + (f" ({total} lines)" if total else "")]
        if names:
            facts.append("Defines: " + ", ".join(names[:LIST_LIMIT]))
        subtitle = _first_comment(content)
        return dict(type="discovery", title=f"Read {path}", subtitle=subtitle, facts=tuple(facts),
                    files_read=(path,), concepts=("read",))

    def _grep(self, ctx, data, response, _):
        pattern = data.get("pattern", "")
        where = self.rel(data.get("path", ""), ctx)
        response = response if isinstance(response, dict) else {}
        content = str(response.get("content") or "")
        filenames = [self.rel(f, ctx) for f in response.get("filenames") or []]
        matches = _lines(content)
        for line in matches:
            head = line.split(":", 1)[0]
            if head and "." in head and " " not in head:
                filenames.append(self.rel(head, ctx))
        files = _dedupe(filenames)
        count = response.get("numLines") or response.get("numFiles") or len(matches) or len(files)
        subtitle = f"{count} match{'es' if count != 1 else ''}" + (
            ": " + ", ".join(files[:3]) if files else "") if count else "no matches"
        facts = [f"Searched for {_code(pattern)}" + (f" in {where}" if where not in ("", ".") else "")]
        facts += [_short(line, 200) for line in matches[:5]]
        return dict(type="discovery", title=f"Searched code for {_code(pattern, 60)}",
                    subtitle=subtitle, facts=tuple(facts), files_read=files[:LIST_LIMIT],
                    concepts=("search",))

    def _glob(self, ctx, data, response, _):
        pattern = data.get("pattern", "")
        response = response if isinstance(response, dict) else {}
        files = _dedupe(self.rel(f, ctx) for f in response.get("filenames") or [])
        count = response.get("numFiles", len(files))
        facts = (f"{count} files match {_code(pattern)}",) + tuple(files[:20])
        return dict(type="discovery", title=f"Listed files matching {_code(pattern, 60)}",
                    subtitle=f"{count} files", facts=facts, concepts=("search",))

    def _ls(self, ctx, data, response, _):
        path = self.rel(data.get("path", ""), ctx)
        return dict(type="discovery", title=f"Listed {path or 'directory'}",
                    facts=(_short(json.dumps(response, ensure_ascii=False), 400),))

    def _edit(self, ctx, data, response, failures_so_far):
        path = self.rel(data.get("file_path", ""), ctx)
        old = str(data.get("old_string", ""))
        new = str(data.get("new_string", ""))
        return self._edit_obs(ctx, path, [(old, new)], failures_so_far,
                              all_=bool(data.get("replace_all")))

    def _multiedit(self, ctx, data, response, failures_so_far):
        path = self.rel(data.get("file_path", ""), ctx)
        edits = [(str(e.get("old_string", "")), str(e.get("new_string", "")))
                 for e in data.get("edits") or [] if isinstance(e, dict)]
        return self._edit_obs(ctx, path, edits, failures_so_far)

    def _edit_obs(self, ctx, path, edits, failures_so_far, all_=False):
        facts = []
        for old, new in edits[:4]:
            for line in _lines(old)[:3]:
                facts.append("- " + _short(line.strip(), 160))
            for line in _lines(new)[:3]:
                facts.append("+ " + _short(line.strip(), 160))
        title = f"Edited {path}"
        if len(edits) == 1:
            old, new = edits[0]
            old_lines, new_lines = _lines(old), _lines(new)
            if len(old_lines) == 1 and len(new_lines) == 1:
                title += f": {_code(old_lines[0].strip(), 50)} → {_code(new_lines[0].strip(), 50)}"
        elif edits:
            title += f" ({len(edits)} changes)"
        if all_:
            facts.append("(every occurrence replaced)")
        return dict(type=self._change_type(ctx, path, failures_so_far), title=title,
                    subtitle=f"{len(edits)} change{'s' if len(edits) != 1 else ''} in {path}",
                    facts=tuple(facts), files_modified=(path,), concepts=("edit",))

    def _write(self, ctx, data, response, failures_so_far):
        path = self.rel(data.get("file_path", ""), ctx)
        content = str(data.get("content", ""))
        created = not (isinstance(response, dict) and response.get("type") == "update")
        lines = _lines(content)
        facts = [f"{'Created' if created else 'Rewrote'} {path} ({len(content.splitlines())} lines)"]
        facts += [_short(line.strip(), 160) for line in lines if line.lstrip().startswith("#")][:4]
        if len(facts) == 1:
            facts += [_short(line.strip(), 160) for line in lines[:3]]
        kind = self._change_type(ctx, path, failures_so_far)
        if created and kind == "change" and not DOC_FILE.search(path) and FEATURE_WORDS.search(ctx.request or ""):
            kind = "feature"
        return dict(type=kind, title=f"{'Created' if created else 'Rewrote'} {path}",
                    subtitle=_first_comment(content), facts=tuple(facts), files_modified=(path,),
                    concepts=("write",))

    def _notebookedit(self, ctx, data, response, failures_so_far):
        path = self.rel(data.get("notebook_path", ""), ctx)
        mode = data.get("edit_mode", "replace")
        source = _lines(data.get("new_source", ""))
        return dict(type=self._change_type(ctx, path, failures_so_far),
                    title=f"Edited notebook {path} ({mode} cell)",
                    facts=tuple("+ " + _short(s, 160) for s in source[:4]),
                    files_modified=(path,), concepts=("notebook",))

    def _bash(self, ctx, data, response, _):
        command = str(data.get("command", ""))
        response = response if isinstance(response, dict) else {"stdout": str(response or "")}
        out = str(response.get("stdout") or "")
        err = str(response.get("stderr") or "")
        lines = _lines(out) + _lines(err)
        summary = _test_summary(lines)
        outcome = f"passed: {summary}" if summary else "succeeded"
        if response.get("interrupted"):
            outcome = "was interrupted"
        title = f"{_code(command)} {outcome}"
        facts = [f"Command: {_short(command, 300)}", "Exit code 0"]
        if data.get("description"):
            facts.append(f"Purpose: {_short(data['description'], 160)}")
        facts += [_short(line, 200) for line in lines[-3:]]
        modified = _redirect_targets(command, ctx, self)
        kind = "change" if MUTATING_COMMANDS.match(command.strip()) or modified else "discovery"
        return dict(type=kind, title=title, subtitle=_short(data.get("description") or "", 120),
                    facts=tuple(_dedupe(facts)), files_modified=modified,
                    concepts=("command",))

    def _failure(self, ctx, event):
        data = event.tool_input or {}
        error = str(event.error or "")
        lines = _lines(error)
        code = None
        if lines and EXIT_CODE.match(lines[0]):
            code = EXIT_CODE.match(lines[0]).group(1)
            lines = lines[1:]
        summary = _test_summary(lines)
        # pytest prefixes assertion lines with "E   "; the marker is noise in a memory.
        errors = _dedupe(_short(re.sub(r"^E\s+", "", line.strip()), 200)
                         for line in lines if ERROR_LINE.search(line))
        if event.tool_name == "Bash":
            command = str(data.get("command", ""))
            what = _code(command)
            facts = [f"Command: {_short(command, 300)}"]
        else:
            target = data.get("file_path") or data.get("notebook_path") or data.get("path") or ""
            what = f"{event.tool_name}" + (f" of {self.rel(target, ctx)}" if target else "")
            facts = [f"Tool: {event.tool_name}"] + (
                [f"Input: {_short(json.dumps(data, ensure_ascii=False), 300)}"] if data else [])
        status = "was interrupted" if event.is_interrupt else (
            f"failed (exit code {code})" if code else "failed")
        title = f"{what} {status}"
        if summary:
            title += f": {summary}"
        elif errors:
            title += f": {_short(errors[-1], 100)}"
        elif lines:
            title += f": {_short(lines[-1], 100)}"
        if code:
            facts.append(f"Exit code {code}")
        facts += list(errors[:6]) or [_short(line, 200) for line in lines[-3:]]
        if summary:
            facts.append(summary)
        files = _dedupe(self.rel(m, ctx) for m in re.findall(r"([\w./-]+\.\w+):\d+", error))
        return dict(type="discovery", title=title, subtitle=_short(data.get("description") or "", 120),
                    facts=tuple(_dedupe(facts)), files_read=files[:LIST_LIMIT],
                    concepts=("command", "failure") if event.tool_name == "Bash" else ("failure",))

    def _todowrite(self, ctx, data, response, _):
        todos = [t for t in data.get("todos") or [] if isinstance(t, dict)]
        counts: dict[str, int] = {}
        for todo in todos:
            counts[todo.get("status", "pending")] = counts.get(todo.get("status", "pending"), 0) + 1
        parts = [f"{n} {status.replace('_', ' ')}" for status, n in counts.items()]
        facts = tuple(f"[{t.get('status', 'pending')}] {_short(t.get('content', ''), 200)}" for t in todos)
        return dict(type="decision", title="Todo list: " + (", ".join(parts) or "empty"),
                    facts=facts, concepts=("todo",))

    def _task(self, ctx, data, response, _):
        description = data.get("description") or data.get("subagent_type") or "a subtask"
        text = _response_text(response)
        return dict(type="discovery", title=f"Delegated: {_short(description, 100)}",
                    subtitle=_short(data.get("subagent_type") or "", 60),
                    facts=tuple(_short(line, 200) for line in _lines(text)[:5]),
                    concepts=("subagent",))

    _agent = _task

    def _webfetch(self, ctx, data, response, _):
        url = data.get("url", "")
        return dict(type="discovery", title=f"Fetched {_short(url, 120)}",
                    subtitle=_short(data.get("prompt", ""), 120),
                    facts=tuple(_short(line, 200) for line in _lines(_response_text(response))[:5]),
                    concepts=("web",))

    def _websearch(self, ctx, data, response, _):
        query = data.get("query", "")
        return dict(type="discovery", title=f"Searched the web for {_code(query, 80)}",
                    facts=tuple(_short(line, 200) for line in _lines(_response_text(response))[:5]),
                    concepts=("web",))

    def _exitplanmode(self, ctx, data, response, _):
        plan = _lines(data.get("plan", ""))
        return dict(type="decision", title="Plan: " + _short(plan[0].lstrip("# ") if plan else "", 100),
                    facts=tuple(_short(line, 200) for line in plan[:8]), concepts=("plan",))

    def _generic(self, ctx, tool, data, response):
        facts = []
        if data:
            facts.append("Input: " + _short(json.dumps(data, ensure_ascii=False, default=str), 300))
        text = _response_text(response)
        if text:
            facts.append("Result: " + _short(text, 300))
        target = data.get("file_path") or data.get("path") or ""
        return dict(type="discovery", title=f"Used {tool}" + (f" on {self.rel(target, ctx)}" if target else ""),
                    facts=tuple(facts), concepts=("tool",))

    # -- summaries -------------------------------------------------------------------

    def summary_for(self, ctx: SessionContext, last_message: str, observations) -> Summary:
        observations = list(observations)
        files_read = _dedupe(f for o in observations for f in o.get("files_read", []))
        files_edited = _dedupe(f for o in observations for f in o.get("files_modified", []))
        investigated = [o["title"] for o in observations
                        if o.get("type") == "discovery" and not _is_failure(o)]
        failures = [o for o in observations if _is_failure(o)]
        changes = [o["title"] for o in observations
                   if o.get("type") in ("bugfix", "feature", "refactor", "change")]
        passed = [o["title"] for o in observations
                  if "command" in o.get("concepts", []) and " passed" in o["title"]]
        sentences = _sentences(last_message)

        learned = []
        for failure in failures:
            detail = [f for f in failure.get("facts", []) if ERROR_LINE.search(f)]
            extra = detail[0] if detail and detail[0] not in failure["title"] else ""
            learned.append(failure["title"] + (f" — {extra}" if extra else ""))
        learned += [s for s in sentences if CAUSE_WORDS.search(s)][:3]

        completed = changes + [p for p in passed if p not in changes]
        if sentences and not completed:
            completed.append(sentences[0])

        next_steps = []
        for obs in observations:
            if "todo" in obs.get("concepts", []):
                next_steps = [f[len("[pending] "):] if f.startswith("[pending] ") else f[len("[in_progress] "):]
                              for f in obs.get("facts", [])
                              if f.startswith(("[pending]", "[in_progress]"))]
        unresolved = _unresolved_failures(observations)
        next_steps += [f"Still failing: {title}" for title in unresolved]
        next_steps += [s for s in sentences if NEXT_WORDS.search(s) and s not in learned
                       and not any(_similar(s, step) for step in next_steps)][:2]

        return Summary(
            request=_short(ctx.request or "(no prompt recorded)", 1000),
            investigated=_join(investigated, 6),
            learned=_join(_dedupe(learned), 5),
            completed=_join(_dedupe(completed), 6),
            next_steps=_join(_dedupe(next_steps), 5),
            notes=_short(_plain(last_message), 700),
            files_read=files_read[:30],
            files_edited=files_edited[:30],
        )


# -- helpers ---------------------------------------------------------------------------


def _is_failure(obs) -> bool:
    concepts = obs.get("concepts", []) if isinstance(obs, dict) else obs.concepts
    return "failure" in concepts


def _unresolved_failures(observations) -> list[str]:
    """Failed commands with no later successful run of the same command."""
    last: dict[str, tuple[bool, str]] = {}
    for obs in observations:
        if "command" not in obs.get("concepts", []):
            continue
        command = next((f[len("Command: "):] for f in obs.get("facts", []) if f.startswith("Command: ")), "")
        if command:
            last[command] = (_is_failure(obs), obs["title"])
    return [title for failed, title in last.values() if failed]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9_.]{3,}", text.lower())}


def _similar(a: str, b: str) -> bool:
    """Most of the shorter text's words appear in the other: the same point said twice."""
    wa, wb = _words(a), _words(b)
    small = min(len(wa), len(wb))
    return small > 0 and len(wa & wb) / small >= 0.6


def _test_summary(lines: list[str]) -> str:
    for line in reversed(lines):
        match = TEST_SUMMARY.search(line)
        if match:
            return _short(match.group(0).strip(" =").strip(), 100)
    return ""


def _redirect_targets(command: str, ctx, compressor) -> tuple[str, ...]:
    targets = [t for t in REDIRECT.findall(command) if t not in ("/dev/null", "&1", "&2")]
    for match in re.finditer(r"\b(?:touch|tee(?:\s+-a)?)\s+([^\s;&|<>]+)", command):
        targets.append(match.group(1))
    return _dedupe(compressor.rel(os.path.join(ctx.cwd, t) if ctx.cwd and not os.path.isabs(t) else t, ctx)
                   for t in targets)


def _first_comment(content: str) -> str:
    for line in content.splitlines()[:5]:
        stripped = line.strip().strip('"\'').strip()
        if line.strip().startswith(('"""', "'''", "#", "//", "/*")):
            text = stripped.lstrip("#/*! ").rstrip("*/ ").strip('"\'').strip()
            if text and not text.startswith("!"):
                return _short(text, 140)
        elif stripped:
            return ""
    return ""


def _response_text(response) -> str:
    if response is None:
        return ""
    if isinstance(response, str):
        return response
    if isinstance(response, dict):
        for key in ("result", "content", "output", "text", "stdout"):
            value = response.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list):
                texts = [b.get("text", "") for b in value if isinstance(b, dict)]
                if any(texts):
                    return "\n".join(texts)
    return json.dumps(response, ensure_ascii=False, default=str)


def _plain(markdown: str) -> str:
    # Bold only: "__" is too common in code (``__init__.py``) to treat as markup.
    return re.sub(r"\*\*(.+?)\*\*", r"\1", str(markdown or "")).strip()


def _sentences(markdown: str) -> list[str]:
    out = []
    for line in _plain(markdown).splitlines():
        line = line.strip().lstrip("-*• ").strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"(?<=[.!?])\s+(?=[A-Z`])", line):
            part = part.strip()
            if len(part) > 3:
                out.append(_short(part, 300))
    return out


def _join(items, limit: int) -> str:
    items = list(items)[:limit]
    return "\n".join(f"- {item}" for item in items)
