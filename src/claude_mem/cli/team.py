"""``claude-mem team …``: share projects' memory with a team through PostgreSQL.

Contract:
- Members: ``share`` / ``unshare`` (the project of the current folder, identified by its
  normalized git remote URL), ``sync [--json]`` (one sync now: what moved), ``status
  [--json]`` (connection, shared projects, outbox depth, last sync).
- Administrators: ``init-db [--url URL] [--print-sql]`` (create or upgrade the schema,
  roles and row-level security, once), ``add-member ROLE --team NAME`` (a login role for
  one member; the password is typed, or read from an environment variable).
- A connection URL is only ever shown masked (``dburl.mask``). A person's mistake
  (no URL, no remote, server unreachable) is one line and exit code 1.
"""
from __future__ import annotations

import os

import click

from claude_mem import config
from claude_mem.cli.output import dump, open_store
from claude_mem.text import ago


def _this_project(cwd: str) -> tuple[str, str, str]:
    """(key, name, root) of the project of ``cwd``; a clear error when it cannot travel."""
    from claude_mem import project

    root = project.project_root(os.path.abspath(cwd))
    name = project.project_name(root)
    key = project.remote_identity(root)
    if not key:
        raise click.ClickException(
            f"{root} has no git remote: a shared project is known by its remote URL "
            "(git remote add origin URL), so its clones on other machines find each other")
    return key, name, root


@click.group("team")
def team_group():
    """Team memory: share chosen projects' memory through PostgreSQL."""


@team_group.command("share")
@click.option("--cwd", default=".", type=click.Path(file_okay=False), help="A folder of the project.")
def share_cmd(cwd):
    """Share this project's memory with your team (its past memory included)."""
    key, name, root = _this_project(cwd)
    from claude_mem.store.team import TeamStore

    with open_store(make_dir=True) as store:
        queued = TeamStore(store).share(key, name, root)
    click.echo(f"sharing {name} as {key} ({root}); {queued} record(s) queued for the next sync")
    if not config.load().team_database_url:
        click.echo("note: team_database_url is not set yet: nothing leaves this machine until it is")
    _wake_worker()


@team_group.command("unshare")
@click.option("--cwd", default=".", type=click.Path(file_okay=False), help="A folder of the project.")
def unshare_cmd(cwd):
    """Stop sharing this project: nothing more of it is pushed or pulled."""
    from claude_mem import project
    from claude_mem.store.team import TeamStore

    root = project.project_root(os.path.abspath(cwd))
    with open_store(make_dir=True) as store:
        gone = TeamStore(store).unshare(root)
    if gone is None:
        raise click.ClickException(f"{root} is not shared")
    click.echo(f"stopped sharing {gone[1]} ({gone[0]}) from {root}; the next sync takes what "
               "it pushed from there off the team database and out of teammates' memory")


def _wake_worker() -> None:
    from claude_mem import control

    if control.worker_lock_held():
        control.request({"cmd": "wake"}, timeout=1.0)


@team_group.command("sync")
@click.option("--json", "as_json", is_flag=True,
              help="What moved, as JSON.")
def sync_cmd(as_json):
    """Push this machine's shared memory and pull your team's, now."""
    from claude_mem.store.postgres import TeamDatabaseError
    from claude_mem.team.sync import sync_lock, sync_once

    settings = config.load()
    with open_store(make_dir=True) as store, sync_lock(wait=60.0) as held:
        if not held:
            raise click.ClickException("another sync of this data dir is still running")
        try:
            result = sync_once(store, settings)
        except TeamDatabaseError as exc:
            if as_json:
                dump({"ok": False, "error": str(exc)})
                raise SystemExit(1)
            raise click.ClickException(str(exc))
    result["ok"] = True
    if as_json:
        dump(result)
        return
    if result.get("note"):
        click.echo(result["note"])
        return
    who = ", ".join(f"{n} from {name}" for name, n in sorted(result["pulled_from"].items()))
    click.echo(f"pushed {result['pushed']} record(s) ({result['pushed_new']} new on the server), "
               f"pulled {result['pulled']}" + (f" ({who})" if who else "")
               + (f"; forgotten on the server {result['buried']}" if result.get("buried") else "")
               + (f"; teammates' forgotten rows removed here {result['removed']}"
                  if result.get("removed") else "")
               + f"; outbox {result['outbox']}; as {result.get('role')} in team {result.get('team')}")


