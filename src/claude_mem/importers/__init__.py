"""Bringing the past into claude-mem: Claude Code transcripts, the original claude-mem's
database, and our own JSON export.

One module per source:

- ``transcripts`` puts Claude Code's session transcripts on the same durable queue the
  hooks use, as the hook events Claude Code would have fired (``replay``, the state
  machine that reads them), so the worker and the configured compressor make the memory
  exactly as they do live.
- ``claude_mem_db`` copies the original (TypeScript) claude-mem's sessions, prompts,
  observations and summaries, marked as imported from it.
- ``json_export`` reads what ``claude-mem export`` wrote (moving to a new machine).

All three are idempotent: importing the same thing twice adds nothing.
"""
