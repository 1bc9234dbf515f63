"""What ``claude-mem export`` wrote, read back (moving memory to a new machine).

Contract: ``import_file(path, store=None)`` takes a ``claude-mem-export/1`` document
(``{"format", "exported_at", "sessions": [{"session", "prompts", "observations",
"summaries"}]}``; ``-`` reads stdin) and copies every session with its prompts, observations
and summaries exactly: same Claude session ids, projects, cwds, prompt numbers and ids,
times, ``generated_by`` and content hashes. Into an empty data dir the rows keep their ids
too, so search and the next session's context come out the same as on the machine that
exported them. Idempotent: sessions by Claude session id, prompts by id or text,
observations by content hash, summaries per request; nothing already here is overwritten.
The tool calls behind the observations are marked as processed, so importing transcripts
of the same sessions afterwards adds nothing twice. A document that is not an export raises
``BadExport``.

Safety: the file is read through ``boundedfile`` (regular files or a pipe on stdin, at most
``MAX_EXPORT_BYTES``, nesting cut per value); every text goes through capture's privacy
path (``records.text``), so ``<private>`` text and secrets in an export are never stored;
each session is checked whole and written in its own transaction: a malformed session or
item is skipped and reported (``problems``), the rest is imported, never a traceback.
"""
from __future__ import annotations

from claude_mem.importers import records
from claude_mem.importers.records import BadRecord
from claude_mem.hook_events import AGENTS

FORMAT = "claude-mem-export/1"
MAX_EXPORT_BYTES = 2 << 30      # 2 GiB; a bigger memory exports per project (--project)
STATUSES = ("active", "completed", "failed")


class BadExport(ValueError):
    """The file is not something ``claude-mem export`` wrote."""


def _load(path: str) -> dict:
    from claude_mem import boundedfile

    try:
        document = boundedfile.read_json(path, max_bytes=MAX_EXPORT_BYTES)
    except boundedfile.Refused as exc:
        raise BadExport(f"not a readable JSON export: {exc}") from None
    name = "standard input" if path == "-" else path
    if not isinstance(document, dict) or document.get("format") != FORMAT \
            or not isinstance(document.get("sessions"), list):
        raise BadExport(f"{name}: not a claude-mem export (expected format {FORMAT!r})")
    return document


def import_file(path: str, store=None) -> dict:
    from claude_mem import config
    from claude_mem.store import open_store

    document = _load(path)
    owned = store is None
    if owned:
        config.ensure_data_dir()
        store = open_store(busy_timeout_ms=15000)
    try:
        added = {"sessions": 0, "prompts": 0, "observations": 0, "summaries": 0}
        totals = {"already": 0}
        problems: list[str] = []
        checked = []
        for index, item in enumerate(document["sessions"]):
            where = f"session {index + 1}"
            try:
                checked.append(_checked_session(item, where, problems))
            except BadRecord as exc:
                problems.append(records.problem(where, exc))
        # Oldest first, so ids handed out in an empty database follow the original order.
        checked.sort(key=lambda c: (c["session"]["keep_id"] if c["session"]["keep_id"] is not None
                                    else float("inf"), c["session"]["started_at"]))
        for session in checked:
            counts = {key: 0 for key in added}
            already = [0]
            try:
                with store.write():
                    _copy_session(store, session, counts, already)
            except Exception as exc:  # that session only: its transaction was rolled back
                problems.append(records.problem(session["where"], exc))
                continue
            for key, value in counts.items():
                added[key] += value
            totals["already"] += already[0]
        return {"source": path, "added": added, "already": totals["already"],
                "problems": problems}
    finally:
        if owned:
            store.close()


def _checked_session(item, where: str, problems: list[str]) -> dict:
    """One session of the document, checked and cleaned whole (``BadRecord`` if unusable).

    A malformed prompt, observation or summary is left out with a problem line; a session
    without its id, project or start time is unusable.
    """
    if not isinstance(item, dict) or not isinstance(item.get("session"), dict):
        raise BadRecord("not a session object")
    meta = item["session"]
    claude_id = records.text(meta.get("claude_session_id"), "claude_session_id", required=True,
                             limit=200)
    where = f"{where} ({claude_id[:36]})"
    started = records.moment(meta.get("started_at"), "started_at")
    session = {
        "claude_session_id": claude_id,
        "project": records.text(meta.get("project"), "project", required=True, limit=400),
        "cwd": records.text(meta.get("cwd"), "cwd", limit=4096),
        "started_at": started,
        "last_activity_at": records.moment(meta.get("last_activity_at"), "last_activity_at",
                                           required=False) or started,
        "completed_at": records.moment(meta.get("completed_at"), "completed_at", required=False),
        "status": records.choice(meta.get("status"), "status", STATUSES, "completed"),
        "end_reason": records.optional_text(meta.get("end_reason"), "end_reason"),
        "runs": _optional_whole(meta.get("runs"), "runs", 1, 1_000_000) or 1,
        "keep_id": _optional_whole(meta.get("id"), "id", 1, records.SQLITE_MAX),
        # Exports from before sessions recorded their agent were all Claude Code's.
        "agent": records.choice(meta.get("agent"), "agent", AGENTS, "claude-code"),
    }
    out = {"where": where, "session": session, "prompts": [], "observations": [], "summaries": []}
    for kind, one, check in (("prompts", "prompt", _checked_prompt),
                             ("observations", "observation", _checked_observation),
                             ("summaries", "summary", _checked_summary)):
        items = item.get(kind)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(f"{where}: {kind} is not a list; left out")
            continue
        for number, entry in enumerate(items, 1):
            try:
                if not isinstance(entry, dict):
                    raise BadRecord(f"not an object ({type(entry).__name__})")
                out[kind].append(check(entry, session))
            except BadRecord as exc:
                problems.append(f"{where}: {one} {number} left out: {exc}")
    return out


