"""The ``claude-mem`` command line.

Contract: every command works against ``$CLAUDE_MEM_DATA_DIR`` (default ``~/.claude-mem``).
Errors a person can fix are reported as one clear line with exit code 1 or 2 (click's
usage errors); ``--json`` output is stable, machine-readable JSON. Hook entry points are
here too (``claude-mem hook EVENT``) for completeness, but ``install`` writes the faster
direct command (see ``install.hook_command``).
"""
from __future__ import annotations

import json
import os
import sys
import time

import click

from claude_mem import config, control
from claude_mem.text import when


def _store():
    from claude_mem.store import open_store

    return open_store()




def _dump(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@click.group()
@click.version_option(package_name="claude-mem")
def main():
    """Persistent memory for Claude Code."""


# -- installing ------------------------------------------------------------------------


@main.command("install")
@click.option("--claude-config-dir", type=click.Path(file_okay=False),
              help="Claude Code's config folder (default: $CLAUDE_CONFIG_DIR, else ~/.claude).")
def install_cmd(claude_config_dir):
    """Add claude-mem's hooks to Claude Code's settings.json (idempotent)."""
    from claude_mem import install

    try:
        path = install.install(claude_config_dir)
    except install.SettingsError as exc:
        raise click.ClickException(str(exc))
    config.ensure_data_dir()
    click.echo(f"Installed claude-mem hooks into {path}")
    click.echo(f"Memory is kept in {config.db_path()}")


@main.command("uninstall")
@click.option("--claude-config-dir", type=click.Path(file_okay=False))
def uninstall_cmd(claude_config_dir):
    """Remove claude-mem's hooks (and only those) from settings.json."""
    from claude_mem import install

    try:
        path = install.uninstall(claude_config_dir)
    except install.SettingsError as exc:
        raise click.ClickException(str(exc))
    control.stop_worker()
    click.echo(f"Removed claude-mem hooks from {path} (your memory in {config.data_dir()} is kept)")


@main.command("hook")
@click.argument("event")
def hook_cmd(event):
    """Run one hook (reads Claude Code's JSON on stdin). Always exits 0."""
    from claude_mem import hooks

    sys.exit(hooks.main([event]))


# -- the worker ------------------------------------------------------------------------


@main.group("worker")
def worker_group():
    """Start, stop or inspect the background worker."""


@worker_group.command("start")
@click.option("--foreground", is_flag=True, help="Run in this process (for debugging).")
def worker_start(foreground):
    if foreground:
        from claude_mem import worker

        sys.exit(worker.main())
    state = control.ensure_worker()
    for _ in range(100):
        reply = control.request({"cmd": "ping"}, timeout=1.0)
        if reply:
            click.echo(f"worker {state}: pid {reply['pid']}")
            return
        time.sleep(0.05)
    raise click.ClickException(f"worker {state} but does not answer yet; see {config.log_path()}")


@worker_group.command("stop")
def worker_stop():
    """Stop the worker (killing it if it will not stop); tidy a dead worker's files."""
    if not control.worker_lock_held():
        removed = control.remove_stale_files()
        click.echo("no worker running" + (f" (removed stale {', '.join(os.path.basename(p) for p in removed)})"
                                          if removed else ""))
        return
    if control.stop_worker():
        click.echo("worker stopped")
    else:
        raise click.ClickException("the worker did not stop")


@worker_group.command("retry-parked")
@click.argument("ids", nargs=-1, type=click.IntRange(min=1, max=2**63 - 1))
def worker_retry_parked(ids):
    """Put parked queue rows (all, or IDs) back in the queue (after fixing what made them fail)."""
    from claude_mem.cli_queue import describe_row

    with _store() as store:
        rows = store.requeue_parked(ids or None)
    for row in rows:
        click.echo("queued again " + describe_row(row))
    if rows:
        control.ensure_worker()
    click.echo(f"{len(rows)} parked row(s) queued again")


@worker_group.command("status")
@click.option("--json", "as_json", is_flag=True)
def worker_status(as_json):
    reply = control.request({"cmd": "ping"}, timeout=2.0)
    if as_json:
        _dump(reply or {"ok": False, "running": False})
        return
    if reply:
        click.echo(f"running: pid {reply['pid']}, since {when(reply['started_at'])}, "
                   f"{reply['processed']} events processed, compressor {reply['compressor']}")
    else:
        click.echo("not running" + (" (starting: lock held)" if control.worker_lock_held() else ""))


# -- reading memory --------------------------------------------------------------------


@main.command("context")
@click.option("--cwd", default=".", type=click.Path(), help="The project folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the hook's JSON instead of markdown.")
def context_cmd(cwd, as_json):
    """Print exactly what SessionStart would inject in CWD."""
    from claude_mem import hooks

    settings = config.load()
    output = hooks.session_start_output({"cwd": os.path.abspath(cwd), "source": "startup"}, settings)
    if as_json:
        click.echo(output, nl=False)
    elif output:
        click.echo(json.loads(output)["hookSpecificOutput"]["additionalContext"], nl=False)


@main.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--project", help="Only this project.")
@click.option("--type", "kinds", multiple=True,
              type=click.Choice(["observation", "summary", "prompt"]), help="Limit to a kind.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Most hits (at most 10,000).")
@click.option("--json", "as_json", is_flag=True)
def search_cmd(query, project, kinds, limit, as_json):
    """Full-text search over observations, summaries and prompts."""
    text = " ".join(query)
    with _store() as store:
        hits = store.search(text, project=project, kinds=kinds or ("observation", "summary", "prompt"),
                            limit=limit)
    if as_json:
        _dump(hits)
        return
    if not hits:
        click.echo(f"no matches for {text!r}")
        return
    for hit in hits:
        title = " ".join(str(hit.get("title", "")).split())[:110]
        label = {"observation": "obs", "summary": "summary", "prompt": "prompt"}[hit["kind"]]
        who = f" ({hit['member']})" if hit.get("member") else ""
        click.echo(f"{label} #{hit['id']:<5} {when(hit.get('created_at'))} "
                   f"[{hit.get('project', '')}]{who} {title}")


@main.command("sessions")
@click.option("--project")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1, max=2**63 - 1))
@click.option("--json", "as_json", is_flag=True)
def sessions_cmd(project, limit, as_json):
    """List recorded sessions, newest first."""
    with _store() as store:
        rows = store.sessions(project, limit)
    if as_json:
        _dump(rows)
        return
    if not rows:
        click.echo("no sessions recorded yet")
    for row in rows:
        first = " ".join(str(row.get("first_prompt") or "").split())[:60]
        click.echo(f"#{row['id']:<4} {row['claude_session_id'][:8]} {when(row['started_at'])} "
                   f"{row['status']:<9} {row['project']:<20} prompts={row['prompt_counter']} "
                   f"obs={row['observation_count']} {first}")


