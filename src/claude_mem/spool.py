"""The spool: events a hook could not put into SQLite wait here as files, both ends.

Contract:
- ``write(event, payload, received_at)`` (hook side, the last resort when the database
  is locked too long, read-only or full) writes one file per event,
  ``<ns>-<pid>.<Event>.json``, its first line the arrival time and the rest the payload;
  it is written under a dot-name, fsynced and renamed, so a reader never sees half a file.
- ``import_into(store)`` (worker side) queues every spooled event in name (= time) order;
  a file is removed only after its row is committed, a re-import after a crash is
  recognized and not queued twice, and an unreadable file is moved to ``spool/bad``.
- The folder and its listing are ``config.spool_dir()``/``config.spooled_names()``.
- Hook path: imports only ``os`` and ``time`` (and claude-mem's config and log).
"""

import os
import time

from claude_mem import config, log


def write(event: str, payload: str, received_at: float) -> bool:
    """Spool one event; False (logged: the event is lost) when even that fails."""
    try:
        folder = config.spool_dir()
        os.makedirs(folder, mode=0o700, exist_ok=True)
        name = f"{time.time_ns()}-{os.getpid()}.{event}"
        tmp = os.path.join(folder, "." + name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            data = memoryview(f"{received_at!r}\n{payload}".encode("utf-8"))
            while data:  # a nearly full disk takes part of a write without an error
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(folder, name + ".json"))
        return True
    except OSError as exc:
        log.error(f"{event}: could not spool the event either ({exc}); it is lost")
        return False


def import_into(store) -> int:
    """Queue the spooled events; returns how many files were imported."""
    folder = config.spool_dir()
    imported = 0
    for name in config.spooled_names():
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as fh:
                first, _, payload = fh.read().partition("\n")
            event = name.rsplit(".", 2)[-2]
            received_at = float(first)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            log.error(f"spool file {name} unreadable ({exc!r}); moved to spool/bad")
            _quarantine(folder, name)
            continue
        # A crash between this commit and the unlink below must not queue it twice.
        store.enqueue_once(event, payload, received_at)
        try:
            os.unlink(path)
        except OSError as exc:
            log.error(f"spool file {name} imported but not removed ({exc})")
        imported += 1
    return imported


def _quarantine(folder: str, name: str) -> None:
    """Keep an unreadable spool file for a person to look at, out of the import path."""
    try:
        os.makedirs(os.path.join(folder, "bad"), mode=0o700, exist_ok=True)
        os.replace(os.path.join(folder, name), os.path.join(folder, "bad", name))
    except OSError as exc:
        log.error(f"spool file {name}: cannot move it aside ({exc})")
