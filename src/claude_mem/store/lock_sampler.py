"""What a write-lock holder waits for while it holds the lock (benches only).

Lock tracing (``store/db.py``, ``CLAUDE_MEM_LOCK_TRACE``) says how long each hold lasted and
how much of it was on a CPU; the rest was blocked, and this module says on what: the disk,
a page lock, or another thread of the same process holding Python's GIL.

Two sides:
- **Holders.** With ``CLAUDE_MEM_LOCK_STACKS`` set to a file path, a process that writes in
  bulk (the worker, ``forget``, ``import``: whoever makes a ``housekeeping_step`` or a
  ``wal_pace``) maps that file and, for each hold, writes into its own 32-byte slot which
  thread holds the lock since when (``begin``/``end``: a few struct packs, no system
  call). Each of its checkpoints outside the lock is appended to ``<path>.jsonl``
  (``note``), so a blocked hold can be set beside what ran before it.
- **The sampler**, a process of its own (``python -m claude_mem.store.lock_sampler
  <path>``, started by ``bench/lock_budget.py --stacks``): about every millisecond it reads
  the slots and samples each thread that has held the lock ``START_AFTER_MS`` or more: its
  scheduler state, kernel wait channel, system call and file, kernel stack
  (``/proc/<pid>/task/<tid>/{stat,wchan,syscall,stack}``; the stack needs root) and the
  data disk's writes in flight. A hold of ``KEEP_HOLDS_OVER_MS`` or more, or one seen in an
  uninterruptible wait (state D) at all, is appended to ``<path>.jsonl``: pid, end time,
  ms held, its samples grouped by what the holder was doing. A thread waiting for the GIL
  sleeps on a futex (``S futex_do_wait@futex``).

- **Any holder, hooks included**, asked of the kernel (``LockLook``): each round the sampler
  also asks which process holds SQLite's WAL write lock and its checkpoint lock (exclusive
  POSIX locks on bytes 120 and 121 of the ``-shm`` file) with ``fcntl(F_GETLK)`` on that
  file. A holder without a slot (a hook: it imports nothing for this) has its main thread
  sampled the same way; each span one process held either lock for ``SPAN_KEEP_MS`` or
  more (or was seen in state D) is appended with the process's command. So a hook's
  commit that is slow is told apart: holding the write lock, or past it, holding the
  checkpoint lock (SQLite's automatic checkpoint runs after the commit released the write
  lock).
- **Why not ``/proc/locks``** (round 10 read it): reading it takes
  the kernel's ``file_rwsem`` for writing (``locks_start``), and every POSIX lock call in
  every process (SQLite's ``fcntl`` on the ``-shm`` file, at each ``BEGIN`` and ``COMMIT``)
  takes it for reading (``posix_lock_inode``): a reader of ``/proc/locks`` once a
  millisecond made such calls wait, seen by this sampler as ``D percpu_rwsem_wait`` inside
  worker holds. Measured on the 2-core machine at load 5: a process locking and unlocking
  one byte every millisecond for 15 s, max 0.17-0.19 ms alone or beside a process asking
  ``F_GETLK`` every millisecond, **21-22 ms** (11 calls over 5 ms) beside a process reading
  ``/proc/locks`` every millisecond. ``F_GETLK`` takes only the file's own spin lock.
- **The lock bench's measure** (``watch_holders``, ``python -m claude_mem.store.lock_sampler
  --holders <-shm file> <out>``): only who holds the write lock (``LockLook``), each span and each run of
  holds back to back, written as JSON lines; a process of its own (at a real-time priority, ``_realtime``) so that its looks do not
  wait for the bench's GIL.

Being another process, the sampler needs neither the holder's GIL nor its CPU time (a
thread inside the holder would compete with the holder for both, and did). Never on the
hook path; never raises into a writer.
"""
from __future__ import annotations

import fcntl
import json
import mmap
import os
import struct
import sys
import threading
import time

SAMPLE_EVERY_S = 0.001
START_AFTER_MS = 2.0
KEEP_HOLDS_OVER_MS = 15.0
# Spans of one process holding the write lock (``LockLook``) kept from this long.
SPAN_KEEP_MS = 10.0
STACK_FRAMES = 12  # the innermost kernel frames kept per sample
SLOTS = 64
# pid, native thread id, hold number, start (CLOCK_MONOTONIC ns), ns held (0 while held)
_SLOT = struct.Struct("<IIQQQ")
_SLOT_SIZE = 32 + 8  # room for the struct (32 bytes) and padding to 40

