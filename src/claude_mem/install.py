"""Installing claude-mem's hooks into Claude Code's ``settings.json``.

Contract:
- ``hook_command(event)`` is the command Claude Code runs: the absolute path of this
  environment's interpreter with ``-I -S`` and the absolute path of ``hook_entry.py`` —
  never a bare ``python3`` (a pyenv shim alone costs ~100 ms a call).
- Capture in the background (``capture_in_background``, on by default; the table's
  ``background`` column): the capture hooks' command starts with ``BACKGROUND_PREFIX``
  (SIGTERM and SIGHUP ignored before the interpreter starts) and passes ``--background``
  (the hook leaves Claude Code's process tree, ``hook_entry``); the ASYNC rows also get
  ``"async": true``. Claude Code versions without ``async`` ignore the key and run the hook
  synchronously (2.0.14 did), which still only waits for the detaching process.
- In the background (the default) those capture hooks run ``capture.sh`` instead of an
  interpreter (``capture_command``): the payload goes into the worker's inbox with ``cat``
  and ``mv`` (``inbox``); the script falls back to the Python hook whenever it cannot be
  sure to store what that would (it says when in its header).
- ``install(config_dir)`` adds our six hooks, replacing any earlier copy of ours, and
  keeps every other key and every other hook exactly; running it twice equals once.
  ``uninstall(config_dir)`` removes only ours. A settings file that is not valid JSON is
  refused with an error, never overwritten. Writes are atomic (temp file + rename).
"""
from __future__ import annotations

import json
import os
import shlex
import sys

from claude_mem import DISTRIBUTION
from claude_mem.hook_events import TABLE

ENTRY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_entry.py")
MARKER = "hook_entry.py"


class SettingsError(Exception):
    pass


def default_config_dir() -> str:
    return os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")


# Before a background hook's interpreter starts: Claude Code's SIGTERM at the end of a
# `claude -p` run must not kill it (an ignored signal stays ignored across exec).
BACKGROUND_PREFIX = "trap '' HUP TERM; exec "


def hook_command(hook_name: str, python: str | None = None, background: bool = False) -> str:
    parts = (python or sys.executable, "-I", "-S", ENTRY, *(("--background",) if background else ()),
             hook_name)
    command = " ".join(shlex.quote(p) for p in parts)
    return BACKGROUND_PREFIX + command if background else command


# The shell capture hook (no interpreter: the payload into the worker's inbox).
CAPTURE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "capture.sh")


def capture_command(hook_name: str, python: str | None = None) -> str:
    """A capture hook through ``capture.sh`` (``inbox``), which falls back to the Python
    hook ``hook_command(hook_name, python, background=True)`` runs."""
    parts = ("sh", CAPTURE_SCRIPT, hook_name, python or sys.executable, "-I", "-S", ENTRY)
    return BACKGROUND_PREFIX + " ".join(shlex.quote(p) for p in parts)


def command_interpreter(command: str) -> str:
    """The interpreter a hook command of ours starts (for doctor): for ``capture.sh``, the
    Python it falls back to."""
    if command.startswith(BACKGROUND_PREFIX):
        command = command[len(BACKGROUND_PREFIX):]
    try:
        parts = shlex.split(command)
        if len(parts) > 3 and os.path.basename(parts[1]) == "capture.sh":
            return parts[3]
        return parts[0]
    except (ValueError, IndexError):
        return command.split(" ")[0].strip("'\"")


def runs_in_background(hook: dict) -> bool:
    """Is this installed hook of ours one whose work Claude Code does not wait for (it leaves
    Claude Code's process tree, or hands its payload to the worker's inbox)?"""
    words = str(hook.get("command", "")).split()
    return "--background" in words or any(w.strip("'\"").endswith("capture.sh") for w in words)


def is_ours(hook: dict) -> bool:
    command = str(hook.get("command", "")) if isinstance(hook, dict) else ""
    return MARKER in command and "claude_mem" in command


