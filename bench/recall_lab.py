"""Search-tuning lab: where each TUNE question's answer ranks, by words, by meaning, fused.

Usage:
  python bench/recall_lab.py replay DIR          # the tune sessions into DIR (kept), vectors made
  python bench/recall_lab.py ranks DIR [--prompts] [--all] [--set capture]
  python bench/recall_lab.py terms DIR [--json]  # key terms of each tune session in its memory
  python bench/recall_lab.py probe DIR [--runs N] [--paths worker,fallback,own] [--unrelated]
                                       [--load K]  # the tune prompts through the real hook, N times

``replay`` sends the tune sessions of ``bench/recall_questions/tune.json`` through the real
hook processes and worker (``recall.Run``) into ``DIR`` and waits until every memory is
embedded (~4 min here with the semantic extra), so that tuning ideas can be tried against
the same memory many times. ``ranks`` asks each tune question (``--prompts``: the tune
prompts, asked as search questions, a second view) of that memory in process, as the MCP
server does (``project='*'``), and prints recall@5 / MRR of words, meaning and both, the
share whose answer is in either list's top 5 (what fusion can reach), and for each question
``both`` misses (``--all``: every question) where its answer ranks in the words list, the
meaning list, the fused list (a miss asked again 100 deep) and where its best passage ranks among all
passages: a paraphrase the model places 40th needs another model, an answer both lists
hold 6th-12th needs another fusion. ``own`` is the answer's place among its own project's
memories in the fused list (the list with every other project's memories taken out): a
miss whose ``own`` is 1-5 was lost to other projects' memories, and the summary line counts
them (what knowing each question's project would give; round 11). ``--set capture`` asks
round 12's capture questions (what the memory of the same tune sessions holds: first failures,
errors inside long output, subagent reports, module docs, figures, lint findings); the summary
line also counts the questions whose answer is stored anywhere in their project (``in memory``).

``terms`` (round 13) is a view that needs no questions: for each tune session, the share of
the key terms written down for it before any tuning (its ``keys.json`` terms and request
terms, and its ``bench/digest_terms_round5.json`` terms) that are stored **anywhere** in its
project's memory (prompts, observations, summaries: the "in memory" test of ``ranks``), each
missing term with where the session's payloads hold it (the event, the tool and the field:
a Bash command's output, a Read's file content, a Stop's last message, a prompt ...), and
the memory's size (memories, characters, passages embedded). The key terms were written for
the digest and it was tuned on them, so a second view needs nobody's choice: the **names the
session used again**, each name (an identifier, a file name, a backticked span, an error
code, a count such as "477 lines") that first came in a tool's output (its response or its
error) and that the session later wrote itself (a tool's input, a prompt, a reply): what
the session found and worked with. Their share in memory is printed by the output field
they came from, with the names missing. The sessions are those of ``tune.json``; a held-out
session is refused.

``probe`` (round 14) asks whether prompt-time recall is the same every time on one memory:
each tune prompt (``--unrelated``: and the 40 unrelated prompts, over the tune projects in
turn, as ``bench/recall.py`` sends them) goes through the real UserPromptSubmit hook, in a new
session forgotten afterwards, ``--runs`` times along each path the hook can take: ``worker``
(the running worker answers, ``prompt_recall.ask``), ``fallback`` (the worker is stopped with
SIGSTOP while the hook runs, so the hook's wait runs out and it recalls on its own reader,
as when the worker is too busy), ``own`` (a capture setting in the hook's environment: no
inbox, the hook recalls and queues itself, as without a worker). ``--load K`` runs K CPU
loops beside it. It prints, per path and run, the tune prompts answered and injected and
the unrelated injected, the worker's answered / late counts, and how many prompts got the
same block in every run and path (a prompt whose block changed is listed; tune only).
Each probe's ``forget`` adds a level or two to the prompts' search index, and FTS5 refuses
an index of 2,000 levels ("vtable constructor failed"); since round 14 a ``forget`` that
finds an index at 512 levels rebuilds it (``store.forgetting``), which takes a moment then.

Held-out questions are never loaded here: tuning on them would make the held-out figure of
``bench/recall.py`` meaningless (docs/recall.md). Exits 0 (a measurement).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import recall  # noqa: E402  (bench/ is sys.path[0])

DEPTH = 100


def replay(work: str) -> int:
    from claude_mem import control

    run = recall.Run(work)
    sessions = recall.load_sets(["tune"])["tune"]["sessions"]
    events = sum(run.replay(project, path) for project, path in sessions.items())
    drained = run.wait_drained()
    embedded = run.wait_embedded()
    with open(os.path.join(work, "memory.json"), "w", encoding="utf-8") as out:
        json.dump([[kind, item, v["project"], v["text"]] for (kind, item), v in run.export().items()],
                  out)
    control.stop_worker()
    print(f"{len(sessions)} sessions, {events} hook events, drained {drained}, "
          f"embedding {(embedded or {}).get('embedded', 'n/a')} of "
          f"{((embedded or {}).get('progress') or {}).get('rows', 'n/a')} memories; data in {work}")
    return 0


def _rank(keys, memory, question, own=False) -> int | None:
    if own:  # the list with every other project's memories taken out
        keys = [key for key in keys if (memory.get(key) or ("",))[0] == question["project"]]
    for place, key in enumerate(keys, 1):
        item = memory.get(key)
        if item and item[0] == question["project"] and recall.holds_answer(item[1], question["answers"]):
            return place
    return None


def ranks(work: str, prompts: bool, every: bool, name: str = "tune") -> int:
    os.environ["CLAUDE_MEM_DATA_DIR"] = os.path.join(work, "data")
    os.environ["CLAUDE_MEM_QUERY_CACHE"] = "0"
    import numpy as np

    from claude_mem import config
    from claude_mem.semantic import hybrid
    from claude_mem.semantic.base import embedder, model_setting
    from claude_mem.semantic.index import KIND_NAMES
    from claude_mem.store import Store

    if name in recall.HIDDEN_SETS:
        raise SystemExit(f"recall_lab: the {name} set is held out; it is never asked here")
    tune = recall.load_sets([name])[name]
    questions = ([dict(p, q=p["prompt"]) for p in tune["prompts"]] if prompts
                 else tune["questions"])
    with open(os.path.join(work, "memory.json"), encoding="utf-8") as source:
        memory = {(kind, item): (project, text) for kind, item, project, text in json.load(source)}
    settings = config.load()
    store = Store(config.db_path(), migrate=False)
    model = embedder(model_setting(settings))
    index = hybrid.index_for(store, model)
    if index.full is None:
        raise SystemExit("recall_lab: the lab reads every passage's cosine (an index of at most "
                         f"{len(index)} vectors held in full); this one is projected")
    passage_keys = [(KIND_NAMES[int(k)], int(i))
                    for k, i in zip(index.kinds[:index.count], index.item_ids[:index.count])]
    # The ceiling: the answer stored anywhere in the question's project (round 12).
    in_memory = sum(1 for q in questions if any(
        project == q["project"] and recall.holds_answer(text, q["answers"]) for project, text in memory.values()))
    found = {"words": [], "meaning": [], "both": []}
    either, own_top, top = 0, 0, recall.TOP_K
    for question in questions:
        text = question["q"]
        places, own = {}, None
        for mode in found:
            # Asked as the MCP server asks (limit 5: the fusion reads each list 50 deep); a
            # miss is asked again 100 deep to see where its answer is (a deeper fusion pool).
            for limit in (top, DEPTH):
                keys = [(hit["kind"], hit["id"]) for hit in hybrid.search(
                    store, text, mode=mode, project=None, limit=limit, settings=settings)]
                places[mode] = _rank(keys, memory, question)
                if mode == "both":
                    own = _rank(keys, memory, question, own=True)
                if places[mode] is not None:
                    break
        for mode, place in places.items():
            found[mode].append(place)
        either += any(p is not None and p <= top for p in (places["words"], places["meaning"]))
        own_top += own is not None and own <= top
        if every or not (places["both"] and places["both"] <= top):
            cosines = index.full[:index.count] @ hybrid.query_vector(model, text)
            best = _rank([passage_keys[row] for row in np.argsort(-cosines)], memory, question)
            shown = "  ".join(f"{mode} {places[mode] or '-'}" for mode in found)
            print(f"[{question['project']}] {text!r}: {shown}  own {own or '-'}  "
                  f"best passage {best or '-'}")
    print(f"{len(questions)} {name} {'prompts' if prompts else 'questions'} ({in_memory} in memory), "
          f"recall@{top} / MRR: " + ", ".join(
        f"{mode} {sum(1 for p in places if p and p <= top)} / "
        f"{sum(1 / p for p in places if p and p <= top) / max(1, len(places)):.3f}"
        for mode, places in found.items()) + f"; in either list's top {top}: {either}"
        f"; both, among its own project's memories in the top {top}: {own_top}")
    return 0


def _fields(value, path=""):
    """(dotted field path, string) for every string inside a payload."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _fields(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _fields(item, f"{path}[]")


