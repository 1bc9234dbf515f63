"""The offline compressor: deterministic observations and summaries from the events alone.

Contract: no network, no dependency, same input → same output. Every tool event that is
not skipped (``settings.skip_tools``, and claude-mem's own MCP tools) yields one
observation whose title a person would write, with files as paths relative to the
project. Tool rules are registered explicitly in ``TOOL_RULES`` (one method per tool);
an unknown tool gets the generic rule.

What an observation keeps, beyond its title, is written as tagged facts that the summary
reads back (they are plain text, so search finds them too):
``Command:`` (the shell command), ``Outcome:`` (a test/build/lint result line in its
tool's own words), ``Cause:`` (the line that says what went wrong), ``Problem:``
(``path:line`` diagnostics printed by a run that exited 0), ``Commit:`` (hash and
subject), ``Commit body:`` (the message's body in a line), ``Symbols:`` (modules, classes, functions defined or changed), ``Answer:``
(the user's answer to the model's question), ``Output:`` (the first line a state-changing
command printed), ``Noted:`` (a problem line from anywhere in a long output: a warning in
the middle of a passing test run, the message under a TAP ``error:`` key, a logged error's
message field, a count of vulnerabilities; at most four, boilerplate repeated with other
details last), ``Names:`` (the names a subagent's report mentions that its kept lines do
not, up to 1,600 characters; 800 before round 13), ``Doc:`` (a written source file's whole
module doc when it says more than its first line, up to 300 characters, also below the
imports). These three were added in round 12 for issue 21's capture questions
(bench/recall_questions/capture.json); what a stored payload's cut keeps of its middle is
``privacy._middle_lines``. Round 13 added ``Figures:`` (a subagent report's lines that give a
figure with its unit, a file's length, a step's duration, that its kept lines do not, up to
400 characters), a read file's ``Defines:`` and a written file's ``Symbols:`` up to 400
characters of their definitions (was twelve), and a rustc warning's lint name
(``extract.lint_named``).

A request's summary (``summarize``) is ``request_summary``, which reads these facts back;
what both sides share is ``facts``; output parsing of test runners and compilers is in
``extract``. Long because its one concern is long: one rule per tool, each a method.
"""
from __future__ import annotations

import functools
import json
import os
import re

from claude_mem.compress import documents, extract, patches, request_summary
from claude_mem.compress.base import SessionContext, relative_path
from claude_mem.compress.facts import (CHECK_COMMAND, MUTATING_COMMANDS, READ_ONLY, code_span,
                                       core_command, dedupe, first_fact, is_failure)
from claude_mem.models import Produced, Summary, observation_of
from claude_mem.text import one_line

BUG_WORDS = re.compile(
    r"\b(fix\w*|bugs?|wrong|broken|errors?|fail\w*|crash\w*|regress\w*|incorrect|issue)\b", re.I)
REFACTOR_WORDS = re.compile(r"\b(refactor\w*|renam\w*|clean\s*up|extract\w*|simplif\w*|reorgani[sz]\w*|move)\b", re.I)
FEATURE_WORDS = re.compile(r"\b(add\w*|implement\w*|creat\w*|support\w*|new|introduc\w*|build)\b", re.I)
DOC_FILE = re.compile(r"(\.(md|rst|txt|adoc)$|(^|/)(CHANGELOG|README|LICENSE|NOTICE|AUTHORS)[^/]*$)", re.I)
TEST_RUNNER = re.compile(r"\b(test|tests|pytest|unittest|tox|nox|jest|vitest|mocha|rspec|phpunit|ctest|spec)\b")
EXIT_CODE = re.compile(r"^Exit code (\d+)", re.I)
REDIRECT = re.compile(r"(?<![<>&\d=-])>>?\s*([^\s;&|<>()'\"]+)")

LIST_LIMIT = 12
# What a read file's ``Defines:`` lists: its definitions, up to this many characters.
DEFINES_MAX, DEFINES_CHARS = 48, 400
# An output longer than this many lines gets its problem lines from anywhere (``Noted:``);
# a shorter one is read whole by the rules above (its first error lines and its tail).
NOTABLE_FROM = 6
# A test runner's line naming a failed test or file (Jest/Vitest "FAIL x", "● name",
# "✕ name", Mocha/TAP "not ok", Go "--- FAIL:").
FAILING_TEST = re.compile(r"^\s*(FAIL\s|●\s|✕\s|×\s|✗\s|not ok\b|--- FAIL:)")
# Patterns used once per tool event, compiled once (``re``'s own cache costs a look-up a call).
_SAVED_OUTPUT = re.compile(r"\.(output|log|txt|out)$")
_C_DIRECTIVE = re.compile(r"#(include|ifndef|ifdef|define|pragma|if|endif|import)\b")
_BISECT = re.compile(r"git\s+bisect\b")
_TEST_OUTCOME = re.compile(r"test|example|spec|passing", re.I)
_TOUCH_TEE = re.compile(r"\b(?:touch|tee(?:\s+-a)?)\s+([^\s;&|<>'\"]+)")


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in str(text or "").splitlines() if line.strip()]


def is_own_tool(tool: str) -> bool:
    """claude-mem's own MCP tools: recording them would be memory of the memory."""
    low = tool.lower()
    return low.startswith("mcp__") and ("claude-mem" in low or "claude_mem" in low)


