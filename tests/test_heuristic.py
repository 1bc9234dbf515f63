"""The offline compressor: observations and summaries a person would write."""
from __future__ import annotations

import json

from claude_mem.compress import SessionContext
from claude_mem.compress.heuristic import HeuristicCompressor
from claude_mem.config import load
from claude_mem.events import parse_event
from helpers import load_fixture

CWD = "/home/dev/acme-billing"
REQUEST = "The invoice total is wrong when a discount and tax both apply. Find and fix it."


def _events(prompt_id_prefix="a5c5"):
    return [parse_event(e, json.dumps(p)) for e, p in load_fixture()
            if e in ("PostToolUse", "PostToolUseFailure") and p["prompt_id"].startswith(prompt_id_prefix)]


def _ctx(request=REQUEST, earlier=()):
    return SessionContext(session_id=1, claude_session_id="s", project="acme-billing", cwd=CWD,
                          prompt_number=1, request=request, earlier=earlier)


def test_each_tool_event_becomes_a_readable_observation():
    produced = HeuristicCompressor(load()).observe(_ctx(), _events())
    got = [(o.type, o.title) for o in produced.observations]
    assert got == [
        ("discovery", "Searched code for `def calculate_total`"),
        ("discovery", "Listed files matching `**/*.py`"),
        ("discovery", "Read acme_billing/invoice.py — Invoice model and total calculation."),
        ("discovery", "`python -m pytest -q` failed (exit code 1): 1 failed, 4 passed in 0.61s"),
        ("bugfix", "Edited acme_billing/invoice.py: `tax = subtotal * invoice.tax_rate` → "
                   "`tax = (subtotal - discount) * invoice.tax_rate`"),
        ("discovery", "`python -m pytest -q` passed: 5 passed in 0.55s"),
    ]
    grep, glob, read, failed, edit, passed = produced.observations
    assert grep.files_read == ("acme_billing/invoice.py",)
    assert "acme_billing/invoice.py" in glob.facts
    assert read.subtitle == "Invoice model and total calculation."
    assert any("calculate_total" in f for f in read.facts)
    assert "Command: python -m pytest -q" in failed.facts and "Exit code 1" in failed.facts
    assert any("AssertionError: assert Decimal('165.00') == Decimal('162.00')" in f for f in failed.facts)
    assert failed.files_read == ("tests/test_invoice.py",)
    assert edit.files_modified == ("acme_billing/invoice.py",)
    assert "- tax = subtotal * invoice.tax_rate" in edit.facts
    assert "+ tax = (subtotal - discount) * invoice.tax_rate" in edit.facts
    assert all(o.tool_use_id.startswith("toolu_") for o in produced.observations)


def test_write_todo_and_skipped_tools():
    produced = HeuristicCompressor(load()).observe(_ctx("Add a changelog entry for this fix."),
                                                   _events("5f9e"))
    titles = [o.title for o in produced.observations]
    assert titles == ["Created CHANGELOG.md", "Todo list: 1 completed, 1 pending; "
                      "done: Add CHANGELOG entry for the discount + tax fix"]  # ToolSearch skipped
    write, todo = produced.observations
    assert write.type == "change" and write.files_modified == ("CHANGELOG.md",)
    assert "[pending] Bump version to 0.3.1 in pyproject.toml and acme_billing/__init__.py" in todo.facts


def test_summary_of_the_bug_hunt():
    compressor = HeuristicCompressor(load())
    observations = [dict(o.__dict__, concepts=list(o.concepts), facts=list(o.facts),
                         files_read=list(o.files_read), files_modified=list(o.files_modified))
                    for o in compressor.observe(_ctx(), _events()).observations]
    last = next(p for e, p in load_fixture() if e == "Stop")["last_assistant_message"]
    summary = compressor.summarize(_ctx(), last, observations).summary
    assert summary.request == REQUEST
    assert "Read acme_billing/invoice.py" in summary.investigated
    assert "`python -m pytest -q` failed (exit code 1)" in summary.learned
    assert "Cause: `calculate_total()` computed tax on the full subtotal" in summary.learned
    assert "— FAILED tests/test_invoice.py::test_total_with_discount_and_tax" in summary.learned
    assert "→ fixed: `python -m pytest -q`" in summary.learned
    assert "Edited acme_billing/invoice.py" in summary.completed
    assert "5 passed" in summary.completed
    assert summary.next_steps == ""  # the failure was fixed by a later passing run
    assert summary.files_edited == ("acme_billing/invoice.py",)
    assert "acme_billing/invoice.py" in summary.files_read


