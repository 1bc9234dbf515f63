"""Extractors: outcomes, causes, diagnostics, symbols, commits and answers from real tool output.

Samples marked "real" were produced on this machine by the tool itself (pytest 8, unittest,
cargo 1.95, rustc, node 20 --test) or come from the recorded real sessions; the others
are written in the exact format their tool prints.
"""
from __future__ import annotations

import json
import pytest

from claude_mem.compress import extract

OUTCOMES = [
    # (tool, output lines, expected outcome, failed?)
    ("pytest (real)", ["FAILED test_a.py::test_bad - AssertionError: math",
                       "FAILED test_a.py::T::test_v - AssertionError: 2 != 3",
                       "2 failed, 2 passed in 5.46s"], "2 failed, 2 passed in 5.46s", True),
    ("pytest banner", ["============================== 5 passed in 0.55s ==============================="],
     "5 passed in 0.55s", False),
    ("unittest (real)", ["AssertionError: 2 != 3", "-" * 70, "Ran 2 tests in 0.011s", "",
                         "FAILED (failures=1)"], "Ran 2 tests in 0.011s: FAILED (failures=1)", True),
    ("unittest ok", ["Ran 14 tests in 0.210s", "", "OK"], "Ran 14 tests in 0.210s: OK", False),
    ("cargo test (real)", ["running 2 tests", "test tests::bad ... FAILED", "test tests::ok ... ok",
                           "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; "
                           "0 filtered out; finished in 0.00s"],
     "test result: FAILED. 1 passed; 1 failed; 0 ignored", True),
    ("cargo test ok (real)", ["test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; "
                              "0 filtered out; finished in 0.00s"],
     "test result: ok. 2 passed; 0 failed; 0 ignored", False),
    ("mix test (real)", ["Finished in 5.7 seconds (1.6s async, 4.1s sync)",
                         "14 doctests, 410 tests, 0 failures"], "14 doctests, 410 tests, 0 failures", False),
    ("mix test failing", ["Finished in 0.2 seconds", "5 tests, 5 failures"], "5 tests, 5 failures", True),
    ("go test", ["--- FAIL: TestParsePort (0.00s)", "    port_test.go:12: got 0, want 80", "FAIL",
                 "FAIL\tgithub.com/acme/netutil\t0.012s"], "FAIL github.com/acme/netutil 0.012s", True),
    ("go test cover", ["ok  \tgithub.com/acme/netutil\t0.012s\tcoverage: 81.2% of statements"],
     "ok github.com/acme/netutil 0.012s coverage: 81.2% of statements", False),
    ("jest", ["Test Suites: 1 failed, 2 passed, 3 total", "Tests:       1 failed, 5 passed, 6 total",
              "Snapshots:   0 total", "Time:        1.52 s"], "Tests: 1 failed, 5 passed, 6 total", True),
    ("vitest", [" Test Files  1 failed | 2 passed (3)", "      Tests  1 failed | 10 passed (11)"],
     "Tests 1 failed | 10 passed (11)", True),
    ("mocha", ["  5 passing (20ms)", "  1 failing"], "5 passing (20ms), 1 failing", True),
    ("node --test (real)", ["1..2", "# tests 2", "# suites 0", "# pass 1", "# fail 1",
                            "# cancelled 0"], "# pass 1, # fail 1", True),
    ("rspec", ["Finished in 0.04 seconds (files took 0.2 seconds to load)", "12 examples, 1 failure"],
     "12 examples, 1 failure", True),
    ("maven", ["[ERROR] Tests run: 12, Failures: 1, Errors: 0, Skipped: 0", "[INFO] BUILD FAILURE"],
     "Tests run: 12, Failures: 1, Errors: 0, Skipped: 0; BUILD FAILURE", True),
    ("gradle", ["5 tests completed, 1 failed", "BUILD FAILED in 3s"],
     "5 tests completed, 1 failed; BUILD FAILED in 3s", True),
    ("coverage.py", ["Name    Stmts   Miss  Cover", "TOTAL     123     12    90%"], "TOTAL 123 12 90%", False),
    ("mypy", ["src/app.py:3: error: Incompatible return value type",
              "Found 3 errors in 2 files (checked 10 source files)"],
     "Found 3 errors in 2 files (checked 10 source files)", True),
    ("eslint", ["✖ 5 problems (3 errors, 2 warnings)"], "✖ 5 problems (3 errors, 2 warnings)", True),
    ("credo (real)", ["876 mods/funs, found 5 software design suggestions."],
     "found 5 software design suggestions.", False),
    ("cargo build (real)", ["error[E0308]: mismatched types",
                            'error: could not compile `rs` (bin "rs") due to 1 previous error'],
     'error: could not compile `rs` (bin "rs") due to 1 previous error', True),
]