class HeuristicCompressor:
    name = "heuristic"

    def __init__(self, settings=None):
        self.skip_tools = set(getattr(settings, "skip_tools", None) or ())
        # Explicit registry: tool name (lower case) → rule. Aliases share a rule.
        self.rules = {
            "read": self._read, "grep": self._grep, "glob": self._glob, "ls": self._ls,
            "edit": self._edit, "multiedit": self._multiedit, "write": self._write,
            "notebookedit": self._notebookedit, "bash": self._bash,
            "bashoutput": self._task_output, "taskoutput": self._task_output,
            "todowrite": self._todowrite, "task": self._task, "agent": self._task,
            "webfetch": self._webfetch, "websearch": self._websearch,
            "exitplanmode": self._exitplanmode, "askuserquestion": self._ask,
            # Codex CLI's tools (its adapter names shells "Bash"; these catch the rest).
            "apply_patch": functools.partial(patches.observe, self),
            "exec_command": self._codex_shell, "shell": self._codex_shell,
            "shell_command": self._codex_shell, "local_shell": self._codex_shell,
        }

    # -- paths -----------------------------------------------------------------------

    # A path as a person names it (shared with the LLM compressor, which owns no copy).
    rel = staticmethod(relative_path)

    # -- interface -------------------------------------------------------------------

    def observe(self, ctx: SessionContext, events) -> Produced:
        observations = []
        failures_so_far = any(is_failure(o) for o in ctx.earlier)
        for event in events:
            if event.tool_name in self.skip_tools or is_own_tool(event.tool_name):
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
        if event.failed:
            obs = self._failure(ctx, event)
        else:
            rule = self.rules.get(tool.lower())
            obs = (rule(ctx, data, response, failures_so_far) if rule is not None
                   else self._generic(ctx, tool, data, response))
        if obs is None:
            return None
        return observation_of({**obs, "tool_name": tool, "tool_use_id": event.tool_use_id})

    def _read(self, ctx, data, response, _):
        path = self.rel(data.get("file_path", ""), ctx)
        file = response.get("file", {}) if isinstance(response, dict) else {}
        content = file.get("content", "") if isinstance(file, dict) else ""
        total = file.get("totalLines") or file.get("numLines") if isinstance(file, dict) else None
        # Every definition of a long file up to ``DEFINES_CHARS``, not the first twelve: a
        # session reads a long module for the functions in its middle, and names them later.
        names = extract.symbols(content, path, limit=DEFINES_MAX) or _generic_definitions(content)
        facts = [f"Read {path}" + (f" ({total} lines)" if total else "")]
        result = extract.outcome(_lines(content)) if _SAVED_OUTPUT.search(path) else ""
        if result:  # a run's saved output (a background task's file, a CI log)
            facts.append(f"Outcome: {result}")
        if names:
            facts.append("Defines: " + _joined(names, DEFINES_CHARS))
        # What the file is (a manifest's package, a module's doc line, a page's heading)
        # goes in the title: the index shows titles, and it is often the thing asked later.
        identity = extract.manifest(content, path)
        if identity:
            facts.append(f"Package: {identity}")
        facts += extract.manifest_facts(content, path)
        if DOC_FILE.search(path) and not result:
            # A document read (a README, a design note, docs) says how the project works:
            # its headings, fact-bearing lines (names, versions, figures) and commands.
            facts += documents.headings(content, 6)
            facts += [f"Content: {line}" for line in extract.report_lines(content, limit=6)]
            facts += [c for c in (documents.commands(content),) if c]
        subtitle = _first_comment(content)
        what = identity or subtitle
        return dict(type="discovery", title=f"Read {path}" + (f" — {one_line(what, 90)}" if what else ""),
                    subtitle=subtitle, facts=tuple(facts), files_read=(path,), concepts=("read",))

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
        files = dedupe(filenames)
        count = response.get("numLines") or response.get("numFiles") or len(matches) or len(files)
        subtitle = f"{count} match{'es' if count != 1 else ''}" + (
            ": " + ", ".join(files[:3]) if files else "") if count else "no matches"
        facts = [f"Searched for {code_span(pattern)}" + (f" in {where}" if where not in ("", ".") else "")]
        facts += [one_line(line, 200) for line in matches[:5]]
        return dict(type="discovery", title=f"Searched code for {code_span(pattern, 60)}",
                    subtitle=subtitle, facts=tuple(facts), files_read=files[:LIST_LIMIT],
                    concepts=("search",))

    def _glob(self, ctx, data, response, _):
        pattern = data.get("pattern", "")
        response = response if isinstance(response, dict) else {}
        files = dedupe(self.rel(f, ctx) for f in response.get("filenames") or [])
        count = response.get("numFiles", len(files))
        facts = (f"{count} files match {code_span(pattern)}",) + tuple(files[:20])
        # Finding nothing is a finding ("no package.json here").
        title = (f"Listed files matching {code_span(pattern, 60)}" if count
                 else f"No files match {code_span(pattern, 60)}")
        return dict(type="discovery", title=title, subtitle=f"{count} files", facts=facts,
                    concepts=("search",))

    def _ls(self, ctx, data, response, _):
        path = self.rel(data.get("path", ""), ctx)
        return dict(type="discovery", title=f"Listed {path or 'directory'}",
                    facts=(one_line(json.dumps(response, ensure_ascii=False), 400),))

    def _edit(self, ctx, data, response, failures_so_far):
        path = self.rel(data.get("file_path", ""), ctx)
        old = str(data.get("old_string", ""))
        new = str(data.get("new_string", ""))
        original = response.get("originalFile") if isinstance(response, dict) else ""
        return self._edit_obs(ctx, path, [(old, new)], failures_so_far,
                              all_=bool(data.get("replace_all")), original=str(original or ""))

    def _multiedit(self, ctx, data, response, failures_so_far):
        path = self.rel(data.get("file_path", ""), ctx)
        edits = [(str(e.get("old_string", "")), str(e.get("new_string", "")))
                 for e in data.get("edits") or [] if isinstance(e, dict)]
        original = response.get("originalFile") if isinstance(response, dict) else ""
        return self._edit_obs(ctx, path, edits, failures_so_far, original=str(original or ""))

    def _edit_obs(self, ctx, path, edits, failures_so_far, all_=False, original=""):
        facts = []
        for old, new in edits[:4]:
            for line in _lines(old)[:3]:
                facts.append("- " + one_line(line.strip(), 160))
            for line in _lines(new)[:3]:
                facts.append("+ " + one_line(line.strip(), 160))
        names: list[str] = []
        removed: list[str] = []
        inside: list[tuple[str, str]] = []  # edits within a body: the line is the news
        for old, new in edits:
            defined = extract.symbols(new, path)
            gone = [n for n in extract.symbols(old, path) if n not in defined]
            names += defined
            removed += gone
            if not defined and not gone:
                # A change inside a body: the definition it sits in says where.
                around = extract.enclosing(original, old, path) if original else ""
                names += [around] if around else []
                inside.append((old, new))
        names = list(dedupe(names))
        removed = [n for n in dedupe(removed) if n not in names]
        title = f"Edited {path}"
        before, after = next((pair for pair in (extract.changed_line(o, n) for o, n in inside) if pair[0]),
                             ("", ""))
        if before:
            facts.insert(0, f"Change: {code_span(before, 70)} → {code_span(after, 70)}")
        if len(edits) == 1:
            old, new = edits[0]
            old_lines, new_lines = _lines(old), _lines(new)
            if len(old_lines) == 1 and len(new_lines) == 1:
                title += f": {code_span(old_lines[0].strip(), 50)} → {code_span(new_lines[0].strip(), 50)}"
            elif names or removed:
                title += ": " + _symbol_text(names, removed)
                if before and len(old_lines) <= 12:
                    title += f": {code_span(before, 50)} → {code_span(after, 50)}"
            elif before:  # a config, manifest or text block: the changed line is the news
                title += f": {code_span(before, 50)} → {code_span(after, 50)}"
        elif edits:
            title += f" ({len(edits)} changes)" + (": " + _symbol_text(names, removed) if names or removed else
                                                   f": {code_span(before, 50)} → {code_span(after, 50)}"
                                                   if before else "")
        if names or removed:
            facts.insert(0, "Symbols: " + _symbol_text(names, removed, limit=LIST_LIMIT))
        if DOC_FILE.search(path):
            # A document's new text (a section added to CLAUDE.md, notes) says what was
            # found or decided: its fact-bearing lines, beyond the first three kept above.
            added = "\n".join(line for old, new in edits for kept in (set(_lines(old)),)
                              for line in _lines(new) if line not in kept)
            facts += [f"Content: {line}" for line in extract.report_lines(added, limit=8)
                      if not any(line in f for f in facts)]
            # Its code blocks' commands, whole (the added lines alone may lack their fences).
            added_commands = documents.commands("\n".join(new for _, new in edits),
                                                known=documents.command_list("\n".join(old for old, _ in edits)))
            facts += [added_commands] if added_commands else []
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
        verb = "Created" if created else "Rewrote"
        facts = [f"{verb} {path} ({len(content.splitlines())} lines)"]
        names = extract.symbols(content, path, limit=DEFINES_MAX)
        if names:  # every definition up to ``DEFINES_CHARS``, as for a file read
            facts.append("Symbols: " + _joined(names, DEFINES_CHARS))
        is_doc = bool(DOC_FILE.search(path))
        headings = (documents.headings(content, 10) if is_doc else
                    [one_line(line.strip(), 160) for line in lines if line.lstrip().startswith("#")][:4])
        facts += headings if not names else []
        if is_doc:
            # A document the model wrote (a CLAUDE.md, a report, a plan) is its own summary
            # of what it found: its fact-bearing lines (names, versions, figures) and the
            # commands its code blocks give.
            facts += [f"Content: {line}" for line in extract.report_lines(content, limit=10)]
            facts += [c for c in (documents.commands(content),) if c]
        if len(facts) == 1:
            facts += [one_line(line.strip(), 160) for line in lines[:3]]
        patch = response.get("structuredPatch") if isinstance(response, dict) else None
        if not created and isinstance(patch, list):  # a rewrite: its patch says what changed
            old = "\n".join(l[1:] for h in patch if isinstance(h, dict) for l in h.get("lines") or []
                            if isinstance(l, str) and l[:1] in (" ", "-"))
            new = "\n".join(l[1:] for h in patch if isinstance(h, dict) for l in h.get("lines") or []
                            if isinstance(l, str) and l[:1] in (" ", "+"))
            before, after = extract.changed_line(old, new)
            if before:
                facts.insert(1, f"Change: {code_span(before, 70)} → {code_span(after, 70)}")
        kind = self._change_type(ctx, path, failures_so_far)
        if created and kind == "change" and not is_doc and FEATURE_WORDS.search(ctx.request or ""):
            kind = "feature"
        title = f"{verb} {path}" + (": " + ", ".join(names[:5]) if names else "")
        comment = _first_comment(content)
        subtitle = comment or (headings[0].lstrip("# ") if headings else "")
        doc = "" if is_doc else comment
        if doc:  # what a source file is, as its author wrote it (the index shows titles)
            title += f" — {one_line(doc, 70)}"
        whole = "" if is_doc else _module_doc(content)
        if whole and whole.rstrip(".") != comment.rstrip("."):
            # The whole module doc, not only its first line (what it is for, who uses it,
            # what it answers), even below the imports: the file's own summary of itself.
            facts.append(f"Doc: {whole}")
        return dict(type=kind, title=title, subtitle=one_line(subtitle, 140), facts=tuple(facts),
                    files_modified=(path,), concepts=("write", "created") if created else ("write",))

    def _notebookedit(self, ctx, data, response, failures_so_far):
        path = self.rel(data.get("notebook_path", ""), ctx)
        mode = data.get("edit_mode", "replace")
        source = _lines(data.get("new_source", ""))
        return dict(type=self._change_type(ctx, path, failures_so_far),
                    title=f"Edited notebook {path} ({mode} cell)",
                    facts=tuple("+ " + one_line(s, 160) for s in source[:4]),
                    files_modified=(path,), concepts=("notebook",))

    def _bash(self, ctx, data, response, _):
        command = str(data.get("command", ""))
        response = response if isinstance(response, dict) else {"stdout": str(response or "")}
        out = str(response.get("stdout") or "")
        err = str(response.get("stderr") or "")
        lines = extract.lint_named(extract.without_progress(_lines(out) + _lines(err)), out + err)
        return self._command_obs(ctx, command, lines, out, data.get("description") or "",
                                 interrupted=bool(response.get("interrupted")),
                                 background=str(response.get("backgroundTaskId") or ""))

    def _codex_shell(self, ctx, data, response, failures_so_far):
        from claude_mem.agents.codex import output_and_exit_code, shell_text

        command = shell_text(data.get("command") if "command" in data else data.get("cmd"))
        output, _ = output_and_exit_code(response) if isinstance(response, str) else (response, None)
        return self._bash(ctx, {**data, "command": command}, output, failures_so_far)

    def _command_obs(self, ctx, command, lines, out, description, interrupted=False, background=""):
        core = core_command(command)
        # ``git bisect run`` prints a test run per step: its failures are the probe, not the result.
        result = "" if _BISECT.match(core) else extract.outcome(lines)
        failed = extract.outcome_failed(result)
        branch, sha, subject = extract.commit(out)
        facts = [f"Command: {one_line(command, 300)}"]
        if description:
            facts.append(f"Purpose: {one_line(description, 160)}")
        message = extract.commit_message(command)
        if message and not sha:
            # ``git commit -q`` prints no hash: the message says what was committed.
            facts.append(f"Commit: {message}")
        body = extract.commit_body(command)
        if body:  # the why and the what of a commit, in its author's words
            facts.append(f"Commit body: {body}")
        concepts = ["command"]
        read_only = bool(READ_ONLY.match(core))
        # A build or type check behind ``| head`` exits 0 too: its error lines say it failed.
        errors = ([] if result or interrupted or background or read_only or not CHECK_COMMAND.search(core)
                  else extract.errors(lines))
        if interrupted:
            status = "was interrupted"
        elif background:
            status = f"started in the background ({background})"
        elif failed or errors:
            # A failure behind ``| tail`` exits 0: the outcome line says it failed.
            failed = True
            status = f"failed: {result or one_line(errors[0], 140)}"
            concepts.append("failure")
            why = errors[0] if errors else extract.cause(lines)  # the error the title names
            if why and why not in result:
                facts.append(f"Cause: {why}")
        elif result:
            status = f"passed: {result}"
        elif sha:
            status = f"committed {sha}" + (f" on {branch}" if branch else "") + f": {one_line(subject, 80)}"
            facts.append(f"Commit: {sha} {subject}")
            concepts.append("commit")
        elif re.match(r"ls\b", core) and not re.search(r"[|>;&]", command):
            # A listing's result is what it listed (an empty folder is news too).
            status = f"listed {extract.listing(lines)}"
            facts.append(f"Listed: {extract.listing(lines)}")
        else:
            status = "succeeded"
            # A look's finding is what it printed, when that is a line or two (and not the
            # command's own words echoed back).
            said = (lines[0].strip() if read_only and 0 < len(lines) <= 2 and lines[0].strip()
                    and lines[0].strip() not in command
                    else "" if read_only else extract.conclusion(lines))
            if said:
                status += f": {one_line(said, 140)}"
                facts.append(f"Output: {said}")
        if result:
            facts.append(f"Outcome: {result}")
            concepts.append("test" if _TEST_OUTCOME.search(result) else "check")
        problems = errors or ([] if failed else extract.diagnostics(lines))
        if problems and (CHECK_COMMAND.search(core) or "grep" in command):
            facts += [f"Problem: {p}" for p in problems]
            concepts.append("diagnostic")
            # A check that passed with findings (suggestions, warnings) or a grep for
            # them: the index shows the title only, so it names the first finding.
            first = one_line(problems[0].lstrip("┃│|>*•↘↗→ "), 110)
            if status.startswith("passed: "):
                status += f" — {first}"
            elif status.startswith("succeeded"):
                status = f"succeeded: {first}"
        if failed:  # which tests failed, wherever the runner printed them
            facts += [one_line(l.strip(), 200) for l in lines if FAILING_TEST.match(l)][:4]
        elif read_only and len(lines) > 6:
            # A long look (``bd show``, ``cat``, ``git show``): its telling lines from the
            # middle, which the last lines below do not reach.
            facts += [f"Shows: {line}" for line in extract.report_lines("\n".join(lines[:-3]), limit=4)]
        facts += ["Exit code 0"] if not interrupted else []
        tail = [one_line(line, 200) for line in lines[-3:]]
        if len(lines) > NOTABLE_FROM:
            # A long output's problem lines from anywhere in it (a warning in the middle
            # of a passing test run, a count of vulnerabilities under an install's head).
            facts += [f"Noted: {line}" for line in extract.notable(
                lines[:-3], known="\n".join([status, *facts, *tail]), passed=status.startswith("passed"))]
        facts += tail
        modified = _redirect_targets(command, ctx, self)
        kind = "change" if (MUTATING_COMMANDS.match(core) or modified or sha) else "discovery"
        return dict(type=kind, title=f"{code_span(core if len(command) > 80 else command)} {status}",
                    subtitle=one_line(description, 120), facts=tuple(dedupe(facts)),
                    files_modified=modified, concepts=tuple(concepts))

    def _task_output(self, ctx, data, response, _):
        """A background task's output: read like the command that started it."""
        text = _response_text(response)
        task_id = str(data.get("task_id") or data.get("bash_id") or data.get("shell_id") or "")
        description = ""
        if isinstance(response, dict):
            task = response.get("task") if isinstance(response.get("task"), dict) else response
            text = str(task.get("output") or task.get("stdout") or text)
            task_id = task_id or str(task.get("task_id") or "")
            description = str(task.get("description") or "")
            command = str(task.get("command") or "")
        else:
            command = ""
        if not command and task_id:  # the Bash call that started it, earlier in this request
            command = next((first_fact(o, "Command") for o in ctx.earlier
                            if f"({task_id})" in o.get("title", "")), "")
        obs = self._command_obs(ctx, command or description or "background task", _lines(text), text,
                                description)
        obs["title"] = "Background " + obs["title"]
        return obs

    def _failure(self, ctx, event):
        data = event.tool_input or {}
        error = str(event.error or "")
        lines = extract.lint_named(extract.without_progress(_lines(error)), error)
        code = None
        if lines and EXIT_CODE.match(lines[0]):
            code = EXIT_CODE.match(lines[0]).group(1)
            lines = lines[1:]
        result = extract.outcome(lines)
        why = extract.cause(lines)
        if event.tool_name == "Bash":
            command = str(data.get("command", ""))
            core = core_command(command)
            what = code_span(core if len(command) > 80 else command)
            facts = [f"Command: {one_line(command, 300)}"]
            message = extract.commit_message(command)
            if message and re.search(r"upstream|remote|rejected|fetch first|non-fast-forward|"
                                     r"Could not read from", error):
                facts.append(f"Commit: {message}")  # the commit went through; the push failed
        else:
            target = data.get("file_path") or data.get("notebook_path") or data.get("path") or ""
            what = f"{event.tool_name}" + (f" of {self.rel(target, ctx)}" if target else "")
            facts = [f"Tool: {event.tool_name}"] + (
                [f"Input: {one_line(json.dumps(data, ensure_ascii=False), 300)}"] if data else [])
        status = "was interrupted" if event.is_interrupt else (
            f"failed (exit code {code})" if code else "failed")
        title = f"{what} {status}"
        if result and (extract.outcome_failed(result) or not why):
            title += f": {result}"
        elif why:  # a run that failed although its last result line reads like a pass
            title += f": {one_line(why, 120)}"
        elif lines:
            title += f": {one_line(lines[-1], 100)}"
        if code:
            facts.append(f"Exit code {code}")
        if why:
            facts.append(f"Cause: {why}")
        if result:
            facts.append(f"Outcome: {result}")
        errors = [one_line(re.sub(r"^E\s+", "", l.strip()), 200) for l in lines
                  if re.search(r"(Error|Exception|error:|^E\s|fatal:|panicked|FAILED)", l)
                  or FAILING_TEST.match(l)]
        facts += errors[:4] or [one_line(line, 200) for line in lines[-3:]]
        if len(lines) > NOTABLE_FROM:
            # Beyond the first error lines: the assertion's message under a TAP ``error:``
            # key, a warning or a logged error further down a long run.
            facts += [f"Noted: {line}" for line in extract.notable(
                lines, known="\n".join([title, *facts, *lines[-3:]]))]
        if event.tool_name == "Bash" and CHECK_COMMAND.search(core) and not TEST_RUNNER.search(core):
            # A linter or type checker that exits non-zero: its findings say where and what.
            # (A test run's ``path:line: in <module>`` lines are stack frames, not findings.)
            facts += [f"Problem: {p}" for p in extract.diagnostics(lines)]
        files = dedupe(self.rel(m, ctx) for m in re.findall(r"([\w./-]+\.\w+):\d+", error))
        return dict(type="discovery", title=title, subtitle=one_line(data.get("description") or "", 120),
                    facts=tuple(dedupe(facts)), files_read=files[:LIST_LIMIT],
                    concepts=("command", "failure") if event.tool_name == "Bash" else ("failure",))

    def _todowrite(self, ctx, data, response, _):
        todos = [t for t in data.get("todos") or [] if isinstance(t, dict)]
        counts: dict[str, int] = {}
        for todo in todos:
            counts[todo.get("status", "pending")] = counts.get(todo.get("status", "pending"), 0) + 1
        parts = [f"{n} {status.replace('_', ' ')}" for status, n in counts.items()]
        facts = tuple(f"[{t.get('status', 'pending')}] {one_line(t.get('content', ''), 200)}" for t in todos)
        # The item being worked on, else the last one finished: what the list says now.
        current = ([t for t in todos if t.get("status") == "in_progress"]
                   or [t for t in todos if t.get("status") == "completed"][-1:])
        title = "Todo list: " + (", ".join(parts) or "empty")
        if current:
            doing = "doing" if current[0].get("status") == "in_progress" else "done"
            title += f"; {doing}: {one_line(current[0].get('content', ''), 100)}"
        return dict(type="decision", title=title, facts=facts, concepts=("todo",))

    def _task(self, ctx, data, response, _):
        description = data.get("description") or data.get("subagent_type") or "a subtask"
        text = _response_text(response)
        if isinstance(response, dict) and isinstance(response.get("content"), list):
            text = "\n".join(b.get("text", "") for b in response["content"] if isinstance(b, dict))
        # A subagent's report is prose: keep its lines that carry facts, and the best of
        # them in the title, since that is all the index shows of work done out of sight.
        found = _findings(text, limit=10, head=5)
        title = f"Delegated: {one_line(description, 80)}" + (f" → {one_line(found[0], 100)}" if found else "")
        # Up to ten more after the best ten: a digest with room left shows them (a short
        # session that was mostly subagents has little else to tell).
        more = [line for line in extract.report_lines(text, limit=20) if line not in found] if found else []
        facts = [one_line(line, 200) for line in found + more]
        # The names the report mentions that those lines do not (an id in a record it
        # drafted, an event or a function it read): named nowhere else, as the work was
        # done out of sight, and the words a later question uses.
        names = _report_names(text, known="\n".join([title, *facts]))
        if names:
            facts.append("Names: " + names)
        # Its figures the kept lines do not give (how long a step takes, how long a file
        # is): a name without its figure does not answer "how long", "how many".
        figures = _report_figures(text, known="\n".join([title, *facts]))
        if figures:
            facts.append("Figures: " + figures)
        return dict(type="discovery", title=title,
                    subtitle=one_line(data.get("subagent_type") or "", 60),
                    facts=tuple(facts), concepts=("subagent",))

    def _webfetch(self, ctx, data, response, _):
        url = data.get("url", "")
        found = _findings(_web_text(response))
        title = f"Fetched {one_line(url, 120)}" + (f" → {one_line(found[0], 100)}" if found else "")
        return dict(type="discovery", title=title,
                    subtitle=one_line(data.get("prompt", ""), 120),
                    facts=tuple(one_line(line, 200) for line in found), concepts=("web",))

    def _websearch(self, ctx, data, response, _):
        # What the search answered is what was learned; the title says it, as for a
        # subagent, since a bare "Searched the web for X" is all the index would show.
        query = data.get("query", "")
        found = _findings(_web_text(response))
        title = f"Searched the web for {code_span(query, 80)}" + (f" → {one_line(found[0], 100)}" if found else "")
        return dict(type="discovery", title=title,
                    facts=tuple(one_line(line, 200) for line in found), concepts=("web",))

    def _exitplanmode(self, ctx, data, response, _):
        plan = _lines(data.get("plan", "") or (response.get("plan") if isinstance(response, dict) else "") or "")
        if not plan:
            return dict(type="decision", title="Plan approved", concepts=("plan",))
        return dict(type="decision", title="Plan: " + one_line(plan[0].lstrip("# "), 100),
                    facts=tuple(one_line(line, 200) for line in plan[:8]), concepts=("plan",))

    def _ask(self, ctx, data, response, _):
        pairs = extract.answers(response)
        if not pairs:
            questions = [q.get("question", "") for q in data.get("questions") or [] if isinstance(q, dict)]
            return dict(type="discovery", title="Asked: " + one_line("; ".join(questions), 150),
                        concepts=("question",))
        facts = tuple(f"Answer: {one_line(q, 160)} → {one_line(a, 160)}" for q, a in pairs)
        title = "User decided: " + "; ".join(one_line(a, 80) for _, a in pairs)
        return dict(type="decision", title=one_line(title, 200),
                    subtitle=one_line(pairs[0][0], 140), facts=facts, concepts=("answer",))

    def _generic(self, ctx, tool, data, response):
        facts = []
        if data:
            facts.append("Input: " + one_line(json.dumps(data, ensure_ascii=False, default=str), 300))
        text = _response_text(response)
        if text:
            facts.append("Result: " + one_line(text, 300))
        # An MCP tool's long prose (notes it was given, a page or record it returned) is
        # cut at 300 characters above: its fact-bearing lines are kept too, the first in
        # the title, since the index shows no more of a tool nobody wrote a rule for.
        prose = [v for v in (data.values() if isinstance(data, dict) else ()) if isinstance(v, str)
                 and len(v) >= 200] + ([text] if len(text) >= 200 else [])
        found = [line for value in prose for line in extract.report_lines(value, limit=5)]
        facts += [one_line(line, 200) for line in found]
        target = data.get("file_path") or data.get("path") or ""
        title = f"Used {tool}" + (f" on {self.rel(target, ctx)}" if target else "")
        return dict(type="discovery", title=title + (f" → {one_line(found[0], 100)}" if found else ""),
                    facts=tuple(dedupe(facts)), concepts=("tool",))

    # -- summaries -------------------------------------------------------------------

    def summary_for(self, ctx: SessionContext, last_message: str, observations) -> Summary:
        return request_summary.summarize(ctx, last_message, observations)