def test_an_unresolved_failure_becomes_a_next_step():
    failed = parse_event("PostToolUseFailure", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "Bash", "tool_use_id": "t1",
        "tool_input": {"command": "npm run build"},
        "error": "Exit code 2\nsrc/app.ts:3:1 - error TS2304: Cannot find name 'foo'."}))
    compressor = HeuristicCompressor(load())
    obs = compressor.observe(_ctx("Build the app"), [failed]).observations[0]
    assert obs.title == "`npm run build` failed (exit code 2): src/app.ts:3:1 - error TS2304: Cannot find name 'foo'."
    assert obs.files_read == ("src/app.ts",)
    as_dict = dict(obs.__dict__, concepts=list(obs.concepts), facts=list(obs.facts),
                   files_read=list(obs.files_read), files_modified=list(obs.files_modified))
    summary = compressor.summarize(_ctx("Build the app"), "", [as_dict]).summary
    assert "Still failing: `npm run build` failed" in summary.next_steps


def test_shell_commands_that_write_files_record_them():
    event = parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "Bash", "tool_use_id": "t2",
        "tool_input": {"command": "echo hello > notes/hello.txt && touch done.flag"},
        "tool_response": {"stdout": "", "stderr": "", "interrupted": False}}))
    obs = HeuristicCompressor(load()).observe(_ctx("make notes"), [event]).observations[0]
    assert obs.type == "change"
    assert obs.files_modified == ("notes/hello.txt", "done.flag")


def test_unknown_and_mcp_tools_still_leave_a_trace():
    event = parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "mcp__github__create_issue", "tool_use_id": "t3",
        "tool_input": {"title": "Tax bug"}, "tool_response": [{"type": "text", "text": "created #12"}]}))
    obs = HeuristicCompressor(load()).observe(_ctx(), [event]).observations[0]
    assert obs.title == "Used mcp__github__create_issue"
    assert any("Tax bug" in f for f in obs.facts)


def test_a_follow_up_said_twice_is_one_next_step():
    events = _events("5f9e")
    compressor = HeuristicCompressor(load())
    observations = [dict(o.__dict__, concepts=list(o.concepts), facts=list(o.facts),
                         files_read=list(o.files_read), files_modified=list(o.files_modified))
                    for o in compressor.observe(_ctx("Add a changelog entry for this fix."), events).observations]
    last = [p for e, p in load_fixture() if e == "Stop"][1]["last_assistant_message"]
    summary = compressor.summarize(_ctx("Add a changelog entry for this fix."), last, observations).summary
    assert summary.next_steps == "- Bump version to 0.3.1 in pyproject.toml and acme_billing/__init__.py"


def _bash(command, stdout="", *, error=None, tool_use_id="b"):
    payload = {"session_id": "s", "cwd": CWD, "tool_name": "Bash", "tool_use_id": tool_use_id,
               "tool_input": {"command": command}}
    if error is None:
        payload["tool_response"] = {"stdout": stdout, "stderr": "", "interrupted": False}
        return parse_event("PostToolUse", json.dumps(payload))
    payload["error"] = error
    return parse_event("PostToolUseFailure", json.dumps(payload))


def _as_dicts(observations):
    return [dict(o.__dict__, concepts=list(o.concepts), facts=list(o.facts),
                 files_read=list(o.files_read), files_modified=list(o.files_modified)) for o in observations]


def _summary(events, reply="", request="Ship the branch", **ctx):
    compressor = HeuristicCompressor(load())
    context = SessionContext(session_id=1, claude_session_id="s", project="acme-billing", cwd=CWD,
                             prompt_number=1, request=request, **ctx)
    observations = _as_dicts(compressor.observe(context, events).observations)
    return compressor.summarize(context, reply, observations).summary, observations


def test_a_failed_push_fixed_later_is_learned_not_left_open():
    summary, _ = _summary([
        _bash("git push 2>&1", error="Exit code 128\nfatal: The current branch spotter-dov has no upstream "
              "branch.\nTo push the current branch and set the remote as upstream, use\n\n"
              "    git push --set-upstream origin spotter-dov\n", tool_use_id="p1"),
        _bash("git push --set-upstream origin spotter-dov 2>&1",
              "branch 'spotter-dov' set up to track 'origin/spotter-dov'.", tool_use_id="p2"),
    ])
    assert summary.next_steps == ""
    assert ("`git push 2>&1` failed (exit code 128): fatal: The current branch spotter-dov has no upstream "
            "branch. → fixed: `git push --set-upstream origin spotter-dov 2>&1`") in summary.learned


