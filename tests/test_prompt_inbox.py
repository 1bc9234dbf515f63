"""UserPromptSubmit with a worker running: the hook only reads (prompt recall) and leaves the
prompt, as it came, in the worker's inbox with what recall showed; the worker cleans and
queues it. The same rows as the hook that writes SQLite itself, the same recall, nothing
repeated, private words never searched, and the hook's own path whenever the inbox cannot
be used.

With a worker running, the worker runs the hook's recall (prompt_recall.py): the same
output as the hook's own, and the hook's own whenever its settings may differ from the
worker's or the worker does not answer in time.

Real processes: the hook as ``install`` writes it, the worker's own ``inbox.take_in`` (this
process stands in for the worker's FIFO, as in test_inbox.py) or the real worker.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time

import pytest

from claude_mem import config, control, hook_inbox, hooks, inbox, prompt_recall
from claude_mem.models import Observation
from helpers import (close_inbox, no_worker_yet, open_inbox, open_store, queued, run_hook,
                     wait_for, wait_until_drained)

SECRET = "AKIAIOSFODNN7EXAMPLE"
CWD = "/home/dev/zebra-lab"


def prompt_payload(text: str, session: str = "s-inbox", cwd: str = CWD) -> dict:
    return {"session_id": session, "transcript_path": "/nonexistent.jsonl", "cwd": cwd,
            "permission_mode": "default", "hook_event_name": "UserPromptSubmit", "prompt": text}


def remembered() -> None:
    """Earlier work in the project: what recall can find."""
    with open_store() as store, store.write():
        session = store.open_session("earlier", "zebra-lab", CWD, time.time() - 3600)
        number = store.add_prompt(session["id"], "p1", "Tune the zebrafish tracker", time.time() - 3600)
        for i, (title, fact) in enumerate([
                ("Zebrafish tracker drops frames above 90 fps", "The frame queue holds 64 frames; above 90 fps it overflows"),
                ("Raised the zebrafish tracker's queue to 256 frames", "tracker.py: QUEUE_FRAMES = 256")]):
            store.add_observation(session["id"], "zebra-lab", number,
                                  Observation(type="discovery", title=title, facts=(fact,)),
                                  f"h{i}", "heuristic", time.time() - 3500 + i)


def recalled(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0 and not done.stderr, done.stderr
    if not done.stdout:
        return ""
    return json.loads(done.stdout)["hookSpecificOutput"]["additionalContext"]


PROMPTS = [
    "Why does the zebrafish tracker drop frames?",
    f"Use the key {SECRET} and password=hunter2hunter2 to log in",
    "<private>my diary</private> Rename the tracker module",
    "naïve ☃ prompt with unicode",
]


def test_the_prompt_through_the_inbox_stores_the_row_and_shows_what_the_hook_itself_would(tmp_path, monkeypatch):
    """The same prompts into a data dir whose worker is away (the hook writes SQLite itself)
    and one whose worker reads its FIFO (the inbox): the same recall printed, the same rows
    queued (cleaned: no secret, no private text), each timed when its hook started, and
    what recall showed recorded for the session in both."""
    results = {}
    for way in ("itself", "inbox"):
        monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(tmp_path / way))
        with no_worker_yet():
            remembered()
            fifo = open_inbox() if way == "inbox" else None
            outputs, started = [], []
            for text in PROMPTS:
                started.append(time.time())
                outputs.append(recalled(run_hook("UserPromptSubmit", prompt_payload(text))))
            if way == "inbox":
                names = inbox.waiting()
                assert len(names) == len(PROMPTS) and all(n.endswith(".UserPromptSubmit") for n in names)
                with open_store() as store:
                    assert inbox.take_in(store) == len(PROMPTS)
                assert inbox.waiting() == []
                close_inbox(fifo)
            with open_store() as store:
                shown = store.shown_memory("s-inbox")
                times = [r["received_at"] for r in store.pending_batch(100)]
            results[way] = (outputs, queued(), shown, times, started)
    itself, through = results["itself"], results["inbox"]
    assert through[0] == itself[0] and through[0][0], "the same recall, and the first prompt gets some"
    assert through[1] == itself[1] and len(through[1]) == len(PROMPTS)
    stored = "\n".join(payload for _, payload, _ in through[1])
    assert SECRET not in stored and "hunter2hunter2" not in stored and "my diary" not in stored
    assert all(cleaned for _, _, cleaned in through[1])
    assert through[2] == itself[2] and through[2]
    for at, began in zip(through[3], through[4]):  # the hook's start, not the file's time
        assert began <= at < began + 5


def test_a_secret_prompt_file_is_scrubbed_and_recall_never_repeats_a_waiting_prompts_items(tmp_path):
    """While a prompt's file still waits in the inbox, the session's next prompt does not show
    what it showed; the file of a prompt that held a secret is overwritten before removal."""
    with no_worker_yet():
        remembered()
        fifo = open_inbox()
        first = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0])))
        assert "obs #" in first
        again = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0])))
        ids = lambda text: {line.split(" ", 3)[2] for line in text.splitlines() if line.startswith("- ")}
        assert ids(first) and not ids(first) & ids(again)
        run_hook("UserPromptSubmit", prompt_payload(PROMPTS[1]))
        kept = {n: os.path.join(config.inbox_dir(), n) for n in inbox.waiting()}
        handles = {n: open(p, "rb") for n, p in kept.items()}  # see the bytes after unlink
        try:
            with open_store() as store:
                assert inbox.take_in(store) == 3
            contents = {n: h.read() for n, h in handles.items()}
        finally:
            for h in handles.values():
                h.close()
        close_inbox(fifo)
    scrubbed = [c for c in contents.values() if SECRET.encode() not in c]
    assert len(scrubbed) == 3 and sum(1 for c in contents.values() if set(c) == {0}) == 1


def test_private_words_of_a_prompt_do_not_choose_what_is_recalled(tmp_path):
    """Recall reads the raw prompt only when it holds no ``<private>`` tag (any case)."""
    for raw in ("<PRIVATE>zebrafish</private> frames", "zebrafish <private >tracker</Private>"):
        read = json.loads(prompt_recall.readable(json.dumps(prompt_payload(raw)), config.load()))
        assert "zebrafish" not in read["prompt"] or "tracker" not in read["prompt"], read
        assert "[private]" in read["prompt"]
    plain = json.dumps(prompt_payload("zebrafish tracker"))
    assert prompt_recall.readable(plain, config.load()) is plain
    with no_worker_yet():
        remembered()
        fifo = open_inbox()
        asked = "Why does the zebrafish tracker drop frames?"
        assert "zebrafish" in recalled(run_hook("UserPromptSubmit", prompt_payload(
            asked, session="s-open"))).lower()
        assert recalled(run_hook("UserPromptSubmit", prompt_payload(
            f"<PRIVATE>{asked}</private>", session="s-private"))) == ""
        close_inbox(fifo)


def test_the_hook_stores_the_prompt_itself_when_the_inbox_cannot_be_used(tmp_path):
    """A capture setting given in the environment (the worker reads settings.json only), or
    no worker reading the FIFO: no file, the prompt queued by the hook."""
    with no_worker_yet():
        remembered()
        fifo = open_inbox()
        for name in hook_inbox.CAPTURE_ENV:
            done = run_hook("UserPromptSubmit", prompt_payload(f"set {name}", session="s-env"),
                            env={name: "1000" if "MAX" in name else ""})
            assert done.returncode == 0
        assert inbox.waiting() == []
        close_inbox(fifo)
        assert run_hook("UserPromptSubmit", prompt_payload("no worker", session="s-none")).returncode == 0
        assert inbox.waiting() == []
        texts = [json.loads(p)["prompt"] for _, p, _ in queued()]
    assert texts == [f"set {name}" for name in hook_inbox.CAPTURE_ENV] + ["no worker"]


def test_with_the_real_worker_the_prompt_is_stored_and_its_recall_recorded(tmp_path):
    remembered()
    assert recalled(run_hook("UserPromptSubmit", prompt_payload("no memory yet?", session="s-start")))  == ""
    wait_until_drained()  # the first hook found no worker and started one
    first = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0], session="s-real")))
    assert "obs #" in first
    wait_until_drained()
    assert inbox.waiting() == [] and not os.path.exists(os.path.join(config.inbox_dir(), "bad"))
    assert control.request({"cmd": "status"})["taken_from_inbox"] == 1  # this prompt's file
    with open_store() as store:
        session = store.session_by_claude_id("s-real")
        assert [p["prompt"] for p in store.prompts(session["id"])] == [PROMPTS[0]]
        assert store.shown_memory("s-real")


def test_a_worker_from_before_prompts_went_through_the_inbox_gets_none(tmp_path):
    """Without the mark a worker that takes prompts in leaves (an older worker, after an
    upgrade, would move the file aside), the hook queues the prompt itself."""
    with no_worker_yet():
        fifo = open_inbox()
        os.unlink(os.path.join(config.inbox_dir(), hook_inbox.PROMPTS_MARK))
        assert run_hook("UserPromptSubmit", prompt_payload("older worker")).returncode == 0
        assert inbox.waiting() == []
        close_inbox(fifo)
        assert [json.loads(p)["prompt"] for _, p, _ in queued()] == ["older worker"]
    control.ensure_worker()
    wait_until_drained()
    assert os.path.exists(os.path.join(config.inbox_dir(), hook_inbox.PROMPTS_MARK))
    assert control.stop_worker()
    assert not os.path.exists(os.path.join(config.inbox_dir(), hook_inbox.PROMPTS_MARK))


# -- recall answered by the worker ----------------------------------------------------


def answered() -> int:
    return control.request({"cmd": "status"})["prompt_recalls_answered"]


def recall_reader_for(session: str, prompt: str) -> tuple:
    """``prompt_recall.recall_for``'s arguments for recalling ``prompt`` in this process."""
    from claude_mem.store.shown import open_recall_reader

    return (open_recall_reader(), json.dumps(prompt_payload(prompt, session=session)),
            config.load(), CWD, [])