# -- helpers ---------------------------------------------------------------------------


def _joined(items, limit: int, sep: str = ", ") -> str:
    """``items`` joined by ``sep``, as many as fit in ``limit`` characters (at least one).
    Stops taking at the first that does not fit, so ``items`` may be a generator that
    is read no further than that."""
    out, size = [], 0
    for item in items:
        if out and size + len(item) + len(sep) > limit:
            break
        out.append(item)
        size += len(item) + len(sep)
    return sep.join(out)


def _symbol_text(names, removed=(), limit: int = 5) -> str:
    parts = list(names[:limit])
    if len(names) > limit:
        parts.append(f"+{len(names) - limit} more")
    if removed:
        parts.append("removed " + ", ".join(removed[:3]))
    return ", ".join(parts)


def _generic_definitions(content: str) -> list[str]:
    """Definitions in a file of unknown language: the old one-line rule."""
    pattern = re.compile(r"^\s*(?:export\s+)?(?:async\s+)?(?:def|class|function|fn|func|interface|"
                         r"struct|enum|type)\s+([A-Za-z_][A-Za-z0-9_]*)")
    return list(dedupe(m.group(1) for m in map(pattern.match, content.splitlines()) if m))


def _redirect_targets(command: str, ctx, compressor) -> tuple[str, ...]:
    # Quoted text and heredoc bodies are blanked first: a commit message is not a file.
    code = extract.shell_code(command)
    targets = [t for t in REDIRECT.findall(code) if t not in ("/dev/null", "&1", "&2")
               and not t.startswith("&") and re.search(r"[\w]", t) and not re.search(r"[$*?{]", t)]
    for match in _TOUCH_TEE.finditer(code):
        targets.append(match.group(1))
    return dedupe(compressor.rel(os.path.join(ctx.cwd, t) if ctx.cwd and not os.path.isabs(t) else t, ctx)
                   for t in targets)


