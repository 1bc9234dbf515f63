"""``claude-mem forget``: remove memory for good, from the tables, the index and the bytes.

Contract: ``forget obs ID…``, ``forget session ID`` (number, Claude session id or unique
prefix) and ``forget project NAME`` say what they are about to delete and ask, unless
``--yes``; then delete it (``store.forgetting``: in short steps, so hooks firing meanwhile
never wait) and scrub the files (FTS merge, free pages given back, WAL truncated), and say
what was deleted. Shared rows made here leave tombstones
(``store.team``): the next team sync takes them off the server and out of teammates'
memory. Nothing matching is an error (exit 1), never a silent success. Registered with one line in ``cli.COMMANDS``.
"""
from __future__ import annotations

import click

from claude_mem.cli.output import open_store

_ID = click.IntRange(min=1, max=2**63 - 1)


def _describe(counts: dict) -> str:
    parts = [f"{counts[k]} {k}" for k in ("sessions", "prompts", "observations", "summaries", "queued")
             if counts.get(k)]
    return ", ".join(parts) or "nothing"


def _confirm(what: str, yes: bool) -> None:
    if not yes and not click.confirm(f"Forget {what}? This cannot be undone", default=False):
        raise click.ClickException("nothing forgotten")


def _forget_confirmed(store, what: str, yes: bool, forget, said) -> None:
    """Ask (unless --yes), ``forget()``, print ``said(result)``, then scrub what is left of it
    (and say how many shared records go to the team database's tombstones)."""
    _confirm(what, yes)
    before = _tombstones(store)
    click.echo(said(forget()))
    _scrub(store, before)


def _tombstones(store) -> int:
    from claude_mem.store.team import TeamStore

    return TeamStore(store).tombstone_depth()


def _scrub(store, tombstones_before: int = 0) -> None:
    queued = _tombstones(store) - tombstones_before
    if queued > 0:
        click.echo(f"{queued} shared record(s) will be taken off the team database and out of "
                   "teammates' memory at the next team sync")
    merged, truncated = store.scrub()
    if merged and truncated:
        click.echo("the search index was merged and the log truncated: no copy is left in "
                   "the database's files")
        return
    if not merged:
        click.echo("deleted; the search index was still being written to, so some of its old "
                   "segments wait for its next merge")
    if not truncated:
        click.echo("deleted; the write-ahead log is still in use by a reader and is truncated "
                   "the next time the worker goes idle")


@click.group("forget")
def forget_group():
    """Forget observations, a session or a project for good (tables, search index, file bytes)."""


@forget_group.command("obs")
@click.argument("ids", nargs=-1, required=True, type=_ID)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget_obs(ids, yes):
    """Forget observations by id."""
    with open_store() as store:
        found = [i for i in ids if store.observation(i) is not None]
        missing = sorted(set(ids) - set(found))
        if not found:
            raise click.ClickException("no such observation: " + ", ".join(f"#{i}" for i in missing))

        def said(result: dict) -> str:
            return (f"forgot {result['observations']} observation(s): "
                    + ", ".join(f"#{i}" for i in result["ids"])
                    + ("\nnot found (nothing done): " + ", ".join(f"#{i}" for i in missing)
                       if missing else ""))

        _forget_confirmed(store, f"{len(found)} observation(s) " + ", ".join(f"#{i}" for i in found),
                          yes, lambda: store.forget_observations(found), said)


@forget_group.command("session")
@click.argument("ident")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget_session(ident, yes):
    """Forget one session with its prompts, observations and summaries."""
    with open_store() as store:
        row = store.find_session(ident)
        if row is None:
            raise click.ClickException(f"no session {ident!r}")
        detail = store.session_detail(row["id"])
        what = (f"session {row['claude_session_id']} [{row['project']}] "
                f"({len(detail['prompts'])} prompts, {len(detail['observations'])} observations, "
                f"{len(detail['summaries'])} summaries)")
        _forget_confirmed(store, what, yes,
                          lambda: store.forget_session(row["id"]),
                          lambda counts: f"forgot session {row['claude_session_id']}: {_describe(counts)}")


@forget_group.command("project")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget_project(name, yes):
    """Forget every session and memory of one project."""
    with open_store() as store:
        sessions = store.sessions(name, 1_000_000)
        if not sessions and not store.project_row_count(name):
            raise click.ClickException(f"no memory of project {name!r}")
        _forget_confirmed(store, f"project {name!r} ({len(sessions)} sessions)", yes,
                          lambda: store.forget_project(name),
                          lambda counts: f"forgot project {name!r}: {_describe(counts)}")
