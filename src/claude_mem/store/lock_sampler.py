"""What a write-lock holder waits for in the kernel while it holds the lock (benches only).

Lock tracing (``store/db.py``, ``CLAUDE_MEM_LOCK_TRACE``) says how long each hold lasted and
how much of it was on a CPU; the rest was blocked, and this module says on what. With
``CLAUDE_MEM_LOCK_STACKS`` also set, a process that writes in bulk (the worker, ``forget``,
``import``: whoever makes a ``housekeeping_step`` or a ``wal_pace``) starts one daemon
thread. While one of its threads holds the write lock, that thread samples the holder
about every millisecond (from ``START_AFTER_MS`` into the hold): its scheduler state, its
kernel wait channel and kernel stack (``/proc/self/task/<tid>/{stat,wchan,stack}``; the
stack needs root, elsewhere it is left out) and how many writes the data's disk has in
flight (``/sys/block/<disk>/inflight``). A hold of ``KEEP_HOLDS_OVER_MS`` or more, or
one seen in an uninterruptible wait (state D: the disk, a page lock) at all, is appended to ``<trace>.stacks`` as one JSON line: pid, time, ms held, what held it, and its
samples grouped by what the holder was doing (count, first and last ms into the hold).
Also appended there (``note``): each of the process's own checkpoints and file syncs made
outside the lock, with their time, so a blocked hold can be set beside what ran before it.

Sampling needs the GIL: SQLite's Python driver releases it while a statement runs, so a
holder blocked in the kernel is sampled on time; one busy in Python is sampled late (every
switch interval). ``bench/lock_budget.py --stacks`` sets the variable and prints what the
longest holds waited on. Never on the hook path (hooks never start it). Never raises.
"""
from __future__ import annotations

import json
import os
import threading
import time

SAMPLE_EVERY_S = 0.001
START_AFTER_MS = 2.0
KEEP_HOLDS_OVER_MS = 15.0
STACK_FRAMES = 12  # the innermost kernel frames kept per sample

_sampler = None


def get(trace_path: str | None, data_path: str):
    """This process's sampler, started on first use; None unless both variables are set."""
    global _sampler
    if _sampler is None and trace_path and os.environ.get("CLAUDE_MEM_LOCK_STACKS"):
        try:
            _sampler = HoldSampler(trace_path + ".stacks", data_path)
        except Exception:  # noqa: BLE001 - tracing must never break a writer
            return None
    return _sampler


def current():
    """The process's sampler if one was started (``get``), else None."""
    return _sampler