_MODULEDOC = re.compile(r'^\s*@moduledoc\s+(?:~[sS])?(?:"""|"(.+)"$)')


def _first_comment(content: str) -> str:
    """The comment or docstring a file opens with: what it is, in its author's words.
    A JSDoc block (``/**`` then `` * text``) and an Elixir ``@moduledoc`` count too."""
    lines = content.splitlines()[:12]
    for n, line in enumerate(lines):  # Elixir: the module's doc, right below ``defmodule``
        match = _MODULEDOC.match(line)
        if match:
            text = match.group(1) or next((l.strip() for l in lines[n + 1:] if l.strip()), "")
            return "" if text.startswith('"""') else one_line(text.lstrip("# "), 140)
    in_block = False
    for line in lines[:8]:
        # A shebang says how to run the file, a C directive (an include guard) how to build
        # it: neither says what it is.
        if line.startswith("#!") or _C_DIRECTIVE.match(line):
            continue
        stripped = line.strip().strip('"\'').strip()
        if line.strip().startswith(('"""', "'''", "#", "//", "/*")) or (in_block and line.strip().startswith("*")):
            in_block = line.strip().startswith("/*") and "*/" not in line or (in_block and "*/" not in line)
            text = stripped.lstrip("#/*! ").rstrip("*/ ").strip('"\'').strip()
            if text and not text.startswith(("!", "@")):
                return one_line(text, 140)
        elif stripped:
            return ""
    return ""


