"""Extractors: the knowledge inside tool inputs and outputs, as small pure functions.

Contract: text in, short strings out; no I/O, no state, standard library only. Each one
reads what real tools print, across ecosystems, and returns "" / [] when it finds nothing:

- ``outcome(lines)`` — the result line(s) of a test, build, lint, type-check or coverage run
  (pytest, unittest, cargo, go test, jest, vitest, mocha, node --test, mix/ExUnit, rspec,
  maven, gradle, mypy, ruff, tsc, eslint, credo, dialyzer, coverage tools).
  ``outcome_failed(text)`` says whether such a line reports failures.
- ``cause(lines)`` — the line that says what went wrong (not a hint, a stack frame or the
  generic "exit code" line); ``diagnostics(lines)`` — ``path:line: problem`` (or tsc's
  ``path(line,col): problem``) lines that a run printed even though it exited 0 (a linter
  behind ``| grep``); ``errors(lines)`` — those of them that are errors.
- ``symbols(code, path)`` — names of modules, classes and functions defined in source code
  (Python, Rust, Elixir, Go, JS/TS, Java/Kotlin/C#, Ruby, shell); ``enclosing(original,
  snippet, path)`` — the definition an edited snippet lies inside.
- ``shell_code(command)`` — a command with quoted strings and heredoc bodies blanked, so
  a commit message is never read as a file name or a redirect.
- ``commit(stdout)`` — the short hash and subject that ``git commit`` printed;
  ``commit_message(command)`` / ``commit_body(command)`` — the subject and, in a line, the
  body of the message a ``git commit -m`` gives;
  ``conclusion(lines)`` — the line a state-changing command ends on.
- ``answers(tool_response)`` — the user's answers to the model's AskUserQuestion.
- ``manifest(content, path)`` — name, version (and package manager) of a package manifest;
  ``manifest_facts(content, path)`` — its scripts and dependencies (package.json,
  pyproject.toml); ``listing(lines)`` — what an ``ls`` listed, in a line;
  ``report_lines(text)`` — the lines of a subagent's report (or any prose: a web answer, a
  document) that carry facts (names, versions, figures), not its pleasantries nor the code
  blocks it quotes; ``without_progress(lines)`` — output without a progress meter's lines.

Why one long module (~630 lines): each extractor is a table of small patterns for one kind
of tool output; they share the cause-ranking helpers and are tested together.
"""
from __future__ import annotations

import json
import re

from claude_mem.text import said_once_first

# -- outcomes ---------------------------------------------------------------------------

_PYTEST_WORDS = {"failed", "passed", "error", "errors", "skipped", "xfailed", "xpassed",
                 "warning", "warnings", "deselected", "rerun"}
_COUNT_RUN = re.compile(r"\d+ [a-z]+(?:, \d+ [a-z]+)*(?: in [\d.]+s(?: \([\d:]+\))?)?")
_COUNTED_WORD = re.compile(r"\d+ ([a-z]+)")
_UNDERSCORES = re.compile(r"_+")

# (family, pattern): the first group (or the whole match) is the outcome text. A family
# keeps its last match in the output (the final summary of a run beats an earlier one).
OUTCOME_PATTERNS: list[tuple[str, re.Pattern]] = [(family, re.compile(pattern)) for family, pattern in (
    ("exunit", r"(?:\d+ doctests?, )?(?:\d+ propert(?:y|ies), )?\d+ tests?, \d+ failures?"
               r"(?: \(\d+ excluded\))?(?:, \d+ (?:excluded|skipped|invalid))*"),
    ("rspec", r"\d+ examples?, \d+ failures?(?:, \d+ pending)?"),
    ("cargo", r"test result: (?:ok|FAILED)\. \d+ passed; \d+ failed(?:; \d+ ignored)?"),
    ("go", r"^(?:ok|FAIL)\s+[\w./-]+\s+(?:[\d.]+s|\(cached\))(?:\s+coverage: [\d.]+% of statements)?"),
    ("go-test", r"^--- FAIL: \w+"),
    ("jest", r"^Tests:\s+(?:\d+ \w+, )*\d+ total"),
    ("vitest", r"^\s*Tests\s+(?:\d+ \w+ \| )*\d+ \w+ \(\d+\)"),
    ("mocha", r"^\s*\d+ passing(?: \([\w.]+\))?"),
    ("mocha-fail", r"^\s*\d+ failing$"),
    ("node-test", r"^# (?:pass|fail) \d+"),
    ("unittest", r"^Ran \d+ tests? in [\d.]+s"),
    ("unittest-result", r"^(?:OK(?: \(.*\))?|FAILED \((?:failures|errors)=.*\))$"),
    ("maven", r"Tests run: \d+, Failures: \d+, Errors: \d+(?:, Skipped: \d+)?"),
    ("build", r"\bBUILD (?:SUCCESS(?:FUL)?|FAILURE|FAILED)\b(?: in \S+)?"),
    ("gradle", r"\d+ tests? completed, \d+ failed(?:, \d+ skipped)?"),
    ("mypy", r"(?:Found \d+ errors? in \d+ files? \(checked \d+ source files?\)|"
             r"Success: no issues found in \d+ source files?)"),
    ("ts-ruff", r"^Found \d+ errors?\.?(?: in \d+ files?\.?)?$|^All checks passed!"),
    ("eslint", r"✖ \d+ problems? \(\d+ errors?, \d+ warnings?\)"),
    ("credo", r"found (?:no issues|\d+ [a-z ]+?)\.?$"),
    ("dialyzer", r"done \((?:passed successfully|warnings were emitted)\)|Total errors: \d+"),
    ("generic", r"\b[Aa]ll (?:[\w-]+ ){0,3}(?:tests|checks|specs) (?:passed|pass|OK)\b|"
                r"\b\d+ (?:tests?|checks?|specs?) (?:PASS(?:ED)?|passed|FAIL(?:ED)?|failed)\b"),
    ("compile", r"error: could not compile `[^`]+`.*|^\*\* \((?:Compile|Syntax|TokenMissing)Error\).*"),
    ("coverage", r"(?:^TOTAL\s+(?:\d+\s+){2,4}[\d.]+%|coverage: [\d.]+% of statements|"
                 r"\[TOTAL\]\s+[\d.]+%|^All files\s*\|\s*[\d.]+|\b[\d.]+% coverage\b|"
                 r"^(?:Total )?[Cc]overage:?\s+[\d.]+%)"),
)]


