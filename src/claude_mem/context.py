"""The memory a new session starts with: markdown rendered from the store.

Contract: ``render(store, project, settings)`` returns markdown for one project that fits
``settings.context_tokens`` (about 4 characters a token). The budget goes to knowledge
first: the latest request with substance in full — its request (the thread's goal), the
model's final reply as the outcome, what was learned (causes, fixes, decisions), what is
still open, what was completed (files with the symbols they touched, test outcomes,
commits) — then earlier requests a line each with what they learned, then an index of
recent observations with their ids so the model can ask for details (``claude-mem show
obs ID`` or the MCP tools) with what is left. An empty memory renders as "".
``hook_json(text)`` wraps it as SessionStart output and guarantees the printed JSON stays
under Claude Code's 10,000-character cut.

The SessionStart policy (``session_start_output(payload, settings, store=None)``, what the
hook prints and ``claude-mem context`` shows): nothing for a source not in
``context_sources`` or an excluded project; on ``resume``, when the transcript already
holds our context (Claude Code replays it), only what is new since the session's last
activity from other sessions; on ``compact``, the other sessions' memory only (the
compaction summary keeps this session's own work).
Long because its one concern, what the budget buys, is one trade: the latest request, the
earlier ones, the index and (with room left) the index's facts take room from each other, so
they are chosen in one place; the SessionStart policy that calls them is short.
Rendered ahead by the worker (``context_refresh``, ``startcache``): ``render`` may depend
only on the store's rows, ``context_*`` settings, the time zone and this code; clock-
dependent text only through ``text.ago`` (it tells the worker until when a rendering holds).
Standard library only: this runs inside the SessionStart hook.
"""
import os
import time

from claude_mem import log
from claude_mem.config import CONTEXT_HARD_LIMIT_CHARS, db_path
from claude_mem.text import ago, files as file_list, one_line, when


def whose(item: dict, stamp: str = "created_at") -> str:
    """" (alice, 2 h ago)" for a teammate's record (pulled from the team database), else ""."""
    if not item.get("member"):
        return ""
    return f" ({item['member']}, {ago(item.get(stamp))})"


AGENT_NAMES = {"claude-code": "Claude Code", "codex": "Codex", "gemini": "Gemini"}


def agent_tag(item: dict, mixed: bool = False) -> str:
    """" [Codex]" for another agent's record; every record is tagged when ``mixed``."""
    agent = item.get("agent") or "claude-code"
    if agent == "claude-code" and not mixed:
        return ""
    return f" [{AGENT_NAMES.get(agent, agent)}]"


def _one_line(text: str, limit: int) -> str:
    # Drop list markers at line starts only: "a - b" inside a line is content.
    lines = (line.strip() for line in str(text or "").splitlines())
    return one_line(" ".join(line[2:] if line.startswith("- ") else line for line in lines), limit)