@main.command("show")
@click.argument("args", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
def show_cmd(args, as_json):
    """Show a session (ID or Claude session id/prefix), or `obs ID` / `summary ID`."""
    kind, ident = ("session", args[0]) if len(args) == 1 else (args[0], args[1])
    kind = {"observation": "obs", "sessions": "session", "summaries": "summary"}.get(kind, kind)
    with _store() as store:
        if kind == "obs" and ident.isdigit():
            item = store.observation(int(ident))
        elif kind == "summary" and ident.isdigit():
            item = store.summary(int(ident))
        elif kind == "session":
            row = store.find_session(ident)
            item = store.session_detail(row["id"]) if row else None
        else:
            raise click.UsageError("use: show SESSION | show obs ID | show summary ID")
    if item is None:
        raise click.ClickException(f"no {kind} {ident!r}")
    if as_json:
        _dump(item)
        return
    from claude_mem import render

    click.echo(render.detail(kind, item))


# -- health ----------------------------------------------------------------------------


@main.command("status")
@click.option("--json", "as_json", is_flag=True)
def status_cmd(as_json):
    """Worker, queue, sessions and LLM spending at a glance."""
    from claude_mem import health

    report = health.status()
    if as_json:
        _dump(report)
    else:
        click.echo(health.format_status(report))


@main.command("doctor")
@click.option("--claude-config-dir", type=click.Path(file_okay=False))
def doctor_cmd(claude_config_dir):
    """Check the installation and the data; exit 1 when something needs attention."""
    from claude_mem import health

    problems, lines = health.doctor(claude_config_dir)
    for line in lines:
        click.echo(line)
    sys.exit(1 if problems else 0)


@main.command("cleanup-sessions")
@click.option("--max-age", "max_age", type=float, default=None,
              help="Hours without activity before an active session is expired "
                   "(default: the session_max_age_hours setting).")
@click.option("--dry-run", is_flag=True)
def cleanup_sessions_cmd(max_age, dry_run):
    """Mark sessions left 'active' too long as failed."""
    hours = max_age if max_age is not None else config.load().session_max_age_hours
    with _store() as store:
        rows = store.expire_sessions(time.time() - hours * 3600, dry_run=dry_run)
    verb = "would expire" if dry_run else "expired"
    click.echo(f"{verb} {len(rows)} session(s) inactive for more than {hours:g} h")
    for row in rows:
        click.echo(f"  #{row['id']} {row['claude_session_id']} {row['project']} "
                   f"last activity {when(row['last_activity_at'])}")


@main.command("demo")
@click.option("--keep", type=click.Path(file_okay=False),
              help="Keep the demo's data in this folder instead of a throwaway one.")
def demo_cmd(keep):
    """Replay a recorded Claude Code session and print what the next session would know."""
    from claude_mem import demo

    context = demo.run_demo(click.echo, keep=keep)
    if not context:
        raise click.ClickException("the demo produced no context; see the log above")


@main.group("config", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def config_group(ctx, as_json):
    """Show the effective settings (defaults < settings.json < CLAUDE_MEM_* env)."""
    if ctx.invoked_subcommand:
        return
    settings = config.load()
    shown = {name: config.display_value(name, value) for name, value in settings.as_dict().items()}
    if as_json:
        _dump(shown)
    else:
        for name, value in shown.items():
            marker = "" if value == config.DEFAULTS[name] else "   (changed)"
            click.echo(f"{name} = {json.dumps(value)}{marker}")
    for problem in settings.problems:
        click.echo(f"warning: {problem}", err=True)


@config_group.command("set")
@click.argument("name")
@click.argument("value")
def config_set(name, value):
    """Write one setting to settings.json (lists as comma-separated text or JSON)."""
    if name not in config.DEFAULTS:
        raise click.UsageError(f"unknown setting {name!r}; see `claude-mem config`")
    default = config.DEFAULTS[name]
    try:
        parsed = json.loads(value) if isinstance(default, list) and value.startswith("[") else value
        coerced = config.coerce(name, parsed, default)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="VALUE")
    path = config.settings_path()
    current = {}
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as fh:
                current = json.load(fh)
        except ValueError as exc:
            raise click.ClickException(f"{path} is not valid JSON ({exc}); fix it first")
    current[name] = coerced
    config.ensure_data_dir()
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(current, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
    # The worker reads settings once, at start: stop it, and the next hook starts a fresh one.
    restarted = control.worker_lock_held() and control.stop_worker()
    click.echo(f"{name} = {json.dumps(config.display_value(name, coerced))} (in {path})"
               + ("; the worker restarts with it on the next event" if restarted else ""))


@main.command("viewer")
@click.option("--no-open", is_flag=True, help="Only print the address; do not open a browser.")
@click.option("--json", "as_json", is_flag=True, help="Print the address, port and pid as JSON.")
@click.option("--stop", is_flag=True, help="Stop the viewer process.")
def viewer_cmd(no_open, as_json, stop):
    """Start the web viewer if needed and print its address (127.0.0.1, only for you).

    The first line is the address to open: it carries your access key, so keep it to
    yourself. The viewer runs in its own process and outlives the worker.
    """
    from claude_mem import health
    from claude_mem.viewer import process

    if stop:
        was = process.running()
        if not process.stop():
            raise click.ClickException("the viewer did not stop")
        click.echo(f"viewer stopped (pid {was['pid']})" if was else "no viewer running")
        return
    try:
        info = process.ensure()
    except process.ViewerError as exc:
        raise click.ClickException(f"the viewer cannot start: {exc}")
    worker = health.worker_state(timeout=1.0)
    if as_json:
        _dump({"url": info["url"], "port": info["port"], "pid": info["pid"],
               "started": info["started"], "worker_running": bool(worker.get("running"))})
        return
    click.echo(info["url"])
    if worker.get("running"):
        pass
    elif worker.get("lock_held"):
        click.echo("worker: not answering (it holds its lock): starting, or hung if this persists "
                   "(`claude-mem worker stop` ends it); the page shows what is stored")
    else:
        click.echo("worker: not running; the page shows what is stored, and new memory appears "
                   "when a Claude Code hook starts the worker (or `claude-mem worker start`)")
    graphical = sys.platform == "darwin" or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if no_open:
        return
    if not graphical:
        click.echo("no display here: open the address above in your browser")
        return
    import webbrowser

    if not webbrowser.open(info["url"]):
        click.echo("could not open a browser: open the address above yourself")


@main.command("export")
@click.option("--project", help="Only this project.")
@click.option("--output", "-o", type=click.File("w"), default="-", help="File to write (default stdout).")
def export_cmd(project, output):
    """Export sessions with their prompts, observations and summaries as JSON."""
    with _store() as store:
        sessions = [store.session_detail(row["id"]) for row in store.sessions(project, 1_000_000)]
    json.dump({"format": "claude-mem-export/1", "exported_at": time.time(), "sessions": sessions},
              output, indent=2, ensure_ascii=False, default=str)
    output.write("\n")


@main.command("mcp")
@click.option("--cwd", type=click.Path(file_okay=False), default=None,
              help="The project whose memory is the default (default: the current folder).")
def mcp_cmd(cwd):
    """Serve the memory to Claude over MCP (stdio): search, get_observations, timeline..."""
    from claude_mem import mcp_server

    try:
        mcp_server.serve(cwd)
    except mcp_server.MCPUnavailable as exc:
        raise click.ClickException(str(exc))


from claude_mem import cli_queue  # noqa: E402 - `worker parked`, `worker discard-parked`

cli_queue.register(worker_group)

from claude_mem.cli_forget import forget_group  # noqa: E402

main.add_command(forget_group)

from claude_mem.cli_import import import_group  # noqa: E402
from claude_mem.cli_team import team_group  # noqa: E402  (the `team` commands: cli_team.py)

main.add_command(import_group)
main.add_command(team_group)

if __name__ == "__main__":
    main()
