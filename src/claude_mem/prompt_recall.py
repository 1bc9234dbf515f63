"""Recall for one prompt, wherever it runs: the text it reads (``readable``), recall on a
given store (``recall_for``: the hook's own connection, or the worker's), and the worker
answering a hook's question (``ask`` / ``PromptRecall``).

Why the worker: the UserPromptSubmit hook runs before every prompt and Claude Code waits for
it. On its own, a hook that recalls pays for loading SQLite, parsing the database's schema,
importing the recall modules and preparing its searches on a cold connection before it
reads a single row: most of what recall costs a prompt, and paid again by every prompt. The
worker has all of that warm. So a hook whose worker takes prompts in (``hook_inbox``) asks
the worker to run the very same ``recall_for`` on a reader connection of the worker's and
prints the answer; it needs only a Unix socket for it. Words only, as before: the worker
never asks its embedding model here (no hook waits on the model).

Contract:
- ``readable(raw, settings)``: the prompt payload recall reads: as it came, cleaned first only
  when it holds ``<private>`` text. ``recall_for(store, payload, settings, project_dir,
  shown)``: ``(output, session)``, ``shown`` filled with what the output holds; never raises.
- Hook side: ``ask(raw, settings, project_dir)`` is ``(output, session, shown items)`` as
  the worker's recall gives them, or None -- and then the hook recalls on its own connection
  exactly as before. None when:
  - the request would not fit the control socket's command line (``MAX_REQUEST_BYTES``);
  - no answer came within ``ASK_BUDGET_SECONDS`` (a worker busy elsewhere: the hook does
    not wait longer than its own recall would take), or any error.
  Standard library only, no ``socket``/``json`` import: ``_socket`` and ``jsonflat``.
- The worker recalls with the hook's settings: settings.json read for each question, and
  the hook's ``RECALL_SETTINGS`` sent with it (given in a hook's environment they are its
  own; the other settings that change what recall reads are capture settings, with which a
  hook does not use the inbox at all: ``hook_inbox.CAPTURE_ENV``).
- Worker side: ``PromptRecall().answer(message)`` for the control command
  ``{"cmd": "recall", "raw": <the hook's stdin as it came>, "project_dir": ...,
  "prompt_recall_tokens": ..., "asked_at": <the hook's time.monotonic() as it began to
  wait>}``; replies with one flat JSON object of strings,
  ``{"output", "session", "shown"}`` (``shown``: the ``kind:id`` words the inbox file
  carries, ``hook_inbox.shown_words``), or ``{"error"}``.
  It never writes: what recall showed is recorded by the worker when it takes the prompt's
  inbox file in, as for a hook that recalled on its own. One reader connection, one question
  at a time; let go after ``RELEASE_SECONDS`` without a question (``release_if_unused``, the
  worker's idle tick) and at ``close()``.
"""
import time

from claude_mem import log

# How long a hook waits for the worker's answer (connect, send, the answer) before it
# recalls on its own. The worker answers in a few ms when it is not busy; a worker busy
# writing (a backlog, a forget) may take longer, and then the hook's own recall is faster.
ASK_BUDGET_SECONDS = 0.05
# How long the worker's answer waits for the drain's write unit to commit before it runs
# beside it (``PromptRecall.write_gate``): a step is ~10-30 ms, the hook's budget 50.
GATE_WAIT_SECONDS = 0.02
# The control server reads a command line of at most 64 KiB.
MAX_REQUEST_BYTES = 60_000
RELEASE_SECONDS = 600.0
# The worker's reader waits this long for a database being recovered (a hook's 0.75 s).
READER_BUSY_TIMEOUT_MS = 750
# The settings recall itself reads (whole numbers), sent with each question.
RECALL_SETTINGS = ("prompt_recall_tokens",)


def readable(raw: str, settings) -> str:
    """The text recall reads a prompt from: as it came, unless it holds ``<private>`` text
    (then cleaned first: private words do not choose what memory is shown either). Secrets
    need no cleaning here: recall only looks words up and prints stored memory."""
    if "<private" not in raw.lower():
        return raw
    from claude_mem.privacy import clean_payload

    return clean_payload(raw, settings) or ""


def recall_for(store, payload: str, settings, project_dir: str, shown: list) -> tuple[str, str]:
    """``(what recall prints, the session id)`` for a prompt's payload, read on ``store``;
    ``shown`` gets what it printed. Any failure (logged): ``("", session)``, ``shown``
    emptied: recall is a bonus, the prompt must still be queued."""
    session = ""
    try:
        from claude_mem import jsonflat, project, recall

        parsed = jsonflat.flat_object(payload)  # Claude Code's payload: no JSON module
        if parsed is None:
            from claude_mem import jsonlite

            parsed = jsonlite.loads(payload)
        if not isinstance(parsed, dict):
            return "", session
        session = str(parsed.get("session_id") or "")
        cwd = project.clean_cwd(parsed.get("cwd")) or project_dir
        return recall.prompt_context(store, parsed, settings, project.project_name(cwd),
                                     shown=shown), session
    except Exception as exc:
        log.error(f"UserPromptSubmit: recall failed: {exc!r}")
        shown.clear()
        return "", session