def _request_chars(budget: int) -> int:
    """How much of a request's prompt is shown (the latest one's, or one in progress)."""
    return max(400, min(1000, budget // 8))


# The latest request's sections, most knowledge first, each with its share of the budget
# (a fraction of what is left for the summary). What does not fit is cut line by line.
FULL_SECTIONS = (
    ("Outcome", "notes", 0.40),
    ("Learned", "learned", 0.30),
    ("Next steps", "next_steps", 0.20),
    ("Completed", "completed", 0.40),
    ("Investigated", "investigated", 0.15),
)


def _section(label: str, value: str, room: int) -> list[str]:
    """``**Label:**`` and as many of ``value``'s lines as fit in ``room`` characters."""
    value = (value or "").strip()
    if not value or room < len(label) + 20:
        return []
    lines = [line.rstrip() for line in value.splitlines() if line.strip()]
    if len(lines) == 1 and not lines[0].startswith("- "):
        text = _one_line(lines[0], max(40, room - len(label) - 6))
        return [f"**{label}:** {text}"]
    out = [f"**{label}:**"]
    used = len(out[0]) + 1
    for line in lines:
        line = line if len(line) <= 400 else line[:399] + "…"
        if used + len(line) + 1 > room:
            if len(out) == 1 and room - used > 60:
                out.append(line[: room - used - 2] + "…")
            break
        out.append(line)
        used += len(line) + 1
    return out if len(out) > 1 else []


def render_summary_full(summary: dict, budget: int = 6000, mixed: bool = False) -> list[str]:
    lines = [
        f"## Latest work — {when(summary.get('updated_at'))}"
        f" (session {str(summary.get('claude_session_id', ''))[:8]}, prompt {summary.get('prompt_number')})"
        + agent_tag(summary, mixed) + whose(summary, "updated_at"),
        # A long request (a pasted plan, an orchestrator's instructions) sets the thread:
        # with a larger budget more of it is kept.
        f"**Request:** {_one_line(summary.get('request'), _request_chars(budget))}",
    ]
    room = budget - sum(len(line) + 1 for line in lines)
    edited = summary.get("files_edited") or []
    files_line = f"**Files edited:** {file_list(edited, 12)}" if edited else ""
    room -= len(files_line) + 1
    notes = " ".join(str(summary.get("notes") or "").replace("**", "").split()).lower()

    def said(line: str) -> bool:  # a point the outcome (the final reply) already makes
        text = " ".join(line.lstrip("- ").replace("**", "").split()).lower()
        return len(text) > 20 and text in notes

    done = " ".join(_plain(summary.get("completed")).split()).lower()

    def done_above(line: str) -> bool:  # a command the Completed list already gives with its result
        result = line.split(" succeeded: ", 1)[1] if " succeeded: " in line else ""
        return len(result) >= 12 and " ".join(_plain(result).split()).lower().rstrip("…") in done

    sections = [(label, "\n".join(l for l in (summary.get(key) or "").splitlines()
                                   if key == "notes" or not (said(l) or key == "investigated" and done_above(l))),
                 share)
                for label, key, share in FULL_SECTIONS]
    spare = 0
    parts = []
    for label, value, share in sections:
        # What an earlier section did not use goes to the ones after it.
        allowed = int(room * share) + spare
        part = _section(label, value, allowed)
        used = sum(len(line) + 1 for line in part)
        spare = max(0, allowed - used)
        parts.append([part, allowed])
    # What the last one left goes back to those cut short, in order: a short request's
    # reply or findings are not cut while its room goes unused.
    for (label, value, _), entry in zip(sections, parts):
        part, allowed = entry
        if spare < 40 or len(part) - 1 >= len([l for l in value.splitlines() if l.strip()]):
            continue
        wider = _section(label, value, allowed + spare)
        spare -= sum(len(line) + 1 for line in wider) - sum(len(line) + 1 for line in part)
        entry[0] = wider
    for part, _ in parts:
        lines += part
    if files_line:
        lines.append(files_line)
    return lines


def _stamp(epoch, day: str = "") -> str:
    """When, as "2026-03-04 05:06"; only "05:06" on ``day`` (the date the digest already
    gave once): a repeated date is a dozen characters of budget a line that say nothing."""
    stamp = when(epoch)
    return stamp[len(day) + 1:] if day and stamp.startswith(day + " ") else stamp


def render_summary_line(summary: dict, rich: bool = False, mixed: bool = False, day: str = "",
                        lessons: int = 3) -> str:
    """One earlier request: what was asked and what came of it; ``rich`` adds the final reply;
    at most ``lessons`` of what it learned."""
    notes = _one_line(_plain(summary.get("notes")), 700) if rich else ""
    done = (summary.get("completed") or summary.get("notes") or "").strip().splitlines()
    first = done[0].lstrip("- ") if done else ""
    if first.startswith("Committed ") and " — " in first and not rich:
        first = first.split(" — ", 1)[0]  # the commit's subject; its body when there is room
    outcome = _one_line(first, 200)
    line = (f"- {_stamp(summary.get('updated_at'), day)}{agent_tag(summary, mixed)}"
            f"{whose(summary, 'updated_at')} — {_one_line(summary.get('request'), 200)}")
    if notes:
        line += f"\n  → {notes}"
    elif outcome:
        line += f" → {outcome}"
    if summary.get("files_edited"):
        line += f" (edited: {file_list(summary['files_edited'], 4)})"
    learned = [l.strip().lstrip("- ") for l in (summary.get("learned") or "").splitlines() if l.strip()]
    # Causes and decisions first: the failure that revealed a cause is in the index anyway.
    learned.sort(key=lambda l: " failed (exit code" in l)
    said = notes.lower()
    for insight in [l for l in learned if _plain(l).lower() not in said][:lessons]:
        line += f"\n  - learned: {_one_line(insight, 240)}"
    if rich:
        completed = [l.strip().lstrip("- ") for l in (summary.get("completed") or "").splitlines() if l.strip()]
        if notes:  # the reply says what was done; commits are short and say what now exists,
            # a check's figures ("`mix test`: 410 tests, 0 failures") what state it was left in
            done = [c for c in completed if c.startswith("Committed ") and _plain(c)[10:].lower() not in said][:2]
            done += [c for c in completed if c.startswith("`") and "`: " in c
                     and any(ch.isdigit() for ch in c.split("`: ", 1)[1])
                     and c.split("`: ", 1)[1].lower() not in said][-2:]
        else:  # no reply to tell it: what the observations say was done
            done = completed[1:6]
        for item in done:
            line += f"\n  - {_one_line(item, 260)}"
    return line


def _commit_hash(title: str) -> str:
    """The hash in a commit observation's title ("… committed 3e202eb on main: …"), else a
    string found nowhere. (No ``re``: this module runs in the SessionStart hook.)"""
    word = title.split(" committed ", 1)[1].split(" ", 1)[0].rstrip(":") if " committed " in title else ""
    return word if len(word) >= 7 and all(c in "0123456789abcdef" for c in word) else "\0"


def _plain(text) -> str:
    return " ".join(str(text or "").replace("**", "").split())


# What an index line is worth when not all of them fit (higher first; recency breaks ties).
# The index is the only place a long session's middle and the work done out of sight
# (subagents) can still show: a failure and its cause, a finding, a change with its names
# beat a bare "`git status` succeeded" or one more todo list.
def _index_value(obs: dict) -> int:
    title = str(obs.get("title") or "")
    concepts = obs.get("concepts") or []
    if "failure" in concepts or " failed" in title or title.startswith("Delegated:"):
        return 3
    if title.startswith(("User decided", "Plan:")):
        return 3
    if title.startswith("Todo list:"):
        return 0
    if title.endswith((" succeeded", " was interrupted")) or title.startswith(("Listed files matching",
                                                                                "Searched code for")):
        return 0  # a command or search that found nothing worth a title
    if _bare_touch(obs):
        return 1  # a bare touch of a file (those named above have no line at all)
    return 2


def _bare_touch(obs: dict) -> str:
    """The file an observation titled only "Edited/Read/Created <file>" touched, else ""."""
    title = str(obs.get("title") or "")
    files = list(obs.get("files_modified") or []) or list(obs.get("files_read") or [])
    if files and title in (f"Edited {files[0]}", f"Read {files[0]}", f"Created {files[0]}"):
        return files[0]
    return ""


def _label_value(text: str) -> str:
    """A ``label: value`` line's value when its label is short ("Output: …"), else the text."""
    label, sep, value = text.partition(": ")
    return value if sep and len(label) <= 12 else text


# Facts that only repeat how a tool was called; the index line already names the call.
_MECHANICAL_FACTS = ("Exit code", "Tool:", "Commit:")
# How a tool was called: after what it found, and only when its words are not the title's
# (a long command the title cuts, a tool with no rule of its own).
_CALL_FACTS = ("Command:", "Input:", "Purpose:")


def _says_something(fact: str) -> bool:
    """Not a fact's bookkeeping ("Read x.py (10 lines)"), a progress row ("....... [100%]") nor
    a bare section heading."""
    if fact.startswith(_MECHANICAL_FACTS) or (fact.endswith(" lines)") and fact.startswith(("Read ", "Created ", "Rewrote "))):
        return False
    if len(fact) > 10 and fact[0] in "-dlcbps" and all(c in "-rwxsStT@+." for c in fact[1:10]):
        return False  # a row of ``ls -l``: the listing's line says what it listed
    if fact.startswith("#") and len(fact.lstrip("# ").split()) <= 2:
        return False  # a section's name ("## Problem"), not what the document says
    return sum(c.isalnum() for c in fact) >= len(fact) * 0.5


def _restates(fact: str, title: str) -> bool:
    """True when the fact's words (without its label or a JSON input's keys) are all in the title."""
    value = _label_value(fact)
    keys = set()
    for part in value.split('":')[:-1]:  # "key": value pairs of a JSON input
        keys |= _words(part.rsplit('"', 1)[-1])
    return _words(value) - keys <= _words(title)


def _words(text: str) -> set[str]:
    word, out = [], set()
    for c in text.lower() + " ":
        if c.isalnum() or c == "_":
            word.append(c)
        elif word:
            if not "".join(word).isdigit():
                out.add("".join(word))
            word = []
    return out


def _details(index: list[dict], keep: set, said: str, room: int,
             head_cost: dict | None = None) -> dict[int, list[str]]:
    """Sub-lines for index entries when every chosen line fits and room is left (a short
    session, or a budget larger than the memory): what the most telling observations
    found, a fact or two each (then more, round by round), never one the text above holds.

    Without them such a digest stops at its titles whatever the budget, and a title says
    that the web was searched or a subagent reported, not what came of it.
    ``head_cost``: characters an entry's own line costs, paid with its first fact (an
    entry that has no line yet)."""
    out: dict[int, list[str]] = {}
    head_cost = head_cost or {}
    if room < 200:
        return out
    said = said.lower()
    order = sorted(keep, key=lambda n: (-_index_value(index[n]), n))
    # A fact whose words its title already has ("0 files match `x`" under "No files match
    # `x`") restates it. A document's headings ("## Problem") say which sections it has,
    # its content lines what it says: headings come after them.
    facts = {n: sorted((f for f in (index[n].get("facts") or []) if isinstance(f, str) and f.strip()
                        and _says_something(f.strip()) and not _restates(f, index[n].get("title") or "")),
                       key=lambda f: (f.startswith(_CALL_FACTS), f.startswith("#")))
             for n in order}
    # Rounds: up to 2 found facts each, then 3, then 5; how tools were called last of all;
    # then, with room still left, the rest (a short session's digest is not cut at a
    # count while its budget goes unused).
    for per_round, calls in ((2, False), (3, False), (5, False), (8, True), (1_000_000, True)):
        for n in order:
            while len(out.get(n, [])) < per_round and facts[n] and (calls or not facts[n][0].startswith(_CALL_FACTS)):
                fact = _one_line(facts[n].pop(0), 200)
                plain = _plain(fact).lower().rstrip("…")
                value = _label_value(plain)  # "Output: …" says its value
                if value.startswith("[") and "] " in value[:16]:  # a todo item, in any state
                    value = value.split("] ", 1)[1]
                if len(value) < 8 or value in said:
                    continue
                line = f"  - {fact}"
                cost = len(line) + 1 + (0 if n in out else head_cost.get(n, 0))
                if cost > room:
                    continue  # a shorter fact further on may still fit
                out.setdefault(n, []).append(line)
                room -= cost
                said += "\n" + plain
        if room < 60:
            break
    return out


def render_observation_line(obs: dict, mixed: bool = False) -> str:
    files = list(obs.get("files_modified") or []) or list(obs.get("files_read") or [])
    line = f"- #{obs['id']} {when(obs.get('created_at'), fmt='%H:%M')} {obs.get('type', '')}: {_one_line(obs.get('title'), 150)}"
    if files and not any(f in obs.get("title", "") for f in files[:1]):
        line += f" [{file_list(files, 3)}]"
    return line + agent_tag(obs, mixed) + whose(obs)


HEADER = "# claude-mem: memory of earlier work in"
UPDATE_HEADER = "# claude-mem: new in"


def _has_substance(summary: dict) -> bool:
    completed = [l for l in (summary.get("completed") or "").splitlines() if l.strip()]
    return bool(summary.get("files_edited") or summary.get("files_read") or len(completed) >= 2
                or (summary.get("investigated") or "").strip() or (summary.get("learned") or "").strip())


def _worth_showing(summary: dict) -> bool:
    """A summary of a session with no real request and nothing done is noise (``claude mcp list``)."""
    request = (summary.get("request") or "").strip()
    return bool(request and request != "(no prompt recorded)") or _has_substance(summary)


def _newest_first(summaries: list[dict]) -> list[dict]:
    """Sessions by their latest activity, and within a session the later prompt first.

    A prompt summarized late (at session end, no Stop of its own) must not pass for the
    newest work of its session.
    """
    latest: dict = {}
    for s in summaries:
        key = s.get("session_id")
        latest[key] = max(latest.get(key, 0.0), s.get("updated_at") or 0.0)
    return sorted(summaries, key=lambda s: (-latest[s.get("session_id")], -(s.get("prompt_number") or 0)))


def _in_progress(store, summaries: list[dict], observations: list[dict], mixed: bool,
                 budget: int = 0) -> list[str]:
    """The request the newest observations belong to, when it has no summary yet (a session
    cut off mid-request, or still running): what was asked, so the index below has its
    thread. One small query, only then."""
    if not observations:
        return []
    newest = observations[0]
    key = (newest.get("session_id"), newest.get("prompt_number"))
    if any((s.get("session_id"), s.get("prompt_number")) == key for s in summaries):
        return []
    prompt = store.prompt(*key) if None not in key else None
    # Like the latest request's line: a long request (an audit's instructions) sets the
    # thread, and a larger budget keeps more of it.
    request = _one_line((prompt or {}).get("prompt"), _request_chars(budget))
    if not request:
        return []
    if len(request) < 40 and (key[1] or 0) > 1:  # "continue": the session's first request says what
        first = _one_line((store.prompt(key[0], 1) or {}).get("prompt"), 300)
        request += f" (continuing: {first})" if first and first != request else ""
    return [f"## In progress, not summarized yet — {when(newest.get('created_at'))} (prompt {key[1]})"
            + agent_tag(newest, mixed) + whose(newest), f"**Request:** {request}", ""]


def _index(observations: list[dict], above: str, mixed: bool) -> tuple[list[dict], list[str]]:
    """The observations worth an index line, and their lines. A commit already named above
    needs none, nor a title the summaries above print word for word, nor an older twin of a
    newer line ("Edited X" again)."""
    index, titles = [], set()
    for o in observations:  # newest first
        title = o.get("title") or ""
        touched = _bare_touch(o)
        if touched and touched in above and not any(_says_something(f) for f in o.get("facts") or []
                                                  if isinstance(f, str)):
            continue  # a bare "Edited X" when X is named above says nothing new (unless its
            # facts do: what a document read or written holds, shown when there is room)
        if _commit_hash(title) not in above and title not in titles and (len(title) < 24 or title not in above):
            index.append(o)
            titles.add(title)
    return index, [render_observation_line(o, mixed) for o in index]


def _echoed(observations: list[dict], above: str, index: list[dict]) -> list[dict]:
    """The observations left out of the index because the summaries above print their
    title (newest first); not commits, whose facts the summary already gives."""
    listed = {id(o) for o in index}
    return [o for o in observations if id(o) not in listed and len(o.get("title") or "") >= 24
            and (o.get("title") or "") in above and _commit_hash(o.get("title") or "") not in above]


def render(store, project: str, settings, *, since: float | None = None,
           exclude_session: int | None = None, after_compaction: bool = False) -> str:
    """The context for ``project``; with ``since``/``exclude_session``, only what is new.

    The second form is for a resumed session whose transcript already holds an earlier
    copy of the memory: it gets only what other sessions recorded since it last ran.
    ``after_compaction`` (with ``exclude_session``): the memory of the other sessions,
    which a compaction summary of this one does not carry.
    """
    budget = max(400, min(int(settings.context_tokens) * 4, CONTEXT_HARD_LIMIT_CHARS - 500))
    filters = {"since": since, "exclude_session": exclude_session}
    summaries = store.recent_summaries(project, int(settings.context_summaries) + 1, **filters)
    summaries = _newest_first([s for s in summaries if _worth_showing(s)])
    observations = store.recent_observations(project, int(settings.context_observations), **filters)
    if not summaries and not observations:
        return ""
    # More than Claude Code's work here: every entry says which agent did it.
    mixed = any((item.get("agent") or "claude-code") != "claude-code" for item in summaries + observations)
    sessions_of = "coding-agent sessions (Claude Code, Codex, Gemini CLI)" if mixed else "Claude Code sessions"
    if after_compaction:
        header = [
            f"{HEADER} {project}",
            f"From other {sessions_of} here, newest first (this session's own work is in "
            "the summary above). Details by id: the claude-mem MCP tools or `claude-mem show obs ID`.",
            "",
        ]
    elif since is None and exclude_session is None:
        header = [
            f"{HEADER} {project}",
            f"From earlier {sessions_of} here, newest first. Details by id: the claude-mem "
            "MCP tools or `claude-mem show obs ID`.",
            "",
        ]
    else:
        header = [
            f"{UPDATE_HEADER} {project} since this session last ran",
            f"Other {sessions_of} in this project recorded this meanwhile (newest first); "
            "the earlier claude-mem memory is already above in this conversation.",
            "",
        ]
    lines = list(header)
    lines += _in_progress(store, summaries, observations, mixed, budget)
    used = sum(len(line) + 1 for line in lines)
    # The newest request with substance is shown in full: a quick question answered
    # without touching anything must not push the real work down to a one-line entry.
    full = next((s for s in summaries if _has_substance(s)), summaries[0] if summaries else None)
    if full is not None:
        # Knowledge first: the latest request may take most of the budget; the
        # mechanical index gets what is left.
        share = 0.75 if len(summaries) > 1 or observations else 0.95
        lines += render_summary_full(full, int((budget - used) * share), mixed) + [""]
        used = sum(len(line) + 1 for line in lines)

    def add_section(title: str, items: list, limit: int, first: int | None = None,
                    spare: bool = False) -> None:
        """Each item is a list of renderings, richest first. Every item gets its shortest
        rendering while there is room (item ``first`` before the others); then, newest
        first, richer ones while they fit. With ``spare``, the last of an item's three
        renderings is a spare: taken only when the one before it does not fit (a request
        with one lesson instead of none at all)."""
        nonlocal used
        room = min(limit, budget - used) - len(title) - 2
        chosen: list[int | None] = [None] * len(items)
        order = list(range(len(items)))
        if first is not None:
            order.remove(first)
            order.insert(0, first)
        for n in order:
            choices = items[n]
            for c in ([len(choices) - 2] if spare and len(choices) > 2 else []) + [len(choices) - 1]:
                if len(choices[c]) + 1 <= room:
                    chosen[n] = c
                    room -= len(choices[c]) + 1
                    break
            # else: a shorter item further down may still fit
        for n, choices in enumerate(items):
            if chosen[n] is None:
                continue
            current = len(choices[chosen[n]])
            for richer in range(chosen[n]):
                if len(choices[richer]) - current <= room:
                    room -= len(choices[richer]) - current
                    chosen[n] = richer
                    break
        taken = [choices[c] for choices, c in zip(items, chosen) if c is not None]
        if taken:
            lines.extend([title] + taken + [""])
            used = sum(len(line) + 1 for line in lines)

    others = [s for s in summaries if s is not full]
    day = when(full.get("updated_at"))[:10] if full is not None else ""
    # A request whose line with all its lessons no longer fits keeps its line and its first
    # lesson rather than no line at all.
    earlier = [[render_summary_line(s, rich=True, mixed=mixed, day=day),
                render_summary_line(s, mixed=mixed, day=day)]
               + ([render_summary_line(s, mixed=mixed, day=day, lessons=1)]
                  if (s.get("learned") or "").strip().count("\n") else []) for s in others]
    # In a long session the request that opened it set the thread (what is being built,
    # what was decided first): it keeps a line even when the later ones crowd the budget.
    opening = None
    if full is not None:
        same = [n for n, s in enumerate(others) if s.get("session_id") == full.get("session_id")
                and (s.get("prompt_number") or 0) < (full.get("prompt_number") or 0)]
        if len(same) >= 3:
            opening = min(same, key=lambda n: others[n].get("prompt_number") or 0)
    add_section("## Earlier requests", earlier, int((budget - used) * 0.8), first=opening, spare=True)
    above = "\n".join(lines)
    room = budget - used - len("## Recent observations") - 2
    limit = int(settings.context_observations)
    index, rendered = _index(observations, above, mixed)
    if limit > 0 and len(observations) >= limit and sum(len(r) + 1 for r in rendered) < room * 0.75:
        # The summaries left much of the budget unused (a session cut off mid-request has
        # no summary of it yet): the index reaches further back, into the middle of it.
        # A second query only then; the usual digest is full before its index.
        observations = store.recent_observations(project, limit * 3, **filters)
        index, rendered = _index(observations, above, mixed)
    # When not all fit, the most telling lines are chosen (then shown newest first).
    keep = set()
    for n in sorted(range(len(index)), key=lambda n: -_index_value(index[n])):
        if len(rendered[n]) + 1 <= room:
            keep.add(n)
            room -= len(rendered[n]) + 1
    # An observation whose title the summaries print (a subagent's report, a failure
    # learned) has no index line, so its other facts had no place: with room still left,
    # they come under a short line with its id, in the same rounds as the index's own.
    kept = sorted(keep)
    echoed = _echoed(observations, above, index)
    pool = [index[n] for n in kept] + echoed
    heads = [f"- #{o['id']} (named above), more:" for o in echoed]
    details = _details(pool, set(range(len(pool))), above + "\n" + "\n".join(rendered), room,
                       {len(kept) + j: len(h) + 1 for j, h in enumerate(heads)})
    entries = [(index[n], "\n".join([rendered[n]] + details.get(i, []))) for i, n in enumerate(kept)]
    entries += [(o, "\n".join([heads[j]] + details[len(kept) + j])) for j, o in enumerate(echoed)
                if details.get(len(kept) + j)]
    entries.sort(key=lambda e: (-(e[0].get("created_at") or 0), -(e[0].get("id") or 0)))
    add_section("## Recent observations", [[text] for _, text in entries], budget - used)
    text = "\n".join(lines).rstrip() + "\n"
    if len(text) > budget:  # a very long latest summary: keep its head
        text = text[: budget - 20].rstrip() + "\n…(trimmed)\n"
    return text


def hook_json(text: str) -> str:
    """SessionStart output for ``text``, cut so the JSON itself stays under the hard limit."""
    from claude_mem import jsonlite

    def wrap(body: str) -> str:
        return jsonlite.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart",
                                                      "additionalContext": body}})

    out = wrap(text)
    while len(out) > CONTEXT_HARD_LIMIT_CHARS and text:
        text = text[: max(0, len(text) - (len(out) - CONTEXT_HARD_LIMIT_CHARS) - 50)]
        text = text[: text.rfind("\n") + 1] if "\n" in text else text
        out = wrap(text + "…(trimmed)\n")
    return out