def _disk_inflight_path(path: str) -> str | None:
    try:
        dev = os.stat(path).st_dev
        real = os.path.realpath(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
        for candidate in (real, os.path.dirname(real)):  # a partition's disk is its parent
            if os.path.exists(os.path.join(candidate, "inflight")):
                return os.path.join(candidate, "inflight")
    except OSError:
        pass
    return None


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("ascii", "replace")
    except OSError:
        return ""


_SYSCALLS = {"0": "read", "1": "write", "17": "pread64", "18": "pwrite64", "74": "fsync",
             "75": "fdatasync", "76": "truncate", "77": "ftruncate", "202": "futex",
             "230": "clock_nanosleep", "257": "openat", "3": "close", "9": "mmap",
             "10": "mprotect", "11": "munmap", "28": "madvise", "232": "epoll_wait"}

_ON_A_FILE = {"read", "write", "pread64", "pwrite64", "fsync", "fdatasync", "ftruncate"}


def _syscall(base: str) -> str:
    """``@<system call>:<file>`` the thread is in (x86-64 numbers; the file its first
    argument names, when that is a descriptor), or ``@fault`` outside any (a page fault:
    the -shm file is mapped), or nothing where unknown."""
    fields = _read(base + "syscall").split()
    if not fields or fields[0] == "running":
        return ""
    if fields[0] == "-1":
        return "@fault"
    name = _SYSCALLS.get(fields[0], fields[0])
    if name not in _ON_A_FILE:
        return f"@{name}"
    try:
        target = os.path.basename(os.readlink(f"/proc/self/fd/{int(fields[1], 16)}"))
    except (OSError, ValueError, IndexError):
        target = ""
    if name in ("pread64", "pwrite64") and len(fields) > 4:
        try:
            target += f"+{int(fields[4], 16) >> 12}p"  # the offset, in 4 KiB pages
        except ValueError:
            pass
    return f"@{name}:{target}" if target else f"@{name}"


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


class HoldSampler:
    def __init__(self, out_path: str, data_path: str):
        self.out_path = out_path
        self.inflight_path = _disk_inflight_path(os.path.dirname(os.path.abspath(data_path)) or ".")
        self.hold = None  # (generation, native thread id, perf_counter at begin)
        self.generation = 0
        # (generation, ms into the hold, what the holder was doing, disk writes in flight)
        self.samples: list[tuple[int, float, str, int]] = []
        self.wake = threading.Event()
        threading.Thread(target=self._run, daemon=True, name="lock-sampler").start()

    def begin(self) -> None:
        self.generation += 1
        self.hold = (self.generation, threading.get_native_id(), time.perf_counter())
        self.wake.set()

    def end(self, held_ms: float, what: str) -> None:
        hold, self.hold = self.hold, None
        self.wake.clear()
        if hold is None or hold[1] != threading.get_native_id():
            return
        samples = [s for s in self.samples if s[0] == hold[0]]
        self.samples = []
        if held_ms < KEEP_HOLDS_OVER_MS and all(s[2][0] != "D" for s in samples):
            return  # short, and never seen blocked in the kernel (D: uninterruptible wait)
        groups: dict[str, list] = {}
        for _, at, doing, inflight in samples:
            group = groups.setdefault(doing, [0, at, at, inflight])
            group[0] += 1
            group[2] = at
            group[3] = max(group[3], inflight)
        self._append({"pid": os.getpid(), "at": round(time.time(), 3), "held_ms": round(held_ms, 1),
                      "what": what, "samples": len(samples),
                      # per thing done: samples, first and last ms into the hold, most disk
                      # writes in flight meanwhile, what (state, wait channel, kernel stack)
                      "doing": sorted(([n, round(a, 1), round(b, 1), w, k]
                                       for k, (n, a, b, w) in groups.items()), reverse=True)})

    def note(self, what: str, started: float, **fields) -> None:
        """One of this process's operations outside the lock (a checkpoint, a sync)."""
        self._append({"pid": os.getpid(), "at": round(time.time(), 3), "note": what,
                      "ms": round((time.perf_counter() - started) * 1000, 1), **fields})

    def _append(self, record: dict) -> None:
        try:
            fd = os.open(self.out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(record) + "\n").encode())
            finally:
                os.close(fd)
        except (OSError, TypeError, ValueError):
            pass

    def _sample(self, tid: int) -> str:
        base = f"/proc/self/task/{tid}/"
        stat = _read(base + "stat")
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        if state == "R":
            return "R"
        wchan = _read(base + "wchan").strip() or "0"
        frames = _frames(_read(base + "stack"))
        return f"{state} {wchan}{_syscall(base)} {frames}"

    def _inflight(self) -> int:
        fields = _read(self.inflight_path).split() if self.inflight_path else []
        return int(fields[1]) if len(fields) == 2 else -1

    def _run(self) -> None:
        while True:
            self.wake.wait()
            hold = self.hold
            if hold is None:
                continue
            generation, tid, began = hold
            while self.hold is hold:
                now_ms = (time.perf_counter() - began) * 1000
                if now_ms >= START_AFTER_MS:
                    try:
                        self.samples.append((generation, now_ms, self._sample(tid),
                                             self._inflight()))
                    except Exception:  # noqa: BLE001
                        pass
                time.sleep(SAMPLE_EVERY_S)