def _pytest_outcome(line: str) -> str:
    """pytest's "2 failed, 3 passed in 0.4s": every counted word must be pytest's own."""
    best = ""
    for match in _COUNT_RUN.finditer(line.lower()):
        words = _COUNTED_WORD.findall(match.group(0).split(" in ")[0])
        if words and set(words) <= _PYTEST_WORDS and set(words) & {"passed", "failed", "error", "errors"}:
            best = line[match.start():match.end()]
    return best


def outcome(lines) -> str:
    """The outcome of a run as its tools print it ("14 doctests, 410 tests, 0 failures")."""
    found: dict[str, str] = {}
    for line in lines:
        text = line.strip().strip("=").strip()
        if not text or len(text) > 400:
            continue
        pytest = _pytest_outcome(text)
        if pytest:
            found.pop("pytest", None)
            found["pytest"] = pytest
        for family, pattern in OUTCOME_PATTERNS:
            match = pattern.search(text)
            if match:
                found.pop(family, None)  # re-insert: the order says which came last
                found[family] = re.sub(r"\s+", " ", match.group(0).strip())
    cargo = [l.strip() for l in lines if l.strip().startswith("test result: ")]
    if len(cargo) > 1:  # one line per test binary (unit, integration, doc-tests): the telling one
        failed = [l for l in cargo if "FAILED" in l]
        best = failed[0] if failed else max(cargo, key=lambda l: int(re.search(r"(\d+) passed", l).group(1))
                                            if re.search(r"(\d+) passed", l) else -1)
        match = OUTCOME_PATTERNS[2][1].search(best)
        if match:
            found["cargo"] = match.group(0)
    if "unittest" in found and "unittest-result" in found:
        found["unittest"] += f": {found.pop('unittest-result')}"
    found.pop("unittest-result", None) if "unittest" not in found else None
    if "node-test" in found:  # "# pass 3" / "# fail 1" arrive on two lines
        counts = [l.strip() for l in lines if re.match(r"^# (pass|fail) \d+", l.strip())]
        found["node-test"] = ", ".join(counts[-2:])
    if "mocha-fail" in found and "mocha" in found:
        found["mocha"] += ", " + found.pop("mocha-fail")
    if "go-test" in found and "go" in found:
        found.pop("go-test")
    parts = list(found.values())
    return "; ".join(_dedupe_contained(parts))[:200]


def _dedupe_contained(parts: list[str]) -> list[str]:
    return [p for i, p in enumerate(parts) if not any(p != q and p in q for q in parts)
            and p not in parts[:i]]


_FAIL_COUNT = re.compile(r"\b([1-9]\d*) (?:(?:tests?|checks?|specs?) )?(?:failed|failures?|failing|errors?|FAIL)\b|"
                         r"\bFailures: [1-9]|"
                         r"\bErrors: [1-9]|# fail [1-9]|could not compile|Found [1-9]\d* errors?|"
                         r"✖ [1-9]|\bfail [1-9]", re.I)
_FAIL_WORD = re.compile(r"\bFAILED\b|BUILD FAIL|--- FAIL|(?:^|; )FAIL\b|CompileError|SyntaxError")


def outcome_failed(text: str) -> bool:
    """True when an outcome line reports failures (so a run that exited 0 still failed)."""
    return bool(text) and bool(_FAIL_COUNT.search(text) or _FAIL_WORD.search(text))


# -- causes -----------------------------------------------------------------------------

_NOISE = re.compile(
    r"^(hint|note|help|warning: (?!unused)|To |\(use |For more information|Run with|"
    r"Please report|npm ERR! (?:A complete log|\s*$)|error: test failed, to rerun|"
    r"Traceback \(most recent|During handling|The above exception|\s*at |\s*File \"|"
    r"\s*\d+: |\s*│|\s*\^+\s*$|\s*[|~^-]+\s*$|Error: Process completed with exit code|"
    r"make: \*\*\*|Exit code \d+)", re.I)
