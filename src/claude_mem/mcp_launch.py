"""Start claude-mem's MCP server with an interpreter that has the MCP SDK (the plugin's entry).

Contract: the plugin (``mcpServers`` in ``.claude-plugin/plugin.json``) runs ``python3 <plugin>/src/claude_mem/mcp_launch.py``.
The system ``python3`` usually lacks the ``mcp`` package, so this standard-library-only
script (runnable by any Python 3) picks the first interpreter that has it:

1. ``$CLAUDE_MEM_PYTHON``;
2. the interpreter ``claude-mem install`` recorded in ``<data dir>/python``;
3. ``<plugin>/.venv/bin/python`` (the Quick start's virtual environment);
4. the interpreter running this script;

and replaces itself (``exec``) with ``<that python> -m claude_mem.mcp_server``, the plugin's
``src`` first on ``PYTHONPATH`` so the server is the plugin's own code. When none has the
SDK it writes one line to stderr saying how to fix it (Claude Code shows it under
``/mcp``) and exits 1. Nothing is downloaded or installed here.
"""
import os
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN_ROOT = os.path.dirname(SRC)


def _data_dir():
    configured = os.environ.get("CLAUDE_MEM_DATA_DIR")
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    return os.path.join(os.path.expanduser("~"), ".claude-mem")


def _recorded():
    try:
        with open(os.path.join(_data_dir(), "python"), encoding="utf-8") as fh:
            return fh.readline().strip()
    except OSError:
        return ""


def candidates():
    seen = []
    for path in (os.environ.get("CLAUDE_MEM_PYTHON", ""), _recorded(),
                 os.path.join(PLUGIN_ROOT, ".venv", "bin", "python"), sys.executable):
        if path and path not in seen and os.path.isfile(path) and os.access(path, os.X_OK):
            seen.append(path)
    return seen


def _prefix(python):
    """The environment a python path belongs to, as that interpreter will see it.

    A virtual environment's ``bin/python`` is a symlink to its base interpreter, but started
    through the link it reads ``<venv>/pyvenv.cfg`` and uses the venv's site-packages: so the
    link must not be resolved (resolving it names the base, whose site-packages usually lack
    the SDK). Anything else is known by its real path.
    """
    bindir = os.path.dirname(os.path.abspath(python))
    venv = os.path.dirname(bindir)
    if os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
        return ("venv", venv)
    return ("python", os.path.realpath(python))


def _is_running_interpreter(python):
    here = ("venv", sys.prefix) if sys.prefix != sys.base_prefix else ("python", os.path.realpath(sys.executable))
    return _prefix(python) == (here[0], os.path.abspath(here[1]))


def has_mcp(python):
    """Whether *python* is 3.11 or newer and can import the MCP SDK (without importing it)."""
    if _is_running_interpreter(python) and not sys.flags.no_site and not sys.flags.isolated:
        import importlib.util

        return sys.version_info >= (3, 11) and importlib.util.find_spec("mcp") is not None
    probe = ("import sys, importlib.util; "
             "sys.exit(sys.version_info < (3, 11) or importlib.util.find_spec('mcp') is None)")
    try:
        return subprocess.run([python, "-c", probe], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    tried = candidates()
    for python in tried:
        if has_mcp(python):
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
            os.execve(python, [python, "-m", "claude_mem.mcp_server"] + list(argv), env)
    sys.stderr.write(
        "claude-mem: no Python 3.11+ here has the MCP SDK (tried: " + ", ".join(tried) + "). "
        "Fix: install coding-memory with its [mcp] extra in a virtual environment and run its "
        "`claude-mem install` (that records the interpreter), or set CLAUDE_MEM_PYTHON to a "
        "python that can `import mcp`.\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