@pytest.mark.parametrize("tool,lines,expected,failed", OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_outcomes_in_each_tools_own_words(tool, lines, expected, failed):
    got = extract.outcome(lines)
    assert got == expected
    assert extract.outcome_failed(got) is failed


@pytest.mark.parametrize("lines", [
    ["Import complete: 0 created, 0 updated, 202 unchanged, 6 skipped"],  # bd sync (real): no test run
    ["Compiling 76 files (.ex)", "Generated spotter app"],
    ["3 files changed, 10 insertions(+), 2 deletions(-)"],
])
def test_counts_that_are_not_test_outcomes(lines):
    assert extract.outcome(lines) == ""


CAUSES = [
    ("git push (real)", ["fatal: The current branch spotter-dov has no upstream branch.",
                         "To push the current branch and set the remote as upstream, use", "",
                         "    git push --set-upstream origin spotter-dov"],
     "fatal: The current branch spotter-dov has no upstream branch."),
    ("git add ignored (real)", ["The following paths are ignored by one of your .gitignore files:",
                                "priv/static/assets", "hint: Use -f if you really want to add them.",
                                'hint: "git config advice.addIgnoredFile false"'],
     "The following paths are ignored by one of your .gitignore files:"),
    ("rustc (real)", ["   Compiling rs v0.1.0 (/tmp/rs)", "error[E0308]: mismatched types",
                      "  --> src/main.rs:10:22", "For more information about this error, try `rustc --explain E0308`.",
                      'error: could not compile `rs` (bin "rs") due to 1 previous error'],
     "error[E0308]: mismatched types"),
    ("cargo test panic (real)", ["---- tests::bad stdout ----",
                                 "thread 'tests::bad' (27638) panicked at src/main.rs:8:21:",
                                 "assertion `left == right` failed", "note: run with `RUST_BACKTRACE=1`"],
     "thread 'tests::bad' (27638) panicked at src/main.rs:8:21:"),
    ("python traceback", ["Traceback (most recent call last):", '  File "app.py", line 3, in <module>',
                          "    import yaml", "ModuleNotFoundError: No module named 'yaml'"],
     "ModuleNotFoundError: No module named 'yaml'"),
    ("elixir", ["== Compilation error in file lib/app.ex ==",
                "** (CompileError) lib/app.ex:3: undefined function foo/0"],
     "** (CompileError) lib/app.ex:3: undefined function foo/0"),
    ("npm", ["npm ERR! code E404", "npm ERR! 404 Not Found - GET https://registry.npmjs.org/lefpad",
             "npm ERR! A complete log of this run can be found in: /root/.npm/_logs/x.log"],
     "npm ERR! 404 Not Found - GET https://registry.npmjs.org/lefpad"),
]


@pytest.mark.parametrize("tool,lines,expected", CAUSES, ids=[c[0] for c in CAUSES])
def test_the_line_that_says_what_went_wrong(tool, lines, expected):
    assert extract.cause(lines) == expected


def test_diagnostics_printed_by_a_run_that_exited_zero():
    lines = ["lib/spotter/services/waiting_summary/slice_builder.ex:44:22:call_without_opaque Type mismatch",
             "lib/spotter_web/live/subagent_live.ex:25:guard_fail The guard clause can never succeed.",
             "done (warnings were emitted)"]  # real dialyzer --format short output behind `| grep`
    got = extract.diagnostics(lines)
    assert got[1] == "lib/spotter_web/live/subagent_live.ex:25:guard_fail The guard clause can never succeed."
    assert extract.diagnostics(["Compiling 4 files (.ex)", "Generated spotter app"]) == []



def test_errors_are_the_error_diagnostics_of_any_compiler():
    lines = ["> scenario-testing-agent@0.1.0 build", "> tsc",
             "src/agent/scenario-agent.ts(245,9): error TS2769: No overload matches this call.",
             "  The last overload gave the following error.",      # prose, not a diagnostic
             "Program.cs(12,5): warning CS0168: The variable 'e' is declared but never used",
             "src/main.rs:3:5: error[E0425]: cannot find value `x` in this scope",
             "error[E0308]: mismatched types"]
    assert extract.diagnostics(lines, limit=5)[0] == lines[2]
    assert extract.errors(lines) == [lines[2], lines[5], lines[6]]
    # Warnings, style findings and dialyzer's short format are findings, not errors.
    assert extract.errors(["app.py:3: warning: unused import", "┃ [D] ↘ Nested modules could be aliased",
                           "lib/x.ex:44:22:call_without_opaque Type mismatch"]) == []
    assert extract.errors(["tests/test_x.py:12: AssertionError"]) == []

SYMBOLS = [
    ("a.py", "import os\n\nclass InvoiceTotal:\n    def compute(self):\n        pass\n\nasync def fetch_rates():\n",
     ["InvoiceTotal", "compute", "fetch_rates"]),
    ("src/lib.rs", "pub struct Port(u16);\nimpl Display for Port {\n    fn fmt(&self) {}\n}\n"
                   "pub(crate) async fn parse_port(s: &str) -> u16 {}\nmacro_rules! port {}\n",
     ["Port", "fmt", "parse_port", "port"]),
    ("lib/x.ex", "defmodule Spotter.Services.TranscriptRenderer do\n  def render(msgs), do: msgs\n"
                 "  defp strip_ansi(text), do: text\n  def valid?(x), do: x\nend\n",
     ["Spotter.Services.TranscriptRenderer", "render", "strip_ansi", "valid?"]),
    ("main.go", "package main\n\ntype Server struct{}\n\nfunc (s *Server) Start() error {\n}\nfunc main() {}\n",
     ["Server", "Start"]),
    ("app.ts", "export interface Options {}\nexport async function loadConfig() {}\n"
               "export const useStore = () => {}\nclass Cache {\n  get(key) {\n  }\n}\n",
     ["Options", "loadConfig", "useStore", "Cache", "get"]),
    ("assets/js/app.js", "Hooks.TranscriptHighlighter = {\n  mounted() {\n  },\n}\n",
     ["Hooks.TranscriptHighlighter", "mounted"]),
    ("Invoice.java", "public final class Invoice {\n    public BigDecimal total(List<Item> items) {\n",
     ["Invoice", "total"]),
    ("lib/x.rb", "module Billing\n  class Invoice\n    def total!\n", ["Billing", "Invoice", "total!"]),
    ("notes.md", "# Title\ndef not_code\n", []),
]


@pytest.mark.parametrize("path,code,expected", SYMBOLS, ids=[s[0] for s in SYMBOLS])
def test_symbols_defined_in_each_language(path, code, expected):
    assert extract.symbols(code, path) == expected


def test_the_definition_an_edit_lies_inside():
    original = "def a():\n    return 1\n\ndef total(items):\n    tax = 0\n    return sum(items)\n"
    assert extract.enclosing(original, "    tax = 0\n", "m.py") == "total"
    assert extract.enclosing(original, "not there", "m.py") == ""
    js = "class TokenBucket {\n  refill(now) {\n    const elapsed = now - this.last\n  }\n}\n"
    assert extract.enclosing(js, "    const elapsed", "src/limiter.js") == "TokenBucket.refill"


def test_the_line_an_edit_changed():
    old = "  refill(now) {\n    const tokens = Math.floor(elapsed / 1000) * this.rate\n  }"
    new = "  refill(now) {\n    const tokens = (elapsed / 1000) * this.rate\n  }"
    assert extract.changed_line(old, new) == ("const tokens = Math.floor(elapsed / 1000) * this.rate",
                                              "const tokens = (elapsed / 1000) * this.rate")
    assert extract.changed_line("a\n", "a\nb\n") == ("", "")
    # a long shared start is left out, and a comment added above does not pair with the line
    old = "    this.tokens = Math.min(this.capacity, this.tokens + Math.floor(elapsed / 1000) * this.rate);"
    new = ("    // Keep fractions: a client calling every 600 ms must still earn tokens.\n"
           "    this.tokens = Math.min(this.capacity, this.tokens + (elapsed / 1000) * this.rate);")
    assert extract.changed_line(old, new) == ("…this.tokens + Math.floor(elapsed / 1000) * this.rate);",
                                              "…this.tokens + (elapsed / 1000) * this.rate);")


def test_quoted_text_and_heredocs_are_not_shell_code():
    command = ("git add a.py && git commit -m \"$(cat <<'EOF'\nfeat: x > y\n\nenum EOF-ish\nEOF\n)\""
               " && echo done > out.txt")
    code = extract.shell_code(command)
    assert "feat" not in code and "enum" not in code and "out.txt" in code
    mask = extract.mask_quoted('bd create --title="a > b" > log.txt')
    assert len(mask) == len('bd create --title="a > b" > log.txt') and mask.count(">") == 1


def test_commit_hash_from_git_commit_output():
    out = ("[spotter-dov 64f1b9a] feat: unified transcript visualization and debug parity (spotter-dov)\n"
           " 12 files changed, 1390 insertions(+), 303 deletions(-)")  # real
    assert extract.commit(out) == ("spotter-dov", "64f1b9a",
                                   "feat: unified transcript visualization and debug parity (spotter-dov)")
    assert extract.commit("[main (root-commit) 1a2b3c4] Initial commit") == ("main", "1a2b3c4", "Initial commit")
    assert extract.commit("nothing to commit, working tree clean") == ("", "", "")


def test_the_users_answers():
    response = {"questions": [{"question": "Which rig?"}],
                "answers": {"Which rig?": "No rig", "Which tools?": "Credo + Dialyxir + mix_audit"}}
    assert extract.answers(response) == [("Which rig?", "No rig"),
                                         ("Which tools?", "Credo + Dialyxir + mix_audit")]
    assert extract.answers({"questions": []}) == [] and extract.answers("x") == []


def test_the_line_a_command_ends_on():
    bisect = ["Bisecting: 2 revisions left to test after this (roughly 1 step)",
              "[df864f662491eca617e8f06fa7d348beafadf26d] Speed up conversions with integer math",
              "running  'python' '-m' 'pytest' '-q'",
              "df864f662491eca617e8f06fa7d348beafadf26d is the first bad commit",
              "commit df864f662491eca617e8f06fa7d348beafadf26d"]  # real git bisect run output
    assert extract.conclusion(bisect) == "df864f662491eca617e8f06fa7d348beafadf26d is the first bad commit"
    assert extract.conclusion(["Collecting rich", "Successfully installed rich-13.7.1"]) == \
        "Successfully installed rich-13.7.1"
    assert extract.conclusion(["✓ Closed spotter-dov.1: Extracted shared transcript"]) == \
        "✓ Closed spotter-dov.1: Extracted shared transcript"
    assert extract.conclusion(["one line"]) == "one line"
    # npm echoes the script it runs: the result is what follows
    assert extract.conclusion(["> app@0.1.0 build", "> tsc", "built in 2.1s"]) == "built in 2.1s"
    assert extract.conclusion([f"line {i}" for i in range(20)]) == ""


@pytest.mark.parametrize("command,subject", [
    ("git add -A && git commit -q -m 'rotate-backups: pick by name, not mtime' && git push",
     "rotate-backups: pick by name, not mtime"),
    ('git commit -am "Fix \\"quoted\\" totals"', 'Fix \\"quoted\\" totals'),
    ("git commit -m \"$(cat <<'EOF'\nfeat: unified transcript (spotter-dov)\n\nBody line\nEOF\n)\"",
     "feat: unified transcript (spotter-dov)"),
    ("git commit --message=wip", "wip"),
    ("git status", ""),
])
def test_the_message_a_commit_command_gives(command, subject):
    assert extract.commit_message(command) == subject


@pytest.mark.parametrize("line,failed", [
    ("all ring buffer tests passed", False), ("6 checks PASS", False), ("All tests passed!", False),
    ("3 tests failed", True), ("2 checks FAIL", True)])
def test_hand_written_test_runners(line, failed):
    got = extract.outcome([line])
    assert got and got in line and extract.outcome_failed(got) is failed


@pytest.mark.parametrize("path,content,identity", [
    ("package.json", '{\n  "name": "web-shop",\n  "version": "2.1.0",\n  "packageManager": "pnpm@8.15.1"\n}',
     "web-shop 2.1.0, pnpm@8.15.1"),
    ("svc/pyproject.toml", '[project]\nname = "invsync"\nversion = "1.2.0"\n', "invsync 1.2.0"),
    ("Cargo.toml", '[package]\nname = "ledger"\nversion = "0.3.0"\nedition = "2021"\n', "ledger 0.3.0"),
    ("mix.exs", 'def project do\n  [app: :spotter, version: "0.1.0", elixir: "~> 1.19"]', "spotter 0.1.0"),
    ("go.mod", "module example.com/tool\n\ngo 1.22\n", "example.com/tool 1.22"),
    ("src/app.py", '"""The app."""\nname = "x"\n', ""),
])
def test_what_a_manifest_says_the_package_is(path, content, identity):
    assert extract.manifest(content, path) == identity


def test_what_a_listing_listed():
    long_empty = ["total 0", "drwxr-xr-x  2 dev staff   64 Sep  3 09:47 .",
                  "drwxr-xr-x 39 dev staff 1248 Sep  3 09:47 .."]
    assert extract.listing(long_empty) == "empty (total 0)"
    assert extract.listing(["total 8", "-rw-r--r--@ 1 dev staff 421 Oct 20 21:06 .gitignore",
                            "drwxr-xr-x@ 5 dev staff 160 Oct 20 17:01 apps"]) == "2 entries: .gitignore, apps"
    assert extract.listing(["README.md", "src"]) == "2 entries: README.md, src"
    assert extract.listing([]) == "empty"


def test_the_lines_of_a_report_that_carry_facts():
    report = ("Perfect! Now I have everything I need.\n\n## Summary\n\n"
              "I looked at the whole project carefully and it is in good shape overall.\n"
              "- Express: 4.19.2 (the docs still say 4.17)\n"
              "- The router lives in `src/routes/index.ts` with **three** handlers\n"
              "Let me know if you need more.")
    assert extract.report_lines(report) == [
        "Express: 4.19.2 (the docs still say 4.17)",
        "The router lives in `src/routes/index.ts` with **three** handlers"]


def test_commit_body_in_a_line_without_trailers():
    command = ("git commit -m \"$(cat <<'EOF'\nfeat: retry policy\n\nBackoff doubles, capped at 30s.\n"
               "Jitter avoids thundering herds\n\n🤖 Generated with Claude Code\nCo-Authored-By: X <x@y>\nEOF\n)\"")
    assert extract.commit_message(command) == "feat: retry policy"
    assert extract.commit_body(command) == "Backoff doubles, capped at 30s. Jitter avoids thundering herds"
    assert extract.commit_body("git commit -m 'one line only'") == ""
    assert len(extract.commit_body("git commit -m 'a\n\n" + "word " * 200 + "'")) <= 240


def test_eslint_stylish_blocks_read_as_path_line_diagnostics():
    lines = ["/repo/src/app.ts", "  3:10  error  'x' is defined but never used  @typescript-eslint/no-unused-vars",
             "  9:1   warning  Unexpected any  @typescript-eslint/no-explicit-any", "",
             "✖ 2 problems (1 error, 1 warning)"]
    assert extract.diagnostics(lines) == [
        "/repo/src/app.ts:3:10: 'x' is defined but never used (@typescript-eslint/no-unused-vars)",
        "/repo/src/app.ts:9:1: Unexpected any (@typescript-eslint/no-explicit-any)"]


def test_a_reports_quoted_records_do_not_crowd_out_its_own_findings():
    report = ("## Draft\n\n```json\n{\n  \"id\": \"proj-2qx\",\n  \"created_at\": \"2026-02-10T23:00:00.000+01:00\",\n"
              "  \"title\": \"Setup tools\"\n}\n```\n\n## Summary\n"
              "- Generates the config with `mix credo gen.config`\n- Runs in sequence: credo → dialyzer\n")
    assert extract.report_lines(report) == ["Generates the config with `mix credo gen.config`",
                                            "Runs in sequence: credo → dialyzer"]
    # stored text cut inside a fence: what follows the cut marker is read again
    cut = "```json\n{\"a\": \"1.2.3\",\n\n[... 4000 chars truncated ...]\n\n- Uses `mix quality` for all three\n"
    assert extract.report_lines(cut) == ["Uses `mix quality` for all three"]
    # a report that is only a code block still says something
    assert extract.report_lines("```\nversion: 1.2.3 of `tool`\n```") == ["version: 1.2.3 of `tool`"]


def test_a_progress_meter_is_not_output():
    lines = ["  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current",
             "                                 Dload  Upload   Total   Spent    Left  Speed",
             "100 21.1M    0 21.1M    0     0  1078k      0 --:--:--  0:00:20 --:--:-- 1140k",
             "(eval):1: no matches found: pkg-master/examples/vanilla-es6/*"]
    assert extract.without_progress(lines) == ["(eval):1: no matches found: pkg-master/examples/vanilla-es6/*"]
    assert extract.without_progress(["14 doctests, 410 tests, 0 failures"]) == ["14 doctests, 410 tests, 0 failures"]


def test_a_manifest_says_its_scripts_and_dependencies():
    package = json.dumps({"name": "demo", "version": "0.1.0",
                          "scripts": {"dev": "next dev --turbopack", "build": "next build"},
                          "dependencies": {"next": "15.1.0", "react": "^19.0.0"},
                          "devDependencies": {"typescript": "^5"}})
    assert extract.manifest_facts(package, "web/package.json") == [
        "Scripts: dev: next dev --turbopack; build: next build",
        "Dependencies: next 15.1.0; react ^19.0.0", "Dev dependencies: typescript ^5"]
    pyproject = ('[project]\nname = "x"\ndependencies = ["httpx>=0.27", "rich"]\n'
                 '[project.scripts]\nx = "x.cli:main"\n[project.optional-dependencies]\ntest = ["pytest"]\n')
    assert extract.manifest_facts(pyproject, "pyproject.toml") == [
        "Scripts: x = x.cli:main", "Dependencies: httpx>=0.27; rich", "Extras: test"]
    assert extract.manifest_facts("{not json", "package.json") == []
    assert extract.manifest_facts("anything", "notes.txt") == []


def test_a_report_in_japanese_keeps_its_lines_with_names():
    report = ("調査が完了しました。\n"
              "フレームワークはNext.jsとTailwind CSSを使っています\n"
              "テストはまだありません\n"
              "ビルド：pnpm build で実行します\n")
    assert extract.report_lines(report) == ["フレームワークはNext.jsとTailwind CSSを使っています",
                                            "ビルド：pnpm build で実行します"]
