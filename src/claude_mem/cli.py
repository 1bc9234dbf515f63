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


class _Commands(click.Group):
    """Commands that live in modules of their own (cli_*.py) load only when used, so
    `claude-mem search` does not pay for importing the import, team or viewer machinery,
    and each module keeps one family of commands."""

    modules = {"import": "claude_mem.cli_import:import_group",  # claude-mem import …
               "team": "claude_mem.cli_team:team_group",        # claude-mem team …
               "forget": "claude_mem.cli_forget:forget_group",  # claude-mem forget …
               "worker": "claude_mem.cli_worker:worker_group",  # claude-mem worker …
               "config": "claude_mem.cli_config:config_group",  # claude-mem config …
               "viewer": "claude_mem.cli_viewer:viewer_cmd"}    # claude-mem viewer

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.modules})

    def get_command(self, ctx, name):
        if name in self.modules and name not in self.commands:
            import importlib

            module, attr = self.modules[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


# Commands whose standard output is a protocol stream, written exactly as produced.
_PROTOCOL_COMMANDS = ("hook", "mcp")


@click.group(cls=_Commands)
@click.version_option(package_name="claude-mem")
@click.pass_context
def main(ctx):
    """Persistent memory for Claude Code."""
    if ctx.invoked_subcommand not in _PROTOCOL_COMMANDS:
        # Memory holds text from anywhere (prompts, commands, tool output): no stored
        # control character may reach the reader's terminal (see render.terminal_safe).
        from claude_mem import render

        render.guard_stdout()


# -- installing ------------------------------------------------------------------------


@main.command("install")
@click.option("--claude-config-dir", type=click.Path(file_okay=False),
              help="Claude Code's config folder (default: $CLAUDE_CONFIG_DIR, else ~/.claude).")
@click.option("--register-mcp", is_flag=True,
              help="Also register the MCP server with Claude Code (runs `claude mcp add`).")
@click.option("--json", "as_json", is_flag=True, help="Report what was done as JSON.")
@click.option("--agent", type=click.Choice(["claude-code", "codex", "gemini"]), default="claude-code",
              show_default=True, help="The coding agent to install into.")
@click.option("--codex-home", type=click.Path(file_okay=False),
              help="Codex's config folder (default: $CODEX_HOME, else ~/.codex).")
@click.option("--codex-bin", type=click.Path(dir_okay=False),
              help="The codex command that trusts the hooks (default: codex on PATH).")
@click.option("--trust/--no-trust", default=True, show_default=True,
              help="Codex: record claude-mem's hooks as trusted (asks `codex app-server`).")
@click.option("--gemini-dir", type=click.Path(file_okay=False),
              help="Gemini CLI's config folder (default: ~/.gemini).")
def install_cmd(claude_config_dir, register_mcp, as_json, agent, codex_home, codex_bin, trust, gemini_dir):
    """Add claude-mem's hooks to Claude Code's settings.json, or to Codex CLI with
    --agent codex / gemini (idempotent), and say what next."""
    from claude_mem import install

    if agent == "codex":
        from claude_mem import cli_agents

        return cli_agents.install(codex_home, codex_bin, trust, as_json)
    if agent == "gemini":
        from claude_mem import cli_agents

        return cli_agents.install_gemini(gemini_dir, as_json)

    from claude_mem import plugin_health

    plugins = [p for p in plugin_health.installed_plugins(claude_config_dir or install.default_config_dir())
               if p["enabled"]]
    if plugins:
        return _install_for_plugin(plugins[0], as_json)
    try:
        path = install.install(claude_config_dir)
    except install.SettingsError as exc:
        raise click.ClickException(str(exc))
    config.ensure_data_dir()
    install.record_interpreter()  # the plugin's MCP launcher starts the server with it
    registered, mcp_note, no_claude = False, None, False
    if register_mcp:
        if not install.has_module("mcp"):
            mcp_note = ("not registered: the MCP server needs its extra first: "
                        + install.extra_install_command("mcp"))
        else:
            registered, mcp_note = install.register_mcp()
            # Without Claude Code here there is nothing to fail at: the hooks are in, and
            # step 2 says what to run where `claude` is.
            no_claude = not registered and "not on PATH" in (mcp_note or "")
    steps = install.next_steps(claude_config_dir, can_import="import" in main.list_commands(None),
                               mcp_registered=registered, mcp_register_tried=register_mcp)
    if as_json:
        _dump({"settings_file": path, "hooks": sorted(install.installed_commands(claude_config_dir)),
               "data_dir": config.data_dir(), "database": config.db_path(),
               "mcp_note": mcp_note, **steps})
        return
    click.echo(f"Installed claude-mem's hooks into {path}")
    click.echo(f"Memory is kept in {config.db_path()}")
    if mcp_note:
        click.echo("MCP: " + mcp_note)
    click.echo("")
    for line in install.next_steps_lines(steps):
        click.echo(line)
    if register_mcp and not registered and not no_claude:
        sys.exit(1)


def _install_for_plugin(plugin: dict, as_json: bool) -> None:
    """The coding-memory plugin brings the hooks and the MCP server itself: hooks in
    settings.json too would capture every event twice. What the plugin needs from here is this
    interpreter, recorded for its hook and MCP launchers."""
    from claude_mem import install

    config.ensure_data_dir()
    recorded = install.record_interpreter()
    mcp_ready = install.has_module("mcp")
    report = {"hooks_from_plugin": plugin["id"], "plugin_path": plugin["path"],
              "python_recorded": sys.executable, "recorded_in": recorded,
              "data_dir": config.data_dir(), "database": config.db_path(),
              "mcp_extra_installed": mcp_ready,
              "mcp_install_command": None if mcp_ready else install.extra_install_command("mcp")}
    if as_json:
        _dump(report)
        return
    click.echo(f"The {plugin['id']} plugin supplies the hooks and the MCP server "
               f"({plugin['path']}); no hooks were added to settings.json.")
    click.echo(f"Recorded this interpreter for them: {sys.executable}")
    click.echo(f"Memory is kept in {config.db_path()}")
    if not mcp_ready:
        click.echo(f"Its MCP server needs the [mcp] extra here: {report['mcp_install_command']}")
    click.echo("Restart Claude Code; check everything any time with `claude-mem doctor`.")


@main.command("uninstall")
@click.option("--claude-config-dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Report what was done as JSON.")
@click.option("--agent", type=click.Choice(["claude-code", "codex", "gemini"]), default="claude-code",
              show_default=True, help="The coding agent to remove claude-mem from.")
@click.option("--codex-home", type=click.Path(file_okay=False),
              help="Codex's config folder (default: $CODEX_HOME, else ~/.codex).")
@click.option("--gemini-dir", type=click.Path(file_okay=False),
              help="Gemini CLI's config folder (default: ~/.gemini).")
def uninstall_cmd(claude_config_dir, as_json, agent, codex_home, gemini_dir):
    """Remove claude-mem's hooks (and only those) from settings.json (or Codex's config)."""
    from claude_mem import install

    if agent == "codex":
        from claude_mem import cli_agents

        return cli_agents.uninstall(codex_home, as_json)
    if agent == "gemini":
        from claude_mem import cli_agents

        return cli_agents.uninstall_gemini(gemini_dir, as_json)

    before = sorted(install.installed_commands(claude_config_dir))
    try:
        path = install.uninstall(claude_config_dir)
    except install.SettingsError as exc:
        raise click.ClickException(str(exc))
    stopped = control.worker_lock_held() and control.stop_worker()
    if as_json:
        _dump({"settings_file": path, "hooks_removed": before, "worker_stopped": bool(stopped),
               "data_dir_kept": config.data_dir()})
        return
    removed = f"Removed claude-mem's {len(before)} hooks from {path}" if before else \
        f"No claude-mem hooks were in {path}"
    click.echo(f"{removed} (your memory in {config.data_dir()} is kept; restart Claude Code)")
    click.echo(f"The MCP server, if you registered it: claude mcp remove --scope user {install.MCP_NAME}")


@main.command("hook")
@click.option("--agent", default="claude-code", show_default=True,
              help="The coding agent that runs this hook: claude-code, codex or gemini.")
@click.argument("event", metavar="EVENT")
def hook_cmd(agent, event):
    from claude_mem import hooks

    sys.exit(hooks.main(["--agent", agent, event]))


def _hook_help() -> str:
    from claude_mem.hook_events import AGENTS, rows_for

    per_agent = "; ".join(f"{agent}: " + ", ".join(r.hook for r in rows_for(agent)) for agent in AGENTS)
    return ("Run one hook (reads the agent's JSON on stdin). Always exits 0.\n\n"
            f"EVENT is one of ({per_agent}). `claude-mem install` writes a faster command "
            "for each (no click, no site-packages).")


hook_cmd.help = _hook_help()


# -- reading memory --------------------------------------------------------------------


def _known_projects(store) -> list[str]:
    return store.projects_by_recency()


def _check_project(store, project: str | None) -> None:
    """Refuse a project nothing was recorded for, naming the ones that exist."""
    if not project:
        return
    known = _known_projects(store)
    if project in known:
        return
    close = [p for p in known if project.lower() in p.lower() or p.lower() in project.lower()]
    hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
    listed = ", ".join(known[:15]) + (f" and {len(known) - 15} more" if len(known) > 15 else "")
    raise click.ClickException(f"no project {project!r}{hint}; known projects: {listed}"
                               if known else f"no project {project!r}: nothing has been recorded yet")


def _open_existing_store():
    """The store, or a clear error when nothing was ever recorded (no database yet)."""
    if not os.path.exists(config.db_path()):
        raise click.ClickException(f"nothing recorded yet (no database at {config.db_path()}); "
                                   "memory appears after a Claude Code session with the hooks "
                                   "installed (`claude-mem install`)")
    return _store()


@main.command("context")
@click.option("--cwd", default=".", type=click.Path(), help="The project folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the hook's JSON instead of markdown.")
def context_cmd(cwd, as_json):
    """Print exactly what SessionStart would inject in CWD (and say why when that is nothing)."""
    from claude_mem import hooks, project

    path = project.clean_cwd(cwd)
    if not path:
        raise click.UsageError("--cwd needs a folder")
    settings = config.load()
    output = hooks.session_start_output({"cwd": path, "source": "startup"}, settings)
    if as_json:
        click.echo(output, nl=False)
    elif output:
        click.echo(json.loads(output)["hookSpecificOutput"]["additionalContext"], nl=False)
    if output:
        return
    if not os.path.isdir(path):  # memory of a folder since removed still shows above
        raise click.ClickException(f"no such folder: {cwd} (and no memory recorded for a "
                                   f"project named {project.project_name(path)!r})")
    # The hook prints nothing in these cases; a person asking deserves the reason (on stderr,
    # so stdout stays exactly what the hook would print).
    name = project.project_name(path)
    if project.is_excluded(path, settings.exclude_projects):
        why = f"project {name!r} is excluded (exclude_projects or a .claude-mem-ignore file)"
    elif "startup" not in settings.context_sources:
        why = "context_sources does not include startup"
    elif not os.path.exists(config.db_path()):
        why = "nothing recorded yet (no database)"
    else:
        with _store() as store:
            known = _known_projects(store)
        others = ", ".join(p for p in known[:10] if p != name)
        why = (f"no memory recorded yet for project {name!r} (folder {project.project_root(path)})"
               + (f"; projects with memory: {others}" if others else ""))
    click.echo(f"claude-mem: nothing to inject: {why}", err=True)


@main.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--project", help="Only this project.")
@click.option("--type", "kinds", multiple=True,
              type=click.Choice(["observation", "summary", "prompt"]), help="Limit to a kind.")
@click.option("--mode", type=click.Choice(["words", "meaning", "both"]), default=None,
              help="Rank by words, by meaning (the [semantic] extra) or both fused "
                   "(default: the search_mode setting: both once vectors exist, else words).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True,
              help="The hits as a JSON list, each with its kind, id, project, time and snippet.")
def search_cmd(query, project, kinds, mode, limit, as_json):
    """Search observations, summaries and prompts: any of the words, best first ("a phrase"
    in double quotes, prefix*), fused with search by meaning when it is installed."""
    from claude_mem import render

    text = " ".join(query)
    with _open_existing_store() as store:
        _check_project(store, project)
        hits = _search(store, text, mode, project, kinds or ("observation", "summary", "prompt"),
                       limit)
    if as_json:
        _dump(hits)
        return
    if not hits:
        where = f" in project {project!r}" if project else ""
        click.echo(f"no matches for {text!r}{where}; try other words, or a prefix like "
                   f"{text.split()[0] if text.split() else 'word'}*")
        return
    for line in render.search_lines(hits, text, with_project=not project):
        click.echo(line)


def _search(store, text, mode, project, kinds, limit) -> list[dict]:
    """Search in ``mode`` (see semantic/); a clear error when meaning is not installed."""
    from claude_mem import semantic
    from claude_mem.semantic.base import SemanticUnavailable

    try:
        return semantic.search(store, text, mode=mode, project=project, kinds=kinds, limit=limit)
    except (SemanticUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc))