_holder = None


def get(trace_path: str | None):
    """This process's holder side, opened on first use; None unless both variables are
    set (the lock trace's path, and ``CLAUDE_MEM_LOCK_STACKS``)."""
    global _holder
    path = os.environ.get("CLAUDE_MEM_LOCK_STACKS")
    if _holder is None and trace_path and path:
        try:
            _holder = Holder(path)
        except (OSError, ValueError):  # tracing must never break a writer
            return None
    return _holder


def current():
    """The process's holder side if one was opened (``get``), else None."""
    return _holder


def create(path: str) -> None:
    """The slots file, zeroed (the bench makes it before anything runs)."""
    with open(path, "wb") as fh:
        fh.write(b"\0" * (SLOTS * _SLOT_SIZE))


class Holder:
    def __init__(self, path: str):
        self.path = path
        fd = os.open(path, os.O_RDWR)
        try:
            self.map = mmap.mmap(fd, SLOTS * _SLOT_SIZE)
        finally:
            os.close(fd)
        self.offset = (os.getpid() % SLOTS) * _SLOT_SIZE
        self.number = 0
        self.began = 0

    def begin(self) -> None:
        self.number += 1
        self.began = time.monotonic_ns()
        _SLOT.pack_into(self.map, self.offset, os.getpid(), threading.get_native_id(),
                        self.number, self.began, 0)

    def end(self, held_ms: float, what: str) -> None:
        _SLOT.pack_into(self.map, self.offset, os.getpid(), threading.get_native_id(),
                        self.number, self.began, max(1, time.monotonic_ns() - self.began))

    def note(self, what: str, started: float, **fields) -> None:
        """One of this process's operations outside the lock (a checkpoint)."""
        _append(self.path + ".jsonl", {"pid": os.getpid(), "at": round(time.time(), 3),
                                       "note": what,
                                       "ms": round((time.perf_counter() - started) * 1000, 1),
                                       **fields})


def _append(path: str, record: dict) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(record) + "\n").encode())
        finally:
            os.close(fd)
    except (OSError, TypeError, ValueError):
        pass


# -- the sampler process --------------------------------------------------------------

def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("ascii", "replace")
    except OSError:
        return ""


def _frames(stack_text: str) -> str:
    """Kernel stack text as ``inner<outer`` function names, up to the system call entry."""
    names = []
    for line in stack_text.splitlines():
        name = line.split("] ", 1)[-1].split("+", 1)[0].strip()
        if not name or name.startswith(("entry_SYSCALL", "do_syscall")):
            break
        names.append(name)
        if len(names) >= STACK_FRAMES:
            break
    return "<".join(names)


_SYSCALLS = {"0": "read", "1": "write", "17": "pread64", "18": "pwrite64", "74": "fsync",
             "75": "fdatasync", "76": "truncate", "77": "ftruncate", "202": "futex",
             "230": "clock_nanosleep", "257": "openat", "3": "close", "9": "mmap",
             "10": "mprotect", "11": "munmap", "28": "madvise", "232": "epoll_wait",
             "23": "select", "7": "poll", "270": "pselect6"}
_ON_A_FILE = {"read", "write", "pread64", "pwrite64", "fsync", "fdatasync", "ftruncate"}


def _syscall(pid: int, base: str) -> str:
    """``@<system call>:<file>[+<4 KiB page>]`` the thread is in (x86-64 numbers), ``@fault``
    outside any (a page fault: SQLite maps the -shm file), or nothing where unknown."""
    fields = _read(base + "syscall").split()
    if not fields or fields[0] == "running":
        return ""
    if fields[0] == "-1":
        return "@fault"
    name = _SYSCALLS.get(fields[0], fields[0])
    if name not in _ON_A_FILE:
        return f"@{name}"
    try:
        target = os.path.basename(os.readlink(f"/proc/{pid}/fd/{int(fields[1], 16)}"))
    except (OSError, ValueError, IndexError):
        target = ""
    if name in ("pread64", "pwrite64") and len(fields) > 4:
        try:
            target += f"+{int(fields[4], 16) >> 12}p"
        except ValueError:
            pass
    return f"@{name}:{target}" if target else f"@{name}"


