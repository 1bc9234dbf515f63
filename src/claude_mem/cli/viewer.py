"""``claude-mem viewer``: start the web viewer if needed and print its address. Loaded by
``cli`` only when used."""
from __future__ import annotations

import os
import sys

import click

from claude_mem import config
from claude_mem.cli.output import dump


@click.command("viewer")
@click.option("--no-open", is_flag=True, help="Only print the address; do not open a browser.")
@click.option("--json", "as_json", is_flag=True, help="Print the address, port and pid as JSON.")
@click.option("--stop", is_flag=True, help="Stop the viewer process.")
def viewer_cmd(no_open, as_json, stop):
    """Start the web viewer if needed and print its address (127.0.0.1, only for you).

    The first line is the address to open: it carries your access key, so keep it to
    yourself. The viewer runs in its own process and outlives the worker.
    """
    from claude_mem import health
    from claude_mem.viewer import process

    if stop:
        was = process.running()
        if not process.stop():
            raise click.ClickException("the viewer did not stop")
        click.echo(f"viewer stopped (pid {was['pid']})" if was else "no viewer running")
        return
    try:
        info = process.ensure()
    except process.ViewerError as exc:
        raise click.ClickException(f"the viewer cannot start: {exc}")
    worker = health.worker_state(timeout=1.0)
    if as_json:
        dump({"url": info["url"], "port": info["port"], "pid": info["pid"],
               "started": info["started"], "worker_running": bool(worker.get("running")),
               "port_taken_by": info.get("taken_by")})
        return
    click.echo(info["url"])
    wanted = config.load().viewer_port
    if info.get("taken_by"):
        click.echo(f"note: port {info['viewer_port']} was taken (by {info['taken_by']}), so this "
                   f"viewer listens on {info['port']}; viewer_port is unchanged")
    elif not info["started"] and int(wanted) > 0 and info["port"] != int(wanted):
        click.echo(f"note: this viewer was started on port {info['port']}; viewer_port is now {wanted} "
                   "(`claude-mem viewer --stop`, then `claude-mem viewer`, moves it)")
    if worker.get("running"):
        pass
    elif worker.get("lock_held"):
        click.echo("worker: not answering (it holds its lock): starting, or hung if this persists "
                   "(`claude-mem worker stop` ends it); the page shows what is stored")
    else:
        click.echo("worker: not running; the page shows what is stored, and new memory appears "
                   "when a Claude Code hook starts the worker (or `claude-mem worker start`)")
    graphical = sys.platform == "darwin" or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if no_open:
        return
    if not graphical:
        click.echo("no display here: open the address above in your browser")
        return
    import webbrowser

    if not webbrowser.open(info["url"]):
        click.echo("could not open a browser: open the address above yourself")
