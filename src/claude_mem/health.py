"""Health of an installation: ``claude-mem status`` and ``claude-mem doctor``.

Contract: ``status()`` gathers a JSON-able report (worker liveness by a ping over the
socket, else what the lock, pid file and socket file say; queue depth and oldest pending
event, parked rows, spooled events, active sessions, LLM spending per day, recent errors
from the log) without changing anything. ``doctor()`` returns (problems, lines): each
check as a line (``ok``, ``FIX`` with what to do, or ``info``), problems counted. Both
take the viewer's state from their caller (``viewer.process.state``): the viewer shows
this report, so this module does not import the viewer.
"""
from __future__ import annotations

import os
import time

from claude_mem import config, control, log
from claude_mem.text import when


def worker_state(timeout: float = 2.0) -> dict:
    """What is known about the worker: a ping answer, else the lock, pid and socket files."""
    ping = control.request({"cmd": "ping"}, timeout=timeout)
    if ping:
        return {**ping, "running": True}
    state: dict = {"running": False, "lock_held": control.worker_lock_held()}
    pid = control.read_pid()
    if pid:
        alive = control.is_alive(pid) and control.is_worker_process(pid)
        state["pid"] = pid
        state["pid_alive"] = alive
        if not alive:
            state["stale_pid_file"] = True  # a dead worker's, or a reused pid
    if os.path.exists(config.socket_path()) and not state["lock_held"]:
        state["stale_socket"] = True  # nobody listens: the next worker replaces it
    return state


# A queue head older than this has not moved: something keeps the worker from it.
STUCK_AFTER_SECONDS = 300.0


def queue_head(store, worker_running: bool | None = None) -> dict | None:
    """The oldest pending row, with ``stuck`` and, when stuck, ``why`` in words."""
    row = store.queue_head()
    if row is None:
        return None
    head = dict(row)
    waited = max(0.0, time.time() - head["received_at"])
    head["waited_seconds"] = round(waited, 1)
    head["stuck"] = waited > STUCK_AFTER_SECONDS
    if head["last_error"]:
        head["why"] = (f"it failed {head['attempts']} time(s), last with: "
                       + " ".join(str(head["last_error"]).split())[:300])
    elif head["attempts"]:
        head["why"] = (f"{head['attempts']} attempt(s) started and none finished "
                       "(the worker died or hangs on it)")
    elif worker_running is False:
        head["why"] = "the worker is not running (the next hook event starts it)"
    else:
        head["why"] = "the worker has not attempted it"
    return head


def spooled_events() -> int:
    return len(config.spooled_names())


def inbox_events() -> int:
    """Capture events ``capture.sh`` left for the worker that it has not taken in yet."""
    from claude_mem import inbox

    return len(inbox.waiting())


def status(viewer: dict | None = None) -> dict:
    """The status report; ``viewer`` is the viewer's state (``viewer.process.state``), which
    the doors that show it pass in (this module does not reach up into the viewer)."""
    from claude_mem.store import open_store

    report: dict = {"data_dir": config.data_dir(), "database": config.db_path()}
    report["worker"] = worker_state()
    if viewer is not None:
        report["viewer"] = viewer
    report["spooled"] = spooled_events()
    report["inbox"] = inbox_events()
    report["recent_errors"] = log.tail(5, "error")
    if not os.path.exists(config.db_path()):
        report["note"] = "no database yet: nothing has been recorded"
        return report
    with open_store() as store:
        report["queue"] = store.queue_stats()
        report["queue_head"] = queue_head(store, report["worker"].get("running"))
        report["parked"] = store.parked_rows()
        report["counts"] = store.counts()
        report["active_sessions"] = [
            {"id": r["id"], "claude_session_id": r["claude_session_id"], "project": r["project"],
             "last_activity_at": r["last_activity_at"]}
            for r in store.active_sessions(20)]
        report["llm_usage"] = store.llm_usage_by_day()
        report["semantic"] = _search_status(store, report["worker"])
        report["llm_usage_by_session"] = store.llm_usage_by_session(10)
    report["database_bytes"] = database_bytes()
    settings = config.load()
    report["compressor"] = settings.compressor  # what the worker uses is in report["worker"]
    today = time.strftime("%Y-%m-%d", time.localtime())
    rows = [r for r in report["llm_usage"] if r["day"] == today]
    report["llm_today"] = {"calls": sum(r["calls"] for r in rows),
                           "tokens": sum(r["input_tokens"] + r["output_tokens"] for r in rows),
                           "failures": sum(r["failures"] for r in rows)}
    report["llm_caps"] = {"calls_per_session": settings.llm_max_calls_per_session,
                          "tokens_per_session": settings.llm_max_tokens_per_session}
    return report


