"""The memory a new session starts with: markdown rendered from the store.

Contract: ``render(store, project, settings)`` returns markdown for one project that fits
``settings.context_tokens`` (about 4 characters a token) — the latest request summary in
full, earlier summaries a line each, then an index of recent observations with their ids
so the model can ask for details (``claude-mem show obs ID`` or the MCP tools). An empty
memory renders as "". ``hook_json(text)`` wraps it as SessionStart output and guarantees
the printed JSON stays under Claude Code's 10,000-character cut.
Standard library only: this runs inside the SessionStart hook.
"""

import time

from claude_mem.config import CONTEXT_HARD_LIMIT_CHARS


def _when(epoch: float | None) -> str:
    if not epoch:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def ago(epoch: float | None, now: float | None = None) -> str:
    """"5 min ago", "2 h ago", "3 d ago": how long since ``epoch``."""
    seconds = max(0.0, (now or time.time()) - float(epoch or 0))
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def whose(item: dict, stamp: str = "created_at") -> str:
    """" (alice, 2 h ago)" for a teammate's record (pulled from the team database), else ""."""
    if not item.get("member"):
        return ""
    return f" ({item['member']}, {ago(item.get(stamp))})"


def _one_line(text: str, limit: int) -> str:
    # Drop list markers at line starts only: "a - b" inside a line is content.
    lines = (line.strip() for line in str(text or "").splitlines())
    text = " ".join(" ".join(line[2:] if line.startswith("- ") else line for line in lines).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _files(items, limit: int = 6) -> str:
    items = list(items or [])
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def render_summary_full(summary: dict) -> list[str]:
    lines = [
        f"## Latest work — {_when(summary.get('updated_at'))}"
        f" (session {str(summary.get('claude_session_id', ''))[:8]}, prompt {summary.get('prompt_number')})"
        + whose(summary, "updated_at"),
        f"**Request:** {_one_line(summary.get('request'), 600)}",
    ]
    for label, key in (("Investigated", "investigated"), ("Learned", "learned"),
                       ("Completed", "completed"), ("Next steps", "next_steps")):
        value = (summary.get(key) or "").strip()
        if value:
            lines.append(f"**{label}:**" + ("\n" + value if "\n" in value or value.startswith("- ")
                                           else " " + value))
    if summary.get("files_read"):
        lines.append(f"**Files read:** {_files(summary['files_read'], 10)}")
    if summary.get("files_edited"):
        lines.append(f"**Files edited:** {_files(summary['files_edited'], 10)}")
    return lines


def render_summary_line(summary: dict) -> str:
    done = (summary.get("completed") or summary.get("notes") or "").strip().splitlines()
    outcome = _one_line(done[0].lstrip("- ") if done else "", 160)
    line = (f"- {_when(summary.get('updated_at'))}{whose(summary, 'updated_at')} — "
            f"{_one_line(summary.get('request'), 140)}")
    if outcome:
        line += f" → {outcome}"
    if summary.get("files_edited"):
        line += f" (edited: {_files(summary['files_edited'], 4)})"
    learned = [l.strip().lstrip("- ") for l in (summary.get("learned") or "").splitlines() if l.strip()]
    # The cause of a problem says more than the failure that revealed it (which the
    # observation index lists anyway).
    insight = next((l for l in learned if " failed (exit code" not in l), learned[0] if learned else "")
    if insight:
        line += f"\n  - learned: {_one_line(insight, 220)}"
    return line


def render_observation_line(obs: dict) -> str:
    files = list(obs.get("files_modified") or []) or list(obs.get("files_read") or [])
    line = f"- #{obs['id']} {_when(obs.get('created_at'))[11:]} {obs.get('type', '')}: {_one_line(obs.get('title'), 150)}"
    if files and not any(f in obs.get("title", "") for f in files[:1]):
        line += f" [{_files(files, 3)}]"
    return line + whose(obs)


HEADER = "# claude-mem: memory of earlier work in"
UPDATE_HEADER = "# claude-mem: new in"


def _has_substance(summary: dict) -> bool:
    return bool(summary.get("files_edited") or summary.get("files_read")
                or (summary.get("investigated") or "").strip() or (summary.get("learned") or "").strip())


def render(store, project: str, settings, *, since: float | None = None,
           exclude_session: int | None = None) -> str:
    """The context for ``project``; with ``since``/``exclude_session``, only what is new.

    The second form is for a resumed session whose transcript already holds an earlier
    copy of the memory: it gets only what other sessions recorded since it last ran.
    """
    budget = max(400, min(int(settings.context_tokens) * 4, CONTEXT_HARD_LIMIT_CHARS - 500))
    filters = {"since": since, "exclude_session": exclude_session}
    summaries = store.recent_summaries(project, int(settings.context_summaries) + 1, **filters)
    observations = store.recent_observations(project, int(settings.context_observations), **filters)
    if not summaries and not observations:
        return ""
    if since is None and exclude_session is None:
        header = [
            f"{HEADER} {project}",
            "Recorded automatically from previous Claude Code sessions in this project "
            "(newest first). Ask for details of an observation by id with the claude-mem MCP "
            "tools or `claude-mem show obs ID`.",
            "",
        ]
    else:
        header = [
            f"{UPDATE_HEADER} {project} since this session last ran",
            "Other Claude Code sessions in this project recorded this meanwhile (newest first); "
            "the earlier claude-mem memory is already above in this conversation.",
            "",
        ]
    body: list[str] = []
    # The newest request with substance is shown in full: a quick question answered
    # without touching anything must not push the real work down to a one-line entry.
    full = next((s for s in summaries if _has_substance(s)), summaries[0] if summaries else None)
    if full is not None:
        body += render_summary_full(full) + [""]
    lines = header + body
    used = sum(len(line) + 1 for line in lines)

    def add_section(title: str, items: list[str]) -> None:
        nonlocal used
        taken = []
        room = budget - used - len(title) - 2
        for item in items:
            if len(item) + 1 > room:
                break
            taken.append(item)
            room -= len(item) + 1
        if taken:
            lines.extend([title] + taken + [""])
            used = sum(len(line) + 1 for line in lines)

    add_section("## Earlier requests", [render_summary_line(s) for s in summaries if s is not full])
    add_section("## Recent observations", [render_observation_line(o) for o in observations])
    text = "\n".join(lines).rstrip() + "\n"
    if len(text) > budget:  # a very long latest summary: keep its head
        text = text[: budget - 20].rstrip() + "\n…(trimmed)\n"
    return text


def hook_json(text: str) -> str:
    """SessionStart output for ``text``, cut so the JSON itself stays under the hard limit."""
    import json

    def wrap(body: str) -> str:
        return json.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart",
                                                  "additionalContext": body}}, ensure_ascii=False)

    out = wrap(text)
    while len(out) > CONTEXT_HARD_LIMIT_CHARS and text:
        text = text[: max(0, len(text) - (len(out) - CONTEXT_HARD_LIMIT_CHARS) - 50)]
        text = text[: text.rfind("\n") + 1] if "\n" in text else text
        out = wrap(text + "…(trimmed)\n")
    return out
