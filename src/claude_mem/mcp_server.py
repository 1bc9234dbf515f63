"""claude-mem's memory as an MCP server over stdio, for the model to search on demand.

Contract:
- ``serve(cwd=None)`` runs the server on stdin/stdout until the client hangs up;
  ``build_server(cwd=None)`` returns it unstarted; ``main(argv=None)`` is the
  ``python -m claude_mem.mcp_server [--cwd DIR]`` entry (exit 1 with a message on
  stderr when the SDK is missing). ``cwd`` picks the default project; without it the
  project comes from ``$CLAUDE_PROJECT_DIR``, else the process's working directory.
- The MCP SDK (``mcp``, the ``coding-memory[mcp]`` extra) is imported only inside
  ``build_server``: importing this module never needs it, and a missing SDK raises
  ``MCPUnavailable`` whose message names the ``…/python -m pip install …[mcp]`` line for
  this environment.
- Tools (read-only): ``search``, ``get_observations``, ``get_session``,
  ``recent_context``, ``timeline``. Each answer is compact text with ``#id``s so the
  model can drill down (progressive disclosure, as the SessionStart index does), and is
  capped at ``MAX_OUTPUT_CHARS`` with a note saying it was cut.
- Every call opens its own ``Store`` and closes it before answering, so the server never
  holds the database between calls. Anticipated problems (no such id, empty query, no
  database yet) and unexpected ones (a locked or broken database, a bug) come back as
  tool errors with a readable message; the server itself keeps running.
- The tool logic lives in plain functions (``search_text`` ... ``timeline_text``) that
  raise ``ToolFailure``; the MCP layer only adapts them, so they are usable without it.
- Nothing here writes to stdout except the SDK's protocol stream.

Why one module over 400 lines: it is one surface, the MCP tools; each tool's argument
checks, text rendering and schema sit together so a tool is read and changed in one place.
"""
import os
import sys
from typing import Annotated

from claude_mem import config
from claude_mem.project import project_name
from claude_mem.text import files as file_list, one_line, when

MAX_OUTPUT_CHARS = 8000
MAX_IDS_PER_CALL = 20
MAX_IDS_ACCEPTED = 200        # more in one call is refused whole, before any work
MAX_ARGUMENT_CHARS = 1000     # a query, a project, a session id
MAX_SEARCH_LIMIT = 50
MAX_TIMELINE_SIDE = 25
ALL_PROJECTS = "*"
KINDS = ("observation", "summary", "prompt")

INSTRUCTIONS = (
    "claude-mem remembers earlier Claude Code sessions: observations (what was done, found, "
    "fixed, with files), a summary per request, and the user's prompts. Use `search` to find "
    "past work by words, then `get_observations`, `timeline` or `get_session` with the ids it "
    "shows. `recent_context` returns the memory summary given at session start."
)


class ToolFailure(Exception):
    """An anticipated failure; its message is written for the model to read and act on."""


class MCPUnavailable(RuntimeError):
    """The MCP Python SDK is not installed (or not importable)."""


# -- shared helpers ----------------------------------------------------------------------


