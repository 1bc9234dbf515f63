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
``BadExport``; a malformed session is reported and skipped.
"""
from __future__ import annotations

import json
import sys

FORMAT = "claude-mem-export/1"


class BadExport(ValueError):
    """The file is not something ``claude-mem export`` wrote."""


def _load(path: str) -> dict:
    try:
        if path == "-":
            document = json.load(sys.stdin)
        else:
            with open(path, encoding="utf-8") as fh:
                document = json.load(fh)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadExport(f"{path}: not a readable JSON export ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT \
            or not isinstance(document.get("sessions"), list):
        raise BadExport(f"{path}: not a claude-mem export (expected format {FORMAT!r})")
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
        # Oldest first, so ids handed out in an empty database follow the original order.
        items = [i for i in document["sessions"] if isinstance(i, dict)]
        items.sort(key=lambda item: _session_order(item))
        for index, item in enumerate(items):
            try:
                with store.write():
                    _copy_session(store, item, added, totals)
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"session {index + 1}: {exc!r}")
        return {"source": path, "added": added, "already": totals["already"],
                "problems": problems}
    finally:
        if owned:
            store.close()


def _session_order(item: dict):
    session = item.get("session") if isinstance(item.get("session"), dict) else {}
    ident = session.get("id")
    return (ident if isinstance(ident, int) else float("inf"), session.get("started_at") or 0)


def _copy_session(store, item: dict, added: dict, totals: dict) -> None:
    meta = item["session"]
    started = float(meta["started_at"])
    session, created = store.copy_session(
        str(meta["claude_session_id"]), project=str(meta["project"]), cwd=meta.get("cwd") or "",
        started_at=started, last_activity_at=float(meta.get("last_activity_at") or started),
        completed_at=meta.get("completed_at"), status=meta.get("status") or "completed",
        end_reason=meta.get("end_reason"), runs=meta.get("runs") or 1, keep_id=meta.get("id"))
    added["sessions"] += created
    totals["already"] += not created
    sid = session["id"]
    numbers: dict = {}
    for prompt in item.get("prompts") or ():
        number, new = store.copy_prompt(
            sid, prompt.get("prompt_id") or f"export:{meta['claude_session_id']}:"
                                            f"{prompt.get('prompt_number')}",
            str(prompt["prompt"]), float(prompt["created_at"]), prompt.get("prompt_number"))
        numbers[prompt.get("prompt_number")] = number
        added["prompts"] += new
        totals["already"] += not new
    tool_uses = []
    for obs in sorted(item.get("observations") or (), key=lambda o: o.get("id") or 0):
        new = store.copy_observation(
            sid, str(obs.get("project") or meta["project"]),
            numbers.get(obs.get("prompt_number"), obs.get("prompt_number")), obs,
            str(obs["content_hash"]), str(obs.get("generated_by") or "imported"),
            float(obs["created_at"]), keep_id=obs.get("id"))
        added["observations"] += new
        totals["already"] += not new
        if obs.get("tool_use_id"):
            tool_uses.append(obs["tool_use_id"])
    for summary in sorted(item.get("summaries") or (), key=lambda m: m.get("id") or 0):
        number = numbers.get(summary.get("prompt_number"), summary.get("prompt_number"))
        new = store.copy_summary(
            sid, str(summary.get("project") or meta["project"]), int(number), summary,
            str(summary.get("generated_by") or "imported"), float(summary["created_at"]),
            summary.get("updated_at"), keep_id=summary.get("id"))
        added["summaries"] += new
        totals["already"] += not new
    store.mark_tool_uses_processed(sid, tool_uses, started)
