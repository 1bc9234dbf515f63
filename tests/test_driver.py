"""The store's sqlite3 import: the hooks' cheap path leaves a working driver and a real functools."""
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

PROBE = r"""
import sys
sys.path.insert(0, SYS_PATH)
from claude_mem.store.driver import sqlite3
assert "functools" not in sys.modules, "the stand-in must not stay, nor the real one load"
db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE t (n INTEGER)")
for i in range(300):  # more statements than the cache holds: it evicts and re-prepares
    db.execute(f"INSERT INTO t VALUES ({i % 150})")
    db.execute("INSERT INTO t VALUES (?)", (i,))
total = db.execute("SELECT count(*), sum(n) FROM t").fetchone()
import functools
assert functools.reduce(lambda a, b: a + b, [1, 2, 3]) == 6, "the real functools after"
print(sqlite3.__name__, total[0], total[1])
"""


def run_probe(*flags: str) -> str:
    code = PROBE.replace("SYS_PATH", repr(str(SRC)))
    result = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_hook_interpreter_gets_the_c_core_without_functools():
    name, rows, total = run_probe("-I", "-S")
    assert name == "_sqlite3"
    assert int(rows) == 600
    assert int(total) == sum(i % 150 for i in range(300)) + sum(range(300))


def test_interpreter_with_functools_loaded_uses_it_as_is():
    code = "import functools\n" + PROBE.replace(
        'assert "functools" not in sys.modules, "the stand-in must not stay, nor the real one load"\n', "")
    code = code.replace("SYS_PATH", repr(str(SRC)))
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "_sqlite3"