def _inflight_path(path: str) -> str | None:
    try:
        dev = os.stat(path).st_dev
        real = os.path.realpath(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
        for candidate in (real, os.path.dirname(real)):  # a partition's disk is its parent
            if os.path.exists(os.path.join(candidate, "inflight")):
                return os.path.join(candidate, "inflight")
    except OSError:
        pass
    return None


def sample(pid: int, tid: int) -> str:
    """What one thread is doing: ``R`` (on a CPU or waiting for one), else its state, wait
    channel, system call and innermost kernel frames."""
    base = f"/proc/{pid}/task/{tid}/"
    stat = _read(base + "stat")
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    if state == "R":
        return "R"
    wchan = _read(base + "wchan").strip() or "0"
    return f"{state} {wchan}{_syscall(pid, base)} {_frames(_read(base + 'stack'))}"


def _find_shm(data_dir: str) -> str | None:
    """The first ``*.db-shm`` under ``data_dir`` (the database's WAL index)."""
    for folder, _, names in os.walk(data_dir):
        for name in names:
            if name.endswith(".db-shm"):
                return os.path.join(folder, name)
    return None


# Linux's ``struct flock`` (x86-64, arm64): type, whence, start, length, pid, padding.
_FLOCK = struct.Struct("hhqqi4x")


class LockLook:
    """Which process holds SQLite's WAL write lock and its checkpoint lock: an exclusive POSIX
    lock on byte 120 (write) or 121 (checkpoint) of the ``-shm`` file (SQLite's unix VFS
    locks byte 120 + i of the WAL index for its lock i), asked with ``fcntl(F_GETLK)``,
    which takes no lock and no kernel-wide semaphore (see "Why not /proc/locks" above).

    The file is opened read-only and kept open; it is opened again when it was removed or
    made anew (looked at every ``RELOOK_S``). This process takes no lock on it, so closing
    it drops none (a POSIX lock belongs to the process and its file, not the descriptor)."""

    RELOOK_S = 0.2

    def __init__(self, shm: str):
        self.shm = shm
        self.fd: int | None = None
        self.inode = None
        self.next_look = 0.0
        # Round 10's way, kept to compare (``bench/lock_budget.py --proc-locks``): read
        # ``/proc/locks`` instead, which makes other processes' lock calls wait.
        self.proc_locks = os.environ.get("CLAUDE_MEM_LOCK_LOOK") == "proc-locks"

    def _ensure(self) -> int | None:
        now = time.monotonic()
        if self.fd is not None and now < self.next_look:
            return self.fd
        self.next_look = now + self.RELOOK_S
        try:
            inode = os.stat(self.shm).st_ino
        except OSError:
            inode = None
        if inode != self.inode or self.fd is None:
            self.close()
            if inode is not None:
                try:
                    self.fd = os.open(self.shm, os.O_RDONLY)
                    self.inode = os.fstat(self.fd).st_ino
                except OSError:
                    self.fd = None
        return self.fd

    def holder(self, byte: int) -> int | None:
        """The pid holding a lock on ``byte`` of the file, or None."""
        fd = self._ensure()
        if fd is None:
            return None
        if self.proc_locks:
            found = lock_holders(_read("/proc/locks"), self.inode)
            return next((found[name] for name, at in _LOCK_BYTES if at == byte and name in found),
                        None)
        try:
            asked = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, byte, 1, 0)
            kind, _, _, _, pid = _FLOCK.unpack(fcntl.fcntl(fd, fcntl.F_GETLK, asked))
        except (OSError, struct.error):
            return None
        return pid if kind != fcntl.F_UNLCK and pid > 0 else None

    def holders(self) -> dict[str, int]:
        """``{"write": pid, "checkpoint": pid}``, for the locks held now."""
        if self.proc_locks:
            return lock_holders(_read("/proc/locks"), self.inode) if self._ensure() else {}
        found = {}
        for name, byte in _LOCK_BYTES:
            pid = self.holder(byte)
            if pid is not None:
                found[name] = pid
        return found

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd, self.inode = None, None


def lock_holders(locks_text: str, inode: int | None) -> dict[str, int]:
    """The same from ``/proc/locks``'s text (``LockLook`` with ``CLAUDE_MEM_LOCK_LOOK`` set to
    ``proc-locks`` only: see "Why not /proc/locks")."""
    suffix = f":{inode}"
    found: dict[str, int] = {}
    for line in locks_text.splitlines():
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE <pid> <maj:min:inode> <start> <end>"
        if len(fields) >= 8 and fields[1] == "POSIX" and fields[3] == "WRITE" \
                and fields[5].endswith(suffix):
            try:
                start = int(fields[6])
                end = 1 << 62 if fields[7] == "EOF" else int(fields[7])
                for name, byte in _LOCK_BYTES:
                    if start <= byte <= end:
                        found[name] = int(fields[4])
            except ValueError:
                continue
    return found