def shown_ids(text: str) -> set:
    return {line.split(" ", 3)[2] for line in text.splitlines() if line.startswith("- ")}


def test_the_worker_answers_the_hooks_recall_exactly_as_the_hook_would(tmp_path):
    remembered()
    run_hook("UserPromptSubmit", prompt_payload("start a worker", session="s-start"))
    wait_until_drained()
    before = answered()
    by_worker = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0], session="s-a")))
    assert "obs #" in by_worker and answered() == before + 1
    # The hook's own recall (its worker away) prints the same.
    itself = prompt_recall.recall_for(*recall_reader_for("s-b", PROMPTS[0]))[0]
    assert json.loads(itself)["hookSpecificOutput"]["additionalContext"] == by_worker
    # The hook's own budget, given in its environment, is the one the worker uses.
    small = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0], session="s-c"),
                              env={"CLAUDE_MEM_PROMPT_RECALL_TOKENS": "50"}))
    assert answered() == before + 2 and small and len(small) < len(by_worker)
    # The same session asks again: the worker reads what its first answer showed (from the
    # inbox file or the database) and does not repeat it.
    again = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0], session="s-a")))
    assert answered() == before + 3 and not shown_ids(again) & shown_ids(by_worker)
    # A prompt of another language, and one that finds nothing, come back whole.
    assert recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[3], session="s-a"))) == ""
    wait_until_drained()
    with open_store() as store:
        assert store.shown_memory("s-a") >= {("observation", int(i.strip("#")))
                                             for i in shown_ids(by_worker)}
        session = store.session_by_claude_id("s-a")
        assert [p["prompt"] for p in store.prompts(session["id"])] == [PROMPTS[0], PROMPTS[0], PROMPTS[3]]


