"""Search-tuning lab: where each TUNE question's answer ranks, by words, by meaning, fused.

Usage:
  python bench/recall_lab.py replay DIR          # the tune sessions into DIR (kept), vectors made
  python bench/recall_lab.py ranks DIR [--prompts] [--all] [--set capture]

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

Held-out questions are never loaded here: tuning on them would make the held-out figure of
``bench/recall.py`` meaningless (docs/recall.md). Exits 0 (a measurement).
"""
from __future__ import annotations

import argparse
import json
import os
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("replay").add_argument("dir")
    asked = sub.add_parser("ranks")
    asked.add_argument("dir")
    asked.add_argument("--prompts", action="store_true", help="ask the tune prompts instead")
    asked.add_argument("--all", action="store_true", help="list every question, not only misses")
    asked.add_argument("--set", default="tune", help="the question set (tune, capture); never heldout")
    args = parser.parse_args(argv)
    if args.command == "replay":
        return replay(args.dir)
    return ranks(args.dir, args.prompts, args.all, args.set)


if __name__ == "__main__":
    sys.exit(main())
