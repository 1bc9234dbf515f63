"""The context a new session starts with: content, order, and the size budget."""
from __future__ import annotations

import json
import time

from claude_mem import config, context
from claude_mem.models import Observation, Summary
from claude_mem.store import Store


def _fill(store, project: str, n_obs: int, n_summaries: int, long: bool = False):
    with store.write():
        session = store.open_session(f"s-{project}", project, f"/w/{project}", 1.0)
        for i in range(n_obs):
            store.add_observation(session["id"], project, i // 10 + 1, Observation(
                type="discovery", title=f"Read src/file_{i}.py" + (" x" * 200 if long else ""),
                files_read=(f"src/file_{i}.py",)), f"{project}{i}", "heuristic", 1000.0 + i)
        for i in range(n_summaries):
            store.upsert_summary(session["id"], project, i + 1, Summary(
                request=f"Request {i}" + (" words" * 400 if long else ""),
                completed=f"- Finished step {i}", files_edited=(f"src/file_{i}.py",)),
                "heuristic", 2000.0 + i)


def test_empty_memory_renders_nothing():
    with Store(config.db_path()) as store:
        assert context.render(store, "nothing-here", config.load()) == ""


def test_latest_summary_in_full_then_earlier_lines_then_observation_index():
    with Store(config.db_path()) as store:
        _fill(store, "proj", 5, 3)
        text = context.render(store, "proj", config.load())
    latest = text.index("## Latest work")
    assert "**Request:** Request 2" in text[latest:]
    earlier = text.index("## Earlier requests")
    assert "Request 1" in text[earlier:] and "Request 0" in text[earlier:]
    index = text.index("## Recent observations")
    assert latest < earlier < index
    assert "- #5 " in text[index:] and "Read src/file_4.py" in text[index:]
    # newest first; a bare "Read src/file_0.py" adds nothing when the summaries name that file
    assert text.index("#5 ") < text.index("#4 ")
    assert "- #1 " not in text and "src/file_0.py" in text


def test_the_budget_holds_with_10000_observations_and_huge_fields(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "100000")  # asks for more than allowed
    with Store(config.db_path()) as store:
        _fill(store, "big", 10_000, 50, long=True)
        text = context.render(store, "big", config.load())
    out = context.hook_json(text)
    assert len(out) < 10_000  # Claude Code cuts hook output at 10,000 characters
    assert json.loads(out)["hookSpecificOutput"]["additionalContext"]


def test_a_small_budget_is_respected(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "300")
    with Store(config.db_path()) as store:
        _fill(store, "p", 200, 20)
        text = context.render(store, "p", config.load())
    assert len(text) <= 1200
    assert "## Latest work" in text


def test_projects_do_not_leak_into_each_other():
    with Store(config.db_path()) as store:
        _fill(store, "alpha", 3, 1)
        _fill(store, "beta", 3, 1)
        text = context.render(store, "alpha", config.load())
    assert "alpha" in text and "beta" not in text


def test_hook_json_escapes_and_trims():
    text = "line with \"quotes\" and \\ backslashes\n" * 600
    out = context.hook_json(text)
    assert len(out) < 10_000
    assert json.loads(out)["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert time.time()


def test_a_quick_question_does_not_push_the_real_work_out_of_full_view():
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "proj", "/w/proj", 1.0)
            store.upsert_summary(s["id"], "proj", 1, Summary(
                request="Fix the rounding bug", investigated="- Read src/money.py",
                learned="- Cause: float arithmetic", completed="- Edited src/money.py",
                files_edited=("src/money.py",)), "heuristic", 100.0)
            store.upsert_summary(s["id"], "proj", 2, Summary(
                request="What did we change last time?", completed="- We fixed rounding."),
                "heuristic", 200.0)
        text = context.render(store, "proj", config.load())
    full = text[text.index("## Latest work"):text.index("## Earlier requests")]
    assert "**Request:** Fix the rounding bug" in full and "Cause: float arithmetic" in full
    assert "What did we change last time?" in text[text.index("## Earlier requests"):]


