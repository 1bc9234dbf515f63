"""The ``claude-mem`` command line: one module per family of commands, loaded when used.

Contract: every command works against ``$CLAUDE_MEM_DATA_DIR`` (default ``~/.claude-mem``).
Errors a person can fix are reported as one clear line with exit code 1 or 2 (click's
usage errors); ``--json`` output is stable, machine-readable JSON. Hook entry points are
here too (``claude-mem hook EVENT``) for completeness, but ``install`` writes the faster
direct command (see ``install.hook_command``).

Rooms (each imports ``cli.output`` for the shared helpers, never this package):
- ``setup``     install, uninstall, hook, mcp, demo (``codex``: install's Codex CLI side)
- ``memory``    reading memory: context, search, sessions, show, export
- ``status``    status, doctor, cleanup-sessions
- ``worker``    worker start/stop/restart/status and the queue's parked rows
- ``config``, ``forget``, ``importing`` (``import …``), ``team``, ``viewer``
- ``output``    what they share: JSON output, opening the store, checking a project name
"""
from __future__ import annotations

import importlib

import click

from claude_mem import __version__

# Command name -> "module:attribute". A command's module is imported only when that
# command runs (or help lists it), so `claude-mem search` does not pay for importing the
# import, team or viewer machinery. The architecture test follows these names as imports.
COMMANDS = {
    "install": "claude_mem.cli.setup:install_cmd",
    "uninstall": "claude_mem.cli.setup:uninstall_cmd",
    "hook": "claude_mem.cli.setup:hook_cmd",
    "mcp": "claude_mem.cli.setup:mcp_cmd",
    "demo": "claude_mem.cli.setup:demo_cmd",
    "context": "claude_mem.cli.memory:context_cmd",
    "search": "claude_mem.cli.memory:search_cmd",
    "sessions": "claude_mem.cli.memory:sessions_cmd",
    "show": "claude_mem.cli.memory:show_cmd",
    "export": "claude_mem.cli.memory:export_cmd",
    "status": "claude_mem.cli.status:status_cmd",
    "doctor": "claude_mem.cli.status:doctor_cmd",
    "cleanup-sessions": "claude_mem.cli.status:cleanup_sessions_cmd",
    "worker": "claude_mem.cli.worker:worker_group",
    "config": "claude_mem.cli.config:config_group",
    "forget": "claude_mem.cli.forget:forget_group",
    "import": "claude_mem.cli.importing:import_group",
    "team": "claude_mem.cli.team:team_group",
    "viewer": "claude_mem.cli.viewer:viewer_cmd",
}


class _Commands(click.Group):
    """The top-level group: its commands come from ``COMMANDS``, imported on first use."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx, name):
        if name in COMMANDS and name not in self.commands:
            module, attr = COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


# Commands whose standard output is a protocol stream, written exactly as produced.
_PROTOCOL_COMMANDS = ("hook", "mcp")


@click.group(cls=_Commands)
@click.version_option(version=__version__)  # the distribution is coding-memory
@click.pass_context
def main(ctx):
    """Persistent memory for Claude Code."""
    if ctx.invoked_subcommand not in _PROTOCOL_COMMANDS:
        # Memory holds text from anywhere (prompts, commands, tool output): no stored
        # control character may reach the reader's terminal (see render.terminal_safe).
        from claude_mem import render

        render.guard_stdout()