_CAUSE_RANKS: list[tuple[int, re.Pattern]] = [(score, re.compile(pattern, re.I)) for score, pattern in (
    (10, r"^(FAILED|ERROR) [\w/.:\[\]-]+ - .+"),                     # pytest short summary
    (9, r"^\*\* \(\w+(Error|Exception)\)"),                           # Elixir
    # rustc / cargo / git; not a TAP block's YAML ("error: |-": the message is below)
    (9, r"^error(\[E\d+\])?: (?!could not compile|test failed|aborting|[|>][-+]?$)"),
    (9, r"^(E\s+)?[\w.]*(Error|Exception): \S"),                      # an exception and its message
    (8, r"^(E\s+)?[\w.]*(Error|Exception|Exit)\b:?\s*\S"),            # Python / JS
    (8, r"^fatal: |^panic: |panicked at|^thread '.+' panicked"),
    (8, r"^\s*(assertion .*failed|Expected:|expected .* (to|got)|AssertionError)"),
    (9, r"^not ok( \d+)? - "),                                        # TAP (node --test, prove)
    (7, r"^--- FAIL: |^\s+\w+_test\.go:\d+: "),
    (7, r"^\s*\d+\) .+|^\s*✕ |^\s*× |^\s*● "),                         # ExUnit / jest / vitest
    (7, r"No such file|command not found|Permission denied|not found|cannot find|"
        r"Could not|Unable to|undefined|unknown|denied|refused|timed? ?out|conflict|rejected|"
        r"no upstream|not allowed|is not|are ignored|invalid|missing|failed to"),
    (6, r"[\w./-]+\.\w+:\d+(:\d+)?:? .*(error|fail|warning|undefined|mismatch|never|cannot)"),
    (5, r"\berror\b|\bfail(ed|ure)?\b"),
)]


def _cause_score(line: str) -> int:
    text = line.strip()
    if not text or _NOISE.match(text) or len(text) < 4:
        return 0
    for score, pattern in _CAUSE_RANKS:
        if pattern.search(text):
            return score
    return 1


def cause(lines) -> str:
    """The most telling line of a failure's output; the first of the best-ranked ones."""
    best, best_score = "", 0
    for line in lines:
        score = _cause_score(line)
        if score > best_score:
            best, best_score = line.strip(), score
    text = re.sub(r"^E\s+", "", best)
    return text[:240]


# Where a problem is: ``path:line[:col]`` (gcc, rustc, mypy, ruff…) or ``path(line,col)``
# (tsc, MSBuild/C#).
_AT = r"(?:[\w./-]+/)?[\w.-]+\.\w{1,5}(?::\d+(?::\d+)?|\(\d+,\d+\))"
_DIAGNOSTIC = re.compile(
    rf"^\s*{_AT}:?\s*\S.*|^\s*┃\s+\[[A-Z]\].*|"
    r"^\s*(?:error|warning)(?:\[\w+\])?: .+")
# A diagnostic whose severity is "error" (not a warning, a style suggestion or a grep hit).
_ERROR_DIAGNOSTIC = re.compile(
    rf"^\s*(?:{_AT}:?\s*(?:fatal )?error\b|(?:fatal )?error(?:\[\w+\])?: )", re.I)


# ESLint's default ("stylish") output: a file's path on its own line, then its problems
# as "  12:5  error  message  rule".
_STYLISH_FILE = re.compile(r"^(?:/|\.{0,2}/)?(?:[\w.@-]+/)*[\w.@-]+\.\w{1,5}$")
_STYLISH_PROBLEM = re.compile(r"^(\d+):(\d+)\s+(error|warning)\s+(.+?)(?:\s{2,}([@\w/-]+))?$")


def diagnostics(lines, limit: int = 3) -> list[str]:
    """``path:line: problem`` lines (linters, type checkers, compilers) in a run's output;
    ESLint's per-file blocks are read as ``path:line:col: message (rule)``."""
    out = []
    current = ""
    for line in lines:
        text = line.strip()
        if _STYLISH_FILE.match(text):
            current = text
            continue
        stylish = _STYLISH_PROBLEM.match(text) if current else None
        if stylish:
            row, col, _, message, rule = stylish.groups()
            text = f"{current}:{row}:{col}: {message}" + (f" ({rule})" if rule else "")
        if _DIAGNOSTIC.match(text) and not _NOISE.match(text) and re.search(
                r"[a-z]{3}", text.split(":", 2)[-1] if ":" in text else text, re.I):
            if text[:200] not in out:
                out.append(text[:200])
    # ``path:line`` lines name where; boxed or bare ones come after them.
    out.sort(key=lambda t: not re.match(_AT, t))
    return out[:limit]


