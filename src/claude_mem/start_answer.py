"""The worker answers a SessionStart hook with the context it rendered ahead (``start``).

Why: a hook that reads the rendered context itself loads SQLite (its shared library and
module, ~1 ms), opens the database, whose schema SQLite parses at the first statement (~1.3
ms at 90 objects), and writes what it showed in a transaction of its own: about half of what
SessionStart cost beyond a bare interpreter start (docs/performance.md, "SessionStart handed
over by the worker"). The worker has all of that open. So a Claude Code SessionStart hook
whose worker runs asks it for the row over the control socket (``startcache.ask``), prints
it, and leaves what it showed, with its event, in the inbox (``hook_inbox``), which the
worker takes in exactly as the hook would have written it (``inbox.take_in``).

Contract (worker side): ``StartAnswer().answer(message)`` for the control command ``{"cmd":
"start", "project": ..., "key": ..., "session": ...}`` replies with
``startcache.reply_for(output, shown, known)`` for the current row of ``(project, key)``,
read by ``startcache.lookup_words`` on a reader connection of its own (so current means what
it means to a hook: the triggers drop a row in the statement that changes its memory), with
``known``: whether the memory holds ``session``. With no current row it answers what
``render`` makes of the memory as it is (the worker's ``Refresher.render_for_hook``: the
text the hook's own rendering would print) and keeps ``(project, key)`` for the worker to
ask for (``take_wanted``); ``{"miss": ...}`` when that gives nothing, ``{"error": ...}`` for
a bad request or any failure (the hook then does it itself). It never writes. One reader,
one question at a time; let go after ``prompt_recall.RELEASE_SECONDS`` without a question
(``release_if_unused``, the worker's idle tick) and at ``close()``.
"""
import time

from claude_mem import log, startcache
from claude_mem.prompt_recall import HeldReader

# A hook waits ``startcache.ASK_BUDGET_SECONDS``; the reader never waits longer than that.
READER_BUSY_TIMEOUT_MS = 30


class StartAnswer(HeldReader):
    def __init__(self, render=None):
        super().__init__()
        # ``render(store, project, key)``: ``(output, shown)`` when there is no current row,
        # or None (``context_refresh.Refresher.render_for_hook``).
        self.render = render
        self.wanted: set = set()  # (project, key) rendered for a miss: the row to ask for
        self.answered = 0
        self.rendered = 0

    def answer(self, message: dict) -> str:
        project, key = message.get("project"), message.get("key")
        session = message.get("session", "")
        if not all(isinstance(v, str) for v in (project, key, session)):
            return '{"error":"project, key and session must be strings"}'
        try:
            with self.lock:
                self.asked_at = time.monotonic()
                if self.store is None:
                    self.store = startcache.open_start_store(
                        busy_timeout_ms=READER_BUSY_TIMEOUT_MS)
                hit = startcache.lookup_words(self.store, project, key)
                if hit is not None:
                    output, shown, _items = hit  # checked: the words as the row keeps them
                else:
                    made = self.render(self.store, project, key) if self.render else None
                    if made is None:
                        return '{"miss":"no current rendering"}'
                    output, shown = made
                    self.wanted.add((project, key))
                    self.rendered += 1
                known = bool(session) and self.store.knows_session(session)
                self.answered += 1
            return startcache.reply_for(output, shown, known)
        except Exception as exc:  # noqa: BLE001 - the hook reads the row itself
            log.warning(f"answering a SessionStart hook failed: {exc!r}")
            return '{"error":"the worker could not read the rendering"}'

    def counts(self) -> dict:
        return {"start_contexts_answered": self.answered, "start_contexts_rendered": self.rendered}

    def take_wanted(self) -> list:
        """The rows rendered for a miss since the last call (the worker asks for them)."""
        with self.lock:
            wanted, self.wanted = list(self.wanted), set()
        return wanted
