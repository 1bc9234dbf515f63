"""What ``claude-mem team status`` and ``claude-mem doctor`` say about team memory.

Contract: ``team_status()`` gathers a JSON-able report without changing anything — the
masked URL, the member name, shared projects with their outbox depth and last pull, the
last sync's outcome and, when a URL is set, a live connection check (role, team, server
and schema version, rows per shared project on the server). ``doctor_lines()`` turns it
into doctor's (ok, line) checks; nothing at all when team memory is not configured.
"""
from __future__ import annotations

import os
import time

from claude_mem import config


def team_status(check_connection: bool = True) -> dict:
    """The report behind ``team status`` (and ``doctor``)."""
    from claude_mem.store.team import TeamStore
    from claude_mem.team.sync import member_name
    from claude_mem.dburl import mask

    settings = config.load()
    url = str(settings.team_database_url or "")
    report: dict = {"configured": bool(url), "url": mask(url), "member": member_name(settings),
                    "shared_projects": [], "outbox": 0, "last_sync": None}
    if os.path.exists(config.db_path()):
        from claude_mem.store import open_store

        with open_store() as store:
            team = TeamStore(store)
            report["shared_projects"] = [
                {"name": p["name"], "key": p["project_key"], "folders": p["roots"],
                 "outbox": p["outbox"], "last_pull_at": p["last_pull_at"]}
                for p in team.shared_projects()]
            report["outbox"] = team.outbox_depth()
            report["last_sync"] = team.get_state("last_sync")
            report["last_success_at"] = team.get_state("last_success_at")
    if url and check_connection:
        report["connection"] = _check_connection(url, settings, report["shared_projects"])
    return report


def _check_connection(url: str, settings, projects: list[dict]) -> dict:
    from claude_mem.store.postgres import TeamDatabase, TeamDatabaseError

    started = time.monotonic()
    try:
        with TeamDatabase.open(url, connect_timeout=float(settings.team_connect_timeout_seconds)) as pg:
            who = pg.whoami()
            counts = pg.project_counts([p["key"] for p in projects]) if who["team"] else {}
    except TeamDatabaseError as exc:
        return {"ok": False, "error": str(exc)}
    for item in projects:
        item["on_server"] = counts.get(item["key"], 0)
    ok = bool(who["team"])
    out = {"ok": ok, **who, "seconds": round(time.monotonic() - started, 3)}
    if not ok:
        out["error"] = (f"role {who['role']!r} is in no team (an administrator runs "
                        f"`claude-mem team add-member {who['role']} --team NAME`)")
    return out


def doctor_lines() -> list[tuple[bool | None, str]]:
    """(True: ok / False: needs fixing / None: information, text) for ``claude-mem doctor``."""
    if not config.load().team_database_url:
        return []
    report = team_status()
    conn = report["connection"]
    out: list[tuple[bool | None, str]] = []
    if conn["ok"]:
        out.append((True, f"team database reachable as {conn['role']} in team {conn['team']} "
                          f"(schema v{conn['schema_version']})"))
    else:
        out.append((False, f"team database: {conn['error']}"))
    names = ", ".join(p["name"] for p in report["shared_projects"]) or "none"
    out.append((None, f"team: shared projects: {names}; outbox {report['outbox']} record(s)"))
    last = report.get("last_sync") or {}
    if last.get("error"):
        out.append((None, f"team: last sync failed: {last['error']}"))
    return out