def test_a_failure_behind_tail_that_exited_zero_is_still_a_failure():
    summary, observations = _summary([_bash(
        "mix test 2>&1 | tail -5",
        "  1) test renders rows (SpotterWeb.SessionLiveTest)\n     test/session_live_test.exs:12\n"
        "     ** (MatchError) no match of right hand side value: nil\n\nFinished in 0.5 seconds\n"
        "5 tests, 1 failure\n")])
    assert observations[0]["title"] == "`mix test 2>&1 | tail -5` failed: 5 tests, 1 failure"
    assert "failure" in observations[0]["concepts"]
    assert "Cause: ** (MatchError) no match of right hand side value: nil" in observations[0]["facts"]
    assert "Still failing: `mix test 2>&1 | tail -5` failed: 5 tests, 1 failure" in summary.next_steps


def test_edits_of_one_file_merge_into_one_line_with_their_symbols():
    edits = [parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "Edit", "tool_use_id": f"e{i}",
        "tool_input": {"file_path": f"{CWD}/billing/tax.py", "old_string": old, "new_string": new},
        "tool_response": {"originalFile": "import x\n\ndef rate(country):\n    return 0.2\n"}}))
        for i, (old, new) in enumerate([("    return 0.2\n", "    return RATES[country]\n"),
                                        ("import x\n", "import x\n\nclass TaxTable:\n    pass\n")])]
    summary, observations = _summary(edits)
    assert observations[0]["title"].startswith("Edited billing/tax.py")
    assert "Symbols: rate" in observations[0]["facts"]  # the change sits inside rate()
    assert summary.completed == ("- Edited billing/tax.py (2 edits): rate, TaxTable "
                                 "(`return 0.2` → `return RATES[country]`)")


def test_commit_outcome_and_answer_are_kept():
    commit = _bash("git add a.py && git commit -m \"$(cat <<'EOF'\nfeat: tax table > flat rate\n\nenum\nEOF\n)\"",
                   "[main 64f1b9a] feat: tax table > flat rate\n 1 file changed, 3 insertions(+)")
    ask = parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "AskUserQuestion", "tool_use_id": "q",
        "tool_input": {"questions": [{"question": "Which rounding?"}]},
        "tool_response": {"answers": {"Which rounding?": "Banker's rounding"}}}))
    tests = _bash("cargo test", "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; "
                                "0 filtered out; finished in 0.02s")
    summary, observations = _summary([ask, tests, commit])
    assert observations[2]["files_modified"] == []  # the heredoc message is not a file
    assert "Committed 64f1b9a feat: tax table > flat rate" in summary.completed
    assert "`cargo test`: test result: ok. 12 passed; 0 failed; 0 ignored" in summary.completed
    assert "Decided: Which rounding? → Banker's rounding" in summary.learned


def test_claude_mems_own_mcp_calls_are_not_recorded():
    event = parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "mcp__plugin_claude-mem_claude-mem__search",
        "tool_use_id": "m", "tool_input": {"query": "tax"}, "tool_response": "[]"}))
    assert HeuristicCompressor(load()).observe(_ctx(), [event]).observations == ()


def test_a_trivial_later_reply_does_not_replace_the_final_summary():
    final = "All done. " + "The tax table replaces the flat rate; 410 tests, 0 failures. " * 6
    summary, _ = _summary([], "Background task completed — all tests pass.", previous_reply=final)
    assert "410 tests, 0 failures" in summary.notes
    summary, _ = _summary([], final, previous_reply="Let me look.")
    assert summary.notes.startswith("All done.")


def test_a_continue_request_carries_the_threads_goal():
    summary, _ = _summary([], "", request="continue", goal="Work on bead spotter-dov")
    assert summary.request == "continue (continuing: Work on bead spotter-dov)"


def test_a_background_tasks_output_is_read_like_the_command_that_started_it():
    started = parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": "Bash", "tool_use_id": "bg",
        "tool_input": {"command": "mix test test/session_live_test.exs 2>&1", "run_in_background": True},
        "tool_response": {"stdout": "", "stderr": "", "interrupted": False, "backgroundTaskId": "b7636e2"}}))
    compressor = HeuristicCompressor(load())
    first = _as_dicts(compressor.observe(_ctx("Run the tests"), [started]).observations)
    assert first[0]["title"].endswith("started in the background (b7636e2)")
    output = parse_event("PostToolUse", json.dumps({  # real shape of TaskOutput's response
        "session_id": "s", "cwd": CWD, "tool_name": "TaskOutput", "tool_use_id": "to",
        "tool_input": {"task_id": "b7636e2", "block": True},
        "tool_response": {"retrieval_status": "success", "task": {
            "task_id": "b7636e2", "task_type": "local_bash", "status": "completed",
            "description": "Run SessionLive tests",
            "output": "Running ExUnit with seed: 1\n...............\nFinished in 0.4 seconds\n15 tests, 0 failures\n"}}}))
    obs = compressor.observe(_ctx("Run the tests", earlier=tuple(first)), [output]).observations[0]
    assert obs.title == "Background `mix test test/session_live_test.exs 2>&1` passed: 15 tests, 0 failures"


