"""The SQLite connection every store room shares: opening, the write unit, row decoding.

Contract:
- ``Database(path)`` opens (creating it 0600 in a 0700 folder) and migrates the file:
  WAL, a busy timeout, foreign keys on (see ``migrations``).
- ``with store.write():`` is one ``BEGIN IMMEDIATE`` ... ``COMMIT`` unit; any exception
  rolls it back; nested use joins the outer unit.
  ``in_transaction`` says whether one is open (SQLite may end one itself on some errors,
  e.g. a full disk).
- ``serve_the_worker()``: the worker's connection (yields, holds index writes, temp in memory).
- A write unit (and ``locked``) outside the worker tells a running worker it is about to
  take the lock and when it is done (``announces_writes``): the worker steps aside for it.
- Standard library only, on the hook path: ``json`` is imported lazily because a hook
  never decodes a list column.
- Lock tracing (benches only): with ``CLAUDE_MEM_LOCK_TRACE`` set to a file path, every
  write unit and every statement that takes the write lock on its own (``locked``) appends
  ``<pid> <unix time> <ms held> <ms on a CPU> <ms waiting for a CPU> <what>`` to that file
  when it held the lock 1 ms or more (``lock_trace``, imported only then). The two CPU
  figures tell a hold that did work from one whose process was runnable but preempted by
  other programs, or blocked on the disk (what is left of the hold); and for each hook's
  commit of its event, how long it took with the wait for the lock (``trace_wait``).
  ``bench/lock_budget.py`` reads it. Unset (always, outside that bench) it costs nothing:
  ``write()`` hands out the untimed unit.
"""

import os
import time

from claude_mem.store.driver import is_busy, sqlite3

# How many migrations ``migrations.MIGRATIONS`` holds: the schema version a database at
# the current schema records in ``PRAGMA user_version``. Kept here so opening an
# up-to-date database (every hook call) does not import the migrations module;
# tests/test_store.py checks the two agree.
SCHEMA_VERSION = 13

_jsonlite = None

# How long the WAL's TRUNCATE checkpoint waits for the write lock or a reader (see
# ``scrub_files``): not at all. While it waits for a reader it holds the write lock, other
# writers queue behind it, and when it gives up the first of them finds the WAL copied
# whole and restarts it: a sync inside that writer's hold (a hook's, a ``forget`` step's).
# Not waiting, it gives up at once and ``start_wal`` restarts the WAL before anyone else
# (the caller tries the truncation again later).
_TRUNCATE_WAIT_MS = 0

# SQLite's automatic checkpoint runs in the commit that leaves the WAL this many pages or
# more (its default is 1,000): well above ``wal_pace.CHECKPOINT_BYTES``, after which the
# worker or a bulk command checkpoints itself, so a hook's commit does it only when no
# worker runs.
AUTOCHECKPOINT_PAGES = 4000

# See the module docstring: read once, so an untraced process never looks again.
_LOCK_TRACE = os.environ.get("CLAUDE_MEM_LOCK_TRACE") or None
if _LOCK_TRACE is not None:  # benches only: an untraced process never imports it
    from claude_mem.store import lock_trace


def _json():
    # jsonlite, not json: readers run inside the SessionStart hook (see jsonlite.py).
    # Imported on first use, then kept: the worker encodes and decodes list columns
    # dozens of times per event.
    global _jsonlite
    if _jsonlite is None:
        from claude_mem import jsonlite

        _jsonlite = jsonlite
    return _jsonlite


def _dumps(values) -> str:
    values = list(values)
    return _json().dumps(values) if values else "[]"


def _loads_list(text) -> list:
    if not text or text == "[]":  # most list columns are empty
        return []
    if _jsonlite is None and isinstance(text, str):
        # Nothing here has needed the full decoder yet: a hook (prompt recall decodes a
        # few rows). A list of strings is read without importing it (~0.3 ms).
        from claude_mem import jsonflat

        value = jsonflat.string_array(text)
        if value is not None:
            return value
    try:
        value = _json().loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


# Readers return plain dicts (see the package docstring): rows stay ``sqlite3.Row`` inside
# the store, where positional ``row[0]`` is handy, and become dicts at the door.


# SQLite integers are 64-bit: a bigger id cannot exist, and binding it raises OverflowError.
MAX_ROW_ID = 2**63 - 1


