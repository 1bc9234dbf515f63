"""The worker renders the SessionStart context ahead, so the hook only reads it back.

Contract (``Refresher(store, settings, presence)``; the worker calls ``after_work()`` after
a pass that stored something, ``when_idle()`` after one that found nothing to do, and
sleeps at most ``wait_hint()``):
- Renders every row of ``context_cache`` that is to be rendered (``contexts_to_render``:
  a hook asked for it, a change of the memory dropped its text, or its time in the text
  ran out) once the queue has been quiet ``QUIET_SECONDS``: during a burst of tool calls
  the memory changes with every event, and a rendering per event would be wasted.
- A row is rendered with the settings its key names (``startcache.cache_key``), by
  ``context.render`` and ``context.record_context`` exactly as the hook does for a full
  context, wrapped by ``context.hook_json``: the text a miss would print, byte for byte.
  A key made by other code or in another time zone is not this worker's to render (the
  hooks that made it render themselves until a worker like them runs): it is dropped a
  day after it was last asked for. So is a key no hook asked for in ``UNUSED_DAYS``.
- ``store_context`` keeps a rendering only if no change of the memory happened since
  ``begin_rendering`` marked it and gave its ``generation`` (before the memory is read): it
  is never older than the memory.
- The text's clock: every ``ago`` the rendering asked (a teammate's "alice, 2 h ago") sets
  ``valid_until`` to when the first of them turns (``text.ago_changes_at``); rows are
  rendered again then.
- Steps aside for a hook about to write (``presence``) and never raises (failures are
  logged; the hooks then render themselves, as before).
- ``answer`` is the control command ``start``: a SessionStart hook asking for its row
  (``start_answer``); its reader is let go at an idle tick once unused, and at ``close()``.
  With no current row it renders for the hook (``render_for_hook``: this code's key only,
  never beside a rendering of the loop's, whose ``text`` clock it would share; within
  ``HOOK_RENDER_WAIT`` or not at all) and asks for the row as the hook's own miss would
  have (``want_context``, written at the next idle pass: ``when_idle``).
"""
from __future__ import annotations

import threading
import time

from claude_mem import context, log, startcache, text
from claude_mem.config import SCHEMA, Settings, SettingError
from claude_mem.start_answer import StartAnswer

QUIET_SECONDS = 0.3
# A row whose rendering failed is tried again after this long (not in a loop).
RETRY_SECONDS = 30.0
# A key no hook asked for in this long is dropped (a setting changed, a project left).
UNUSED_DAYS = 14
# Another code's or time zone's key: dropped once it was not asked for this long.
FOREIGN_SECONDS = 86400.0
# Never rendered again sooner than this after a rendering (a text whose "ago" turns now).
MIN_VALID_SECONDS = 1.0
PRUNE_INTERVAL = 3600.0
# How long a hook's miss waits for the loop's rendering under way before it is told "none"
# (the hook then renders itself; it waits ``startcache.ASK_BUDGET_SECONDS`` in all).
HOOK_RENDER_WAIT = 0.01
# While idle, how often to look for rows another process made stale or a hook asked for.
LOOK_SECONDS = 1.0


def settings_for(key: str, base: Settings) -> Settings | None:
    """``base`` with the context settings ``key`` names; None for a key this code and time
    zone cannot render (another version's, another zone's, or junk)."""
    parts = key.split("\n") if isinstance(key, str) else []
    if len(parts) != 3 or parts[0] != startcache.LOADED_CODE or parts[1] != startcache.time_zone():
        return None
    merged = dict(base.values)
    for item in filter(None, parts[2].split(";")):
        name, equals, value = item.partition("=")
        setting = SCHEMA.get(name)
        if not equals or setting is None or not name.startswith("context_"):
            return None
        try:
            merged[name] = setting.parse(value)
        except SettingError:
            return None
    settings = Settings(merged, [])
    if startcache.settings_part(settings) != parts[2]:
        return None  # a setting this code knows was missing from the key: not ours
    return settings


def render_for_cache(store, project: str, settings: Settings, now: float | None = None):
    """``(output, shown, valid_until)``: what a SessionStart hook would print for the full
    context of ``project``, the items it shows and until when its text holds."""
    now = time.time() if now is None else now
    asked: list = []
    text.ago_asked = asked
    try:
        body = context.render(store, project, settings)
        shown: list = []
        if body:
            context.record_context(store, "ahead", body, project, settings, {}, into=shown)
    finally:
        text.ago_asked = None
    output = context.hook_json(body) if body else ""
    if output:  # what the hook will record is what it prints (a cut text included)
        printed = startcache.start_text(output)
        shown = [(kind, printed if item == body else item) for kind, item in shown]
        body = printed
    valid_until = min((text.ago_changes_at(epoch, now) for epoch in asked), default=None)
    if valid_until is not None:
        valid_until = max(valid_until, now + MIN_VALID_SECONDS)
    return output, startcache.format_shown(shown, body), valid_until