def test_after_compaction_only_the_other_sessions_come_back():
    with Store(config.db_path()) as store:
        with store.write():
            for sid, request, at in (("old", "Fix the rounding bug", 100.0), ("now", "Add CSV export", 200.0)):
                s = store.open_session(sid, "proj", "/w/proj", at)
                store.upsert_summary(s["id"], "proj", 1, Summary(
                    request=request, learned="- Cause: floats", files_edited=("src/money.py",)),
                    "heuristic", at)
    payload = {"session_id": "now", "cwd": "/w/proj", "source": "compact"}
    text = json.loads(context.session_start_output(payload, config.load()))[
        "hookSpecificOutput"]["additionalContext"]
    assert "Fix the rounding bug" in text and "Add CSV export" not in text
    assert "this session's own work is in the summary above" in text
    startup = context.session_start_output({**payload, "source": "startup"}, config.load())
    assert "Add CSV export" in startup


# -- issue 21, round 4: more knowledge in the same budget -----------------------------------


def _obs(store, session, title, at, prompt=1, **fields):
    return store.add_observation(session["id"], session["project"], prompt,
                                 Observation(type=fields.pop("type", "discovery"), title=title, **fields),
                                 f"t{at}", "heuristic", at)


def test_earlier_requests_of_the_same_day_give_the_date_once():
    day = time.mktime((2026, 3, 4, 9, 0, 0, 0, 0, -1))
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "proj", "/w/proj", day)
            for n, request in enumerate(("Fix the rounding bug", "Add CSV export", "Ship it")):
                store.upsert_summary(s["id"], "proj", n + 1, Summary(
                    request=request, completed="- Edited src/money.py\n- Ran it", files_edited=("src/money.py",)),
                    "heuristic", day + 60 * n)
            other = store.open_session("t", "proj", "/w/proj", day - 86400)
            store.upsert_summary(other["id"], "proj", 1, Summary(request="Yesterday's work"), "heuristic",
                                 day - 86400)
        text = context.render(store, "proj", config.load())
    assert "## Latest work — 2026-03-04 09:02" in text
    assert "- 09:01 — Add CSV export" in text and "- 09:00 — Fix the rounding bug" in text
    assert "- 2026-03-03 09:00 — Yesterday's work" in text


def test_the_index_keeps_its_most_telling_lines_when_not_all_fit(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "400")
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "proj", "/w/proj", 1.0)
            store.upsert_summary(s["id"], "proj", 1, Summary(request="Make the tests pass"), "heuristic", 10.0)
            _obs(store, s, "`pytest -q` failed (exit code 1): 1 failed, 9 passed — KeyError: 'due'", 20.0,
                 concepts=("command", "failure"))
            _obs(store, s, "Delegated: map the scheduler → `Scheduler.tick` drops due dates", 21.0,
                 concepts=("subagent",))
            for n in range(19):  # newer, and worth little: they used to take every line
                _obs(store, s, f"Todo list: {n} completed, 1 in progress; doing: step {n}", 30.0 + n,
                     type="decision", concepts=("todo",))
                _obs(store, s, f"`git status --short -- part{n}` succeeded", 100.0 + n, concepts=("command",))
        text = context.render(store, "proj", config.load())
    index = text[text.index("## Recent observations"):]
    assert "KeyError: 'due'" in index and "`Scheduler.tick` drops due dates" in index
    assert index.index("Delegated:") < index.index("KeyError")  # still newest first
    assert len(text) <= 1600


def test_an_index_line_the_summary_already_prints_is_not_repeated():
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "proj", "/w/proj", 1.0)
            _obs(store, s, "No files match `package.json`", 5.0)
            _obs(store, s, "Read src/money.py — Money arithmetic in cents", 6.0, files_read=("src/money.py",))
            store.upsert_summary(s["id"], "proj", 1, Summary(
                request="Look around", investigated="- No files match `package.json`\n- Read src/other.py"),
                "heuristic", 10.0)
        text = context.render(store, "proj", config.load())
    assert text.count("No files match `package.json`") == 1
    assert "- #2 " in text and "Money arithmetic in cents" in text


def test_an_earlier_requests_line_keeps_its_checks_figures_the_reply_does_not_give():
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "proj", "/w/proj", 1.0)
            store.upsert_summary(s["id"], "proj", 1, Summary(
                request="Raise coverage", notes="Done: coverage is up and everything passes.",
                completed="- Edited tests/test_money.py\n- `pytest --cov`: 212 passed in 3.1s\n"
                          "- `coverage report`: TOTAL 1200 60 95%"), "heuristic", 10.0)
            store.upsert_summary(s["id"], "proj", 2, Summary(
                request="Now the docs", completed="- Edited README.md\n- Edited docs/a.md",
                files_edited=("README.md",)), "heuristic", 20.0)
        text = context.render(store, "proj", config.load())
    earlier = text[text.index("## Earlier requests"):]
    assert "212 passed in 3.1s" in earlier and "TOTAL 1200 60 95%" in earlier


