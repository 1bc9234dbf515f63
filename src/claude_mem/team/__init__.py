"""Team memory: shared projects' memory mirrored through a PostgreSQL server.

Contract: the local SQLite store stays first. Hooks, SessionStart, search and the viewer
read the local file only; the worker copies what it stores for a *shared* project into
an outbox (same transaction, by SQLite triggers) and a sync step pushes that outbox to
PostgreSQL and pulls teammates' rows into the local store. Nothing here is imported on
the hook path, and psycopg (the ``[team]`` extra) only when a sync or an admin command
actually talks to the server.

The PostgreSQL side (schema, migrations, roles, push/pull SQL) is a store beside the
SQLite one, so it lives in the store package: ``claude_mem.store.postgres``.
Modules: ``sync`` (one sync, the worker's sync thread, the per-machine sync lock),
``status`` (what ``team status`` and ``doctor`` say). Masking a URL's password is the leaf
``claude_mem.dburl``, which config and the PostgreSQL store use too.
"""
