"""``claude-mem config …``: show, get, set and unset settings, checked against the schema in
``config.py``. Loaded by ``cli`` only when used (``cli.COMMANDS``)."""
from __future__ import annotations

import json
import os

import click

from claude_mem import config, control
from claude_mem.cli.output import dump


@click.group("config", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="The effective values as one JSON object.")
@click.pass_context
def config_group(ctx, as_json):
    """Show the effective settings and where each comes from (default < settings.json < env)."""
    if ctx.invoked_subcommand:
        return
    settings = config.load()
    shown = {name: config.display_value(name, value) for name, value in settings.as_dict().items()}
    if as_json:
        dump(shown)
    else:
        width = max(len(name) for name in config.SCHEMA)
        for name, value in shown.items():
            source = settings.source(name)
            where = {"env": f"env {config.SCHEMA[name].env}" if name in config.SCHEMA else "env",
                     "settings.json": "settings.json"}.get(source, "default")
            click.echo(f"{name:<{width}} = {json.dumps(value):<40} ({where})")
        click.echo(f"\nsettings file: {config.settings_path()}; "
                   "`claude-mem config get NAME` explains one setting")
    for problem in settings.problems:
        click.echo(f"warning: {problem}", err=True)


def _setting_or_fail(name: str):
    setting = config.SCHEMA.get(name)
    if setting is None:
        raise click.UsageError(config.unknown_setting_message(name))
    return setting


def _restart_note() -> str:
    """Stop a running worker so the next event starts one with the new settings."""
    restarted = control.worker_lock_held() and control.stop_worker()
    return "; the worker was stopped and restarts with it on the next event" if restarted else ""


@config_group.command("get")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True,
              help="The setting as JSON: value, source, default, allowed, env, help, problems.")
def config_get(name, as_json):
    """Print one setting's effective value, where it comes from, and what it accepts."""
    setting = _setting_or_fail(name)
    settings = config.load()
    report = {"name": name, "value": config.display_value(name, settings.values[name]),
              "source": settings.source(name),
              "default": setting.default, "allowed": setting.allowed(), "env": setting.env,
              "help": setting.help,
              "problems": [p for p in settings.problems if name in p]}
    if as_json:
        dump(report)
        return
    click.echo(f"{name} = {json.dumps(report['value'])}   (from {report['source']})")
    click.echo(f"  {setting.help}")
    click.echo(f"  allowed: {setting.allowed()}; default {json.dumps(setting.default)}; "
               f"env {setting.env}")
    for problem in report["problems"]:
        click.echo(f"warning: {problem}", err=True)


# A value may start with "-" (`config set context_tokens -5` must reach the schema's check and
# be refused for what it is, not taken for an unknown option).
@config_group.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="Report what was written as JSON.")
def config_set(name, value, as_json):
    """Check VALUE and write NAME to settings.json (lists: comma-separated or a JSON list)."""
    setting = _setting_or_fail(name)
    try:
        parsed = config.set_value(name, value)
    except config.SettingError as exc:
        raise click.ClickException(f"refused: {exc}") from None
    except config.SettingsFileError as exc:
        raise click.ClickException(f"{exc}; fix or remove it first") from None
    note = _restart_note()
    warnings = []
    if setting.env in os.environ:
        warnings.append(f"{setting.env} is set in this environment and overrides the file here")
    if name == "compressor":
        from claude_mem import health

        problem = health.compressor_problem(config.load())
        if problem:
            warnings.append(problem)
    shown = config.display_value(name, parsed)
    if as_json:
        dump({"name": name, "value": shown, "file": config.settings_path(),
               "worker_stopped": bool(note), "warnings": warnings})
        return
    click.echo(f"{name} = {json.dumps(shown)} (written to {config.settings_path()}){note}")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@config_group.command("unset")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Say what happened as JSON.")
def config_unset(name, as_json):
    """Remove NAME from settings.json so its default applies again."""
    setting = _setting_or_fail(name)
    try:
        removed = config.unset_value(name)
    except config.SettingsFileError as exc:
        raise click.ClickException(f"{exc}; fix or remove it first") from None
    if as_json:
        dump({"name": name, "removed": bool(removed), "settings_file": config.settings_path(),
               "value": config.display_value(name, config.load().values[name])})
        return
    if not removed:
        click.echo(f"{name} was not set in {config.settings_path()}; it is "
                   f"{json.dumps(config.display_value(name, config.load().values[name]))}")
        return
    note = _restart_note()
    click.echo(f"{name} removed from {config.settings_path()}; back to the default "
               f"{json.dumps(setting.default)}{note}")
