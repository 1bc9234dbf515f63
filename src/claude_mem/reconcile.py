"""After a session ends, what its agent's own record holds and live capture missed.

Some work never fires a hook. Codex CLI 0.171 runs an ``apply_patch`` that the model sends
through its shell (``apply_patch <<'EOF' … EOF`` as an ``exec_command``) without any
PostToolUse, so live capture cannot see the edit; the session's rollout file records it.

Contract (``Reconciler(store, settings)``, owned by the worker):
- ``want(event)``: the handlers call it when a session's SessionEnd has been stored. A
  session of an agent listed in ``READERS`` whose ``transcript_path`` is set is remembered;
  a SessionEnd the import itself replayed (reason ``import``) is not, so a reconcile never
  asks for another.
- ``run()``: the worker calls it between drain passes, never inside a write transaction.
  Each remembered file goes through that agent's import (``importers``): it is read
  outside any lock, and only what memory lacks is queued (the import is idempotent with
  live capture: same session id, prompt ids and tool call ids). The rows become the next
  pass's work, so a missed tool call becomes an observation and its request's summary is
  made again with it. Nothing is waited for; a file that cannot be read costs only a line in
  the log. Returns how many rows were queued.
"""
from __future__ import annotations

from claude_mem import log

# The agents whose sessions are reconciled, and the reader of their session files.
# Claude Code is not listed: its hooks see every tool call that ran.
READERS = {"codex": ("claude_mem.importers.codex", "Rollout")}
# At most this many files wait; more (a burst of ended sessions) are dropped with a log
# line: `claude-mem import codex` still adds them whenever it is run.
MAX_WAITING = 64


class Reconciler:
    def __init__(self, store, settings):
        self.store = store
        self.settings = settings
        self.waiting: dict[str, str] = {}  # transcript path -> agent

    def want(self, event) -> None:
        agent = getattr(event, "agent", "")
        path = getattr(event, "transcript_path", "")
        if agent not in READERS or not path or getattr(event, "reason", "") == "import":
            return
        if path not in self.waiting and len(self.waiting) >= MAX_WAITING:
            log.warning(f"reconcile: too many ended sessions waiting; {path} left to `import`")
            return
        self.waiting[path] = agent

    def run(self) -> int:
        queued = 0
        while self.waiting:
            path, agent = next(iter(self.waiting.items()))
            del self.waiting[path]
            queued += self._one(path, agent)
        return queued

    def _one(self, path: str, agent: str) -> int:
        import importlib

        from claude_mem.importers.transcripts import import_transcripts

        module, name = READERS[agent]
        reader = getattr(importlib.import_module(module), name)
        try:
            report = import_transcripts([path], store=self.store, settings=self.settings,
                                        wait=False, wake=False, reader=reader, agent=agent)
        except Exception as exc:  # the session's live memory stands; the log says why
            log.warning(f"reconcile of {path} failed: {exc!r}")
            return 0
        rows = int(report.get("queued_rows") or 0)
        if rows:
            log.info(f"reconcile: {rows} events from {path} that live capture missed "
                     f"({report.get('queued')})")
        return rows
