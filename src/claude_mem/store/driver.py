"""Which sqlite3 module the store uses (one place, so every room agrees).

The C core ``_sqlite3`` is the same API as the ``sqlite3`` package without the package's
datetime adapters; the hooks import the store, so this choice is on the hook path.
"""

try:
    # The C core of the sqlite3 package, the same API without the package's datetime
    # adapters: importing it instead saves the hooks ~7 ms (datetime, functools and
    # collections), about a fifth of a hook's whole run. Measured in bench/hook_latency.py.
    import _sqlite3 as sqlite3
except ImportError:  # an interpreter that only ships the package
    import sqlite3
__all__ = ["sqlite3"]
