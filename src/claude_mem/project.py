"""Which project a working directory belongs to, and whether it is opted out.

Contract:
- ``current_dir()`` is the working directory, or "" when it was deleted under us.
- ``clean_cwd(cwd)`` is the absolute path a hook's ``cwd`` means (``~`` expanded), or ""
  for junk: not a string, empty or only whitespace.
- ``project_root(cwd)`` is the top level of the git repository containing ``cwd``, found by
  walking up to a ``.git`` entry; no ``git`` process is started (this is on the hook path).
  A linked worktree (``git worktree add``: its ``.git`` is a file ``gitdir: …/.git/worktrees/
  <name>`` whose ``commondir`` names the main ``.git``) belongs to its main repository, so a
  session in ``repo/.worktrees/feature-x`` shares ``repo``'s memory and two repositories'
  same-named worktrees never mix. A submodule (a ``.git`` file without ``commondir``) is its
  own project. Outside git, the root is ``cwd`` itself.
- ``project_name(cwd)`` is the root folder's name; ``/`` is ``"root"`` and junk is
  ``"unknown"``.
- ``is_excluded(cwd, entries)``: a ``.claude-mem-ignore`` file at the project root (or in
  ``cwd``), or an ``exclude_projects`` entry that matches. An entry without ``/`` matches the
  project name; an entry with ``/`` (or starting with ``~``) matches the folder ``cwd`` is in
  or any folder above it, so a folder excludes everything inside it. Entries may use
  ``*`` (within one path segment), ``**`` (across segments), ``?`` (one character) and ``~``.
- ``ProjectLookup(entries)``: the three answers above for the worker, remembered per cwd
  until ``clear()`` (the worker clears it at every pass over the queue: a cwd's project
  does not change within a batch, and a new ``.git`` or ``.claude-mem-ignore`` counts from
  the next pass). Without it, every event walked the folders up to ``/`` two or three times.
- Standard library only, and ``re`` only when an entry has a wildcard.
"""

import os

UNKNOWN = "unknown"
ROOT_NAME = "root"
_WILDCARDS = ("*", "?", "[")


def current_dir() -> str:
    """The working directory, or "" when it was deleted under us (never an exception)."""
    try:
        return os.getcwd()
    except OSError:
        return ""


def clean_cwd(cwd) -> str:
    if not isinstance(cwd, str) or not cwd.strip():
        return ""
    return os.path.abspath(os.path.expanduser(cwd.strip()))


def _worktree_main_root(dot_git_file: str, probe: str) -> str | None:
    """The main repository's top level for a linked worktree's ``.git`` file, else None."""
    try:
        with open(dot_git_file, encoding="utf-8", errors="replace") as fh:
            first = fh.readline(4096).strip()
    except OSError:
        return None
    if not first.startswith("gitdir:"):
        return None
    gitdir = os.path.join(probe, first[len("gitdir:"):].strip())  # relative to the worktree
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8", errors="replace") as fh:
            common = fh.readline(4096).strip()
    except OSError:
        return None  # a submodule, or a worktree whose admin folder is gone: its own project
    common_dir = os.path.normpath(os.path.join(gitdir, common))
    if os.path.basename(common_dir) == ".git":
        return os.path.dirname(common_dir)
    # A bare repository (``repo.git``): its worktrees are named after it.
    return common_dir[:-4] if common_dir.endswith(".git") else common_dir


def project_root(cwd) -> str:
    path = clean_cwd(cwd)
    if not path:
        return ""
    probe = path
    while True:
        dot_git = os.path.join(probe, ".git")
        if os.path.isdir(dot_git):
            return probe
        if os.path.isfile(dot_git):
            return _worktree_main_root(dot_git, probe) or probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return path
        probe = parent


def name_of_root(root: str) -> str:
    if not root:
        return UNKNOWN
    return os.path.basename(root.rstrip(os.sep)) or ROOT_NAME


def project_name(cwd) -> str:
    return name_of_root(project_root(cwd))


def _glob_regex(pattern: str):
    import re

    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # "a/**/b" also matches "a/b"
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        out.append("[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _ancestors(path: str) -> list[str]:
    found = []
    while True:
        found.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            return found
        path = parent


def entry_matches(entry, name: str, path: str) -> bool:
    """True when one ``exclude_projects`` entry covers project ``name`` whose folder is ``path``."""
    if not isinstance(entry, str):
        return False
    entry = entry.strip()
    if entry not in ("/", "~/"):
        entry = entry.rstrip("/")
    if not entry:
        return False
    is_path = "/" in entry or entry.startswith("~")
    wild = any(w in entry for w in _WILDCARDS)
    if not is_path:
        if wild:
            return bool(name) and bool(_glob_regex(entry).match(name))
        return entry == name
    if not path:
        return False
    pattern = os.path.expanduser(entry)
    if not wild:
        pattern = os.path.abspath(pattern)
        return any(folder == pattern for folder in _ancestors(path))
    regex = _glob_regex(pattern)
    return any(regex.match(folder) for folder in _ancestors(path))


def is_excluded(cwd, excluded: list[str]) -> bool:
    """True when the project of ``cwd`` is opted out (marker file, name, path or glob)."""
    path = clean_cwd(cwd)
    root = project_root(path)
    for folder in (root, path):
        if folder and os.path.exists(os.path.join(folder, ".claude-mem-ignore")):
            return True
    if not excluded:
        return False
    name = name_of_root(root)
    return any(entry_matches(entry, name, path) or entry_matches(entry, name, root)
               for entry in excluded)


class ProjectLookup:
    """``project_root``/``project_name``/``is_excluded`` remembered per cwd until ``clear()``.

    ``entries`` (the ``exclude_projects`` setting) are fixed for the lookup's life.
    """

    # Past this many cwds the memory starts over (a pass sees at most a few hundred).
    LIMIT = 4096

    def __init__(self, entries=()):
        self.entries = list(entries or ())
        self._roots: dict = {}
        self._names: dict = {}
        self._excluded: dict = {}

    def clear(self) -> None:
        self._roots.clear()
        self._names.clear()
        self._excluded.clear()

    def root(self, cwd) -> str:
        if not isinstance(cwd, str):
            return project_root(cwd)
        try:
            return self._roots[cwd]
        except KeyError:
            if len(self._roots) >= self.LIMIT:
                self._roots.clear()
            found = self._roots[cwd] = project_root(cwd)
            return found

    def name(self, cwd) -> str:
        if not isinstance(cwd, str):
            return name_of_root(self.root(cwd))
        try:
            return self._names[cwd]  # asked for every unit of work
        except KeyError:
            if len(self._names) >= self.LIMIT:
                self._names.clear()
            found = self._names[cwd] = name_of_root(self.root(cwd))
            return found

    def excluded(self, cwd) -> bool:
        if not isinstance(cwd, str):
            return is_excluded(cwd, self.entries)
        try:
            return self._excluded[cwd]
        except KeyError:
            if len(self._excluded) >= self.LIMIT:
                self._excluded.clear()
            found = self._excluded[cwd] = is_excluded(cwd, self.entries)
            return found


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