# A name in a report: a span in backticks, a snake_case, camelCase or CamelCase
# identifier, an issue-style id (``spotter-2qx``, ``PROJ-12``), a file name.
_REPORT_NAME = re.compile(
    r"`([^`\n]{3,60})`|\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+[A-Z][A-Za-z0-9]*|"
    r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+|[A-Za-z]+-(?=[a-z0-9]*\d)[a-z0-9]{2,}(?:\.\d+)*|"
    r"[\w-]+\.(?:py|ex|exs|js|ts|tsx|jsx|rs|go|rb|java|kt|c|h|cpp|cs|php|sh|json|ya?ml|toml|md|css|html))\b")
_NOT_A_NAME = re.compile(r"[\\*()<>\[\]{}$=#@\"',;|]|\s{2}")
# Round 13: 800 kept 795 of an exploration report's 1,328 characters of names, the rest (an
# event it pushes, fields it reads) named nowhere else; 1,600 keeps such a report's names.
REPORT_NAMES_CHARS = 1600


def _report_names(text: str, known: str = "", limit: int = REPORT_NAMES_CHARS) -> str:
    """The distinct names a subagent's report mentions that ``known`` does not hold, in
    the order they first appear, joined up to ``limit`` characters."""
    return _joined(_names_in(text, known), limit)