def _search_status(store, worker: dict) -> dict:
    """Search by meaning: installed, the model, the share of memory embedded, the rate."""
    from claude_mem import semantic

    try:
        return semantic.status(store, config.load(), worker)
    except Exception as exc:  # status must always answer
        return {"installed": False, "hint": f"could not tell ({exc!r})"}


def database_bytes() -> int:
    """The database's size on disk, its write-ahead log included."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += os.path.getsize(config.db_path() + suffix)
        except OSError:
            pass
    return total



def format_status(report: dict) -> str:
    w = report["worker"]
    lines = [f"data:    {report['data_dir']}"]
    if w.get("running"):
        lines.append(f"worker:  running, pid {w['pid']}, since {when(w['started_at'], seconds=True)}, "
                     f"{w['processed']} events processed, compressor {w['compressor']}")
    elif w.get("lock_held"):
        who = f"pid {w['pid']}" if w.get("pid_alive") else "pid unknown"
        lines.append(f"worker:  not answering ({who} holds the lock): starting, or hung if this "
                     "persists (`claude-mem worker stop` ends it)")
    else:
        stale = [name for key, name in (("stale_socket", "socket"), ("stale_pid_file", "pid file"))
                 if w.get(key)]
        lines.append("worker:  not running (it starts on the next hook event)"
                     + (f"; stale {' and '.join(stale)} left by a dead worker" if stale else ""))
    if report.get("viewer"):
        lines.append("viewer:  " + report["viewer"]["text"].removeprefix("viewer ").removeprefix("on "))
    if "queue" not in report:
        lines.append(report.get("note", ""))
        return "\n".join(lines)
    q = report["queue"]
    age = (f", oldest from {when(q['oldest_pending_at'], seconds=True)} "
           f"({time.time() - q['oldest_pending_at']:.0f}s ago)") if q["oldest_pending_at"] else ""
    spooled = f", {report['spooled']} spooled" if report.get("spooled") else ""
    spooled += f", {report['inbox']} in the inbox" if report.get("inbox") else ""
    lines.append(f"queue:   {q['pending']} pending{age}, {q['parked']} parked{spooled}")
    head = report.get("queue_head")
    if head and (head["stuck"] or head["attempts"]):
        state = "STUCK" if head["stuck"] else "retrying"
        lines.append(f"  head #{head['id']} {head['event']} {state}, waiting "
                     f"{head['waited_seconds']:.0f}s: {head['why']}")
    for row in report["parked"]:
        lines.append(f"  parked #{row['id']} {row['event']} ({row['attempts']} attempts): {row['last_error']}")
    c = report["counts"]
    lines.append(f"memory:  {c['sessions']} sessions ({c['active_sessions']} active), {c['prompts']} prompts, "
                 f"{c['observations']} observations, {c['summaries']} summaries")
    if report.get("semantic"):
        from claude_mem import semantic

        lines.append(semantic.status_line(report["semantic"]))
    for row in report["active_sessions"]:
        lines.append(f"  active {row['claude_session_id']} [{row['project']}] "
                     f"last activity {when(row['last_activity_at'], seconds=True)}")
    for row in report["llm_usage"]:
        lines.append(f"llm:     {row['day']} {row['backend']} {row['model'] or ''}: {row['calls']} calls, "
                     f"{row['input_tokens']}+{row['output_tokens']} tokens, {row['failures']} failures")
    for row in report.get("llm_usage_by_session", []):
        lines.append(f"  session {row['claude_session_id'][:8]} {row['backend']}: "
                     f"{row['calls']} calls, {row['tokens']} tokens")
    for line in report["recent_errors"]:
        lines.append(f"error:   {line}")
    return "\n".join(lines)


def capture_mode_line(hooks: dict, settings) -> str:
    """Doctor's line on how the installed capture hooks run, and whether the setting agrees."""
    from claude_mem import install
    from claude_mem.hook_events import BY_EVENT, FOREGROUND

    capture = [e for e in hooks if e in BY_EVENT and BY_EVENT[e].background != FOREGROUND]
    behind = [e for e in capture if install.runs_in_background(hooks[e])]
    wanted = bool(settings.capture_in_background)
    if behind and len(behind) == len(capture):
        state = "info  capture hooks run in the background (Claude Code does not wait for their writes)"
        if all("capture.sh" in str(hooks[e].get("command", "")) for e in behind):
            state += ", through capture.sh and the worker's inbox (no interpreter per event)"
        return state if wanted else (state.replace("info ", "warn ", 1) + "; capture_in_background is "
                                     "false: re-run `claude-mem install` to make them synchronous")
    state = "info  capture hooks run synchronously" if not behind else \
        f"warn  only {', '.join(sorted(behind))} of the capture hooks run in the background"
    if wanted:
        return state.replace("info ", "warn ", 1) + ("; re-run `claude-mem install` to run them in "
                                                     "the background (capture_in_background is true)")
    return state