def test_relative_path_says_what_os_path_relpath_says():
    import os

    from claude_mem.compress.base import SessionContext, relative_path

    def reference(path, ctx):  # the plain rule: relpath against the root, else the cwd
        for base in dict.fromkeys([ctx.root, ctx.cwd]):
            if base and (path == base or path.startswith(base.rstrip(os.sep) + os.sep)):
                return os.path.relpath(path, base)
        return path

    roots = ["/w/acme", "/w/acme/", "/", "/w/./acme", "/w//acme"]
    paths = ["/w/acme/src/a.py", "/w/acme", "/w/acme/", "/w/acme/src/../b.py", "/w/acme//c.py",
             "/w/acme/./d.py", "/w/acme/../other/e.py", "/w/acme-two/f.py", "/elsewhere/g.py",
             "/w/acme/src/", "/w/./acme/h.py"]
    for root in roots:
        ctx = SessionContext(session_id=1, claude_session_id="s", project="acme", cwd=root,
                             prompt_number=1, root=root)
        for path in paths:
            assert relative_path(path, ctx) == reference(path, ctx), (root, path)


def test_a_pasted_log_keeps_its_error_in_the_request():
    from claude_mem.compress.request_summary import _with_pasted_error

    log = "❯ ./run.sh\n" + "\n".join(f" => [build {i}/9] RUN step {i} {'.' * 40} 1.{i}s" for i in range(12))
    request = log + "\nnpm error Exit handler never called!\n" + " => exporting layers 0.1s\n" * 5
    short = _with_pasted_error(request)
    assert short.startswith("❯ ./run.sh") and short.endswith("npm error Exit handler never called!")
    assert len(short) < 400
    assert _with_pasted_error("Fix the login form, it fails on Safari.") == "Fix the login form, it fails on Safari."


# -- issue 21, round 4: what the digest of an unseen session needs --------------------------


def _tool(name, tool_input, response, tool_use_id="t"):
    return parse_event("PostToolUse", json.dumps({
        "session_id": "s", "cwd": CWD, "tool_name": name, "tool_use_id": tool_use_id,
        "tool_input": tool_input, "tool_response": response}))


def test_a_commit_bodys_why_reaches_the_summary_without_its_trailers():
    commit = _bash("git add docker/Containerfile && git commit -m \"$(cat <<'EOF'\nFix npm ci in the container\n\n"
                   "Use npm install instead of npm ci to avoid the 'Exit handler never called' bug.\n"
                   "- pin npm 10\n\nCo-Authored-By: Someone <a@b.c>\nEOF\n)\"",
                   "[main 0bc41d9] Fix npm ci in the container\n 1 file changed")
    summary, observations = _summary([commit])
    assert ("Commit body: Use npm install instead of npm ci to avoid the 'Exit handler never called' bug. "
            "pin npm 10") in observations[0]["facts"]
    assert ("- Committed 0bc41d9 Fix npm ci in the container — Use npm install instead of npm ci to avoid "
            "the 'Exit handler never called' bug. pin npm 10") in summary.completed.splitlines()


def test_an_edit_without_symbols_names_the_line_it_changed():
    edit = _tool("Edit", {"file_path": f"{CWD}/docker/Containerfile",
                          "old_string": "COPY package*.json ./\nRUN npm ci\nRUN npx playwright install",
                          "new_string": "COPY package*.json ./\nRUN npm install --legacy-peer-deps\n"
                                        "RUN npx playwright install"},
                 {"originalFile": "FROM node:20\nCOPY package*.json ./\nRUN npm ci\nRUN npx playwright install\n"})
    summary, observations = _summary([edit])
    assert observations[0]["title"] == ("Edited docker/Containerfile: `RUN npm ci` → "
                                        "`RUN npm install --legacy-peer-deps`")
    assert summary.completed == "- " + observations[0]["title"]