def read_settings(path: str) -> dict:
    from claude_mem.config import SettingsFileError, read_json_object

    try:
        return read_json_object(path)
    except SettingsFileError as exc:
        raise SettingsError(f"{exc}; fix it or move it away first") from None


def write_settings(path: str, data: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".claude-mem.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)


def _without_ours(hooks: dict) -> dict:
    cleaned: dict = {}
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            cleaned[event] = groups
            continue
        kept_groups = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                kept = [h for h in group["hooks"] if not is_ours(h)]
                if not kept:
                    continue
                if len(kept) != len(group["hooks"]):
                    group = {**group, "hooks": kept}
            kept_groups.append(group)
        if kept_groups:
            cleaned[event] = kept_groups
    return cleaned


def hook_group(command: str, timeout: int, matcher: str | None = None,
               run_async: bool = False) -> dict:
    """One hook group of a settings file (Claude Code's, Codex's, Gemini CLI's): the matcher
    if any, then our one command hook (``run_async``: Claude Code's ``"async": true``)."""
    group: dict = {"matcher": matcher} if matcher is not None else {}
    hook = {"type": "command", "command": command, "timeout": timeout}
    if run_async:
        hook["async"] = True
    group["hooks"] = [hook]
    return group


def claude_code_groups(python: str | None = None, background: bool | None = None,
                       shell: bool = True):
    """``(event, group)`` for each of Claude Code's hooks, as ``install`` writes them;
    ``background`` None: the ``capture_in_background`` setting. In the background the capture
    hooks go through ``capture.sh`` (``shell``; False: each starts the Python hook, which
    leaves the tree: round 5's shape, kept for the benches)."""
    from claude_mem.hook_events import ASYNC, FOREGROUND

    if background is None:
        from claude_mem import config

        background = bool(config.load().capture_in_background)
    for row in TABLE:
        behind = background and row.background != FOREGROUND
        command = capture_command(row.hook, python) if behind and shell else \
            hook_command(row.hook, python, behind)
        yield row.event, hook_group(command, row.timeout, row.matcher,
                                    run_async=behind and row.background == ASYNC)


def put_our_hooks(data: dict, groups) -> None:
    """Make ``groups`` ((event, group) pairs) our only hooks in settings ``data``; others' stay."""
    hooks = data.get("hooks") if isinstance(data.get("hooks"), dict) else {}
    hooks = _without_ours(hooks)
    for event, group in groups:
        hooks.setdefault(event, []).append(group)
    data["hooks"] = hooks


def drop_our_hooks(data: dict) -> None:
    """Take our hooks out of settings ``data`` (and ``hooks`` itself once nothing is left)."""
    if isinstance(data.get("hooks"), dict):
        hooks = _without_ours(data["hooks"])
        if hooks:
            data["hooks"] = hooks
        else:
            data.pop("hooks")


def install(config_dir: str | None = None, python: str | None = None,
            background: bool | None = None, shell: bool = True) -> str:
    path = os.path.join(config_dir or default_config_dir(), "settings.json")
    data = read_settings(path)
    put_our_hooks(data, claude_code_groups(python, background, shell))
    write_settings(path, data)
    return path


def uninstall(config_dir: str | None = None) -> str:
    path = os.path.join(config_dir or default_config_dir(), "settings.json")
    if not os.path.exists(path):
        return path
    data = read_settings(path)
    drop_our_hooks(data)
    write_settings(path, data)
    return path


def installed_commands(config_dir: str | None = None) -> dict[str, str]:
    """Our hook command per Claude Code event, as found in settings.json."""
    return {event: hook["command"] for event, hook in installed_hooks(config_dir).items()}


def installed_hooks(config_dir: str | None = None) -> dict[str, dict]:
    """Our hook (the whole entry: command, timeout, async) per Claude Code event."""
    path = os.path.join(config_dir or default_config_dir(), "settings.json")
    found: dict[str, dict] = {}
    try:
        data = read_settings(path)
    except SettingsError:
        return found
    for event, groups in (data.get("hooks") or {}).items():
        for group in groups if isinstance(groups, list) else []:
            for hook in (group.get("hooks") or []) if isinstance(group, dict) else []:
                if is_ours(hook):
                    found[event] = hook
    return found


# -- what to tell the person after installing ----------------------------------------------


def extra_install_command(extra: str) -> str:
    """The exact command that adds the ``[extra]`` of coding-memory to *this* environment.

    Installed from a checkout or a wheel file (pip, pipx and uv record where in
    ``direct_url.json``), the extra comes from that same place while it still exists:
    ``-e '<checkout>[extra]'`` for an editable install (installing the name from an index would
    replace the checkout), the folder or wheel for the others; otherwise the distribution's own
    name (``claude-mem`` on PyPI is another project, so never that). A pipx or ``uv tool``
    environment has no pip of its own: the command is then pipx's or uv's, which reinstall
    the tool with the extra. Otherwise this interpreter's pip, never a bare ``pip``.
    """
    spec = f"{DISTRIBUTION}[{extra}]"
    editable = ""
    try:
        from importlib import metadata
        from urllib.parse import unquote, urlparse

        info = json.loads(metadata.distribution(DISTRIBUTION).read_text("direct_url.json") or "{}")
        url = str(info.get("url", ""))
        where = unquote(urlparse(url).path) if url.startswith("file:") else ""
        if where and os.path.exists(where):
            spec = where + f"[{extra}]"
            if (info.get("dir_info") or {}).get("editable"):
                editable = "-e "
    except Exception:  # no metadata (running from a source tree): the distribution's name
        pass
    if os.path.exists(os.path.join(sys.prefix, "pipx_metadata.json")):
        return f"pipx install --force {editable}{shlex.quote(spec)}"
    if os.path.exists(os.path.join(sys.prefix, "uv-receipt.toml")):
        return f"uv tool install --reinstall {editable}{shlex.quote(spec)}"
    return f"{shlex.quote(sys.executable)} -m pip install {editable}{shlex.quote(spec)}"


def record_interpreter() -> str:
    """Write this interpreter's path to ``<data dir>/python``: the plugin's hook launcher
    (hooks/launch.sh) and MCP launcher (mcp_launch.py) use it first. A notice that the plugin's
    hooks found no Python (``hooks-python-missing``) is void from then on and removed."""
    from claude_mem import config

    try:
        os.unlink(os.path.join(config.data_dir(), "hooks-python-missing"))
    except OSError:
        pass
    path = os.path.join(config.ensure_data_dir(), "python")
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(sys.executable + "\n")
    os.replace(tmp, path)
    return path


def has_module(name: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):
        return False


MCP_NAME = "claude-mem"


def mcp_server_argv() -> list[str]:
    """How Claude Code should start our MCP server: this interpreter, never a bare python3."""
    return [sys.executable, "-m", "claude_mem.mcp_server"]


def mcp_add_command() -> str:
    """The ``claude mcp add`` line that registers our MCP server for every project."""
    return " ".join(shlex.quote(p) for p in ["claude", "mcp", "add", "--scope", "user", MCP_NAME, "--",
                                             *mcp_server_argv()])


def register_mcp(claude_binary: str | None = None) -> tuple[bool, str]:
    """Run ``claude mcp add`` (replacing an earlier registration of ours); (ok, what happened)."""
    import shutil
    import subprocess

    binary = claude_binary or shutil.which("claude")
    if not binary:
        return False, ("the `claude` command is not on PATH here; run the `claude mcp add` line "
                       "of step 2 below where it is")
    run = lambda *args: subprocess.run([binary, "mcp", *args], capture_output=True, text=True,  # noqa: E731
                                       timeout=60, stdin=subprocess.DEVNULL)
    try:
        run("remove", "--scope", "user", MCP_NAME)  # absent is fine; a stale path is replaced
        proc = run("add", "--scope", "user", MCP_NAME, "--", *mcp_server_argv())
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"`claude mcp add` could not run ({exc})"
    if proc.returncode != 0:
        return False, f"`claude mcp add` failed: {(proc.stderr or proc.stdout).strip()[:300]}"
    return True, f"registered the MCP server {MCP_NAME!r} with Claude Code (user scope)"


def past_transcripts(config_dir: str | None = None) -> tuple[int, str]:
    """How many Claude Code session transcripts wait under ``<config>/projects``, and where."""
    from claude_mem.importers.transcripts import find_transcripts

    folder = os.path.join(config_dir or default_config_dir(), "projects")
    return len(find_transcripts(config_dir or default_config_dir())), folder


def next_steps(config_dir: str | None = None, *, settings=None, can_import: bool = False,
               mcp_registered: bool = False, mcp_register_tried: bool = False) -> dict:
    """What is true on this machine after install, as data (``--json``) and as lines."""
    from claude_mem import config

    settings = settings or config.load()
    mcp_ready = has_module("mcp")
    transcripts, folder = past_transcripts(config_dir)
    port = int(settings.viewer_port)
    steps = {
        "restart_claude_code": True,
        "mcp_extra_installed": mcp_ready,
        "mcp_install_command": None if mcp_ready else extra_install_command("mcp"),
        "mcp_add_command": mcp_add_command(),
        "mcp_registered": mcp_registered,
        # Offering --register-mcp again right after it could not register would go round in circles.
        "offer_register_mcp": not mcp_registered and not mcp_register_tried,
        "viewer": f"http://127.0.0.1:{port}/" if port > 0 else None,
        "past_transcripts": transcripts,
        "transcripts_folder": folder,
        "import_command": "claude-mem import transcripts" if can_import and transcripts else None,
    }
    return steps


def next_steps_lines(steps: dict) -> list[str]:
    lines = ["Next steps:", "  1. Restart Claude Code (sessions already running keep their old hooks)."]
    if steps["mcp_registered"]:
        lines.append("  2. MCP tools: registered with Claude Code (search, get_observations, timeline...).")
    else:
        lines.append("  2. Let Claude search its memory with the MCP tools (once):")
        if steps["mcp_install_command"]:
            lines.append(f"       {steps['mcp_install_command']}")
        lines.append(f"       {steps['mcp_add_command']}")
        if steps.get("offer_register_mcp", True):
            lines.append("     or run `claude-mem install --register-mcp` to have it done.")
    if steps["viewer"]:
        lines.append(f"  3. Browse memory: `claude-mem viewer` (starts it on {steps['viewer']} and opens it "
                     "with your key).")
    else:
        lines.append("  3. The web viewer is off (viewer_port is 0).")
    count, folder = steps["past_transcripts"], steps["transcripts_folder"]
    if count and steps["import_command"]:
        lines.append(f"  4. {count} past Claude Code transcript(s) in {folder} can become memory: "
                     f"{steps['import_command']}")
    elif count:
        lines.append(f"  4. {count} past Claude Code transcript(s) in {folder} are not memory: "
                     "claude-mem records sessions from now on.")
    else:
        lines.append(f"  4. No past Claude Code transcripts in {folder}.")
    lines.append("Check everything any time with `claude-mem doctor`.")
    return lines


def transcript_folders(config_dir: str | None = None, limit: int = 500) -> list[str]:
    """The working folders Claude Code has transcripts for (the ``cwd`` in one file per project)."""
    folder = os.path.join(config_dir or default_config_dir(), "projects")
    found: list[str] = []
    try:
        projects = [p for p in os.scandir(folder) if p.is_dir()][:limit]
    except OSError:
        return found
    for entry in projects:
        try:
            files = sorted((f for f in os.scandir(entry.path) if f.name.endswith(".jsonl")),
                           key=lambda f: f.stat().st_mtime, reverse=True)
            if not files:
                continue
            from claude_mem import boundedfile

            # A FIFO or device named *.jsonl must not hang `install`: regular files only.
            with boundedfile.open_text(files[0].path) as fh:
                for _, line in zip(range(50), fh):
                    if '"cwd"' not in line:
                        continue
                    try:
                        cwd = json.loads(line).get("cwd")
                    except ValueError:
                        continue
                    if isinstance(cwd, str) and cwd:
                        found.append(cwd)
                        break
        except OSError:
            continue
    return found
