"""``claude-mem install --agent codex|gemini`` / ``uninstall --agent …``: the CLI side of
``install_codex`` and ``install_gemini`` (what they print; the files are theirs)."""
from __future__ import annotations

import json
import sys

import click

from claude_mem import config


def _installer_step(step, *args, **kwargs) -> dict:
    """Run an installer's install/uninstall; a settings file it cannot use is a clear CLI error."""
    from claude_mem import install as claude_install

    try:
        return step(*args, **kwargs)
    except claude_install.SettingsError as exc:
        raise click.ClickException(str(exc))


def _installed(step, *args, **kwargs) -> dict:
    """Install one agent's hooks, then the data directory and interpreter they all share."""
    from claude_mem import install as claude_install

    report = _installer_step(step, *args, **kwargs)
    config.ensure_data_dir()
    claude_install.record_interpreter()
    report.update(data_dir=config.data_dir(), database=config.db_path())
    return report


def _uninstalled(step, where, as_json: bool) -> dict | None:
    """Uninstall one agent's hooks: the report to describe, or None once printed as JSON."""
    report = _installer_step(step, where)
    if as_json:
        click.echo(json.dumps({**report, "data_dir_kept": config.data_dir()}, indent=2))
        return None
    return report


def install(codex_home, codex_bin, trust: bool, as_json: bool) -> None:
    from claude_mem import install as claude_install
    from claude_mem import install_codex

    report = _installed(install_codex.install, codex_home, codex_bin=codex_bin, trust=trust)
    report.update(mcp_extra_installed=claude_install.has_module("mcp"),
                  import_command="claude-mem import codex")
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo(f"Installed claude-mem's {len(report['hooks'])} Codex hooks into {report['hooks_file']}")
    click.echo(f"MCP server and hook trust: a claude-mem block at the end of {report['config_file']}")
    click.echo(f"Memory is kept in {config.db_path()} (shared with Claude Code: one memory per project)")
    if report["trusted"]:
        click.echo(f"Trusted {len(report['trusted'])} hooks (as Codex's /hooks review would).")
    else:
        click.echo("Hooks not trusted yet: " + report["trust_note"])
    if not report["mcp_extra_installed"]:
        click.echo("The MCP server needs its extra: " + claude_install.extra_install_command("mcp"))
    click.echo("Past Codex sessions can become memory: claude-mem import codex")
    click.echo("Restart Codex (sessions already running keep their old hooks).")


def uninstall(codex_home, as_json: bool) -> None:
    from claude_mem import install_codex

    report = _uninstalled(install_codex.uninstall, codex_home, as_json)
    if report is None:
        return
    removed = report["removed_hooks"]
    click.echo((f"Removed claude-mem's {len(removed)} Codex hooks" if removed else "No claude-mem hooks were")
               + f" in {report['codex_home']}; the MCP server and trust block "
               + ("removed" if report["config_block_removed"] else "were not there")
               + f" (your memory in {config.data_dir()} is kept)")
    sys.exit(0)


def install_gemini(gemini_dir, as_json: bool) -> None:
    from claude_mem import install_gemini as gemini

    report = _installed(gemini.install, gemini_dir)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo(f"Installed claude-mem's {len(report['hooks'])} Gemini CLI hooks and its MCP server "
               f"into {report['settings_file']}" + (f" ({report['mcp_note']})" if report["mcp_note"] else ""))
    click.echo(f"Memory is kept in {config.db_path()} (shared with your other agents: one memory per project)")
    click.echo("Restart Gemini CLI (sessions already running keep their old hooks).")


def uninstall_gemini(gemini_dir, as_json: bool) -> None:
    from claude_mem import install_gemini as gemini

    report = _uninstalled(gemini.uninstall, gemini_dir, as_json)
    if report is None:
        return
    removed = report["removed_hooks"]
    click.echo((f"Removed claude-mem's {len(removed)} Gemini CLI hooks" if removed else "No claude-mem hooks were")
               + f" in {report['settings_file']} (your memory in {config.data_dir()} is kept)")