def test_a_failed_lint_run_keeps_its_findings_eslint_stylish_too():
    lint = _bash("npx eslint src", error="Exit code 1\n\n/home/dev/acme-billing/src/cart.js\n"
                 "  12:5  error  'total' is assigned a value but never used  no-unused-vars\n"
                 "  30:1  warning  Unexpected console statement  no-console\n\n"
                 "✖ 2 problems (1 error, 1 warning)\n")
    fix = _tool("Edit", {"file_path": f"{CWD}/src/cart.js", "old_string": "  const total = 0;\n",
                         "new_string": "\n"}, {"originalFile": "x\n"}, "e")
    summary, observations = _summary([lint, fix])
    assert ("Problem: /home/dev/acme-billing/src/cart.js:12:5: 'total' is assigned a value but never used "
            "(no-unused-vars)") in observations[0]["facts"]
    assert ("`npx eslint src`: /home/dev/acme-billing/src/cart.js:12:5: 'total' is assigned a value but "
            "never used (no-unused-vars) → fixed") in summary.learned


def test_a_first_failure_with_another_cause_is_not_lost_behind_the_last_one():
    summary, _ = _summary([
        _bash("./run_tests.sh", error="Exit code 126\nbash: ./run_tests.sh: Permission denied", tool_use_id="1"),
        _bash("./run_tests.sh", error="Exit code 1\nAssertionError: expected 3, got 4\n1 failed", tool_use_id="2"),
    ])
    assert "Permission denied" in summary.learned and summary.learned.startswith("- First: ")
    assert "Still failing: `./run_tests.sh` failed (exit code 1)" in summary.next_steps
    # The same cause twice is one failure: the later attempt speaks for both.
    summary, _ = _summary([
        _bash("./run_tests.sh", error="Exit code 126\nbash: ./run_tests.sh: Permission denied", tool_use_id="1"),
        _bash("./run_tests.sh", error="Exit code 126\nbash: ./run_tests.sh: Permission denied", tool_use_id="2"),
    ])
    assert "First:" not in summary.learned


def test_a_subagents_report_reaches_the_summary_beyond_its_title():
    report = ("I'll summarize what I found.\n\n- The hook is `TranscriptHighlighter` in assets/js/app.js\n"
              "- `SessionLive` renders rows in lib/spotter_web/live/session_live.ex\n"
              "- Version 1.7.2 of phoenix_live_view is pinned\n- `WaitingSummary.build/2` is unused\n")
    task = _tool("Task", {"description": "Explore transcript rendering", "prompt": "look"},
                 {"content": [{"type": "text", "text": report}]})
    summary, observations = _summary([task], request="Explore how transcripts render")
    assert observations[0]["title"].startswith("Delegated: Explore transcript rendering → The hook is")
    investigated = summary.investigated
    assert "`SessionLive` renders rows" in investigated and "1.7.2" in investigated


def test_a_written_source_file_says_what_it_is_jsdoc_and_moduledoc_too():
    ts = _tool("Write", {"file_path": f"{CWD}/src/types/scenario.ts",
                         "content": "/**\n * Scenario type definitions for the test agent\n */\n\n"
                                    "export interface Scenario {\n  id: string;\n}\n"}, {"type": "create"}, "w1")
    ex = _tool("Write", {"file_path": f"{CWD}/lib/app/renderer.ex",
                         "content": "defmodule App.Renderer do\n  @moduledoc \"\"\"\n  Renders transcript rows.\n"
                                    "  \"\"\"\n  def render(rows), do: rows\nend\n"}, {"type": "create"}, "w2")
    _, observations = _summary([ts, ex])
    assert observations[0]["title"] == ("Created src/types/scenario.ts: Scenario — Scenario type definitions "
                                        "for the test agent")
    assert observations[1]["title"] == "Created lib/app/renderer.ex: App.Renderer, render — Renders transcript rows."


def test_a_document_the_model_writes_keeps_what_it_says():
    doc = ("# CLAUDE.md\n\nThis file guides Claude Code in this repository.\n\n## Commands\n\n"
           "- `pnpm dev` starts the viewer on port 3400\n- `pnpm test` runs vitest (212 tests)\n\n"
           "## Architecture\n\n- **Next.js 15** app router; transcripts parsed in `src/lib/parse.ts`\n")
    write = _tool("Write", {"file_path": f"{CWD}/CLAUDE.md", "content": doc}, {"type": "create"})
    summary, observations = _summary([write], request="/init")
    facts = observations[0]["facts"]
    assert "## Commands" in facts and "## Architecture" in facts
    assert "Content: `pnpm dev` starts the viewer on port 3400" in facts
    assert observations[0]["title"] == "Created CLAUDE.md"  # the title stays short
    line = summary.completed.splitlines()[0]
    assert line.startswith("- Created CLAUDE.md — ") and "`pnpm test` runs vitest (212 tests)" in line


