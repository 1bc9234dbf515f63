"""The SQLite store: one file holds the queue, sessions, prompts, observations and summaries.

Every SQL statement claude-mem runs lives in this package. Its rooms, one job each:

- ``driver``     which sqlite3 module (the C core, lighter for the hooks)
- ``migrations`` the schema as numbered, named functions, recorded in the database
- ``db``         the connection: open 0600, WAL, busy timeout, ``write()`` units, row decoding
- ``queue``      the durable ``pending`` queue between hooks and the worker
- ``sessions``   sessions and user prompts
- ``memory``     observations and summaries
- ``search``     full-text search (FTS5, weighted bm25, safe quoting)
- ``accounting`` LLM usage and the store's own figures
- ``space``      giving disk space back (incremental auto-vacuum, WAL truncation)
- ``team``       team memory's local side: shared projects, the outbox, teammates' rows
                 (``TeamStore(store)``; the PostgreSQL side is ``store.postgres``)
- ``feed``       the viewer's live feed: what was stored after a cursor
- ``postgres``   the team's PostgreSQL store (not imported here: psycopg is an extra)
- ``forgetting`` ``claude-mem forget``: deletes, then the bytes leave the files
- ``importing``  what ``claude-mem import`` needs: what a session already holds, staged
                 queueing of a replayed session, copying rows from elsewhere

``Store`` joins the rooms into the one entry point the rest of the code uses
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
- Standard library only and import-light: the hooks import this package.
"""

from claude_mem import config
from claude_mem.store.accounting import AccountingRoom
from claude_mem.store.db import Database, observation_dict, summary_dict
from claude_mem.store.driver import sqlite3
from claude_mem.store.forgetting import ForgetRoom
from claude_mem.store.feed import FeedRoom
from claude_mem.store.importing import ImportRoom
from claude_mem.store.memory import MemoryRoom
from claude_mem.store.migrations import MIGRATIONS
from claude_mem.store.queue import QueueRoom
from claude_mem.store.search import fts_query
from claude_mem.store.search import SearchRoom
from claude_mem.store.sessions import SessionsRoom
from claude_mem.store.space import SpaceRoom

__all__ = ["Store", "open_store", "summary_dict", "fts_query", "observation_dict",
           "sqlite3", "MIGRATIONS"]


class Store(QueueRoom, SessionsRoom, MemoryRoom, SearchRoom, AccountingRoom, ImportRoom,
            SpaceRoom, FeedRoom, ForgetRoom, Database):
    """Owns one SQLite database file: opens, migrates, reads and writes it.

    The rooms are mixins over one connection rather than separate objects because a
    unit of work often spans them (the worker deletes a queue row in the same
    transaction that stores the observation it became).
    """


def open_store(*, busy_timeout_ms: int = 5000, migrate: bool = True) -> Store:
    """The store in the configured data directory: the one way code outside tests opens it."""
    return Store(config.db_path(), busy_timeout_ms=busy_timeout_ms, migrate=migrate)