# -- the SessionStart policy -----------------------------------------------------------

# A resumed SessionStart looks for our context in the transcript: at most this much of it.
_TRANSCRIPT_BYTES = 64 * 1024 * 1024
_TRANSCRIPT_SECONDS = 1.5


def _transcript_has_context(path) -> bool:
    """True when the session's transcript already holds a claude-mem context block."""
    if not path or not isinstance(path, str):
        return False
    needle = HEADER.encode()
    deadline = time.monotonic() + _TRANSCRIPT_SECONDS
    try:
        # Non-blocking open: a FIFO must not wait for a writer. Only a regular file is
        # read (not /dev/zero, a FIFO or a socket), and only so much of it, so briefly.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError):
        return False
    try:
        if os.fstat(fd).st_mode & 0o170000 != 0o100000:
            return False
        tail = b""
        left = _TRANSCRIPT_BYTES
        while left > 0 and time.monotonic() < deadline:
            chunk = os.read(fd, min(1 << 20, left))
            if not chunk:
                return False
            left -= len(chunk)
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle):]
        log.warning(f"transcript {path!r}: stopped looking after {_TRANSCRIPT_BYTES - left} bytes")
        return False
    except OSError:
        return False
    finally:
        os.close(fd)


def open_memory():
    """The memory database for SessionStart (context rooms and the queue, one connection),
    or None when there is no database yet."""
    if not os.path.exists(db_path()):
        return None
    from claude_mem.store.memory import open_context_store

    return open_context_store(busy_timeout_ms=2000)


