"""One team sync, and the worker's thread that runs it.

Contract:
- ``sync_once(store, settings)`` pushes tombstones (``forget``/``unshare``: our rows on the
  server become tombstones), then the outbox, to PostgreSQL in batches (each batch
  one server transaction, then dropped locally) and pulls, per shared
  project, what other machines pushed since the project's cursor (each batch stored
  locally together with the new cursor). A crash anywhere repeats at most one batch,
  and repeating changes nothing (unique ids, ``ON CONFLICT``). A pulled tombstone deletes
  our copy of a teammate's row. Returns what moved (``buried``: tombstones pushed,
  ``removed``: teammates' tombstones applied).
- At most one sync runs per data dir at a time (``sync_lock``: an ``flock`` on
  ``team-sync.lock``); ``claude-mem team sync`` waits for it, the worker's thread skips
  a turn when it is taken.
- ``SyncThread`` runs in the worker, never on the hook path: once at start, shortly after
  the worker stored something (``poke``), and every ``team_sync_seconds``. A failure
  (server down, refused, slow) backs off — ``team_backoff_seconds`` (5) doubling up to 5
  minutes — and is logged
  once per streak with the URL's password masked; the worker's draining never waits on it.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

from claude_mem import config, log
from claude_mem.store.postgres import SCHEMA_VERSION, TeamDatabase, TeamDatabaseError
from claude_mem.dburl import mask_error

_MAX_BACKOFF = 300.0


def member_name(settings) -> str:
    """``team_member``, else git's ``user.name``, else the login name."""
    if str(settings.team_member or "").strip():
        return str(settings.team_member).strip()
    import subprocess

    try:
        done = subprocess.run(["git", "config", "--global", "user.name"], capture_output=True,
                              text=True, timeout=5)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def machine_name() -> str:
    return socket.gethostname() or "unknown"


def lock_path() -> str:
    return os.path.join(config.data_dir(), "team-sync.lock")


