"""The spool: events a hook could not put into SQLite wait here as files, both ends.

Contract:
- ``write(event, payload, received_at)`` (hook side, the last resort when the database
  is locked too long, read-only or full) writes one file per event,
  ``<ns>-<pid>.<Event>.json``, its first line the arrival time and the rest the payload;
  it is written under a dot-name, fsynced and renamed, so a reader never sees half a file.
- ``import_into(store)`` (worker side) queues every spooled event in name (= time) order;
  a file is removed only after its row is committed, a re-import after a crash is
  recognized and not queued twice, and an unreadable file is moved to ``spool/bad``.
- ``remove_stale_tmp()`` (worker side, at start) deletes temp files a failed write left.
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
            try:
                data = memoryview(f"{received_at!r}\n{payload}".encode("utf-8", "backslashreplace"))
                while data:  # a nearly full disk takes part of a write without an error
                    data = data[os.write(fd, data):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, os.path.join(folder, name + ".json"))
        except BaseException:
            try:  # a failed attempt leaves no (zero-byte) temp file behind
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return True
    except OSError as exc:
        log.error(f"{event}: could not spool the event either ({exc}); it is lost")
        return False


# A hook writes its temp file in milliseconds: one this old was left by a failed write.
STALE_TMP_SECONDS = 60.0


def remove_stale_tmp(folder: str | None = None) -> list[str]:
    """Delete ``.*.tmp`` files a failed spool write left behind; returns their names."""
    folder = folder or config.spool_dir()
    removed = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp")]
    except OSError:
        return removed
    now = time.time()
    for name in names:
        path = os.path.join(folder, name)
        try:
            if now - os.stat(path).st_mtime > STALE_TMP_SECONDS:
                os.unlink(path)
                removed.append(name)
        except OSError:
            pass
    if removed:
        log.info(f"removed {len(removed)} temp file(s) left by failed spool writes")
    return removed


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
