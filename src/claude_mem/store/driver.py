"""Which sqlite3 module the store uses (one place, so every room agrees).

The C core ``_sqlite3`` is the same API as the ``sqlite3`` package without the package's
datetime adapters; the hooks import the store, so this choice is on the hook path.

Importing ``_sqlite3`` also imports ``functools`` (for ``lru_cache``, the statement cache
every connection builds), and ``functools`` pulls in ``collections``, ``operator``,
``reprlib``, ``keyword`` and ``types``: 2.5 ms of a hook's ~20 ms on Python 3.11, 7–9 ms on
3.12/3.13 (``python -X importtime -c "import _sqlite3"``). A process that has not imported
``functools`` yet (a hook) lends ``_sqlite3`` a stand-in for the duration of the import
whose ``lru_cache`` is the very C cache ``functools.lru_cache`` wraps
(``_functools._lru_cache_wrapper``), then takes the stand-in away, so a later ``import
functools`` gets the real module. If anything about that fails, the plain import runs.
Measured in bench/hook_latency.py; tests/test_driver.py runs it in a fresh interpreter.
"""

import sys


def _cache_info(*fields):
    # ``cache_info()`` of a real lru_cache returns a named tuple; nothing here calls it.
    return fields


class _FunctoolsStandIn:
    """What ``_sqlite3``'s import takes from ``functools``: ``lru_cache`` and nothing else."""

    @staticmethod
    def lru_cache(maxsize=128, typed=False):
        import _functools

        if isinstance(maxsize, int) and maxsize < 0:
            maxsize = 0  # as functools.lru_cache does

        def decorate(function):
            return _functools._lru_cache_wrapper(function, maxsize, typed, _cache_info)
        return decorate


def _import_core():
    if "functools" in sys.modules or "_sqlite3" in sys.modules:
        import _sqlite3

        return _sqlite3
    sys.modules["functools"] = _FunctoolsStandIn
    try:
        import _sqlite3
    except Exception:  # an interpreter whose _sqlite3 wants more of functools
        sys.modules.pop("_sqlite3", None)
        sys.modules.pop("functools", None)
        import _sqlite3
    finally:
        if sys.modules.get("functools") is _FunctoolsStandIn:
            del sys.modules["functools"]
    return _sqlite3


try:
    sqlite3 = _import_core()
except ImportError:  # an interpreter that only ships the package
    import sqlite3
__all__ = ["is_busy", "sqlite3"]


def is_busy(exc: Exception) -> bool:
    """True when ``exc`` says the database was locked by another connection (SQLITE_BUSY
    and its extended codes; the message where the error carries no code): a try that
    took nothing and may simply be made again (``hooks._commit_soon``, ``db._begin_soon``)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF == 5 if code is not None else "locked" in str(exc)
