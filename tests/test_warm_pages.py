"""A bulk writer asks for the database's and WAL's pages before its steps take the lock
(``store/warm_pages.py``, ``store/wal_pace.py``): real SQLite files, pages really dropped
from memory, and another process whose reads and commit then read nothing from the disk."""
import os
import subprocess
import sys
import textwrap

import pytest

from claude_mem.store.db import Database
from claude_mem.store.warm_pages import Warmer, sqlite_descriptor

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="page cache advice and /proc are Linux's")


def _evict(path: str) -> None:
    """Drop the files' clean pages from memory, from a process of its own (closing a
    descriptor of the database here would drop this process's SQLite locks)."""
    code = textwrap.dedent(f"""
        import os
        for name in ({path!r}, {path!r} + "-wal"):
            fd = os.open(name, os.O_RDONLY)
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _bytes_read_by_a_writer(path: str) -> int:
    """Another process reads every row and commits one more (appending to the WAL): the
    bytes it had to read from the disk meanwhile (``/proc/self/io`` read_bytes)."""
    code = textwrap.dedent(f"""
        import sqlite3
        def read_bytes():
            for line in open("/proc/self/io"):
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
        db = sqlite3.connect({path!r}, isolation_level=None)
        before = read_bytes()
        total = db.execute("SELECT count(*), sum(length(body)) FROM t").fetchone()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t(body) VALUES (zeroblob(3000))")
        db.execute("COMMIT")
        print(read_bytes() - before, total[0])
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=60).stdout.split()
    return int(out[0])


def _build(path: str) -> Database:
    """~8 MB of rows in the database file, an ~8 MB WAL file begun again (its next
    frames overwrite it from its start); open (the last connection's close would delete
    the WAL)."""
    database = Database(path, migrate=False)
    database.db.execute("PRAGMA journal_mode = WAL")
    database.db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)")
    for _ in range(8):
        with database.write():
            database.db.executemany("INSERT INTO t(body) VALUES (randomblob(3000))",
                                    [()] * 300)
    database.checkpoint_passive()
    database.start_wal()
    return database


def test_a_bulk_writer_asks_for_the_pages_its_steps_will_touch(tmp_path):
    path = str(tmp_path / "memory.db")
    with _build(path) as database:
        assert os.path.getsize(path + "-wal") > 4 * 1024 * 1024
        _evict(path)
        cold = _bytes_read_by_a_writer(path)
        if cold == 0:
            pytest.skip("this file system kept the pages in memory (tmpfs?): nothing to warm")
        _evict(path)
        pace = database.wal_pace()  # a bulk writer starts: its files are asked for
        assert pace.warmer.calls == 1
        assert _bytes_read_by_a_writer(path) == 0, f"{cold} bytes read before warming"
        # After a checkpoint too (pages dropped meanwhile, as this machine's kernel does
        # with pages unused for a minute).
        with database.write():
            database.db.execute("INSERT INTO t(body) VALUES (randomblob(3000))")
        _evict(path)
        pace.mark = -10**12  # as if 8 MB were written since the last checkpoint
        assert pace.after_write()
        assert pace.warmer.calls == 2
        assert _bytes_read_by_a_writer(path) == 0
        rows = database.db.execute("SELECT count(*) FROM t").fetchone()[0]
        assert rows == 8 * 300 + 1 + 2 + 1
        assert database.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_database_is_read_through_sqlites_own_descriptor(tmp_path):
    """Its descriptor is found, and warming neither opens nor closes the database file: a
    close would drop this process's locks on it (SQLite's read lock here)."""
    path = str(tmp_path / "memory.db")
    with _build(path) as database:
        fd = sqlite_descriptor(path)
        assert fd is not None and os.path.samefile(f"/proc/self/fd/{fd}", path)
        database.db.execute("BEGIN")  # a read transaction: SQLite holds a lock on the file
        database.db.execute("SELECT count(*) FROM t").fetchone()
        before = sorted(os.listdir("/proc/self/fd"))
        assert Warmer(path).warm()
        assert sorted(os.listdir("/proc/self/fd")) == before
        # Another process still cannot take the exclusive lock a checkpoint needs to
        # reset the WAL under this reader: the read lock is still held.
        code = (f"import sqlite3; db = sqlite3.connect({path!r}, timeout=0);"
                "print(db.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()[0])")
        busy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=60).stdout.strip()
        assert busy == "1"
        database.db.execute("COMMIT")
    assert Warmer(str(tmp_path / "none.db")).warm() is False  # no files: nothing asked
