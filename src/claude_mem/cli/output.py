"""What the command families share: JSON output, opening the store, checking a project.

Contract: ``dump(value)`` prints indented JSON (non-JSON values as strings); ``open_store()``
opens the configured store (``make_dir=True`` creates the data folder first);
``existing_store()`` refuses with one clear line when nothing was ever recorded;
``check_project(store, name)`` refuses a project nothing was recorded for, naming the
ones that exist.
"""
from __future__ import annotations

import json
import os

import click

from claude_mem import config


def dump(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def open_store(*, make_dir: bool = False):
    from claude_mem import store

    if make_dir:
        config.ensure_data_dir()
    return store.open_store()


def existing_store():
    """The store, or a clear error when nothing was ever recorded (no database yet)."""
    if not os.path.exists(config.db_path()):
        raise click.ClickException(f"nothing recorded yet (no database at {config.db_path()}); "
                                   "memory appears after a Claude Code session with the hooks "
                                   "installed (`claude-mem install`)")
    return open_store()


def check_project(store, project: str | None) -> None:
    """Refuse a project nothing was recorded for, naming the ones that exist."""
    if not project:
        return
    known = store.projects_by_recency()
    if project in known:
        return
    close = [p for p in known if project.lower() in p.lower() or p.lower() in project.lower()]
    hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
    listed = ", ".join(known[:15]) + (f" and {len(known) - 15} more" if len(known) > 15 else "")
    raise click.ClickException(f"no project {project!r}{hint}; known projects: {listed}"
                               if known else f"no project {project!r}: nothing has been recorded yet")