def cap(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """``text`` cut to ``limit`` characters (at a line end when possible), with a note."""
    if len(text) <= limit:
        return text
    note = ("\n…[output cut at {:,} characters; {:,} more not shown. Ask for less: fewer ids, "
            "a smaller limit, or a narrower query.]")
    room = limit - len(note.format(limit, len(text))) - 2
    head = text[:room]
    if head.rfind("\n") > room // 2:
        head = head[: head.rfind("\n")]
    return head.rstrip() + note.format(limit, len(text) - len(head))


def default_project(cwd: str | None = None) -> str:
    """The project the server answers for when a tool is given none."""
    return project_name(cwd or os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd())


def _scope(project: str | None, cwd: str | None) -> str | None:
    """``None`` means every project (``project="*"``)."""
    project = _bounded(project, "project")
    if project == ALL_PROJECTS:
        return None
    return project or default_project(cwd)


def _open_store():
    from claude_mem.store import open_store

    path = config.db_path()
    if not os.path.exists(path):
        raise ToolFailure(f"claude-mem has recorded nothing yet (no database at {path}).")
    return open_store()


def _projects_hint(store) -> str:
    projects = store.projects_by_recency(15)
    return ("Projects with memory: " + ", ".join(projects) + ".") if projects else \
        "Nothing has been recorded in any project yet."


# -- the tools, as plain functions -------------------------------------------------------


def _kinds_and_type(kind: str | None) -> tuple[tuple[str, ...], str | None]:
    from claude_mem.models import OBSERVATION_TYPES

    value = (kind or "").strip().lower()
    if value in ("", "all", "any", "*"):
        return KINDS, None
    aliases = {"obs": "observation", "observations": "observation",
               "summaries": "summary", "prompts": "prompt"}
    value = aliases.get(value, value)
    if value in KINDS:
        return (value,), None
    if value in OBSERVATION_TYPES:
        return ("observation",), value
    raise ToolFailure(f"unknown type {kind!r}: use one of {', '.join(KINDS)}, or an observation "
                      f"type ({', '.join(OBSERVATION_TYPES)}).")


def _hit_line(hit: dict, with_project: bool) -> str:
    from claude_mem.context import agent_tag

    where = f" [{hit.get('project', '')}]" if with_project else ""
    where += agent_tag(hit)  # " [Codex]" for another agent's work
    if hit["kind"] == "observation":
        line = (f"obs #{hit['id']} · {when(hit.get('created_at'))} · {hit.get('type', '')} · "
                f"{one_line(hit.get('title'), 160)}")
        files = list(hit.get("files_modified") or []) + [
            f for f in hit.get("files_read") or [] if f not in (hit.get("files_modified") or [])]
        if files:
            line += f" · files: {file_list(files, 4)}"
        return line + where
    session = f"session {str(hit.get('claude_session_id', ''))[:8]} prompt {hit.get('prompt_number')}"
    if hit["kind"] == "summary":
        return (f"summary #{hit['id']} · {when(hit.get('updated_at') or hit.get('created_at'))} · "
                f"request: {one_line(hit.get('request'), 140)} · {session}{where}")
    return (f"prompt #{hit['id']} · {when(hit.get('created_at'))} · "
            f"\"{one_line(hit.get('prompt'), 140)}\" · {session}{where}")


def search_text(query: str, project: str | None = None, type: str | None = None,
                limit: int = 10, *, cwd: str | None = None, mode: str | None = None) -> str:
    from claude_mem import semantic
    from claude_mem.semantic.base import SemanticUnavailable
    from claude_mem.store import fts_query

    query = _bounded(query, "query")
    if not fts_query(query):
        raise ToolFailure("empty query: give one or more words to search for "
                          "(any of them is enough; end a word with * for a prefix).")
    limit = max(1, min(int(limit), MAX_SEARCH_LIMIT))
    if mode is not None and str(mode).strip().lower() not in ("", "words", "meaning", "both"):
        raise ToolFailure(f"unknown mode {mode!r}: use 'words', 'meaning' or 'both' "
                          "(or leave it out: both once search by meaning is set up, else words).")
    mode = (str(mode).strip().lower() or None) if mode is not None else None
    kinds, obs_type = _kinds_and_type(type)
    scope = _scope(project, cwd)
    where = f"project {scope}" if scope else "all projects"
    with _open_store() as store:
        wanted = min(limit * 5, 250) if obs_type else limit
        try:
            hits = semantic.search(store, query, mode=mode, project=scope, kinds=kinds,
                                   limit=wanted)
        except SemanticUnavailable as exc:
            raise ToolFailure(f"{exc}. Leave mode out, or use mode='words'.") from None
        if obs_type:
            hits = [hit for hit in hits if hit.get("type") == obs_type][:limit]
        if not hits:
            hint = (" Try project='*' to search every project, other words, or fewer of them."
                    if scope else " Try other words, or fewer of them.")
            return f"No matches for {query!r} in {where}.{hint}\n{_projects_hint(store)}"
    lines = [f"{len(hits)} match{'es' if len(hits) != 1 else ''} for {query!r} in {where} "
             f"(best first):"]
    lines += [_hit_line(hit, with_project=scope is None) for hit in hits]
    obs_ids = [hit["id"] for hit in hits if hit["kind"] == "observation"][:5]
    follow = []
    if obs_ids:
        follow.append(f"get_observations(ids={obs_ids}) for details, "
                      f"timeline(observation_id={obs_ids[0]}) for what happened around one")
    sessions = [str(hit.get("claude_session_id", ""))[:8] for hit in hits if hit["kind"] != "observation"]
    if sessions:
        follow.append(f"get_session('{sessions[0]}') for a whole session")
    if follow:
        lines += ["", "Next: " + "; ".join(follow) + "."]
    return "\n".join(lines)


def _bounded(value, name: str) -> str:
    """A text argument, refused when longer than ``MAX_ARGUMENT_CHARS``."""
    text = str(value if value is not None else "").strip()
    if len(text) > MAX_ARGUMENT_CHARS:
        raise ToolFailure(f"{name} is {len(text):,} characters long; at most "
                          f"{MAX_ARGUMENT_CHARS:,} are accepted.")
    return text


def _session_ref(store, session_id: int) -> str:
    row = store.session(session_id)
    if row is None:
        return f"session #{session_id}"
    agent = row.get("agent") or "claude-code"
    return (f"session {row['claude_session_id'][:8]} (#{session_id}), project {row['project']}"
            + ("" if agent == "claude-code" else f", agent {agent}"))


def observations_text(ids) -> str:
    from claude_mem.render import observation_text

    if isinstance(ids, (int, str)):
        ids = [ids]
    ids = list(ids or [])
    if len(ids) > MAX_IDS_ACCEPTED:
        raise ToolFailure(f"{len(ids):,} ids in one call: give at most {MAX_IDS_PER_CALL} "
                          "(the most relevant ones from search).")
    wanted: dict[int, None] = {}  # ordered, and a set for the duplicate check
    for value in ids:
        try:
            number = int(str(value).strip().lstrip("#")[:40])
        except ValueError:
            raise ToolFailure(f"bad observation id {one_line(repr(value), 40)}: ids are numbers "
                              "such as 12 (shown as #12).") from None
        wanted[number] = None
    wanted = list(wanted)
    if not wanted:
        raise ToolFailure("give at least one observation id (the #numbers in search results "
                          "or in the session-start memory index).")
    later = wanted[MAX_IDS_PER_CALL:]
    wanted = wanted[:MAX_IDS_PER_CALL]
    blocks, missing = [], []
    with _open_store() as store:
        for number in wanted:
            obs = store.observation(number)
            if obs is None:
                missing.append(number)
                continue
            blocks.append(observation_text(obs) + "\n  " + _session_ref(store, obs["session_id"]))
    if not blocks:
        shown = ", ".join(f"#{n}" for n in missing)
        raise ToolFailure(f"no observation with id {shown}. Use search to find ids.")
    if missing:
        blocks.append("Not found: " + ", ".join(f"#{n}" for n in missing) + ".")
    if later:
        blocks.append(f"Only {MAX_IDS_PER_CALL} ids per call: ask again for "
                      + ", ".join(str(n) for n in later) + ".")
    return "\n\n".join(blocks)


def session_text(session) -> str:
    from claude_mem import render

    ident = _bounded(session, "session").lstrip("#")
    if not ident:
        raise ToolFailure("give a session: its number, its Claude session id, or a unique prefix.")
    with _open_store() as store:
        row = store.find_session(ident)
        if row is None:
            raise ToolFailure(
                f"no session {ident!r}: give a session number, a full Claude session id, or a "
                "prefix of one that matches exactly one session (search results show them).")
        return render.session_text(store.session_detail(row["id"]))


def context_text(project: str | None = None, *, cwd: str | None = None) -> str:
    from claude_mem import context

    scope = _scope(project, cwd)
    if scope is None:
        raise ToolFailure("recent_context covers one project: name it, or omit project for the "
                          "current one.")
    with _open_store() as store:
        text = context.render(store, scope, config.load())
        if not text:
            return f"No memory recorded yet for project {scope}. {_projects_hint(store)}"
    return text


def timeline_text(observation_id, before: int = 5, after: int = 5) -> str:
    try:
        anchor_id = int(str(observation_id).strip().lstrip("#"))
    except ValueError:
        raise ToolFailure(f"bad observation id {observation_id!r}: ids are numbers such as 12.") \
            from None
    before = max(0, min(int(before), MAX_TIMELINE_SIDE))
    after = max(0, min(int(after), MAX_TIMELINE_SIDE))
    with _open_store() as store:
        anchor = store.observation(anchor_id)
        if anchor is None:
            raise ToolFailure(f"no observation with id #{anchor_id}. Use search to find ids.")
        sid = anchor["session_id"]
        around = store.observations_around(sid, anchor_id, before, after)
        earlier, later = around["earlier"], around["later"]
        session_row = store.session(sid)
        session_ident = session_row["claude_session_id"][:8] if session_row else str(sid)
        lines = [f"Timeline around observation #{anchor_id} — {_session_ref(store, sid)}"]
        if around["earlier_total"] > len(earlier):
            lines.append(f"  … {around['earlier_total'] - len(earlier)} earlier observation(s) in this session")
        current_prompt = object()
        for obs in earlier + [anchor] + later:
            if obs["prompt_number"] != current_prompt:
                current_prompt = obs["prompt_number"]
                prompt = store.prompt(sid, current_prompt) if current_prompt else None
                text = one_line(prompt["prompt"], 200) if prompt else "(no prompt recorded)"
                lines.append(f"Prompt {current_prompt}: {text}")
            mark = "→" if obs["id"] == anchor_id else " "
            files = list(obs.get("files_modified") or []) or list(obs.get("files_read") or [])
            line = (f" {mark} #{obs['id']} {when(obs.get('created_at'), fmt='%H:%M:%S')} "
                    f"{obs['type']}: {one_line(obs['title'], 160)}")
            lines.append(line + (f" [{file_list(files, 3)}]" if files else ""))
        if around["later_total"] > len(later):
            lines.append(f"  … {around['later_total'] - len(later)} later observation(s) in this session")
    lines += ["", f"Details: get_observations(ids=[...]); the whole session: "
                  f"get_session('{session_ident}')."]
    return "\n".join(lines)


# -- the MCP layer -----------------------------------------------------------------------


def _sdk():
    """(server class, ToolError, ToolAnnotations) from the installed MCP SDK (v2, else v1)."""
    try:
        try:
            from mcp.server.mcpserver import MCPServer as Server
            from mcp.server.mcpserver.exceptions import ToolError
        except ImportError:
            from mcp.server.fastmcp import FastMCP as Server  # mcp 1.x
            from mcp.server.fastmcp.exceptions import ToolError
        from mcp.types import ToolAnnotations
    except ImportError as exc:
        from claude_mem.install import extra_install_command

        raise MCPUnavailable(
            "the claude-mem MCP server needs the MCP Python SDK; install it into this "
            f"environment with: {extra_install_command('mcp')}  ({exc})") from exc
    return Server, ToolError, ToolAnnotations


# How each tool is called, for error messages that show the model the right shape.
USAGE = {
    "search": "search(query='words to find', project=None, type=None, limit=10, mode=None)",
    "get_observations": "get_observations(ids=[12, 15])",
    "get_session": "get_session(session='351e9b10')",
    "recent_context": "recent_context(project=None)",
    "timeline": "timeline(observation_id=12, before=5, after=5)",
}
_EXPECTED = {
    "missing": "is required",
    "int_parsing": "must be a whole number such as 12",
    "int_type": "must be a whole number such as 12",
    "int_from_float": "must be a whole number such as 12",
    "list_type": "must be a list such as [12, 15]",
    "string_type": "must be text",
    "extra_forbidden": "is not an argument of this tool",
}


def argument_problem(tool: str, errors: list[dict]) -> str:
    """Plain sentences for the SDK's argument validation errors (no pydantic text or links)."""
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "")
        kind = err.get("type", "")
        said = _EXPECTED.get(kind) or str(err.get("msg", "is not valid")).lower()
        got = "" if kind == "missing" else f" (got {one_line(repr(err.get('input')), 40)})"
        name = where.split(".")[0] if where else "an argument"
        if "." in where:  # an item of a list: ids.1
            said = _EXPECTED.get(kind, said).replace("a list such as [12, 15]", "a list")
            name = f"item {int(where.split('.')[1]) + 1} of {name}" if where.split(".")[1].isdigit() else where
        parts.append(f"`{name}` {said}{got}")
    usage = USAGE.get(tool)
    return (f"{tool}: " + "; ".join(parts) + "."
            + (f" Call it like {usage}." if usage else ""))


