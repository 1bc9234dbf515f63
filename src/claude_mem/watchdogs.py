"""Watchdogs: sessions that will never say goodbye are summarized and closed anyway.

Contract (run by the worker's loop when the queue has nothing to do; each is given only
what it uses: the store, ``finalize`` (``handlers.Handlers.finalize``), the thresholds, the
sessions waiting for a retry and the worker's ``stopping`` event):
- ``finalize_silent_sessions``: a session silent for ``session_silence_seconds`` is
  summarized from what it has and closed (no SessionEnd ever came: Ctrl-C, crash); a
  session whose queued rows wait for a retry is stuck, not silent, and is left alone.
- ``expire_old_sessions``: sessions left active longer than ``session_max_age_hours`` (a
  worker was down) are summarized and marked failed; the worker runs it once, after its
  first drain, so their queued events are handled before they are judged abandoned.
- A summary that fails at close never retries forever: the session is closed without it.
"""
from __future__ import annotations

import time

from claude_mem import log


def finalize_silent_sessions(store, finalize, silence_seconds: float,
                             waiting_sessions, stopping) -> bool:
    """Close the sessions silent too long; True if any was closed.

    ``waiting_sessions``: Claude session ids whose queued rows wait for a retry.
    """
    cutoff = time.time() - float(silence_seconds)
    did = False
    for session in store.silent_sessions(cutoff):
        if stopping.is_set():
            break
        if session["claude_session_id"] in waiting_sessions:
            continue  # its queued events are being retried: not silent, just stuck
        log.info(f"session {session['claude_session_id']} silent since "
                 f"{time.ctime(session['last_activity_at'])}: summarizing and closing")
        close_quietly(store, finalize, session, "silence", "completed")
        did = True
    return did


def expire_old_sessions(store, finalize, max_age_hours: float, stopping) -> bool:
    """Summarize and fail sessions left active past ``max_age_hours``."""
    cutoff = time.time() - float(max_age_hours) * 3600
    expired = store.expire_sessions(cutoff, dry_run=True)
    for session in expired:
        if stopping.is_set():
            break
        close_quietly(store, finalize, session, "expired", "failed")
    if expired:
        log.info(f"expired {len(expired)} sessions left active since before {time.ctime(cutoff)}")
    return bool(expired)


def close_quietly(store, finalize, session, reason: str, status: str) -> None:
    """Close a session the watchdogs found; a summary failure must not retry forever."""
    try:
        finalize(session, reason, time.time(), status=status)
    except Exception as exc:
        log.error(f"session {session['claude_session_id']}: summary at close failed "
                  f"({exc!r}); closed without it")
        with store.write():
            store.complete_session(session["id"], f"{reason} (summary failed)",
                                   time.time(), "failed")
