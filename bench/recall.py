"""Retrieval benchmark: asked about past work in plain words, does the memory answer?

Usage: python bench/recall.py [--json] [--sets tune,heldout] [--only PROJECT] [--jobs 2]
                              [--modes words,meaning,both] [--unrelated N] [--no-mcp]
                              [--no-prompts] [--misses]

Questions, answers and prompts live in ``bench/recall_questions/`` (written before any
tuning; see docs/recall.md): ``tune.json`` and ``heldout.json`` (questions with literal
answers, and prompts that turn to earlier work), ``unrelated.json`` (ordinary new requests).

Method:
1. Every session of the chosen sets is replayed through the real hook processes (JSON on
   stdin) and the real worker into one throwaway data dir, each in a throwaway git project
   named like its original folder (the recording's folder prefix is rewritten), so each
   question meets the memory of every session at once. The bench waits for the queue to
   drain (and, with the semantic extra, for the vectors: ``status --json``).
2. ``claude-mem export`` gives every stored prompt, observation and summary with its project:
   a hit is judged by its (kind, id) there, the same way for the CLI and the MCP server.
   It also gives the ceiling: the share of questions whose answer is stored anywhere in the
   question's project.
3. Search: each question through the real CLI (``search QUESTION --json --limit 5``, with
   ``--mode`` when the CLI has it) and the real MCP server (stdio JSON-RPC, ``search`` tool,
   ``project='*'``, ``mode`` when the tool has it). A hit is a result of the question's project
   whose stored text holds one of the answers (case-insensitive). recall@5 = share of
   questions with a hit in the top 5; MRR = mean of 1/rank of the first hit (0 if none).
   Also a control: the answer's own words as the query (what plain word search can reach).
   ``--scope project`` (a diagnostic, not the published figure) asks each question in its own
   project instead (``--project`` / ``project=<it>``), as the MCP server does when the model
   names no project: the other sessions' memories then compete no more.
4. Prompt-time recall: each ``prompts`` entry through the real UserPromptSubmit hook, from
   the project's folder, in a new session; a hit is an answer in the ``additionalContext`` it
   prints; tokens = characters / 4. Unrelated prompts go the same way from each project's
   folder in turn; the figure is the share that get anything injected. Each probe's session
   is forgotten (``claude-mem forget session ID --yes``) before the next, so no probe meets
   an earlier one in memory.
5. Latency p50/p95 of each path: CLI search (the whole process), MCP search (one call),
   UserPromptSubmit (the whole hook process), against a bare interpreter start measured in
   the same run.

Held-out questions are reported as figures only: their misses are never printed.
Exits 0 (a measurement, not a test).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from memory_quality import shared_fixtures  # noqa: E402  (bench/ is sys.path[0])

QUESTIONS = ROOT / "bench" / "recall_questions"
FIXTURES = ROOT / "tests" / "fixtures"
SETS = ("tune", "heldout")
HIDDEN_SETS = ("heldout",)
MODES = ("words", "meaning", "both")
TOP_K = 5
CHARS_PER_TOKEN = 4


# -- questions and sessions ------------------------------------------------------------------


def fixture_path(rel: str) -> Path:
    """A session file named relative to tests/fixtures (else ../shared/fixtures)."""
    path = FIXTURES / rel
    if not path.exists() and shared_fixtures() is not None:
        path = shared_fixtures() / rel
    if not path.exists():
        raise SystemExit(f"recall bench: session file {rel} not found under {FIXTURES}")
    return path


def load_sets(names, only=()) -> dict:
    """{set: {"sessions": {project: path}, "questions": [...], "prompts": [...]}}"""
    out = {}
    for name in names:
        data = json.loads((QUESTIONS / f"{name}.json").read_text("utf-8"))
        sessions = {p: fixture_path(rel) for p, rel in data["sessions"].items()
                    if not only or p in only}
        keep = lambda item: item["project"] in sessions  # noqa: E731
        out[name] = {"sessions": sessions,
                     "questions": [dict(q, set=name) for q in data["questions"] if keep(q)],
                     "prompts": [dict(p, set=name) for p in data.get("prompts", []) if keep(p)]}
    return out


def unrelated_prompts(limit: int | None) -> list[str]:
    prompts = json.loads((QUESTIONS / "unrelated.json").read_text("utf-8"))["prompts"]
    return prompts if limit is None else prompts[:limit]


def holds_answer(text: str, answers) -> bool:
    low = text.lower()
    return any(a.lower() in low for a in answers)


# -- the run's environment ---------------------------------------------------------------------


class Run:
    """One throwaway data dir and project root; everything goes through real processes."""

    def __init__(self, work: str, kept: bool = False):
        """``kept``: ``work`` holds an earlier replay (``recall_lab.py``) to use again."""
        self.work = work
        self.root = os.path.join(work, "p")
        self.data_dir = os.path.join(work, "data")
        os.makedirs(self.root, exist_ok=kept)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_MEM_")}
        env.pop("CLAUDE_PROJECT_DIR", None)  # the person's own settings must not count
        env.update({"CLAUDE_MEM_DATA_DIR": self.data_dir, "CLAUDE_MEM_COMPRESSOR": "heuristic",
                    "CLAUDE_MEM_VIEWER_PORT": "0", "CLAUDE_MEM_WORKER_IDLE_SECONDS": "600",
                    # each mode asks the same question: every search embeds it (timed cold)
                    "CLAUDE_MEM_QUERY_CACHE": "0"})
        self.env = env
        os.environ["CLAUDE_MEM_DATA_DIR"] = self.data_dir  # for control.stop_worker()
        self.cli = [str(Path(sys.executable).with_name("claude-mem"))]
        if not os.path.exists(self.cli[0]):
            self.cli = [sys.executable, "-m", "claude_mem.cli"]
        self.project_dir: dict[str, str] = {}

    def hook(self, event: str, payload: dict) -> tuple[str, float]:
        from claude_mem.demo import run_hook

        return run_hook(event, payload, self.env)

    def cli_run(self, *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
        started = time.perf_counter()
        proc = subprocess.run(self.cli + list(args), capture_output=True, env=self.env,
                              timeout=timeout, cwd=self.root)
        return proc, (time.perf_counter() - started) * 1000

    # -- replay

    def replay(self, project: str, session: Path) -> int:
        """Replay one session's hook events in order; returns how many were sent."""
        events, cwds = self.events(session)
        for cwd in cwds:
            os.makedirs(cwd, exist_ok=True)
            # One repository per project: a folder inside an initialised one is part of it.
            inside = any(cwd == c or cwd.startswith(c.rstrip("/") + "/") for c in cwds[:cwds.index(cwd)])
            if not inside and not os.path.isdir(os.path.join(cwd, ".git")):
                subprocess.run(["git", "init", "-q", cwd], check=False, capture_output=True)
        self.project_dir[project] = cwds[0] if cwds else self.root
        for event in events:
            self.hook(event["event"], event["stdin"])
        return len(events)

    def events(self, session: Path) -> tuple[list[dict], list[str]]:
        """The session's hook events with its folders moved under this run's root, and
        those folders (the project's first)."""
        from claude_mem.hook_events import HOOK_EVENTS

        lines = [line for line in session.read_text("utf-8").splitlines() if line.strip()]
        prefix = None  # the folder the recording's projects live in: the first cwd's parent
        for line in lines:
            cwd = (json.loads(line).get("stdin") or {}).get("cwd")
            if isinstance(cwd, str) and cwd.startswith("/"):
                prefix = os.path.dirname(cwd.rstrip("/"))
                break
        hooked = set(HOOK_EVENTS.values())
        events = [json.loads(line.replace(prefix + "/", self.root + "/")) if prefix else json.loads(line)
                  for line in lines]
        events = [e for e in events if e.get("event") in hooked and isinstance(e.get("stdin"), dict)]
        cwds = []
        for event in events:
            cwd = event["stdin"].get("cwd")
            if isinstance(cwd, str) and cwd not in cwds:
                cwds.append(cwd)
        return events, cwds

    def wait_drained(self, timeout: float = 180) -> bool:
        from claude_mem import config
        from claude_mem.demo import wait_for_queue
        from claude_mem.store import Store

        deadline = time.monotonic() + timeout
        with Store(config.db_path()) as store:
            if not wait_for_queue(store, timeout=timeout):
                return False
        while config.spooled_names() and time.monotonic() < deadline:
            time.sleep(0.05)
        return True

    def wait_embedded(self, timeout: float = 3600, stalled: float = 300) -> dict | None:
        """With the semantic extra: wait until ``status --json`` reports no memory left to
        embed (at most ``timeout`` s, or ``stalled`` s without progress: on a busy machine
        the backfill of every session takes longer than ten minutes). Returns the last
        status's embedding part (None when status has none)."""
        deadline = time.monotonic() + timeout
        last, progressed = None, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - progressed < stalled:
            proc, _ = self.cli_run("status", "--json")
            try:
                status = json.loads(proc.stdout or b"{}")
            except ValueError:
                return None
            part = _embedding_status(status)
            if part is None:
                return None
            if last is None or part.get("embedded") != last.get("embedded"):
                progressed = time.monotonic()
            last = part
            if not _embedding_pending(part):
                return last
            time.sleep(0.5)
        return last

    def export(self) -> dict:
        """(kind, id) -> {"project", "text"} for every stored prompt, observation, summary."""
        proc, _ = self.cli_run("export", timeout=120)
        document = json.loads(proc.stdout)
        items = {}
        for detail in document["sessions"]:
            project = (detail.get("session") or {}).get("project", "")
            for kind, key in (("prompt", "prompts"), ("observation", "observations"),
                              ("summary", "summaries")):
                for row in detail.get(key) or []:
                    items[(kind, int(row["id"]))] = {"project": project, "text": flatten(row)}
        return items

    def forget_session(self, claude_session_id: str) -> None:
        self.wait_drained(timeout=30)
        self.cli_run("forget", "session", claude_session_id, "--yes")


