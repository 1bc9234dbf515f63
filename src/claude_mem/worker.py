"""The worker: one per user, drains the durable queue into observations and summaries.

Contract:
- Runs only while it holds the worker lock (``flock`` on ``worker.lock``, inherited from
  the hook that started it or taken here); a second worker exits at once. While holding
  the lock any leftover socket file is stale by definition and is replaced.
- Listens on ``<data dir>/worker.sock`` (data dir 0700) for one-line JSON commands:
  ``wake``, ``ping``, ``status``, ``stop``. Writes ``worker.pid``; removes both on exit.
- Drains ``pending`` oldest first, per session in order. A row is deleted only in the same
  transaction that stores what was made from it (at-least-once); observations carry a
  content hash so a redelivered event is stored once. Each attempt is counted before the
  work starts; a row that keeps failing is parked, never dropped.
- Watchdogs: a session silent for ``session_silence_seconds`` is summarized from what it
  has and closed (no SessionEnd ever came: Ctrl-C, crash); the worker exits after
  ``worker_idle_seconds`` with nothing to do.
- The compressor runs outside any transaction, so slow LLM calls never hold the write lock.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import sys
import threading
import time

from claude_mem import config, log, project
from claude_mem.compress import SessionContext, make_compressor
from claude_mem.events import (BadEvent, SessionEnd, SessionStart, Stop, ToolEvent, UserPrompt,
                               parse_event)
from claude_mem.store import Store


def content_hash(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()[:40]


class Worker:
    def __init__(self, settings=None):
        self.settings = settings or config.load()
        self.store = Store(config.db_path(), busy_timeout_ms=15000)
        self.compressor = make_compressor(self.settings, self.store)
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.started_at = time.time()
        self.last_work_at = time.monotonic()
        self.processed = 0
        self.server: socket.socket | None = None

    # -- control socket ----------------------------------------------------------------

    def listen(self) -> None:
        path = config.socket_path()
        try:
            os.unlink(path)  # we hold the lock: any socket file here is a dead worker's
        except FileNotFoundError:
            pass
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        os.chdir(os.path.dirname(path))  # relative bind: no 107-byte path limit
        server.bind(os.path.basename(path))
        os.chmod(path, 0o600)
        server.listen(64)
        server.settimeout(0.5)
        self.server = server
        threading.Thread(target=self._serve, name="control", daemon=True).start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        import json

        try:
            conn.settimeout(2.0)
            data = b""
            while not data.endswith(b"\n") and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            try:
                command = json.loads(data or b"{}").get("cmd", "")
            except (ValueError, AttributeError):
                command = ""
            reply: dict = {"ok": True}
            if command == "wake":
                self.wakeup.set()
                return  # hooks do not wait for an answer
            if command in ("ping", "status"):
                reply.update(self.describe())
            elif command == "stop":
                reply["stopping"] = True
                self.stopping.set()
                self.wakeup.set()
            else:
                reply = {"ok": False, "error": f"unknown command {command!r}"}
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass
        finally:
            conn.close()

    def describe(self) -> dict:
        return {"pid": os.getpid(), "started_at": self.started_at, "processed": self.processed,
                "compressor": getattr(self.compressor, "name", "?"),
                "idle_seconds": round(time.monotonic() - self.last_work_at, 1)}

    # -- the main loop -------------------------------------------------------------------

    def run(self) -> None:
        self.listen()
        log.info(f"worker started (compressor {self.compressor.name})")
        self.expire_old_sessions()
        while not self.stopping.is_set():
            try:
                did = self.drain()
                if not did:
                    did = self.finalize_silent_sessions()
            except Exception as exc:  # keep serving; the rows stay queued for a retry
                import traceback

                log.error(f"worker loop error: {exc!r}\n{traceback.format_exc()}")
                did = False
                self.stopping.wait(1.0)
            if did:
                self.last_work_at = time.monotonic()
                continue
            if not os.path.exists(config.db_path()):
                log.info("the database is gone (data dir removed?), exiting")
                break
            idle = time.monotonic() - self.last_work_at
            if idle >= float(self.settings.worker_idle_seconds):
                log.info(f"worker idle for {idle:.0f}s, exiting")
                break
            wait = min(float(self.settings.worker_poll_seconds),
                       max(0.05, float(self.settings.worker_idle_seconds) - idle),
                       max(0.05, float(self.settings.session_silence_seconds) / 2))
            self.wakeup.wait(wait)
            self.wakeup.clear()

    def close(self) -> None:
        self.stopping.set()
        if self.server is not None:
            try:
                self.server.close()
            except OSError:
                pass
        for path in (config.socket_path(),):
            try:
                os.unlink(path)
            except OSError:
                pass
        try:
            from claude_mem.control import read_pid

            if read_pid() == os.getpid():
                os.unlink(config.pid_path())
        except OSError:
            pass
        try:
            self.compressor.close()
        except Exception as exc:
            log.warning(f"compressor close failed: {exc!r}")
        self.store.close()
        log.info(f"worker stopped after {self.processed} events")

    # -- draining ------------------------------------------------------------------------

    def import_spool(self) -> int:
        folder = os.path.join(config.data_dir(), "spool")
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
        except FileNotFoundError:
            return 0
        for name in names:
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="utf-8") as fh:
                    first, _, payload = fh.read().partition("\n")
                event = name.rsplit(".", 2)[-2]
                with self.store.write():
                    self.store.enqueue(event, payload, float(first))
                os.unlink(path)
            except (OSError, ValueError) as exc:
                log.error(f"spool file {name}: {exc!r}")
        return len(names)

    def drain(self, limit: int = 200) -> bool:
        """Process what is queued; True if anything was done."""
        self.import_spool()
        rows = self.store.pending_batch(limit)
        if not rows:
            return False
        blocked: set[str] = set()
        i = 0
        while i < len(rows) and not self.stopping.is_set():
            row = rows[i]
            try:
                event = parse_event(row["event"], row["payload"])
            except BadEvent as exc:
                log.warning(f"queue row {row['id']} parked: {exc}")
                self.store.park(row["id"], str(exc))
                i += 1
                continue
            group = [(row, event)]
            i += 1
            if isinstance(event, ToolEvent):
                size = int(self.settings.llm_batch_size)
                while i < len(rows) and len(group) < size:
                    try:
                        nxt = parse_event(rows[i]["event"], rows[i]["payload"])
                    except BadEvent:
                        break
                    if not (isinstance(nxt, ToolEvent) and nxt.session_id == event.session_id
                            and nxt.prompt_id == event.prompt_id):
                        break
                    group.append((rows[i], nxt))
                    i += 1
            if event.session_id in blocked:
                continue
            ids = [r["id"] for r, _ in group]
            if any(r["attempts"] >= int(self.settings.max_attempts) for r, _ in group):
                for r, _ in group:
                    self.store.park(r["id"], f"gave up after {r['attempts']} attempts: {r['last_error']}")
                log.error(f"parked queue rows {ids} after repeated failures")
                continue
            self.store.mark_attempt(ids)
            try:
                self.handle(event, group)
                self.processed += len(group)
            except Exception as exc:
                import traceback

                log.error(f"rows {ids} ({type(event).__name__}) failed: {exc!r}\n"
                          f"{traceback.format_exc()}")
                for r, _ in group:
                    self.store.record_failure(r["id"], repr(exc))
                blocked.add(event.session_id)  # keep this session's order: retry later
        return True

    def handle(self, event, group) -> None:
        ids = [r["id"] for r, _ in group]
        at = group[-1][0]["received_at"]
        cwd = event.cwd
        if project.is_excluded(cwd, self.settings.exclude_projects):
            with self.store.write():
                self.store.delete_pending(ids)
            return
        name = project.project_name(cwd) if cwd else "unknown"
        if isinstance(event, SessionStart):
            with self.store.write():
                self.store.open_session(event.session_id, name, cwd, at,
                                        new_run=event.source == "resume")
                self.store.delete_pending(ids)
        elif isinstance(event, UserPrompt):
            with self.store.write():
                session = self.store.open_session(event.session_id, name, cwd, at)
                self.store.add_prompt(session["id"], event.prompt_id or None, event.prompt, at)
                self.store.delete_pending(ids)
        elif isinstance(event, ToolEvent):
            self.handle_tools(event, group, name, at)
        elif isinstance(event, Stop):
            self.handle_stop(event, name, at, ids)
        elif isinstance(event, SessionEnd):
            self.handle_end(event, name, at, ids)

    def context_for(self, session, prompt_number: int) -> SessionContext:
        prompt = self.store.prompt(session["id"], prompt_number) if prompt_number else None
        return SessionContext(
            session_id=session["id"], claude_session_id=session["claude_session_id"],
            project=session["project"], cwd=session["cwd"], prompt_number=prompt_number,
            request=prompt["prompt"] if prompt else "",
            earlier=tuple(self.store.observations_for_prompt(session["id"], prompt_number)),
        )

    def _session(self, event, name: str, at: float):
        session = self.store.session_by_claude_id(event.session_id)
        if session is None:
            with self.store.write():
                session = self.store.open_session(event.session_id, name, event.cwd, at)
        return session

    def handle_tools(self, event: ToolEvent, group, name: str, at: float) -> None:
        session = self._session(event, name, at)
        prompt_number = self.store.prompt_number_for(session["id"], event.prompt_id or None)
        ctx = self.context_for(session, prompt_number)
        produced = self.compressor.observe(ctx, [e for _, e in group])
        # One hash per source event (its tool_use_id) and position, so a redelivered
        # event maps onto the rows it already made.
        batch_key = content_hash(*(r["payload"] for r, _ in group))
        seen: dict[str, int] = {}
        with self.store.write():
            session = self.store.open_session(event.session_id, name, event.cwd, at)
            for obs in produced.observations:
                key = obs.tool_use_id or batch_key
                position = seen.get(key, 0)
                seen[key] = position + 1
                self.store.add_observation(session["id"], session["project"], prompt_number, obs,
                                           content_hash(event.session_id, key, position),
                                           produced.generated_by, at)
            self.store.delete_pending([r["id"] for r, _ in group])

    def summarize_prompt(self, session, prompt_number: int, last_message: str) -> tuple:
        ctx = self.context_for(session, prompt_number)
        produced = self.compressor.summarize(ctx, last_message, list(ctx.earlier))
        return produced.summary, produced.generated_by

    def handle_stop(self, event: Stop, name: str, at: float, ids) -> None:
        session = self._session(event, name, at)
        prompt_number = self.store.prompt_number_for(session["id"], event.prompt_id or None)
        summary = generated_by = None
        if prompt_number or event.last_assistant_message:
            summary, generated_by = self.summarize_prompt(session, prompt_number,
                                                          event.last_assistant_message)
        with self.store.write():
            self.store.touch_session(session["id"], at)
            if summary is not None:
                self.store.upsert_summary(session["id"], session["project"], prompt_number,
                                          summary, generated_by, at)
            self.store.delete_pending(ids)

    def finalize(self, session, reason: str, at: float, ids=()) -> None:
        """Summarize what has no summary yet and close the session run."""
        made = []
        for prompt_number in self.store.unsummarized_prompts(session["id"]):
            summary, generated_by = self.summarize_prompt(session, prompt_number, "")
            if summary is not None:
                made.append((prompt_number, summary, generated_by))
        try:
            self.compressor.finalize(self.context_for(session, 0), reason)
        except Exception as exc:
            log.warning(f"compressor finalize failed: {exc!r}")
        with self.store.write():
            for prompt_number, summary, generated_by in made:
                self.store.upsert_summary(session["id"], session["project"], prompt_number,
                                          summary, generated_by, at)
            self.store.complete_session(session["id"], reason, at)
            self.store.delete_pending(ids)

    def handle_end(self, event: SessionEnd, name: str, at: float, ids) -> None:
        session = self._session(event, name, at)
        self.finalize(session, event.reason, at, ids)

    # -- watchdogs -----------------------------------------------------------------------

    def finalize_silent_sessions(self) -> bool:
        cutoff = time.time() - float(self.settings.session_silence_seconds)
        did = False
        for session in self.store.silent_sessions(cutoff):
            if self.stopping.is_set():
                break
            log.info(f"session {session['claude_session_id']} silent since "
                     f"{time.ctime(session['last_activity_at'])}: summarizing and closing")
            self.finalize(session, "silence", time.time())
            did = True
        return did

    def expire_old_sessions(self) -> None:
        cutoff = time.time() - float(self.settings.session_max_age_hours) * 3600
        expired = self.store.expire_sessions(cutoff)
        if expired:
            log.info(f"expired {len(expired)} sessions left active since before {time.ctime(cutoff)}")


def _take_lock() -> int | None:
    """The lock fd handed down by the starter, or one taken here; None if another worker runs."""
    import fcntl

    inherited = os.environ.pop("CLAUDE_MEM_LOCK_FD", None)
    if inherited:
        try:
            fd = int(inherited)
            os.set_inheritable(fd, False)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # already ours: a no-op check
            return fd
        except (ValueError, OSError):
            pass
    fd = os.open(config.lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def main() -> int:
    os.umask(0o077)
    config.ensure_data_dir()
    fd = _take_lock()
    if fd is None:
        return 0  # another worker holds the lock: it will drain the queue
    settings = config.load()
    for problem in settings.problems:
        log.warning(problem)
    with open(config.pid_path(), "w") as fh:
        fh.write(str(os.getpid()))
    delay = float(settings.worker_start_delay_seconds)
    if delay > 0:
        time.sleep(delay)
    worker = Worker(settings)
    signal.signal(signal.SIGTERM, lambda *_: (worker.stopping.set(), worker.wakeup.set()))
    signal.signal(signal.SIGINT, lambda *_: (worker.stopping.set(), worker.wakeup.set()))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        worker.run()
    except Exception as exc:
        import traceback

        log.error(f"worker crashed: {exc!r}\n{traceback.format_exc()}")
    finally:
        worker.close()
    # The lock fd stays open on purpose: the kernel drops the lock when this process is
    # gone, so "lock free" really means "no worker process" to whoever checks.
    return 0


if __name__ == "__main__":
    sys.exit(main())