def test_a_subagent_late_in_a_long_request_still_reaches_investigated():
    reads = [_tool("Read", {"file_path": f"{CWD}/src/m{n}.py"},
                   {"type": "text", "file": {"filePath": f"{CWD}/src/m{n}.py", "content": f"x = {n}\n"}}, f"r{n}")
             for n in range(8)]
    task = _tool("Task", {"description": "Audit token handling"},
                 {"content": [{"type": "text", "text": "- `TokenCache.evict` never runs: the TTL is 0\n"}]}, "t")
    summary, _ = _summary(reads + [task], request="Audit the token store")
    assert summary.investigated.startswith("- Delegated: Audit token handling → `TokenCache.evict` never runs")


def test_a_long_request_in_words_is_not_cut_down_to_an_error_line():
    from claude_mem.compress.request_summary import _with_pasted_error

    request = ("Please orchestrate the CLAUDE.md update for this repository.\n"
               "1. Read the existing docs and the package manifest first.\n"
               "2. If a command is missing from the docs, add it with what it does.\n"
               "3. If the tests fail, do not touch them: report which ones and why.\n"
               "4. Keep the architecture section short and name the main modules.\n"
               "5. Write everything in English, even though this prompt mentions the team in Tokyo.\n"
               "6. Finish with a list of what you could not verify.\n")
    assert _with_pasted_error(request) == request


def _tool_event(name, tool_input, response=None, *, error=None, tool_use_id="w"):
    payload = {"session_id": "s", "cwd": CWD, "tool_name": name, "tool_use_id": tool_use_id,
               "tool_input": tool_input}
    if error is not None:
        payload["error"] = error
        return parse_event("PostToolUseFailure", json.dumps(payload))
    payload["tool_response"] = response
    return parse_event("PostToolUse", json.dumps(payload))


def test_a_web_search_keeps_what_it_answered_not_its_links():
    answer = ("Based on the search results, here's what I found:\n\n## Setup\n\n"
              "MixAudit provides a `mix deps.audit` task to scan dependencies for known vulnerabilities.\n"
              "Add `{:mix_audit, \"~> 2.1\", only: [:dev, :test], runtime: false}` to deps.")
    event = _tool_event("WebSearch", {"query": "mix_audit setup"}, {
        "query": "mix_audit setup", "durationSeconds": 5.1,
        "results": [{"tool_use_id": "srv1", "content": [{"title": "mix_audit | Hex", "url": "https://hex.pm/x"}]},
                    answer]})
    obs = HeuristicCompressor(load()).observe(_ctx(), [event]).observations[0]
    assert obs.title.startswith("Searched the web for `mix_audit setup` → MixAudit provides a `mix deps.audit`")
    assert obs.facts[:2] == ("MixAudit provides a `mix deps.audit` task to scan dependencies for known vulnerabilities.",
                             "Add `{:mix_audit, \"~> 2.1\", only: [:dev, :test], runtime: false}` to deps.")
    assert not any("srv1" in f or "tool_use_id" in f for f in obs.facts)
    # links only: their titles, not the JSON they came in
    links = _tool_event("WebSearch", {"query": "q"}, {"results": [{"content": [{"title": "Igniter v0.7.0 docs", "url": "u"}]}]})
    obs = HeuristicCompressor(load()).observe(_ctx(), [links]).observations[0]
    assert obs.facts == ("Igniter v0.7.0 docs",)


def test_a_fetched_page_keeps_its_fact_lines():
    event = _tool_event("WebFetch", {"url": "https://example.org/tools", "prompt": "what tools?"}, {
        "code": 200, "result": "# Supported tools\n\nThis is a marketplace.\n\n"
                               "1. Add the marketplace: `/plugin marketplace add owner/repo`\n"
                               "2. Install: `/plugin install elixir@elixir`\n"})
    obs = HeuristicCompressor(load()).observe(_ctx(), [event]).observations[0]
    assert obs.title == "Fetched https://example.org/tools → Add the marketplace: `/plugin marketplace add owner/repo`"
    assert "Install: `/plugin install elixir@elixir`" in obs.facts


def test_an_mcp_tools_long_prose_keeps_its_fact_lines():
    notes = ("Key architectural insights:\n\n1. **Oracle via visual reasoning** is the core: a multimodal "
             "judgment, not hardcoded visual regression.\n2. Use `click(x, y)` instead of `browser_click(ref)`.\n"
             + "More context that goes on and on without any particular marks. " * 4)
    event = _tool_event("mcp__journal__process_thoughts", {"technical_insights": notes},
                  [{"type": "text", "text": "Thoughts recorded successfully."}])
    obs = HeuristicCompressor(load()).observe(_ctx(), [event]).observations[0]
    assert obs.title.startswith("Used mcp__journal__process_thoughts → Oracle via visual reasoning")
    assert "Use `click(x, y)` instead of `browser_click(ref)`." in obs.facts


