"""``claude-mem worker parked`` and ``claude-mem worker discard-parked``: the queue's dead letters.

Contract: a queue row that failed ``max_attempts`` times (or can never become an event)
is *parked*: kept, never dropped silently. ``worker parked`` lists each with its reason;
``worker discard-parked ID… | --all`` deletes them for good and names each row it
deleted (the bytes go too: the store runs with ``secure_delete``); ``worker retry-parked``
(in ``cli.py``) queues them again. Registered on the ``worker`` group by one line in
``cli.py``.
"""
from __future__ import annotations

import time

import click



def _when(epoch) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def describe_row(row) -> str:
    """One line for a parked (or stuck) queue row: what it was and why it stopped."""
    reason = " ".join(str(row["last_error"] or "no error recorded").split())
    attempts = int(row["attempts"] or 0)
    # A row parked without an attempt is one that can never become an event (not JSON, no
    # session id): "0 attempt(s)" read as if the worker had not tried.
    tried = (f"{attempts} failed attempt{'s' if attempts != 1 else ''}" if attempts
             else "parked at once, it can never become an event")
    return f"#{row['id']} {row['event']} received {_when(row['received_at'])}, {tried}: {reason[:300]}"


def _store():
    from claude_mem.store import open_store

    return open_store()


def register(worker_group: click.Group) -> None:
    @worker_group.command("parked")
    @click.option("--json", "as_json", is_flag=True,
                  help="The parked rows as a JSON list (id, event, received_at, attempts, last_error).")
    def worker_parked(as_json):
        """List the parked queue rows (failed repeatedly, or never readable), with the reason of each."""
        import json

        with _store() as store:
            rows = [dict(r) for r in store.parked_rows(limit=1_000_000)]
        if as_json:
            click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            click.echo("no parked queue rows")
            return
        click.echo(f"{len(rows)} parked queue row(s):")
        for row in rows:
            click.echo("  " + describe_row(row))
        click.echo("retry them with `claude-mem worker retry-parked [ID…]` or delete them with "
                   "`claude-mem worker discard-parked ID… | --all`")

    @worker_group.command("discard-parked")
    @click.argument("ids", nargs=-1, type=click.IntRange(min=1, max=2**63 - 1))
    @click.option("--all", "everything", is_flag=True, help="Discard every parked row.")
    def worker_discard_parked(ids, everything):
        """Delete parked queue rows for good (they never became memory)."""
        if bool(ids) == everything:
            raise click.UsageError("name the parked rows to discard (IDs) or pass --all")
        with _store() as store:
            rows = store.discard_parked(None if everything else ids)
        missing = sorted(set(ids) - {r["id"] for r in rows})
        for row in rows:
            click.echo("discarded " + describe_row(row))
        click.echo(f"{len(rows)} parked row(s) discarded")
        if missing:
            raise click.ClickException(
                "not parked (nothing done): " + ", ".join(f"#{i}" for i in missing))
