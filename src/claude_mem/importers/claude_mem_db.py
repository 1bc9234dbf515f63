"""The original claude-mem's database (``~/.claude-mem/claude-mem.db`` of the TypeScript
plugin) copied into our memory.

Contract: ``import_database(path, store=None)`` reads the file read-only and copies
``sdk_sessions`` → sessions (Claude Code's session id, project, times, the first cwd its
``tool_uses`` saw), ``user_prompts`` → prompts, ``observations`` → observations and
``session_summaries`` → summaries, keeping their projects, prompt numbers and times
(``*_epoch`` milliseconds, else the ISO text). List columns are JSON arrays; a broken one
becomes an empty list. Everything copied is marked: observations and summaries carry
``generated_by = "claude-mem-db:<the original's model>"`` and new sessions
``end_reason = "imported from claude-mem"``. The tool calls it recorded (``tool_uses``) are
marked as processed, so a later ``import transcripts`` of the same sessions does not make
them twice. Idempotent: observations by a hash of their origin, prompts by id or text,
summaries per request; nothing already here is overwritten. Raises
``NotClaudeMemDatabase`` for a file that is not one. Both the current schema
(``content_session_id``/``memory_session_id``) and the older one (``claude_session_id``/
``sdk_session_id``) are read.
"""
from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime

SOURCE = "claude-mem-db"


class NotClaudeMemDatabase(ValueError):
    """The file is not a database of the original claude-mem."""


def _open(path: str) -> sqlite3.Connection:
    uri = "file:" + os.path.abspath(path).replace("?", "%3f").replace("#", "%23")
    last: Exception | None = None
    # Read-only; "immutable" as the fallback for a copy whose WAL files cannot be made.
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(uri + query, uri=True)
            db.row_factory = sqlite3.Row
            db.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
            return db
        except sqlite3.Error as exc:
            last = exc
    raise NotClaudeMemDatabase(f"{path} cannot be opened as SQLite ({last})")


def _tables(db) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _rows(db, table: str, order: str = "id"):
    try:
        for row in db.execute(f"SELECT * FROM {table} ORDER BY {order}"):
            yield dict(row)
    except sqlite3.Error:
        return


def _first(row: dict, *keys):
    for key in keys:
        value = row.get(key)
        if value not in (None, ""):
            return value
    return None