def errors(lines, limit: int = 3) -> list[str]:
    """The error diagnostics among ``diagnostics(lines)``: what a compiler or type checker
    reported as an error, which makes its run a failure whatever its exit status said
    (``npm run build | head`` exits 0 with ``error TS2769`` in its output)."""
    return [d for d in diagnostics(lines, limit=limit + 3) if _ERROR_DIAGNOSTIC.match(d)][:limit]


# rustc and clippy name the lint a warning comes from on a later ``= note:`` line, below
# the code it points at (``= note: `#[warn(dead_code)]` on by default``); the warning line
# itself never says it, where gcc (``[-Wunused-function]``) and ESLint print it on the line.
_LINT_NOTE = re.compile(r"^\s*= note: `#\[(?:warn|deny|forbid)\(([\w:]+)\)\]`")
_RUST_PROBLEM = re.compile(r"^\s*(?:warning|error)(?:\[\w+\])?: ")


def lint_named(lines, text: str) -> list[str]:
    """``lines`` (of the output ``text``) with each rustc or clippy warning line followed by
    the name of its lint, ``[dead_code]``, read from its ``= note:`` line: the name is what
    a person allows, denies or asks about. ``lines`` itself when ``text`` has no such note."""
    if "= note: `#[" not in text:
        return lines
    out, last = list(lines), None
    for n, line in enumerate(out):
        if _RUST_PROBLEM.match(line):
            last = n
        elif last is not None and "= note: `#[" in line:
            found = _LINT_NOTE.match(line)
            if found:
                out[last] = f"{out[last]} [{found.group(1)}]"
                last = None
    return out


# -- what a long output says between its head and its tail ------------------------------

# A line that reports a problem wherever it stands in a long output: a compiler's or a
# tool's ``warning:`` / ``error:`` line, a logger's ``[error]`` line, an exception with its
# message, a count of problems (``5 moderate severity vulnerabilities``) or a coverage
# total. Not a logger's ``[warning]`` lines: a test suite's runtime chatter ("no sessions
# with cwd for project …"), which made passing runs read like failures to search by
# meaning (tune questions "why did … fail" lost their answer to them).
_NOTABLE = re.compile(
    r"^\s*(?:warning|error)(?:\[[\w-]+\])?: \S|\[(?:error|critical|fatal)\]|"
    r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception|Warning): \S|"
    r"^\s*\d+ (?:[\w-]+ ){0,3}(?:vulnerabilit\w*|warnings?|errors?|deprecations?|problems?|"
    r"issues?|suggestions?)\b|^TOTAL\s.*\d%|\bcoverage\b.*\d+(?:\.\d+)?%", re.I)
# The words every line ``_NOTABLE`` or ``_BLOCK_KEY`` takes holds one of (lower case).
_NOTABLE_WORDS = ("warn", "error", "exception", "vulnerab", "deprecat", "problem", "issue", "suggestion",
                  "fatal", "critical", "coverage", "total", "message", "reason")
# A YAML block's key whose message is on the next line (TAP's ``error: |-``).
_BLOCK_KEY = re.compile(r"^\s*(?:error|message|reason):\s*[|>][-+]?\s*$", re.I)
# A message field inside a long logged structure (a JSON or Elixir map, a Python dict).
_MESSAGE_FIELD = re.compile(r"""["']?message["']?\s*(?:=>|:|=)\s*["']([^"'\\]{4,160})["']""")


def _with_message(line: str, width: int = 200) -> str:
    """A long logged line as its head and, when its message field lies past the cut, that
    message (``[error] Unexpected API response! {... "message" => "x-api-key header is
    required" ...}``): the message is what a person asks about, the head says where."""
    text = line.strip()
    if len(text) <= width:
        return text
    head = text[:width - 60].rstrip()
    found = _MESSAGE_FIELD.search(text, len(head))
    if not found:
        return text[:width]
    return f"{head} … message: {found.group(1)}"[:width + 100]


# What of ``_NOTABLE`` a run that passed keeps: its compiler's and linter's findings and
# counts, not what its tests logged at run time (an ``[error]`` line, an exception a test
# provoked), which made a passing run read like a failure to search by meaning.
_RUNTIME_LOG = re.compile(r"\[(?:error|critical|fatal)\]|^\s*(?:[\w.]+\.)?\w*(?:Error|Exception): \S", re.I)


def notable(lines, known: str = "", limit: int = 4, passed: bool = False) -> list[str]:
    """The problem lines of a long output from anywhere in it, not only its head and tail:
    warnings and errors a passing run printed on the way (an unused function among 400
    lines of a test run), the message under a TAP ``error: |-`` key, a count of problems.
    A line repeated with other details (the same warning for fifteen files, the same log
    line for each project) is boilerplate: its first instance counts once, after the lines
    said once. Lines whose text ``known`` already holds are left out. Bounded: ``limit``
    lines of at most ~300 characters. ``passed``: the run's outcome says it passed, so only
    its findings count (``_RUNTIME_LOG`` lines are left out)."""
    lines = list(lines)
    found = []
    for n, line in enumerate(lines):
        low = line.lower()
        if not any(map(low.__contains__, _NOTABLE_WORDS)):
            continue  # most lines: no regex (a case-blind one costs ~5 µs a line)
        text = line.strip()
        if _BLOCK_KEY.match(text):
            text = next((l.strip() for l in lines[n + 1:n + 3] if l.strip()), "")
            if not text:
                continue
        elif not _NOTABLE.search(text) or passed and _RUNTIME_LOG.search(text):
            continue
        text = _with_message(text)
        if text[:120] in known:
            continue
        found.append((n, text))
    return said_once_first(found, limit)