def build_server(cwd: str | None = None):
    """The MCP server object with claude-mem's tools registered (not running)."""
    Server, ToolError, ToolAnnotations = _sdk()
    from pydantic import Field, ValidationError  # a dependency of the SDK

    from claude_mem import __version__

    class ClaudeMemServer(Server):
        async def call_tool(self, name, arguments, *args, **kwargs):
            try:
                return await super().call_tool(name, arguments, *args, **kwargs)
            except ToolError as exc:
                cause = exc.__cause__
                if isinstance(cause, ValidationError):
                    raise ToolError(argument_problem(name, cause.errors())) from None
                if isinstance(cause, ToolError):  # ours: drop the SDK's "Error executing tool" prefix
                    raise ToolError(str(cause)) from None
                raise

    try:
        server = ClaudeMemServer("claude-mem", instructions=INSTRUCTIONS, version=__version__)
    except TypeError:  # an SDK whose server takes no version
        server = ClaudeMemServer("claude-mem", instructions=INSTRUCTIONS)
    read_only = ToolAnnotations.model_validate(
        {"readOnlyHint": True, "destructiveHint": False, "openWorldHint": False})

    def answer(fn, *args, **kwargs) -> str:
        import sqlite3

        try:
            return cap(fn(*args, **kwargs))
        except ToolFailure as exc:
            raise ToolError(str(exc)) from None
        except sqlite3.Error as exc:
            raise ToolError(f"claude-mem could not read its database ({exc}); "
                            "try again, or run `claude-mem doctor`.") from None
        except Exception as exc:  # a bug: say so, keep serving
            import traceback

            traceback.print_exc(file=sys.stderr)
            raise ToolError(f"claude-mem internal error: {type(exc).__name__}: {exc}") from None

    def register(fn, description: str) -> None:
        options = dict(name=fn.__name__, description=description, annotations=read_only,
                       structured_output=False)
        try:
            server.add_tool(fn, **options)
        except TypeError:  # an SDK without structured output
            options.pop("structured_output")
            server.add_tool(fn, **options)

    def search(
        query: Annotated[str, Field(description="Words to find: any of them, best matches first; \"words in double quotes\" for an exact phrase; end a word with * for a prefix.")],
        project: Annotated[str | None, Field(description="Project name; default: the current project; '*' = all projects.")] = None,
        type: Annotated[str | None, Field(description="Only 'observation', 'summary' or 'prompt', or an observation type: bugfix, feature, refactor, change, discovery, decision.")] = None,
        limit: Annotated[int, Field(description="Most hits to return (1-50).")] = 10,
        mode: Annotated[str | None, Field(description="'words', 'meaning' (search by meaning, when installed) or 'both' fused; default: both once set up, else words.")] = None,
    ) -> str:
        return answer(search_text, query, project=project, type=type, limit=limit, cwd=cwd,
                      mode=mode)

    def get_observations(
        ids: Annotated[list[int], Field(description=f"Observation ids (the #numbers), at most {MAX_IDS_PER_CALL}.")],
    ) -> str:
        return answer(observations_text, ids)

    def get_session(
        session: Annotated[str | int, Field(description="Session number, Claude session id, or a unique prefix of one (e.g. '351e9b10').")],
    ) -> str:
        return answer(session_text, session)

    def recent_context(
        project: Annotated[str | None, Field(description="Project name; default: the current project.")] = None,
    ) -> str:
        return answer(context_text, project, cwd=cwd)

    def timeline(
        observation_id: Annotated[int, Field(description="The observation to centre on.")],
        before: Annotated[int, Field(description=f"Observations to show before it (0-{MAX_TIMELINE_SIDE}).")] = 5,
        after: Annotated[int, Field(description=f"Observations to show after it (0-{MAX_TIMELINE_SIDE}).")] = 5,
    ) -> str:
        return answer(timeline_text, observation_id, before, after)

    register(search,
             "Search memory of earlier Claude Code sessions (observations, request summaries, "
             "user prompts) by words. Use it before redoing work, when the user refers to "
             "something done before, or to recall past errors, fixes, decisions and files. "
             "One line per hit with its #id; follow up with get_observations, timeline or "
             "get_session. Searches the current project unless project is given ('*' = all).")
    register(get_observations,
             "Full details of observations by id: facts (commands, errors, outcomes), "
             "narrative, files read and modified, session. Use for #ids from search results or "
             "from the memory index shown at session start.")
    register(get_session,
             "Everything recorded for one session: each prompt with its observations and "
             "request summary. Use when you need the whole story of an earlier session.")
    register(recent_context,
             "The memory summary given at session start (latest request summary, earlier "
             "requests, index of recent observations with ids) for the current or another "
             "project. Use to refresh it, e.g. after /clear, or to look at another project.")
    register(timeline,
             "Observations just before and after one observation in the same session, under "
             "the prompts they served. Use to see what led up to something found by search "
             "and what happened next.")
    return server


def serve(cwd: str | None = None) -> None:
    """Run the MCP server on stdio until the client disconnects (raises MCPUnavailable).

    Through ``mcp_gate``: every malformed line gets a JSON-RPC error, none goes unanswered.
    """
    from claude_mem import mcp_gate

    mcp_gate.run(build_server(cwd))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m claude_mem.mcp_server",
        description="claude-mem's memory as an MCP server on stdio.")
    parser.add_argument("--cwd", help="directory whose project is the default "
                                      "(default: $CLAUDE_PROJECT_DIR, else the working directory)")
    args = parser.parse_args(argv)
    try:
        serve(os.path.abspath(args.cwd) if args.cwd else None)
    except MCPUnavailable as exc:
        print(f"claude-mem: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