def agent_hooks(claude_config_dir: str | None = None, codex_home: str | None = None,
                gemini_dir: str | None = None) -> dict:
    """Each agent's hooks as installed: ``{agent: {"installed", "hooks": {event: {...}}}}``."""
    from claude_mem import install, install_codex
    from claude_mem.hook_events import CLAUDE_CODE, rows_for

    found = install.installed_commands(claude_config_dir)
    claude = {"config_dir": claude_config_dir or install.default_config_dir(), "installed": bool(found),
              "hooks": {row.event: {"installed": row.event in found, "command": found.get(row.event)}
                        for row in rows_for(CLAUDE_CODE)}}
    codex = install_codex.status(codex_home)
    from claude_mem import install_gemini

    return {"claude-code": claude,
            "codex": {"codex_home": codex["codex_home"], "hooks_file": codex["hooks_file"],
                      "installed": codex["installed"], "hooks": codex["events"]},
            "gemini": install_gemini.status(gemini_dir)}


def doctor(claude_config_dir: str | None = None, codex_home: str | None = None,
           viewer: dict | None = None, gemini_dir: str | None = None) -> tuple[int, list[str]]:
    """(problems, lines): the checks ``claude-mem doctor`` prints; ``viewer`` as in ``status``."""
    from claude_mem import install
    from claude_mem.hook_events import HOOK_EVENTS
    from claude_mem.store import open_store

    problems = 0
    lines = []

    def check(ok: bool, good: str, bad: str) -> None:
        nonlocal problems
        lines.append(("ok    " if ok else "FIX   ") + (good if ok else bad))
        problems += 0 if ok else 1

    data = config.data_dir()
    check(os.path.isdir(data), f"data dir {data}", f"data dir {data} missing (run `claude-mem install`)")
    if os.path.isdir(data):
        mode = os.stat(data).st_mode & 0o777
        check(mode & 0o077 == 0, f"data dir is private ({oct(mode)})",
              f"data dir is readable by others ({oct(mode)}): chmod 700 {data}")
    settings = config.load()
    try:
        config.read_settings_file()
        advice = " — fix with `claude-mem config set NAME VALUE` or `claude-mem config unset NAME`"
    except config.SettingsFileError:
        # `config set`/`unset` refuse to touch a file they cannot read: the file comes first.
        path = config.settings_path()
        advice = (f" — correct the JSON in {path} by hand, or move it away "
                  f"(`mv {path} {path}.bad`) and set what you need again with `claude-mem config set`")
    check(not settings.problems, "settings are valid",
          "settings problems (each says what is used instead): " + "; ".join(settings.problems) + advice)
    problem = compressor_problem(settings)
    check(problem is None, f"compressor {settings.compressor} is ready", problem or "")
    for line in exclusion_warnings(settings, claude_config_dir):
        lines.append("warn  " + line)
    found = install.installed_commands(claude_config_dir)
    missing = [e for e in HOOK_EVENTS.values() if e not in found]
    config_dir = claude_config_dir or install.default_config_dir()
    from claude_mem import plugin_health

    by_plugin = plugin_health.plugin_supplies_hooks(config_dir)
    if not (by_plugin and len(missing) == len(HOOK_EVENTS)):
        check(not missing, f"all {len(HOOK_EVENTS)} hooks installed",
              f"hooks missing: {', '.join(missing)} (run `claude-mem install`)")
    for ok, text in plugin_health.doctor_lines(config_dir, settings_hooks=bool(found)):
        if ok is None:
            lines.append(f"warn  {text}")
        else:
            check(ok, text, text)
    for event, command in found.items():
        python = install.command_interpreter(command)
        if not os.path.exists(python):
            check(False, "", f"{event} hook points at a missing interpreter {python}; re-run install")
            break
    if found:
        lines.append(capture_mode_line(install.installed_hooks(claude_config_dir), settings))
    agents = agent_hooks(claude_config_dir, codex_home, gemini_dir)
    codex = agents["codex"]
    if codex["installed"]:
        missing = [e for e, h in codex["hooks"].items() if not h["installed"]]
        check(not missing, f"Codex: all {len(codex['hooks'])} hooks installed in {codex['hooks_file']}",
              f"Codex: hooks missing: {', '.join(missing)} (run `claude-mem install --agent codex`)")
        untrusted = [e for e, h in codex["hooks"].items() if h["installed"] and not h["trusted"]]
        check(not untrusted, "Codex: claude-mem's hooks are trusted",
              f"Codex: hooks not trusted (Codex skips them silently): {', '.join(untrusted)}; "
              "run `claude-mem install --agent codex` where `codex` is on PATH, or trust them with /hooks")
    else:
        lines.append(f"info  Codex: not installed in {codex['codex_home']} "
                     "(`claude-mem install --agent codex` to share this memory with Codex CLI)")
    gemini = agents["gemini"]
    if gemini["installed"]:
        missing = [e for e, h in gemini["hooks"].items() if not h["installed"]]
        check(not missing, f"Gemini CLI: all {len(gemini['hooks'])} hooks installed in {gemini['settings_file']}",
              f"Gemini CLI: hooks missing: {', '.join(missing)} (run `claude-mem install --agent gemini`)")
    if os.path.exists(config.db_path()):
        with open_store() as store:
            result = store.integrity()
            check(result == "ok", "database integrity ok", f"database integrity: {result}")
            q = store.queue_stats()
            check(q["parked"] == 0, "no parked queue rows",
                  f"{q['parked']} queue row(s) parked (failed repeatedly, or can never become an event) "
                  "(see `claude-mem worker parked`; retry with `claude-mem worker retry-parked`, "
                  "delete with `claude-mem worker discard-parked`)")
            head = queue_head(store, control.worker_lock_held())
            check(not (head and head["stuck"]), "queue is moving",
                  f"the queue head has not moved for {head['waited_seconds'] if head else 0:.0f}s: "
                  f"row #{head['id'] if head else '?'} ({head['event'] if head else ''}): "
                  f"{head['why'] if head else ''}")
            lines.append(f"info  queue: {q['pending']} pending"
                         + (f", oldest from {when(q['oldest_pending_at'], seconds=True)}" if q["oldest_pending_at"] else "")
                         + f"; {store.counts()['active_sessions']} active sessions")
    spooled = spooled_events()
    if spooled:
        lines.append(f"info  {spooled} events spooled while the database was unavailable "
                     "(the worker imports them)")
    waiting = inbox_events()
    if waiting:
        lines.append(f"info  {waiting} capture events wait in the inbox (the worker takes them in; "
                     "a hook starts one if none runs)")
    w = worker_state(timeout=1.0)
    deadline = time.monotonic() + 1.5  # starting, or hung: give a starting worker a moment
    while not w["running"] and w.get("lock_held") and time.monotonic() < deadline:
        time.sleep(0.1)
        w = worker_state(timeout=0.5)
    if w["running"]:
        lines.append(f"ok    worker running (pid {w['pid']}, answered a ping)")
    elif w.get("lock_held"):
        check(False, "", f"the worker (pid {w.get('pid', '?')}) holds the lock but does not answer: "
                         "run `claude-mem worker stop` (it is killed if it will not stop)")
    else:
        stale = " (a dead worker's socket/pid file is left; harmless, replaced on start)" \
            if w.get("stale_socket") or w.get("stale_pid_file") else ""
        lines.append("info  worker not running (started on demand by the hooks)" + stale)
    if viewer is not None:
        lines.append(("ok    " if viewer.get("running") else "info  ") + viewer["text"])
    from claude_mem.team.status import doctor_lines

    for ok, text in doctor_lines():
        if ok is None:
            lines.append(f"info  {text}")
        else:
            check(ok, text, text)
    for line in log.tail(3, "error"):
        lines.append(f"info  recent error: {line}")
    return problems, lines