@main.command("sessions")
@click.option("--project", help="Only this project.")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True,
              help="The sessions as a JSON list.")
def sessions_cmd(project, limit, as_json):
    """List recorded sessions, newest first."""
    with _open_existing_store() as store:
        _check_project(store, project)
        rows = store.sessions(project, limit)
    if as_json:
        _dump(rows)
        return
    if not rows:
        click.echo("no sessions recorded yet")
    width = max((len(row["project"]) for row in rows), default=0)
    for row in rows:
        first = " ".join(str(row.get("first_prompt") or "").split())[:60]
        click.echo(f"#{row['id']:<4} {row['claude_session_id'][:8]} {when(row['started_at'])} "
                   f"{row['status']:<9} {row['project']:<{width}} {row.get('agent') or 'claude-code':<11} "
                   f"prompts={row['prompt_counter']:<3} "
                   f"obs={row['observation_count']:<4} {first}")


_SHOW_USAGE = ("use: claude-mem show SESSION | show obs ID | show summary ID "
               "(ids are the #numbers in `claude-mem search` and the session-start index)")


@main.command("show")
@click.argument("args", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True,
              help="The session, observation or summary as JSON.")
def show_cmd(args, as_json):
    """Show a session (number, Claude session id or prefix), or `obs ID` / `summary ID`."""
    aliases = {"observation": "obs", "observations": "obs", "session": "session",
               "sessions": "session", "summaries": "summary", "summary": "summary", "obs": "obs"}
    first = args[0].lower()
    if len(args) > 2 or (len(args) == 2 and first not in aliases):
        raise click.UsageError(_SHOW_USAGE)
    if len(args) == 1 and first in aliases and aliases[first] != "session":
        raise click.UsageError(f"`show {args[0]}` needs an id, e.g. `claude-mem show {aliases[first]} 12`; "
                               + _SHOW_USAGE)
    kind, ident = ("session", args[0]) if len(args) == 1 else (aliases[first], args[1].lstrip("#"))
    if kind in ("obs", "summary") and not ident.isdigit():
        raise click.UsageError(f"{'observation' if kind == 'obs' else 'summary'} ids are numbers "
                               f"such as 12, not {ident!r}")
    with _open_existing_store() as store:
        if kind == "obs":
            item = store.observation(int(ident))
        elif kind == "summary":
            item = store.summary(int(ident))
        else:
            row = store.find_session(ident)
            item = store.session_detail(row["id"]) if row else None
    if item is None:
        what = {"obs": f"observation #{ident}", "summary": f"summary #{ident}",
                "session": f"session {ident!r}"}[kind]
        raise click.ClickException(f"no {what}; find one with `claude-mem search WORDS` "
                                   "or `claude-mem sessions`")
    if as_json:
        _dump(item)
        return
    from claude_mem import render

    click.echo(render.detail(kind, item))


