"""``claude-mem worker …``: start, stop, restart and inspect the background worker, and the
parked rows of its queue. Loaded by ``cli`` only when used (``cli.COMMANDS``)."""
from __future__ import annotations

import os
import sys
import time

import click

from claude_mem import config, control
from claude_mem.cli.output import dump, open_store
from claude_mem.text import when


@click.group("worker")
def worker_group():
    """Start, stop or inspect the background worker."""


def _wait_for_worker(state: str) -> dict:
    """The running worker's ping answer, waiting briefly for one that is starting."""
    for _ in range(100):
        reply = control.request({"cmd": "ping"}, timeout=1.0)
        if reply:
            return reply
        time.sleep(0.05)
    raise click.ClickException(f"worker {state} but does not answer yet; see {config.log_path()}")


@worker_group.command("start")
@click.option("--foreground", is_flag=True, help="Run in this process (for debugging).")
@click.option("--json", "as_json", is_flag=True,
              help="Say what happened as JSON.")
def worker_start(foreground, as_json):
    """Start the worker if none runs (hooks do this on demand)."""
    if foreground:
        from claude_mem import worker

        sys.exit(worker.main())
    state = control.ensure_worker()
    reply = _wait_for_worker(state)
    if as_json:
        dump({"state": state, **reply})
    else:
        click.echo(f"worker {state}: pid {reply['pid']}")


@worker_group.command("stop")
@click.option("--json", "as_json", is_flag=True,
              help="Say what happened as JSON.")
def worker_stop(as_json):
    """Stop the worker (killing it if it will not stop); tidy a dead worker's files."""
    if not control.worker_lock_held():
        removed = [os.path.basename(p) for p in control.remove_stale_files()]
        if as_json:
            dump({"was_running": False, "stopped": False, "removed_stale": removed})
            return
        click.echo("no worker running" + (f" (removed stale {', '.join(removed)})" if removed else ""))
        return
    stopped = control.stop_worker()
    if as_json:
        dump({"was_running": True, "stopped": bool(stopped)})
        if not stopped:
            sys.exit(1)
        return
    if stopped:
        click.echo("worker stopped")
    else:
        raise click.ClickException("the worker did not stop; see `claude-mem doctor`")


@worker_group.command("restart")
@click.option("--json", "as_json", is_flag=True,
              help="Say what happened as JSON.")
def worker_restart(as_json):
    """Stop the worker if it runs and start a fresh one (it re-reads settings)."""
    before = control.request({"cmd": "ping"}, timeout=1.0) or {}
    if control.worker_lock_held() and not control.stop_worker():
        raise click.ClickException("the old worker did not stop; see `claude-mem doctor`")
    state = control.ensure_worker()
    reply = _wait_for_worker(state)
    if as_json:
        dump({"previous_pid": before.get("pid"), **reply})
        return
    was = f" (was pid {before['pid']})" if before.get("pid") else " (none was running)"
    click.echo(f"worker restarted: pid {reply['pid']}{was}, compressor {reply['compressor']}")


@worker_group.command("retry-parked")
@click.argument("ids", nargs=-1, type=click.IntRange(min=1, max=2**63 - 1))
@click.option("--json", "as_json", is_flag=True, help="The rows queued again, as JSON.")
def worker_retry_parked(ids, as_json):
    """Put parked queue rows (all, or IDs) back in the queue (after fixing what made them fail)."""

    with open_store() as store:
        rows = store.requeue_parked(ids or None)
    if rows:
        control.ensure_worker()
    if as_json:
        dump({"queued_again": [{k: v for k, v in row.items() if k != "payload"} for row in rows]})
        return
    for row in rows:
        click.echo("queued again " + describe_row(row))
    click.echo(f"{len(rows)} parked row(s) queued again")


@worker_group.command("status")
@click.option("--json", "as_json", is_flag=True,
              help="The worker's state as JSON (running, pid, answered a ping...).")
def worker_status(as_json):
    reply = control.request({"cmd": "ping"}, timeout=2.0)
    if as_json:
        dump(reply or {"ok": False, "running": False})
        return
    if reply:
        click.echo(f"running: pid {reply['pid']}, since {when(reply['started_at'])}, "
                   f"{reply['processed']} events processed, compressor {reply['compressor']}")
    else:
        click.echo("not running" + (" (starting: lock held)" if control.worker_lock_held() else ""))


# -- the queue's dead letters ------------------------------------------------------------
# A queue row that failed ``max_attempts`` times (or can never become an event) is
# *parked*: kept, never dropped silently. ``worker parked`` lists each with its reason;
# ``worker discard-parked ID… | --all`` deletes them for good and names each row it
# deleted (the bytes go too: the store runs with ``secure_delete``); ``worker
# retry-parked`` queues them again.


def describe_row(row) -> str:
    """One line for a parked (or stuck) queue row: what it was and why it stopped."""
    reason = " ".join(str(row["last_error"] or "no error recorded").split())
    attempts = int(row["attempts"] or 0)
    # A row parked without an attempt is one that can never become an event (not JSON, no
    # session id): "0 attempt(s)" read as if the worker had not tried.
    tried = (f"{attempts} failed attempt{'s' if attempts != 1 else ''}" if attempts
             else "parked at once, it can never become an event")
    return (f"#{row['id']} {row['event']} received {when(row['received_at'], seconds=True)}, "
            f"{tried}: {reason[:300]}")


@worker_group.command("parked")
@click.option("--json", "as_json", is_flag=True,
              help="The parked rows as a JSON list (id, event, received_at, attempts, last_error).")
def worker_parked(as_json):
    """List the parked queue rows (failed repeatedly, or never readable), with the reason of each."""
    import json

    with open_store() as store:
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
    with open_store() as store:
        rows = store.discard_parked(None if everything else ids)
    missing = sorted(set(ids) - {r["id"] for r in rows})
    for row in rows:
        click.echo("discarded " + describe_row(row))
    click.echo(f"{len(rows)} parked row(s) discarded")
    if missing:
        raise click.ClickException(
            "not parked (nothing done): " + ", ".join(f"#{i}" for i in missing))
