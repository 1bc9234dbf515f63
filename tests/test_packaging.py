"""coding-memory installed the ways people install tools, and used from there (issue 19).

One wheel and sdist are built per test session with ``python -m build`` from a copy of the
source, then installed AWAY from the source tree (no PYTHONPATH, another working directory):

- into a fresh venv (made by uv when it is installed, else venv + pip): the installed modules are the venv's; ``claude-mem demo`` runs;
  ``claude-mem install`` + ``doctor`` pass; the viewer, opened in Chromium, has its stylesheet
  and script (they used to be missing from the wheel: 500s, an unstyled page, no live feed) and
  shows a new observation that a real hook stores while the page is open; the MCP server,
  registered with the real ``claude mcp add`` (``install --register-mcp``), is connected in
  ``claude mcp list``;
- with pipx and with ``uv tool install`` (both from PyPI, in the test extras): both commands
  exist, the demo runs, and the advice for a missing extra is pipx's or uv's own command (their
  environments have no pip).

Select them with ``-m packaging``. Parts skip, saying why, where Chromium, Playwright, the
bundled Claude Code CLI, pipx or uv is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from helpers import kill_leftovers, load_fixture, processes, wait_for

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PAYLOADS = dict((event, payload) for event, payload in reversed(load_fixture()))  # first of each
RUNTIME_FILES = ["claude_mem/viewer/static/style.css", "claude_mem/viewer/static/app.js",
                 "claude_mem/data/demo-session.jsonl", "claude_mem/hook_entry.py",
                 "claude_mem/mcp_launch.py", "claude_mem/capture.sh"]


def _tool(name: str) -> str | None:
    """A console script installed beside this interpreter (the test extras), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("build", reason="the build package is not installed (pip install -e '.[test]')")
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for part in ("src", "hooks", ".claude-plugin", "docs"):
        shutil.copytree(ROOT / part, source / part, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy(ROOT / name, source / name)
    out = base / "dist"
    # build's isolated environment made by uv when it is there: the same build, seconds sooner.
    installer = ["--installer", "uv"] if _tool("uv") else []
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    proc = subprocess.run([sys.executable, "-m", "build", *installer, "--outdir", str(out), str(source)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [wheel] = out.glob("coding_memory-*.whl")
    [sdist] = out.glob("coding_memory-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist, "base": base}


def test_the_wheel_and_sdist_carry_everything(dist):
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    assert not [f for f in RUNTIME_FILES if f not in names]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(dist["wheel"]).read(entry_points).decode()
    assert "claude-mem = claude_mem.cli:main" in scripts
    assert "coding-memory = claude_mem.cli:main" in scripts
    with tarfile.open(dist["sdist"]) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    for needed in [f"src/{f}" for f in RUNTIME_FILES] + [
            "hooks/hooks.json", "hooks/launch.sh", ".claude-plugin/plugin.json",
            ".claude-plugin/marketplace.json", "README.md", "docs/install.md"]:
        assert needed in members, needed


class Installed:
    """One installation: its bin folder, and a HOME, Claude config dir and data dir of its own."""

    def __init__(self, base: Path, bindir: Path, python: Path):
        self.base, self.bindir, self.python = base, bindir, python
        self.home, self.config, self.data = base / "home", base / "claude", base / "data"
        self.elsewhere = base / "elsewhere"
        for folder in (self.home, self.elsewhere):
            folder.mkdir(parents=True, exist_ok=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env.update(HOME=str(self.home), CLAUDE_CONFIG_DIR=str(self.config),
                   CLAUDE_MEM_DATA_DIR=str(self.data), CLAUDE_MEM_WORKER_IDLE_SECONDS="60",
                   CLAUDE_MEM_WORKER_POLL_SECONDS="0.5", DISABLE_TELEMETRY="1",
                   DISABLE_AUTOUPDATER="1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
        env.update(extra)
        return env

    def run(self, command: str, *args: str, env: dict | None = None, check: bool = True,
            stdin: str = "") -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.bindir / command), *args], capture_output=True, text=True,
                              timeout=120, cwd=self.elsewhere, env=env or self.env(), input=stdin)
        if check:
            assert proc.returncode == 0, (command, args, proc.stdout[-3000:], proc.stderr[-3000:])
        return proc

    def stop(self) -> None:
        self.run("claude-mem", "viewer", "--stop", check=False)
        self.run("claude-mem", "worker", "stop", check=False)
        left = processes(cmdline_has=(b"claude_mem",),
                         environ_has=(f"CLAUDE_MEM_DATA_DIR={self.data}".encode(),))
        kill_leftovers(left, "processes of the installed copy outlived the test")


@pytest.fixture(scope="session")
def pip_installed(dist):
    base = dist["base"] / "pip"
    venv = base / "venv"
    uv = _tool("uv")
    if uv:  # a fresh venv as `python -m venv` + pip make it, in a second rather than 20-40
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True,
                       timeout=120)
        argv = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        argv = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    proc = subprocess.run([*argv, f"{dist['wheel']}[mcp]"], capture_output=True, text=True,
                          timeout=300, cwd=base)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    installed = Installed(base, venv / "bin", venv / "bin" / "python")
    try:
        yield installed
    finally:
        installed.stop()


def test_pip_installed_runs_its_own_copy_the_demo_and_doctor(pip_installed):
    where = pip_installed.run("python", "-c", "import claude_mem; print(claude_mem.__file__)")
    assert where.stdout.startswith(str(pip_installed.base / "venv" / "lib")), where.stdout
    demo = pip_installed.run("claude-mem", "demo")
    assert "Stored: 1 session, 2 prompts, 8 observations, 2 request summaries." in demo.stdout
    assert "# claude-mem: memory of earlier work in acme-billing" in demo.stdout
    assert pip_installed.run("coding-memory", "--help").stdout.startswith("Usage: coding-memory")
    pip_installed.run("claude-mem", "install")
    settings = json.loads((pip_installed.config / "settings.json").read_text())
    command = settings["hooks"]["PostToolUse"][0]["hooks"][0]["command"]
    from claude_mem.install import command_interpreter

    # The capture hooks run in the background through the installed capture.sh (`trap '' HUP
    # TERM; exec sh …/capture.sh post-tool-use <python> -I -S …/hook_entry.py`).
    assert command_interpreter(command) == str(pip_installed.python), command
    assert "site-packages/claude_mem/hook_entry.py" in command
    assert "site-packages/claude_mem/capture.sh" in command
    doctor = pip_installed.run("claude-mem", "doctor", "--json", check=False)
    report = json.loads(doctor.stdout)
    assert report["ok"], [c for c in report["checks"] if c["status"] == "fix"]
    assert any(c["message"] == "all 6 hooks installed" for c in report["checks"])


def _hook(installed: Installed, event: str, payload: dict) -> None:
    """Run the hook command `claude-mem install` wrote, as Claude Code does (a shell)."""
    settings = json.loads((installed.config / "settings.json").read_text())
    command = settings["hooks"][event][0]["hooks"][0]["command"]
    proc = subprocess.run(command, shell=True, input=json.dumps(payload), capture_output=True,
                          text=True, timeout=60, env=installed.env(), cwd=installed.elsewhere)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_the_installed_viewer_is_styled_and_live_in_chromium(pip_installed):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not (pip_installed.config / "settings.json").exists():
        pip_installed.run("claude-mem", "install")
    for event in ("SessionStart", "UserPromptSubmit"):
        _hook(pip_installed, event, PAYLOADS[event])
    port = str(_free_port())
    env = pip_installed.env(CLAUDE_MEM_VIEWER_PORT=port)
    url = pip_installed.run("claude-mem", "viewer", "--no-open", env=env).stdout.splitlines()[0]
    assert url.startswith(f"http://127.0.0.1:{port}/?token=")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            statics = {}
            page.on("response", lambda r: statics.__setitem__(r.url.split("?")[0].rsplit("/", 1)[-1], r.status)
                    if "/static/" in r.url else None)
            page.goto(url)
            page.wait_for_selector("#live.on")  # app.js ran and the live stream is open
            assert statics.get("style.css") == 200 and statics.get("app.js") == 200, statics
            rules = page.evaluate("[...document.styleSheets].reduce((n, s) => n + s.cssRules.length, 0)")
            assert rules > 10
            # The stylesheet is applied: the page's own layout rules, not the browser defaults.
            assert page.evaluate("getComputedStyle(document.body).margin") != "8px"
            payload = {**PAYLOADS["PostToolUse"], "tool_use_id": "toolu_wheel_live",
                       "tool_name": "Bash", "tool_input": {"command": "make platypus-from-the-wheel",
                                                           "description": "run it"},
                       "tool_response": {"stdout": "platypus ready", "stderr": "",
                                         "interrupted": False, "isImage": False}}
            _hook(pip_installed, "PostToolUse", payload)
            page.locator("#feed .item", has_text="platypus-from-the-wheel").wait_for()
            # The request's summary arrives live too, its `code` shown as code, not backticks.
            _hook(pip_installed, "Stop", PAYLOADS["Stop"])
            code = page.locator("#feed .item.kind-summary .text code").first
            code.wait_for()
            assert "`" not in page.locator("#feed .item.kind-summary .text").first.inner_text()
        finally:
            browser.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_installed_mcp_server_registered_with_claude_mcp_add_connects(pip_installed):
    from tests.fakes.claude_cli import find_claude_binary

    claude = find_claude_binary()
    if claude is None:
        pytest.skip("the Claude Code CLI bundled in claude-agent-sdk is missing")
    env = pip_installed.env(PATH=os.path.dirname(claude) + os.pathsep + os.environ.get("PATH", ""))
    report = json.loads(pip_installed.run("claude-mem", "install", "--register-mcp", "--json",
                                          env=env).stdout)
    assert report["mcp_registered"] is True, report
    listed = subprocess.run([claude, "mcp", "list"], capture_output=True, text=True, timeout=120,
                            env=env, cwd=pip_installed.elsewhere, stdin=subprocess.DEVNULL)
    line = next((l for l in listed.stdout.splitlines() if l.startswith("claude-mem:")), "")
    assert "Connected" in line and str(pip_installed.python) in line, listed.stdout + listed.stderr


@pytest.mark.parametrize("installer", ["pipx", "uv"])
def test_pipx_and_uv_tool_install_of_the_wheel(dist, installer):
    exe = _tool(installer)
    if exe is None:
        pytest.skip(f"{installer} is not installed (pip install -e '.[test]')")
    base = dist["base"] / installer
    bindir = base / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if installer == "pipx":
        env.update(PIPX_HOME=str(base / "home"), PIPX_BIN_DIR=str(bindir), PIPX_MAN_DIR=str(base / "man"))
        argv = [exe, "install", "--python", sys.executable, str(dist["wheel"])]
    else:
        env.update(UV_TOOL_DIR=str(base / "tools"), UV_TOOL_BIN_DIR=str(bindir),
                   UV_PYTHON_DOWNLOADS="never")
        argv = [exe, "tool", "install", "--python", sys.executable, str(dist["wheel"])]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=base.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    installed = Installed(base, bindir, bindir / "claude-mem")
    try:
        assert installed.run("coding-memory", "--help").returncode == 0
        demo = installed.run("claude-mem", "demo")
        assert "Stored: 1 session, 2 prompts, 8 observations, 2 request summaries." in demo.stdout
        report = json.loads(installed.run("claude-mem", "install", "--json").stdout)
        # No pip in these environments: the extra comes through the tool that made it.
        expected = {"pipx": "pipx install --force ", "uv": "uv tool install --reinstall "}[installer]
        assert report["mcp_install_command"].startswith(expected), report["mcp_install_command"]
        assert str(dist["wheel"]) + "[mcp]" in report["mcp_install_command"]
    finally:
        installed.stop()
