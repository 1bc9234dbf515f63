"""What the rest of claude-mem needs from a memory store, as typing Protocols.

``Store`` (SQLite) satisfies both; a second back-end (e.g. a PostgreSQL team store)
implements ``MemoryReader`` to serve search, context, MCP and the viewer, and
``MemoryWriter`` to receive what the worker makes. The queue, sessions' lifecycle and
accounting stay local to the SQLite store: they are the worker's bookkeeping, not memory.

Rows are plain dicts (see the ``claude_mem.store`` docstring for why): observations and
summaries with their list columns decoded, sessions and prompts as stored.

Not imported on the hook path (``typing`` costs the hooks milliseconds); import it where
a type is named: ``from claude_mem.store.protocol import MemoryReader``.
"""

from __future__ import annotations

from typing import Iterable, Protocol, runtime_checkable


@runtime_checkable
class MemoryReader(Protocol):
    """Reading memory back: search, context at session start, MCP tools, the viewer."""

    def search(self, text: str, *, project: str | None = None,
               kinds: Iterable[str] = ("observation", "summary", "prompt"),
               limit: int = 20) -> list[dict]: ...

    def recent_observations(self, project: str, limit: int, *, since: float | None = None,
                            exclude_session: int | None = None) -> list[dict]: ...

    def recent_summaries(self, project: str, limit: int, *, since: float | None = None,
                         exclude_session: int | None = None) -> list[dict]: ...

    def observation(self, obs_id: int) -> dict | None: ...

    def observations_around(self, session_id: int, anchor_id: int, before: int,
                            after: int) -> dict: ...

    def summary(self, summary_id: int) -> dict | None: ...

    def session(self, session_id: int) -> dict | None: ...

    def find_session(self, ident: str) -> dict | None: ...

    def sessions(self, project: str | None = None, limit: int = 50) -> list[dict]: ...

    def session_detail(self, session_id: int) -> dict: ...

    def prompt(self, session_id: int, prompt_number: int) -> dict | None: ...

    def projects_by_recency(self, limit: int = -1) -> list[str]: ...

    def close(self) -> None: ...


@runtime_checkable
class MemoryWriter(Protocol):
    """Receiving what the worker makes; ``write()`` is one atomic unit of work."""

    def write(self): ...

    def add_observation(self, session_id: int, project: str, prompt_number: int, obs,
                        content_hash: str, generated_by: str, at: float) -> int | None: ...

    def upsert_summary(self, session_id: int, project: str, prompt_number: int, summary,
                       generated_by: str, at: float) -> int: ...
