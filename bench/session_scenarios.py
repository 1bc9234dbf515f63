"""The scripted sessions of the recorded corpus (``tests/fixtures/recorded/``).

Each scenario is a small real project (made on disk by its ``build`` function) and the prompts a
person gives, with the model's replies written the way a model writes them: a line of prose, tool
calls, and at the end of each request a reply that states what was wrong, what changed and the
outcome. The tools run for real (``bench/record_sessions.py``), so a scripted step that is meant
to fail must really fail: the recorder checks that every call marked ``fails=True`` fired
PostToolUseFailure and every other call PostToolUse.

``keys`` are the terms a teammate starting the next session would need -- files, names created
or changed, the failure and its cause, the fix, outcomes, the commit, a settled value, what is
still open. They were written together with each scenario, before anyone tuned a compressor to
the recordings, and are checked to be literal (case-insensitive) substrings of the payloads.
``heldout=True`` scenarios are never to be tuned to; they land in ``recorded/heldout/``.
"""
from __future__ import annotations

from pathlib import Path

from record_sessions import (Prompt, bash, edit, files, git_init, glob, grep, load_todo, read,
                             say, scenario, sh, todos, write)


# ------------------------------------------------------------------------------------------
# py-expense-report: Python + pytest; crash on accounting-style refunds, then a rename + flag
# ------------------------------------------------------------------------------------------

REPORT_PY = '''\
"""Monthly totals from the bank's CSV export."""
import argparse
import csv
from collections import defaultdict
from datetime import datetime
from decimal import Decimal


def load_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def parse_amount(text):
    return Decimal(text.replace(",", ""))


def month_of(row):
    return datetime.strptime(row["date"], "%Y-%m-%d").strftime("%Y-%m")


def monthly_totals(rows):
    totals = defaultdict(Decimal)
    for row in rows:
        totals[month_of(row)] += parse_amount(row["amount"])
    return dict(sorted(totals.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="expenses")
    parser.add_argument("csv_file")
    args = parser.parse_args(argv)
    rows = load_rows(args.csv_file)
    for month, total in monthly_totals(rows).items():
        print(f"{month}  {total:>10}")


if __name__ == "__main__":
    main()
'''

REPORT_TESTS = '''\
from decimal import Decimal

from expenses.report import load_rows, month_of, monthly_totals, parse_amount


def test_parse_amount_plain():
    assert parse_amount("12.50") == Decimal("12.50")


def test_parse_amount_thousands():
    assert parse_amount("1,204.00") == Decimal("1204.00")


def test_month_of():
    assert month_of({"date": "2026-03-02"}) == "2026-03"


def test_monthly_totals_groups_by_month():
    rows = [{"date": "2026-02-27", "amount": "10.00"},
            {"date": "2026-03-01", "amount": "5.00"},
            {"date": "2026-03-09", "amount": "2.50"}]
    assert monthly_totals(rows) == {"2026-02": Decimal("10.00"), "2026-03": Decimal("7.50")}


def test_load_rows(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("date,description,amount,category\\n2026-03-01,Coffee,3.20,food\\n")
    assert load_rows(f) == [{"date": "2026-03-01", "description": "Coffee",
                             "amount": "3.20", "category": "food"}]


def test_monthly_totals_empty():
    assert monthly_totals([]) == {}
'''

MARCH_CSV = """\
date,description,amount,category
2026-03-02,Office chairs,"1,204.00",office
2026-03-05,Team lunch,86.40,food
2026-03-09,Train ticket Berlin,42.50,travel
2026-03-14,Refund: train ticket Berlin,(42.50),travel
2026-03-20,Cloud hosting,310.00,infra
2026-03-28,Coffee beans,23.90,food
"""


@scenario("py-expense-report",
          "Python/pytest: CLI crashes on refunds written as (42.50); fix parse_amount, then "
          "rename load_rows -> read_transactions and add --category (ImportError fixed), commit")