def test_a_check_that_passed_with_findings_names_the_first():
    out = ("┃ [D] ↘ Nested modules could be aliased at the top of the invoking module.\n"
           "┃       lib/app/summary.ex:109:10 #(App.Summary.call_llm)\n\n"
           "Analysis took 0.4 seconds (0.04s to load, 0.3s running 69 checks on 114 files)\n"
           "876 mods/funs, found 5 software design suggestions.\n")
    obs = HeuristicCompressor(load()).observe(_ctx(), [_bash("mix credo --strict 2>&1 | tail -15", out)]).observations[0]
    assert "passed: found 5 software design suggestions. — " in obs.title
    assert "Nested modules could be aliased" in obs.title


def test_a_failure_behind_a_progress_meter_keeps_its_real_cause():
    error = ("Exit code 1\n  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
             "                                 Dload  Upload   Total   Spent    Left  Speed\n"
             "100 21.1M    0 21.1M    0     0  1078k      0 --:--:--  0:00:20 --:--:-- 1140k\n"
             "(eval):1: no matches found: todo-master/examples/vanilla-es6/*")
    obs = HeuristicCompressor(load()).observe(_ctx(), [_bash(
        "curl -L https://x/master.zip -o t.zip && unzip -q t.zip && cp -r todo-master/examples/vanilla-es6/* app/",
        error=error)]).observations[0]
    assert obs.title.endswith("failed (exit code 1): (eval):1: no matches found: todo-master/examples/vanilla-es6/*")
    assert not any("% Total" in f or "--:--:--" in f for f in obs.facts)


def test_a_failed_fetch_is_learned_and_what_still_fails_comes_before_the_todos():
    todo = _tool_event("TodoWrite", {"todos": [{"content": f"Step {i}", "status": "pending"} for i in range(6)]},
                 {"oldTodos": []}, tool_use_id="t")
    summary, _ = _summary([
        _tool_event("WebFetch", {"url": "https://example.org/agents"}, error="Request failed with status code 403",
              tool_use_id="f"),
        _bash("npm run build", error="Exit code 2\nsrc/a.ts(3,1): error TS2769: No overload matches this call.",
              tool_use_id="b"),
        todo])
    assert "WebFetch failed: Request failed with status code 403" in summary.learned
    assert "Still failing" not in summary.learned
    assert summary.next_steps.splitlines()[0].startswith("- Still failing: `npm run build` failed")
    assert "WebFetch" not in summary.next_steps


def test_a_read_manifest_or_document_keeps_what_it_says():
    package = _tool_event("Read", {"file_path": f"{CWD}/package.json"}, {"type": "text", "file": {
        "filePath": f"{CWD}/package.json", "numLines": 9, "content": json.dumps(
            {"name": "demo", "version": "0.1.0", "scripts": {"dev": "next dev --turbopack"},
             "dependencies": {"next": "15.1.0"}})}})
    readme = _tool_event("Read", {"file_path": f"{CWD}/README.md"}, {"type": "text", "file": {
        "filePath": f"{CWD}/README.md", "numLines": 6, "content":
            "# Demo\n\nA small app.\n\n## Setup\n\nRun `pnpm install` then `pnpm dev` (Node 20.11).\n"}})
    first, second = HeuristicCompressor(load()).observe(_ctx(), [package, readme]).observations
    assert "Scripts: dev: next dev --turbopack" in first.facts and "Dependencies: next 15.1.0" in first.facts
    assert "## Setup" in second.facts
    assert "Content: Run `pnpm install` then `pnpm dev` (Node 20.11)." in second.facts


def test_an_edit_that_adds_to_a_document_keeps_its_fact_lines():
    new = ("## Commands\n\n- Dev server: `pnpm dev` (port 3400)\n- Type check: `pnpm typecheck`\n"
           "- Tests: `pnpm test` runs Vitest 2.1\n\n## Layout\n\n- `src/server/` holds the Hono API\n")
    event = _tool_event("Edit", {"file_path": f"{CWD}/CLAUDE.md", "old_string": "## Notes\n",
                                 "new_string": "## Notes\n" + new}, {"originalFile": "# Project\n## Notes\n"})
    obs = HeuristicCompressor(load()).observe(_ctx(), [event]).observations[0]
    assert "Content: Tests: `pnpm test` runs Vitest 2.1" in obs.facts
    assert "Content: `src/server/` holds the Hono API" in obs.facts