def _names_in(text: str, known: str):
    """``_report_names``' candidates, in order (a generator: read as far as they fit)."""
    seen = set()
    # A JSON record quoted in the report keeps its escapes (``\\nSpotter``): not a name.
    for match in _REPORT_NAME.finditer(re.sub(r"\\[nrt\"]", " ", str(text or ""))):
        name = (match.group(1) or match.group(2) or "").strip()
        if _NOT_A_NAME.search(name):  # code quoted in backticks: a call, markup, a pattern
            continue
        if "/" in name:  # a path: its file name says it
            name = name.rstrip("/").rsplit("/", 1)[-1]
        name = name.lstrip(":.")  # an Elixir atom, a CSS class: the name itself
        low = name.lower()
        if (len(name) < 3 or low in seen or name in known or len(name) > 40
                or name.islower() and name.isalpha()):  # a plain word is not a name
            continue
        seen.add(low)
        yield name


# A figure with its unit: a count of things a session works with, a duration, a size, a
# share (``477 lines``, ``2-3 minutes``, ``2+ minutes``, ``40 %``, ``3x``).
_FIGURE = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)?(?:\s*[-–]\s*\d+(?:[.,]\d+)?|\+)?\s*(?:%|(?:ms|s|secs?|seconds?|"
    r"mins?|minutes?|hours?|hrs?|days?|weeks?|[KMG]i?B|bytes|lines?|LOC|files?|tests?|failures?|"
    r"errors?|warnings?|commits?|functions?|modules?|rows?|items?|entries|tokens?|calls?|"
    r"requests?|deps|dependencies|packages?|steps?|times|x)\b)")
# A path in a line: its file name says it (the folders are the project's own).
_PATH_HEAD = re.compile(r"(?<![\w:/.~@-])(?:[\w.~@-]*/)+(?=[\w.@-])")  # not a URL's
_LIST_MARK = re.compile(r"^(?:[-*•>#]+|\d+[.)])\s+")
REPORT_FIGURES_CHARS = 400


def _report_figures(text: str, known: str = "", limit: int = REPORT_FIGURES_CHARS) -> str:
    """The lines of a subagent's report that give a figure with its unit (``_FIGURE``) not
    in ``known``, in order, paths cut to their file names, each at most 160 characters,
    joined up to ``limit`` characters. A JSON record the report quotes keeps its escaped
    line breaks (``\\n``): they are read as line breaks."""
    return _joined(_figure_lines(text, known), limit, "; ")


def _figure_lines(text: str, known: str):
    """``_report_figures``' candidate lines, in order (a generator)."""
    text = str(text or "")
    if "\\n" in text:
        text = text.replace("\\n", "\n")
    for raw in text.splitlines():
        found = _FIGURE.findall(raw) if any(c.isdigit() for c in raw) else ()
        if not found:
            continue
        line = one_line(_PATH_HEAD.sub("", _LIST_MARK.sub("", raw.strip())), 160)
        if line in known or all(figure in known for figure in found):
            continue
        yield line


# Where a module's doc starts: a Python docstring, an Elixir ``@moduledoc``, a JSDoc
# block, a run of ``#`` or ``//`` comment lines.
_DOC_START = re.compile(r'^\s*(?:@moduledoc\s+(?:~[sS])?("""|")|("""|\'\'\'|/\*\*?)|(#(?!!)|//))(.*)$')
MODULE_DOC_LINES = 40
# What a file's header holds before its doc: a shebang, imports, a module's opening.
_HEADER_LINE = re.compile(
    r"^\s*(?:#!|#\s*(?:include|pragma|ifndef|define|import)\b|import\b|from\s+\S+\s+import\b|"
    r"export\s+\*|use\s|require\b|alias\s|package\s|namespace\s|module\s|defmodule\s|"
    r"const\s+\w+\s*=\s*require\(|set\s+-|\}?\s*from\s+['\"]|[\w\s,{}]*\}\s*from\s)")
MODULE_DOC_CHARS = 300


def _module_doc(content: str, limit: int = MODULE_DOC_CHARS) -> str:
    """A source file's module doc, whole, as one line of at most ``limit`` characters: the
    first docstring, ``@moduledoc``, JSDoc block or comment run in its first
    ``MODULE_DOC_LINES`` lines, also below its imports (a TypeScript file's doc often sits
    under them); a C directive (an include guard) is not a doc."""
    lines = content.splitlines()[:MODULE_DOC_LINES]
    for n, line in enumerate(lines):
        start = _DOC_START.match(line)
        if not start or _C_DIRECTIVE.match(line.strip()):
            if line.strip() and not _HEADER_LINE.match(line):
                return ""  # code began: a comment below it is about the code, not the module
            continue
        moduledoc, block, comment, rest = start.groups()
        if moduledoc == '"':  # ``@moduledoc "one line"``
            return one_line(rest.rstrip('"'), limit)
        parts = []
        if comment:  # a run of comment lines
            for text in lines[n:]:
                stripped = text.strip()
                if not stripped.startswith(comment) or _C_DIRECTIVE.match(stripped):
                    break
                parts.append(stripped.lstrip("#/ ").strip())
        else:
            close = '"""' if moduledoc else ("*/" if block.startswith("/*") else block)
            first = rest
            for text in [first] + lines[n + 1:]:
                done = close in text
                parts.append(text.split(close, 1)[0].strip().lstrip("*").strip())
                if done:
                    break
        text = " ".join(part for part in parts if part)
        if text:
            return one_line(text, limit)
    return ""


def _web_text(response) -> str:
    """The text a web tool answered with: WebFetch's ``result``; WebSearch's answer (the
    strings among its ``results``, whose other items are only links), else the link titles."""
    if isinstance(response, dict) and isinstance(response.get("results"), list):
        results = response["results"]
        answer = [r for r in results if isinstance(r, str) and r.strip()]
        if answer:
            return "\n".join(answer)
        titles = [link.get("title", "") for r in results if isinstance(r, dict)
                  for link in (r.get("content") or []) if isinstance(link, dict)]
        return "\n".join(t for t in titles if t)
    return _response_text(response)


def _findings(text: str, limit: int = 6, head: int = 3) -> list[str]:
    """A report's, a web answer's or a tool's prose: its fact-bearing lines, else its first
    ``head`` lines."""
    return extract.report_lines(text, limit=limit) or [one_line(line, 200) for line in _lines(text)[:head]]


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