def row_id(value) -> int | None:
    """``value`` as a row id SQLite can bind, or None when no row can have it."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_ROW_ID else None


def one(row) -> dict | None:
    """A fetched row as a dict (None stays None)."""
    return _as_dict(row) if row is not None else None


def dicts(rows) -> list[dict]:
    """Every row of a cursor (or list of rows) as a dict."""
    description = getattr(rows, "description", None)
    if description is not None and getattr(rows, "row_factory", None) is sqlite3.Row:
        # A cursor: its column names once for all its rows (a pass reads hundreds).
        names = [column[0] for column in description]
        if len(set(names)) == len(names):
            return [dict(zip(names, row)) for row in rows]
    return [_as_dict(row) for row in rows]


def _as_dict(row) -> dict:
    # ``dict(row)`` looks every column up by name (a scan of the names each time): pairing
    # names and values is 1.3-2.5x quicker for the worker's rows. A result with a name
    # twice keeps its first value, as ``dict(row)`` does.
    if type(row) is not sqlite3.Row:
        return dict(row)
    names = row.keys()
    item = dict(zip(names, row))
    return item if len(item) == len(names) else dict(row)


class Database:
    """Owns one SQLite connection: opens, migrates, closes; the rooms' common base."""

    # The worker sets this: each write unit begins on a fresh share of the CPU
    # (``os.sched_yield`` right before ``BEGIN IMMEDIATE``), so the scheduler is less
    # likely to preempt it while it holds the lock hooks wait for (lock budget). Never
    # for a hook: it would give its CPU away right when its person is waiting.
    yield_before_writes = False
    # The worker sets this: the observations, summaries and prompts a write unit stores
    # are indexed for search once, right before its COMMIT, instead of one segment per
    # statement (``held_index``).
    hold_index_writes = False
    # The worker sets this to a ``threading.Lock`` shared with the other threads of its
    # process that run Python while its drain writes (prompt recall's answers): a write
    # unit holds it from before ``BEGIN IMMEDIATE`` to after ``COMMIT``, and they hold it
    # while they compute, so no thread of this process takes the GIL from the one holding
    # the write lock. (The holder gives the GIL up in every SQLite call; a thread busy in
    # Python then kept it for the interpreter's switch interval, 5 ms, each time: worker
    # holds of 17-31 ms spent 7-14 of them waiting for the GIL, seen by
    # ``bench/lock_budget.py --stacks`` as ``futex`` waits.)
    write_gate = None
    # Whether write units announce themselves to the worker serving this database (``a``
    # before ``BEGIN IMMEDIATE``, ``d`` after, on its wake-up FIFO: ``wakeup``, ``presence``),
    # which then cuts its shared transaction and leaves the lock free between units: every
    # writer of ours (``forget``, ``import``, team sync, parked rows) waits at most one unit,
    # as hooks do. ~0.02 ms a byte; nothing happens without a worker. Off in the worker's
    # process (``serve_the_worker``: all its threads' stores) and for the hooks' doors
    # (``QueueStore`` and the like: a hook announces once by hand before its first try).
    announces_writes = True

    def __init__(self, path: str, *, busy_timeout_ms: int = 5000, migrate: bool = True):
        self.path = path
        folder = os.path.dirname(path)
        if folder and not os.path.isdir(folder):
            os.makedirs(folder, mode=0o700, exist_ok=True)
        is_new = not os.path.exists(path)
        old_umask = os.umask(0o077)
        try:
            self.db = sqlite3.connect(
                path, timeout=busy_timeout_ms / 1000, isolation_level=None,
                check_same_thread=False,
            )
        finally:
            os.umask(old_umask)
        if is_new:
            try:
                os.chmod(path, 0o600)
            except OSError:
                pass
        self.db.row_factory = sqlite3.Row
        # (``timeout`` above is SQLite's busy timeout already: no PRAGMA for it.)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")
        # Deleted content is overwritten, not left in free pages: a forgotten observation
        # or a processed queue row must not survive in the file's bytes.
        self.db.execute("PRAGMA secure_delete = ON")
        self.db.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
        if migrate:
            self.migrate()

    # -- plumbing --------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply missing migrations; returns the names applied."""
        if self.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return []
        from claude_mem.store import migrations

        return migrations.apply(self)

    def serve_the_worker(self) -> None:
        """The worker's connection (called once): it yields the CPU before its writes, holds
        index writes until each COMMIT, and keeps temporary files in memory. A statement
        writing several rows in the worker's long transaction journals every page it
        changes, spilled to a temp file past 64 KiB: strace, 10k short events, 110,000
        ``pwrite`` and 28 temp files, in memory 30,000 and none. A hook writes one row; the
        worker's one VACUUM still goes to a file (``convert_to_incremental``). No store of
        this process announces its writes any more: the worker would step aside for itself."""
        Database.announces_writes = False
        self.yield_before_writes = self.hold_index_writes = True
        self.db.execute("PRAGMA temp_store = MEMORY")

    def write(self) -> "_WriteTransaction":
        """One write transaction (``BEGIN IMMEDIATE``); rolled back on any exception.

        Nested use joins the outer unit of work. (A small class rather than
        ``contextlib.contextmanager``: contextlib costs the hooks another import chain.)
        """
        unit = _TimedWriteTransaction if _LOCK_TRACE is not None else _WriteTransaction
        return unit(self.db, self.yield_before_writes, self.hold_index_writes, self.write_gate,
                    self._wake())

    def _wake(self) -> str | None:
        """The wake-up FIFO to announce writes to (``announces_writes``), or None: only the
        configured database has a worker (a store opened elsewhere, in tests, has none)."""
        if not self.announces_writes:
            return None
        wake = self.__dict__.get("_wake_path", 0)
        if wake == 0:
            from claude_mem import config

            wake = (config.wake_path() if os.path.abspath(self.path) ==
                    os.path.abspath(config.db_path()) else None)
            self._wake_path = wake
        return wake

    def locked(self, sql: str, what: str = "", *, to_the_end: bool = False):
        """Run one statement that takes the write lock by itself (a PRAGMA that writes,
        a checkpoint, VACUUM); its hold is traced like a write unit's. Returns the rows.

        ``to_the_end``: a statement without result columns that does its work one step
        at a time (``PRAGMA incremental_vacuum(N)`` frees one page a step): ``execute``
        steps it once, so it runs through ``executescript``, which steps it to the end."""
        wake = None if self.db.in_transaction else self._wake()
        told = wake is not None and _tell(wake, b"a")
        started = time.perf_counter()
        sched = None
        if _LOCK_TRACE is not None:
            sched = lock_trace.cpu_times()
            lock_trace.sampler_begin()
        try:
            if to_the_end:
                self.db.executescript(sql + ";")
                return []
            return self.db.execute(sql).fetchall()
        finally:
            if _LOCK_TRACE is not None:
                lock_trace.trace_hold(started, what or sql, sched)
            if told:
                _tell(wake, b"d")

    def housekeeping_step(self, wait: bool = True):
        """``with store.housekeeping_step(wait) as mine:`` one step of long work, in turn
        with every other process's (``budget.StepTurn``): the write lock then stays free
        for hooks a while. ``mine`` is False only with ``wait=False`` when it is not ours."""
        turn = self.__dict__.get("_turn")
        if turn is None:
            self.wal_pace()  # a bulk writer from now on: its pages are asked for first
            from claude_mem.store.budget import StepTurn

            turn = self.__dict__["_turn"] = StepTurn(self.path)
        return _PacedStep(turn.step(wait), self)

    def checkpoint_when_due(self) -> bool:
        """A bulk writer between two of its write units: once it has written
        ``wal_pace.CHECKPOINT_BYTES`` since its last checkpoint, copy the WAL and begin it
        again now (``wal_pace``), in turn with other processes' housekeeping steps (a
        ``forget`` step committing between the checkpoint and ``start_wal`` would restart
        the WAL, syncing inside its hold). True when it checkpointed; not our turn (another
        process's step, or our gap): False, and the next call tries again."""
        if self.in_transaction or not self.wal_pace().due(count=False):
            return False
        with self.housekeeping_step(wait=False) as mine:
            pass
        return bool(mine)

    def wal_pace(self):
        """This connection's ``wal_pace.WalPace``: a bulk writer's own checkpoints, taken
        after its commits (every housekeeping step's, and the worker's after each pass)."""
        pace = self.__dict__.get("_wal_pace")
        if pace is None:
            if _LOCK_TRACE is not None and os.environ.get("CLAUDE_MEM_LOCK_STACKS"):
                from claude_mem.store import lock_sampler  # benches: holds sampled

                lock_sampler.get(_LOCK_TRACE)
            from claude_mem.store.wal_pace import WalPace

            pace = self.__dict__["_wal_pace"] = WalPace(self)
        return pace

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    def checkpoint_passive(self) -> tuple[int, int, int]:
        """Copy what the WAL holds into the database without holding writers off:
        ``(busy, frames in the WAL, frames copied)`` as SQLite reports them."""
        if _LOCK_TRACE is None:
            return tuple(self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        started = time.perf_counter()
        result = tuple(self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        lock_trace.sampler_note("checkpoint(PASSIVE)", started, result=result)
        return result

    def stop_automatic_checkpoints(self) -> None:
        """This connection's commits no longer copy the WAL themselves (the caller does,
        with ``checkpoint_passive``, at a time of its choosing)."""
        self.db.execute("PRAGMA wal_autocheckpoint = 0")

    def set_busy_timeout(self, milliseconds: int) -> None:
        """How long a statement waits for a locked database before it fails."""
        if int(milliseconds) == self.__dict__.get("_busy_timeout_ms"):
            return  # a hook sets the value it opened with: one statement less
        self.db.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
        self._busy_timeout_ms = int(milliseconds)

    def close(self) -> None:
        turn = self.__dict__.pop("_turn", None)
        if turn is not None:
            turn.close()
        try:
            self.db.close()
        except sqlite3.Error:
            pass

    def scrub_files(self) -> bool:
        """Copy the WAL into the database and truncate it to zero bytes.

        With ``secure_delete`` the database pages no longer hold deleted rows; the WAL
        still holds old page images until it is reset, so this is what makes deleted
        bytes (a processed queue row, a forgotten observation) leave the files. False
        when a reader or a writer kept the WAL from being reset (the next call retries).
        """
        # A TRUNCATE checkpoint holds writers off while it copies, syncs and waits for
        # readers. So the copying is done first by a PASSIVE checkpoint, which writers go
        # on beside; the TRUNCATE then has (almost) nothing left to copy, and it waits for
        # a busy lock or reader only a few milliseconds: hooks must not queue behind it.
        try:
            timeout = self.db.execute("PRAGMA busy_timeout").fetchone()[0]
        except sqlite3.Error:  # closed already
            return False
        try:
            self.checkpoint_passive()
            # Again: what hooks committed while the first one copied and synced. The
            # TRUNCATE copies what is still left and syncs it twice, holding the lock (one
            # held it 111 ms, 97 of them blocked on the disk, beside a large forget); this
            # one does it without the lock, and leaves it (almost) nothing.
            copied = self.checkpoint_passive()
            self.db.execute(f"PRAGMA busy_timeout = {_TRUNCATE_WAIT_MS}")
            busy = self.locked("PRAGMA wal_checkpoint(TRUNCATE)", "wal_checkpoint(TRUNCATE)")[0][0]
            if busy == 0 or (copied[0] == 0 and 0 < copied[1] == copied[2]):
                # Truncated, or (a reader kept it from that) copied whole: either way the
                # next commit would begin the WAL, and sync it; this one does (start_wal).
                self.start_wal()
        except sqlite3.Error:
            return False
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        return busy == 0

    def start_wal(self) -> None:
        """Begin the next WAL right after ``scrub_files`` emptied it (it calls this), so the
        next commit (a hook's, most likely: a person's next prompt or session comes seconds
        later) appends to it instead of beginning it. Beginning a WAL writes its header and
        syncs it, and a process's first sync of it syncs the folder too: two fsyncs the hook
        would wait for (0.6-0.8 ms on this machine's disk, milliseconds on many laptops'; a
        hook's commit was seen blocked 436 ms right after a large ``forget``, which may have
        been such a sync waiting for the file system to take the forget's writes). Here it
        comes right after the checkpoint's own sync, with little left to flush. What it
        writes is page 1 (the file's header and the schema's root: no memory text)."""
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        # In a write unit, so lock tracing counts the hold from when the lock was had
        # (a lone statement's trace included its wait for the lock).
        # (A plain unit: the worker's would index held rows too, and write more pages.)
        wake = self._wake()
        unit = _WriteTransaction(self.db, wake=wake)
        if _LOCK_TRACE is not None:
            unit = _TimedWriteTransaction(self.db, wake=wake)
            unit.what = "begin the WAL"
        with unit:
            self.db.execute(f"PRAGMA user_version = {version}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

def _sched_yield() -> None:
    """Give the CPU to whoever is waiting for it now (see ``yield_before_writes``)."""
    try:
        os.sched_yield()
    except (AttributeError, OSError):  # not on every platform
        pass


# A writer the worker heard tries for the lock this often (see ``_begin_soon``).
_HEARD_WAIT_STEP_MS = 2


def _begin_soon(db) -> None:
    """``BEGIN IMMEDIATE`` for a writer the worker heard: it leaves the lock free for it
    between two units, so tries come every ``_HEARD_WAIT_STEP_MS``, up to the connection's
    busy timeout in all. (SQLite's own wait sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between
    tries: the lock would stay free while the writer slept, and the worker with it. The
    hooks wait the same way, ``hooks._commit_soon``.) A try that finds the lock held takes
    nothing, so it is simply made again."""
    timeout = int(db.execute("PRAGMA busy_timeout").fetchone()[0])
    deadline = time.monotonic() + timeout / 1000
    db.execute(f"PRAGMA busy_timeout = {min(timeout, _HEARD_WAIT_STEP_MS)}")
    try:
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise
    finally:
        db.execute(f"PRAGMA busy_timeout = {timeout}")


def _tell(wake: str, byte: bytes) -> bool:
    """``a`` (about to write) or ``d`` (done) to the worker's FIFO at ``wake``
    (``Database.announces_writes``); True when a worker read it. Never raises."""
    from claude_mem import wakeup

    try:
        return wakeup.about_to_write(wake) if byte == b"a" else wakeup.done(wake)
    except Exception:  # noqa: BLE001 - telling the worker must never fail the write
        return False


class _PacedStep:
    """``Database.housekeeping_step``: a ``budget.StepTurn`` step that, once its write
    unit has committed and while it still has the turn, lets ``wal_pace`` checkpoint
    (so the gap after the step grows with that time, and no other process's step writes
    meanwhile)."""

    __slots__ = ("step", "database", "mine")

    def __init__(self, step, database):
        self.step, self.database, self.mine = step, database, False

    def __enter__(self):
        self.mine = self.step.__enter__()
        return self.mine

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.mine and exc_type is None:
                self.database.wal_pace().after_write()
        finally:
            done = self.step.__exit__(exc_type, exc, tb)
        return done


class _WriteTransaction:
    __slots__ = ("db", "outermost", "yield_first", "hold", "gate", "wake", "told")

    def __init__(self, db, yield_first: bool = False, hold: bool = False, gate=None,
                 wake: str | None = None):
        self.db = db
        self.outermost = False
        self.yield_first = yield_first
        self.hold = hold
        self.gate = gate  # ``Database.write_gate``: held from BEGIN to COMMIT
        self.wake = wake  # announce to this FIFO (``Database.announces_writes``), or None
        self.told = False

    def __enter__(self):
        if not self.db.in_transaction:
            if self.gate is not None:
                self.gate.acquire()
            try:
                if self.yield_first:
                    _sched_yield()
                if self.wake is not None:
                    self.told = _tell(self.wake, b"a")
                if self.told:
                    _begin_soon(self.db)
                else:
                    self.db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._release()
                raise
            self.outermost = True
            if self.hold:
                from claude_mem.store import held_index  # the worker's only: not a hook's import

                try:
                    held_index.hold(self.db)
                except BaseException:
                    self.db.execute("ROLLBACK")
                    self._release()
                    raise
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if self.outermost:
            try:
                if exc_type is None and self.hold and self.db.in_transaction:
                    from claude_mem.store import held_index

                    try:
                        held_index.index_held(self.db)
                    except BaseException:
                        if self.db.in_transaction:
                            self.db.execute("ROLLBACK")
                        raise
                self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
            finally:
                self._release()
        return False

    def _release(self) -> None:
        """The unit is over (or never began): the gate goes, the worker hears "done"."""
        if self.gate is not None:
            self.gate.release()
        if self.told:
            self.told = False
            _tell(self.wake, b"d")


class _TimedWriteTransaction(_WriteTransaction):
    """A write unit whose lock hold (BEGIN IMMEDIATE returned .. COMMIT returned) is traced."""

    __slots__ = ("started", "sched", "what")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.what = ""  # the trace names the hold by its callers unless this says

    def __enter__(self):
        db = super().__enter__()
        self.started = time.perf_counter()
        self.sched = lock_trace.cpu_times()
        if self.outermost:
            lock_trace.sampler_begin()
        return db

    def __exit__(self, exc_type, exc, tb):
        try:
            return super().__exit__(exc_type, exc, tb)
        finally:
            if self.outermost:
                lock_trace.trace_hold(self.started, self.what, self.sched)


def observation_dict(row) -> dict:
    item = _as_dict(row)
    for key in ("facts", "concepts", "files_read", "files_modified"):
        item[key] = _loads_list(item.get(key))
    return item


def summary_dict(row) -> dict:
    item = _as_dict(row)
    for key in ("files_read", "files_edited"):
        item[key] = _loads_list(item.get(key))
    return item


def with_agents(db, items: list[dict]) -> list[dict]:
    """Sets ``agent`` (the coding agent whose session made it) on each item with a
    ``session_id``, in one look-up for all of them; returns ``items``."""
    ids = sorted({i["session_id"] for i in items if i.get("session_id") is not None})
    if not ids:
        return items
    agents = {}
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        chunk = ids[start:start + 500]
        agents.update((r[0], r[1]) for r in db.execute(
            f"SELECT id, agent FROM sessions WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    for item in items:
        if item.get("session_id") is not None:
            item["agent"] = agents.get(item["session_id"], "claude-code")
    return items
