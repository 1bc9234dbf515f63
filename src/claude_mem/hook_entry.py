"""Script run by Claude Code for each hook: ``<python> -I -S <this file> <event>``.

Kept tiny on purpose: a script is compiled on every run while imported modules come
from cached bytecode, and ``-S`` skips site-packages processing (several milliseconds).
It puts the package's parent folder on ``sys.path`` itself and hands over to
``claude_mem.hooks.main``, which never raises and always exits 0.

It leaves with ``os._exit`` once stdout and stderr are flushed: tearing the interpreter
down (every module, the sqlite3 core) costs a hook ~2 ms and nothing is left to do by
then: log lines are unbuffered writes, connections are closed, and a committed row is
durable whether or not its connection was closed. Measured in bench/hook_latency.py.

The cyclic garbage collector is off for the hook's short life: importing the modules a hook
needs allocates enough to run it dozens of times (~0.3-0.5 ms a hook), and nothing a hook
makes in that time is worth collecting before ``os._exit`` (reference counting still frees
everything that is not a cycle). ``gc`` is built into the interpreter: no import cost.
"""
import gc

gc.disable()

import os  # noqa: E402 - after the collector is off
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
try:
    from claude_mem.hooks import main
except BaseException:  # a broken install must not break Claude Code either
    sys.exit(0)
main()
try:
    sys.stdout.flush()
    sys.stderr.flush()
except BaseException:  # a closed pipe: the output had nowhere to go anyway
    pass
os._exit(0)