def _optional_whole(value, field: str, low: int, high: int) -> int | None:
    """A whole number in range, or None for one that is missing or unusable (ids, counts)."""
    try:
        return records.whole(value, field, low=low, high=high, required=False)
    except BadRecord:
        return None


def _checked_prompt(prompt: dict, session: dict) -> dict:
    return {"prompt_id": records.text(prompt.get("prompt_id"), "prompt_id", limit=400) or None,
            "prompt": records.text(prompt.get("prompt"), "prompt", required=True),
            "created_at": records.moment(prompt.get("created_at"), "created_at", required=False)
            or session["started_at"],
            "prompt_number": _optional_whole(prompt.get("prompt_number"), "prompt_number", 1,
                                             records.SQLITE_MAX)}


def _checked_observation(obs: dict, session: dict) -> dict:
    fields = {key: records.text(obs.get(key), key) for key in (
        "type", "title", "subtitle", "narrative", "tool_name", "tool_use_id")}
    for key in ("facts", "concepts", "files_read", "files_modified"):
        fields[key] = records.texts(obs.get(key), key)
    return {"fields": fields,
            "project": records.text(obs.get("project"), "project", limit=400) or session["project"],
            "prompt_number": _optional_whole(obs.get("prompt_number"), "prompt_number", 0,
                                             records.SQLITE_MAX),
            "content_hash": records.text(obs.get("content_hash"), "content_hash", required=True,
                                         limit=200),
            "generated_by": records.text(obs.get("generated_by"), "generated_by", limit=200)
            or "imported",
            "created_at": records.moment(obs.get("created_at"), "created_at", required=False)
            or session["started_at"],
            "keep_id": _optional_whole(obs.get("id"), "id", 1, records.SQLITE_MAX)}


def _checked_summary(summary: dict, session: dict) -> dict:
    fields = {key: records.text(summary.get(key), key) for key in (
        "request", "investigated", "learned", "completed", "next_steps", "notes")}
    for key in ("files_read", "files_edited"):
        fields[key] = records.texts(summary.get(key), key)
    created = records.moment(summary.get("created_at"), "created_at", required=False) \
        or session["started_at"]
    return {"fields": fields,
            "project": records.text(summary.get("project"), "project", limit=400)
            or session["project"],
            "prompt_number": records.whole(summary.get("prompt_number"), "prompt_number", low=0),
            "generated_by": records.text(summary.get("generated_by"), "generated_by", limit=200)
            or "imported",
            "created_at": created,
            "updated_at": records.moment(summary.get("updated_at"), "updated_at", required=False),
            "keep_id": _optional_whole(summary.get("id"), "id", 1, records.SQLITE_MAX)}


def _copy_session(store, item: dict, added: dict, already: list) -> None:
    meta = item["session"]
    session, created = store.copy_session(
        meta["claude_session_id"], project=meta["project"], cwd=meta["cwd"],
        started_at=meta["started_at"], last_activity_at=meta["last_activity_at"],
        completed_at=meta["completed_at"], status=meta["status"], end_reason=meta["end_reason"],
        runs=meta["runs"], keep_id=meta["keep_id"], agent=meta["agent"])
    added["sessions"] += created
    already[0] += not created
    sid = session["id"]
    numbers: dict = {}
    for prompt in item["prompts"]:
        number, new = store.copy_prompt(
            sid, prompt["prompt_id"] or f"export:{meta['claude_session_id']}:"
                                        f"{prompt['prompt_number']}",
            prompt["prompt"], prompt["created_at"], prompt["prompt_number"])
        numbers[prompt["prompt_number"]] = number
        added["prompts"] += new
        already[0] += not new
    tool_uses = []
    for obs in sorted(item["observations"], key=lambda o: o["keep_id"] or 0):
        new = store.copy_observation(
            sid, obs["project"], numbers.get(obs["prompt_number"], obs["prompt_number"]),
            obs["fields"], obs["content_hash"], obs["generated_by"], obs["created_at"],
            keep_id=obs["keep_id"])
        added["observations"] += new
        already[0] += not new
        if obs["fields"]["tool_use_id"]:
            tool_uses.append(obs["fields"]["tool_use_id"])
    for summary in sorted(item["summaries"], key=lambda m: m["keep_id"] or 0):
        number = numbers.get(summary["prompt_number"], summary["prompt_number"])
        new = store.copy_summary(
            sid, summary["project"], number, summary["fields"], summary["generated_by"],
            summary["created_at"], summary["updated_at"], keep_id=summary["keep_id"])
        added["summaries"] += new
        already[0] += not new
    store.mark_tool_uses_processed(sid, tool_uses, meta["started_at"])