# -- symbols ----------------------------------------------------------------------------

_LANG_BY_EXT = {
    "py": "python", "pyi": "python", "rs": "rust", "ex": "elixir", "exs": "elixir",
    "go": "go", "js": "js", "jsx": "js", "mjs": "js", "cjs": "js", "ts": "js", "tsx": "js",
    "java": "java", "kt": "java", "kts": "java", "cs": "java", "scala": "java",
    "rb": "ruby", "sh": "shell", "bash": "shell", "zsh": "shell", "swift": "swift",
    "c": "c", "h": "c", "cc": "c", "cpp": "c", "hpp": "c", "php": "php", "lua": "lua",
}
_DEFINITIONS = {
    "python": [r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)", r"^\s*class\s+([A-Za-z_]\w*)"],
    "rust": [r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"C\"\s+)?"
             r"(?:fn|struct|enum|trait|mod|union|type)\s+([A-Za-z_]\w*)",
             r"^\s*impl(?:<[^>]*>)?\s+(?:[\w:]+(?:<[^>]*>)?\s+for\s+)?([A-Za-z_]\w*)",
             r"^\s*macro_rules!\s+(\w+)"],
    "elixir": [r"^\s*defmodule\s+([\w.]+)", r"^\s*def(?:p|macro|macrop|guard|guardp|delegate)?\s+([a-z_]\w*[?!]?)",
               r"^\s*defprotocol\s+([\w.]+)", r"^\s*defimpl\s+([\w.]+)"],
    "go": [r"^func\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)", r"^type\s+([A-Za-z_]\w*)"],
    "js": [r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\*?\s+([A-Za-z_$][\w$]*)",
           r"^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)",
           r"^\s*(?:export\s+)?(?:interface|enum|type)\s+([A-Za-z_$][\w$]*)",
           r"^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?(?:\(|function|[\w$]+\s*=>|\{|class)",
           r"^([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)\s*=\s*(?:\{|function|class|\()",
           r"^  (?:async\s+|static\s+|get\s+|set\s+)*([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*\{"],
    "java": [r"^\s*(?:(?:public|private|protected|internal|static|final|abstract|sealed|open|data|"
             r"partial)\s+)*(?:class|interface|enum|record|object)\s+([A-Za-z_]\w*)",
             r"^\s*(?:(?:public|private|protected|internal|static|final|override|suspend|async)\s+)+"
             r"(?:fun\s+)?[\w<>\[\],.? ]*?\b([a-zA-Z_]\w*)\s*\(",
             r"^\s*fun\s+(?:<[^>]*>\s*)?([a-zA-Z_]\w*)\s*\("],
    "ruby": [r"^\s*def\s+(?:self\.)?([\w?!=]+)", r"^\s*(?:class|module)\s+([\w:]+)"],
    "shell": [r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*\{?"],
    "swift": [r"^\s*(?:(?:public|private|internal|static|final|override)\s+)*(?:func|class|struct|enum|protocol)\s+(\w+)"],
    "c": [r"^(?:static\s+|inline\s+|extern\s+)*[\w*\s]+?\b([A-Za-z_]\w*)\s*\([^;]*$",
          r"^\s*(?:typedef\s+)?(?:struct|class|enum)\s+([A-Za-z_]\w*)"],
    "php": [r"^\s*(?:(?:public|private|protected|static|abstract|final)\s+)*function\s+(\w+)",
            r"^\s*(?:abstract\s+|final\s+)?(?:class|interface|trait)\s+(\w+)"],
    "lua": [r"^\s*(?:local\s+)?function\s+([\w.:]+)"],
}
_COMPILED = {lang: [re.compile(p) for p in patterns] for lang, patterns in _DEFINITIONS.items()}
_KEYWORDS = {"if", "for", "while", "switch", "catch", "return", "function", "else", "new", "main",
             "constructor", "do", "end", "test", "describe", "it", "setup"}


def language(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _LANG_BY_EXT.get(ext, "")


def symbols(code: str, path: str = "", limit: int = 12) -> list[str]:
    """Names defined in ``code`` (module, class, function...), in order, without repeats."""
    lang = language(path)
    if not lang:
        return []
    found: list[str] = []
    for line in str(code or "").splitlines():
        if len(line) > 300:
            continue
        for pattern in _COMPILED[lang]:
            match = pattern.match(line)
            if match:
                name = match.group(1)
                if name not in found and name not in _KEYWORDS:
                    found.append(name)
                break
        if len(found) >= limit:
            break
    return found


def enclosing(original: str, snippet: str, path: str = "") -> str:
    """The definition ``snippet`` lies in, within ``original``: what an edit changed.

    An indented definition is named with the one around it (``TokenBucket.refill``).
    """
    lang = language(path)
    if not original or not snippet or not lang:
        return ""
    at = original.find(snippet)
    if at < 0:
        return ""
    head = original[:at + len(snippet.split("\n", 1)[0])].splitlines()[-600:]
    found: list[tuple[int, str]] = []  # (indent, name) of each definition line, in order
    for line in head:
        if len(line) > 300:
            continue
        for pattern in _COMPILED[lang]:
            match = pattern.match(line)
            if match and match.group(1) not in _KEYWORDS:
                found.append((len(line) - len(line.lstrip()), match.group(1)))
                break
    if not found:
        return ""
    indent, name = found[-1]
    outer = next((n for i, n in reversed(found[:-1]) if i < indent), "")
    return f"{outer.rsplit('.', 1)[-1]}.{name}" if outer and indent > 0 else name


def changed_line(old: str, new: str) -> tuple[str, str]:
    """The first line an edit changed, before and after ("" when only added or removed)."""
    import difflib

    a = [l.strip() for l in str(old or "").splitlines() if l.strip()]
    b = [l.strip() for l in str(new or "").splitlines() if l.strip()]
    if len(a) == 1 and len(b) == 1:  # the usual one-line edit: what the matching below finds
        return ("", "") if a[0] == b[0] else _from_difference(a[0], b[0])
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "replace":
            # The most alike pair in the block (a comment added above the changed line must
            # not pair with it), then the part that changed, not a long shared start.
            pairs = [(x, y) for x in a[i1:min(i2, i1 + 8)] for y in b[j1:min(j2, j1 + 8)] if x != y]
            if not pairs:
                continue
            x, y = max(pairs, key=lambda pair: difflib.SequenceMatcher(None, *pair).ratio())
            return _from_difference(x, y)
    return "", ""


def _from_difference(old: str, new: str, context: int = 12) -> tuple[str, str]:
    """Two lines from a little before where they start to differ ("…tokens + Math.floor(…")."""
    same = 0
    for c, d in zip(old, new):
        if c != d:
            break
        same += 1
    if same <= 2 * context:
        return old, new
    start = same - context
    limit = max(0, start - 10)
    while start > limit and old[start - 1] not in " \t([{,;=":  # from a word's start
        start -= 1
    return "…" + old[start:], "…" + new[start:]


# -- shell ------------------------------------------------------------------------------

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1.*?\n.*?\n\s*\2\b", re.S)


def mask_quoted(command: str) -> str:
    """``command`` of the same length, with heredoc bodies and quoted text replaced by ``_``.

    Positions found in the mask (``&&``, ``|``, ``>``) are positions in the command.
    """
    text = str(command or "")
    if "'" not in text and '"' not in text and "<<" not in text:
        return text  # nothing quoted, no heredoc: nothing to mask
    chars = list(text)
    for match in _HEREDOC.finditer(text):
        for i in range(match.start(), match.end()):
            chars[i] = "_"
    quote, i = "", 0
    while i < len(chars):
        ch = chars[i]
        if quote:
            if ch == "\\" and quote == '"' and i + 1 < len(chars):
                chars[i] = chars[i + 1] = "_"
                i += 2
                continue
            if ch == quote:
                quote = ""
            else:
                chars[i] = "_"
        elif ch in "'\"":
            quote = ch
        i += 1
    return "".join(chars)


def shell_code(command: str) -> str:
    """``command`` with heredoc bodies and quoted strings blanked (kept as ``''``)."""
    return _UNDERSCORES.sub("", mask_quoted(command)) if command else ""


_CONCLUSION = re.compile(
    r"is the first bad commit|^Successfully (?:installed|built|tagged|created|uninstalled)|"
    r"^(?:Created|Wrote|Saved|Published|Deployed|Merged|Tagged|Installed|Uninstalled|Added|"
    r"Removed|Updated|Deleted|Closed|Migrated|Rolled back)\b|^Fast-forward|"
    r"^Switched to (?:a new )?branch|set up to track|\* \[new (?:branch|tag)\]|^\s*[✓✔] ")


def conclusive(line: str) -> bool:
    """True for a line that states what a command achieved (not merely its first line)."""
    return bool(_CONCLUSION.search(str(line or "").strip()))


def conclusion(lines, short: int = 8) -> str:
    """The line a state-changing command ends on ("… is the first bad commit", "Successfully
    installed …", "✓ Closed …"); the first line of a short output otherwise."""
    for line in lines:
        if _CONCLUSION.search(line.strip()):
            return line.strip()[:200]
    # npm/yarn/pnpm echo the script they run ("> app@1.0.0 build"): that is not a result.
    meaningful = [l.strip() for l in lines if l.strip()
                  and not re.match(r"^[-=*#.]+$|^(done|ok)\.?$|^> \S+@\S+ \S+$|^> ", l.strip(), re.I)]
    return meaningful[0][:200] if meaningful and len(lines) <= short else ""


_COMMIT = re.compile(r"^\[([\w./+-]+)(?: \(root-commit\))? ([0-9a-f]{7,40})\] (.+)$", re.M)


def commit(stdout: str) -> tuple[str, str, str]:
    """(branch, short hash, subject) from ``git commit`` output, or ("", "", "")."""
    match = _COMMIT.search(str(stdout or ""))
    return (match.group(1), match.group(2), match.group(3).strip()) if match else ("", "", "")


_COMMIT_MESSAGE = re.compile(
    r"\bgit\s+(?:-C\s+\S+\s+)?commit\b[^\n]*?\s(?:-[a-zA-Z]*m|--message)(?:=|\s+)"
    r"(?:\"\$\(cat\s+<<-?\s*['\"]?(\w+)['\"]?\s*\n(?P<heredoc>.*?)\n\s*\1\b"
    r"|'(?P<single>[^']*)'|\"(?P<double>(?:[^\"\\]|\\.)*)\"|(?P<bare>\S+))", re.S)


def _message_text(command: str) -> str:
    match = _COMMIT_MESSAGE.search(str(command or ""))
    if not match:
        return ""
    return next((g for g in (match.group("heredoc"), match.group("single"), match.group("double"),
                             match.group("bare")) if g), "")


def commit_message(command: str) -> str:
    """The subject line of the message a ``git commit -m …`` command gives (heredocs too)."""
    first = next((line.strip() for line in _message_text(command).splitlines() if line.strip()), "")
    return first[:200]


_TRAILER = re.compile(r"^(?:[\w-]+-by|Co-Authored-By|Signed-off-by|Refs?|Closes|Fixes|Change-Id):|"
                      r"^(?:🤖 )?Generated with|^https?://", re.I)


def commit_body(command: str, limit: int = 240) -> str:
    """The body of a ``git commit -m …`` message in a line: why the change was made and
    what it holds, written by whoever committed it (trailers and sign-offs left out)."""
    raw = [line.strip() for line in _message_text(command).splitlines()]
    raw = [line for line in raw if line][1:]
    text = ""
    for line in raw:
        item = line.lstrip("-*• ").strip()
        if not item or _TRAILER.match(item):
            continue
        if not text:
            text = item
        elif item is not line and not text.endswith((".", ":", ";", "!", "?")):
            text += "; " + item  # a new list item
        else:
            text += " " + item  # a wrapped line goes on, as does a new sentence
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


# -- the user's answers -----------------------------------------------------------------


def answers(response) -> list[tuple[str, str]]:
    """(question, answer) pairs from an AskUserQuestion tool response."""
    if not isinstance(response, dict):
        return []
    given = response.get("answers")
    if isinstance(given, dict):
        return [(str(q), str(a)) for q, a in given.items() if str(a).strip()]
    return []


# -- what a file or a listing is ------------------------------------------------------------

_MANIFEST_FIELDS = {
    # file name -> patterns whose first group is a field worth naming (name, version, tool)
    "package.json": (r'"name"\s*:\s*"([^"]+)"', r'"version"\s*:\s*"([^"]+)"',
                     r'"packageManager"\s*:\s*"([^"]+)"'),
    "composer.json": (r'"name"\s*:\s*"([^"]+)"', r'"version"\s*:\s*"([^"]+)"'),
    "pyproject.toml": (r'(?m)^name\s*=\s*"([^"]+)"', r'(?m)^version\s*=\s*"([^"]+)"'),
    "cargo.toml": (r'(?m)^name\s*=\s*"([^"]+)"', r'(?m)^version\s*=\s*"([^"]+)"'),
    "mix.exs": (r'\bapp:\s*:(\w+)', r'\bversion:\s*"([^"]+)"'),
    "go.mod": (r'(?m)^module\s+(\S+)', r'(?m)^go\s+([\d.]+)'),
    "pom.xml": (r'<artifactId>([^<]+)</artifactId>', r'<version>([^<]+)</version>'),
}


def manifest(content: str, path: str) -> str:
    """What a package manifest says the package is: ``"name 1.2.3, pnpm@9.0.0"`` ("" for
    any other file). The first match of each field, near the top where they live."""
    patterns = _MANIFEST_FIELDS.get(path.rsplit("/", 1)[-1].lower())
    if not patterns:
        return ""
    head = str(content or "")[:4000]
    found = [m.group(1).strip() for m in (re.search(p, head) for p in patterns) if m]
    if not found:
        return ""
    return ", ".join([" ".join(found[:2])] + found[2:])[:160]


def manifest_facts(content: str, path: str, limit: int = 12) -> list[str]:
    """What a package manifest says about working on the project: its scripts (the commands
    people run) and its dependencies with their versions. package.json and pyproject.toml
    (the two read most); [] for anything else or a manifest that does not parse."""
    name = path.rsplit("/", 1)[-1].lower()
    facts: list[str] = []

    def pairs(label: str, mapping, sep: str) -> None:
        if isinstance(mapping, dict) and mapping:
            items = [f"{k}{sep}{v}" if isinstance(v, str) else str(k) for k, v in list(mapping.items())[:limit]]
            facts.append(f"{label}: " + "; ".join(items)[:300])
        elif isinstance(mapping, list) and mapping:
            facts.append(f"{label}: " + "; ".join(str(v) for v in mapping[:limit])[:300])

    if name == "package.json":
        try:
            data = json.loads(content)
        except ValueError:
            return []
        if isinstance(data, dict):
            pairs("Scripts", data.get("scripts"), ": ")
            pairs("Dependencies", data.get("dependencies"), " ")
            pairs("Dev dependencies", data.get("devDependencies"), " ")
    elif name == "pyproject.toml":
        import tomllib

        try:
            data = tomllib.loads(content)
        except (tomllib.TOMLDecodeError, ValueError):
            return []
        project = data.get("project") if isinstance(data.get("project"), dict) else {}
        pairs("Scripts", project.get("scripts"), " = ")
        pairs("Dependencies", project.get("dependencies"), "")
        extras = project.get("optional-dependencies")
        if isinstance(extras, dict) and extras:
            facts.append("Extras: " + ", ".join(list(extras)[:limit]))
    return facts


def listing(lines) -> str:
    """What an ``ls`` printed, in a line: ``"empty (total 0)"``, ``"5 entries: a, b, c…"``.
    Long listings (``-l``) are read by their last column; ``.`` and ``..`` do not count."""
    entries, total = [], ""
    for line in lines:
        line = line.strip()
        if not line or line.endswith(":"):
            continue
        if re.match(r"^total \d+$", line):
            total = total or line
            continue
        parts = line.split()
        name = parts[-1] if re.match(r"^[-dlcbps][-rwxsStT@+.]{9}", line) else line
        if name not in (".", ".."):
            entries.append(name)
    if not entries:
        return f"empty ({total})" if total else "empty"
    shown = ", ".join(entries[:8]) + ("…" if len(entries) > 8 else "")
    return f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}: {shown}"


# A download's progress meter (curl's header and its rows of sizes, speeds and
# ``--:--:--`` times): what a command printed while it ran, never what came of it.
_PROGRESS = re.compile(r"^\s*(% Total\s+% Received|Dload\s+Upload)|--:--:--|\b\d+:\d\d:\d\d\s+--:--:--")


def without_progress(lines) -> list[str]:
    """``lines`` without a progress meter's lines, so a failure's cause is its real last
    words ("no matches found: …"), not the meter's header."""
    return [line for line in lines if not _PROGRESS.search(line)]


# The marker ``text.truncate`` leaves where a long stored string was cut.
TRUNCATION_MARK = re.compile(r"^\[\.\.\. \d+ chars truncated \.\.\.\]$")

_FILLER = re.compile(r"^(perfect|great|excellent|done|ok(?:ay)?|now|let me|i(?:'ll| will| have| can| now)\b|"
                     r"here(?:'s| is)|based on|sure|alright|summary)\b", re.I)


def _width(text: str) -> int:
    """Length as read: a CJK character (a word's worth of meaning) counts twice."""
    return sum(2 if "\u2e80" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" or "\uff00" <= c <= "\uffef"
               else 1 for c in text)


def report_lines(text: str, limit: int = 5) -> list[str]:
    """The lines of a subagent's (or any long prose) report that carry facts: names in
    backticks, versions and figures, ``key: value`` items; never the opening pleasantries.

    Lines inside code fences count only when the prose outside them has none: a report
    that quotes a JSON record or a file keeps its own findings, not the record's fields
    (a timestamp's digits read like a version)."""
    scored, fenced = [], []
    inside = False
    for n, raw in enumerate(str(text or "").splitlines()):
        stripped = raw.strip()
        if stripped.startswith(("```", "~~~")):
            inside = not inside
            continue
        if TRUNCATION_MARK.match(stripped):
            inside = False  # the cut may have taken the fence's end: what follows is unknown
            continue
        line = stripped.lstrip("-*•>#0123456789. ").strip()
        # The width is never below the length: only a short line needs it counted.
        if (len(line) < 12 and _width(line) < 12) or _FILLER.match(line) or line.startswith("|"):
            continue
        if line.rstrip("*").endswith((":", "：")):
            continue  # a lead-in ("It consists of:") announces the lines that say something
        score = (2 * len(re.findall(r"`[^`]+`", line)) + 2 * len(re.findall(r"\b\d+(?:\.\d+)+\b", line))
                 + len(re.findall(r"\*\*[^*]+\*\*", line)) + (1 if re.search(r"\w(:\s+|：)\S", line) else 0)
                 + len(re.findall(r"\b[\w-]+\.(?:[a-z]{1,4})\b", line)))
        if not score and _width(line) > len(line):
            # Prose in a script without spaces (Japanese, Chinese): the names written in
            # Latin letters inside it (a framework, a file, a command) are its facts.
            score = len(re.findall(r"[A-Za-z][\w.+/-]*[A-Za-z0-9]", line)) // 2
        if score:
            (fenced if inside else scored).append((score, n, line))
    scored = scored or fenced
    best = sorted(sorted(scored, key=lambda s: -s[0])[:limit], key=lambda s: s[1])
    return [line[:200] for _, _, line in best]
