"""``claude-mem import …``: bring earlier work into memory.

Contract:
- ``import transcripts [PATH …] [--project NAME] [--since DATE] [--dry-run] [--json]`` replays
  Claude Code transcripts through the queue, the worker and the configured compressor (see
  ``importers.transcripts``) and waits until the worker has made the memory. A progress bar
  with counts and an ETA is drawn on a terminal; elsewhere one plain line per file.
- ``import codex [PATH …] [--codex-home DIR]`` does the same for Codex CLI rollouts
  (``importers.codex``; default ``$CODEX_HOME/sessions`` or ``~/.codex/sessions``).
- ``import claude-mem-db PATH`` and ``import json FILE`` copy memory made elsewhere.
- Every import is idempotent and reports what it added; malformed input is reported and
  skipped, never fatal. ``--json`` prints one JSON object with the same report.
"""
from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime

import click


@click.group("import")
def import_group():
    """Import earlier work: Claude Code transcripts, Codex rollouts, the original claude-mem, an export."""


def _since(value: str | None) -> float | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-01 or 2026-11-01T09:30",
                                 param_hint="--since")
    return moment.timestamp()


def _bar_stream():
    from claude_mem import render

    return render.raw(sys.stderr)


class _Progress:
    """A progress bar on a terminal, plain lines otherwise (both on stderr)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.bar = None
        self.drain_bar = None
        self.started = time.monotonic()

    def __call__(self, kind: str, **info) -> None:
        if not self.enabled:
            return
        if kind == "file":
            self._file(**info)
        elif kind == "drain":
            self._drain(**info)

    def _file(self, index, total, path, bytes_done, bytes_total, outcome) -> None:
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(length=max(1, bytes_total), label="Reading transcripts",
                                             show_eta=True, show_percent=True, file=_bar_stream(),
                                             item_show_func=lambda item: item)
                self.bar.__enter__()
                self._done = 0
            self.bar.update(bytes_done - self._done, f"{index}/{total} files")
            self._done = bytes_done
            if index == total:
                self.bar.__exit__(None, None, None)
            return
        name = os.path.basename(path)
        if "skipped" in outcome:
            line = f"skipped ({outcome['skipped']})"
        else:
            queued = outcome["queued"]
            tools = queued.get("PostToolUse", 0) + queued.get("PostToolUseFailure", 0)
            line = (f"{outcome['kind']}: {queued.get('UserPromptSubmit', 0)} prompts, {tools} tool calls"
                    f" -> project {outcome['project']}")
        problems = len(outcome.get("problems", ()))
        if problems:
            line += f"; {problems} malformed line(s) skipped"
        click.echo(f"[{index}/{total}] {name}: {line}", err=True)

    def _drain(self, left, total) -> None:
        done = total - left
        if self.tty:
            if self.drain_bar is None:
                self.drain_bar = click.progressbar(length=max(1, total), label="Making memory",
                                                   show_eta=True, show_pos=True, file=_bar_stream())
                self.drain_bar.__enter__()
                self._drained = 0
            self.drain_bar.update(done - self._drained)
            self._drained = done
            if left == 0:
                self.drain_bar.__exit__(None, None, None)
            return
        now = time.monotonic()
        if left == 0 or now - getattr(self, "_last_drain_line", 0) > 2:
            self._last_drain_line = now
            click.echo(f"making memory: {done}/{total} events", err=True)


@import_group.command("transcripts")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--project", help="Only sessions of this project (name or folder).")
@click.option("--since", help="Only sessions active since this date (2026-11-01).")
@click.option("--dry-run", is_flag=True, help="Count (and, under an LLM back-end, estimate cost); write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_transcripts_cmd(paths, project, since, dry_run, as_json):
    """Replay Claude Code transcripts into memory (default: ~/.claude/projects)."""
    from claude_mem import config
    from claude_mem.importers import transcripts

    settings = config.load()
    if not paths:
        default = os.path.join(transcripts.claude_config_dir(), "projects")
        if not os.path.isdir(default):
            raise click.ClickException(f"no transcripts folder at {default}; name one as PATH")
        paths = (default,)
    report = transcripts.import_transcripts(
        paths, since=_since(since), project=project, dry_run=dry_run, settings=settings,
        progress=_Progress(enabled=not as_json))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    _print_transcript_report(report)


@import_group.command("codex")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--codex-home", type=click.Path(file_okay=False),
              help="Codex's config folder (default: $CODEX_HOME, else ~/.codex).")
@click.option("--project", help="Only sessions of this project (name or folder).")
@click.option("--since", help="Only sessions active since this date (2026-11-01).")
@click.option("--dry-run", is_flag=True, help="Count (and, under an LLM back-end, estimate cost); write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_codex_cmd(paths, codex_home, project, since, dry_run, as_json):
    """Replay Codex CLI rollouts into memory (default: ~/.codex/sessions)."""
    from claude_mem import config
    from claude_mem.importers import codex

    settings = config.load()
    if not paths:
        default = os.path.join(codex.codex_home(codex_home), "sessions")
        if not os.path.isdir(default):
            raise click.ClickException(f"no Codex sessions folder at {default}; name one as PATH")
        paths = (default,)
    report = codex.import_rollouts(paths, since=_since(since), project=project, dry_run=dry_run,
                                   settings=settings, progress=_Progress(enabled=not as_json))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    _print_transcript_report(report)


def _print_transcript_report(report: dict) -> None:
    queued = report["queued"]
    tools = queued.get("PostToolUse", 0) + queued.get("PostToolUseFailure", 0)
    sessions = report["sessions"]
    verb = "Would import" if report["dry_run"] else "Imported"
    click.echo(f"{verb} {sessions['new']} new session(s) and completed {sessions['partial']}"
               f" partly captured one(s); {sessions['already']} already in memory.")
    click.echo(f"  {queued.get('UserPromptSubmit', 0)} prompts, {tools} tool calls"
               f" ({queued.get('PostToolUseFailure', 0)} failed), {queued.get('Stop', 0)} replies"
               f" to summarize, from {report['files']} file(s) in {report['seconds']:.1f}s.")
    if report["skipped_files"]:
        click.echo(f"  Skipped {len(report['skipped_files'])} file(s):")
        for item in report["skipped_files"][:10]:
            click.echo(f"    {item['path']}: {item['reason']}")
    if report["problems"]:
        click.echo(f"  {report['problem_count']} malformed line(s) skipped, e.g. {report['problems'][0]}")
    if report.get("still_queued"):
        click.echo(f"  The worker made no progress for a while; {report['still_queued']} event(s)"
                   " wait in the queue and will be processed later (see `claude-mem status`).")
    if report.get("parked"):
        click.echo(f"  {report['parked']} event(s) could not be processed and were parked;"
                   " see `claude-mem status`.")
    estimate = report.get("llm_estimate")
    if estimate is not None:
        click.echo(f"  Compressor {report['compressor']}: about {estimate['calls']} model calls and"
                   f" {estimate['tokens']:,} tokens" + (" (estimated)" if report["dry_run"] else "")
                   + (f"; {estimate['sessions_at_cap']} session(s) reach the per-session caps and"
                      " continue with the heuristic" if estimate["sessions_at_cap"] else "") + ".")


@import_group.command("claude-mem-db")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_claude_mem_db_cmd(path, as_json):
    """Copy the original claude-mem's memory (~/.claude-mem/claude-mem.db of the TypeScript plugin)."""
    from claude_mem.importers import claude_mem_db

    _copy(claude_mem_db.import_database, path, as_json)


@import_group.command("json")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_json_cmd(file, as_json):
    """Import what `claude-mem export` wrote (e.g. from another machine)."""
    from claude_mem.importers import json_export

    _copy(json_export.import_file, file, as_json)


def _copy(importer, path: str, as_json: bool) -> None:
    """Run a copying importer; its ValueError (not a database, not an export) is one line."""
    try:
        report = importer(path)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    added = report["added"]
    click.echo(f"Imported {added['sessions']} session(s), {added['prompts']} prompt(s),"
               f" {added['observations']} observation(s) and {added['summaries']} summary(ies)"
               f" from {report['source']}; {report['already']} item(s) were already in memory.")
    for problem in report.get("problems", [])[:10]:
        click.echo(f"  skipped: {problem}")
