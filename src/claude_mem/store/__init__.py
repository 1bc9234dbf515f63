"""The SQLite store: one file holds the queue, sessions, prompts, observations and summaries.

Every SQL statement claude-mem runs lives in this package. Its rooms, one job each:

- ``driver``     which sqlite3 module (the C core, lighter for the hooks)
- ``migrations`` the schema as numbered, named functions, recorded in the database
- ``db``         the connection: open 0600, WAL, busy timeout, ``write()`` units, row decoding
- ``queue``      the durable ``pending`` queue between hooks and the worker
- ``sessions``   sessions and user prompts
- ``memory``     observations and summaries
- ``search``     full-text search (FTS5, weighted bm25, safe quoting, any of the words)
- ``vectors``    search by meaning's vectors: what waits to be embedded, reading them back
- ``shown``      what a session was already given from memory (recall at the prompt)
- ``context_cache`` the SessionStart context rendered ahead by the worker (``startcache``)
- ``accounting`` LLM usage and the store's own figures
- ``space``      giving disk space back (incremental auto-vacuum, WAL truncation)
- ``team``       team memory's local side: shared projects, the outbox, teammates' rows
                 (``TeamStore(store)``; the PostgreSQL side is ``store.postgres``)
- ``feed``       the viewer's live feed: what was stored after a cursor
- ``postgres``   the team's PostgreSQL store (not imported here: psycopg is an extra)
- ``forgetting`` ``claude-mem forget``: deletes, then the bytes leave the files
- ``index_merge`` the search index's merges, out of the commits, in steps (lock budget)
- ``held_index`` a write unit's new rows indexed for search once, right before its COMMIT
- ``importing``  what ``claude-mem import`` needs: what a session already holds, staged
                 queueing of a replayed session, copying rows from elsewhere

``Store`` (defined in ``store.store``) joins the rooms into the one entry point the rest of the code uses
(``from claude_mem.store import Store``); ``open_store()`` builds it for the configured
data directory. ``protocol.MemoryReader``/``MemoryWriter`` say what the rest of the code needs from
a memory store, so a second back-end (e.g. PostgreSQL for a team) can sit beside this one.

Readers return plain ``dict`` objects (never ``sqlite3.Row``), list columns already
decoded. Dicts rather than dataclasses because every consumer either renders them as
JSON (MCP, viewer, ``--json``) or picks a few keys, rows differ by query (search hits add
``kind`` and ``score``, summaries add ``claude_session_id``), and a PostgreSQL driver hands
back dicts too (psycopg's ``dict_row``), so a second back-end returns the same shapes
without a mapping layer.

Contract:
- ``Store(path)`` opens (creating it 0600 in a 0700 folder) and migrates the database.
- Writes go through ``with store.write():`` (``BEGIN IMMEDIATE`` ... ``COMMIT``); any
  exception rolls the whole unit back. The worker is the only writer of derived rows;
  hooks only append to ``pending`` (the durable queue).
- Standard library only and import-light: the hooks import this package. Its names are
  loaded on first use (``__getattr__`` below), so a capture hook that opens only the queue
  (``queue.open_queue``) never imports the other rooms: each module costs every hook call.
"""

# Exported name -> the module that defines it, imported when the name is first used.
_EXPORTS = {
    "Store": "claude_mem.store.store",
    "open_store": "claude_mem.store.store",
    "observation_dict": "claude_mem.store.db",
    "summary_dict": "claude_mem.store.db",
    "sqlite3": "claude_mem.store.driver",
    "fts_query": "claude_mem.store.search",
    "MIGRATIONS": "claude_mem.store.migrations",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'claude_mem.store' has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value