def test_a_request_cut_off_before_its_summary_shows_what_was_asked_and_reaches_further_back():
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "proj", "/w/proj", 1.0)
            store.add_prompt(s["id"], "p1", "Audit the token store for leaks", 1.0)
            store.upsert_summary(s["id"], "proj", 1, Summary(request="Audit the token store for leaks",
                                                             completed="- Read src/store.py"), "heuristic", 2.0)
            store.add_prompt(s["id"], "p2", "continue", 3.0)
            _obs(store, s, "`pytest -q` failed (exit code 1): KeyError: 'token'", 4.0, prompt=2,
                 concepts=("command", "failure"))
            for n in range(60):  # the rest of the cut-off request, newer
                _obs(store, s, f"Read src/part_{n}.py — part {n} of the store", 5.0 + n, prompt=2,
                     files_read=(f"src/part_{n}.py",))
        text = context.render(store, "proj", config.load())
    assert ("## In progress, not summarized yet" in text and
            "**Request:** continue (continuing: Audit the token store for leaks)" in text)
    assert text.index("## In progress") < text.index("## Latest work")
    # 61 observations, 40 in the first pool: the budget left unused reaches the oldest one
    assert "KeyError: 'token'" in text


def test_room_left_after_the_index_shows_what_the_telling_observations_found(monkeypatch):
    """A short session leaves most of a large budget unused: the index's most telling
    lines get their facts (not the call's bookkeeping, nothing printed above), within it."""
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "1500")
    with Store(config.db_path()) as store:
        with store.write():
            session = store.open_session("s-short", "short", "/w/short", 1.0)
            _obs(store, session, "Searched the web for `audit tool setup`", 1000.0,
                 facts=("Input: {\"query\": \"audit tool setup\"}",
                        "The audit task is run with `mix deps.audit` and reads mix.lock",
                        "Add it to deps with `{:mix_audit, \"~> 2.1\", only: [:dev, :test]}`"),
                 concepts=("web",))
            _obs(store, session, "Read mix.exs — spotter 0.1.0", 1001.0, files_read=("mix.exs",),
                 facts=("Read mix.exs (84 lines)", "Defines: Spotter.MixProject, deps, aliases"))
            store.upsert_summary(session["id"], "short", 1, Summary(
                request="find how to set up the audit tool", completed="- Read mix.exs"),
                "heuristic", 1002.0)
        text = context.render(store, "short", config.load())
    index = text[text.index("## Recent observations"):]
    assert "  - The audit task is run with `mix deps.audit` and reads mix.lock" in index
    assert "`{:mix_audit, \"~> 2.1\"" in index
    assert "Defines: Spotter.MixProject" in index
    assert "Input:" not in index and "(84 lines)" not in index
    assert len(text) <= 1500 * 4
    # the facts sit under their own line, so the ids stay parseable
    assert index.index("#1 ") < index.index("mix deps.audit") and index.index("#2 ") < index.index("#1 ")


def test_a_full_index_gets_no_facts(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "400")
    with Store(config.db_path()) as store:
        with store.write():
            session = store.open_session("s-full", "full", "/w/full", 1.0)
            for i in range(60):
                _obs(store, session, f"Found thing number {i} in module_{i}", 1000.0 + i,
                     facts=(f"A long finding about module_{i} that would take room",))
        text = context.render(store, "full", config.load())
    assert "A long finding" not in text and len(text) <= 1600


def test_a_long_request_in_progress_shows_more_of_itself_with_a_larger_budget(monkeypatch):
    prompt = "Audit the package for security issues. " + " ".join(f"Check area {n} carefully." for n in range(60))
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "audit", "/w/audit", 1.0)
            store.add_prompt(s["id"], "p1", prompt, 1.0)
            _obs(store, s, "Read src/auth.ts — token checks", 2.0, files_read=("src/auth.ts",))
        shown = {}
        for tokens in ("1000", "2000"):
            monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", tokens)
            text = context.render(store, "audit", config.load())
            shown[tokens] = next(l for l in text.splitlines() if l.startswith("**Request:**"))
    assert 400 <= len(shown["1000"]) < len(shown["2000"]) <= 1020
    assert "Check area 25 carefully." in shown["2000"] and "Check area 25" not in shown["1000"]