def _embedding_status(status) -> dict | None:
    """The part of ``status --json`` about vectors, wherever the semantic side puts it."""
    if not isinstance(status, dict):
        return None
    for key, value in status.items():
        if any(word in key.lower() for word in ("embed", "vector", "semantic")):
            return value if isinstance(value, dict) else {key: value}
    return None


def _embedding_pending(part: dict) -> bool:
    for key, value in part.items():
        low = key.lower()
        if any(w in low for w in ("pending", "missing", "remaining", "todo", "backlog")):
            if isinstance(value, (int, float)) and value > 0:
                return True
    return False


def flatten(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(flatten(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return "\n".join(flatten(v) for v in value)
    return "" if value is None else str(value)


# -- the MCP server, spoken to over stdio -------------------------------------------------------


class MCPClient:
    """The real ``claude-mem mcp`` process, JSON-RPC a line on its stdin/stdout."""

    def __init__(self, run: Run):
        self.proc = subprocess.Popen(run.cli + ["mcp", "--cwd", run.root], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=run.env, cwd=run.root)
        self.next_id = 0
        self.request("initialize", {"protocolVersion": "2025-03-26", "capabilities": {},
                                    "clientInfo": {"name": "recall-bench", "version": "1"}})
        self.notify("notifications/initialized")
        tools = self.request("tools/list", {}).get("tools", [])
        search = next((t for t in tools if t.get("name") == "search"), {})
        self.search_params = set(((search.get("inputSchema") or {}).get("properties") or {}))

    def notify(self, method: str, params: dict | None = None) -> None:
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        wanted = self.next_id
        self.proc.stdin.write((json.dumps({"jsonrpc": "2.0", "id": wanted, "method": method,
                                           "params": params}) + "\n").encode())
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"MCP server closed its output during {method}")
            message = json.loads(line)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"MCP {method}: {message['error']}")
                return message.get("result") or {}

    def search(self, query: str, mode: str | None, project: str = "*") -> tuple[str, bool, float]:
        arguments = {"query": query, "project": project, "limit": TOP_K}
        if mode and "mode" in self.search_params:
            arguments["mode"] = mode
        started = time.perf_counter()
        result = self.request("tools/call", {"name": "search", "arguments": arguments})
        elapsed = (time.perf_counter() - started) * 1000
        text = "\n".join(c.get("text", "") for c in result.get("content") or [])
        return text, bool(result.get("isError")), elapsed

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


MCP_HIT = re.compile(r"^(obs|summary|prompt) #(\d+)\b")
KIND = {"obs": "observation", "summary": "summary", "prompt": "prompt"}


def mcp_hits(text: str) -> list[tuple[str, int]]:
    return [(KIND[m.group(1)], int(m.group(2)))
            for m in (MCP_HIT.match(line.strip()) for line in text.splitlines()) if m]


def cli_hits(stdout: bytes) -> list[tuple[str, int]]:
    try:
        hits = json.loads(stdout or b"[]")
    except ValueError:
        return []
    if isinstance(hits, dict):  # a future envelope {"hits": [...]}
        hits = hits.get("hits") or hits.get("results") or []
    return [(str(h.get("kind")), int(h["id"])) for h in hits if isinstance(h, dict) and "id" in h]


def first_hit_rank(hits, memory: dict, question: dict) -> int | None:
    for rank, key in enumerate(hits[:TOP_K], 1):
        item = memory.get(key)
        if item and item["project"] == question["project"] and holds_answer(item["text"], question["answers"]):
            return rank
    return None


# -- measuring ----------------------------------------------------------------------------------


def cli_modes(run: Run) -> tuple[bool, list[str], dict]:
    """Whether search has --mode, the modes it can run, {mode: why not} for the others."""
    proc, _ = run.cli_run("search", "--help")
    if b"--mode" not in proc.stdout:
        return False, ["words"], {"meaning": "no --mode in this version", "both": "no --mode in this version"}
    available, missing = ["words"], {}
    for mode in ("meaning", "both"):
        probe, _ = run.cli_run("search", "test", "--json", "--limit", "1", "--mode", mode)
        if probe.returncode == 0:
            available.append(mode)
        else:
            why = (probe.stderr or probe.stdout).decode(errors="replace").strip().splitlines()
            missing[mode] = "not installed" + (f" ({why[-1][:120]})" if why else "")
    return True, available, missing


def measure_search(run: Run, questions, memory, modes, mcp: MCPClient | None, has_mode: bool,
                   cli_every: int, own_project: bool = False) -> dict:
    """Ranks of the first hit per question, per mode and path. The CLI asks every question
    in words mode; in the other modes (each process loads the embedding model) every
    ``cli_every``-th question when the MCP server asks them all."""
    out = {}
    for mode in modes:
        per_path = {"cli": [], "mcp": []}
        lat = {"cli": [], "mcp": []}
        for n, q in enumerate(questions):
            args = ["search", q["q"], "--json", "--limit", str(TOP_K)]
            if has_mode:
                args += ["--mode", mode]
            if own_project:
                args += ["--project", q["project"]]
            if mode == "words" or mcp is None or n % max(1, cli_every) == 0:
                proc, ms = run.cli_run(*args)
                lat["cli"].append(ms)
                per_path["cli"].append(first_hit_rank(cli_hits(proc.stdout), memory, q))
            if mcp is not None:
                text, failed, ms = mcp.search(q["q"], mode if has_mode else None,
                                              project=q["project"] if own_project else "*")
                lat["mcp"].append(ms)
                per_path["mcp"].append(None if failed else first_hit_rank(mcp_hits(text), memory, q))
        out[mode] = {"ranks": per_path, "latency_ms": lat}
    return out


def measure_control(run: Run, questions, memory, mcp: MCPClient | None, has_mode: bool) -> list[int | None]:
    """The answer's own words as the query, in the question's project (words mode): what
    plain word search can reach. Through the MCP server when there is one (quicker)."""
    ranks = []
    for q in questions:
        best = None
        for answer in q["answers"]:
            if mcp is not None:
                text, failed, _ = mcp.search(answer, "words" if has_mode else None, project=q["project"])
                rank = None if failed else first_hit_rank(mcp_hits(text), memory, q)
            else:
                proc, _ = run.cli_run("search", answer, "--json", "--limit", str(TOP_K),
                                      "--project", q["project"])
                rank = first_hit_rank(cli_hits(proc.stdout), memory, q)
            if rank is not None and (best is None or rank < best):
                best = rank
        ranks.append(best)
    return ranks


def prompt_probe(run: Run, cwd: str, prompt: str) -> tuple[str, float]:
    session_id = str(uuid.uuid4())
    payload = {"session_id": session_id, "transcript_path": "", "cwd": cwd,
               "hook_event_name": "UserPromptSubmit", "prompt": prompt}
    stdout, ms = run.hook("UserPromptSubmit", payload)
    context = ""
    if stdout.strip():
        try:
            context = json.loads(stdout)["hookSpecificOutput"].get("additionalContext") or ""
        except (ValueError, KeyError, TypeError, AttributeError):
            context = ""
    run.forget_session(session_id)
    return context, ms


def bare_interpreter_ms(samples: int = 15) -> list[float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def pct(values, q: float) -> float | None:
    values = sorted(values)
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return round(values[index], 1)


def recall_at_k(ranks) -> float | None:
    return round(sum(r is not None for r in ranks) / len(ranks), 3) if ranks else None


def mrr(ranks) -> float | None:
    return round(sum(1 / r for r in ranks if r) / len(ranks), 3) if ranks else None


# -- the whole run -------------------------------------------------------------------------------


def run_bench(args) -> dict:
    from claude_mem import control

    only = set(args.only)
    sets = load_sets(args.sets, only)
    sessions = {p: path for s in sets.values() for p, path in s["sessions"].items()}
    work = tempfile.mkdtemp(prefix="cm-recall-")
    run = Run(work)
    result: dict = {"data_dir": run.data_dir, "scope": args.scope, "sets": {}, "modes": {},
                    "latency_ms": {}}
    started = time.perf_counter()
    mcp = None
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {p: pool.submit(run.replay, p, path) for p, path in sessions.items()}
            events = sum(f.result() for f in futures.values())
        result["replayed"] = {"sessions": len(sessions), "events": events,
                              "drained": run.wait_drained()}
        result["replay_seconds"] = round(time.perf_counter() - started, 1)
        waited = time.perf_counter()
        embedded = run.wait_embedded() if not args.no_semantic_wait else None
        if embedded is not None:
            result["embedding_status"] = embedded
            result["embedding_wait_seconds"] = round(time.perf_counter() - waited, 1)
        memory = run.export()
        result["stored"] = {k: sum(1 for key in memory if key[0] == k)
                            for k in ("prompt", "observation", "summary")}
        has_mode, available, missing = cli_modes(run)
        modes = [m for m in args.modes if m in available]
        result["modes"] = {m: ("measured" if m in modes else missing.get(m, "not asked for"))
                           for m in MODES}
        if not args.no_mcp:
            mcp = MCPClient(run)
        for name, data in sets.items():
            questions = data["questions"]
            entry: dict = {"sessions": len(data["sessions"]), "questions": len(questions)}
            in_memory = [any(item["project"] == q["project"] and holds_answer(item["text"], q["answers"])
                             for item in memory.values()) for q in questions]
            entry["answer_in_memory"] = round(sum(in_memory) / len(questions), 3) if questions else None
            control_ranks = measure_control(run, questions, memory, mcp, has_mode)
            entry["control_answer_words"] = {"recall@5": recall_at_k(control_ranks), "mrr": mrr(control_ranks)}
            searched = measure_search(run, questions, memory, modes, mcp, has_mode, args.cli_every,
                                      own_project=args.scope == "project")
            entry["search"] = {}
            for mode, m in searched.items():
                entry["search"][mode] = {
                    path: {"recall@5": recall_at_k(ranks), "mrr": mrr(ranks), "n": len(ranks)}
                    for path, ranks in m["ranks"].items() if ranks}
                for path, values in m["latency_ms"].items():
                    result["latency_ms"].setdefault(f"{path} search ({mode})", []).extend(values)
            kinds: dict[str, list] = {}
            words = searched.get("words", {}).get("ranks", {}).get("cli", [])
            for q, rank in zip(questions, words):
                kinds.setdefault(q.get("kind", "?"), []).append(rank)
            entry["words_by_kind"] = {k: {"n": len(v), "recall@5": recall_at_k(v)} for k, v in sorted(kinds.items())}
            if name not in HIDDEN_SETS:
                entry["words_misses"] = [
                    {"project": q["project"], "q": q["q"], "answers": q["answers"],
                     "in_memory": hit_in_mem}
                    for q, rank, hit_in_mem in zip(questions, words, in_memory) if rank is None]
            if not args.no_prompts:
                hits, tokens, injected = [], [], 0
                for p in data["prompts"]:
                    context, ms = prompt_probe(run, run.project_dir[p["project"]], p["prompt"])
                    result["latency_ms"].setdefault("UserPromptSubmit", []).append(ms)
                    hits.append(holds_answer(context, p["answers"]))
                    injected += bool(context)
                    tokens.append(len(context) / CHARS_PER_TOKEN)
                n = len(data["prompts"])
                entry["prompt_recall"] = {
                    "prompts": n, "recall": round(sum(hits) / n, 3) if n else None,
                    "injected": injected,
                    "tokens_mean": round(statistics.mean(tokens), 1) if tokens else None,
                    "tokens_max": round(max(tokens), 1) if tokens else None}
            result["sets"][name] = entry
        if not args.no_prompts:
            projects = list(run.project_dir)
            unrelated = unrelated_prompts(args.unrelated)
            injected, tokens = 0, []
            for i, prompt in enumerate(unrelated):
                context, ms = prompt_probe(run, run.project_dir[projects[i % len(projects)]], prompt)
                result["latency_ms"].setdefault("UserPromptSubmit", []).append(ms)
                if context:
                    injected += 1
                    tokens.append(len(context) / CHARS_PER_TOKEN)
            result["unrelated"] = {"prompts": len(unrelated), "injected": injected,
                                   "share": round(injected / len(unrelated), 3) if unrelated else None,
                                   "tokens_mean_when_injected": round(statistics.mean(tokens), 1) if tokens else 0}
        after = run.export()
        # Each probe's session was forgotten: nothing of the bench's own prompts may remain.
        result["probes_left_in_memory"] = sum(1 for key in after if key not in memory)
        result["latency_ms"]["bare interpreter start"] = bare_interpreter_ms()
    finally:
        if mcp is not None:
            mcp.close()
        control.stop_worker()
        shutil.rmtree(work, ignore_errors=True)
    result["latency"] = {path: {"n": len(v), "p50": pct(v, 0.5), "p95": pct(v, 0.95)}
                         for path, v in result.pop("latency_ms").items()}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _fmt(figure, of: int | None = None) -> str:
    if not figure:
        return "-"
    sample = f" ({figure['n']})" if of and figure.get("n") and figure["n"] < of else ""
    return f"{figure['recall@5']:.2f} / {figure['mrr']:.2f}{sample}"


def print_table(result: dict, args) -> None:
    rep = result["replayed"]
    print(f"replayed {rep['sessions']} sessions ({rep['events']} hook events) through the real hooks "
          f"and worker in {result['replay_seconds']} s; stored {result['stored']}")
    if "embedding_status" in result:
        status = result["embedding_status"]
        print(f"vectors: waited {result['embedding_wait_seconds']} s for the backfill; "
              f"embedded {status.get('embedded')}, pending {status.get('pending')}")
    print("modes: " + ", ".join(f"{m}: {why}" for m, why in result["modes"].items()))
    print()
    head = (f"{'set':<8} {'qs':>3} {'in mem':>6} {'answer-words':>12}  "
            + "  ".join(f"{m + ' cli':>18} {m + ' mcp':>13}" for m in MODES))
    scope = ("every project" if result.get("scope", "all") == "all"
             else "each question's own project (a diagnostic, not the published figure)")
    print(f"search in {scope}, recall@5 / MRR (a hit: the question's project, an answer in the"
          " stored text; (n): the CLI asked a sample)")
    print(head)
    print("-" * len(head))
    for name, e in result["sets"].items():
        line = (f"{name:<8} {e['questions']:>3} {e['answer_in_memory'] or 0:>6.2f} "
                f"{_fmt(e['control_answer_words']):>12}  ")
        cells = []
        for m in MODES:
            paths = e["search"].get(m)
            if paths is None:
                cells.append(f"{'n/a':>18} {'n/a':>13}")
            else:
                cells.append(f"{_fmt(paths.get('cli'), e['questions']):>18} {_fmt(paths.get('mcp')):>13}")
        print(line + "  ".join(cells))
    print()
    for name, e in result["sets"].items():
        kinds = ", ".join(f"{k} {v['recall@5']:.2f} ({v['n']})" for k, v in e["words_by_kind"].items())
        print(f"{name} words recall@5 by kind: {kinds}")
    if any("prompt_recall" in e for e in result["sets"].values()):
        print("\nprompt-time recall (UserPromptSubmit additionalContext holds an answer)")
        for name, e in result["sets"].items():
            p = e.get("prompt_recall")
            if p and p["prompts"]:
                print(f"  {name:<8} {p['recall']:.2f} of {p['prompts']} prompts; injected for {p['injected']}; "
                      f"tokens mean {p['tokens_mean']}, max {p['tokens_max']}")
        u = result.get("unrelated")
        if u and u["prompts"]:  # --unrelated 0 asks none
            print(f"  unrelated: {u['injected']} of {u['prompts']} got something injected "
                  f"({u['share']:.2f}); mean tokens when injected {u['tokens_mean_when_injected']}")
    print("\nlatency, ms (p50 / p95)")
    for path, v in result["latency"].items():
        if v["n"]:
            print(f"  {path:<28} {v['p50']:>8} / {v['p95']:<8} (n={v['n']})")
    print(f"\n{result['seconds']} s in all.")
    if args.misses:
        for name, e in result["sets"].items():
            for miss in e.get("words_misses", []):
                where = "in memory" if miss["in_memory"] else "NOT in memory"
                print(f"  miss [{name}] {miss['project']}: {miss['q']!r} ({where}; {miss['answers']})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--sets", default=",".join(SETS), help="question sets (tune,heldout)")
    parser.add_argument("--only", action="append", default=[],
                        help="only this project's session and questions (repeatable)")
    parser.add_argument("--modes", default=",".join(MODES), help="search modes to measure")
    parser.add_argument("--jobs", type=int, default=2, help="sessions replayed at once")
    parser.add_argument("--unrelated", type=int, default=None, help="only the first N unrelated prompts")
    parser.add_argument("--no-mcp", action="store_true", help="skip the MCP server")
    parser.add_argument("--cli-every", type=int, default=4,
                        help="meaning/both through the CLI for every Nth question (MCP asks all)")
    parser.add_argument("--no-prompts", action="store_true", help="skip prompt-time recall")
    parser.add_argument("--scope", choices=("all", "project"), default="all",
                        help="search every project (the published method) or each question's own "
                             "project (a diagnostic: the MCP server's default scope)")
    parser.add_argument("--no-semantic-wait", action="store_true",
                        help="do not wait for the vectors of the semantic extra")
    parser.add_argument("--misses", action="store_true",
                        help="list the words-mode misses of the tune set (never the held-out)")
    args = parser.parse_args(argv)
    args.sets = [s for s in args.sets.split(",") if s]
    args.modes = [m for m in args.modes.split(",") if m]
    result = run_bench(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
