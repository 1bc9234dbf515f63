"""Health of an installation: ``claude-mem status`` and ``claude-mem doctor``.

Contract: ``status()`` gathers a JSON-able report (worker liveness by a ping over the
socket, queue depth and oldest pending event, parked rows, sessions, LLM spending per
day, recent errors from the log) without changing anything. ``doctor()`` returns
(problems, lines): each check as a line, problems counted, with what to do about each.
"""
from __future__ import annotations

import os
import time

from claude_mem import config, control, log


def status() -> dict:
    from claude_mem.store import Store

    report: dict = {"data_dir": config.data_dir(), "database": config.db_path()}
    ping = control.request({"cmd": "ping"}, timeout=2.0)
    report["worker"] = ping or {"running": False, "lock_held": control.worker_lock_held()}
    if ping:
        report["worker"]["running"] = True
    if not os.path.exists(config.db_path()):
        report["note"] = "no database yet: nothing has been recorded"
        return report
    with Store(config.db_path()) as store:
        report["queue"] = store.queue_stats()
        report["parked"] = [dict(r) for r in store.parked_rows()]
        report["counts"] = store.counts()
        report["active_sessions"] = [
            {"id": r["id"], "claude_session_id": r["claude_session_id"], "project": r["project"],
             "last_activity_at": r["last_activity_at"]}
            for r in store.db.execute("SELECT * FROM sessions WHERE status = 'active'"
                                      " ORDER BY last_activity_at DESC LIMIT 20")]
        report["llm_usage"] = [dict(r) for r in store.llm_usage_by_day()]
        report["llm_usage_by_session"] = [dict(r) for r in store.db.execute(
            "SELECT s.claude_session_id, u.backend, u.model, SUM(u.calls) AS calls,"
            " SUM(u.input_tokens + u.output_tokens) AS tokens FROM llm_usage u"
            " JOIN sessions s ON s.id = u.session_id GROUP BY u.session_id, u.backend, u.model"
            " ORDER BY MAX(u.id) DESC LIMIT 10")]
    report["recent_errors"] = log.tail(5, "error")
    return report


def _when(epoch) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def format_status(report: dict) -> str:
    w = report["worker"]
    lines = [f"data:    {report['data_dir']}"]
    if w.get("running"):
        lines.append(f"worker:  running, pid {w['pid']}, since {_when(w['started_at'])}, "
                     f"{w['processed']} events processed, compressor {w['compressor']}")
    else:
        lines.append("worker:  not running" + (" (starting)" if w.get("lock_held") else
                                               " (it starts on the next hook event)"))
    if "queue" not in report:
        lines.append(report.get("note", ""))
        return "\n".join(lines)
    q = report["queue"]
    age = f", oldest {time.time() - q['oldest_pending_at']:.0f}s old" if q["oldest_pending_at"] else ""
    lines.append(f"queue:   {q['pending']} pending{age}, {q['parked']} parked")
    for row in report["parked"]:
        lines.append(f"  parked #{row['id']} {row['event']} ({row['attempts']} attempts): {row['last_error']}")
    c = report["counts"]
    lines.append(f"memory:  {c['sessions']} sessions ({c['active_sessions']} active), {c['prompts']} prompts, "
                 f"{c['observations']} observations, {c['summaries']} summaries")
    for row in report["llm_usage"]:
        lines.append(f"llm:     {row['day']} {row['backend']} {row['model'] or ''}: {row['calls']} calls, "
                     f"{row['input_tokens']}+{row['output_tokens']} tokens, {row['failures']} failures")
    for row in report.get("llm_usage_by_session", []):
        lines.append(f"  session {row['claude_session_id'][:8]} {row['backend']}: "
                     f"{row['calls']} calls, {row['tokens']} tokens")
    for line in report["recent_errors"]:
        lines.append(f"error:   {line}")
    return "\n".join(lines)


def doctor(claude_config_dir: str | None = None) -> tuple[int, list[str]]:
    from claude_mem import install
    from claude_mem.hooks import HOOK_EVENTS
    from claude_mem.store import Store

    problems = 0
    lines = []

    def check(ok: bool, good: str, bad: str) -> None:
        nonlocal problems
        lines.append(("ok    " if ok else "FIX   ") + (good if ok else bad))
        problems += 0 if ok else 1

    data = config.data_dir()
    check(os.path.isdir(data), f"data dir {data}", f"data dir {data} missing (run `claude-mem install`)")
    if os.path.isdir(data):
        mode = os.stat(data).st_mode & 0o777
        check(mode & 0o077 == 0, f"data dir is private ({oct(mode)})",
              f"data dir is readable by others ({oct(mode)}): chmod 700 {data}")
    settings = config.load()
    check(not settings.problems, "settings are valid", "settings problems: " + "; ".join(settings.problems))
    found = install.installed_commands(claude_config_dir)
    missing = [e for e in HOOK_EVENTS.values() if e not in found]
    check(not missing, f"all {len(HOOK_EVENTS)} hooks installed",
          f"hooks missing: {', '.join(missing)} (run `claude-mem install`)")
    for event, command in found.items():
        python = command.split(" ")[0].strip("'\"")
        if not os.path.exists(python):
            check(False, "", f"{event} hook points at a missing interpreter {python}; re-run install")
            break
    if os.path.exists(config.db_path()):
        with Store(config.db_path()) as store:
            result = store.integrity()
            check(result == "ok", "database integrity ok", f"database integrity: {result}")
            q = store.queue_stats()
            check(q["parked"] == 0, "no parked queue rows",
                  f"{q['parked']} queue rows parked after repeated failures "
                  "(see `claude-mem status`; retry with `claude-mem worker retry-parked`)")
            stale = q["oldest_pending_at"] and time.time() - q["oldest_pending_at"] > 300
            check(not stale, "queue is moving", "events have waited over 5 minutes: is the worker failing?")
    ping = control.request({"cmd": "ping"}, timeout=2.0)
    lines.append("info  worker " + (f"running (pid {ping['pid']})" if ping else
                                    "not running (started on demand by the hooks)"))
    return problems, lines