def test_private_text_is_cleaned_by_the_worker_before_it_chooses(tmp_path):
    remembered()
    run_hook("UserPromptSubmit", prompt_payload("start a worker", session="s-start"))
    wait_until_drained()
    before = answered()
    asked = "Why does the zebrafish tracker drop frames?"
    assert recalled(run_hook("UserPromptSubmit", prompt_payload(
        f"<PRIVATE>{asked}</private>", session="s-private"))) == ""
    assert answered() == before + 1


class SilentWorker:
    """A control socket that takes the question and never answers (a worker stuck)."""

    def __init__(self):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(config.socket_path())
        self.server.listen(8)
        self.held: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.server.close()
        for conn in self.held:
            conn.close()
        os.unlink(config.socket_path())


def test_a_worker_that_does_not_answer_in_time_costs_the_budget_and_the_hook_recalls_itself(tmp_path):
    with no_worker_yet():
        remembered()
        fifo = open_inbox()
        itself = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0], session="s-1")))
        silent = SilentWorker()
        try:
            started = time.monotonic()
            waited = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0], session="s-2")))
            took = time.monotonic() - started
        finally:
            silent.close()
            close_inbox(fifo)
    assert waited == itself and "obs #" in itself
    assert took >= prompt_recall.ASK_BUDGET_SECONDS  # it did ask, and gave up


