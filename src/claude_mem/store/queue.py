"""The durable queue: hook events wait in ``pending`` until the worker turns them into memory.

Contract: hooks only ``enqueue`` (marking rows they cleaned: ``cleaned``); the worker takes ``pending_batch`` in arrival order,
counts an attempt before working on a row, deletes it in the same transaction that stores
what it became, and parks a row that keeps failing (``park``) so nothing blocks the queue.
"""

import time

from claude_mem.store.db import Database, dicts
from claude_mem.store.driver import sqlite3

# A file taken in again has the same time to the bit; a millisecond allows for float noise.
_SAME_TIME = 0.001


class QueueRoom:
    """Queue methods of ``Store`` (mixed in; uses ``self.db`` and ``self.write()``)."""

    db: sqlite3.Connection

    def enqueue(self, event: str, payload: str, received_at: float | None = None, *,
                cleaned: bool = False) -> int:
        """Queue one event; ``cleaned``: the caller already ran the privacy cleaning on it
        (a hook), so the worker need not look again."""
        cursor = self.db.execute(
            "INSERT INTO pending (event, payload, received_at, cleaned) VALUES (?, ?, ?, ?)",
            (event, payload, received_at if received_at is not None else time.time(),
             1 if cleaned else 0),
        )
        return cursor.lastrowid

    def pending_batch(self, limit: int = 100) -> list[dict]:
        return dicts(self.db.execute(
            "SELECT * FROM pending WHERE status = 'pending' ORDER BY received_at, id LIMIT ?",
            (limit,),
        ))

    def mark_attempt(self, ids: list[int]) -> None:
        """Count an attempt before the work starts, so a row that kills the worker is seen."""
        # A run a statement: one ``UPDATE`` for a pass's 800 rows journals every page it
        # changes; the worker's connection keeps that statement journal in memory
        # (``Database.serve_the_worker``), elsewhere past 64 KiB it goes to a temp file.
        with self.write():
            self.db.executemany(
                "UPDATE pending SET attempts = attempts + 1 WHERE id BETWEEN ? AND ?",
                id_runs(ids))

    def unmark_attempt(self, ids) -> None:
        """Give back attempts counted for rows whose work never began (one transaction)."""
        ids = list(ids)
        if not ids:
            return
        with self.write():
            self.db.executemany(
                "UPDATE pending SET attempts = attempts - 1 WHERE id = ? AND attempts > 0",
                [(i,) for i in ids])

    def park(self, pending_id: int, error: str) -> None:
        with self.write():
            self.db.execute(
                "UPDATE pending SET status = 'parked', last_error = ? WHERE id = ?",
                (_reason(error), pending_id),
            )

    def record_failure(self, pending_id: int, error: str) -> None:
        with self.write():
            self.db.execute(
                "UPDATE pending SET last_error = ? WHERE id = ?", (_reason(error), pending_id)
            )

    def delete_pending(self, ids) -> None:
        group = self.__dict__.get("_group")
        if group is not None:  # the drain's shared transaction: deleted at its commit
            group.deletes += ids
            return
        self.db.executemany("DELETE FROM pending WHERE id BETWEEN ? AND ?", id_runs(ids))

    def retry_parked(self) -> int:
        return len(self.requeue_parked())

    def queue_stats(self) -> dict:
        row = self.db.execute(
            "SELECT"
            " SUM(status = 'pending') AS pending,"
            " SUM(status = 'parked') AS parked,"
            " MIN(CASE WHEN status = 'pending' THEN received_at END) AS oldest"
            " FROM pending"
        ).fetchone()
        return {"pending": row["pending"] or 0, "parked": row["parked"] or 0,
                "oldest_pending_at": row["oldest"]}

    def newest_pending_id(self) -> int | None:
        """The highest id still waiting, None when nothing waits (has new work come?)."""
        return self.db.execute("SELECT MAX(id) FROM pending WHERE status = 'pending'").fetchone()[0]

    def queue_sequence(self) -> int:
        """The highest id ever queued (it only grows): has anything arrived since?"""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'pending'").fetchone()
        return row[0] if row else 0

    def enqueue_once(self, event: str, payload: str, received_at: float) -> bool:
        """Queue an event unless the very same one is already queued; True if queued.

        For re-importing a spool file: a crash between the row's commit and the file's
        removal must not queue it twice.
        """
        with self.write():
            already = self.db.execute(
                "SELECT 1 FROM pending WHERE received_at = ? AND event = ? AND payload = ?",
                (received_at, event, payload)).fetchone()
            if already:
                return False
            self.enqueue(event, payload, received_at)
            return True

    def enqueue_taken(self, rows) -> int:
        """Queue ``(event, payload, received_at)`` rows taken from files (the inbox) in one
        transaction, each marked cleaned; a row already queued at its time (a worker killed
        between this commit and the files' removal takes the same file again, at the same
        time) is not queued again. Returns how many were queued.

        The look-up spans a millisecond, not a minute: it runs inside the write transaction
        for every file, and a minute of a large backlog (an import, a queue that waited for
        a worker) is thousands of rows whose payloads it would read: 57 ms of CPU in one
        take-in during bench/lock_budget.py's drain of 100k events."""
        queued = 0
        if not rows:
            return queued
        with self.write():
            for event, payload, received_at in rows:
                if self.db.execute(
                        "SELECT 1 FROM pending WHERE status = 'pending' AND received_at BETWEEN ? AND ?"
                        " AND event = ? AND payload = ?",
                        (received_at - _SAME_TIME, received_at + _SAME_TIME, event, payload)).fetchone():
                    continue
                self.enqueue(event, payload, received_at, cleaned=True)
                queued += 1
        return queued

    def pending_stops(self) -> list[tuple]:
        """``(received_at, payload)`` of every Stop still queued (few: one per open request)."""
        return [tuple(r) for r in self.db.execute(
            "SELECT received_at, payload FROM pending WHERE status = 'pending' AND event = 'Stop'")]

    def parked_rows(self, limit: int = 20) -> list[dict]:
        return dicts(self.db.execute(
            "SELECT id, event, received_at, attempts, last_error FROM pending"
            " WHERE status = 'parked' ORDER BY id LIMIT ?", (limit,)
        ))

    def queue_head(self) -> dict | None:
        """The oldest pending row: the one the worker takes first."""
        rows = dicts(self.db.execute(
            "SELECT id, event, received_at, attempts, last_error, length(payload) AS size"
            " FROM pending WHERE status = 'pending' ORDER BY received_at, id LIMIT 1"))
        return rows[0] if rows else None

    def requeue_parked(self, ids=None) -> list[dict]:
        """Queue parked rows again (all, or those ``ids``); returns the rows requeued."""
        return self._take_parked(ids, "UPDATE pending SET status = 'pending', attempts = 0,"
                                      " last_error = NULL WHERE id = ? AND status = 'parked'")

    def discard_parked(self, ids=None) -> list[dict]:
        """Delete parked rows for good (all, or those ``ids``); returns the rows deleted."""
        return self._take_parked(ids, "DELETE FROM pending WHERE id = ? AND status = 'parked'")

    def _take_parked(self, ids, sql: str) -> list[dict]:
        with self.write():
            rows = dicts(self.db.execute(
                "SELECT id, event, received_at, attempts, last_error FROM pending"
                " WHERE status = 'parked' ORDER BY id"))
            if ids is not None:
                wanted = set(ids)
                rows = [r for r in rows if r["id"] in wanted]
            self.db.executemany(sql, [(r["id"],) for r in rows])
        return rows


