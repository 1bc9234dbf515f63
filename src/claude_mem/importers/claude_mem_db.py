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

Safety: the path must be a regular file (a FIFO or device is refused before SQLite opens
it); every text goes through capture's privacy path (``records.text``) so ``<private>`` text
and secrets are never stored; list columns are parsed with bounded depth; each session is
checked whole and written in its own transaction, and a row of odd types (a blob, a
number too large for an id, text where a number belongs) costs that row, reported in
``problems``, never the import. "Already in memory" counts only rows memory really held.
"""
from __future__ import annotations

import os
import sqlite3
from datetime import datetime

from claude_mem.importers import records
from claude_mem.importers.records import BadRecord

SOURCE = "claude-mem-db"


class NotClaudeMemDatabase(ValueError):
    """The file is not a database of the original claude-mem."""


def _open(path: str) -> sqlite3.Connection:
    from claude_mem import boundedfile

    refused = boundedfile.check_regular(path)
    if refused:  # SQLite would block on a FIFO, or read a device forever
        raise NotClaudeMemDatabase(f"{path} is {refused.split(', not')[0]}, not a database file"
                                   if refused.startswith("a ") else f"{path} {refused}")
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
    """``<name>_epoch`` (milliseconds) as seconds, else ``<name>`` as ISO-8601 text; None if
    neither is a usable time."""
    value = row.get(f"{name}_epoch")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e14:
        return value / 1000.0 if value > records.MAX_EPOCH else float(value)
    text = row.get(name)
    if isinstance(text, str) and text:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError, OSError):
            return None
        return moment if 0 <= moment < records.MAX_EPOCH else None
    return None


def _list(value) -> list[str]:
    """A list column (a JSON array of texts) as clean texts; anything else is an empty list."""
    from claude_mem import boundedjson

    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, list):
        parsed = value
    elif not isinstance(value, str) or not value.strip():
        return []
    else:
        try:
            parsed = boundedjson.loads(value)  # a 100k-deep column parses, cut to a marker
        except ValueError:
            return []
    if not isinstance(parsed, list):
        return []
    return records.texts([v for v in parsed if isinstance(v, (str, int, float))
                          and not isinstance(v, bool)], "list")


def _number(value) -> int | None:
    """The original's prompt number when it is a usable one, else None."""
    try:
        return records.whole(value, "prompt_number", low=0, high=records.SQLITE_MAX,
                             required=False)
    except BadRecord:
        return None


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
            content_id = _key(_first(row, "content_session_id", "claude_session_id"))
            if not content_id:
                continue
            if row.get("cwd") and content_id not in cwds:
                cwds[content_id] = records.text(row["cwd"], "cwd", limit=4096)
            if row.get("tool_use_id"):
                tool_uses.setdefault(content_id, []).append(
                    records.text(row["tool_use_id"], "tool_use_id", limit=200))
    prompts_by_session: dict[str, list[dict]] = {}
    if "user_prompts" in tables:
        for row in _rows(db, "user_prompts"):
            content_id = _key(_first(row, "content_session_id", "claude_session_id"))
            if content_id:
                prompts_by_session.setdefault(content_id, []).append(row)
    observations = _grouped(db, "observations")
    summaries = _grouped(db, "session_summaries") if "session_summaries" in tables else {}

    for row in _rows(db, "sdk_sessions"):
        content_id = _key(_first(row, "content_session_id", "claude_session_id"))
        memory_id = _key(_first(row, "memory_session_id", "sdk_session_id"))
        where = f"sdk_sessions row {_shown_id(row.get('id'))}"
        if not content_id:
            problems.append(f"{where}: no Claude session id")
            continue
        try:
            plan = _session_plan(row, content_id, cwds.get(content_id, ""),
                                 prompts_by_session.get(content_id, ()),
                                 observations.get(memory_id, ()) if memory_id else (),
                                 summaries.get(memory_id, ()) if memory_id else (),
                                 content_hash, problems, where)
        except BadRecord as exc:
            problems.append(records.problem(where, exc))
            continue
        counts = {key: 0 for key in added}
        seen = [0]
        try:
            with store.write():  # one session, whole or not at all
                _write_session(store, plan, tool_uses.get(content_id, ()), counts, seen)
        except Exception as exc:
            problems.append(records.problem(where, exc))
            continue
        for key, value in counts.items():
            added[key] += value
        already += seen[0]
    return {"source": source, "added": added, "already": already, "problems": problems}