def ask(raw: str, settings, project_dir: str):
    """``(output, session, shown)`` from the worker, or None (see the module contract)."""
    from claude_mem import control, hook_inbox, jsonflat

    try:
        own = "".join(f',"{name}":{int(getattr(settings, name))}' for name in RECALL_SETTINGS)
        request = ('{"cmd":"recall","project_dir":' + jsonflat.string(project_dir) + own
                   + ',"raw":' + jsonflat.string(raw) + "}\n").encode("utf-8")
    except (UnicodeError, TypeError, ValueError):
        return None
    if len(request) > MAX_REQUEST_BYTES:
        return None
    asked_at = time.monotonic()
    # The worker counts an answer after the budget as late from this moment (counts()).
    request = request[:-2] + b',"asked_at":' + repr(asked_at).encode() + b"}\n"
    reply = control.exchange(request, ASK_BUDGET_SECONDS)
    if reply is None:  # no socket, refused, timed out: the hook recalls itself
        return None
    try:
        answer = jsonflat.flat_object(reply.decode("utf-8").strip())
    except UnicodeError:
        return None
    if not answer or "output" not in answer:
        return None
    return (answer["output"], answer.get("session", ""),
            hook_inbox.shown_items(answer.get("shown", "")))


class HeldReader:
    """A reader connection the worker keeps for hooks' questions (``PromptRecall`` here,
    ``start_answer.StartAnswer``): opened at the first question, one question at a time
    (``lock``), let go after ``RELEASE_SECONDS`` without one (``release_if_unused``, the
    worker's idle tick) and at ``close()``."""

    def __init__(self):
        import threading

        self.store = None
        self.lock = threading.Lock()
        self.asked_at = 0.0

    def release_if_unused(self) -> bool:
        """Close the reader when no question came for ``RELEASE_SECONDS``; True if it did."""
        if self.store is None or time.monotonic() - self.asked_at < RELEASE_SECONDS:
            return False
        if not self.lock.acquire(blocking=False):
            return False
        try:
            if self.store is None or time.monotonic() - self.asked_at < RELEASE_SECONDS:
                return False
            self.close()
            return True
        finally:
            self.lock.release()

    def close(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - leaving anyway
                pass


class PromptRecall(HeldReader):
    """The worker's end: ``answer`` a hook's question on a reader connection of its own."""

    def __init__(self, writer=None):
        import threading

        super().__init__()
        # ``writer``'s (the worker's store's) ``Database.write_gate``, made here: recall
        # computes only while the drain holds no write lock (its Python would take the
        # GIL from the holder, hooks waiting behind it).
        self.write_gate = None
        if writer is not None:
            self.write_gate = writer.write_gate = threading.Lock()
        self.answered = 0
        self.late = 0  # answered after the hook's budget (it recalled itself meanwhile)

    def answer(self, message: dict) -> str:
        began = time.monotonic()  # the hook's clock: the wait for the gate counts
        asked = message.get("asked_at")
        if isinstance(asked, float) and began - 60.0 < asked <= began:
            began = asked  # and the wait before this thread ran (see counts())
        gate = self.write_gate
        # All of the answer's Python, none of it beside the drain's hold; but the hook
        # waits ASK_BUDGET_SECONDS in all: after GATE_WAIT_SECONDS the answer goes ahead.
        if gate is None or not gate.acquire(timeout=GATE_WAIT_SECONDS):
            return self._answer(message, began)
        try:
            return self._answer(message, began)
        finally:
            gate.release()

    def _answer(self, message: dict, began: float) -> str:
        from claude_mem import config, hook_inbox, jsonflat

        raw, project_dir = message.get("raw"), message.get("project_dir")
        if not isinstance(raw, str) or not isinstance(project_dir, str):
            return '{"error":"raw and project_dir must be strings"}'
        own = {name: message.get(name) for name in RECALL_SETTINGS if name in message}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in own.values()):
            return '{"error":"the recall settings must be whole numbers"}'
        try:
            read = config.load(environ={})
            settings = config.Settings({**read.values, **own}, read.problems, read.sources)
            shown: list = []
            with self.lock:
                self.asked_at = time.monotonic()
                if self.store is None:
                    from claude_mem.store.shown import open_recall_reader

                    self.store = open_recall_reader(busy_timeout_ms=READER_BUSY_TIMEOUT_MS)
                output, session = recall_for(self.store, readable(raw, settings), settings,
                                             project_dir, shown)
                self.answered += 1
            took = time.monotonic() - began
            if took > ASK_BUDGET_SECONDS:  # the hook has given up waiting and recalled itself
                self.late += 1
                log.info(f"recall for a prompt hook took {took * 1000:.0f} ms, longer than "
                         f"the hook waits ({ASK_BUDGET_SECONDS * 1000:.0f} ms)")
        except Exception as exc:  # the hook recalls itself
            log.warning(f"recall for a prompt hook failed: {exc!r}")
            return '{"error":' + jsonflat.string(repr(exc)[:300]) + "}"
        return ('{"output":' + jsonflat.string(output) + ',"session":' + jsonflat.string(session)
                + ',"shown":' + jsonflat.string(hook_inbox.shown_words(shown)) + "}")

    def counts(self) -> dict:
        """For the worker's ``status``: questions answered, and how many came too late
        (after the hook's budget, counted from ``asked_at``: the machine's monotonic clock,
        the same in every process, so a worker that took long to start the answer (its
        thread waiting for the GIL, a stalled process) counts it too)."""
        return {"prompt_recalls_answered": self.answered, "prompt_recalls_late": self.late}