def test_an_observation_the_summary_names_gives_its_other_facts_when_there_is_room(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "1500")
    title = "Delegated: Explore the renderer → Both views render transcripts with their own helpers"
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "views", "/w/views", 1.0)
            obs = _obs(store, s, title, 2.0, concepts=("subagent",),
                       facts=("Both views render transcripts with their own helpers",
                              "The list view already uses `mount_computers()` from PaneListLive",
                              "Hook names differ: `TranscriptHighlighter` and `TranscriptSelection`"))
            store.upsert_summary(s["id"], "views", 1, Summary(
                request="Unify the two transcript views", investigated=f"- {title}",
                completed="- Edited lib/views.ex"), "heuristic", 3.0)
        text = context.render(store, "views", config.load())
    assert text.count(title) == 1  # the summary names it; the index does not repeat it
    index = text[text.index("## Recent observations"):]
    assert "(named above), more:" in index
    assert "`mount_computers()` from PaneListLive" in index and "`TranscriptSelection`" in index
    assert len(text) <= 1500 * 4


def test_room_filling_facts_do_not_restate_their_title_or_an_earlier_todo_list(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "1500")
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "init", "/w/init", 1.0)
            _obs(store, s, "Todo list: 2 pending; doing: Look around", 1.0, type="decision",
                 concepts=("todo",),
                 facts=("[pending] Look around the folder", "[pending] Write the project notes"))
            _obs(store, s, "No files match `package.json`", 2.0, facts=("0 files match `package.json`",))
            _obs(store, s, "`ls -la` listed empty (total 0)", 3.0,
                 facts=("drwxr-xr-x 2 USER staff 64 9 3 09:47 .",))
            _obs(store, s, "Todo list: 1 completed, 1 pending; doing: Write the project notes", 4.0,
                 type="decision", concepts=("todo",),
                 facts=("[completed] Look around the folder", "[in_progress] Write the project notes"))
        text = context.render(store, "init", config.load())
    assert "0 files match" not in text and "drwxr-xr-x" not in text
    assert text.count("Look around the folder") == 1


def test_a_long_commands_full_text_comes_after_what_it_found(monkeypatch):
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "1500")
    with Store(config.db_path()) as store:
        with store.write():
            s = store.open_session("s", "ship", "/w/ship", 1.0)
            _obs(store, s, "`npm install` succeeded: added 203 packages", 1.0,
                 facts=("Command: npm install --legacy-peer-deps --no-audit && npm run build",
                        "Output: added 203 packages, 5 moderate severity vulnerabilities",
                        "Purpose: Install"), concepts=("command",))
        text = context.render(store, "ship", config.load())
    lines = text.splitlines()
    found = lines.index("  - Output: added 203 packages, 5 moderate severity vulnerabilities")
    assert lines[found + 1] == "  - Command: npm install --legacy-peer-deps --no-audit && npm run build"
    assert "Purpose: Install" not in text  # its words are the title's


def test_a_written_documents_content_lines_come_before_its_headings(monkeypatch):
    """spotter-beads' plan.md: its first two facts shown were "### Description" and
    "## Problem", which say nothing; the lines of what the plan says come first."""
    monkeypatch.setenv("CLAUDE_MEM_CONTEXT_TOKENS", "1000")
    with Store(config.db_path()) as store:
        with store.write():
            session = store.open_session("s-plan", "plan", "/w/plan", 1.0)
            _obs(store, session, "Created plan.md", 1000.0, type="change", files_modified=("plan.md",),
                 facts=("Created plan.md (103 lines)", "# Plan: Setup Code Quality Tools", "### Description",
                        "## Problem", "## Solution",
                        "Content: Run `mix credo gen.config` — generates `.credo.exs` with defaults",
                        "Content: Verify: `mix credo list`, `mix dialyzer`, `mix deps.audit`"))
        text = context.render(store, "plan", config.load())
    facts = text[text.index("Created plan.md"):].split("\n- #")[0].splitlines()[1:]
    assert facts[:2] == ["  - Content: Run `mix credo gen.config` — generates `.credo.exs` with defaults",
                         "  - Content: Verify: `mix credo list`, `mix dialyzer`, `mix deps.audit`"]
    assert "### Description" not in text and "## Problem" not in text  # section names say nothing
    assert "  - # Plan: Setup Code Quality Tools" in text
    assert len(text) <= 1000 * 4