def _epoch(row: dict, name: str) -> float | None:
    """``<name>_epoch`` (milliseconds) as seconds, else ``<name>`` as ISO-8601 text."""
    value = row.get(f"{name}_epoch")
    if isinstance(value, (int, float)) and value > 0:
        return value / 1000.0 if value > 1e11 else float(value)
    text = row.get(name)
    if isinstance(text, str) and text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _list(value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if not isinstance(value, str) or not value.strip():
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return []
    return [str(v) for v in parsed] if isinstance(parsed, list) else []


def _unique(paths: list[str], cwd: str = "") -> list[str]:
    """Each file once; the original lists a file both absolute and project-relative."""
    seen, out = set(), []
    prefix = cwd.rstrip("/") + "/" if cwd else ""
    for path in paths:
        if prefix and path.startswith(prefix):
            path = path[len(prefix):]
        if path not in seen:
            seen.add(path)
            out.append(path)
    return out


def import_database(path: str, store=None) -> dict:
    """Copy the original claude-mem's memory at ``path``; returns what was added."""
    from claude_mem import config
    from claude_mem.store import open_store
    from claude_mem.handlers import content_hash

    db = _open(path)
    try:
        tables = _tables(db)
        if not {"sdk_sessions", "observations"} <= tables:
            raise NotClaudeMemDatabase(
                f"{path} is not a claude-mem database (no sdk_sessions/observations tables)")
        owned = store is None
        if owned:
            config.ensure_data_dir()
            store = open_store(busy_timeout_ms=15000)
        try:
            return _copy(db, tables, store, content_hash, os.path.abspath(path))
        finally:
            if owned:
                store.close()
    finally:
        db.close()


def _copy(db, tables: set[str], store, content_hash, source: str) -> dict:
    added = {"sessions": 0, "prompts": 0, "observations": 0, "summaries": 0}
    already = 0
    problems: list[str] = []
    cwds: dict[str, str] = {}
    tool_uses: dict[str, list[str]] = {}
    if "tool_uses" in tables:
        for row in _rows(db, "tool_uses"):
            content_id = _first(row, "content_session_id", "claude_session_id")
            if not content_id:
                continue
            if row.get("cwd") and content_id not in cwds:
                cwds[content_id] = str(row["cwd"])
            if row.get("tool_use_id"):
                tool_uses.setdefault(content_id, []).append(str(row["tool_use_id"]))
    prompts_by_session: dict[str, list[dict]] = {}
    if "user_prompts" in tables:
        for row in _rows(db, "user_prompts"):
            content_id = _first(row, "content_session_id", "claude_session_id")
            if content_id:
                prompts_by_session.setdefault(content_id, []).append(row)
    observations = _grouped(db, "observations")
    summaries = _grouped(db, "session_summaries") if "session_summaries" in tables else {}

    for row in _rows(db, "sdk_sessions"):
        content_id = _first(row, "content_session_id", "claude_session_id")
        memory_id = _first(row, "memory_session_id", "sdk_session_id")
        if not content_id:
            problems.append(f"sdk_sessions row {row.get('id')}: no Claude session id")
            continue
        project = str(row.get("project") or "unknown")
        started = _epoch(row, "started_at") or 0.0
        completed = _epoch(row, "completed_at")
        with store.write():
            session, created = store.copy_session(
                content_id, project=project, cwd=cwds.get(content_id, ""), started_at=started,
                last_activity_at=completed or started, completed_at=completed or started,
                status="completed" if row.get("status") != "failed" else "failed",
                end_reason="imported from claude-mem")
            added["sessions"] += created
            already += not created
            sid = session["id"]
            numbers: dict[int, int] = {}
            for prompt in sorted(prompts_by_session.get(content_id, ()),
                                 key=lambda p: (p.get("prompt_number") or 0, p.get("id") or 0)):
                text = str(prompt.get("prompt_text") or "")
                legacy_number = prompt.get("prompt_number")
                number, new = store.copy_prompt(
                    sid, f"{SOURCE}:{content_id}:{legacy_number}", text,
                    _epoch(prompt, "created_at") or started,
                    legacy_number if isinstance(legacy_number, int) else None)
                if isinstance(legacy_number, int):
                    numbers[legacy_number] = number
                added["prompts"] += new
                already += not new
            for obs in observations.get(memory_id, ()) if memory_id else ():
                fields = {key: obs.get(key) for key in ("type", "title", "subtitle", "narrative")}
                if not fields["title"]:
                    fields["title"] = str(obs.get("text") or "")[:200] or "(untitled)"
                fields["type"] = str(fields["type"] or "change")
                for key in ("facts", "concepts"):
                    fields[key] = _list(obs.get(key))
                for key in ("files_read", "files_modified"):
                    fields[key] = _unique(_list(obs.get(key)), cwds.get(content_id, ""))
                origin = obs.get("content_hash") or obs.get("id")
                new = store.copy_observation(
                    sid, str(obs.get("project") or project), numbers.get(obs.get("prompt_number"),
                                                                     obs.get("prompt_number")),
                    fields, content_hash(SOURCE, content_id, origin, obs.get("id")),
                    f"{SOURCE}:{obs.get('generated_by_model') or 'unknown model'}",
                    _epoch(obs, "created_at") or started)
                added["observations"] += new
                already += not new
            for summary in summaries.get(memory_id, ()) if memory_id else ():
                legacy_number = summary.get("prompt_number") or 1
                fields = {key: summary.get(key) for key in (
                    "request", "investigated", "learned", "completed", "next_steps", "notes")}
                cwd = cwds.get(content_id, "")
                fields["files_read"] = _unique(_list(summary.get("files_read")), cwd)
                fields["files_edited"] = _unique(_list(summary.get("files_edited")), cwd)
                when = _epoch(summary, "created_at") or started
                new = store.copy_summary(sid, str(summary.get("project") or project),
                                         numbers.get(legacy_number, legacy_number), fields,
                                         f"{SOURCE}:{summary.get('generated_by_model') or 'claude-mem'}",
                                         when, when)
                added["summaries"] += new
                already += not new
            store.mark_tool_uses_processed(sid, tool_uses.get(content_id, ()), started)
    return {"source": source, "added": added, "already": already, "problems": problems}


def _grouped(db, table: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in _rows(db, table):
        key = _first(row, "memory_session_id", "sdk_session_id")
        if key:
            out.setdefault(key, []).append(row)
    return out