@team_group.command("status")
@click.option("--json", "as_json", is_flag=True,
              help="Connection, shared projects, outbox and last sync as JSON.")
def status_cmd(as_json):
    """Connection, shared projects, outbox depth and the last sync."""
    from claude_mem.team.status import team_status

    report = team_status()
    if as_json:
        dump(report)
        return
    if not report["configured"]:
        click.echo("team memory: off (set team_database_url; see README, \"Team memory\")")
    else:
        conn = report["connection"]
        state = (f"ok, role {conn['role']} in team {conn['team']}, PostgreSQL "
                 f"{conn['server_version']}, schema v{conn['schema_version']}" if conn["ok"]
                 else f"FAILED: {conn['error']}")
        click.echo(f"database: {report['url']} — {state}")
    click.echo(f"member:   {report['member']}")
    click.echo(f"outbox:   {report['outbox']} record(s) waiting to be pushed")
    last = report.get("last_sync") or {}
    if last:
        outcome = f"failed: {last['error']}" if last.get("error") else (
            f"pushed {last.get('pushed', 0)}, pulled {last.get('pulled', 0)}")
        click.echo(f"last sync: {ago(last.get('finished_at'))} ({outcome})")
    else:
        click.echo("last sync: never")
    if not report["shared_projects"]:
        click.echo("shared:   nothing (run `claude-mem team share` inside a project)")
    for item in report["shared_projects"]:
        extra = f", {item['on_server']} on the server" if "on_server" in item else ""
        click.echo(f"shared:   {item['name']} ({item['key']}) — outbox {item['outbox']}{extra}, "
                   f"last pull {ago(item['last_pull_at'])}; folders: {', '.join(item['folders'])}")


# -- administrators ----------------------------------------------------------------------


def _admin_url(url: str | None) -> str:
    url = url or os.environ.get("CLAUDE_MEM_TEAM_ADMIN_URL") or config.load().team_database_url
    if not url:
        raise click.UsageError("give the administrator's connection: --url postgresql://… "
                               "(or $CLAUDE_MEM_TEAM_ADMIN_URL)")
    return url


@team_group.command("init-db")
@click.option("--url", help="An administrator's libpq URL (default $CLAUDE_MEM_TEAM_ADMIN_URL, "
                            "else team_database_url).")
@click.option("--print-sql", is_flag=True, help="Print the SQL instead of running it (for psql).")
def init_db_cmd(url, print_sql):
    """Create or upgrade the team schema, roles and row-level security (administrators)."""
    from claude_mem.store import postgres as pgstore
    from claude_mem.dburl import mask

    if print_sql:
        click.echo(pgstore.schema_sql(), nl=False)
        return
    url = _admin_url(url)
    try:
        applied = pgstore.init_db(url)
    except pgstore.TeamDatabaseError as exc:
        raise click.ClickException(str(exc))
    except Exception as exc:  # e.g. not allowed to create roles
        from claude_mem.dburl import mask_error

        raise click.ClickException(f"init-db failed: {mask_error(exc, url)}")
    done = ", ".join(str(v) for v in applied) if applied else "none (already current)"
    click.echo(f"team schema on {mask(url)}: migrations applied: {done}; schema version "
               f"{len(pgstore.PG_MIGRATIONS)}")


@team_group.command("add-member")
@click.argument("role")
@click.option("--team", "team_name", required=True, help="The team whose projects ROLE reads.")
@click.option("--url", help="An administrator's libpq URL.")
@click.option("--password-env", help="Read ROLE's password from this environment variable.")
@click.option("--no-password", is_flag=True, help="Create the role without a password "
                                                  "(certificate or peer authentication).")
def add_member_cmd(role, team_name, url, password_env, no_password):
    """Create a member's login role in a team (administrators)."""
    from claude_mem.store import postgres as pgstore
    from claude_mem.dburl import mask_error

    url = _admin_url(url)
    if no_password:
        password = None
    elif password_env:
        password = os.environ.get(password_env)
        if not password:
            raise click.UsageError(f"${password_env} is empty")
    else:
        password = click.prompt(f"password for {role}", hide_input=True,
                                confirmation_prompt=True)
    try:
        created = pgstore.add_member(url, role, team_name, password)
    except pgstore.TeamDatabaseError as exc:
        raise click.ClickException(str(exc))
    except Exception as exc:
        raise click.ClickException(f"add-member failed: {mask_error(exc, url)}")
    click.echo(f"{'created' if created else 'updated'} member {role} in team {team_name}")