def _where(events, term: str) -> list[str]:
    """Where the session's payloads hold ``term``: "Event Tool field" labels, commonest first."""
    low, found = term.lower(), {}
    for event in events:
        stdin = event.get("stdin") or {}
        for path, text in _fields({k: v for k, v in stdin.items()
                                   if k not in ("cwd", "transcript_path", "session_id")}):
            if low in text.lower():
                label = " ".join(p for p in (event.get("event"), stdin.get("tool_name"), path) if p)
                found[label] = found.get(label, 0) + 1
    return [f"{label} x{n}" if n > 1 else label
            for label, n in sorted(found.items(), key=lambda item: -item[1])]


# A name in a payload (the kinds ``heuristic._REPORT_NAME`` reads, plus error codes and counts).
_NAME = re.compile(
    r"`([^`\n]{3,60})`|\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+[A-Z][A-Za-z0-9]*|"
    r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+|[A-Z]{1,4}\d{3,5}|[A-Za-z]+-(?=[a-z0-9]*\d)[a-z0-9]{2,}|"
    r"[\w-]+\.(?:py|ex|exs|js|ts|tsx|rs|go|rb|java|c|h|sh|json|ya?ml|toml|md|css|html))\b|"
    r"\b(\d+(?:\.\d+)? (?:tests?|failures?|passed|failed|errors?|warnings?|lines|files|ms|seconds|"
    r"minutes|vulnerabilities|examples|doctests|properties))\b")
