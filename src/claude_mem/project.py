"""Which project a working directory belongs to.

Contract: ``project_root(cwd)`` is the git top level containing ``cwd`` (found by
walking up to a ``.git`` directory or file, so no ``git`` process is started on the
hook path), else ``cwd`` itself; ``project_name(cwd)`` is that folder's name.
"""

import os


def project_root(cwd: str) -> str:
    if not cwd:
        return ""
    path = os.path.abspath(cwd)
    probe = path
    while True:
        if os.path.exists(os.path.join(probe, ".git")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return path
        probe = parent


def project_name(cwd: str) -> str:
    root = project_root(cwd)
    return os.path.basename(root.rstrip(os.sep)) or root or "unknown"


def is_excluded(cwd: str, excluded: list[str]) -> bool:
    """True when the project of ``cwd`` is opted out (by name, by path, or by a marker file)."""
    root = project_root(cwd)
    if root and os.path.exists(os.path.join(root, ".claude-mem-ignore")):
        return True
    if not excluded:
        return False
    name = os.path.basename(root.rstrip(os.sep))
    for entry in excluded:
        entry = entry.rstrip(os.sep)
        if entry == name or os.path.abspath(os.path.expanduser(entry)) == root:
            return True
    return False


# -- identity that travels (team memory) ------------------------------------------------


def normalize_remote(url: str) -> str:
    """One spelling per repository: ``host/org/repo``, lower case.

    ``git@host:org/repo.git``, ``https://user@host/org/repo`` and
    ``ssh://git@host:22/org/repo/`` are all ``host/org/repo``; user names, credentials,
    ports and a trailing ``.git`` are dropped. A local path stays a path (``file:...``).
    """
    import re
    import urllib.parse

    url = (url or "").strip()
    if not url:
        return ""
    if "://" in url:
        parts = urllib.parse.urlsplit(url)
        host, path = parts.hostname or "", parts.path
        if parts.scheme == "file" or not host:
            return "file:" + os.path.normpath(path or url).rstrip("/").lower()
    else:
        scp = re.match(r"^(?:[^@/]+@)?([^:/]+):(.*)$", url)
        if not scp:
            return "file:" + os.path.normpath(os.path.abspath(url)).rstrip("/").lower()
        host, path = scp.group(1), scp.group(2)
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return f"{host}/{path.rstrip('/')}".lower()


def remote_identity(cwd: str) -> str | None:
    """The normalized URL of the git remote of ``cwd``'s project (``origin`` first), or None.

    Starts ``git`` (the worker and the CLI call this, never a hook).
    """
    import subprocess

    root = project_root(cwd)

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                              timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        remotes = git("remote").split()
        if not remotes:
            return None
        url = git("remote", "get-url", "origin" if "origin" in remotes else remotes[0])
    except (OSError, subprocess.SubprocessError):
        return None
    return normalize_remote(url) or None