def test_a_failed_test_run_names_the_failing_tests_from_its_middle():
    out = ("> app@1.0.0 test\n> jest\n\nFAIL src/cart.test.js\n  ● cart › applies the discount before tax\n\n"
           "    Expected: 108\n    Received: 110\n\nPASS src/util.test.js\n\n"
           "Test Suites: 1 failed, 1 passed, 2 total\nTests:       1 failed, 7 passed, 8 total\nTime: 0.5 s\n")
    obs = HeuristicCompressor(load()).observe(_ctx(), [_bash("npm test 2>&1 | tail -40", out)]).observations[0]
    assert "failed" in obs.title
    assert "FAIL src/cart.test.js" in obs.facts and "● cart › applies the discount before tax" in obs.facts


def test_a_long_look_keeps_its_telling_lines_from_the_middle():
    out = ("spotter-dov.1: Extract shared transcript presentation\nStatus: open\nPriority: P1\n\n"
           "Description:\nBoth `SessionLive` and `SubagentLive` render transcripts with duplicated helpers.\n"
           "Move them into `TranscriptComponents` and attach an AshComputer.\n\nDepends on: none\n"
           "Created: 2026-02-10\nUpdated: 2026-02-11\nLabels: ui\n")
    obs = HeuristicCompressor(load()).observe(_ctx(), [_bash("cat notes/issue.txt", out)]).observations[0]
    assert any(f.startswith("Shows: ") and "`SubagentLive`" in f for f in obs.facts)


def _real_events(session, indices):
    """Hook payloads of a real tune session (tests/fixtures/real-world, see its README)."""
    from pathlib import Path

    lines = (Path(__file__).parent / "fixtures" / "real-world" / f"session-{session}.jsonl").read_text().splitlines()
    out = []
    for i in indices:
        record = json.loads(lines[i])
        out.append(parse_event(record["event"], json.dumps(record["stdin"])))
    return out


def test_tsc_errors_are_diagnostics_and_a_build_piped_to_head_that_printed_them_failed():
    # episodic-research: `npm run build` failed (TS2322, TS2769), an edit, then
    # `npm run build 2>&1 | head -50` exited 0 still printing TS2769, then a clean build.
    summary, observations = _summary(_real_events("episodic-research", (92, 93, 94, 95, 96, 97, 98)),
                                     request="Build the agent")
    first = next(o for o in observations if o["title"].startswith("`npm run build` failed"))
    assert ("Problem: src/agent/scenario-agent.ts(245,9): error TS2769: No overload matches this call."
            in first["facts"])
    piped = next(o for o in observations if "head -50" in o["title"])
    assert piped["title"] == ("`npm run build 2>&1 | head -50` failed: src/agent/scenario-agent.ts(245,9): "
                              "error TS2769: No overload matches this call.")
    assert "failure" in piped["concepts"]
    # The piped run is not what fixed the first failure: its own error is learned too.
    assert "TS2769" in summary.learned
    assert "→ fixed: `npm run build 2>&1 | head -50`" not in summary.learned


def test_a_command_whose_output_echoes_its_arguments_is_listed_once():
    # spotter-dov: `bd close X --reason="…"` printed "✓ Closed X: …" (the reason again);
    # `bd update` printed what it did in words the command does not have.
    summary, _ = _summary(_real_events("spotter-dov", (45, 48)), request="Work on the bead")
    closed = next(l for l in summary.completed.splitlines() if "bd close" in l)
    assert closed.startswith("- Ran `bd close spotter-dov.1 --reason=\"Extracted shared transcript")
    assert "→" not in closed and "✓ Closed" not in closed
    assert "- Ran `bd update spotter-dov.2 --status in_progress` → ✓ Updated issue: spotter-dov.2" in summary.completed


def test_a_checks_finding_without_a_place_and_a_tsc_error_are_learned():
    # spotter-dov: `mix credo --strict | tail` passed with suggestions whose place is on
    # another line (event 44); episodic-research: tsc's `path(line,col)` errors (event 92).
    summary, _ = _summary(_real_events("spotter-dov", (44,)), request="Run the linters")
    assert "`mix credo --strict`: [D] ↘ Nested modules could be aliased at the top of the invoking module." \
        in summary.learned
    # tsc's path(line,col) errors are placed problems; one the failure's line quotes is said once.
    summary, _ = _summary(_real_events("episodic-research", (92,)), request="Build it")
    assert "error TS2322" in summary.next_steps and "TS2322" not in summary.learned
    summary, _ = _summary(_real_events("episodic-research", (92, 93, 94, 95, 96, 97, 98)), request="Build it")
    assert summary.learned.count("error TS2322") == 1
