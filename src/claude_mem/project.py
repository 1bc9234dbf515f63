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
