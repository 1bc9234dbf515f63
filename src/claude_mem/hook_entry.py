"""Script run by Claude Code for each hook: ``<python> -I -S <this file> [--background] <event>``.

Kept tiny on purpose: a script is compiled on every run while imported modules come
from cached bytecode, and ``-S`` skips site-packages processing (several milliseconds).
It puts the package's parent folder on ``sys.path`` itself and hands over to
``claude_mem.hooks.main``, which never raises and always exits 0.

The moment the process started is the event's time (``received_at``), taken before
anything else: a hook run in the background may commit after a later hook of the same
session, and the worker orders the queue by that time, not by when a row was committed.

``--background`` (what ``install`` writes for the capture hooks, see ``hook_events``): the
hook leaves Claude Code's process tree before it does its work. The process forks, the
child calls ``setsid`` and forks again, and the first process exits at once; the grandchild
reads stdin, stores the event and exits, with stdout and stderr on ``/dev/null``. Why
(measured with Claude Code 2.1.332, docs/architecture.md "Capture in the background"):
- Claude Code waits for a hook only until its process exits, so a synchronous hook costs
  it just an interpreter start;
- at the end of ``claude -p`` it sends SIGTERM to the tree of every async hook still
  running, and SIGKILL about a second later. The command ``install`` writes starts with
  ``trap '' HUP TERM; exec``, so the interpreter starts with SIGTERM ignored (an ignored
  signal stays ignored across ``exec``), and the detached grandchild is no longer in the
  tree the SIGKILL reaches;
- an async hook still running at that point also makes ``claude -p`` wait about a second
  longer before it exits; a hook that left early is not waited for.
Where ``fork`` does not exist (Windows) or fails, the hook does its work in the foreground.

It leaves with ``os._exit`` once stdout and stderr are flushed: tearing the interpreter
down (every module, the sqlite3 core) costs a hook ~2 ms and nothing is left to do by
then: log lines are unbuffered writes, and a committed row is durable whether or not its
connection was closed (so ``hooks.main(leaving=True)`` does not close them either, see
``hooks._close``). Measured in bench/hook_latency.py.

The cyclic garbage collector is off for the hook's short life: importing the modules a hook
needs allocates enough to run it dozens of times (~0.3-0.5 ms a hook), and nothing a hook
makes in that time is worth collecting before ``os._exit`` (reference counting still frees
everything that is not a cycle). ``gc`` and ``time`` are built into the interpreter: no
import cost.
"""
import gc
import time

STARTED_AT = time.time()
gc.disable()

import os  # noqa: E402 - after the collector is off
import sys  # noqa: E402


def _leave_the_tree() -> None:
    """Go on in a grandchild outside Claude Code's process tree; the caller's process exits."""
    try:
        if os.fork():
            os._exit(0)
        os.setsid()
        if os.fork():
            os._exit(0)
    except (AttributeError, OSError):  # no fork here, or no room for a process: stay
        return
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 1)
        os.dup2(null, 2)
        if null > 2:
            os.close(null)
    except OSError:
        pass


if len(sys.argv) > 1 and sys.argv[1] == "--background":
    del sys.argv[1]
    _leave_the_tree()

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
try:
    from claude_mem import hooks
except BaseException:  # a broken install must not break Claude Code either
    sys.exit(0)
hooks.main(started_at=STARTED_AT, leaving=True)
try:
    sys.stdout.flush()
    sys.stderr.flush()
except BaseException:  # a closed pipe: the output had nowhere to go anyway
    pass
os._exit(0)