_WRITE_BYTE = 120
_LOCK_BYTES = (("write", _WRITE_BYTE), ("checkpoint", 121))


def _command(pid: int) -> str:
    """A short name for a process: its last two arguments' base names."""
    words = _read(f"/proc/{pid}/cmdline").split("\0")
    words = [os.path.basename(w) for w in words if w][-2:]
    return " ".join(words)[:60]


def run(path: str, data_dir: str, stop: threading.Event | None = None) -> None:
    """The sampler's loop (see the module docstring), until ``stop`` is set or killed."""
    out = path + ".jsonl"
    inflight = _inflight_path(data_dir)
    fd = os.open(path, os.O_RDONLY)
    try:
        view = mmap.mmap(fd, SLOTS * _SLOT_SIZE, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    watching: dict[int, tuple] = {}  # slot -> (pid, tid, number, began, samples)
    # Per lock, its holder (``LockLook``: any process: hooks too, which have no
    # slot): [pid, first seen (ns), samples, wall time first seen, sampled by its slot]
    spans: dict[str, list | None] = {}
    commands: dict[int, str] = {}
    look, next_look = None, 0
    while stop is None or not stop.is_set():
        now = time.monotonic_ns()
        if look is None and now >= next_look:  # the -shm file appears with the database
            next_look = now + 200_000_000
            shm = _find_shm(data_dir)
            look = LockLook(shm) if shm else None
        slot_pids = set()
        for slot in range(SLOTS):
            pid, tid, number, began, held = _SLOT.unpack_from(view, slot * _SLOT_SIZE)
            seen = watching.get(slot)
            if seen is not None and (seen[2] != number or held):
                if seen[2] == number:
                    _finish(out, seen, held / 1e6)
                watching.pop(slot)
                seen = None
            if pid and not held:
                slot_pids.add(pid)
            if not pid or held or (now - began) < START_AFTER_MS * 1e6:
                continue
            if seen is None:
                seen = watching[slot] = (pid, tid, number, began, [])
            _sample_into(seen[4], (now - began) / 1e6, pid, tid, inflight)
        holders = look.holders() if look is not None else {}
        for name, _ in _LOCK_BYTES:
            holder, span = holders.get(name), spans.get(name)
            if span is not None and holder != span[0]:
                _finish_span(out, name, span, (now - span[1]) / 1e6, commands.get(span[0], ""))
                span = spans[name] = None
            if holder is None:
                continue
            if span is None:
                span = spans[name] = [holder, now, [], time.time(), False]
                if holder not in commands:  # read now: a hook may be gone when it ends
                    commands[holder] = _command(holder)
            if holder in slot_pids:
                span[4] = True  # a bulk writer's thread: its slot samples it
            elif (now - span[1]) >= START_AFTER_MS * 1e6 and not (
                    name == "checkpoint" and holders.get("write") == holder):
                # A process without a slot (a hook): its main thread.
                _sample_into(span[2], (now - span[1]) / 1e6, holder, holder, inflight)
        time.sleep(SAMPLE_EVERY_S)


def _sample_into(samples: list, at_ms: float, pid: int, tid: int, inflight: str | None) -> None:
    """Append one sample of thread ``tid`` of ``pid``: (ms into the hold, what it was doing,
    the disk's writes in flight then or -1); a thread gone meanwhile adds nothing."""
    try:
        doing = sample(pid, tid)
        flight = _read(inflight).split() if inflight else []
        samples.append((at_ms, doing, int(flight[1]) if len(flight) == 2 else -1))
    except (OSError, ValueError):
        pass


def _finish_span(out: str, lock: str, span: list, span_ms: float, command: str) -> None:
    """A span during which one process held the write (or checkpoint) lock, seen in
    ``LockLook``: kept when it lasted ``SPAN_KEEP_MS`` or more (with its samples, for a
    process without a slot), or when it was seen in an uninterruptible wait."""
    pid, _, samples, first_seen, by_slot = span
    if span_ms < SPAN_KEEP_MS and all(s[1][0] != "D" for s in samples):
        return
    record = {"lock": lock, "pid": pid, "span_ms": round(span_ms, 1), "from": round(first_seen, 3),
              "cmd": command, "by_slot": by_slot}
    if samples and not by_slot:
        record.update(_grouped((pid, pid, 0, 0, samples)))
    _append(out, record)


def _grouped(seen: tuple) -> dict:
    groups: dict[str, list] = {}
    for at, doing, flight in seen[4]:
        group = groups.setdefault(doing, [0, at, at, flight])
        group[0] += 1
        group[2] = at
        group[3] = max(group[3], flight)
    # per thing done: samples, first and last ms into the hold, most disk writes in flight
    # meanwhile, what (state, wait channel, call, stack)
    return {"tid": seen[1], "samples": len(seen[4]),
            "doing": sorted(([n, round(a, 1), round(b, 1), w, k]
                             for k, (n, a, b, w) in groups.items()), reverse=True)}


def _finish(out: str, seen: tuple, held_ms: float) -> None:
    samples = seen[4]
    if held_ms < KEEP_HOLDS_OVER_MS and all(s[1][0] != "D" for s in samples):
        return  # short, and never seen in an uninterruptible wait
    _append(out, {"pid": seen[0], "at": round(time.time(), 3), "held_ms": round(held_ms, 1),
                  **_grouped(seen)})


def watch_holders(shm: str, out: str, stop: threading.Event | None = None) -> None:
    """``bench/lock_budget.py``'s measure, as a process of its own (no GIL shared with the
    bench's threads): about every millisecond, who holds the write lock (``LockLook``),
    taking no lock. Appends JSON lines to ``out``: ``span`` [began (unix), ms, pid, the
    longest gap between looks inside it (ms), command] per hold of one process, ``chain``
    [began, ms, holders, longest gap] per span the lock stayed held by anyone, ``gap``
    [at, ms] per gap between looks over 5 ms, ``wal`` [at, bytes] when the WAL file's size
    changed. A span counts from the look that first saw it to the look that saw it gone."""
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def emit(kind: str, *values) -> None:
        os.write(fd, (json.dumps({kind: list(values)}) + "\n").encode())

    look = LockLook(shm)
    span, chain, last, wal = None, None, None, -1
    commands: dict[int, str] = {}
    try:
        while stop is None or not stop.is_set():
            now, wall = time.perf_counter(), time.time()
            gap = (now - last) * 1000 if last is not None else 0.0
            last = now
            if gap > 5.0:
                emit("gap", round(wall, 4), round(gap, 2))
            for open_span in (span, chain):
                if open_span is not None:
                    open_span[-1] = max(open_span[-1], gap)
            try:  # a stat: no descriptor, so no lock of this process is touched
                size = os.stat(shm[:-4] + "-wal").st_size
            except OSError:
                size = 0
            if size != wal:
                wal = size
                emit("wal", round(wall, 4), size)
            holder = look.holder(_WRITE_BYTE)
            if span is not None and holder != span[0]:
                emit("span", round(span[1], 4), round((now - span[2]) * 1000, 2), span[0],
                     round(span[3], 2), commands.get(span[0], ""))
                span = None
            if chain is not None and holder is None:
                emit("chain", round(chain[0], 4), round((now - chain[1]) * 1000, 2), chain[2],
                     round(chain[3], 2))
                chain = None
            if holder is not None and span is None:
                span = [holder, wall, now, 0.0]
                if holder not in commands:
                    commands[holder] = _command(holder)
                if chain is None:
                    chain = [wall, now, 0, 0.0]
                chain[2] += 1
            time.sleep(SAMPLE_EVERY_S)
    finally:
        look.close()
        os.close(fd)


def _realtime() -> None:
    """The sampler and the watcher look on time: a real-time priority (``SCHED_FIFO``, root
    only; else as it was). On a loaded machine a sampler at a normal priority went without
    a look for up to ~80 ms, right inside the holds it was there to see, and the watcher's
    late looks (up to 41 ms apart) joined two holds into one span over the budget. Both
    sleep between looks, and the kernel keeps real-time tasks to 95 % of a CPU; each look
    preempts whoever runs on its CPU for its fraction of a millisecond (the watcher's, an
    ``F_GETLK`` and a ``stat``: tens of microseconds), the holder included (benches only)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (AttributeError, OSError):
        pass


if __name__ == "__main__":
    try:
        if len(sys.argv) == 4 and sys.argv[1] == "--holders":
            _realtime()
            watch_holders(sys.argv[2], sys.argv[3])
        elif len(sys.argv) == 3:
            _realtime()
            run(sys.argv[1], sys.argv[2])
        else:
            raise SystemExit("usage: python -m claude_mem.store.lock_sampler <slots file> <data dir>"
                             " | --holders <db-shm file> <out file>")
    except KeyboardInterrupt:
        pass
