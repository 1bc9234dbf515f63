"""``Store``: every room over one SQLite connection, the entry point the rest of the code
uses (``from claude_mem.store import Store``); ``open_store()`` opens the configured one.
See the package docstring for the rooms."""

from claude_mem import config
from claude_mem.store.accounting import AccountingRoom
from claude_mem.store.context_cache import ContextCacheRoom
from claude_mem.store.db import Database
from claude_mem.store.feed import FeedRoom
from claude_mem.store.forgetting import ForgetRoom
from claude_mem.store.group_writes import GroupRoom
from claude_mem.store.importing import ImportRoom
from claude_mem.store.index_merge import IndexMergeRoom
from claude_mem.store.memory import MemoryRoom
from claude_mem.store.queue import QueueRoom
from claude_mem.store.search import SearchRoom
from claude_mem.store.sessions import SessionsRoom
from claude_mem.store.space import SpaceRoom
from claude_mem.store.shown import ShownRoom
from claude_mem.store.vectors import VectorRoom


class Store(QueueRoom, SessionsRoom, MemoryRoom, SearchRoom, AccountingRoom, ImportRoom,
            SpaceRoom, FeedRoom, ForgetRoom, IndexMergeRoom, VectorRoom, ShownRoom,
            ContextCacheRoom, GroupRoom, Database):
    """Owns one SQLite database file: opens, migrates, reads and writes it.

    The rooms are mixins over one connection rather than separate objects because a
    unit of work often spans them (the worker deletes a queue row in the same
    transaction that stores the observation it became).
    """


def open_store(*, busy_timeout_ms: int = 5000, migrate: bool = True) -> Store:
    """The store in the configured data directory: the one way code outside tests opens it."""
    return Store(config.db_path(), busy_timeout_ms=busy_timeout_ms, migrate=migrate)
