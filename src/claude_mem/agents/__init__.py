"""Coding agents other than Claude Code: one thin adapter each, turning its hook payloads
into Claude Code's shape so that every agent's work goes through the same events,
handlers and compressors.

Contract: ``adapter(agent)`` returns ``adapt(event_name, payload) -> (event_name, payload)``
for a known agent (``hook_events.AGENTS``), None otherwise. An adapter never raises on odd
input: what it cannot read it leaves as it is, and ``events.parse_event`` judges the rest.
Worker side only (never imported by a hook).
"""
from __future__ import annotations


def adapter(agent: str):
    if agent == "codex":
        from claude_mem.agents import codex

        return codex.adapt
    if agent == "gemini":
        from claude_mem.agents import gemini

        return gemini.adapt
    return None