class Refresher:
    def __init__(self, store, settings: Settings, presence=None):
        self.store = store
        self.settings = settings
        self.presence = presence
        # When there is known work (None: none known); rows may wait from before we started.
        self.due_at: float | None = time.monotonic()
        # When to look again for work another process made (forget, import, a new hook's
        # ask): at the worker's next idle pass after this; it does not wake up for it.
        self.look_at = 0.0
        self.failed: dict = {}  # (project, key) -> when to try again (monotonic)
        self.pruned_at = 0.0
        # One rendering at a time: ``text.ago_asked`` (the text's clock) is the module's.
        self.render_lock = threading.Lock()
        self.answerer = StartAnswer(render=self.render_for_hook)
        self.answer = self.answerer.answer

    def render_for_hook(self, store, project: str, key: str):
        """``(output, shown)`` of ``project``'s full context for a hook whose row is not
        current, read on ``store`` (the answerer's reader); None when ``key`` is not this
        code's or a rendering of the loop's holds on past ``HOOK_RENDER_WAIT``."""
        from claude_mem.store.memory import context_store_over

        settings = settings_for(key, self.settings)
        if settings is None or not self.render_lock.acquire(timeout=HOOK_RENDER_WAIT):
            return None
        try:  # a view of its own each time: it keeps what it read (``recent_summaries``)
            output, shown, _until = render_for_cache(context_store_over(store), project, settings)
        finally:
            self.render_lock.release()
        return output, shown

    def close(self) -> None:
        self.answerer.close()

    def after_work(self) -> None:
        """The memory changed here: render once the queue has been quiet a moment."""
        self._due(QUIET_SECONDS, replace=True)

    def _due(self, seconds: float, replace: bool = False) -> None:
        at = time.monotonic() + seconds
        self.due_at = at if replace or self.due_at is None else min(self.due_at, at)

    def wait_hint(self) -> float:
        if self.due_at is None:
            return 3600.0
        return max(0.02, self.due_at - time.monotonic())

    def when_idle(self) -> int:
        """Render what is due; returns how many rows were stored."""
        self.answerer.release_if_unused()
        self._ask_for(self.answerer.take_wanted())
        now = time.monotonic()
        if (self.due_at is None or now < self.due_at) and now < self.look_at:
            return 0
        if self.presence is not None and self.presence.waiting():
            self._due(QUIET_SECONDS)
            return 0
        try:
            return self.refresh()
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            log.warning(f"rendering the start context ahead failed: {exc!r}")
            self._due(RETRY_SECONDS, replace=True)
            return 0

    def _ask_for(self, wanted) -> None:
        """The rows the hooks' misses asked for (``render_for_hook``), as their own would."""
        if not wanted:
            return
        try:
            with self.store.write():
                for project, key in wanted:
                    self.store.want_context(project, key, time.time())
        except Exception as exc:  # noqa: BLE001 - the next miss asks again
            log.warning(f"asking for the start context a hook missed failed: {exc!r}")
            return
        self._due(0.0)

    def refresh(self) -> int:
        self.due_at = None
        self.look_at = time.monotonic() + LOOK_SECONDS
        now = time.time()
        if now - self.pruned_at > PRUNE_INTERVAL:
            self.pruned_at = now
            self.prune(now)
        stored = 0
        for project, key, _generation in self.store.contexts_to_render(now):
            if self.presence is not None and self.presence.waiting():
                self._due(QUIET_SECONDS)  # the rest once the hook wrote
                break
            if self.failed.get((project, key), 0) > time.monotonic():
                continue
            settings = settings_for(key, self.settings)
            if settings is None:
                continue  # another code's key (see prune)
            try:
                # Marked before the memory is read: a change from here on is seen at the store.
                generation = self.store.begin_rendering(project, key)
                if generation is None:
                    continue  # dropped meanwhile (pruned, or its project forgotten)
                with self.render_lock:
                    output, shown, valid_until = render_for_cache(self.store, project, settings,
                                                                  now)
                if self.store.store_context(project, key, generation, output, shown,
                                            valid_until, time.time()):
                    stored += 1
                else:  # the memory changed meanwhile: render it again, once quiet
                    self._due(QUIET_SECONDS)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
                log.warning(f"rendering the start context of {project!r} ahead failed: {exc!r}")
                self.failed[(project, key)] = time.monotonic() + RETRY_SECONDS
        # Wake up when the first text with a clock in it runs out (of the rows this worker
        # renders: another code's row would otherwise wake it every second until pruned).
        until = min((valid_until for project, key, valid_until in self.store.context_expiries()
                     if self.failed.get((project, key), 0) <= time.monotonic()
                     and settings_for(key, self.settings) is not None), default=None)
        if until is not None:
            self._due(max(MIN_VALID_SECONDS, until - time.time()))
        return stored

    def prune(self, now: float) -> int:
        drop = []
        for project, key, asked_at, _made in self.store.context_rows():
            unused = now - (asked_at or 0)
            if unused > UNUSED_DAYS * 86400 or (
                    unused > FOREIGN_SECONDS and settings_for(key, self.settings) is None):
                drop.append((project, key))
        return self.store.drop_contexts(drop)
