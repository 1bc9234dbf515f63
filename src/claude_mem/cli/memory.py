"""Reading memory: ``claude-mem context``, ``search``, ``sessions``, ``show``, ``export``."""
from __future__ import annotations

import json
import os
import time

import click

from claude_mem import config
from claude_mem.cli.output import check_project, dump, existing_store, open_store
from claude_mem.text import when


@click.command("context")
@click.option("--cwd", default=".", type=click.Path(), help="The project folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the hook's JSON instead of markdown.")
def context_cmd(cwd, as_json):
    """Print exactly what SessionStart would inject in CWD (and say why when that is nothing)."""
    from claude_mem import context, project

    path = project.clean_cwd(cwd)
    if not path:
        raise click.UsageError("--cwd needs a folder")
    settings = config.load()
    output = context.session_start_output({"cwd": path, "source": "startup"}, settings)
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
        with open_store() as store:
            known = store.projects_by_recency()
        others = ", ".join(p for p in known[:10] if p != name)
        why = (f"no memory recorded yet for project {name!r} (folder {project.project_root(path)})"
               + (f"; projects with memory: {others}" if others else ""))
    click.echo(f"claude-mem: nothing to inject: {why}", err=True)


@click.command("search")
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
    with existing_store() as store:
        check_project(store, project)
        hits = _search(store, text, mode, project, kinds or ("observation", "summary", "prompt"),
                       limit)
    if as_json:
        dump(hits)
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
        # A one-shot process: the running worker answers the meaning half with its model
        # and vectors already loaded (else this process loads them).
        return semantic.search(store, text, mode=mode, project=project, kinds=kinds, limit=limit,
                               ask_worker=True)
    except (SemanticUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc))


@click.command("sessions")
@click.option("--project", help="Only this project.")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True,
              help="The sessions as a JSON list.")
def sessions_cmd(project, limit, as_json):
    """List recorded sessions, newest first."""
    with existing_store() as store:
        check_project(store, project)
        rows = store.sessions(project, limit)
    if as_json:
        dump(rows)
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


@click.command("show")
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
    with existing_store() as store:
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
        dump(item)
        return
    from claude_mem import render

    click.echo(render.detail(kind, item))


@click.command("export")
@click.option("--project", help="Only this project.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="File to write, private to you (0600); default: standard output.")
def export_cmd(project, output):
    """Export sessions with their prompts, observations and summaries as JSON."""
    with existing_store() as store:
        check_project(store, project)
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