# Echoes of what the session already had (a file's text before an edit, an image's bytes).
_ECHOES = ("originalFile", "base64")
_CONTEXT = ("cwd", "transcript_path", "session_id", "tool_use_id", "prompt_id")


def _names_used_again(events) -> dict[str, tuple[str, str]]:
    """{name, lower case: (name, the output field it first came in)} for every name first
    seen in a tool's output and written later by the session itself."""
    first: dict[str, list] = {}
    for n, event in enumerate(events):
        stdin = event.get("stdin") or {}
        for path, text in _fields({k: v for k, v in stdin.items() if k not in _CONTEXT}):
            output = path.startswith(("tool_response", "error"))
            if any(echo in path for echo in _ECHOES):
                continue
            for match in _NAME.finditer(text):
                name = next(group for group in match.groups() if group)
                seen = first.get(name.lower())
                if seen is None:
                    label = " ".join(p for p in (event.get("event"), stdin.get("tool_name"), path) if p)
                    first[name.lower()] = [name, label, output, n, False]
                elif seen[2] and not output and n > seen[3]:
                    seen[4] = True
    return {key: (name, label) for key, (name, label, output, _, used) in first.items() if output and used}


def _session_terms(path: Path) -> list[str]:
    """The key terms written for a session before tuning: keys.json's terms and request
    terms, and its round-5 digest terms (one copy of each, case-blind)."""
    name = path.name[: -len(".jsonl")]
    keys = path.with_name(name + ".keys.json")
    data = json.loads(keys.read_text("utf-8")) if keys.exists() else []
    terms = list(data) if isinstance(data, list) else list(data.get("terms", [])) + list(data.get("request", []))
    extra = json.loads((ROOT / "bench" / "digest_terms_round5.json").read_text("utf-8"))["sessions"]
    terms += extra.get(name, [])
    seen, out = set(), []
    for term in map(str, terms):
        if term.lower() not in seen:
            seen.add(term.lower())
            out.append(term)
    return out