@contextlib.contextmanager
def sync_lock(wait: float = 0.0):
    """Yields True while this process holds the data dir's sync lock, False if it could not."""
    import fcntl

    config.ensure_data_dir()
    fd = os.open(lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        yield True
    finally:
        os.close(fd)


def sync_once(store, settings, *, team=None) -> dict:
    """Push the outbox, pull teammates' rows; raises TeamDatabaseError when the server fails.

    ``team`` is the ``TeamStore`` over ``store`` to use (made here when not given).
    """
    from claude_mem.store.team import TeamStore

    batch = max(1, int(settings.team_sync_batch))
    url = str(settings.team_database_url or "")
    if not url:
        raise TeamDatabaseError("team_database_url is not set "
                                "(claude-mem config set team_database_url postgresql://…)")
    team = team or TeamStore(store)
    projects = team.shared_projects()
    result: dict = {"started_at": time.time(), "pushed": 0, "pushed_new": 0, "pulled": 0,
                    "buried": 0, "removed": 0,
                    "pulled_from": {}, "projects": [p["name"] for p in projects],
                    "push_seconds": 0.0, "pull_seconds": 0.0}
    if not projects and not team.outbox_depth() and not team.tombstone_depth():
        result["note"] = "no shared projects (run `claude-mem team share` in one)"
        return _finish(team, result)
    machine = team.machine_id()
    author, host = member_name(settings), machine_name()
    try:
        with TeamDatabase.open(url, connect_timeout=float(settings.team_connect_timeout_seconds)) as pg:
            who = pg.whoami()
            if not who["team"]:
                raise TeamDatabaseError(
                    f"role {who['role']!r} is in no team (an administrator runs "
                    f"`claude-mem team add-member {who['role']} --team NAME`)")
            if (who["schema_version"] or 0) < SCHEMA_VERSION:
                raise TeamDatabaseError(
                    f"the team database has schema v{who['schema_version']}, this claude-mem "
                    f"needs v{SCHEMA_VERSION}: an administrator runs `claude-mem team init-db`")
            result["role"], result["team"] = who["role"], who["team"]
            phase = time.perf_counter()
            # Tombstones first: a forgotten row's local id may already carry a new row,
            # whose push below must find the old one buried, not alive.
            while True:
                entries, tombstones = team.tombstone_batch(batch, machine_id=machine,
                                                           author=author, machine_name=host)
                if not entries:
                    break
                pg.bury(tombstones)
                team.tombstones_done(entries)
                result["buried"] += len(tombstones)
            while True:
                entries, records = team.outbox_batch(batch, machine_id=machine, author=author,
                                                     machine_name=host)
                if not entries:
                    break
                result["pushed_new"] += pg.push(records)
                team.outbox_done(entries)
                result["pushed"] += len(records)
            result["push_seconds"] = time.perf_counter() - phase
            phase = time.perf_counter()
            for project in projects:
                key = project["project_key"]
                while True:
                    after_tx, after_uid = team.cursor(key)
                    rows = pg.pull(key, after_tx, after_uid, exclude_machine=machine, limit=batch)
                    if not rows:
                        break
                    stored = team.apply_pulled(key, rows)
                    result["pulled"] += stored
                    for row in rows:
                        if row["kind"] == "tombstone":
                            result["removed"] += row["body"] is not None
                        elif row["body"] is not None:
                            who_name = row["author"] or row["member"]
                            result["pulled_from"][who_name] = result["pulled_from"].get(who_name, 0) + 1
                    if len(rows) < batch:
                        break
            result["pull_seconds"] = time.perf_counter() - phase
    except Exception as exc:
        if not isinstance(exc, TeamDatabaseError):
            exc = TeamDatabaseError(f"sync failed: {mask_error(exc, url)}")
        result["error"] = str(exc)
        _finish(team, result)
        raise exc from None
    return _finish(team, result)


def _finish(team, result: dict) -> dict:
    result["finished_at"] = time.time()
    result["outbox"] = team.outbox_depth()
    try:
        values = {"last_sync": result}
        if "error" not in result:
            values["last_success_at"] = result["finished_at"]
        team.set_state(**values)
    except Exception as exc:  # the outcome is a report, not memory: never fail a sync over it
        log.warning(f"team: could not record the sync outcome ({exc!r})")
    return result


class SyncThread:
    """The worker's background sync: at start, after stores, on a timer, backing off on failure."""

    def __init__(self, settings):
        self.settings = settings
        self.poked = threading.Event()
        self.stopping = threading.Event()
        self.failures = 0
        self.thread = threading.Thread(target=self._run, name="team-sync", daemon=True)

    @classmethod
    def start_for(cls, settings) -> "SyncThread | None":
        """A running sync thread, or None when team memory is not configured."""
        if not str(getattr(settings, "team_database_url", "") or ""):
            return None
        syncer = cls(settings)
        syncer.thread.start()
        return syncer

    def poke(self) -> None:
        self.poked.set()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.poked.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        from claude_mem.store import open_store

        try:
            store = open_store(busy_timeout_ms=15000)
        except Exception as exc:
            log.error(f"team sync: cannot open the local store ({exc!r}); not syncing")
            return
        interval = max(1.0, float(self.settings.team_sync_seconds))
        next_at = time.monotonic()  # a first sync right away
        try:
            while not self.stopping.is_set():
                wait = max(0.0, next_at - time.monotonic())
                if self.poked.wait(wait) and not self.failures:
                    # Stored something: sync soon, after letting a burst of stores finish.
                    self.stopping.wait(0.5)
                    next_at = min(next_at, time.monotonic())
                self.poked.clear()
                if self.stopping.is_set():
                    break
                if time.monotonic() < next_at:
                    continue  # a poke during a backoff waits for it
                next_at = time.monotonic() + self._turn(store, interval)
        finally:
            store.close()

    def _turn(self, store, interval: float) -> float:
        """One sync attempt; returns the pause before the next one."""
        try:
            with sync_lock() as held:
                if not held:
                    return interval  # `claude-mem team sync` is at it right now
                result = sync_once(store, self.settings)
        except Exception as exc:
            self.failures += 1
            base = max(0.1, float(self.settings.team_backoff_seconds))
            pause = min(_MAX_BACKOFF, base * 2 ** (self.failures - 1))
            if self.failures == 1 or pause >= _MAX_BACKOFF:
                log.warning(f"team sync failed ({mask_error(exc, self.settings.team_database_url)});"
                            f" retrying in {pause:.0f}s, memory stays local meanwhile")
            return pause
        if self.failures:
            log.info(f"team sync works again after {self.failures} failure(s)")
        self.failures = 0
        if result.get("pushed") or result.get("pulled"):
            log.info(f"team sync: pushed {result['pushed']}, pulled {result['pulled']}")
        return interval
