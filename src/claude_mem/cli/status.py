"""``claude-mem status``, ``doctor`` and ``cleanup-sessions``: how the installation, the
worker and the sessions are doing."""
from __future__ import annotations

import sys
import time

import click

from claude_mem import config, control
from claude_mem.cli.output import dump, existing_store, open_store
from claude_mem.text import when


@click.command("status")
@click.option("--json", "as_json", is_flag=True,
              help="The same report as JSON (what the viewer's status panel shows).")
def status_cmd(as_json):
    """Worker, queue, sessions and LLM spending at a glance."""
    from claude_mem import health

    from claude_mem.viewer import process

    report = health.status(viewer=process.state(config.load()))
    if as_json:
        dump(report)
    else:
        click.echo(health.format_status(report))


@click.command("doctor")
@click.option("--claude-config-dir", type=click.Path(file_okay=False))
@click.option("--codex-home", type=click.Path(file_okay=False),
              help="Codex's config folder (default: $CODEX_HOME, else ~/.codex).")
@click.option("--gemini-dir", type=click.Path(file_okay=False),
              help="Gemini CLI's config folder (default: ~/.gemini).")
@click.option("--json", "as_json", is_flag=True,
              help="Each check as {status, message}, and each agent's hooks; exit code as without --json.")
def doctor_cmd(claude_config_dir, codex_home, gemini_dir, as_json):
    """Check the installation (Claude Code and Codex CLI) and the data; exit 1 when something
    needs attention."""
    from claude_mem import health

    from claude_mem.viewer import process

    problems, lines = health.doctor(claude_config_dir, codex_home,
                                    viewer=process.state(config.load()), gemini_dir=gemini_dir)
    if as_json:
        checks = [{"status": line[:6].strip().lower(), "message": line[6:]} for line in lines]
        dump({"ok": not problems, "problems": problems, "checks": checks,
               "agents": health.agent_hooks(claude_config_dir, codex_home, gemini_dir)})
    else:
        for line in lines:
            click.echo(line)
    sys.exit(1 if problems else 0)


def _finite_hours(ctx, param, value):
    # FloatRange lets nan (no comparison is true for it) and inf through.
    if value is not None and not 0 < value < float("inf"):
        raise click.BadParameter(f"{value} is not a number of hours more than 0", ctx, param)
    return value


@click.command("cleanup-sessions")
@click.option("--max-age", "max_age", type=click.FloatRange(min=0, min_open=True), default=None,
              callback=_finite_hours,
              help="Hours without activity before an active session is expired, more than 0 "
                   "(default: the session_max_age_hours setting).")
@click.option("--dry-run", is_flag=True, help="Only list what would be expired.")
@click.option("--json", "as_json", is_flag=True,
              help="The sessions expired (or that would be, with --dry-run) as JSON.")
def cleanup_sessions_cmd(max_age, dry_run, as_json):
    """Summarize and close (as failed) sessions left 'active' too long, like the worker's expiry."""
    hours = max_age if max_age is not None else config.load().session_max_age_hours
    cutoff = time.time() - hours * 3600
    with existing_store() as store:
        rows = store.expire_sessions(cutoff, dry_run=True)
        open_before = {row["id"]: store.unsummarized_prompts(row["id"]) for row in rows}
    note = None
    if rows and not dry_run:
        # The worker closes them exactly as its own expiry does: the open request is
        # summarized first (by the configured compressor), then the session is failed.
        note = _expire_through_worker(hours, [row["id"] for row in rows])
    report = []
    with open_store() as store:
        for row in rows:
            after = store.session(row["id"]) or row
            still_open = store.unsummarized_prompts(row["id"]) if not dry_run else open_before[row["id"]]
            report.append({"id": row["id"], "claude_session_id": row["claude_session_id"],
                           "project": row["project"], "last_activity_at": row["last_activity_at"],
                           "status": after["status"], "end_reason": after.get("end_reason"),
                           "open_requests": len(open_before[row["id"]]),
                           "summarized": len(open_before[row["id"]]) - len(still_open)})
    summarized = sum(r["summarized"] for r in report)
    if as_json:
        dump({"dry_run": dry_run, "max_age_hours": hours, "sessions": report,
               "summarized_requests": summarized, "note": note})
        return
    if dry_run:
        click.echo(f"would expire {len(rows)} session(s) inactive for more than {hours:g} h, "
                   f"summarizing {sum(r['open_requests'] for r in report)} open request(s) first")
    else:
        click.echo(f"expired {len(rows)} session(s) inactive for more than {hours:g} h; "
                   f"summarized {summarized} open request(s)")
    for r in report:
        click.echo(f"  #{r['id']} {r['claude_session_id'][:8]} {r['project']} last activity "
                   f"{when(r['last_activity_at'])}: {r['open_requests']} open request(s)"
                   + ("" if dry_run else f", {r['summarized']} summarized, now {r['status']}"))
    if note:
        click.echo(f"note: {note}", err=True)


def _expire_through_worker(hours: float, session_ids: list[int], timeout: float = 120.0) -> str | None:
    """Ask the worker to expire these sessions and wait until it has; a note if it could not."""
    control.ensure_worker()
    deadline = time.monotonic() + timeout
    reply = None
    while time.monotonic() < deadline and not reply:
        reply = control.request({"cmd": "expire", "max_age_hours": hours}, timeout=2.0)
        if not reply:
            time.sleep(0.1)
    if not reply or not reply.get("ok"):
        with open_store() as store:  # no worker to summarize: close them anyway, and say so
            store.expire_sessions(time.time() - hours * 3600)
        return ("the worker did not take the request "
                f"({(reply or {}).get('error', 'no answer')}): marked failed without summaries")
    while time.monotonic() < deadline:
        with open_store() as store:
            if all((store.session(sid) or {}).get("status") != "active" for sid in session_ids):
                return None
        time.sleep(0.2)
    return f"the worker is still closing them; see `claude-mem status` and {config.log_path()}"