def terms(work: str, as_json: bool) -> int:
    os.environ["CLAUDE_MEM_DATA_DIR"] = os.path.join(work, "data")
    from memory_quality import REAL_WORLD_HELD_OUT

    from claude_mem import config
    from claude_mem.semantic.passages import passages
    from claude_mem.store import Store

    sessions = recall.load_sets(["tune"])["tune"]["sessions"]
    for path in sessions.values():
        if path.name[: -len(".jsonl")] in REAL_WORLD_HELD_OUT or any(
                "held" in part.lower() for part in path.parts[-2:-1]):
            raise SystemExit(f"recall_lab: {path.name} is held out; it is never read here")
    with open(os.path.join(work, "memory.json"), encoding="utf-8") as source:
        memory = json.load(source)
    # Passages: what the semantic index embeds of each memory (semantic/passages.py).
    counted: dict[str, list[int]] = {}
    with Store(config.db_path(), migrate=False) as store:
        for kind in ("observation", "summary", "prompt"):
            for row in store.rows_to_embed(kind, "-", limit=10 ** 7):
                project = row.get("project") or ""
                counted.setdefault(project, [0])[0] += len(passages(kind, row))
    rows, total = [], {"terms": 0, "kept": 0, "names": 0, "names_kept": 0,
                       "memories": 0, "chars": 0, "passages": 0}
    by_field: dict[str, list] = {}
    for project, path in sessions.items():
        texts = [text for _, _, owner, text in memory if owner == project]
        low = "\n".join(texts).lower()
        wanted = _session_terms(path)
        events = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
        missing = [{"term": t, "where": _where(events, t)} for t in wanted if t.lower() not in low]
        names = _names_used_again(events)
        for key, (name, label) in names.items():
            field = by_field.setdefault(label, [0, 0, []])
            field[0] += 1
            if key in low:
                field[1] += 1
            else:
                field[2].append(f"{name} ({project})")
        row = {"project": project, "session": path.name, "terms": len(wanted),
               "kept": len(wanted) - len(missing), "names": len(names),
               "names_kept": sum(1 for key in names if key in low), "memories": len(texts),
               "chars": sum(map(len, texts)), "passages": (counted.get(project) or [0])[0],
               "missing": missing}
        rows.append(row)
        for key in total:
            total[key] += row[key]
    fields = [{"field": label, "names": n, "kept": kept, "missing": missed}
              for label, (n, kept, missed) in sorted(by_field.items(), key=lambda item: -item[1][0])]
    if as_json:
        print(json.dumps({"sessions": rows, "fields": fields, "total": total}, indent=1))
        return 0
    for row in rows:
        print(f"{row['project']:<20} key terms in memory {row['kept']:>3} of {row['terms']:<3} "
              f"names used again {row['names_kept']:>3} of {row['names']:<3} "
              f"memories {row['memories']:>4}  chars {row['chars']:>7,}  passages {row['passages']:>5}")
        for miss in row["missing"]:
            print(f"    missing {miss['term']!r}: {'; '.join(miss['where'][:3]) or 'in no payload'}")
    print("names used again, by the output field they first came in:")
    for field in fields:
        print(f"  {field['kept']:>4} of {field['names']:<4} {field['field']}"
              + (f"; missing: {', '.join(field['missing'][:20])}" if field["missing"] else ""))
    print(f"{len(rows)} tune sessions: key terms in memory {total['kept']} of {total['terms']} "
          f"({total['kept'] / max(1, total['terms']):.3f}); names used again in memory "
          f"{total['names_kept']} of {total['names']} ({total['names_kept'] / max(1, total['names']):.3f}); "
          f"memories {total['memories']:,}, characters {total['chars']:,}, passages {total['passages']:,}")
    return 0


_HEADS = re.compile(r"^- (?:obs|summary) #\d+", re.M)


def _probe_paths(run, path: str, project_dir: str, prompt: str) -> str:
    """The additionalContext the real hook prints for ``prompt`` along ``path``."""
    import signal
    import uuid

    from claude_mem import control

    env = dict(run.env)
    if path == "own":  # a capture setting of the hook's own: it takes no inbox
        env["CLAUDE_MEM_MAX_TOOL_OUTPUT_CHARS"] = "6000"
    session_id = str(uuid.uuid4())
    payload = {"session_id": session_id, "transcript_path": "", "cwd": project_dir,
               "hook_event_name": "UserPromptSubmit", "prompt": prompt}
    from claude_mem.demo import run_hook

    pid = control.read_pid() if path == "fallback" else None
    if pid:
        os.kill(pid, signal.SIGSTOP)
    try:
        stdout, _ = run_hook("UserPromptSubmit", payload, env)
    finally:
        if pid:
            os.kill(pid, signal.SIGCONT)
    context = ""
    if stdout.strip():
        context = json.loads(stdout)["hookSpecificOutput"].get("additionalContext") or ""
    run.forget_session(session_id)
    return context