def _key(value) -> str:
    """A session id column as text ("" when there is none)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value is None or isinstance(value, (bool, float)):
        return ""
    return str(value)[:200]


def _shown_id(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 24 else shown[:21] + "..."


def _session_plan(row, content_id, cwd, prompt_rows, obs_rows, summary_rows, content_hash,
                  problems, where) -> dict:
    """One session's rows checked and cleaned before anything is written."""
    project = records.text(row.get("project"), "project", limit=400) or "unknown"
    started = _epoch(row, "started_at") or 0.0
    completed = _epoch(row, "completed_at")
    plan = {"content_id": records.text(content_id, "content_session_id", limit=200),
            "project": project, "cwd": cwd, "started": started, "completed": completed,
            "status": "completed" if row.get("status") != "failed" else "failed",
            "prompts": [], "observations": [], "summaries": []}

    def order(p):
        number = _number(p.get("prompt_number"))
        ident = p.get("id") if isinstance(p.get("id"), int) else 0
        return (number if number is not None else records.SQLITE_MAX, ident)

    for prompt in sorted(prompt_rows, key=order):
        try:
            legacy = _number(prompt.get("prompt_number"))
            # The prompt's identity: its number when usable, else its own row id.
            tag = legacy if legacy is not None else f"row{_shown_id(prompt.get('id'))}"
            plan["prompts"].append({
                "prompt_id": f"{SOURCE}:{plan['content_id']}:{tag}", "legacy": legacy,
                "text": records.text(prompt.get("prompt_text"), "prompt_text"),
                "at": _epoch(prompt, "created_at") or started})
        except BadRecord as exc:
            problems.append(f"{where}: user_prompts row {_shown_id(prompt.get('id'))} left out: {exc}")
    for obs in obs_rows:
        try:
            fields = {key: records.text(obs.get(key), key) for key in ("title", "subtitle",
                                                                     "narrative")}
            if not fields["title"]:
                fields["title"] = records.text(obs.get("text"), "text", limit=200) or "(untitled)"
            fields["type"] = records.text(obs.get("type"), "type", limit=40) or "change"
            for key in ("facts", "concepts"):
                fields[key] = _list(obs.get(key))
            for key in ("files_read", "files_modified"):
                fields[key] = _unique(_list(obs.get(key)), cwd)
            origin = obs.get("content_hash") or obs.get("id")
            if isinstance(origin, bytes):
                origin = origin.hex()
            model = records.text(obs.get("generated_by_model"), "generated_by_model", limit=120)
            plan["observations"].append({
                "project": records.text(obs.get("project"), "project", limit=400) or project,
                "legacy": _number(obs.get("prompt_number")), "fields": fields,
                "hash": content_hash(SOURCE, content_id, origin, _shown_id(obs.get("id"))
                                     if not isinstance(obs.get("id"), int) else obs.get("id")),
                "generated_by": f"{SOURCE}:{model or 'unknown model'}",
                "at": _epoch(obs, "created_at") or started})
        except BadRecord as exc:
            problems.append(f"{where}: observations row {_shown_id(obs.get('id'))} left out: {exc}")
    for summary in summary_rows:
        try:
            fields = {key: records.text(summary.get(key), key) for key in (
                "request", "investigated", "learned", "completed", "next_steps", "notes")}
            fields["files_read"] = _unique(_list(summary.get("files_read")), cwd)
            fields["files_edited"] = _unique(_list(summary.get("files_edited")), cwd)
            model = records.text(summary.get("generated_by_model"), "generated_by_model", limit=120)
            legacy = _number(summary.get("prompt_number"))
            plan["summaries"].append({
                "project": records.text(summary.get("project"), "project", limit=400) or project,
                "legacy": legacy if legacy else 1, "fields": fields,
                "generated_by": f"{SOURCE}:{model or 'claude-mem'}",
                "at": _epoch(summary, "created_at") or started})
        except BadRecord as exc:
            problems.append(f"{where}: session_summaries row {_shown_id(summary.get('id'))}"
                            f" left out: {exc}")
    return plan


def _write_session(store, plan: dict, tool_uses, added: dict, already: list) -> None:
    session, created = store.copy_session(
        plan["content_id"], project=plan["project"], cwd=plan["cwd"], started_at=plan["started"],
        last_activity_at=plan["completed"] or plan["started"],
        completed_at=plan["completed"] or plan["started"], status=plan["status"],
        end_reason="imported from claude-mem")
    added["sessions"] += created
    already[0] += not created
    sid = session["id"]
    numbers: dict[int, int] = {}
    for prompt in plan["prompts"]:
        # Two prompts of the same text are two prompts here: only a prompt recorded some
        # other way (the hooks, a transcript import) counts as the same by its text.
        number, new = store.copy_prompt(sid, prompt["prompt_id"], prompt["text"], prompt["at"],
                                        prompt["legacy"] or None, own_prefix=f"{SOURCE}:")
        if prompt["legacy"] is not None:
            numbers[prompt["legacy"]] = number
        added["prompts"] += new
        already[0] += not new
    for obs in plan["observations"]:
        new = store.copy_observation(
            sid, obs["project"], numbers.get(obs["legacy"], obs["legacy"]), obs["fields"],
            obs["hash"], obs["generated_by"], obs["at"])
        added["observations"] += new
        already[0] += not new
    for summary in plan["summaries"]:
        new = store.copy_summary(sid, summary["project"],
                                 numbers.get(summary["legacy"], summary["legacy"]),
                                 summary["fields"], summary["generated_by"], summary["at"],
                                 summary["at"])
        added["summaries"] += new
        already[0] += not new
    store.mark_tool_uses_processed(sid, tool_uses, plan["started"])


def _grouped(db, table: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in _rows(db, table):
        key = _key(_first(row, "memory_session_id", "sdk_session_id"))
        if key:
            out.setdefault(key, []).append(row)
    return out
