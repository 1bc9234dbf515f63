"""``Store``: every room of the store joined over one connection (see the package docstring).

Imported on first use of ``claude_mem.store.Store`` (or ``open_store()``), so the capture
hooks, which only append to the queue, never load the reading rooms.
"""

from claude_mem.store.accounting import AccountingRoom
from claude_mem.store.db import Database
from claude_mem.store.feed import FeedRoom
from claude_mem.store.importing import ImportRoom
from claude_mem.store.memory import MemoryRoom
from claude_mem.store.queue import QueueRoom
from claude_mem.store.search import SearchRoom
from claude_mem.store.sessions import SessionsRoom
from claude_mem.store.space import SpaceRoom


class Store(QueueRoom, SessionsRoom, MemoryRoom, SearchRoom, AccountingRoom, ImportRoom,
            SpaceRoom, FeedRoom, Database):
    """Owns one SQLite database file: opens, migrates, reads and writes it.

    The rooms are mixins over one connection rather than separate objects because a
    unit of work often spans them (the worker deletes a queue row in the same
    transaction that stores the observation it became).
    """