# -- health ----------------------------------------------------------------------------


@main.command("status")
@click.option("--json", "as_json", is_flag=True,
              help="The same report as JSON (what the viewer's status panel shows).")
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
@click.option("--codex-home", type=click.Path(file_okay=False),
              help="Codex's config folder (default: $CODEX_HOME, else ~/.codex).")
@click.option("--json", "as_json", is_flag=True,
              help="Each check as {status, message}, and each agent's hooks; exit code as without --json.")
def doctor_cmd(claude_config_dir, codex_home, as_json):
    """Check the installation (Claude Code and Codex CLI) and the data; exit 1 when something
    needs attention."""
    from claude_mem import health

    problems, lines = health.doctor(claude_config_dir, codex_home)
    if as_json:
        checks = [{"status": line[:6].strip().lower(), "message": line[6:]} for line in lines]
        _dump({"ok": not problems, "problems": problems, "checks": checks,
               "agents": health.agent_hooks(claude_config_dir, codex_home)})
    else:
        for line in lines:
            click.echo(line)
    sys.exit(1 if problems else 0)


def _finite_hours(ctx, param, value):
    # FloatRange lets nan (no comparison is true for it) and inf through.
    if value is not None and not 0 < value < float("inf"):
        raise click.BadParameter(f"{value} is not a number of hours more than 0", ctx, param)
    return value