def session_start_output(payload: dict, settings, store=None, shown: list | None = None) -> str:
    """The JSON SessionStart prints, or "" when there is nothing to add.

    ``store``: an open ``open_memory()`` connection to read through (the hook then queues
    its event on the same one); without it one is opened and closed here.
    ``shown``: a list that receives the ``(kind, id)`` items the context holds, for the
    caller to record with its own write (the hook: with its event, one transaction);
    without it they are recorded here (``record_context``).
    """
    from claude_mem import project

    source = str(payload.get("source") or "startup")
    if source not in settings.context_sources:
        return ""
    cwd = project.clean_cwd(payload.get("cwd")) or os.environ.get("CLAUDE_PROJECT_DIR") \
        or project.current_dir()
    if project.is_excluded(cwd, settings.exclude_projects):
        return ""
    owned = store is None
    if owned:
        store = open_memory()
        if store is None:
            return ""
    try:
        filters = {}
        if source == "resume" and _transcript_has_context(payload.get("transcript_path")):
            # Claude Code replays earlier hook output from the transcript on --resume:
            # a second full copy would only repeat it. Send what is new since.
            session = store.session_by_claude_id(str(payload.get("session_id") or ""))
            if session is not None:
                filters = {"since": session["last_activity_at"], "exclude_session": session["id"]}
        elif source == "compact":
            # Measured (README, "How good is the memory?"): Claude Code's compaction summary
            # keeps this session's own work; what it drops is the memory of the others.
            session = store.session_by_claude_id(str(payload.get("session_id") or ""))
            filters = {"exclude_session": session["id"] if session is not None else None,
                       "after_compaction": True}
        name = project.project_name(cwd)
        text = render(store, name, settings, **filters)
        if text and settings.prompt_recall:
            try:  # so prompt recall does not repeat it (recall.py); here, not in recall,
                # so SessionStart does not import the search room (~0.9 ms a session)
                record_context(store, str(payload.get("session_id") or ""), text, name,
                               settings, {k: v for k, v in filters.items()
                                          if k in ("since", "exclude_session")}, into=shown)
            except Exception as exc:  # the context still goes out
                log.error(f"SessionStart: recording what was shown failed: {exc!r}")
    finally:
        if owned:
            store.close()
    if not text:
        return ""
    return hook_json(text)


def record_context(store, session: str, text: str, project: str, settings, filters: dict,
                   into: list | None = None) -> None:
    """Remember what SessionStart printed for ``session`` (observation ids by their ``#N``,
    summaries by their request line, and the text itself), so prompt recall does not repeat
    it; with ``into``, the items are appended there for the caller to record instead.

    The index prints an observation's title line only (``TITLE_SHOWN``) and a summary may
    be cut to the budget (``SUMMARY_LISTED``): recall may still show their other lines,
    never one that the text printed here already says (recall.py, store/shown.py)."""
    if not session or not text:
        return
    from claude_mem.store.shown import CONTEXT_TEXT, SUMMARY_LISTED, TITLE_SHOWN  # imported

    shown = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("- #"):
            number = line[3:].split(" ", 1)[0]
            if number.isdigit():
                shown.append((TITLE_SHOWN, int(number)))
    for summary in store.recent_summaries(project, int(settings.context_summaries) + 1, **filters):
        request = one_line(summary.get("request"), 60).rstrip("…")
        if request and request in text:
            shown.append((SUMMARY_LISTED, summary["id"]))
    shown.append((CONTEXT_TEXT, text))
    if into is not None:
        into.extend(shown)
        return
    store.record_shown(session, shown, time.time())
