"""``claude-mem install``, ``uninstall``, ``hook``, ``mcp`` and ``demo``: putting claude-mem
into Claude Code (or Codex CLI and Gemini CLI, through ``cli.agents``), and running its
parts by hand."""
from __future__ import annotations

import sys

import click

from claude_mem import config, control
from claude_mem.cli.output import dump


def _agent_option(help_text: str):
    """``--agent``: which coding agent ``install`` / ``uninstall`` works on."""
    return click.option("--agent", type=click.Choice(["claude-code", "codex", "gemini"]),
                        default="claude-code", show_default=True, help=help_text)


_CODEX_HOME_OPTION = click.option("--codex-home", type=click.Path(file_okay=False),
                                  help="Codex's config folder (default: $CODEX_HOME, else ~/.codex).")
_GEMINI_DIR_OPTION = click.option("--gemini-dir", type=click.Path(file_okay=False),
                                  help="Gemini CLI's config folder (default: ~/.gemini).")


@click.command("install")
@click.option("--claude-config-dir", type=click.Path(file_okay=False),
              help="Claude Code's config folder (default: $CLAUDE_CONFIG_DIR, else ~/.claude).")
@click.option("--register-mcp", is_flag=True,
              help="Also register the MCP server with Claude Code (runs `claude mcp add`).")
@click.option("--json", "as_json", is_flag=True, help="Report what was done as JSON.")
@_agent_option("The coding agent to install into.")
@_CODEX_HOME_OPTION
@click.option("--codex-bin", type=click.Path(dir_okay=False),
              help="The codex command that trusts the hooks (default: codex on PATH).")
@click.option("--trust/--no-trust", default=True, show_default=True,
              help="Codex: record claude-mem's hooks as trusted (asks `codex app-server`).")
@_GEMINI_DIR_OPTION
def install_cmd(claude_config_dir, register_mcp, as_json, agent, codex_home, codex_bin, trust, gemini_dir):
    """Add claude-mem's hooks to Claude Code's settings.json, or to Codex CLI with
    --agent codex / gemini (idempotent), and say what next."""
    from claude_mem import install

    if agent == "codex":
        from claude_mem.cli import agents

        return agents.install(codex_home, codex_bin, trust, as_json)
    if agent == "gemini":
        from claude_mem.cli import agents

        return agents.install_gemini(gemini_dir, as_json)

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
    steps = install.next_steps(claude_config_dir, can_import=_can_import(),
                               mcp_registered=registered, mcp_register_tried=register_mcp)
    if as_json:
        dump({"settings_file": path, "hooks": sorted(install.installed_commands(claude_config_dir)),
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
        dump(report)
        return
    click.echo(f"The {plugin['id']} plugin supplies the hooks and the MCP server "
               f"({plugin['path']}); no hooks were added to settings.json.")
    click.echo(f"Recorded this interpreter for them: {sys.executable}")
    click.echo(f"Memory is kept in {config.db_path()}")
    if not mcp_ready:
        click.echo(f"Its MCP server needs the [mcp] extra here: {report['mcp_install_command']}")
    click.echo("Restart Claude Code; check everything any time with `claude-mem doctor`.")


@click.command("uninstall")
@click.option("--claude-config-dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Report what was done as JSON.")
@_agent_option("The coding agent to remove claude-mem from.")
@_CODEX_HOME_OPTION
@_GEMINI_DIR_OPTION
def uninstall_cmd(claude_config_dir, as_json, agent, codex_home, gemini_dir):
    """Remove claude-mem's hooks (and only those) from settings.json (or Codex's config)."""
    from claude_mem import install

    if agent == "codex":
        from claude_mem.cli import agents

        return agents.uninstall(codex_home, as_json)
    if agent == "gemini":
        from claude_mem.cli import agents

        return agents.uninstall_gemini(gemini_dir, as_json)

    before = sorted(install.installed_commands(claude_config_dir))
    try:
        path = install.uninstall(claude_config_dir)
    except install.SettingsError as exc:
        raise click.ClickException(str(exc))
    stopped = control.worker_lock_held() and control.stop_worker()
    if as_json:
        dump({"settings_file": path, "hooks_removed": before, "worker_stopped": bool(stopped),
               "data_dir_kept": config.data_dir()})
        return
    removed = f"Removed claude-mem's {len(before)} hooks from {path}" if before else \
        f"No claude-mem hooks were in {path}"
    click.echo(f"{removed} (your memory in {config.data_dir()} is kept; restart Claude Code)")
    click.echo(f"The MCP server, if you registered it: claude mcp remove --scope user {install.MCP_NAME}")


@click.command("hook")
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


@click.command("mcp")
@click.option("--cwd", type=click.Path(file_okay=False), default=None,
              help="The project whose memory is the default (default: the current folder).")
def mcp_cmd(cwd):
    """Serve the memory to Claude over MCP (stdio): search, get_observations, timeline..."""
    from claude_mem import mcp_server

    try:
        mcp_server.serve(cwd)
    except mcp_server.MCPUnavailable as exc:
        raise click.ClickException(str(exc))


@click.command("demo")
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


def _can_import() -> bool:
    """Whether this command line offers ``claude-mem import`` (install's next steps say so)."""
    root = click.get_current_context().find_root()
    return "import" in root.command.list_commands(root)