@main.command("cleanup-sessions")
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
    with _open_existing_store() as store:
        rows = store.expire_sessions(cutoff, dry_run=True)
        open_before = {row["id"]: store.unsummarized_prompts(row["id"]) for row in rows}
    note = None
    if rows and not dry_run:
        # The worker closes them exactly as its own expiry does: the open request is
        # summarized first (by the configured compressor), then the session is failed.
        note = _expire_through_worker(hours, [row["id"] for row in rows])
    report = []
    with _store() as store:
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
        _dump({"dry_run": dry_run, "max_age_hours": hours, "sessions": report,
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
        with _store() as store:  # no worker to summarize: close them anyway, and say so
            store.expire_sessions(time.time() - hours * 3600)
        return ("the worker did not take the request "
                f"({(reply or {}).get('error', 'no answer')}): marked failed without summaries")
    while time.monotonic() < deadline:
        with _store() as store:
            if all((store.session(sid) or {}).get("status") != "active" for sid in session_ids):
                return None
        time.sleep(0.2)
    return f"the worker is still closing them; see `claude-mem status` and {config.log_path()}"


@main.command("demo")
@click.option("--keep", type=click.Path(file_okay=False),
              help="Keep the demo's data in this new or empty folder instead of a throwaway one "
                   "(then look at it with CLAUDE_MEM_DATA_DIR=DIR claude-mem ...).")
def demo_cmd(keep):
    """Replay a recorded Claude Code session and print what the next session would know."""
    from claude_mem import demo

    try:
        context = demo.run_demo(click.echo, keep=keep)
    except demo.DemoRefused as exc:
        raise click.ClickException(str(exc))
    if not context:
        raise click.ClickException("the demo produced no context; see the log above")


@main.command("export")
@click.option("--project", help="Only this project.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="File to write, private to you (0600); default: standard output.")
def export_cmd(project, output):
    """Export sessions with their prompts, observations and summaries as JSON."""
    with _open_existing_store() as store:
        _check_project(store, project)
        sessions = [store.session_detail(row["id"]) for row in store.sessions(project, 1_000_000)]
    document = {"format": "claude-mem-export/1", "exported_at": time.time(), "sessions": sessions}
    from claude_mem import outfile

    def write(fh) -> None:
        json.dump(document, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")

    try:
        if output is None or output == "-":
            return outfile.write_stdout(write)
        # Memory is as private as the database: see outfile for how the file is made.
        written = outfile.write_private(output, write)
    except outfile.OutputError as exc:
        raise click.ClickException(str(exc))
    counts = {key: sum(len(s[key]) for s in sessions) for key in ("prompts", "observations", "summaries")}
    scope = f" of project {project!r}" if project else ""
    how = "private 0600" if written["how"] != "straight" else "written straight: not a regular file"
    click.echo(f"wrote {len(sessions)} session(s){scope} — {counts['prompts']} prompts, "
               f"{counts['observations']} observations, {counts['summaries']} summaries — "
               f"to {written['path']} ({written['bytes']:,} bytes, {how})")


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


if __name__ == "__main__":
    main()