def probe(work: str, runs: int, paths: list[str], unrelated: bool, load: int) -> int:
    import subprocess

    os.environ["CLAUDE_MEM_DATA_DIR"] = os.path.join(work, "data")
    from claude_mem import control

    run = recall.Run(work, kept=True)
    tune = recall.load_sets(["tune"])["tune"]
    for project, path in tune["sessions"].items():
        run.project_dir[project] = (run.events(path)[1] or [run.root])[0]
    cases = [(p["project"], p["prompt"], p["answers"]) for p in tune["prompts"]]
    if unrelated:
        projects = list(run.project_dir)
        cases += [(projects[i % len(projects)], text, None)
                  for i, text in enumerate(recall.unrelated_prompts(None))]
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
    blocks: dict = {}
    try:
        control.ensure_worker()
        for number in range(runs):
            for path in paths:
                before = control.request({"cmd": "status"}) or {}
                got = [_probe_paths(run, path, run.project_dir[project], prompt)
                       for project, prompt, _ in cases]
                after = control.request({"cmd": "status"}) or {}
                for case, block in enumerate(got):
                    blocks.setdefault(case, []).append((path, number, block))
                tune_got = [(block, answers) for block, (_, _, answers) in zip(got, cases) if answers]
                other = [block for block, (_, _, answers) in zip(got, cases) if answers is None]
                counted = {key: (after.get(key, 0) - before.get(key, 0))
                           for key in ("prompt_recalls_answered", "prompt_recalls_late")}
                print(f"run {number + 1} {path:<8} tune answered "
                      f"{sum(recall.holds_answer(b, a) for b, a in tune_got)} of {len(tune_got)}"
                      f" (injected {sum(1 for b, _ in tune_got if b)}, tokens max "
                      f"{max((len(b) for b, _ in tune_got), default=0) / recall.CHARS_PER_TOKEN:.0f})"
                      + (f", unrelated injected {sum(1 for b in other if b)} of {len(other)}" if other else "")
                      + f"; worker answered {counted['prompt_recalls_answered']}, late "
                      f"{counted['prompt_recalls_late']}", flush=True)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
        control.stop_worker()
    same = 0
    for case, seen in sorted(blocks.items()):
        if len({block for _, _, block in seen}) == 1:
            same += 1
            continue
        project, prompt, answers = cases[case]
        print(f"  changed [{project}] {prompt[:70]!r}: " + "; ".join(
            f"{path} {number + 1}: {len(block)} chars"
            + (f", answer {'in' if recall.holds_answer(block, answers) else 'not in'}" if answers else "")
            + ", " + (" ".join(_HEADS.findall(block)) or "nothing")
            for path, number, block in seen))
    print(f"{same} of {len(cases)} prompts got the same block in all {runs} runs x "
          f"{len(paths)} paths ({', '.join(paths)}; {load} CPU loops beside)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("replay").add_argument("dir")
    asked = sub.add_parser("ranks")
    asked.add_argument("dir")
    asked.add_argument("--prompts", action="store_true", help="ask the tune prompts instead")
    asked.add_argument("--all", action="store_true", help="list every question, not only misses")
    asked.add_argument("--set", default="tune", help="the question set (tune, capture); never heldout")
    viewed = sub.add_parser("terms")
    viewed.add_argument("dir")
    viewed.add_argument("--json", action="store_true", help="the figures and missing terms as JSON")
    probed = sub.add_parser("probe")
    probed.add_argument("dir")
    probed.add_argument("--runs", type=int, default=3)
    probed.add_argument("--paths", default="worker,fallback,own",
                        help="worker, fallback (the worker stopped while the hook runs), own")
    probed.add_argument("--unrelated", action="store_true", help="also the 40 unrelated prompts")
    probed.add_argument("--load", type=int, default=0, help="CPU loops run beside it")
    args = parser.parse_args(argv)
    if args.command == "probe":
        return probe(args.dir, args.runs, args.paths.split(","), args.unrelated, args.load)
    if args.command == "replay":
        return replay(args.dir)
    if args.command == "terms":
        return terms(args.dir, args.json)
    return ranks(args.dir, args.prompts, args.all, args.set)


if __name__ == "__main__":
    sys.exit(main())