def compressor_problem(settings) -> str | None:
    """Why the configured compressor would not be used by the worker (None: it would).

    Builds the back-end exactly as the worker does (nothing is sent anywhere), so this
    and the worker agree; a missing extra comes with the command that installs it here.
    """
    name = settings.compressor
    if name == "heuristic":
        return None
    from claude_mem import install
    from claude_mem.compress import llm

    try:
        compressor = llm.make_llm_compressor(name, settings)
    except ImportError:
        extra = name  # each LLM back-end's extra is named after it
        return (f"compressor {name!r} needs the [{extra}] extra, which is not installed: the worker "
                f"uses the heuristic instead. Install it with: {install.extra_install_command(extra)}")
    except Exception as exc:
        return f"compressor {name!r} cannot start ({exc}): the worker uses the heuristic instead"
    close = getattr(compressor, "close", None)
    if close:
        try:
            close()
        except Exception:
            pass
    return None


def exclusion_warnings(settings, claude_config_dir: str | None = None) -> list[str]:
    """One line per ``exclude_projects`` entry that matches no project known here.

    Known: projects recorded so far, folders Claude Code has transcripts for, and (for a
    path entry) a folder that exists. Exclusion is a privacy control: a typo must show.
    """
    from claude_mem import install, project

    entries = [e for e in settings.exclude_projects or [] if str(e).strip()]
    if not entries:
        return []
    known: list[tuple[str, str]] = []
    if os.path.exists(config.db_path()):
        from claude_mem.store import open_store

        with open_store() as store:
            known = store.project_folders()
    known += [(project.project_name(cwd), project.clean_cwd(cwd))
              for cwd in install.transcript_folders(claude_config_dir)]
    out = []
    for entry in entries:
        path_like = "/" in entry or entry.startswith("~")
        if path_like and os.path.exists(os.path.expanduser(entry)):
            continue
        if any(project.entry_matches(entry, name, cwd) for name, cwd in known):
            continue
        out.append(f"exclude_projects entry {entry!r} matches no project recorded so far and no "
                   "folder Claude Code has worked in: a typo? (names, paths and globs *, **, ?, ~)")
    return out