def py_expense_report(p: Path):
    def build(project):
        files(project, {"expenses/__init__.py": "", "expenses/report.py": REPORT_PY,
                        "tests/test_report.py": REPORT_TESTS, "data/2026-03.csv": MARCH_CSV,
                        ".gitignore": "__pycache__/\n.pytest_cache/\n",
                        "pyproject.toml": '[project]\nname = "expenses"\nversion = "0.2.0"\n'})
        git_init(project, "Monthly expense totals from the bank CSV")

    report, tests = p / "expenses/report.py", p / "tests/test_report.py"
    prompts = [
        Prompt("The March report crashes on the new bank export (data/2026-03.csv). "
               "Find out why and fix it.", [
            say("Let me reproduce the crash first.",
                bash("python -m expenses.report data/2026-03.csv",
                     "Run the report on the March export", fails=True)),
            say("`Decimal` cannot parse one of the amounts. Let me look at the parser and at "
                "the odd values in the export.",
                read(report),
                bash("grep -n '(' data/2026-03.csv", "Find amounts in parentheses")),
            say("Found it: the bank now writes refunds in accounting style, `(42.50)`, and "
                "`parse_amount()` only strips thousands separators, so `Decimal('(42.50)')` "
                "raises `InvalidOperation`. I'll treat parentheses as a negative amount.",
                edit(report, 'def parse_amount(text):\n    return Decimal(text.replace(",", ""))',
                     'def parse_amount(text):\n'
                     '    """Amount from the export: "1,204.00", or "(42.50)" for a refund."""\n'
                     '    text = text.strip().replace(",", "")\n'
                     '    if text.startswith("(") and text.endswith(")"):\n'
                     '        return -Decimal(text[1:-1])\n'
                     '    return Decimal(text)')),
            say("Now a regression test for the refund format.",
                read(tests),
                edit(tests, 'def test_parse_amount_thousands():\n'
                            '    assert parse_amount("1,204.00") == Decimal("1204.00")\n',
                     'def test_parse_amount_thousands():\n'
                     '    assert parse_amount("1,204.00") == Decimal("1204.00")\n\n\n'
                     'def test_parse_amount_refund_in_parentheses_is_negative():\n'
                     '    assert parse_amount("(42.50)") == Decimal("-42.50")\n')),
            say("", bash("python -m pytest -q", "Run the test suite"),
                bash("python -m expenses.report data/2026-03.csv", "Run the March report again")),
            say("Fixed.\n\n**Cause:** the March export writes refunds in accounting style, "
                "`(42.50)`. `parse_amount()` in `expenses/report.py` passed that straight to "
                "`Decimal`, which raised `decimal.InvalidOperation` and killed the report.\n\n"
                "**Fix:** `parse_amount()` now strips the parentheses and returns the negative "
                "amount, so the refund cancels the train ticket. Added "
                "`test_parse_amount_refund_in_parentheses_is_negative`.\n\n"
                "**Result:** `python -m pytest -q` → 7 passed; the March report prints "
                "`2026-03     1624.30` (the refund now offsets the Berlin ticket)."),
        ]),
        Prompt("Thanks. Now rename load_rows to read_transactions (it reads more than rows now) "
               "and add a --category option so I can get totals for just one category.", [
            say("I'll find every use of `load_rows` first.",
                grep("load_rows", p, mode="content")),
            say("It's used in the report module and the tests. Renaming in the module and "
                "adding the filter.",
                read(report),
                edit(report, "load_rows", "read_transactions", replace_all=True)),
            say("", edit(report,
                         "def monthly_totals(rows):",
                         "def filter_by_category(rows, category):\n"
                         '    """Only the rows of one category (case-insensitive)."""\n'
                         "    wanted = category.lower()\n"
                         '    return [row for row in rows if row["category"].lower() == wanted]\n'
                         "\n\n"
                         "def monthly_totals(rows):"),
                edit(report,
                     '    parser.add_argument("csv_file")\n'
                     '    args = parser.parse_args(argv)\n'
                     '    rows = read_transactions(args.csv_file)\n',
                     '    parser.add_argument("csv_file")\n'
                     '    parser.add_argument("--category", help="only this category")\n'
                     '    args = parser.parse_args(argv)\n'
                     '    rows = read_transactions(args.csv_file)\n'
                     '    if args.category:\n'
                     '        rows = filter_by_category(rows, args.category)\n')),
            say("", bash("python -m pytest -q 2>&1 | tail -15; exit ${PIPESTATUS[0]}",
                         "Run the tests", fails=True)),
            say("The tests still import the old name. Updating them and adding a test for the "
                "filter.",
                edit(tests, "load_rows", "read_transactions", replace_all=True),
                edit(tests, "from expenses.report import read_transactions, month_of, "
                            "monthly_totals, parse_amount",
                     "from expenses.report import (filter_by_category, month_of, "
                     "monthly_totals, parse_amount,\n"
                     "                             read_transactions)"),
                edit(tests, "def test_monthly_totals_empty():",
                     "def test_filter_by_category_ignores_case():\n"
                     '    rows = [{"category": "Travel"}, {"category": "food"}]\n'
                     '    assert filter_by_category(rows, "travel") == [{"category": "Travel"}]\n'
                     "\n\n"
                     "def test_monthly_totals_empty():")),
            say("", bash("python -m pytest -q", "Run the tests"),
                bash("python -m expenses.report data/2026-03.csv --category travel",
                     "Totals for travel only")),
            say("Everything passes. Committing.",
                bash("git add -A && git commit -m 'Parse refunds in parentheses; rename "
                     "load_rows to read_transactions; add --category filter'",
                     "Commit the changes")),
            say("Done.\n\n- Renamed `load_rows()` → `read_transactions()` in "
                "`expenses/report.py` and the tests (the first test run failed with "
                "`ImportError: cannot import name 'load_rows'` until the tests were updated).\n"
                "- New `filter_by_category(rows, category)` (case-insensitive) behind a new "
                "`--category` option: `python -m expenses.report data/2026-03.csv --category "
                "travel` prints `2026-03       0.00` (the ticket and its refund cancel out).\n"
                "- `python -m pytest -q` → 8 passed.\n"
                "- Committed on `main` as `0f129ed`.\n\n"
                "Still open: `month_of()` assumes ISO dates; the bank's older exports use "
                "`DD/MM/YYYY`, which would raise `ValueError` if you feed them in."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["March report", "crashes", "--category"],
            "terms": ["expenses/report.py", "parse_amount", "(42.50)", "InvalidOperation",
                      "0f129ed", "7 passed", "read_transactions", "filter_by_category",
                      "cannot import name 'load_rows'", "8 passed",
                      "Parse refunds in parentheses", "DD/MM/YYYY"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# rust-ledger: Rust + cargo; balance_at() with take_while over unsorted entries, dead code
# ------------------------------------------------------------------------------------------

LEDGER_RS = '''\
//! A tiny ledger of dated entries; amounts are in cents.

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub day: u32,
    pub amount_cents: i64,
    pub memo: String,
}

#[derive(Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries are kept in the order they were recorded, which is not always date order.
    pub fn record(&mut self, day: u32, amount_cents: i64, memo: &str) {
        self.entries.push(Entry { day, amount_cents, memo: memo.to_string() });
    }

    pub fn balance(&self) -> i64 {
        self.entries.iter().map(|e| e.amount_cents).sum()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn fmt_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{}{}.{:02}", sign, cents.abs() / 100, cents.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ledger {
        let mut l = Ledger::new();
        l.record(1, 10_000, "opening");
        l.record(5, -2_500, "groceries");
        l.record(3, -1_500, "books"); // booked late, out of date order
        l.record(9, 4_000, "refund");
        l
    }

    #[test]
    fn balance_sums_everything() {
        assert_eq!(sample().balance(), 10_000);
    }

    #[test]
    fn empty_ledger() {
        let l = Ledger::new();
        assert!(l.is_empty());
        assert_eq!(l.balance(), 0);
    }

    #[test]
    fn len_counts_entries() {
        assert_eq!(sample().len(), 4);
    }
}
'''


@scenario("rust-ledger",
          "Rust/cargo: add Ledger::balance_at (take_while over unsorted entries fails a test, "
          "fixed with filter), resume: dead-code warning -> statement() + format_cents, commit")
def rust_ledger(p: Path):
    def build(project):
        files(project, {"Cargo.toml": '[package]\nname = "ledger"\nversion = "0.1.0"\n'
                                      'edition = "2021"\n\n[dependencies]\n',
                        "src/lib.rs": LEDGER_RS, ".gitignore": "/target\n"})
        git_init(project, "Ledger with entries and balance")

    lib = p / "src/lib.rs"
    prompts = [
        Prompt("Add a balance_at(day) method to Ledger: the balance including every entry up to "
               "and including that day. With tests please.", [
            say("Let me read the ledger first.", read(lib)),
            say("I'll add `balance_at` next to `balance` and three tests: same-day entries, an "
                "entry booked out of order, and a day before the first entry.",
                edit(lib, "    pub fn len(&self) -> usize {",
                     "    /// Balance including every entry up to and including `day`.\n"
                     "    pub fn balance_at(&self, day: u32) -> i64 {\n"
                     "        self.entries\n"
                     "            .iter()\n"
                     "            .take_while(|e| e.day <= day)\n"
                     "            .map(|e| e.amount_cents)\n"
                     "            .sum()\n"
                     "    }\n\n"
                     "    pub fn len(&self) -> usize {"),
                edit(lib, "    #[test]\n    fn len_counts_entries() {\n"
                          "        assert_eq!(sample().len(), 4);\n    }\n",
                     "    #[test]\n    fn len_counts_entries() {\n"
                     "        assert_eq!(sample().len(), 4);\n    }\n\n"
                     "    #[test]\n    fn balance_at_includes_same_day() {\n"
                     "        assert_eq!(sample().balance_at(5), 6_000);\n    }\n\n"
                     "    #[test]\n    fn balance_at_counts_late_booked_entries() {\n"
                     "        assert_eq!(sample().balance_at(4), 8_500);\n    }\n\n"
                     "    #[test]\n    fn balance_at_before_first_entry() {\n"
                     "        assert_eq!(sample().balance_at(0), 0);\n    }\n")),
            say("", bash("cargo test", "Build and run the tests", fails=True, timeout=300000)),
            say("`balance_at_counts_late_booked_entries` fails: 10000 instead of 8500. "
                "`take_while` stops at the first entry after the day, but entries are kept in "
                "booking order — the books entry of day 3 comes after day 5, so it is never "
                "reached. A `filter` looks at every entry.",
                edit(lib, "            .take_while(|e| e.day <= day)",
                     "            .filter(|e| e.day <= day)")),
            say("", bash("cargo test", "Run the tests again", timeout=300000)),
            say("`Ledger::balance_at(day)` is in `src/lib.rs`.\n\n"
                "The first version used `take_while(|e| e.day <= day)` and "
                "`balance_at_counts_late_booked_entries` failed (`left: 10000, right: 8500`): "
                "entries are stored in booking order, not date order, so `take_while` stopped "
                "at day 5 and never saw the books entry of day 3. Switched to "
                "`filter(|e| e.day <= day)`.\n\n"
                "`cargo test`: test result: ok. 6 passed; 0 failed.\n\n"
                "Note: the build warns that `fmt_cents` is never used."),
        ]),
        Prompt("Let's get rid of that warning by actually using the helper: add a statement() "
               "that lists the entries in date order with formatted amounts. Then commit.", [
            say("", read(lib)),
            say("I'll make the helper public as `format_cents` and build `statement()` on it: "
                "one line per entry, sorted by day (stable, so same-day entries keep their "
                "booking order).",
                edit(lib, "fn fmt_cents(cents: i64) -> String {",
                     "/// `-1500` -> `\"-15.00\"`.\npub fn format_cents(cents: i64) -> String {"),
                edit(lib, "    pub fn len(&self) -> usize {",
                     "    /// One line per entry in date order: day, amount, memo.\n"
                     "    pub fn statement(&self) -> String {\n"
                     "        let mut sorted: Vec<&Entry> = self.entries.iter().collect();\n"
                     "        sorted.sort_by_key(|e| e.day);\n"
                     "        sorted\n"
                     "            .iter()\n"
                     "            .map(|e| format!(\"{:>3}  {:>9}  {}\\n\", e.day, "
                     "format_cents(e.amount_cents), e.memo))\n"
                     "            .collect()\n"
                     "    }\n\n"
                     "    pub fn len(&self) -> usize {"),
                edit(lib, "    #[test]\n    fn balance_at_before_first_entry() {",
                     "    #[test]\n    fn statement_lists_entries_in_date_order() {\n"
                     "        let s = sample().statement();\n"
                     "        let lines: Vec<&str> = s.lines().collect();\n"
                     "        assert_eq!(lines.len(), 4);\n"
                     "        assert!(lines[1].contains(\"-15.00\") && lines[1].ends_with(\"books\"));\n"
                     "        assert!(lines[3].ends_with(\"refund\"));\n    }\n\n"
                     "    #[test]\n    fn balance_at_before_first_entry() {")),
            say("", bash("cargo build 2>&1", "Build, checking for warnings", timeout=300000),
                bash("cargo test 2>&1 | grep -E '^test |test result'", "Run the tests",
                     timeout=300000)),
            say("No warnings and all tests pass. Committing.",
                bash("git add -A && git commit -q -m 'Add Ledger::balance_at and statement()' "
                     "&& git log --oneline -1", "Commit")),
            say("Committed `7cd451c` \"Add Ledger::balance_at and statement()\".\n\n"
                "- `fmt_cents` is now `pub fn format_cents` and is used by the new "
                "`Ledger::statement()`, which prints one line per entry sorted by day; that "
                "removed the `function `fmt_cents` is never used` warning.\n"
                "- New test `statement_lists_entries_in_date_order`.\n"
                "- `cargo build` is clean; `cargo test`: test result: ok. 7 passed; 0 failed.\n\n"
                "Not done: `statement()` has no running balance column yet."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["balance_at", "Ledger"],
            "terms": ["src/lib.rs", "balance_at", "take_while", "booking order",
                      "balance_at_counts_late_booked_entries", "filter(|e| e.day <= day)",
                      "test result: ok. 6 passed", "format_cents", "7cd451c",
                      "test result: ok. 7 passed", "Add Ledger::balance_at and statement()",
                      "running balance"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# node-rate-limiter: Node + node --test; refill rounds down, a question, burst settled on 10
# ------------------------------------------------------------------------------------------

LIMITER_JS = """\
'use strict';

// Token bucket: `burst` requests at once, then `refillPerSecond` more every second.
class TokenBucket {
  constructor({ burst, refillPerSecond }, now = Date.now) {
    this.capacity = burst;
    this.rate = refillPerSecond;
    this.tokens = burst;
    this.now = now;
    this.lastRefill = now();
  }

  refill() {
    const t = this.now();
    const elapsed = t - this.lastRefill;
    this.tokens = Math.min(this.capacity, this.tokens + Math.floor(elapsed / 1000) * this.rate);
    this.lastRefill = t;
  }

  tryTake() {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

module.exports = { TokenBucket };
"""

APP_JS = """\
'use strict';

const limits = require('../config/limits.json');
const { TokenBucket } = require('./limiter');

const buckets = new Map();

// One bucket per client id, created on first use.
function limiterFor(clientId, now = Date.now) {
  if (!buckets.has(clientId)) {
    buckets.set(clientId, new TokenBucket(limits, now));
  }
  return buckets.get(clientId);
}

module.exports = { limiterFor, limits };
"""

LIMITER_TEST_JS = """\
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { TokenBucket } = require('../src/limiter');
const { limiterFor, limits } = require('../src/app');

function clock(start = 0) {
  let t = start;
  const now = () => t;
  now.advance = (ms) => { t += ms; };
  return now;
}

test('allows a burst up to capacity', () => {
  const b = new TokenBucket({ burst: 3, refillPerSecond: 1 }, clock());
  assert.deepStrictEqual([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()],
    [true, true, true, false]);
});

test('refills after a full second', () => {
  const now = clock();
  const b = new TokenBucket({ burst: 1, refillPerSecond: 1 }, now);
  assert.ok(b.tryTake());
  now.advance(1000);
  assert.ok(b.tryTake());
});

test('never exceeds capacity', () => {
  const now = clock();
  const b = new TokenBucket({ burst: 2, refillPerSecond: 5 }, now);
  now.advance(60000);
  b.refill();
  assert.strictEqual(b.tokens, 2);
});

test('limiterFor uses config/limits.json', () => {
  assert.strictEqual(limiterFor('client-a', clock()).capacity, 5);
  assert.strictEqual(limits.refillPerSecond, 1);
});
"""


@scenario("node-rate-limiter",
          "Node/node --test: 429 bursts; refill rounds elapsed time down, new test fails, fixed; "
          "the model asks about the burst size, the user answers 10 on resume; a config test "
          "fails and is updated; commit")
def node_rate_limiter(p: Path):
    def build(project):
        files(project, {"package.json": '{\n  "name": "edge-gateway",\n  "version": "1.4.0",\n'
                                         '  "private": true,\n  "scripts": {"test": '
                                         '"node --test test/"}\n}\n',
                        "src/limiter.js": LIMITER_JS, "src/app.js": APP_JS,
                        "config/limits.json": '{\n  "burst": 5,\n  "refillPerSecond": 1\n}\n',
                        "test/limiter.test.js": LIMITER_TEST_JS,
                        ".gitignore": "node_modules/\n"})
        git_init(project, "Per-client token bucket rate limiting")

    lim, cfg, tst = p / "src/limiter.js", p / "config/limits.json", p / "test/limiter.test.js"
    prompts = [
        Prompt("The mobile app keeps getting 429s even when it only sends a request every "
               "600ms or so. Can you look at the rate limiter?", [
            say("Let me look at the limiter and how it is configured.",
                glob("src/**/*.js"), read(lim), read(cfg)),
            say("`refill()` adds `Math.floor(elapsed / 1000) * rate` tokens and then sets "
                "`lastRefill = t` anyway. A client calling every 600 ms gets `floor(0.6) = 0` "
                "each time and the elapsed time is thrown away, so the bucket never refills. "
                "Let me prove it with a test first.",
                read(tst),
                edit(tst, "test('never exceeds capacity', () => {",
                     "test('refills fractionally between frequent calls', () => {\n"
                     "  const now = clock();\n"
                     "  const b = new TokenBucket({ burst: 2, refillPerSecond: 1 }, now);\n"
                     "  assert.ok(b.tryTake());\n"
                     "  assert.ok(b.tryTake());\n"
                     "  now.advance(600);\n"
                     "  assert.strictEqual(b.tryTake(), false);\n"
                     "  now.advance(600);\n"
                     "  assert.strictEqual(b.tryTake(), true, '1.2 tokens should have refilled');\n"
                     "});\n\n"
                     "test('never exceeds capacity', () => {")),
            say("", bash("npm test", "Run the test suite", fails=True)),
            say("The new test fails as expected. Fix: keep the fractional tokens instead of "
                "rounding the elapsed seconds down.",
                edit(lim, "    this.tokens = Math.min(this.capacity, this.tokens + "
                          "Math.floor(elapsed / 1000) * this.rate);",
                     "    // Keep fractions: a client calling every 600 ms must still earn "
                     "tokens.\n"
                     "    this.tokens = Math.min(this.capacity, this.tokens + "
                     "(elapsed / 1000) * this.rate);")),
            say("", bash("npm test 2>&1 | grep -E '^# (tests|pass|fail)'", "Run the tests")),
            say("Found and fixed it.\n\n**Cause:** `TokenBucket.refill()` in `src/limiter.js` "
                "rounded the elapsed time down to whole seconds (`Math.floor(elapsed / 1000)`) "
                "but still moved `lastRefill` forward, so a client calling every 600 ms never "
                "got a token back and hit 429 as soon as its burst of 5 was used up.\n\n"
                "**Fix:** refill with `(elapsed / 1000) * this.rate`, keeping fractional tokens. "
                "New test `refills fractionally between frequent calls` failed before the fix "
                "and passes now: `npm test` → # pass 5, # fail 0.\n\n"
                "One question before I touch the config: the mobile app fires about 8 requests "
                "when it opens, more than the current `burst: 5` in `config/limits.json`. "
                "Should I raise the burst (I'd suggest 10), or leave it at 5?"),
        ]),
        Prompt("Yes, make the burst 10, but keep refillPerSecond at 1.", [
            say("Setting `burst` to 10 and leaving `refillPerSecond` at 1.",
                read(cfg),
                edit(cfg, '"burst": 5,', '"burst": 10,')),
            say("", bash("npm test 2>&1 | tail -25; exit ${PIPESTATUS[0]}", "Run the tests",
                         fails=True)),
            say("The config test still expects a capacity of 5. Updating it to the new value.",
                read(tst, offset=50),
                edit(tst, "assert.strictEqual(limiterFor('client-a', clock()).capacity, 5);",
                     "assert.strictEqual(limiterFor('client-a', clock()).capacity, 10);")),
            say("", bash("npm test 2>&1 | grep -E '^# (tests|pass|fail)'", "Run the tests"),
                bash("git add -A && git commit -q -m 'Rate limiter: keep fractional refill "
                     "tokens; burst 10 for the mobile app' && git log --oneline -1",
                     "Commit")),
            say("Done: `config/limits.json` now has `\"burst\": 10` with `\"refillPerSecond\": "
                "1` unchanged. The test `limiterFor uses config/limits.json` asserted the old "
                "capacity of 5 and failed after the change; it now expects 10. "
                "`npm test` → # pass 5, # fail 0. Committed as \"Rate limiter: keep fractional "
                "refill tokens; burst 10 for the mobile app\".\n\n"
                "Open: buckets in `src/app.js` are never evicted, so `buckets` grows with every "
                "client id."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["mobile app", "429", "rate limiter"],
            "terms": ["src/limiter.js", "TokenBucket", "Math.floor(elapsed / 1000)",
                      "refills fractionally between frequent calls", "fractional tokens",
                      "# pass 5", "config/limits.json", 'burst 10', "refillPerSecond",
                      "limiterFor uses config/limits.json",
                      "keep fractional refill tokens", "never evicted"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# c-ringbuf: C + gcc/make; wrap-around off by one, then rb_peek without a prototype (-Werror)
# ------------------------------------------------------------------------------------------

RINGBUF_H = """\
#ifndef RINGBUF_H
#define RINGBUF_H

#include <stddef.h>

/* Fixed-capacity FIFO of ints; the storage is owned by the caller. */
typedef struct {
    int *data;
    size_t cap;
    size_t head; /* next slot to write */
    size_t tail; /* next slot to read */
    size_t len;
} ringbuf;

void rb_init(ringbuf *rb, int *storage, size_t cap);
int rb_push(ringbuf *rb, int value); /* 0 ok, -1 full */
int rb_pop(ringbuf *rb, int *out);   /* 0 ok, -1 empty */

#endif
"""

RINGBUF_C = """\
#include "ringbuf.h"

void rb_init(ringbuf *rb, int *storage, size_t cap) {
    rb->data = storage;
    rb->cap = cap;
    rb->head = rb->tail = rb->len = 0;
}

int rb_push(ringbuf *rb, int value) {
    if (rb->len == rb->cap)
        return -1;
    rb->data[rb->head] = value;
    rb->head++;
    if (rb->head > rb->cap)
        rb->head = 0;
    rb->len++;
    return 0;
}

int rb_pop(ringbuf *rb, int *out) {
    if (rb->len == 0)
        return -1;
    *out = rb->data[rb->tail];
    rb->tail++;
    if (rb->tail > rb->cap)
        rb->tail = 0;
    rb->len--;
    return 0;
}
"""

RINGBUF_TEST_C = """\
#include <stdio.h>
#include <stdlib.h>
#include "ringbuf.h"

static int failures = 0;
#define CHECK_EQ(got, want) do { long g_ = (long)(got), w_ = (long)(want); \\
    if (g_ != w_) { printf("FAIL %s:%d: %s == %ld, expected %ld\\n", __func__, __LINE__, \\
                           #got, g_, w_); failures++; } } while (0)

static void test_push_pop_in_order(void) {
    int store[4]; ringbuf rb; int v;
    rb_init(&rb, store, 4);
    CHECK_EQ(rb_push(&rb, 1), 0);
    CHECK_EQ(rb_push(&rb, 2), 0);
    CHECK_EQ(rb_pop(&rb, &v), 0); CHECK_EQ(v, 1);
    CHECK_EQ(rb_pop(&rb, &v), 0); CHECK_EQ(v, 2);
    CHECK_EQ(rb_pop(&rb, &v), -1);
}

static void test_full(void) {
    int store[2]; ringbuf rb;
    rb_init(&rb, store, 2);
    CHECK_EQ(rb_push(&rb, 1), 0);
    CHECK_EQ(rb_push(&rb, 2), 0);
    CHECK_EQ(rb_push(&rb, 3), -1);
}

static void test_wraparound(void) {
    int store[4] = {0}; /* one spare slot: a write past cap lands there, visibly */
    ringbuf rb; int v;
    rb_init(&rb, store, 3);
    rb_push(&rb, 1); rb_push(&rb, 2); rb_push(&rb, 3);
    CHECK_EQ(rb_pop(&rb, &v), 0); CHECK_EQ(v, 1);
    CHECK_EQ(rb_push(&rb, 4), 0);
    CHECK_EQ(store[0], 4); /* the freed first slot is reused */
    CHECK_EQ(store[3], 0); /* nothing written past cap */
    CHECK_EQ(rb.head, 1);
}

int main(void) {
    test_push_pop_in_order();
    test_full();
    test_wraparound();
    if (failures) {
        printf("%d check(s) failed\\n", failures);
        return 1;
    }
    printf("all ring buffer tests passed\\n");
    return 0;
}
"""

RINGBUF_MAKEFILE = """\
CC ?= gcc
CFLAGS ?= -std=c11 -Wall -Wextra -Werror -O1 -g

test: test_ringbuf
\t./test_ringbuf

test_ringbuf: ringbuf.o test_ringbuf.o
\t$(CC) $(CFLAGS) -o $@ $^

%.o: %.c ringbuf.h
\t$(CC) $(CFLAGS) -c $<

clean:
\trm -f *.o test_ringbuf

.PHONY: test clean
"""


@scenario("c-ringbuf",
          "C/gcc+make: wrap-around test fails (head > cap off by one), fixed with modulo; "
          "resume: add rb_peek, -Werror implicit declaration until the prototype is added")
def c_ringbuf(p: Path):
    def build(project):
        files(project, {"ringbuf.h": RINGBUF_H, "ringbuf.c": RINGBUF_C,
                        "test_ringbuf.c": RINGBUF_TEST_C, "Makefile": RINGBUF_MAKEFILE,
                        ".gitignore": "*.o\ntest_ringbuf\n"})
        git_init(project, "Ring buffer of ints with push/pop")

    h, c, t = p / "ringbuf.h", p / "ringbuf.c", p / "test_ringbuf.c"
    prompts = [
        Prompt("make test fails on the wraparound test since I added it. Is the test wrong or "
               "the ring buffer?", [
            say("Let me run it and look at the code.",
                bash("make test", "Build and run the tests", fails=True)),
            say("", read(c), read(t, offset=28, limit=14)),
            say("The ring buffer is wrong, not the test. `rb_push` and `rb_pop` wrap with "
                "`if (rb->head > rb->cap) rb->head = 0;`, so the index reaches `cap` before "
                "wrapping: the 4th push writes `data[3]`, one past the end of a 3-slot buffer, "
                "instead of reusing `data[0]` — exactly the three failed checks. Wrapping with modulo fixes both indices.",
                edit(c, "    rb->head++;\n    if (rb->head > rb->cap)\n        rb->head = 0;\n",
                     "    rb->head = (rb->head + 1) % rb->cap;\n"),
                edit(c, "    rb->tail++;\n    if (rb->tail > rb->cap)\n        rb->tail = 0;\n",
                     "    rb->tail = (rb->tail + 1) % rb->cap;\n")),
            say("", bash("make clean >/dev/null && make test", "Rebuild and test")),
            say("The test was right; the ring buffer had an off-by-one.\n\n**Cause:** in "
                "`ringbuf.c`, `rb_push()`/`rb_pop()` only wrapped when the index was *greater* "
                "than `cap` (`if (rb->head > rb->cap)`), so they used slot `cap` — one past the "
                "end of the caller's array — before wrapping. `test_wraparound` caught it.\n\n"
                "**Fix:** `rb->head = (rb->head + 1) % rb->cap;` (same for `tail`).\n\n"
                "`make test` → all ring buffer tests passed."),
        ]),
        Prompt("Nice. Add rb_peek(rb, out) that reads the oldest value without removing it, "
               "with a test.", [
            say("", read(h)),
            say("Adding `rb_peek` to `ringbuf.c` and a test.",
                edit(c, "int rb_pop(ringbuf *rb, int *out) {",
                     "int rb_peek(const ringbuf *rb, int *out) {\n"
                     "    if (rb->len == 0)\n"
                     "        return -1;\n"
                     "    *out = rb->data[rb->tail];\n"
                     "    return 0;\n"
                     "}\n\n"
                     "int rb_pop(ringbuf *rb, int *out) {"),
                edit(t, "int main(void) {\n    test_push_pop_in_order();",
                     "static void test_peek_keeps_value(void) {\n"
                     "    int store[2]; ringbuf rb; int v = 0;\n"
                     "    rb_init(&rb, store, 2);\n"
                     "    CHECK_EQ(rb_peek(&rb, &v), -1);\n"
                     "    rb_push(&rb, 7);\n"
                     "    CHECK_EQ(rb_peek(&rb, &v), 0); CHECK_EQ(v, 7);\n"
                     "    CHECK_EQ(rb.len, 1);\n"
                     "}\n\n"
                     "int main(void) {\n    test_push_pop_in_order();\n"
                     "    test_peek_keeps_value();")),
            say("", bash("make test 2>&1", "Build and test", fails=True)),
            say("`-Werror` turns the implicit declaration of `rb_peek` in the test into an "
                "error: I forgot the prototype in `ringbuf.h`.",
                edit(h, "int rb_pop(ringbuf *rb, int *out);   /* 0 ok, -1 empty */",
                     "int rb_pop(ringbuf *rb, int *out);   /* 0 ok, -1 empty */\n"
                     "int rb_peek(const ringbuf *rb, int *out); /* like rb_pop, keeps it */")),
            say("", bash("make test", "Build and test")),
            say("Added `int rb_peek(const ringbuf *rb, int *out)` (returns -1 when empty, "
                "leaves the value in place) and `test_peek_keeps_value`.\n\nThe first build "
                "failed with `error: implicit declaration of function 'rb_peek'` "
                "(`-Werror=implicit-function-declaration`) because the prototype was missing "
                "from `ringbuf.h`; added it. `make test` → all ring buffer tests passed.\n\n"
                "Nothing committed yet."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["make test", "wraparound"],
            "terms": ["ringbuf.c", "test_wraparound", "rb->head > rb->cap", "one past the end",
                      "(rb->head + 1) % rb->cap", "all ring buffer tests passed", "rb_peek",
                      "implicit declaration of function", "ringbuf.h", "test_peek_keeps_value",
                      "Nothing committed"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# HELD OUT rust-wordfreq: Rust binary; `| tail` hides a failed cargo test; --top N option
# ------------------------------------------------------------------------------------------

WORDFREQ_MAIN = """\
use std::collections::HashMap;
use std::env;
use std::fs;
use std::process;

fn tokenize(text: &str) -> Vec<String> {
    text.split_whitespace().map(|w| w.to_string()).collect()
}

fn count_words(text: &str) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in tokenize(text) {
        *counts.entry(word).or_insert(0) += 1;
    }
    let mut pairs: Vec<(String, usize)> = counts.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    pairs
}

fn main() {
    let args: Vec<String> = env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: wordfreq FILE");
        process::exit(2);
    }
    let text = match fs::read_to_string(&args[1]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wordfreq: {}: {}", args[1], e);
            process::exit(1);
        }
    };
    for (word, n) in count_words(&text).iter().take(10) {
        println!("{:>6} {}", n, word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sorts() {
        let got = count_words("b a b c b a");
        assert_eq!(got[0], ("b".to_string(), 3));
        assert_eq!(got[1], ("a".to_string(), 2));
    }

    #[test]
    fn ties_sort_alphabetically() {
        let got = count_words("pear apple");
        assert_eq!(got[0].0, "apple");
    }

    #[test]
    fn keeps_apostrophes_inside_words() {
        let got = count_words("don't stop don't");
        assert_eq!(got[0], ("don't".to_string(), 2));
    }
}
"""

WORDFREQ_SAMPLE = """\
The river runs. The river bends, and the river sleeps;
the town wakes, the town works, the town forgets the river.
Don't ask the river where it goes: it doesn't know, and it doesn't care.
"""

WORDFREQ_OLD_MAIN = WORDFREQ_MAIN[WORDFREQ_MAIN.index("fn main() {"):
                                  WORDFREQ_MAIN.index("#[cfg(test)]")]

WORDFREQ_NEW_MAIN = """\
struct Options {
    path: String,
    top: usize,
}

/// `[--top N] FILE`; N defaults to 10.
fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut top = 10;
    let mut path = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--top" {
            let value = args.get(i + 1).ok_or("--top needs a number")?;
            top = value
                .parse()
                .map_err(|_| format!("--top expects a number, got '{}'", value))?;
            i += 2;
        } else {
            path = Some(args[i].clone());
            i += 1;
        }
    }
    let path = path.ok_or("usage: wordfreq [--top N] FILE")?;
    Ok(Options { path, top })
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let opts = match parse_args(&args) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("wordfreq: {}", msg);
            process::exit(2);
        }
    };
    let text = match fs::read_to_string(&opts.path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wordfreq: {}: {}", opts.path, e);
            process::exit(1);
        }
    };
    for (word, n) in count_words(&text).iter().take(opts.top) {
        println!("{:>6} {}", n, word);
    }
}

"""


@scenario("rust-wordfreq",
          "Rust/cargo binary: case and punctuation split counts; first fix breaks apostrophes "
          "but `cargo test | tail -3` exits 0, noticed and fixed; resume: --top N via "
          "parse_args, a bad value rejected, commit",
          heldout=True)
def rust_wordfreq(p: Path):
    def build(project):
        files(project, {"Cargo.toml": '[package]\nname = "wordfreq"\nversion = "0.3.1"\n'
                                      'edition = "2021"\n\n[dependencies]\n',
                        "src/main.rs": WORDFREQ_MAIN, "samples/river.txt": WORDFREQ_SAMPLE,
                        ".gitignore": "/target\n"})
        git_init(project, "wordfreq: count words in a file")

    main = p / "src/main.rs"
    prompts = [
        Prompt('wordfreq counts "The" and "the", or "river," and "river", as different words. '
               "Make it case-insensitive and ignore punctuation.", [
            say("", read(main)),
            say("`tokenize()` only splits on whitespace. I'll split on anything that isn't "
                "alphanumeric and lowercase the words, plus tests for both cases.",
                edit(main, "fn tokenize(text: &str) -> Vec<String> {\n"
                           "    text.split_whitespace().map(|w| w.to_string()).collect()\n}",
                     "fn tokenize(text: &str) -> Vec<String> {\n"
                     "    text.split(|c: char| !c.is_alphanumeric())\n"
                     "        .filter(|w| !w.is_empty())\n"
                     "        .map(|w| w.to_lowercase())\n"
                     "        .collect()\n}"),
                edit(main, "    #[test]\n    fn keeps_apostrophes_inside_words() {",
                     "    #[test]\n    fn ignores_case() {\n"
                     "        let got = count_words(\"Hello hello HELLO\");\n"
                     "        assert_eq!(got, vec![(\"hello\".to_string(), 3)]);\n    }\n\n"
                     "    #[test]\n    fn strips_punctuation() {\n"
                     "        let got = count_words(\"Hello, world. Hello!\");\n"
                     "        assert_eq!(got[0], (\"hello\".to_string(), 2));\n    }\n\n"
                     "    #[test]\n    fn keeps_apostrophes_inside_words() {")),
            say("", bash("cargo test 2>&1 | tail -3", "Run the tests", timeout=300000)),
            say("The pipe into `tail` hid the exit status, but the summary says `FAILED. 4 "
                "passed; 1 failed`. Let me see which test.",
                bash("cargo test 2>&1 | grep -B2 -A12 '^failures:' | head -30",
                     "Show the failing test", timeout=300000)),
            say("`keeps_apostrophes_inside_words` fails: splitting on every non-alphanumeric "
                "character also splits `don't` into `don` and `t`. Better: split on whitespace "
                "and trim punctuation only at the ends of each word.",
                edit(main, "    text.split(|c: char| !c.is_alphanumeric())\n"
                           "        .filter(|w| !w.is_empty())\n"
                           "        .map(|w| w.to_lowercase())\n"
                           "        .collect()",
                     "    text.split_whitespace()\n"
                     "        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())\n"
                     "        .filter(|w| !w.is_empty())\n"
                     "        .collect()")),
            say("", bash("cargo test", "Run the tests", timeout=300000),
                bash("cargo run -q -- samples/river.txt | head -4", "Try it on the sample")),
            say("Fixed in `tokenize()` (`src/main.rs`): words are split on whitespace, "
                "trimmed of punctuation at both ends with "
                "`trim_matches(|c: char| !c.is_alphanumeric())`, and lowercased, so `The`, "
                "`the` and `river,` now count as `the` and `river`.\n\n"
                "My first attempt split on every non-alphanumeric character; that broke "
                "`keeps_apostrophes_inside_words` (`don't` became `don` + `t`). The first test "
                "run piped through `| tail -3` exited 0 and only the summary line showed the "
                "failure.\n\n`cargo test`: test result: ok. 5 passed; 0 failed. On the sample, "
                "`the` (8) and `river` (5) lead."),
        ]),
        Prompt("Good. Add a --top N option instead of the hard-coded 10, then commit.", [
            say("", read(main, offset=20, limit=30)),
            say("I'll move argument handling into a `parse_args()` that returns an `Options` "
                "struct and errors on a missing or non-numeric N.",
                edit(main, WORDFREQ_OLD_MAIN, WORDFREQ_NEW_MAIN),
                edit(main, "    #[test]\n    fn counts_and_sorts() {",
                     "    fn strings(v: &[&str]) -> Vec<String> {\n"
                     "        v.iter().map(|s| s.to_string()).collect()\n    }\n\n"
                     "    #[test]\n    fn parse_args_reads_top() {\n"
                     "        let o = parse_args(&strings(&[\"--top\", \"3\", \"f.txt\"])).unwrap();\n"
                     "        assert_eq!((o.top, o.path.as_str()), (3, \"f.txt\"));\n    }\n\n"
                     "    #[test]\n    fn parse_args_rejects_non_number() {\n"
                     "        assert!(parse_args(&strings(&[\"--top\", \"x\", \"f.txt\"])).is_err());\n"
                     "    }\n\n"
                     "    #[test]\n    fn counts_and_sorts() {")),
            say("", bash("cargo test 2>&1 | grep 'test result'", "Run the tests",
                         timeout=300000),
                bash("cargo run -q -- --top 3 samples/river.txt", "Top 3 on the sample"),
                bash("cargo run -q -- --top x samples/river.txt", "A bad value is rejected",
                     fails=True)),
            say("Works, and a bad value exits 2 with a clear message. Committing.",
                bash("git add -A && git commit -q -m 'Case-insensitive counting without "
                     "punctuation; --top N option' && git log --oneline -1", "Commit")),
            say("Committed `41733e3` \"Case-insensitive counting without punctuation; --top N option\".\n"
                "\n- New `parse_args()` → `Options { path, top }`; `--top` defaults to 10 and "
                "`--top x` fails with `wordfreq: --top expects a number, got 'x'` (exit 2).\n"
                "- Tests `parse_args_reads_top` and `parse_args_rejects_non_number`; `cargo "
                "test`: test result: ok. 7 passed.\n\n"
                "Open: `samples/river.txt` shows `doesn't` and `don't` as separate words; "
                "contractions aren't normalised."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["case-insensitive", "punctuation", "wordfreq"],
            "terms": ["src/main.rs", "tokenize", "trim_matches", "keeps_apostrophes_inside_words",
                      "| tail -3", "FAILED. 4 passed; 1 failed", "test result: ok. 5 passed",
                      "parse_args", "--top expects a number", "test result: ok. 7 passed",
                      "Case-insensitive counting without punctuation", "contractions"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# HELD OUT py-retry-policy: Python + unittest; backoff as a new RetryPolicy class, one delay
# too many; the model asks for the attempts, the user settles 7 attempts / 30 s in settings.toml
# ------------------------------------------------------------------------------------------

RETRY_RUNNER_PY = '''\
"""Runs the nightly sync job against the partner API."""
import logging

log = logging.getLogger(__name__)


def run_with_retries(job, attempts=3):
    """Call job() until it succeeds, at most `attempts` times."""
    last_error = None
    for attempt in range(1, attempts + 1):
        try:
            return job()
        except ConnectionError as exc:
            last_error = exc
            log.warning("attempt %d failed: %s", attempt, exc)
    raise last_error
'''

RETRY_JOB_PY = '''\
"""The nightly job: push the day's changes to the partner API."""
from sync.runner import run_with_retries


def nightly_sync(client):
    return run_with_retries(lambda: client.push_changes())
'''

RETRY_TESTS_PY = '''\
import unittest

from sync.runner import run_with_retries


class Flaky:
    """A job that fails `failures` times with ConnectionError, then returns "ok"."""

    def __init__(self, failures):
        self.failures = failures
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("partner API unavailable")
        return "ok"


class RunWithRetriesTest(unittest.TestCase):
    def test_returns_first_success(self):
        self.assertEqual(run_with_retries(Flaky(0)), "ok")

    def test_retries_until_success(self):
        job = Flaky(2)
        self.assertEqual(run_with_retries(job, attempts=3), "ok")
        self.assertEqual(job.calls, 3)

    def test_gives_up_after_attempts(self):
        job = Flaky(5)
        with self.assertRaises(ConnectionError):
            run_with_retries(job, attempts=3)
        self.assertEqual(job.calls, 3)


if __name__ == "__main__":
    unittest.main()
'''

RETRY_RUNNER_NEW = '''\
"""Runs the nightly sync job against the partner API, with exponential backoff."""
import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 2.0
    max_delay: float = 60.0

    def delays(self):
        """Seconds to wait before each retry: base, 2*base, 4*base ..., capped at max_delay."""
        return [min(self.base_delay * 2 ** n, self.max_delay) for n in range(self.max_attempts)]


def run_with_retries(job, policy=RetryPolicy(), sleep=time.sleep):
    """Call job() until it succeeds; wait policy.delays() between attempts; re-raise the last
    ConnectionError once policy.max_attempts calls have failed."""
    delays = policy.delays()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return job()
        except ConnectionError as exc:
            if attempt == policy.max_attempts:
                raise
            wait = delays[attempt - 1]
            log.warning("attempt %d failed: %s; retrying in %.0fs", attempt, exc, wait)
            sleep(wait)
'''

RETRY_TESTS_NEW = '''\
import unittest

from sync.runner import RetryPolicy, run_with_retries


class Flaky:
    """A job that fails `failures` times with ConnectionError, then returns "ok"."""

    def __init__(self, failures):
        self.failures = failures
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("partner API unavailable")
        return "ok"


class RunWithRetriesTest(unittest.TestCase):
    def setUp(self):
        self.slept = []

    def run_job(self, job, **policy):
        return run_with_retries(job, RetryPolicy(**policy), sleep=self.slept.append)

    def test_returns_first_success(self):
        self.assertEqual(self.run_job(Flaky(0)), "ok")
        self.assertEqual(self.slept, [])

    def test_retries_until_success(self):
        job = Flaky(2)
        self.assertEqual(self.run_job(job, max_attempts=3), "ok")
        self.assertEqual(job.calls, 3)

    def test_gives_up_after_attempts(self):
        job = Flaky(5)
        with self.assertRaises(ConnectionError):
            self.run_job(job, max_attempts=3)
        self.assertEqual(job.calls, 3)

    def test_waits_between_attempts_not_after_the_last(self):
        with self.assertRaises(ConnectionError):
            self.run_job(Flaky(9), max_attempts=3, base_delay=1)
        self.assertEqual(self.slept, [1, 2])


class RetryPolicyTest(unittest.TestCase):
    def test_delays_double_and_cap(self):
        policy = RetryPolicy(max_attempts=5, base_delay=2, max_delay=10)
        self.assertEqual(policy.delays(), [2, 4, 8, 10])

    def test_single_attempt_never_waits(self):
        self.assertEqual(RetryPolicy(max_attempts=1).delays(), [])


if __name__ == "__main__":
    unittest.main()
'''


@scenario("py-retry-policy",
          "Python/unittest: backoff for a flaky nightly sync as a new RetryPolicy class; "
          "delays() yields one delay too many (unittest FAILED, fixed); the model asks how many "
          "attempts, the user answers 7 / 30 s in settings.toml on resume; tomllib text-mode "
          "TypeError fixed; commit",
          heldout=True)
def py_retry_policy(p: Path):
    def build(project):
        files(project, {"sync/__init__.py": "", "sync/runner.py": RETRY_RUNNER_PY,
                        "sync/job.py": RETRY_JOB_PY, "tests/test_runner.py": RETRY_TESTS_PY,
                        ".gitignore": "__pycache__/\n"})
        git_init(project, "Nightly partner sync with naive retries")

    runner, job, tests = p / "sync/runner.py", p / "sync/job.py", p / "tests/test_runner.py"
    unit = "python -m unittest discover -s tests -v 2>&1"
    prompts = [
        Prompt("When the partner API is down, the nightly sync retries three times back to back "
               "and gives up within a second. Add proper backoff between the retries.", [
            say("Let me see how the retries work today and who calls them.",
                read(runner), grep("run_with_retries", p, mode="content")),
            say("", read(job), read(tests)),
            say("Right: `run_with_retries()` loops with no wait at all. I'll add a small "
                "`RetryPolicy` (max attempts, base delay, cap) with exponential delays, and "
                "make `sleep` injectable so the tests don't actually wait.",
                write(runner, RETRY_RUNNER_NEW), write(tests, RETRY_TESTS_NEW)),
            say("", bash(unit, "Run the unit tests", fails=True)),
            say("`delays()` returns one delay per attempt, but there is one wait *between* each "
                "pair of attempts, so it must be `max_attempts - 1` long (a single attempt "
                "never waits).",
                edit(runner, "for n in range(self.max_attempts)]",
                     "for n in range(self.max_attempts - 1)]")),
            say("", bash(unit, "Run the unit tests")),
            say("Backoff is in.\n\n- New `RetryPolicy(max_attempts, base_delay, max_delay)` "
                "in `sync/runner.py`; `delays()` gives 2 s, 4 s, 8 s … capped at `max_delay`.\n"
                "- `run_with_retries(job, policy, sleep=time.sleep)` waits between attempts "
                "and re-raises the last `ConnectionError`.\n"
                "- First run: FAILED (failures=2): `test_delays_double_and_cap` (`[2, 4, 8, "
                "10, 10] != [2, 4, 8, 10]`) and `test_single_attempt_never_waits`, because "
                "`delays()` produced one delay per attempt instead of one per retry; fixed with "
                "`range(self.max_attempts - 1)`. Now: Ran 6 tests, OK.\n\n"
                "`sync/job.py` still uses the default policy (3 attempts). **Question:** what "
                "should the nightly job use? 5 attempts wait 2+4+8+16 = 30 s in total; "
                "7 attempts with a 60 s cap wait about 2 minutes, which would ride out a "
                "typical partner outage. Which do you want?"),
        ]),
        Prompt("7 attempts, but cap the delay at 30 seconds. And put it in a settings.toml "
               "instead of hard-coding it in job.py.", [
            say("I'll add `settings.toml` with a `[retry]` table, a `load_policy()` that reads "
                "it, and have the job use it.",
                write(p / "settings.toml", "# Nightly sync settings\n\n[retry]\n"
                                           "max_attempts = 7\nbase_delay = 2.0\n"
                                           "max_delay = 30.0\n"),
                read(runner)),
            say("", edit(runner, "import logging\nimport time\nfrom dataclasses import "
                                 "dataclass\n",
                         "import logging\nimport time\nimport tomllib\nfrom dataclasses import "
                         "dataclass\n"),
                edit(runner, "def run_with_retries(job, policy=RetryPolicy(), "
                             "sleep=time.sleep):",
                     "def load_policy(path):\n"
                     '    """The [retry] table of a settings file as a RetryPolicy."""\n'
                     "    with open(path) as f:\n"
                     '        return RetryPolicy(**tomllib.load(f)["retry"])\n\n\n'
                     "def run_with_retries(job, policy=RetryPolicy(), sleep=time.sleep):"),
                write(job, '"""The nightly job: push the day\'s changes to the partner '
                           'API."""\n'
                           "from pathlib import Path\n\n"
                           "from sync.runner import load_policy, run_with_retries\n\n"
                           'SETTINGS = Path(__file__).resolve().parent.parent / '
                           '"settings.toml"\n\n\n'
                           "def nightly_sync(client, settings=SETTINGS):\n"
                           "    return run_with_retries(lambda: client.push_changes(), "
                           "load_policy(settings))\n")),
            say("And a test that reads the real settings file.",
                edit(tests, "    def test_single_attempt_never_waits(self):",
                     "    def test_load_policy_reads_settings_toml(self):\n"
                     '        policy = load_policy("settings.toml")\n'
                     "        self.assertEqual(policy, RetryPolicy(max_attempts=7, "
                     "base_delay=2.0, max_delay=30.0))\n\n"
                     "    def test_single_attempt_never_waits(self):"),
                edit(tests, "from sync.runner import RetryPolicy, run_with_retries",
                     "from sync.runner import RetryPolicy, load_policy, run_with_retries")),
            say("", bash(unit + " | tail -20; exit ${PIPESTATUS[0]}", "Run the unit tests",
                         fails=True)),
            say("`tomllib.load()` needs a binary file; opening it in text mode raises "
                "`TypeError: File must be opened in binary mode`.",
                edit(runner, "    with open(path) as f:", '    with open(path, "rb") as f:')),
            say("", bash(unit + " | tail -4", "Run the unit tests"),
                bash("python -c \"from sync.runner import load_policy; "
                     "p = load_policy('settings.toml'); print(p.delays(), sum(p.delays()))\"",
                     "Show the waits of the nightly policy")),
            say("", bash("git add -A && git commit -q -m 'Nightly sync: exponential backoff "
                         "via RetryPolicy, 7 attempts capped at 30s from settings.toml' && "
                         "git log --oneline -1", "Commit")),
            say("Done and committed.\n\n- `settings.toml` → `[retry] max_attempts = 7, "
                "base_delay = 2.0, max_delay = 30.0`.\n- `load_policy(path)` in "
                "`sync/runner.py` reads it; `nightly_sync()` in `sync/job.py` uses it instead "
                "of the default policy.\n- The first test run failed: `tomllib.load()` raised "
                "`TypeError: File must be opened in binary mode` because `load_policy()` "
                "opened the file in text mode; now `open(path, \"rb\")`.\n- Ran 7 tests, OK. "
                "The nightly policy waits 2, 4, 8, 16, 30, 30 s = 90 s in total before giving "
                "up.\n\nNot done: nothing alerts anyone when the job finally gives up."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["backoff", "nightly sync", "partner API"],
            "terms": ["sync/runner.py", "RetryPolicy", "delays()", "test_delays_double_and_cap",
                      "range(self.max_attempts - 1)", "max_attempts = 7", "max_delay = 30.0",
                      "settings.toml", "load_policy", "File must be opened in binary mode",
                      "Ran 7 tests", "alerts"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# java-inventory: Java + javac/java; lossy double->int compile error; rename StockItem
# ------------------------------------------------------------------------------------------

STOCK_ITEM_JAVA = """\
package inventory;

public class StockItem {
    private final String sku;
    private final int quantity;
    private final double unitPrice;

    public StockItem(String sku, int quantity, double unitPrice) {
        this.sku = sku;
        this.quantity = quantity;
        this.unitPrice = unitPrice;
    }

    public String getSku() { return sku; }
    public int getQuantity() { return quantity; }
    public double getUnitPrice() { return unitPrice; }
}
"""

INVENTORY_JAVA = """\
package inventory;

import java.util.ArrayList;
import java.util.List;

public class Inventory {
    private final List<StockItem> items = new ArrayList<>();

    public void add(StockItem item) {
        items.add(item);
    }

    public int totalUnits() {
        int total = 0;
        for (StockItem item : items) {
            total += item.getQuantity();
        }
        return total;
    }
}
"""

INVENTORY_TEST_JAVA = """\
package inventory;

/** Dependency-free checks; run with ./run-tests.sh. */
public class InventoryTest {
    static int failures = 0;

    static void check(boolean ok, String name) {
        System.out.println((ok ? "PASS " : "FAIL ") + name);
        if (!ok) failures++;
    }

    static Inventory sample() {
        Inventory inv = new Inventory();
        inv.add(new StockItem("A-100", 3, 2.50));
        inv.add(new StockItem("B-200", 2, 10.00));
        inv.add(new StockItem("C-300", 12, 0.75));
        return inv;
    }

    public static void main(String[] args) {
        check(sample().totalUnits() == 17, "totalUnits");
        check(new Inventory().totalUnits() == 0, "emptyInventory");
        System.out.println(failures == 0 ? "OK" : failures + " FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }
}
"""

RUN_TESTS_SH = """\
#!/bin/sh
# Compile everything into out/ and run the checks.
set -e
rm -rf out
javac -Xlint:all -d out $(find src test -name '*.java')
java -cp out inventory.InventoryTest
"""


@scenario("java-inventory",
          "Java/javac: totalValue() and lowStock() — 'possible lossy conversion from double to "
          "int' compile error fixed; resume: rename StockItem -> InventoryItem with git mv, "
          "new withQuantity(), a missed file fails to compile, commit")
def java_inventory(p: Path):
    def build(project):
        files(project, {"src/inventory/StockItem.java": STOCK_ITEM_JAVA,
                        "src/inventory/Inventory.java": INVENTORY_JAVA,
                        "test/inventory/InventoryTest.java": INVENTORY_TEST_JAVA,
                        "run-tests.sh": RUN_TESTS_SH, ".gitignore": "out/\n"})
        sh(project, "chmod +x run-tests.sh")
        git_init(project, "Inventory with stock items and unit totals")

    inv, item = p / "src/inventory/Inventory.java", p / "src/inventory/StockItem.java"
    test = p / "test/inventory/InventoryTest.java"
    new_item = p / "src/inventory/InventoryItem.java"
    prompts = [
        Prompt("Add two things to Inventory: totalValue() (sum of quantity x unit price) and "
               "lowStock(threshold) returning the SKUs with fewer units than the threshold.", [
            say("Let me look at the classes and how tests are run.",
                glob("**/*.java"), read(inv), read(item), read(p / "run-tests.sh")),
            say("I'll add both methods to `Inventory` and checks to `InventoryTest`.",
                edit(inv, "    public int totalUnits() {",
                     "    public double totalValue() {\n"
                     "        double total = 0;\n"
                     "        for (StockItem item : items) {\n"
                     "            int value = item.getQuantity() * item.getUnitPrice();\n"
                     "            total += value;\n"
                     "        }\n"
                     "        return total;\n"
                     "    }\n\n"
                     "    /** SKUs with fewer than {@code threshold} units, in insertion order. */\n"
                     "    public List<String> lowStock(int threshold) {\n"
                     "        List<String> low = new ArrayList<>();\n"
                     "        for (StockItem item : items) {\n"
                     "            if (item.getQuantity() < threshold) {\n"
                     "                low.add(item.getSku());\n"
                     "            }\n"
                     "        }\n"
                     "        return low;\n"
                     "    }\n\n"
                     "    public int totalUnits() {"),
                read(test),
                edit(test, '        check(new Inventory().totalUnits() == 0, "emptyInventory");',
                     '        check(new Inventory().totalUnits() == 0, "emptyInventory");\n'
                     '        check(sample().totalValue() == 36.5, "totalValue");\n'
                     '        check(sample().lowStock(3).equals(java.util.List.of("B-200")), '
                     '"lowStock");\n'
                     '        check(sample().lowStock(1).isEmpty(), "lowStockNone");')),
            say("", bash("./run-tests.sh", "Compile and run the checks", fails=True)),
            say("`quantity * unitPrice` is a `double`; assigning it to an `int` is a lossy "
                "conversion javac refuses (and it would have dropped the cents anyway).",
                edit(inv, "            int value = item.getQuantity() * item.getUnitPrice();\n"
                          "            total += value;",
                     "            total += item.getQuantity() * item.getUnitPrice();")),
            say("", bash("./run-tests.sh", "Compile and run the checks")),
            say("Added to `src/inventory/Inventory.java`:\n\n- `double totalValue()` — sum of "
                "quantity × unit price (36.5 for the sample).\n- `List<String> "
                "lowStock(int threshold)` — SKUs with fewer units than the threshold, in "
                "insertion order.\n\nThe first compile failed: `error: incompatible types: "
                "possible lossy conversion from double to int` — I had stored the line value in "
                "an `int`; it is now added to the `double` total directly. `./run-tests.sh` → "
                "5 checks PASS, OK.\n\nWorth considering: money is a `double`; `BigDecimal` "
                "would avoid rounding surprises."),
        ]),
        Prompt("Please rename StockItem to InventoryItem everywhere, and give it a "
               "withQuantity(int) that returns a copy with a new quantity. Commit when green.", [
            say("Finding every use first.",
                grep("StockItem", p, mode="files_with_matches")),
            say("", bash("git mv src/inventory/StockItem.java src/inventory/InventoryItem.java",
                         "Rename the file with git"),
                read(new_item)),
            say("", edit(new_item, "StockItem", "InventoryItem", replace_all=True),
                edit(new_item, "    public double getUnitPrice() { return unitPrice; }\n",
                     "    public double getUnitPrice() { return unitPrice; }\n\n"
                     "    /** A copy of this item with another quantity. */\n"
                     "    public InventoryItem withQuantity(int newQuantity) {\n"
                     "        return new InventoryItem(sku, newQuantity, unitPrice);\n"
                     "    }\n"),
                read(inv)),
            say("", edit(inv, "StockItem", "InventoryItem", replace_all=True),
                bash("./run-tests.sh 2>&1 | head -20; exit ${PIPESTATUS[0]}", "Compile and test",
                     fails=True)),
            say("The test class still uses the old name.",
                read(test),
                edit(test, "StockItem", "InventoryItem", replace_all=True),
                edit(test, '        check(sample().lowStock(1).isEmpty(), "lowStockNone");',
                     '        check(sample().lowStock(1).isEmpty(), "lowStockNone");\n'
                     '        InventoryItem a = new InventoryItem("A-100", 3, 2.50);\n'
                     '        check(a.withQuantity(9).getQuantity() == 9 && a.getQuantity() == 3,'
                     ' "withQuantityCopies");')),
            say("", bash("./run-tests.sh", "Compile and test"),
                grep("StockItem", p, mode="files_with_matches")),
            say("No references left. Committing.",
                bash("git add -A && git commit -q -m 'Rename StockItem to InventoryItem; add "
                     "totalValue, lowStock and withQuantity' && git log --oneline -1 && "
                     "git status --short", "Commit")),
            say("Committed `6e10ec9` \"Rename StockItem to InventoryItem; add totalValue, "
                "lowStock and withQuantity\".\n\n- `src/inventory/StockItem.java` → "
                "`src/inventory/InventoryItem.java` (`git mv`), class renamed, new "
                "`InventoryItem withQuantity(int newQuantity)` returning a copy.\n- "
                "`Inventory` and `InventoryTest` updated; the first build failed with `cannot "
                "find symbol` for `class StockItem` in `InventoryTest.java` until the test was "
                "renamed too.\n- `./run-tests.sh` → 6 checks PASS, OK."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["totalValue", "lowStock", "Inventory"],
            "terms": ["src/inventory/Inventory.java", "totalValue()", "lowStock",
                      "possible lossy conversion from double to int", "BigDecimal",
                      "InventoryItem", "withQuantity", "git mv", "cannot find symbol",
                      "6 checks PASS", "Rename StockItem to InventoryItem"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# sh-backup-rotate: Bash; rotation deletes the newest backups after a restore (ls -t on equal
# mtimes); branch, commit, `git push` without upstream fails, --set-upstream; --dry-run
# ------------------------------------------------------------------------------------------

ROTATE_SH = """\
#!/usr/bin/env bash
# Keep the newest $KEEP backups (db-YYYY-MM-DD.sql.gz) in DIR and delete the rest.
set -euo pipefail

dir=${1:?usage: rotate-backups.sh DIR}
keep=${KEEP:-7}

cd "$dir"
ls -t db-*.sql.gz | tail -n +$((keep + 1)) | while read -r f; do
  echo "removing $f"
  rm -- "$f"
done
"""

ROTATE_TEST_SH = """\
#!/usr/bin/env bash
# Checks for bin/rotate-backups.sh; prints ok/not ok lines, exits 1 on any failure.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
fail=0

make_backups() {  # ten daily backups, all with the same mtime (as after a restore)
  local d=$1
  for day in 01 02 03 04 05 06 07 08 09 10; do
    touch -d '2026-03-11 04:00' "$d/db-2026-03-$day.sql.gz"
  done
}

check() {  # name, expected, actual
  if [ "$2" == "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected '$2', got '$3'"; fail=1; fi
}

t=$(mktemp -d)
make_backups "$t"
KEEP=7 "$here/bin/rotate-backups.sh" "$t" >/dev/null
check "keeps 7 backups" 7 "$(ls "$t" | wc -l | tr -d ' ')"
check "keeps the newest" "db-2026-03-04.sql.gz" "$(ls "$t" | head -1)"
rm -rf "$t"

exit $fail
"""


@scenario("sh-backup-rotate",
          "Bash: backup rotation deleted the newest backups after a restore (ls -t with equal "
          "mtimes); fix on a branch, `git push` fails without upstream, --set-upstream; "
          "resume: --dry-run flag, pushed")
def sh_backup_rotate(p: Path):
    origin = p.parent / f"{p.name}-origin.git"

    def build(project):
        files(project, {"bin/rotate-backups.sh": ROTATE_SH, "tests/test_rotate.sh": ROTATE_TEST_SH,
                        "README.md": "# ops-scripts\n\nCron jobs for the database host.\n\n"
                                     "- `bin/rotate-backups.sh DIR` keeps the newest `KEEP` "
                                     "(default 7) backups.\n"})
        sh(project, "chmod +x bin/rotate-backups.sh tests/test_rotate.sh")
        git_init(project, "Backup rotation script")
        sh(project, f"rm -rf {origin} {p}-demo && git init -q --bare {origin}",
           f"git remote add origin {origin}", "git push -q origin main")

    script, tests = p / "bin/rotate-backups.sh", p / "tests/test_rotate.sh"
    prompts = [
        Prompt("After we restored /srv/backups from S3 last night, the rotation cron deleted "
               "the NEWEST backups instead of the oldest. Please look at bin/rotate-backups.sh, "
               "fix it on a branch and push it so I can review.", [
            say("I'll start a branch, then read the script and its test.",
                bash("git checkout -b fix/rotate-by-name", "Create the fix branch"),
                read(script), read(tests)),
            say("", bash("tests/test_rotate.sh", "Run the rotation test", fails=True)),
            say("Reproduced. `ls -t` sorts by modification time; after a restore every file "
                "has the same mtime, and GNU `ls` then falls back to name order — oldest name "
                "first — so `tail -n +8` picked the three *newest* dates. The date is in the "
                "file name, so sort by name, newest first.",
                edit(script, 'ls -t db-*.sql.gz | tail -n +$((keep + 1)) | while read -r f; do',
                     '# Newest first by the date in the name: mtimes are meaningless after a '
                     'restore.\n'
                     'ls db-*.sql.gz | sort -r | tail -n +$((keep + 1)) | while read -r f; do')),
            say("", bash("tests/test_rotate.sh", "Run the rotation test")),
            say("", bash("git add -A && git commit -q -m 'rotate-backups: pick backups by the "
                         "date in the name, not mtime' && git push", "Commit and push",
                         fails=True)),
            say("The branch has no upstream yet.",
                bash("git push --set-upstream origin fix/rotate-by-name 2>&1",
                     "Push and set upstream")),
            say("Fixed and pushed to `fix/rotate-by-name` for review.\n\n**Cause:** "
                "`bin/rotate-backups.sh` chose what to delete with `ls -t` (by mtime). The "
                "restore from S3 gave every file the same mtime, so `ls` fell back to "
                "alphabetical order and `tail -n +8` selected the newest dates.\n\n**Fix:** "
                "`ls db-*.sql.gz | sort -r` — the date in the file name decides. "
                "`tests/test_rotate.sh` failed before (`keeps the newest: expected "
                "'db-2026-03-04.sql.gz', got 'db-2026-03-01.sql.gz'`) and passes now.\n\n"
                "Committed as `71f5815`. The first `git push` failed (`The current branch fix/rotate-by-name has no "
                "upstream branch`); pushed with `git push --set-upstream origin "
                "fix/rotate-by-name`."),
        ]),
        Prompt("Looks right. Can you also add a --dry-run flag that only prints what would be "
               "removed? Push that too.", [
            say("", read(script)),
            say("Adding `--dry-run` as an optional first argument, plus a test that nothing is "
                "deleted with it.",
                write(script, ROTATE_SH.replace(
                    'dir=${1:?usage: rotate-backups.sh DIR}',
                    'dry_run=0\nif [ "${1:-}" = "--dry-run" ]; then\n  dry_run=1\n  shift\nfi\n'
                    'dir=${1:?usage: rotate-backups.sh [--dry-run] DIR}').replace(
                    'ls -t db-*.sql.gz | tail -n +$((keep + 1)) | while read -r f; do\n'
                    '  echo "removing $f"\n  rm -- "$f"\n',
                    '# Newest first by the date in the name: mtimes are meaningless after a '
                    'restore.\n'
                    'ls db-*.sql.gz | sort -r | tail -n +$((keep + 1)) | while read -r f; do\n'
                    '  if [ "$dry_run" = 1 ]; then\n    echo "would remove $f"\n'
                    '    continue\n  fi\n  echo "removing $f"\n  rm -- "$f"\n')),
                edit(tests, "rm -rf \"$t\"\n\nexit $fail",
                     "rm -rf \"$t\"\n\n"
                     "t=$(mktemp -d)\n"
                     "make_backups \"$t\"\n"
                     "out=$(KEEP=7 \"$here/bin/rotate-backups.sh\" --dry-run \"$t\")\n"
                     "check \"dry run deletes nothing\" 10 \"$(ls \"$t\" | wc -l | tr -d ' ')\"\n"
                     "check \"dry run lists 3\" 3 \"$(grep -c '^would remove' <<<\"$out\")\"\n"
                     "rm -rf \"$t\"\n\nexit $fail")),
            say("", bash("tests/test_rotate.sh", "Run the tests"),
                bash(f"mkdir -p {p}-demo && cd {p}-demo && for d in 01 02 03 04 05 06 07 08 "
                     f"09; do touch db-2026-03-$d.sql.gz; done && KEEP=7 {script} --dry-run .",
                     "Try the dry run on a scratch folder")),
            say("", bash("git add -A && git commit -q -m 'rotate-backups: --dry-run' && git push "
                         "2>&1 && git log --oneline -3", "Commit and push")),
            say("Pushed to `fix/rotate-by-name`: `bin/rotate-backups.sh --dry-run DIR` prints "
                "`would remove <file>` for each backup beyond `KEEP` and deletes nothing. New "
                "checks `dry run deletes nothing` and `dry run lists 3` pass with the others "
                "(`tests/test_rotate.sh`: 4 ok). This push went straight through since the "
                "upstream is set.\n\nStill open: the cron entry on the database host runs the "
                "script from `/opt/ops-scripts` — it needs a `git pull` there after the merge."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["rotation", "NEWEST backups", "branch"],
            "terms": ["bin/rotate-backups.sh", "ls -t", "same mtime", "sort -r",
                      "fix/rotate-by-name", "has no upstream branch",
                      "git push --set-upstream origin fix/rotate-by-name",
                      "pick backups by the date in the name", "--dry-run", "would remove",
                      "4 ok", "/opt/ops-scripts"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# py-taskforge-long: Python + pytest, one long session (3 prompts, 60+ tool calls): due dates,
# a KeyError on old files, a friendlier --due error, splitting core.py into models/storage with
# TaskStore -> JsonTaskStore, a ModuleNotFoundError from __init__, a branch and a heredoc commit
# ------------------------------------------------------------------------------------------

TF_INIT = '''\
"""taskforge: a tiny task list kept in a JSON file."""
from taskforge.core import Task, TaskStore

__all__ = ["Task", "TaskStore"]
__version__ = "0.3.0"
'''

TF_CORE = '''\
"""Tasks and the JSON file they are kept in."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Task:
    id: int
    title: str
    done: bool = False
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "done": self.done, "tags": self.tags}

    @classmethod
    def from_dict(cls, d: dict) -> "Task":
        return cls(id=d["id"], title=d["title"], done=d["done"], tags=list(d["tags"]))


class TaskStore:
    """All tasks of one file; every change is written back at once."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.tasks: list[Task] = []
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.tasks = [Task.from_dict(d) for d in data["tasks"]]

    def save(self) -> None:
        data = {"version": 1, "tasks": [t.to_dict() for t in self.tasks]}
        self.path.write_text(json.dumps(data, indent=2) + "\\n")

    def add(self, title: str, tags: list[str] | None = None) -> Task:
        next_id = max((t.id for t in self.tasks), default=0) + 1
        task = Task(next_id, title, tags=list(tags or []))
        self.tasks.append(task)
        self.save()
        return task

    def complete(self, task_id: int) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                task.done = True
                self.save()
                return task
        raise KeyError(f"no task {task_id}")

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if not t.done]
'''

TF_CLI = '''\
"""Command line: taskforge add|done|list."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from taskforge.core import TaskStore

DEFAULT_FILE = Path(os.environ.get("TASKFORGE_FILE", "tasks.json"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskforge")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a task")
    add.add_argument("title")
    add.add_argument("--tag", action="append", default=[])
    done = sub.add_parser("done", help="mark a task done")
    done.add_argument("id", type=int)
    sub.add_parser("list", help="list open tasks")
    return parser


def format_task(task) -> str:
    tags = "".join(f" #{t}" for t in task.tags)
    return f"{task.id:>3}  {task.title}{tags}"


def main(argv=None, store=None) -> int:
    args = build_parser().parse_args(argv)
    store = store or TaskStore(DEFAULT_FILE)
    if args.command == "add":
        task = store.add(args.title, args.tag)
        print(f"added {task.id}")
    elif args.command == "done":
        store.complete(args.id)
        print(f"done {args.id}")
    elif args.command == "list":
        for task in store.open_tasks():
            print(format_task(task))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''

TF_TEST_CORE = '''\
import json
from pathlib import Path

from taskforge.core import Task, TaskStore

DATA = Path(__file__).parent / "data"


def test_add_assigns_increasing_ids(tmp_path):
    store = TaskStore(tmp_path / "t.json")
    assert store.add("a").id == 1
    assert store.add("b").id == 2


def test_add_persists(tmp_path):
    TaskStore(tmp_path / "t.json").add("write docs", ["docs"])
    again = TaskStore(tmp_path / "t.json")
    assert [t.title for t in again.tasks] == ["write docs"]
    assert again.tasks[0].tags == ["docs"]


def test_complete_marks_done(tmp_path):
    store = TaskStore(tmp_path / "t.json")
    store.add("a")
    store.complete(1)
    assert store.open_tasks() == []


def test_complete_unknown_id(tmp_path):
    store = TaskStore(tmp_path / "t.json")
    try:
        store.complete(7)
    except KeyError as exc:
        assert "no task 7" in str(exc)
    else:
        raise AssertionError("expected KeyError")


def test_loads_file_written_by_0_3():
    store = TaskStore(DATA / "tasks-v0.3.json")
    assert [t.id for t in store.open_tasks()] == [1, 3]


def test_roundtrip_dict():
    t = Task(4, "x", tags=["a"])
    assert Task.from_dict(json.loads(json.dumps(t.to_dict()))) == t
'''

TF_TEST_CLI = '''\
from taskforge.cli import main
from taskforge.core import TaskStore


def test_add_and_list(tmp_path, capsys):
    store = TaskStore(tmp_path / "t.json")
    main(["add", "buy milk", "--tag", "home"], store=store)
    main(["list"], store=store)
    out = capsys.readouterr().out
    assert "added 1" in out
    assert "  1  buy milk #home" in out


def test_done_hides_task(tmp_path, capsys):
    store = TaskStore(tmp_path / "t.json")
    main(["add", "a"], store=store)
    main(["done", "1"], store=store)
    main(["list"], store=store)
    assert capsys.readouterr().out.strip().splitlines() == ["added 1", "done 1"]
'''

TF_DATA = '''\
{
  "version": 1,
  "tasks": [
    {"id": 1, "title": "renew passport", "done": false, "tags": ["admin"]},
    {"id": 2, "title": "book flights", "done": true, "tags": []},
    {"id": 3, "title": "call the plumber", "done": false, "tags": ["home"]}
  ]
}
'''

TF_README = '''\
# taskforge

A tiny task list kept in a JSON file (`tasks.json`, or `$TASKFORGE_FILE`).

    python -m taskforge add "renew passport" --tag admin
    python -m taskforge list
    python -m taskforge done 1

Code: `taskforge/core.py` (the `Task` dataclass and `TaskStore`), `taskforge/cli.py`.
'''

# What the session turns taskforge/core.py into (prompt 1), then splits (prompt 2).
TF_MODELS = '''\
"""The Task record and its JSON form."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Task:
    id: int
    title: str
    done: bool = False
    tags: list[str] = field(default_factory=list)
    due: date | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "done": self.done, "tags": self.tags,
                "due": self.due.isoformat() if self.due else None}

    @classmethod
    def from_dict(cls, d: dict) -> "Task":
        # Files written by 0.3 have no "due" key.
        due = date.fromisoformat(d["due"]) if d.get("due") else None
        return cls(id=d["id"], title=d["title"], done=d["done"], tags=list(d["tags"]), due=due)

    def is_overdue(self, today: date) -> bool:
        return not self.done and self.due is not None and self.due < today
'''

TF_STORAGE = '''\
"""JsonTaskStore: all tasks of one JSON file; every change is written back at once."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from taskforge.models import Task


class JsonTaskStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.tasks: list[Task] = []
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.tasks = [Task.from_dict(d) for d in data["tasks"]]

    def save(self) -> None:
        data = {"version": 1, "tasks": [t.to_dict() for t in self.tasks]}
        self.path.write_text(json.dumps(data, indent=2) + "\\n")

    def add(self, title: str, tags: list[str] | None = None, due: date | None = None) -> Task:
        next_id = max((t.id for t in self.tasks), default=0) + 1
        task = Task(next_id, title, tags=list(tags or []), due=due)
        self.tasks.append(task)
        self.save()
        return task

    def complete(self, task_id: int) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                task.done = True
                self.save()
                return task
        raise KeyError(f"no task {task_id}")

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if not t.done]

    def overdue(self, today: date) -> list[Task]:
        return [t for t in self.tasks if t.is_overdue(today)]


# Deprecated name, kept so existing scripts keep working; remove in 0.5.0.
TaskStore = JsonTaskStore
'''

TF_CHANGELOG = '''\
# Changelog

## 0.4.0

- Tasks can have a due date: `taskforge add "title" --due YYYY-MM-DD`;
  `taskforge list --overdue` shows open tasks past their date. Files written by 0.3 still load.
- `taskforge/core.py` is split into `taskforge/models.py` (`Task`) and `taskforge/storage.py`.
- `TaskStore` is now `JsonTaskStore`; `TaskStore` stays as a deprecated alias until 0.5.0.
'''


@scenario("py-taskforge-long",
          "Python/pytest, long (3 prompts, 60+ tool calls, TodoWrite): due dates + --overdue, "
          "KeyError 'due' on 0.3 files fixed, friendlier --due error; split core.py into "
          "models.py/storage.py and rename TaskStore -> JsonTaskStore, ModuleNotFoundError from "
          "__init__ fixed; branch + CHANGELOG + heredoc commit")
def py_taskforge_long(p: Path):
    def build(project):
        files(project, {"taskforge/__init__.py": TF_INIT, "taskforge/core.py": TF_CORE,
                        "taskforge/cli.py": TF_CLI,
                        "taskforge/__main__.py": "from taskforge.cli import main\n\n"
                                                 "raise SystemExit(main())\n",
                        "tests/test_core.py": TF_TEST_CORE, "tests/test_cli.py": TF_TEST_CLI,
                        "tests/data/tasks-v0.3.json": TF_DATA, "README.md": TF_README,
                        "pyproject.toml": '[project]\nname = "taskforge"\nversion = "0.3.0"\n'
                                          'requires-python = ">=3.10"\n',
                        ".gitignore": "__pycache__/\n.pytest_cache/\ntasks.json\n"})
        git_init(project, "taskforge 0.3.0")

    core, cli, init = p / "taskforge/core.py", p / "taskforge/cli.py", p / "taskforge/__init__.py"
    t_core, t_cli = p / "tests/test_core.py", p / "tests/test_cli.py"
    models, storage = p / "taskforge/models.py", p / "taskforge/storage.py"
    scratch = f"TASKFORGE_FILE={p}-scratch.json"
    plan = ["Add a due date to Task (model + JSON, old files still load)",
            "Add TaskStore.overdue() and tests",
            "Add --due to `add` and --overdue to `list`",
            "Run the tests and try the CLI"]

    def plan_state(*states):
        return todos(*zip(plan, states))

    p1 = [
        say("I'll plan this out first.", load_todo()),
        say("", plan_state("in_progress", "pending", "pending", "pending")),
        say("Let me get to know the code.", glob("**/*.py"), read(p / "README.md")),
        say("", read(core), read(cli), read(init)),
        say("", read(t_core), read(t_cli),
            bash("cat tests/data/tasks-v0.3.json", "Look at the 0.3 data file")),
        say("Baseline first.", bash("python -m pytest -q", "Run the tests before changing "
                                                          "anything")),
        say("8 passing. Adding `due` to `Task`: stored as an ISO date string in the JSON.",
            edit(core, "import json\nfrom dataclasses import dataclass, field\n",
                 "import json\nfrom dataclasses import dataclass, field\nfrom datetime import "
                 "date\n"),
            edit(core, "    tags: list[str] = field(default_factory=list)\n\n    def to_dict",
                 "    tags: list[str] = field(default_factory=list)\n"
                 "    due: date | None = None\n\n    def to_dict"),
            edit(core, '        return {"id": self.id, "title": self.title, "done": self.done, '
                       '"tags": self.tags}',
                 '        return {"id": self.id, "title": self.title, "done": self.done, '
                 '"tags": self.tags,\n'
                 '                "due": self.due.isoformat() if self.due else None}'),
            edit(core, '        return cls(id=d["id"], title=d["title"], done=d["done"], '
                       'tags=list(d["tags"]))',
                 '        due = date.fromisoformat(d["due"]) if d["due"] else None\n'
                 '        return cls(id=d["id"], title=d["title"], done=d["done"], '
                 'tags=list(d["tags"]), due=due)\n\n'
                 '    def is_overdue(self, today: date) -> bool:\n'
                 '        return not self.done and self.due is not None and self.due < today')),
        say("Now the store: `add()` takes an optional due date, and a new `overdue(today)`.",
            edit(core, "    def add(self, title: str, tags: list[str] | None = None) -> Task:\n"
                       "        next_id = max((t.id for t in self.tasks), default=0) + 1\n"
                       "        task = Task(next_id, title, tags=list(tags or []))",
                 "    def add(self, title: str, tags: list[str] | None = None, "
                 "due: date | None = None) -> Task:\n"
                 "        next_id = max((t.id for t in self.tasks), default=0) + 1\n"
                 "        task = Task(next_id, title, tags=list(tags or []), due=due)"),
            edit(core, "    def open_tasks(self) -> list[Task]:\n"
                       "        return [t for t in self.tasks if not t.done]\n",
                 "    def open_tasks(self) -> list[Task]:\n"
                 "        return [t for t in self.tasks if not t.done]\n\n"
                 "    def overdue(self, today: date) -> list[Task]:\n"
                 "        return [t for t in self.tasks if t.is_overdue(today)]\n")),
        say("", bash("python -m pytest -q 2>&1 | tail -20; exit ${PIPESTATUS[0]}",
                     "Run the tests", fails=True)),
        say("`test_loads_file_written_by_0_3` fails with `KeyError: 'due'`: files written by "
            "0.3 have no `due` key at all. `from_dict` must treat a missing key like `null`.",
            edit(core, '        due = date.fromisoformat(d["due"]) if d["due"] else None',
                 '        # Files written by 0.3 have no "due" key.\n'
                 '        due = date.fromisoformat(d["due"]) if d.get("due") else None')),
        say("", bash("python -m pytest -q", "Run the tests")),
        say("", plan_state("completed", "in_progress", "pending", "pending")),
        say("Tests for the new behaviour.",
            edit(t_core, "from taskforge.core import Task, TaskStore\n",
                 "from datetime import date\n\nfrom taskforge.core import Task, TaskStore\n"),
            edit(t_core, "def test_roundtrip_dict():\n    t = Task(4, \"x\", tags=[\"a\"])",
                 "def test_overdue_skips_done_and_undated(tmp_path):\n"
                 "    store = TaskStore(tmp_path / \"t.json\")\n"
                 "    store.add(\"late\", due=date(2026, 3, 1))\n"
                 "    store.add(\"done late\", due=date(2026, 3, 1))\n"
                 "    store.add(\"no date\")\n"
                 "    store.add(\"future\", due=date(2026, 4, 1))\n"
                 "    store.complete(2)\n"
                 "    assert [t.title for t in store.overdue(date(2026, 3, 16))] == [\"late\"]\n"
                 "\n\n"
                 "def test_due_survives_reload(tmp_path):\n"
                 "    TaskStore(tmp_path / \"t.json\").add(\"x\", due=date(2026, 4, 1))\n"
                 "    assert TaskStore(tmp_path / \"t.json\").tasks[0].due == date(2026, 4, 1)\n"
                 "\n\n"
                 "def test_roundtrip_dict():\n    t = Task(4, \"x\", tags=[\"a\"], "
                 "due=date(2026, 5, 2))")),
        say("", bash("python -m pytest -q tests/test_core.py", "Run the core tests")),
        say("", plan_state("completed", "completed", "in_progress", "pending")),
        say("Now the CLI: `--due` on `add`, `--overdue` on `list`, and the due date shown in "
            "the listing.",
            edit(cli, "import argparse\nimport os\n", "import argparse\nimport os\n"
                                                    "from datetime import date\n"),
            edit(cli, '    add.add_argument("--tag", action="append", default=[])\n',
                 '    add.add_argument("--tag", action="append", default=[])\n'
                 '    add.add_argument("--due", type=date.fromisoformat, help="YYYY-MM-DD")\n'),
            edit(cli, '    sub.add_parser("list", help="list open tasks")\n',
                 '    lst = sub.add_parser("list", help="list open tasks")\n'
                 '    lst.add_argument("--overdue", action="store_true",\n'
                 '                     help="only open tasks past their due date")\n'),
            edit(cli, '    tags = "".join(f" #{t}" for t in task.tags)\n'
                      '    return f"{task.id:>3}  {task.title}{tags}"',
                 '    tags = "".join(f" #{t}" for t in task.tags)\n'
                 '    due = f"  (due {task.due.isoformat()})" if task.due else ""\n'
                 '    return f"{task.id:>3}  {task.title}{tags}{due}"'),
            edit(cli, "        task = store.add(args.title, args.tag)\n",
                 "        task = store.add(args.title, args.tag, args.due)\n"),
            edit(cli, "        for task in store.open_tasks():\n",
                 "        tasks = store.overdue(date.today()) if args.overdue else "
                 "store.open_tasks()\n"
                 "        for task in tasks:\n")),
        say("And a CLI test.",
            edit(t_cli, "def test_done_hides_task(tmp_path, capsys):",
                 "def test_add_with_due_and_list_overdue(tmp_path, capsys):\n"
                 "    store = TaskStore(tmp_path / \"t.json\")\n"
                 "    main([\"add\", \"file taxes\", \"--due\", \"2020-01-31\"], store=store)\n"
                 "    main([\"add\", \"someday\"], store=store)\n"
                 "    main([\"list\", \"--overdue\"], store=store)\n"
                 "    out = capsys.readouterr().out.splitlines()\n"
                 "    assert out[-1] == \"  1  file taxes  (due 2020-01-31)\"\n\n\n"
                 "def test_done_hides_task(tmp_path, capsys):")),
        say("", bash("python -m pytest -q", "Run all tests")),
        say("Let me try the CLI by hand, including a bad date.",
            bash(f"{scratch} python -m taskforge add 'file taxes' --due 2026-02-30",
                 "Add a task with an impossible date", fails=True)),
        say("That error is accurate but unfriendly (`invalid fromisoformat value`). A small "
            "`parse_due()` can say what format is expected.",
            edit(cli, "def build_parser() -> argparse.ArgumentParser:",
                 "def parse_due(text: str) -> date:\n"
                 "    try:\n"
                 "        return date.fromisoformat(text)\n"
                 "    except ValueError:\n"
                 "        raise argparse.ArgumentTypeError(\n"
                 "            f\"expected a real date as YYYY-MM-DD, got '{text}'\") from None\n"
                 "\n\n"
                 "def build_parser() -> argparse.ArgumentParser:"),
            edit(cli, 'add.add_argument("--due", type=date.fromisoformat, help="YYYY-MM-DD")',
                 'add.add_argument("--due", type=parse_due, help="YYYY-MM-DD")')),
        say("", bash(f"{scratch} python -m taskforge add 'file taxes' --due 2026-02-30",
                     "The bad date again", fails=True),
            bash(f"rm -f {p}-scratch.json; {scratch} python -m taskforge add 'file taxes' "
                 f"--due 2026-02-28 && {scratch} python -m taskforge add 'renew passport' && "
                 f"{scratch} python -m taskforge list && echo --- && "
                 f"{scratch} python -m taskforge list --overdue",
                 "Try add / list / list --overdue")),
        say("", bash("python -m pytest -q", "Run all tests"),
            plan_state("completed", "completed", "completed", "completed")),
        say("Due dates are in.\n\n- `Task.due` (`datetime.date` or `None`) in "
            "`taskforge/core.py`, stored as an ISO string; new `Task.is_overdue(today)` and "
            "`TaskStore.overdue(today)`; `TaskStore.add(title, tags, due)`.\n"
            "- CLI: `taskforge add \"title\" --due YYYY-MM-DD`, `taskforge list --overdue`, and "
            "the listing shows `(due 2026-02-28)`.\n"
            "- Problem found on the way: `test_loads_file_written_by_0_3` failed with "
            "`KeyError: 'due'` because 0.3 files have no `due` key; `from_dict` now uses "
            "`d.get(\"due\")`.\n"
            "- `--due 2026-02-30` gave argparse's `invalid fromisoformat value`; the new "
            "`parse_due()` says `expected a real date as YYYY-MM-DD, got '2026-02-30'`.\n\n"
            "`python -m pytest -q` → 11 passed. Nothing committed yet."),
    ]

    p2 = [
        say("Let me find everything that imports from `taskforge.core` or names `TaskStore`.",
            grep("taskforge.core|TaskStore", p, mode="content")),
        say("I'll put `Task` in `taskforge/models.py` and the store, renamed "
            "`JsonTaskStore`, in `taskforge/storage.py` with `TaskStore` as a deprecated alias.",
            read(core)),
        say("", write(models, TF_MODELS), write(storage, TF_STORAGE)),
        say("", bash("git rm -q taskforge/core.py && git status --short",
                     "Remove the old module", fails=True)),
        say("`git rm` refuses because `core.py` has the uncommitted due-date changes — they "
            "now live in `models.py` and `storage.py`, so forcing is safe.",
            bash("git rm -qf taskforge/core.py && git status --short",
                 "Remove the old module")),
        say("Updating the imports in the CLI and the tests.",
            read(cli), read(t_core), read(t_cli)),
        say("", edit(cli, "from taskforge.core import TaskStore",
                     "from taskforge.storage import JsonTaskStore"),
            edit(cli, "    store = store or TaskStore(DEFAULT_FILE)",
                 "    store = store or JsonTaskStore(DEFAULT_FILE)"),
            edit(t_core, "from taskforge.core import Task, TaskStore",
                 "from taskforge.models import Task\nfrom taskforge.storage import JsonTaskStore"),
            edit(t_core, "TaskStore(", "JsonTaskStore(", replace_all=True),
            edit(t_cli, "from taskforge.core import TaskStore",
                 "from taskforge.storage import JsonTaskStore"),
            edit(t_cli, "    store = TaskStore(", "    store = JsonTaskStore(",
                 replace_all=True)),
        say("", bash("python -m pytest -q 2>&1 | tail -12; exit ${PIPESTATUS[0]}",
                     "Run the tests", fails=True)),
        say("Every test module fails to import: `taskforge/__init__.py` still does "
            "`from taskforge.core import Task, TaskStore`, and that module is gone "
            "(`ModuleNotFoundError: No module named 'taskforge.core'`).",
            read(init)),
        say("", write(init, '"""taskforge: a tiny task list kept in a JSON file."""\n'
                            "from taskforge.models import Task\n"
                            "from taskforge.storage import JsonTaskStore, TaskStore\n\n"
                            '__all__ = ["Task", "JsonTaskStore", "TaskStore"]\n'
                            '__version__ = "0.3.0"\n')),
        say("", bash("python -m pytest -q", "Run the tests")),
        say("Green. The test file is named after a module that no longer exists; renaming it "
            "too, and checking for leftovers.",
            bash("git mv tests/test_core.py tests/test_storage.py", "Rename the test module"),
            grep("taskforge/core|taskforge\\.core|\\bTaskStore\\b", p, mode="content")),
        say("The README still points at `core.py`.",
            read(p / "README.md"),
            edit(p / "README.md",
                 "Code: `taskforge/core.py` (the `Task` dataclass and `TaskStore`), "
                 "`taskforge/cli.py`.",
                 "Code: `taskforge/models.py` (the `Task` dataclass), `taskforge/storage.py` "
                 "(`JsonTaskStore`;\n`TaskStore` is a deprecated alias), `taskforge/cli.py`.")),
        say("", bash("python -c 'import taskforge; print(taskforge.TaskStore is "
                     "taskforge.JsonTaskStore)'", "Check the alias"),
            bash("python -m pytest -q", "Run the tests"),
            bash("git status --short", "What changed")),
        say("Split done.\n\n- `taskforge/models.py`: `Task` (with `due`, `is_overdue`).\n"
            "- `taskforge/storage.py`: `JsonTaskStore` (was `TaskStore`), plus `TaskStore = "
            "JsonTaskStore` as a deprecated alias to remove in 0.5.0.\n"
            "- `taskforge/core.py` removed (`git rm -f`: it held the uncommitted due-date "
            "work, already moved); `tests/test_core.py` → "
            "`tests/test_storage.py`; CLI, tests, README updated.\n"
            "- The first run failed with `ModuleNotFoundError: No module named "
            "'taskforge.core'` from `taskforge/__init__.py`, which still imported the old "
            "module; it now re-exports `Task`, `JsonTaskStore` and `TaskStore`.\n\n"
            "`python -m pytest -q` → 11 passed. Still uncommitted."),
    ]

    p3 = [
        say("", bash("git checkout -b feature/due-dates", "Create the branch"),
            write(p / "CHANGELOG.md", TF_CHANGELOG), read(p / "pyproject.toml"), read(init)),
        say("Bumping the version to 0.4.0 in both places.",
            edit(p / "pyproject.toml", 'version = "0.3.0"', 'version = "0.4.0"'),
            edit(init, '__version__ = "0.3.0"', '__version__ = "0.4.0"')),
        say("", bash("python -m pytest -q && git add -A && git commit -q -F - <<'EOF'\n"
                     "taskforge 0.4.0: due dates, --overdue, models/storage split\n\n"
                     "- Task.due, Task.is_overdue(), JsonTaskStore.overdue()\n"
                     "- add --due YYYY-MM-DD (parse_due), list --overdue\n"
                     "- core.py split into models.py and storage.py; TaskStore renamed\n"
                     "  JsonTaskStore (TaskStore kept as a deprecated alias until 0.5.0)\n"
                     "EOF\ngit log --stat -1 | cat", "Test, then commit with a message body")),
        say("Committed `18ff3bf` on the new branch `feature/due-dates`: \"taskforge 0.4.0: due dates, "
            "--overdue, models/storage split\" — 11 passed before the commit. `CHANGELOG.md` "
            "has a 0.4.0 entry, and the version is 0.4.0 in `pyproject.toml` and "
            "`taskforge/__init__.py`.\n\nNot pushed (no remote configured). Still open: drop "
            "the `TaskStore` alias in 0.5.0."),
    ]
    prompts = [
        Prompt("I'd like tasks to have due dates: `taskforge add \"title\" --due 2026-04-01` and "
               "`taskforge list --overdue` to see what's late. Old tasks.json files must keep "
               "working.", p1),
        Prompt("core.py is getting crowded. Split it: the Task model into taskforge/models.py, "
               "the store into taskforge/storage.py, and rename TaskStore to JsonTaskStore "
               "while you're at it (keep the old name working for now).", p2,
               resume=True, pause=1.0),
        Prompt("Great. Put this on a branch feature/due-dates, add a CHANGELOG entry, bump the "
               "version to 0.4.0 and commit.", p3, resume=True, pause=1.0),
    ]
    keys = {"request": ["due dates", "--overdue", "JsonTaskStore"],
            "terms": ["--due", "is_overdue", "KeyError: 'due'", "d.get(\"due\")", "parse_due",
                      "taskforge/models.py", "taskforge/storage.py", "JsonTaskStore",
                      "No module named 'taskforge.core'", "11 passed", "feature/due-dates",
                      "0.5.0"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# py-bisect: Python + pytest + git bisect run; integer division slipped into f_to_c
# ------------------------------------------------------------------------------------------

UNITS_V1 = '''\
"""Unit conversions for the weather station feed."""


def f_to_c(f):
    return round((f - 32) * 5 / 9, 1)


def c_to_f(c):
    return round(c * 9 / 5 + 32, 1)
'''

UNITS_TESTS_V1 = '''\
from units.convert import c_to_f, f_to_c


def test_freezing_point():
    assert f_to_c(32) == 0
    assert c_to_f(0) == 32


def test_fahrenheit_roundtrip():
    for f in (-40, 0, 41.5, 70, 100, 212):
        assert c_to_f(f_to_c(f)) == round(f, 0) or abs(c_to_f(f_to_c(f)) - f) <= 0.1
'''


@scenario("py-bisect",
          "Python/pytest + git bisect run: a conversion test broke somewhere in the last five "
          "commits; bisect finds 'Speed up conversions with integer math' (// instead of /); "
          "fixed and committed")
def py_bisect(p: Path):
    def build(project):
        files(project, {"units/__init__.py": "", "units/convert.py": UNITS_V1,
                        "tests/test_convert.py": UNITS_TESTS_V1,
                        ".gitignore": "__pycache__/\n.pytest_cache/\n"})
        git_init(project, "Temperature conversions")
        conv, tests = project / "units/convert.py", project / "tests/test_convert.py"

        def commit(message, **changes):
            for path, (old, new) in changes.items():
                f = project / path
                text = f.read_text() if f.exists() else ""
                f.write_text(text.replace(old, new) if old else text + new)
            sh(project, "git add -A", f"git commit -qm {message!r}")

        commit("Add wind speed conversion",
               **{"units/convert.py": ("", "\n\ndef kmh_to_ms(kmh):\n    return round(kmh / 3.6, 2)\n"),
                  "tests/test_convert.py": ("", "\n\ndef test_kmh_to_ms():\n"
                                                "    from units.convert import kmh_to_ms\n"
                                                "    assert kmh_to_ms(36) == 10.0\n")})
        commit("Speed up conversions with integer math",
               **{"units/convert.py": ("return round((f - 32) * 5 / 9, 1)",
                                       "return round((f - 32) * 5 // 9, 1)")})
        commit("Add pressure conversion",
               **{"units/convert.py": ("", "\n\ndef hpa_to_inhg(hpa):\n"
                                           "    return round(hpa * 0.02953, 2)\n"),
                  "tests/test_convert.py": ("", "\n\ndef test_hpa_to_inhg():\n"
                                                "    from units.convert import hpa_to_inhg\n"
                                                "    assert hpa_to_inhg(1013.25) == 29.92\n")})
        commit("README: document the feed units",
               **{"README.md": ("", "# weather-units\n\nThe station feed sends Fahrenheit, "
                                    "km/h and hPa; the dashboard shows Celsius, m/s and inHg.\n")})
        commit("Add mph_to_kmh",
               **{"units/convert.py": ("", "\n\ndef mph_to_kmh(mph):\n"
                                           "    return round(mph * 1.609344, 1)\n")})
        del conv, tests

    conv = p / "units/convert.py"
    prompts = [
        Prompt("test_fahrenheit_roundtrip fails on main and nobody knows since when. Find the "
               "commit that broke it and fix it.", [
            say("First, the failure itself and the recent history.",
                bash("python -m pytest -q 2>&1 | tail -15; exit ${PIPESTATUS[0]}",
                     "Run the tests", fails=True),
                bash("git log --oneline", "Recent commits")),
            say("The first commit is known good (the test was written with it). `git bisect "
                "run` can find the culprit automatically.",
                bash("git bisect start HEAD $(git rev-list --max-parents=0 HEAD) && "
                     "git bisect run python -m pytest -q tests/test_convert.py "
                     "-k fahrenheit_roundtrip 2>&1 | grep -v '^\\.\\|passed\\|failed in' ",
                     "Bisect with the failing test")),
            say("", bash("git bisect reset && git show df864f6 -- units/convert.py",
                         "Leave bisect and show the culprit's change")),
            say("The commit \"Speed up conversions with integer math\" replaced `/` with `//` "
                "in `f_to_c`, so the result is floored to a whole degree before `round(..., 1)` "
                "— `f_to_c(100)` gives 37 instead of 37.8. Restoring true division.",
                read(conv),
                edit(conv, "return round((f - 32) * 5 // 9, 1)",
                     "return round((f - 32) * 5 / 9, 1)  # true division: keep the tenths")),
            say("", bash("python -m pytest -q", "Run the tests"),
                bash("python -c 'from units.convert import f_to_c; print(f_to_c(100))'",
                     "Check the example")),
            say("", bash("git commit -qam 'Fix f_to_c: true division again (broken in df864f6)' "
                         "&& git log --oneline -2", "Commit the fix")),
            say("Found and fixed.\n\n**Culprit:** `df864f6` \"Speed up conversions with integer "
                "math\" (found with `git bisect run`) changed `f_to_c()` in `units/convert.py` "
                "from `(f - 32) * 5 / 9` to `(f - 32) * 5 // 9`. Floor division drops the "
                "fraction before rounding, so `f_to_c(100)` returned 37 instead of 37.8 and "
                "`test_fahrenheit_roundtrip` failed.\n\n**Fix:** true division again; "
                "`python -m pytest -q` → 4 passed. Committed \"Fix f_to_c: true division again "
                "(broken in df864f6)\".\n\nThe integer-math commit claimed a speed-up; nothing "
                "measured it, so nothing is lost."),
        ]),
    ]
    keys = {"request": ["test_fahrenheit_roundtrip", "broke"],
            "terms": ["units/convert.py", "f_to_c", "git bisect run", "is the first bad commit",
                      "Speed up conversions with integer math", "df864f6", "// 9",
                      "floor division", "37.8", "4 passed", "Fix f_to_c: true division again"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# HELD OUT node-md-links: Node + node --test; anchors reported as broken links; splitTarget
# (not exported at first), a real broken link left for the user; resume: headingSlugs
# ------------------------------------------------------------------------------------------

MDCHECK_CHECK_JS = """\
'use strict';

const fs = require('node:fs');
const path = require('node:path');

// [text](target) links of a markdown string, with their line numbers.
function extractLinks(markdown) {
  const links = [];
  markdown.split('\\n').forEach((line, i) => {
    for (const m of line.matchAll(/\\[[^\\]]*\\]\\(([^)\\s]+)\\)/g)) {
      links.push({ target: m[1], line: i + 1 });
    }
  });
  return links;
}

// Relative links whose file does not exist.
function brokenLinks(file) {
  const dir = path.dirname(file);
  return extractLinks(fs.readFileSync(file, 'utf8'))
    .filter((l) => !/^[a-z]+:/.test(l.target))
    .filter((l) => !fs.existsSync(path.join(dir, l.target)));
}

module.exports = { extractLinks, brokenLinks };
"""

MDCHECK_BIN_JS = """\
#!/usr/bin/env node
'use strict';

const { brokenLinks } = require('../src/check');

let broken = 0;
for (const file of process.argv.slice(2)) {
  for (const link of brokenLinks(file)) {
    console.log(`${file}:${link.line}: broken link ${link.target}`);
    broken++;
  }
}
console.log(broken ? `${broken} broken link(s)` : 'no broken links');
process.exitCode = broken ? 1 : 0;
"""

MDCHECK_TEST_JS = """\
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { extractLinks, brokenLinks } = require('../src/check');

function tmpDocs(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdcheck-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

test('extracts links with line numbers', () => {
  assert.deepStrictEqual(extractLinks('a [x](one.md)\\n\\n[y](two.md) [z](http://e.org)'),
    [{ target: 'one.md', line: 1 }, { target: 'two.md', line: 3 },
     { target: 'http://e.org', line: 3 }]);
});

test('reports a missing file', () => {
  const dir = tmpDocs({ 'a.md': '[b](b.md)' });
  assert.deepStrictEqual(brokenLinks(path.join(dir, 'a.md')), [{ target: 'b.md', line: 1 }]);
});

test('ignores external links', () => {
  const dir = tmpDocs({ 'a.md': '[e](https://example.org/x)' });
  assert.deepStrictEqual(brokenLinks(path.join(dir, 'a.md')), []);
});
"""

DOCS_INDEX = """\
# Handbook

Start with the [guide](guide.md), especially the [install steps](guide.md#install).

- [Changelog](https://example.org/changelog)
- [Back to top](#handbook)
- [Migration notes](missing.md)
"""

DOCS_GUIDE = """\
# Guide

## Install

Run the installer.

## Configure Proxies

Set `HTTPS_PROXY`.
"""


@scenario("node-md-links",
          "Node/node --test: mdcheck reports guide.md#install as broken; new splitTarget() "
          "(first not exported: TypeError), a real broken link left as a question; resume: "
          "remove it, check #anchors with new headingSlugs(), commit",
          heldout=True)
def node_md_links(p: Path):
    def build(project):
        files(project, {"package.json": '{\n  "name": "mdcheck",\n  "version": "0.2.0",\n'
                                         '  "bin": {"mdcheck": "bin/mdcheck.js"},\n'
                                         '  "scripts": {"test": "node --test test/"}\n}\n',
                        "src/check.js": MDCHECK_CHECK_JS, "bin/mdcheck.js": MDCHECK_BIN_JS,
                        "test/check.test.js": MDCHECK_TEST_JS, "docs/index.md": DOCS_INDEX,
                        "docs/guide.md": DOCS_GUIDE})
        git_init(project, "mdcheck: report relative links to missing files")

    check, test = p / "src/check.js", p / "test/check.test.js"
    mdcheck = "node bin/mdcheck.js docs/*.md"
    prompts = [
        Prompt("mdcheck says docs/index.md has a broken link to guide.md#install, but the page "
               "is right there. Can you fix the checker?", [
            say("", bash(mdcheck, "Run the checker on the docs", fails=True), read(check)),
            say("`brokenLinks()` checks `fs.existsSync(path.join(dir, l.target))` with the "
                "whole target, so `guide.md#install` looks for a file literally called "
                "`guide.md#install` (and `#handbook` for a file `#handbook`). I'll split the "
                "fragment off in a small `splitTarget()` and check only the file part; a bare "
                "`#anchor` points at the same file.",
                edit(check, "// Relative links whose file does not exist.",
                     "// 'guide.md#install' -> { file: 'guide.md', anchor: 'install' }; "
                     "'#top' -> { file: '', anchor: 'top' }.\n"
                     "function splitTarget(target) {\n"
                     "  const hash = target.indexOf('#');\n"
                     "  if (hash === -1) return { file: target, anchor: '' };\n"
                     "  return { file: target.slice(0, hash), anchor: target.slice(hash + 1) };\n"
                     "}\n\n"
                     "// Relative links whose file does not exist.")),
            say("", edit(check, "    .filter((l) => !fs.existsSync(path.join(dir, l.target)));",
                         "    .filter((l) => {\n"
                         "      const { file: target } = splitTarget(l.target);\n"
                         "      return target !== '' && !fs.existsSync(path.join(dir, target));\n"
                         "    });"),
                read(test),
                edit(test, "const { extractLinks, brokenLinks } = require('../src/check');",
                     "const { extractLinks, brokenLinks, splitTarget } = "
                     "require('../src/check');"),
                edit(test, "test('ignores external links', () => {",
                     "test('splitTarget separates the anchor', () => {\n"
                     "  assert.deepStrictEqual(splitTarget('guide.md#install'),\n"
                     "    { file: 'guide.md', anchor: 'install' });\n"
                     "  assert.deepStrictEqual(splitTarget('#top'), { file: '', anchor: 'top' });\n"
                     "  assert.deepStrictEqual(splitTarget('a.md'), { file: 'a.md', anchor: '' });\n"
                     "});\n\n"
                     "test('a link with an anchor to an existing file is fine', () => {\n"
                     "  const dir = tmpDocs({ 'a.md': '[b](b.md#x) [top](#a)', 'b.md': '# B' });\n"
                     "  assert.deepStrictEqual(brokenLinks(path.join(dir, 'a.md')), []);\n"
                     "});\n\n"
                     "test('ignores external links', () => {")),
            say("", bash("npm test 2>&1 | grep -E '^not ok|is not a function|^# (pass|fail)'; "
                         "exit ${PIPESTATUS[0]}", "Run the tests", fails=True)),
            say("`splitTarget is not a function`: I didn't export it.",
                edit(check, "module.exports = { extractLinks, brokenLinks };",
                     "module.exports = { extractLinks, splitTarget, brokenLinks };")),
            say("", bash("npm test 2>&1 | grep -E '^# (pass|fail)'", "Run the tests"),
                bash(mdcheck, "Check the docs again", fails=True)),
            say("Fixed the false positive.\n\n**Cause:** `brokenLinks()` in `src/check.js` "
                "tested whether a file named after the whole link target existed, fragment "
                "included, so `guide.md#install` and `#handbook` were reported as broken.\n\n"
                "**Fix:** new `splitTarget(target)` returns `{ file, anchor }`; only the file "
                "part is checked, and a bare `#anchor` refers to the same page. Two new tests; "
                "the first run failed with `TypeError: splitTarget is not a function` until I "
                "exported it. `npm test` → # pass 5, # fail 0.\n\n"
                "`mdcheck` still exits 1 for one link, and rightly: `docs/index.md:7: broken "
                "link missing.md` — there is no `docs/missing.md`. Should I remove that "
                "\"Migration notes\" link, or do you want to write the page?"),
        ]),
        Prompt("Remove it, that page was dropped. And make mdcheck also verify that the #anchor "
               "exists in the target page, GitHub style (## Install -> #install).", [
            say("", read(p / "docs/index.md"),
                edit(p / "docs/index.md", "- [Migration notes](missing.md)\n", "")),
            say("For anchors I'll add `headingSlugs(markdown)` — the set of GitHub-style slugs "
                "of a page's headings (lowercase, punctuation dropped, spaces to `-`) — and "
                "report a link whose anchor is not in it.",
                read(check),
                edit(check, "// Relative links whose file does not exist.\n"
                            "function brokenLinks(file) {\n"
                            "  const dir = path.dirname(file);\n"
                            "  return extractLinks(fs.readFileSync(file, 'utf8'))\n"
                            "    .filter((l) => !/^[a-z]+:/.test(l.target))\n"
                            "    .filter((l) => {\n"
                            "      const { file: target } = splitTarget(l.target);\n"
                            "      return target !== '' && !fs.existsSync(path.join(dir, target));\n"
                            "    });\n"
                            "}",
                     "// GitHub-style anchors of a page's headings: '## Configure Proxies' -> "
                     "'configure-proxies'.\n"
                     "function headingSlugs(markdown) {\n"
                     "  const slugs = new Set();\n"
                     "  for (const line of markdown.split('\\n')) {\n"
                     "    const m = /^#{1,6}\\s+(.*)$/.exec(line);\n"
                     "    if (m) {\n"
                     "      slugs.add(m[1].trim().toLowerCase().replace(/[^\\w\\s-]/g, '')"
                     ".replace(/\\s/g, '-'));\n"
                     "    }\n"
                     "  }\n"
                     "  return slugs;\n"
                     "}\n\n"
                     "// Relative links to a missing file, or to a missing #anchor in an existing "
                     "one.\n"
                     "function brokenLinks(file) {\n"
                     "  const dir = path.dirname(file);\n"
                     "  return extractLinks(fs.readFileSync(file, 'utf8'))\n"
                     "    .filter((l) => !/^[a-z]+:/.test(l.target))\n"
                     "    .filter((l) => {\n"
                     "      const { file: target, anchor } = splitTarget(l.target);\n"
                     "      const page = target === '' ? file : path.join(dir, target);\n"
                     "      if (!fs.existsSync(page)) return true;\n"
                     "      return anchor !== '' && "
                     "!headingSlugs(fs.readFileSync(page, 'utf8')).has(anchor);\n"
                     "    });\n"
                     "}"),
                edit(check, "module.exports = { extractLinks, splitTarget, brokenLinks };",
                     "module.exports = { extractLinks, splitTarget, headingSlugs, brokenLinks };")),
            say("Tests for slugs and for a missing anchor.",
                edit(test, "const { extractLinks, brokenLinks, splitTarget } = "
                           "require('../src/check');",
                     "const { extractLinks, brokenLinks, headingSlugs, splitTarget } = "
                     "require('../src/check');"),
                edit(test, "test('ignores external links', () => {",
                     "test('headingSlugs makes GitHub-style anchors', () => {\n"
                     "  assert.deepStrictEqual([...headingSlugs('# Guide\\n## Configure "
                     "Proxies!\\ntext')],\n    ['guide', 'configure-proxies']);\n"
                     "});\n\n"
                     "test('reports a missing anchor', () => {\n"
                     "  const dir = tmpDocs({ 'a.md': '[b](b.md#setup)', 'b.md': '## Install' });\n"
                     "  assert.deepStrictEqual(brokenLinks(path.join(dir, 'a.md')),\n"
                     "    [{ target: 'b.md#setup', line: 1 }]);\n"
                     "});\n\n"
                     "test('ignores external links', () => {")),
            say("", bash("npm test 2>&1 | grep -E '^not ok|^# (pass|fail)'", "Run the tests")),
            say("`not ok 4`: the earlier test `a link with an anchor to an existing file is "
                "fine` links to `b.md#x` and `#a`, and neither page has such a heading — under "
                "the new rule those are broken. Giving its pages the headings.",
                edit(test, "  const dir = tmpDocs({ 'a.md': '[b](b.md#x) [top](#a)', "
                           "'b.md': '# B' });",
                     "  const dir = tmpDocs({ 'a.md': '# A\\n[b](b.md#x) [top](#a)', "
                     "'b.md': '# B\\n## X' });")),
            say("", bash("npm test 2>&1 | grep -E '^not ok|^# (pass|fail)'", "Run the tests"),
                bash(mdcheck, "Check the docs")),
            say("", bash("git add -A && git commit -q -m 'mdcheck: ignore #fragments when "
                         "checking files, verify anchors against headings' && git log "
                         "--oneline -1", "Commit")),
            say("Done and committed (\"mdcheck: ignore #fragments when checking files, verify "
                "anchors against headings\").\n\n- Removed the dead \"Migration notes\" link "
                "from `docs/index.md`.\n- New `headingSlugs(markdown)` in `src/check.js` builds "
                "GitHub-style slugs (`## Configure Proxies` → `configure-proxies`); "
                "`brokenLinks()` now also reports a link whose `#anchor` is not a heading of "
                "the target page (or of the same page for `#top`-style links).\n- The older test `a "
                "link with an anchor to an existing file is fine` then failed (`not ok 4`, "
                "its pages had no matching headings — the `| grep` run still exited 0); its "
                "pages now have them.\n- `npm test` → "
                "# pass 7, # fail 0; `node bin/mdcheck.js docs/*.md` → no broken links.\n\n"
                "Known gap: duplicate headings get `-1`, `-2` suffixes on GitHub; "
                "`headingSlugs` doesn't generate those yet."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["mdcheck", "guide.md#install", "broken link"],
            "terms": ["src/check.js", "brokenLinks", "splitTarget",
                      "splitTarget is not a function", "# pass 5", "missing.md",
                      "Migration notes", "headingSlugs", "configure-proxies", "# pass 7",
                      "verify anchors against headings", "duplicate headings"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# HELD OUT c-ini-config: C + make; inline comments end up in INI values; resume: the user
# settles timeout_ms = 2500 and a 60000 cap; -Wsign-compare error under -Werror fixed
# ------------------------------------------------------------------------------------------

INI_H = """\
#ifndef INI_H
#define INI_H

#include <stddef.h>

/* Value of `key` in `[section]` of an INI file, copied into buf.
   Returns 0 when found, -1 when not found, -2 when the file cannot be opened. */
int ini_get(const char *path, const char *section, const char *key, char *buf, size_t size);

#endif
"""

INI_C = """\
#include "ini.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static char *strip(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\\0';
    return s;
}

int ini_get(const char *path, const char *section, const char *key, char *buf, size_t size) {
    FILE *f = fopen(path, "r");
    if (!f)
        return -2;
    char line[512], current[128] = "";
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        char *s = strip(line);
        if (*s == ';' || *s == '#' || *s == '\\0')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close) {
                *close = '\\0';
                snprintf(current, sizeof current, "%s", s + 1);
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || strcmp(current, section) != 0)
            continue;
        *eq = '\\0';
        if (strcmp(strip(s), key) == 0) {
            snprintf(buf, size, "%s", strip(eq + 1));
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}
"""

CONFIG_H = """\
#ifndef CONFIG_H
#define CONFIG_H

#define DEFAULT_TIMEOUT_MS 30000L

/* [client] timeout_ms of the service config, or DEFAULT_TIMEOUT_MS. */
long load_timeout_ms(const char *path);

#endif
"""

CONFIG_C = """\
#include "config.h"
#include "ini.h"

#include <stdlib.h>

long load_timeout_ms(const char *path) {
    char buf[32];
    if (ini_get(path, "client", "timeout_ms", buf, sizeof buf) != 0)
        return DEFAULT_TIMEOUT_MS;
    return atol(buf);
}
"""

INI_TEST_C = """\
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ini.h"

static int failures = 0;

static void expect_str(const char *section, const char *key, const char *want) {
    char buf[128] = "";
    int rc = ini_get("tests/sample.ini", section, key, buf, sizeof buf);
    if (rc != 0 || strcmp(buf, want) != 0) {
        printf("FAIL [%s] %s: got \\"%s\\" (rc %d), want \\"%s\\"\\n", section, key, buf, rc, want);
        failures++;
    }
}

static void expect_long(const char *what, long got, long want) {
    if (got != want) {
        printf("FAIL %s: got %ld, want %ld\\n", what, got, want);
        failures++;
    }
}

int main(void) {
    expect_str("server", "host", "db.internal");
    expect_str("server", "port", "5432");
    expect_str("client", "retries", "3");
    expect_str("client", "timeout_ms", "30000");
    expect_long("load_timeout_ms(sample)", load_timeout_ms("tests/sample.ini"), 30000);
    expect_long("load_timeout_ms(missing file)", load_timeout_ms("nope.ini"), DEFAULT_TIMEOUT_MS);
    if (failures) {
        printf("%d failure(s)\\n", failures);
        return 1;
    }
    printf("ini: all checks passed\\n");
    return 0;
}
"""

INI_SAMPLE = """\
; test fixture
[server]
host = db.internal   # primary
port = 5432

[client]
timeout_ms = 30000 ; thirty seconds
retries = 3
"""

INI_MAKEFILE = """\
CC ?= gcc
CFLAGS ?= -std=c11 -Wall -Wextra -Werror -g

test: test_ini
\t./test_ini

test_ini: ini.o config.o test_ini.o
\t$(CC) $(CFLAGS) -o $@ $^

%.o: %.c ini.h config.h
\t$(CC) $(CFLAGS) -c $<

clean:
\trm -f *.o test_ini

.PHONY: test clean
"""


@scenario("c-ini-config",
          "C/gcc+make: INI values keep their inline comments (host = 'db.internal   # primary'); "
          "new strip_inline_comment(); resume: the user settles timeout_ms = 2500 with a 60000 "
          "cap; a -Wsign-compare error under -Werror fixed",
          heldout=True)
def c_ini_config(p: Path):
    def build(project):
        files(project, {"ini.h": INI_H, "ini.c": INI_C, "config.h": CONFIG_H, "config.c": CONFIG_C,
                        "test_ini.c": INI_TEST_C, "tests/sample.ini": INI_SAMPLE,
                        "Makefile": INI_MAKEFILE,
                        "config/service.ini": "[server]\nhost = db.internal\nport = 5432\n\n"
                                              "[client]\ntimeout_ms = 30000\nretries = 3\n",
                        ".gitignore": "*.o\ntest_ini\n"})
        git_init(project, "INI reader and service config")

    ini, cfg_c, cfg_h = p / "ini.c", p / "config.c", p / "config.h"
    prompts = [
        Prompt("Our service can't connect since someone added a comment to the host line in "
               "the INI file: `host = db.internal   # primary`. The INI reader should ignore "
               "inline comments.", [
            say("Let me run the tests and read the parser.",
                bash("make test", "Build and run the INI tests", fails=True), read(ini)),
            say("`ini_get()` only skips whole-line comments; for a value it copies everything "
                "after `=`, so `host` comes back as `db.internal   # primary` (and `timeout_ms` "
                "as `30000 ; thirty seconds`). I'll add `strip_inline_comment()`: a `;` or `#` "
                "that follows whitespace starts a comment, so `a#b` stays intact.",
                edit(ini, "int ini_get(const char *path,",
                     "/* Cut \"value   # comment\" / \"value ; comment\" at the comment: a ; or # "
                     "preceded by whitespace. */\n"
                     "static void strip_inline_comment(char *s) {\n"
                     "    for (char *p = s; *p; p++) {\n"
                     "        if ((*p == ';' || *p == '#') && p > s && "
                     "isspace((unsigned char)p[-1])) {\n"
                     "            *p = '\\0';\n"
                     "            return;\n"
                     "        }\n"
                     "    }\n"
                     "}\n\n"
                     "int ini_get(const char *path,"),
                edit(ini, "        if (strcmp(strip(s), key) == 0) {\n"
                          "            snprintf(buf, size, \"%s\", strip(eq + 1));",
                     "        if (strcmp(strip(s), key) == 0) {\n"
                     "            strip_inline_comment(eq + 1);\n"
                     "            snprintf(buf, size, \"%s\", strip(eq + 1));")),
            say("", bash("make test", "Build and test")),
            say("Fixed in `ini.c`.\n\n**Cause:** `ini_get()` treated `;`/`#` as comments only "
                "at the start of a line, so the value of `host` was `db.internal   # primary` "
                "and the service tried to resolve that whole string.\n\n**Fix:** new "
                "`strip_inline_comment()` cuts a value at a `;` or `#` that follows whitespace "
                "(a `#` inside a value such as `pa#ss` is kept), then the value is trimmed. "
                "`make test` → ini: all checks passed (it printed `FAIL [server] host` and "
                "`FAIL [client] timeout_ms` before)."),
        ]),
        Prompt("Thanks. Ops also wants the client to give up after 2.5 seconds instead of 30. "
               "Set that in config/service.ini, and make load_timeout_ms reject anything above "
               "60000 or below 1 (warn and use the default).", [
            say("", read(p / "config/service.ini"), read(cfg_c), read(cfg_h)),
            say("Setting `timeout_ms = 2500` and adding the range check.",
                edit(p / "config/service.ini", "timeout_ms = 30000", "timeout_ms = 2500"),
                edit(cfg_h, "#define DEFAULT_TIMEOUT_MS 30000L\n",
                     "#define DEFAULT_TIMEOUT_MS 30000L\n#define MAX_TIMEOUT_MS 60000L\n"),
                edit(cfg_c, "#include <stdlib.h>\n\nlong load_timeout_ms(const char *path) {\n"
                            "    char buf[32];\n"
                            "    if (ini_get(path, \"client\", \"timeout_ms\", buf, sizeof buf) "
                            "!= 0)\n"
                            "        return DEFAULT_TIMEOUT_MS;\n"
                            "    return atol(buf);\n}",
                     "#include <stdio.h>\n#include <stdlib.h>\n\n"
                     "long load_timeout_ms(const char *path) {\n"
                     "    char buf[32];\n"
                     "    size_t max = MAX_TIMEOUT_MS;\n"
                     "    if (ini_get(path, \"client\", \"timeout_ms\", buf, sizeof buf) != 0)\n"
                     "        return DEFAULT_TIMEOUT_MS;\n"
                     "    long ms = atol(buf);\n"
                     "    if (ms < 1 || ms > max) {\n"
                     "        fprintf(stderr, \"config: timeout_ms=%s is out of range "
                     "(1..%ld), using %ld\\n\",\n"
                     "                buf, MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS);\n"
                     "        return DEFAULT_TIMEOUT_MS;\n"
                     "    }\n"
                     "    return ms;\n}")),
            say("And checks for the real config and for an out-of-range value.",
                write(p / "tests/too_long.ini", "[client]\ntimeout_ms = 90000\n"),
                read(p / "test_ini.c", offset=30),
                edit(p / "test_ini.c",
                     "    expect_long(\"load_timeout_ms(missing file)\", "
                     "load_timeout_ms(\"nope.ini\"), DEFAULT_TIMEOUT_MS);\n",
                     "    expect_long(\"load_timeout_ms(missing file)\", "
                     "load_timeout_ms(\"nope.ini\"), DEFAULT_TIMEOUT_MS);\n"
                     "    expect_long(\"load_timeout_ms(service.ini)\", "
                     "load_timeout_ms(\"config/service.ini\"), 2500);\n"
                     "    expect_long(\"load_timeout_ms(90000 rejected)\", "
                     "load_timeout_ms(\"tests/too_long.ini\"), DEFAULT_TIMEOUT_MS);\n")),
            say("", bash("make test 2>&1", "Build and test", fails=True)),
            say("`-Wsign-compare` (an error under `-Werror`): `ms` is a signed `long`, `max` an "
                "unsigned `size_t`. The limit is a `long` constant anyway; compare against it "
                "directly.",
                edit(cfg_c, "    size_t max = MAX_TIMEOUT_MS;\n", ""),
                edit(cfg_c, "    if (ms < 1 || ms > max) {",
                     "    if (ms < 1 || ms > MAX_TIMEOUT_MS) {")),
            say("", bash("make test", "Build and test"),
                bash("git diff --stat", "Summary of the changes")),
            say("Done (not committed yet).\n\n- `config/service.ini`: `timeout_ms = 2500`.\n"
                "- `config.h`: new `MAX_TIMEOUT_MS 60000L`; `load_timeout_ms()` in `config.c` "
                "warns `config: timeout_ms=… is out of range (1..60000), using 30000` and "
                "returns `DEFAULT_TIMEOUT_MS` for values below 1 or above 60000.\n"
                "- New fixture `tests/too_long.ini` (90000) and two checks.\n\n"
                "The first build failed: `comparison of integer expressions of different "
                "signedness: 'long int' and 'size_t'` under `-Werror`, from a `size_t` copy of "
                "the limit; now compared with the `long` constant. `make test` → ini: all "
                "checks passed."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["inline comments", "INI"],
            "terms": ["ini.c", "ini_get", "db.internal   # primary", "strip_inline_comment",
                      "ini: all checks passed", "config/service.ini", "timeout_ms = 2500",
                      "MAX_TIMEOUT_MS", "out of range", "different signedness",
                      "tests/too_long.ini", "not committed"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# py-slugify-compact: Python + pytest; accents dropped by slugify, fixed with NFKD; a manual
# /compact (PreCompact + SessionStart source=compact); then max_length cut at a word boundary
# ------------------------------------------------------------------------------------------

SLUG_PY = '''\
"""URL slugs for article titles."""
import re


def slugify(title):
    """'Hello, World!' -> 'hello-world'."""
    words = re.split(r"[^a-z0-9]+", title.lower())
    return "-".join(w for w in words if w)
'''

SLUG_TESTS = '''\
from textkit.slug import slugify


def test_simple():
    assert slugify("Hello, World!") == "hello-world"


def test_collapses_separators():
    assert slugify("  a -- b  ") == "a-b"


def test_digits_kept():
    assert slugify("Top 10 tips") == "top-10-tips"


def test_empty():
    assert slugify("!!!") == ""
'''

COMPACT_SUMMARY = """\
<analysis>
The user reported that slugify() mangles accented titles and asked for a fix. I reproduced it,
found the cause in textkit/slug.py, fixed it with Unicode normalization, added tests, and the
suite passes. Nothing was committed.
</analysis>
<summary>
1. Primary Request and Intent:
   Fix `slugify()` in `textkit/slug.py`: `slugify("Crème brûlée")` returned `cr-me-br-l-e`.
   Accented letters must be transliterated (`creme-brulee`), not turned into separators.

2. Key Technical Concepts:
   - Unicode NFKD normalization splits `è` into `e` + a combining accent; encoding to ASCII
     with `errors="ignore"` then drops the accent.

3. Files and Code Sections:
   - `textkit/slug.py`: `slugify(title)` now does
     `unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()` before
     lowercasing and splitting on `[^a-z0-9]+`; new helper `_ascii_fold(text)`.
   - `tests/test_slug.py`: new tests `test_accents_are_transliterated` and
     `test_german_sharp_s` (documents that `ß` is dropped: `straße` -> `strae`).

4. Errors and fixes:
   - Cause: the regex `[^a-z0-9]+` treated every non-ASCII letter as a separator.
   - `python -m pytest -q` failed before the fix (`assert 'cr-me-br-l-e' == 'creme-brulee'`),
     then 6 passed.

5. Pending Tasks:
   - None requested yet. Known limitation: `ß` is dropped rather than turned into `ss`.

6. Current Work:
   The accent fix is complete and tested (6 passed); not committed.
</summary>"""


@scenario("py-slugify-compact",
          "Python/pytest: slugify('Crème brûlée') gives 'cr-me-br-l-e', fixed with NFKD "
          "(_ascii_fold); a manual /compact (PreCompact, SessionStart source=compact); then "
          "max_length cut at a word boundary, an off-by-one fixed, commit")
def py_slugify_compact(p: Path):
    def build(project):
        files(project, {"textkit/__init__.py": "", "textkit/slug.py": SLUG_PY,
                        "tests/test_slug.py": SLUG_TESTS,
                        ".gitignore": "__pycache__/\n.pytest_cache/\n"})
        git_init(project, "textkit: slugify")

    slug, tests = p / "textkit/slug.py", p / "tests/test_slug.py"
    prompts = [
        Prompt("slugify('Crème brûlée') gives 'cr-me-br-l-e'. It should give 'creme-brulee'.", [
            say("", read(slug), read(tests)),
            say("The regex `[^a-z0-9]+` treats every non-ASCII letter as a separator. A test "
                "first.",
                edit(tests, "def test_empty():",
                     "def test_accents_are_transliterated():\n"
                     "    assert slugify(\"Crème brûlée\") == \"creme-brulee\"\n\n\n"
                     "def test_german_sharp_s():\n"
                     "    # NFKD has no decomposition for ß: it is dropped, not turned into ss.\n"
                     "    assert slugify(\"Straße\") == \"strae\"\n\n\n"
                     "def test_empty():")),
            say("", bash("python -m pytest -q 2>&1 | tail -5; exit ${PIPESTATUS[0]}",
                         "Run the tests", fails=True)),
            say("Folding to ASCII with NFKD before the split: `è` becomes `e` + a combining "
                "accent, and the accent is dropped by the ASCII encode.",
                write(slug, '"""URL slugs for article titles."""\nimport re\nimport '
                            'unicodedata\n\n\n'
                            'def _ascii_fold(text):\n'
                            '    """\'Crème\' -> \'Creme\': decompose, then drop what is not '
                            'ASCII."""\n'
                            '    return unicodedata.normalize("NFKD", text).encode("ascii", '
                            '"ignore").decode()\n\n\n'
                            'def slugify(title):\n'
                            '    """\'Hello, World!\' -> \'hello-world\'; accents are '
                            'transliterated."""\n'
                            '    words = re.split(r"[^a-z0-9]+", _ascii_fold(title).lower())\n'
                            '    return "-".join(w for w in words if w)\n')),
            say("", bash("python -m pytest -q", "Run the tests")),
            say("Fixed: `slugify()` in `textkit/slug.py` now folds the title to ASCII with "
                "Unicode NFKD (new helper `_ascii_fold`) before splitting, so `Crème brûlée` → "
                "`creme-brulee`.\n\nCause: the split regex `[^a-z0-9]+` saw every accented "
                "letter as a separator.\n\n`python -m pytest -q` → 6 passed. One limitation, "
                "pinned by `test_german_sharp_s`: `ß` is dropped (`straße` → `strae`)."),
        ]),
        Prompt("/compact", [say(COMPACT_SUMMARY)], resume=True, pause=1.0,
               match="Your task is to create a detailed summary"),
        Prompt("Next: slugify should take an optional max_length and cut at a word boundary, "
               "never in the middle of a word. Commit when done.", [
            say("", read(slug)),
            say("Adding `max_length`: keep whole words while the slug fits.",
                edit(slug, 'def slugify(title):\n'
                           '    """\'Hello, World!\' -> \'hello-world\'; accents are '
                           'transliterated."""\n'
                           '    words = re.split(r"[^a-z0-9]+", _ascii_fold(title).lower())\n'
                           '    return "-".join(w for w in words if w)\n',
                     'def slugify(title, max_length=None):\n'
                     '    """\'Hello, World!\' -> \'hello-world\'; accents are transliterated.\n\n'
                     '    With max_length, whole words are kept while the slug fits."""\n'
                     '    words = [w for w in re.split(r"[^a-z0-9]+", '
                     '_ascii_fold(title).lower()) if w]\n'
                     '    if max_length is None:\n'
                     '        return "-".join(words)\n'
                     '    kept, length = [], 0\n'
                     '    for word in words:\n'
                     '        length += len(word) + 1\n'
                     '        if length >= max_length:\n'
                     '            break\n'
                     '        kept.append(word)\n'
                     '    return "-".join(kept)\n'),
                read(tests),
                edit(tests, "def test_empty():",
                     "def test_max_length_cuts_at_word_boundary():\n"
                     "    assert slugify(\"The quick brown fox\", max_length=15) == "
                     "\"the-quick-brown\"\n"
                     "    assert slugify(\"The quick brown fox\", max_length=14) == "
                     "\"the-quick\"\n\n\n"
                     "def test_max_length_longer_than_slug():\n"
                     "    assert slugify(\"a b\", max_length=50) == \"a-b\"\n\n\n"
                     "def test_empty():")),
            say("", bash("python -m pytest -q 2>&1 | tail -8; exit ${PIPESTATUS[0]}",
                         "Run the tests", fails=True)),
            say("Off by one: I count a hyphen after every word, including the last, and "
                "compare with `>=`, so `the-quick-brown` (exactly 15) is rejected. Count the "
                "hyphen only between words and allow equality.",
                edit(slug, "    for word in words:\n"
                           "        length += len(word) + 1\n"
                           "        if length >= max_length:\n"
                           "            break\n",
                     "    for word in words:\n"
                     "        length += len(word) + (1 if kept else 0)\n"
                     "        if length > max_length:\n"
                     "            break\n")),
            say("", bash("python -m pytest -q", "Run the tests")),
            say("", bash("git add -A && git commit -q -m 'slugify: transliterate accents, "
                         "optional max_length at word boundaries' && git log --oneline -1",
                         "Commit")),
            say("Committed \"slugify: transliterate accents, optional max_length at word "
                "boundaries\".\n\n- `slugify(title, max_length=None)` keeps whole words while "
                "the slug fits: `slugify(\"The quick brown fox\", max_length=15)` → "
                "`the-quick-brown`.\n- First attempt was off by one (counted a trailing hyphen "
                "and used `>=`), caught by `test_max_length_cuts_at_word_boundary`; fixed.\n"
                "- `python -m pytest -q` → 8 passed.\n\nOpen: a single word longer than "
                "`max_length` gives an empty slug; it might be better to hard-cut it."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["slugify", "creme-brulee", "max_length"],
            "terms": ["textkit/slug.py", "_ascii_fold", "NFKD", "cr-me-br-l-e", "6 passed",
                      "straße", "max_length", "word boundary", "off by one", "8 passed",
                      "optional max_length at word boundaries", "empty slug"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# py-packaging: Python packaging; `pip install -e .` fails (flat-layout discovery), fixed; the
# console script points at a module that does not exist, fixed; README + commit on resume
# ------------------------------------------------------------------------------------------

INVSYNC_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "invsync"
version = "1.2.0"
description = "Sync warehouse stock levels to the shop"
requires-python = ">=3.10"

[project.scripts]
invsync = "invsync.cli:main"
"""

INVSYNC_MAIN = '''\
"""invsync command line."""
import argparse

from invsync import __version__


def main(argv=None):
    parser = argparse.ArgumentParser(prog="invsync")
    parser.add_argument("--version", action="version", version=f"invsync {__version__}")
    parser.add_argument("--dry-run", action="store_true", help="show changes, write nothing")
    args = parser.parse_args(argv)
    print("dry run: nothing written" if args.dry_run else "synced 0 items")
    return 0
'''


@scenario("py-packaging",
          "Python packaging: `pip install -e .` fails with 'Multiple top-level packages "
          "discovered in a flat-layout', fixed in pyproject.toml; the console script points at "
          "invsync.cli (ModuleNotFoundError), fixed; resume: README install steps, commit")
def py_packaging(p: Path):
    def build(project):
        files(project, {"pyproject.toml": INVSYNC_PYPROJECT,
                        "invsync/__init__.py": '__version__ = "1.2.0"\n',
                        "invsync/main.py": INVSYNC_MAIN,
                        "migrations/__init__.py": "",
                        "migrations/0001_initial.py": "STEPS = ['create table stock (sku text, "
                                                      "qty int)']\n",
                        "README.md": "# invsync\n\nSync warehouse stock levels to the shop.\n",
                        ".gitignore": ".venv/\n*.egg-info/\n__pycache__/\n"})
        git_init(project, "invsync 1.2.0")
        # The developer's existing virtualenv, with `wheel` (setuptools 65 in a fresh 3.11 venv
        # cannot build an editable install without it). Offline: a local wheel if there is one.
        sh(project, "python -m venv .venv",
           ".venv/bin/pip install -q --no-index --find-links /opt/pypi/files wheel "
           "|| .venv/bin/pip install -q wheel")

    pyproject = p / "pyproject.toml"
    pip = ".venv/bin/pip install -q --no-build-isolation --no-index -e . 2>&1"
    prompts = [
        Prompt("On a fresh checkout `pip install -e .` fails, so nobody can run the invsync "
               "command. Can you fix the packaging? There's a .venv in the project; we're "
               "offline here.", [
            say("Reproducing with the project's virtualenv (offline, so no build isolation).",
                bash(f"{pip} | tail -30; exit ${{PIPESTATUS[0]}}",
                     "Install the project into .venv", fails=True, timeout=600000)),
            say("setuptools' automatic discovery sees two top-level packages, `invsync` and "
                "`migrations`, and refuses to guess. Only `invsync` is the distribution; the "
                "migrations are data for the deploy step.",
                read(pyproject), glob("*/__init__.py")),
            say("", edit(pyproject, '[project.scripts]\ninvsync = "invsync.cli:main"\n',
                         '[project.scripts]\ninvsync = "invsync.cli:main"\n\n'
                         '[tool.setuptools]\n'
                         '# Only the invsync package; migrations/ is deploy data, not code '
                         'to install.\n'
                         'packages = ["invsync"]\n')),
            say("", bash(pip, "Install again", timeout=600000),
                bash(".venv/bin/invsync --version", "Try the console script", fails=True)),
            say("The install works now, but the `invsync` script points at `invsync.cli:main` "
                "and there is no `invsync/cli.py` — the entry point is `invsync/main.py`.",
                edit(pyproject, 'invsync = "invsync.cli:main"', 'invsync = "invsync.main:main"')),
            say("", bash(f"{pip} && .venv/bin/invsync --version && .venv/bin/invsync --dry-run",
                         "Reinstall and run the command", timeout=600000)),
            say("Fixed, two problems in `pyproject.toml`:\n\n1. **`pip install -e .` failed** "
                "with `Multiple top-level packages discovered in a flat-layout: ['invsync', "
                "'migrations']` — setuptools' auto-discovery won't guess. Added "
                "`[tool.setuptools] packages = [\"invsync\"]`.\n2. **The console script was "
                "broken**: `invsync = \"invsync.cli:main\"`, but the code is in "
                "`invsync/main.py` (`ModuleNotFoundError: No module named 'invsync.cli'`). Now "
                "`invsync.main:main`.\n\n`.venv/bin/invsync --version` → `invsync 1.2.0`; "
                "`--dry-run` works. Not committed yet."),
        ]),
        Prompt("Great. Put the install steps in the README and commit.", [
            say("", read(p / "README.md")),
            say("", edit(p / "README.md", "Sync warehouse stock levels to the shop.\n",
                         "Sync warehouse stock levels to the shop.\n\n## Install\n\n"
                         "    python -m venv .venv\n"
                         "    .venv/bin/pip install -e .\n"
                         "    .venv/bin/invsync --version\n\n"
                         "Offline, add `--no-build-isolation --no-index` to the pip line.\n"),
                bash("git status --short", "Check what will be committed")),
            say("", bash("git add -A && git commit -q -m 'Packaging: explicit packages, fix "
                         "the invsync entry point; README install steps' && git log "
                         "--oneline -1", "Commit")),
            say("Committed \"Packaging: explicit packages, fix the invsync entry point; README "
                "install steps\". `.venv/` and `*.egg-info/` stay ignored.\n\nStill open: "
                "`migrations/` isn't shipped in the package, so the deploy step must copy it "
                "from the repository."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["pip install -e .", "invsync", "packaging"],
            "terms": ["pyproject.toml", "Multiple top-level packages discovered in a flat-layout",
                      "migrations", "packages = [\"invsync\"]", "invsync.cli:main",
                      "No module named 'invsync.cli'", "invsync.main:main", "invsync 1.2.0",
                      "--no-build-isolation", "README install steps", "deploy step"]}
    return build, prompts, keys


# ------------------------------------------------------------------------------------------
# HELD OUT java-bank-transfer: Java; a failed transfer still debits the source; new
# InsufficientFundsException (checked: 'unreported exception' compile error); resume: a daily
# limit of 10000 read from bank.properties
# ------------------------------------------------------------------------------------------

ACCOUNT_JAVA = """\
package bank;

public class Account {
    private final String id;
    private long balanceCents;

    public Account(String id, long balanceCents) {
        this.id = id;
        this.balanceCents = balanceCents;
    }

    public String getId() { return id; }
    public long getBalanceCents() { return balanceCents; }

    void deposit(long cents) { balanceCents += cents; }
    void withdraw(long cents) { balanceCents -= cents; }
}
"""

BANK_JAVA = """\
package bank;

public class Bank {
    /** Moves money between accounts; returns false when the source cannot cover it. */
    public boolean transfer(Account from, Account to, long cents) {
        from.withdraw(cents);
        if (from.getBalanceCents() < 0) {
            return false;
        }
        to.deposit(cents);
        return true;
    }
}
"""

BANK_TEST_JAVA = """\
package bank;

public class BankTest {
    static int failures = 0;

    static void check(boolean ok, String name) {
        System.out.println((ok ? "ok   " : "FAIL ") + name);
        if (!ok) failures++;
    }

    public static void main(String[] args) {
        Bank bank = new Bank();
        Account a = new Account("alice", 50_00);
        Account b = new Account("bob", 0);
        check(bank.transfer(a, b, 20_00), "transfer succeeds");
        check(a.getBalanceCents() == 30_00 && b.getBalanceCents() == 20_00, "balances moved");
        System.out.println(failures == 0 ? "ALL OK" : failures + " FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }
}
"""

BANK_TEST_V2 = """\
package bank;

public class BankTest {
    static int failures = 0;

    static void check(boolean ok, String name) {
        System.out.println((ok ? "ok   " : "FAIL ") + name);
        if (!ok) failures++;
    }

    public static void main(String[] args) {
        Bank bank = new Bank();
        Account a = new Account("alice", 50_00);
        Account b = new Account("bob", 0);
        bank.transfer(a, b, 20_00);
        check(a.getBalanceCents() == 30_00 && b.getBalanceCents() == 20_00, "balances moved");

        Account poor = new Account("carol", 10_00);
        try {
            bank.transfer(poor, b, 25_00);
            check(false, "insufficient funds throws");
        } catch (InsufficientFundsException e) {
            check(e.getMessage().contains("carol"), "insufficient funds throws");
        }
        check(poor.getBalanceCents() == 10_00, "failed transfer leaves the source untouched");
        check(b.getBalanceCents() == 20_00, "failed transfer credits nothing");
        System.out.println(failures == 0 ? "ALL OK" : failures + " FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }
}
"""

INSUFFICIENT_JAVA = """\
package bank;

/** A transfer asked for more than the source account holds. */
public class InsufficientFundsException extends Exception {
    public InsufficientFundsException(Account from, long cents) {
        super("account " + from.getId() + " has " + from.getBalanceCents()
              + " cents, transfer needs " + cents);
    }
}
"""

BANK_RUN_SH = """\
#!/bin/sh
set -e
rm -rf out
javac -d out $(find src -name '*.java')
java -cp out bank.BankTest
"""


@scenario("java-bank-transfer",
          "Java/javac: a transfer that fails for insufficient funds still debits the source; "
          "check before mutating, new checked InsufficientFundsException ('unreported "
          "exception' compile error fixed); resume: daily limit 10000 from bank.properties "
          "via new TransferLimits, commit",
          heldout=True)
def java_bank_transfer(p: Path):
    def build(project):
        files(project, {"src/bank/Account.java": ACCOUNT_JAVA, "src/bank/Bank.java": BANK_JAVA,
                        "src/bank/BankTest.java": BANK_TEST_JAVA, "run.sh": BANK_RUN_SH,
                        ".gitignore": "out/\n"})
        sh(project, "chmod +x run.sh")
        git_init(project, "Accounts and transfers")

    bank, test = p / "src/bank/Bank.java", p / "src/bank/BankTest.java"
    exc = p / "src/bank/InsufficientFundsException.java"
    limits = p / "src/bank/TransferLimits.java"
    prompts = [
        Prompt("Support ticket: a transfer that fails for insufficient funds still takes the "
               "money out of the source account. Please fix it properly.", [
            say("", read(bank), read(test), read(p / "src/bank/Account.java")),
            say("`Bank.transfer()` withdraws first and checks afterwards, and on failure it "
                "returns `false` without putting the money back — the source keeps the "
                "negative balance. I'll check before touching anything and make the failure "
                "an exception the caller can't ignore: a new checked "
                "`InsufficientFundsException`.",
                write(exc, INSUFFICIENT_JAVA),
                edit(bank, "    /** Moves money between accounts; returns false when the source "
                           "cannot cover it. */\n"
                           "    public boolean transfer(Account from, Account to, long cents) {\n"
                           "        from.withdraw(cents);\n"
                           "        if (from.getBalanceCents() < 0) {\n"
                           "            return false;\n"
                           "        }\n"
                           "        to.deposit(cents);\n"
                           "        return true;\n"
                           "    }",
                     "    /** Moves money between accounts; nothing changes when the source "
                     "cannot cover it. */\n"
                     "    public void transfer(Account from, Account to, long cents)\n"
                     "            throws InsufficientFundsException {\n"
                     "        if (from.getBalanceCents() < cents) {\n"
                     "            throw new InsufficientFundsException(from, cents);\n"
                     "        }\n"
                     "        from.withdraw(cents);\n"
                     "        to.deposit(cents);\n"
                     "    }"),
                write(test, BANK_TEST_V2)),
            say("", bash("./run.sh", "Compile and run the checks", fails=True)),
            say("The first transfer in the test isn't inside the `try`, and the exception is "
                "checked, so `main` has to declare it.",
                edit(test, "    public static void main(String[] args) {",
                     "    public static void main(String[] args) throws "
                     "InsufficientFundsException {")),
            say("", bash("./run.sh", "Compile and run the checks")),
            say("Fixed.\n\n**Cause:** `Bank.transfer()` called `from.withdraw()` *before* "
                "checking the balance and just returned `false` when it went negative, so the "
                "money left the source account and never arrived anywhere.\n\n**Fix:** the "
                "balance is checked first; a transfer that can't be covered throws the new "
                "checked `InsufficientFundsException` (message names the account) and changes "
                "nothing. `transfer()` now returns `void`.\n\nThe first compile failed with "
                "`unreported exception InsufficientFundsException; must be caught or declared "
                "to be thrown` in `BankTest.main`; declared it. `./run.sh` → ALL OK (4 "
                "checks)."),
        ]),
        Prompt("Good. Compliance also wants a daily transfer limit per account: 10,000.00, but "
               "configurable in a bank.properties file, not hard-coded. Commit when done.", [
            say("I'll read the limit with `java.util.Properties` in a small `TransferLimits` "
                "class and have `Bank` track what each account sent today.",
                write(p / "bank.properties", "# Per-account limit for outgoing transfers per "
                                             "day, in cents\ndaily.limit.cents=1000000\n"),
                write(limits, "package bank;\n\n"
                              "import java.io.IOException;\n"
                              "import java.io.Reader;\n"
                              "import java.nio.file.Files;\n"
                              "import java.nio.file.Path;\n"
                              "import java.util.Properties;\n\n"
                              "/** Limits read from bank.properties. */\n"
                              "public final class TransferLimits {\n"
                              "    public final long dailyLimitCents;\n\n"
                              "    public TransferLimits(long dailyLimitCents) {\n"
                              "        this.dailyLimitCents = dailyLimitCents;\n"
                              "    }\n\n"
                              "    public static TransferLimits load(Path file) throws "
                              "IOException {\n"
                              "        Properties props = new Properties();\n"
                              "        try (Reader in = Files.newBufferedReader(file)) {\n"
                              "            props.load(in);\n"
                              "        }\n"
                              "        return new TransferLimits(Long.parseLong(props.getProperty("
                              "\"daily.limit.cents\").trim()));\n"
                              "    }\n"
                              "}\n"),
                read(bank)),
            say("", write(bank, "package bank;\n\n"
                                "import java.util.HashMap;\n"
                                "import java.util.Map;\n\n"
                                "public class Bank {\n"
                                "    private final TransferLimits limits;\n"
                                "    private final Map<String, Long> sentToday = new "
                                "HashMap<>();\n\n"
                                "    public Bank(TransferLimits limits) {\n"
                                "        this.limits = limits;\n"
                                "    }\n\n"
                                "    /** Moves money between accounts; nothing changes when "
                                "the source cannot cover it\n"
                                "     *  or the transfer would pass the source's daily limit. */\n"
                                "    public void transfer(Account from, Account to, long cents)\n"
                                "            throws InsufficientFundsException {\n"
                                "        long sent = sentToday.getOrDefault(from.getId(), 0L);\n"
                                "        if (sent + cents > limits.dailyLimitCents) {\n"
                                "            throw new IllegalStateException(\"daily limit of \" "
                                "+ limits.dailyLimitCents\n"
                                "                    + \" cents reached for \" + "
                                "from.getId());\n"
                                "        }\n"
                                "        if (from.getBalanceCents() < cents) {\n"
                                "            throw new InsufficientFundsException(from, cents);\n"
                                "        }\n"
                                "        from.withdraw(cents);\n"
                                "        to.deposit(cents);\n"
                                "        sentToday.put(from.getId(), sent + cents);\n"
                                "    }\n\n"
                                "    /** Called by the nightly job. */\n"
                                "    public void startNewDay() {\n"
                                "        sentToday.clear();\n"
                                "    }\n"
                                "}\n")),
            say("", bash("./run.sh 2>&1 | head; exit ${PIPESTATUS[0]}", "Compile and test",
                         fails=True)),
            say("`Bank` has no no-argument constructor any more; the test builds its bank "
                "from the real `bank.properties` now, and gets checks for the limit.",
                read(test),
                edit(test, "    public static void main(String[] args) throws "
                           "InsufficientFundsException {\n"
                           "        Bank bank = new Bank();",
                     "    public static void main(String[] args) throws Exception {\n"
                     "        TransferLimits limits = TransferLimits.load("
                     "java.nio.file.Path.of(\"bank.properties\"));\n"
                     "        check(limits.dailyLimitCents == 1_000_000, \"limit from "
                     "bank.properties\");\n"
                     "        Bank bank = new Bank(limits);"),
                edit(test, "        System.out.println(failures == 0 ? \"ALL OK\"",
                     "        Account rich = new Account(\"dave\", 50_000_00);\n"
                     "        bank.transfer(rich, b, 9_000_00);\n"
                     "        try {\n"
                     "            bank.transfer(rich, b, 2_000_00);\n"
                     "            check(false, \"daily limit enforced\");\n"
                     "        } catch (IllegalStateException e) {\n"
                     "            check(rich.getBalanceCents() == 41_000_00, \"daily limit "
                     "enforced\");\n"
                     "        }\n"
                     "        bank.startNewDay();\n"
                     "        bank.transfer(rich, b, 2_000_00);\n"
                     "        check(rich.getBalanceCents() == 39_000_00, \"limit resets "
                     "next day\");\n"
                     "        System.out.println(failures == 0 ? \"ALL OK\"")),
            say("", bash("./run.sh", "Compile and test")),
            say("", bash("git add -A && git commit -q -m 'Transfers: no debit on insufficient "
                         "funds; daily limit from bank.properties' && git log --oneline -1",
                         "Commit")),
            say("Committed \"Transfers: no debit on insufficient funds; daily limit from "
                "bank.properties\".\n\n- `bank.properties`: `daily.limit.cents=1000000` "
                "(10,000.00).\n- New `TransferLimits.load(Path)` reads it; `new "
                "Bank(limits)` tracks what each account sent today and throws "
                "`IllegalStateException(\"daily limit of 1000000 cents reached for …\")`; "
                "`startNewDay()` resets the counters.\n- The first build failed: `constructor "
                "Bank in class Bank cannot be applied to given types` in `BankTest`; it now "
                "loads the real `bank.properties`. `./run.sh` → ALL OK (7 checks).\n\n"
                "Open: nothing calls `startNewDay()` yet — the nightly job has to, and the "
                "day boundary is whatever time zone that job runs in."),
        ], resume=True, pause=1.0),
    ]
    keys = {"request": ["insufficient funds", "transfer", "daily transfer limit"],
            "terms": ["src/bank/Bank.java", "withdraw", "InsufficientFundsException",
                      "unreported exception", "ALL OK", "bank.properties",
                      "daily.limit.cents=1000000", "TransferLimits", "startNewDay",
                      "cannot be applied to given types",
                      "no debit on insufficient funds", "time zone"]}
    return build, prompts, keys