def test_a_bad_question_gets_an_error_not_a_crash(tmp_path):
    remembered()
    answer = prompt_recall.PromptRecall()
    try:
        assert "error" in json.loads(answer.answer({"cmd": "recall", "raw": 3}))
        reply = json.loads(answer.answer({"cmd": "recall", "project_dir": "/x", "raw": "not json"}))
        assert reply == {"output": "", "session": "", "shown": ""}
        reply = json.loads(answer.answer({"cmd": "recall", "project_dir": "/home/dev/zebra-lab",
                                          "raw": json.dumps(prompt_payload(PROMPTS[0]))}))
        assert "obs #" in json.loads(reply["output"])["hookSpecificOutput"]["additionalContext"]
        assert reply["session"] == "s-inbox" and reply["shown"].startswith("observation:")
    finally:
        answer.close()


def test_recall_computes_only_while_the_worker_holds_no_write_lock(tmp_path, monkeypatch):
    """The worker's write units and recall's answers share ``write_gate``: an answer asked
    while the drain holds the write lock waits until it committed (its Python would take
    the GIL from the holder, hooks waiting behind it), then answers in full; but never
    longer than ``GATE_WAIT_SECONDS`` (the hook's budget is short): then it goes ahead."""
    from claude_mem import config
    from claude_mem.store import Store

    monkeypatch.setattr(prompt_recall, "GATE_WAIT_SECONDS", 30.0)
    remembered()
    gate = threading.Lock()
    answer = prompt_recall.PromptRecall()
    answer.write_gate = gate
    store = Store(config.db_path())
    store.write_gate = gate
    replies, committed_at = [], []
    try:
        with store.write():
            assert gate.locked()  # held from BEGIN IMMEDIATE on
            asking = threading.Thread(target=lambda: replies.append(
                (answer.answer({"cmd": "recall", "project_dir": "/home/dev/zebra-lab",
                                "raw": json.dumps(prompt_payload(PROMPTS[0]))}),
                 time.monotonic())))
            asking.start()
            time.sleep(0.2)
            assert replies == []  # waiting for the gate, not answering beside the writer
            store.db.execute("CREATE TABLE gate_probe(x)")
            committed_at.append(time.monotonic())
        asking.join(10)
        assert not gate.locked()
        reply, answered_at = replies[0]
        assert answered_at >= committed_at[0]
        assert "obs #" in json.loads(json.loads(reply)["output"])["hookSpecificOutput"]["additionalContext"]
        # A unit that fails gives the gate back too (rolled back).
        with pytest.raises(RuntimeError):
            with store.write():
                raise RuntimeError("boom")
        assert not gate.locked()
        assert store.db.execute("SELECT count(*) FROM gate_probe").fetchone()[0] == 0
        # A unit that outlasts the wait: the answer goes ahead beside it, in full.
        monkeypatch.setattr(prompt_recall, "GATE_WAIT_SECONDS", 0.05)
        with store.write():
            reply = answer.answer({"cmd": "recall", "project_dir": "/home/dev/zebra-lab",
                                   "raw": json.dumps(prompt_payload(PROMPTS[0]))})
            assert gate.locked()
        assert "obs #" in json.loads(json.loads(reply)["output"])["hookSpecificOutput"]["additionalContext"]
    finally:
        answer.close()
        store.close()


def test_an_answer_the_hook_gave_up_on_counts_as_late_even_when_the_worker_began_it_late(tmp_path):
    """The hook sends when it began to wait (``asked_at``, the machine's monotonic clock):
    a worker that could not even start the answer in time (stopped here; on a loaded
    machine, its thread waiting) counts it late, where it used to count from its own
    start and report none."""
    import signal

    remembered()
    run_hook("UserPromptSubmit", prompt_payload("start a worker", session="s-start"))
    wait_until_drained()
    itself = recalled(run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0], session="s-own"),
                               env={"CLAUDE_MEM_MAX_TOOL_OUTPUT_CHARS": "6000"}))  # no inbox
    status = control.request({"cmd": "status"})
    pid, late = status["pid"], status["prompt_recalls_late"]
    os.kill(pid, signal.SIGSTOP)
    try:
        done = run_hook("UserPromptSubmit", prompt_payload(PROMPTS[0], session="s-late"))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert recalled(done) == itself and "obs #" in itself  # the hook recalled it itself
    wait_for(lambda: control.request({"cmd": "status"})["prompt_recalls_late"] == late + 1,
             what="the answer the hook gave up on counted late")