def id_runs(ids) -> list[tuple[int, int]]:
    """``ids`` as ``(first, last)`` runs of consecutive ids, for ``id BETWEEN ? AND ?``.

    A pass's rows and a unit's group are mostly consecutive ids: one statement per run
    instead of one per row (the worker counted and deleted 20,000 rows one by one per
    10,000 events). Every id of a run is in ``ids`` and ids are unique row ids, so a run
    names exactly the listed rows. An id listed twice is counted twice, as before.
    """
    runs: list[tuple[int, int]] = []
    ordered = sorted(ids)
    if len(set(ordered)) != len(ordered):
        return [(i, i) for i in ids]
    for i in ordered:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _reason(error) -> str:
    """An error text that always fits the column: bounded, and valid UTF-8 whatever it quotes."""
    return str(error)[:2000].encode("utf-8", "backslashreplace").decode("utf-8")


class QueueStore(QueueRoom, Database):
    """Only the queue over the database: what a capture hook opens. Importing the other
    rooms would cost every hook call (see the package docstring)."""

    announces_writes = False  # a hook announces itself by hand (``hooks._announce``)


def open_queue(*, busy_timeout_ms: int = 5000) -> QueueStore:
    """The configured database, queue room only (the capture hooks' door)."""
    from claude_mem import config

    return QueueStore(config.db_path(), busy_timeout_ms=busy_timeout_ms)
