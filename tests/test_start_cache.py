"""The SessionStart context rendered ahead by the worker (``startcache``, ``context_refresh``,
``store.context_cache``): real hook processes, the real worker and a real SQLite file.

To tell a hook that read the cached rendering from one that rendered itself (both print
the same bytes: that is the point), a test plants a marker text in a current row; a hook
that prints the marker read the row. Every change of the memory (new work, ``forget``, an
import) must drop the row in the same transaction, so the next hook never prints the
marker again and shows the change; a broken row must cost only time.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from claude_mem import config, hook_inbox, inbox, install, jsonflat, startcache, text, wakeup
from claude_mem.context import hook_json
from helpers import (close_inbox, context_from, no_worker_yet, open_inbox, open_store, queued,
                     run_hook, wait_for, wait_until_drained)
from faultkit import bash, end, prompt, stop

pytestmark = pytest.mark.usefixtures("no_strays")

CWD = "/home/dev/acme-billing"
PROJECT = "acme-billing"
MARKER = "# claude-mem: MARKER planted in the cache by the test\n"


def start(session: str, cwd: str = CWD, *, source: str = "startup", agent: str | None = None,
          env: dict | None = None) -> str:
    """One SessionStart hook (Claude Code's, or another agent's command); its context."""
    payload = {"session_id": session, "transcript_path": f"/tmp/{session}.jsonl", "cwd": cwd,
               "hook_event_name": "SessionStart", "source": source}
    command = None
    if agent is not None:
        command = " ".join([sys.executable, "-I", "-S", install.ENTRY, "--agent", agent,
                            "session-start"])
    done = run_hook("SessionStart", payload, command=command, env=env)
    assert done.returncode == 0 and done.stderr == b"", done
    return done.stdout.decode()


def rows(project: str = PROJECT) -> list[dict]:
    with open_store() as store:
        return [dict(r) for r in store.db.execute(
            "SELECT * FROM context_cache WHERE project = ? ORDER BY id", (project,))]


def rendered(project: str = PROJECT, key: str | None = None) -> dict:
    """The worker's current rendering of ``project`` (the one key, unless ``key``)."""
    def current():
        found = [r for r in rows(project) if r["output"] is not None
                 and (key is None or r["key"] == key)]
        return found[0] if found else None
    return wait_for(current, what=f"the worker to render {project}'s context ahead")


def plant(project: str = PROJECT, key: str | None = None) -> None:
    with open_store() as store, store.write():
        store.db.execute("UPDATE context_cache SET output = ? WHERE project = ? AND output IS NOT NULL"
                         " AND (? IS NULL OR key = ?)", (hook_json(MARKER), project, key, key))


def taken_in() -> None:
    """A start served by the worker (``hooks.start_through_inbox``) leaves what it showed in
    the inbox: wait until the worker has taken it in."""
    wait_for(lambda: not inbox.waiting(), what="the worker to take the inbox in")


def shown(session: str) -> set:
    taken_in()
    with open_store() as store:
        return store.shown_memory(session)


def shown_text(session: str) -> str:
    taken_in()
    with open_store() as store:
        return store.shown_context(session)


def record(session: str, word: str, cwd: str = CWD) -> None:
    for event, payload in [prompt(session, cwd, text=f"Look into {word}prompt please"),
                           bash(session, cwd, 0, command=f"echo {word}obs0"),
                           stop(session, cwd), end(session, cwd)]:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()


@pytest.fixture
def remembered(recorded):
    for event, payload in recorded:
        assert run_hook(event, payload).returncode == 0
    wait_until_drained()


def test_the_worker_renders_ahead_exactly_what_the_hook_prints(remembered):
    from claude_mem import control

    first = start("s-first")  # nothing rendered yet: rendered for it, and the row asked for
    assert "acme" in context_from(first)
    wait_for(lambda: len(rows()) == 1, what="the row the start asked for")
    row = rendered()
    assert row["output"] == first, "the worker's rendering is the hook's, byte for byte"
    assert control.stop_worker()
    with no_worker_yet():  # no worker to ask: the hook renders itself, the same text
        with open_store() as store:
            store.drop_project_contexts(PROJECT)
        assert start("s-own") == first
    control.ensure_worker()
    rendered()  # the row that start asked for, rendered ahead again
    assert shown("s-first") != set() and shown_text("s-first") == context_from(first)
    plant()
    assert context_from(start("s-second")) == MARKER, "a current row is what the hook prints"
    assert shown("s-second") == shown("s-first"), "and it records what the row shows"
    assert shown_text("s-second") == MARKER
    # Codex's SessionStart reads the same memory, so the same rendering.
    assert context_from(start("s-codex", agent="codex")) == MARKER
    # A resume or a compaction gets a part of the memory: the hook renders it, as before.
    for source in ("resume", "compact"):
        assert "MARKER" not in start(f"s-{source}", source=source)


def test_new_work_makes_the_rendering_stale_at_once(remembered):
    start("s-1")
    rendered()
    plant()
    record("s-new", "quokkawork")
    # The worker's transaction that stored the new work dropped the planted text.
    assert all(r["output"] is None or "MARKER" not in r["output"] for r in rows())
    context = context_from(start("s-2"))
    assert "quokkawork" in context and "MARKER" not in context
    assert "quokkawork" in wait_for(lambda: (rendered()["output"] or "") if "quokkawork" in
                                    (rendered()["output"] or "") else None,
                                    what="the new rendering")


def test_forget_leaves_nothing_of_the_forgotten_in_any_rendering(tmp_path):
    from click.testing import CliRunner

    from claude_mem import cli

    record("s-keep", "keepme")
    record("s-gone", "wombatsecret")
    assert "wombatsecret" in context_from(start("s-a"))
    assert "wombatsecret" in rendered()["output"]
    runner = CliRunner()
    result = runner.invoke(cli.main, ["forget", "session", "s-gone", "--yes"])
    assert result.exit_code == 0, result.output
    # Dropped by the forget's own transaction: no rendering holds it, current or not.
    assert not any("wombatsecret" in (r["output"] or "") for r in rows())
    context = context_from(start("s-b"))
    assert "wombatsecret" not in context and "keepme" in context
    assert "keepme" in rendered()["output"]
    with open_store() as store:
        store.scrub()
    blob = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*")
                    if p.is_file() and not p.name.endswith(".sock"))
    assert b"wombatsecret" not in blob
    # Forgetting the project takes its renderings (and its name) with it.
    assert runner.invoke(cli.main, ["forget", "project", PROJECT, "--yes"]).exit_code == 0
    assert rows() == [] and context_from(start("s-c")) == ""


def test_an_import_and_codex_see_the_imported_memory():
    from claude_mem.importers.codex import import_rollouts
    from pathlib import Path

    cwd = "/work/tax-engine"
    assert start("s-first", cwd, agent="codex") == ""  # no database yet: it is made now
    assert start("s-before", cwd, agent="codex") == ""  # nothing here yet: asks all the same
    assert rendered("tax-engine")["output"] == "", "an empty memory is rendered as nothing"
    rollout = Path(__file__).parent / "fixtures" / "codex" / "rollout-tax-engine.jsonl"
    import_rollouts([str(rollout)])
    wait_until_drained()
    for agent in ("codex", None):
        context = context_from(start(f"s-after-{agent}", cwd, agent=agent))
        assert "[Codex]" in context and "src/rates.py" in context
    assert "src/rates.py" in rendered("tax-engine")["output"]


def test_other_context_settings_get_their_own_rendering(remembered):
    small = {"CLAUDE_MEM_CONTEXT_TOKENS": "150"}
    default = start("s-default")
    rendered()
    budgeted = start("s-small", env=small)
    assert len(context_from(budgeted)) < len(context_from(default))
    wait_for(lambda: len(rows()) == 2, what="the row the second key's start asked for")
    keys = {r["key"] for r in rows()}
    [small_key] = [k for k in keys if k.endswith(";context_tokens=150")]
    assert rendered(key=small_key)["output"] == budgeted
    plant(key=small_key)
    assert context_from(start("s-small-2", env=small)) == MARKER
    assert start("s-default-2") == default, "the default budget's rendering is its own"
    # The settings file counts the same as the environment.
    config.set_value("context_tokens", 150)
    assert context_from(start("s-small-3")) == MARKER


JUNK = [
    {"output": "{not json"},
    {"output": json.dumps({"hookSpecificOutput": {"hookEventName": "Stop", "additionalContext": "x"}})},
    {"output": b"\x00binary"},
    {"output": 12},
    {"shown": "o1 garbage!"},
    {"shown": 7},
    {"valid_until": 1.0},
    {"valid_until": "soon"},
]


def test_a_broken_row_costs_time_never_the_output(remembered):
    truth = start("s-truth")
    good = rendered()
    for n, junk in enumerate(JUNK):
        with open_store() as store, store.write():
            store.db.execute("UPDATE context_cache SET output = ?, shown = ?, valid_until = ?",
                             (good["output"], good["shown"], good["valid_until"]))
            for column, value in junk.items():
                store.db.execute(f"UPDATE context_cache SET {column} = ?", (value,))
        assert start(f"s-junk-{n}") == truth, junk
        assert shown(f"s-junk-{n}") == shown("s-truth"), junk
        assert shown_text(f"s-junk-{n}") == shown_text("s-truth"), junk


def test_every_change_of_what_a_context_shows_drops_it():
    """Each trigger, through the store's own writers, and only for the project it touches."""
    from claude_mem.models import Observation, Summary
    from claude_mem.store import open_store as open_configured

    config.ensure_data_dir()
    with open_configured() as store:
        with store.write():
            a = store.open_session("sa", "alpha", "/w/alpha", 1.0)
            b = store.open_session("sb", "beta", "/w/beta", 1.0)
            number = store.add_prompt(a["id"], "p1", "first request", 2.0)
            obs = store.add_observation(a["id"], "alpha", number, Observation(type="change", title="t"),
                                        "h1", "heuristic", 3.0)
            store.upsert_summary(a["id"], "alpha", number, Summary(request="r"), "heuristic", 4.0)

        def current(project: str) -> bool:
            generation = store.begin_rendering(project, "k")
            assert store.store_context(project, "k", generation, "", "", None, 5.0)
            return store.cached_context(project, "k") is not None

        for project in ("alpha", "beta"):
            store.want_context(project, "k", 5.0)
        changes = [  # (a write unit of its own?, the change)
            (True, lambda: store.add_observation(a["id"], "alpha", number,
                                                 Observation(type="change", title="t2"), "h2",
                                                 "heuristic", 6.0)),
            (True, lambda: store.db.execute("UPDATE observations SET title = 'x' WHERE id = ?", (obs,))),
            (True, lambda: store.upsert_summary(a["id"], "alpha", number, Summary(request="r2"),
                                                "heuristic", 7.0)),
            (True, lambda: store.add_prompt(a["id"], "p2", "second request", 8.0)),
            (True, lambda: store.db.execute("UPDATE user_prompts SET prompt = 'y' WHERE session_id = ?",
                                            (a["id"],))),
            (True, lambda: store.db.execute("UPDATE sessions SET agent = 'codex' WHERE id = ?", (a["id"],))),
            (False, lambda: store.forget_observations([obs])),
            (False, lambda: store.forget_session(a["id"])),
        ]
        for unit, change in changes:
            assert current("alpha") and current("beta")
            [(generation,)] = store.db.execute(
                "SELECT generation FROM context_cache WHERE project = 'alpha'").fetchall()
            if unit:
                with store.write():
                    change()
            else:
                change()
            assert store.cached_context("alpha", "k") is None, change
            assert store.cached_context("beta", "k") is not None, "another project keeps its own"
            # A rendering begun before the change is refused.
            assert not store.store_context("alpha", "k", generation, "", "", None, 9.0)
        with store.write():
            store.db.execute("UPDATE sessions SET last_activity_at = 99 WHERE id = ?", (b["id"],))
        assert store.cached_context("beta", "k") is not None, "activity alone changes no context"


def test_a_dropped_rendering_is_left_alone_unless_one_is_under_way():
    """The triggers write nothing once a row's text is dropped (ingest's inserts), yet a
    rendering begun before a change is still refused, through the same writers."""
    from claude_mem.models import Observation, Summary
    from claude_mem.store import open_store as open_configured

    config.ensure_data_dir()
    with open_configured() as store:
        with store.write():
            a = store.open_session("sa", "alpha", "/w/alpha", 1.0)
            number = store.add_prompt(a["id"], "p1", "first request", 2.0)
            store.want_context("alpha", "k", 3.0)
            store.want_context("beta", "k", 3.0)

        def cache() -> dict:
            return {r[0]: tuple(r[1:]) for r in store.db.execute(
                "SELECT project, generation, output, rendering FROM context_cache")}

        writes = [
            lambda n: store.add_observation(a["id"], "alpha", number,
                                            Observation(type="change", title=f"t{n}"), f"h{n}",
                                            "heuristic", 4.0 + n),
            lambda n: store.upsert_summary(a["id"], "alpha", number, Summary(request=f"r{n}"),
                                           "heuristic", 4.0 + n),
            lambda n: store.add_prompt(a["id"], f"p{n + 2}", "another request", 4.0 + n),
        ]
        before = cache()
        for n, write in enumerate(writes):
            with store.write():
                write(n)
        assert cache() == before, "nothing live: no row written"

        for n, write in enumerate(writes, start=10):
            generation = store.begin_rendering("alpha", "k")
            assert cache()["alpha"][2] == 1, "marked before the memory is read"
            with store.write():
                write(n)
            assert cache()["alpha"][2] == 0, "the change ends the mark"
            assert cache()["beta"] == before["beta"], "another project is left alone"
            assert not store.store_context("alpha", "k", generation, "stale", "", None, 20.0)
            assert store.cached_context("alpha", "k") is None
            generation = store.begin_rendering("alpha", "k")
            assert store.store_context("alpha", "k", generation, "fresh", "", None, 21.0)
            assert store.cached_context("alpha", "k")[0] == "fresh"
            with store.write():
                write(n + 100)
            assert store.cached_context("alpha", "k") is None, "a current text is dropped"
        assert store.begin_rendering("gone", "k") is None
        # A writer that never marked its rendering (a worker still running older code) is
        # refused on a dropped row: it could not have seen a change made while it rendered.
        [(generation,)] = store.db.execute(
            "SELECT generation FROM context_cache WHERE project = 'alpha'").fetchall()
        assert store.cached_context("alpha", "k") is None
        assert not store.store_context("alpha", "k", generation, "unmarked", "", None, 30.0)
        assert store.cached_context("alpha", "k") is None


def test_the_worker_refuses_its_rendering_when_the_memory_changes_under_it(monkeypatch):
    """A change committed by another connection while the worker renders (the row's text
    already dropped, so only the mark makes the trigger act) is never hidden by it."""
    import time

    from claude_mem import context_refresh
    from claude_mem.models import Observation
    from claude_mem.store import open_store as open_configured

    config.ensure_data_dir()
    settings = config.load()
    key = startcache.cache_key(settings)
    with open_configured() as store, open_configured() as other:
        with store.write():
            session = store.open_session("sr", "racing", "/w/racing", 1.0)
            store.add_observation(session["id"], "racing", 1, Observation(type="change", title="Old news"),
                                  "h1", "heuristic", 2.0)
            store.want_context("racing", key, time.time())  # asked now: not pruned
        real_render = context_refresh.render_for_cache
        changed = []

        def render_while_a_hook_writes(*args, **kwargs):
            made = real_render(*args, **kwargs)
            if not changed:  # the memory moves on after the rendering read it
                with other.write():
                    other.add_observation(session["id"], "racing", 1,
                                          Observation(type="change", title="Brand new"),
                                          "h2", "heuristic", 4.0)
                changed.append(True)
            return made

        monkeypatch.setattr(context_refresh, "render_for_cache", render_while_a_hook_writes)
        refresher = context_refresh.Refresher(store, settings)
        assert refresher.refresh() == 0, "the rendering missed the change: refused"
        assert changed, "it rendered"
        assert store.cached_context("racing", key) is None
        assert refresher.refresh() == 1
        assert "Brand new" in store.cached_context("racing", key)[0]


def test_a_teammates_ago_ends_the_rendering_when_it_turns():
    for age in (0, 30, 89, 90, 300, 5399, 5400, 7000, 86000, 172799, 172800, 400000, 10 ** 7):
        now = 1_000_000_000.0
        epoch = now - age
        turns = text.ago_changes_at(epoch, now)
        assert turns > now - 1 or age == 0
        for t in (now, (now + turns) / 2, turns - 0.001):
            assert text.ago(epoch, t) == text.ago(epoch, now), (age, t)
        later = [text.ago(epoch, turns + step) for step in (1.0, 2.0, 60.0)]
        assert any(x != text.ago(epoch, now) for x in later) or age >= 172800


def test_a_rendering_with_a_teammates_entry_says_until_when_it_holds():
    import time

    from claude_mem.context_refresh import render_for_cache
    from claude_mem.models import Observation
    from claude_mem.store import open_store as open_configured

    config.ensure_data_dir()
    made = time.time() - 1000
    with open_configured() as store:
        with store.write():
            session = store.open_session("st", "team", "/w/team", made)
            obs = store.add_observation(session["id"], "team", 1, Observation(type="change", title="Fixed it"),
                                        "h", "heuristic", made)
        settings = config.load()
        assert render_for_cache(store, "team", settings)[2] is None, "no clock in the text"
        with store.write():
            store.db.execute("UPDATE observations SET member = 'alice' WHERE id = ?", (obs,))
        now = time.time()
        output, _, until = render_for_cache(store, "team", settings, now)
    assert "alice, 17 min ago" in output
    assert until == text.ago_changes_at(made, now), "until '17 min ago' turns"


def test_the_hook_reads_json_without_a_json_module_exactly_as_json_does():
    import random

    assert startcache.start_text(hook_json("a\nb \"q\" \u00e9 \x01 \\ \U0001f600")) == \
        "a\nb \"q\" \u00e9 \x01 \\ \U0001f600", "context.hook_json's shape is what the hook reads"
    rng = random.Random(7)
    alphabet = ['a', ' ', '"', '\\', '/', '\n', '\x01', '\u00e9', '\ud83d', '\ude00', 'u', '0', 'd', 'D', 'b']
    pieces = ['{', '}', '"', ':', ',', ' ', '\t', '\\', '\\u', '\\ud83d', '\\ude00', '\\n', '\\x', 'u0041',
              '"k"', '"v"', '[', '1', 'null', '\n', '\x02']
    samples = [json.dumps({"session_id": "s", "cwd": "/w", "source": "startup"}), "{}", " { } ",
               '{"a": "b",}', '{"a" "b"}', '{"a": 1}', '{"a": {"b": "c"}}', '{"a": "b"} x', '{"a": "\\ud83d\\ude00"}']
    for _ in range(1200):
        value = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))):
                 "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(0, 4))}
        samples.append(json.dumps(value, ensure_ascii=rng.random() < 0.5))
        samples.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 14))))
    for text in samples:
        try:
            expected = json.loads(text)
        except ValueError:
            expected = None
        got = jsonflat.flat_object(text)
        if got is not None:
            assert got == expected and list(got) == list(expected), text
        elif isinstance(expected, dict):
            assert not all(isinstance(v, str) for v in expected.values()), text
        output = hook_json(text)
        assert startcache.start_text(output) == text
        at = rng.randrange(len(output))
        broken = output[:at] + rng.choice(['"', '\\', '}', 'x', '\n', '']) + output[at + rng.randint(0, 1):]
        try:
            decoded = json.loads(broken)
            inner = decoded["hookSpecificOutput"]
            assert list(decoded) == ["hookSpecificOutput"]
            assert list(inner) == ["hookEventName", "additionalContext"]
            assert inner["hookEventName"] == "SessionStart" and isinstance(inner["additionalContext"], str)
            truth = inner["additionalContext"]
        except (ValueError, KeyError, TypeError, AssertionError):
            truth = None
        got_text = startcache.start_text(broken)
        assert got_text is None or got_text == truth, broken


def test_the_worker_renders_only_keys_it_can_and_drops_what_nobody_asks_for():
    import time

    from claude_mem.context_refresh import FOREIGN_SECONDS, UNUSED_DAYS, Refresher, settings_for
    from claude_mem.models import Observation
    from claude_mem.store import open_store as open_configured

    config.ensure_data_dir()
    settings = config.load()
    mine = startcache.cache_key(settings)
    small = startcache.cache_key(config.Settings({**settings.values, "context_tokens": 200}, []))
    other_code = "0.0:0.0\n" + mine.split("\n", 1)[1]
    assert settings_for(small, settings).context_tokens == 200
    for junk in (other_code, "junk", mine.replace("context_tokens=", "context_nope="),
                 mine.rsplit(";", 1)[0]):  # a setting this code knows is missing
        assert settings_for(junk, settings) is None, junk
    now = time.time()
    with open_configured() as store:
        with store.write():
            session = store.open_session("sp", "pruned", "/w/pruned", now)
            store.add_observation(session["id"], "pruned", 1, Observation(type="change", title="Fixed it"),
                                  "h", "heuristic", now)
            for key, asked in ((mine, now), (small, now), (other_code, now - FOREIGN_SECONDS - 60),
                               ("junk", now), (mine + ";x", now - UNUSED_DAYS * 86400 - 60)):
                store.want_context("pruned", key, asked)
        assert Refresher(store, settings).refresh() == 2, "its own key and the other budget's"
        left = {key for _, key, _, _ in store.context_rows()}
        assert left == {mine, small, "junk"}, "another code's key a day unused and a stale one go"
        assert "Fixed it" in store.cached_context("pruned", mine)[0]
        assert store.cached_context("pruned", "junk") is None


def test_a_clock_the_worker_cannot_render_does_not_wake_it():
    import time

    from claude_mem.context_refresh import Refresher
    from claude_mem.store import open_store as open_configured

    config.ensure_data_dir()
    settings = config.load()
    mine = startcache.cache_key(settings)
    other_code = "0.0:0.0\n" + mine.split("\n", 1)[1]
    with open_configured() as store:
        # Its own row's clock runs out in 100 s, another code's ran out long ago.
        for key, until in ((mine, time.time() + 100), (other_code, 5.0)):
            with store.write():
                store.want_context("p", key, time.time())
            generation = store.begin_rendering("p", key)
            assert store.store_context("p", key, generation, "", "", until, time.time())
        refresher = Refresher(store, settings)
        assert refresher.refresh() == 0, "nothing it can render is due"
        assert 60 < refresher.wait_hint() < 200, "it wakes for its own clock, not the other's"


def test_a_new_session_started_from_the_rendering_queues_no_event(remembered):
    """The worker does nothing with the start of a session it does not hold, so a start
    served from the rendering ahead writes only what it showed; one it holds is queued."""
    def queued_starts(session: str) -> int:
        with open_store() as store:
            return sum(json.loads(row[0]).get("session_id") == session for row in store.db.execute(
                "SELECT payload FROM pending WHERE event = 'SessionStart'"))

    with open_store() as store:
        known = store.db.execute("SELECT claude_session_id FROM sessions").fetchone()[0]
    start("s-miss")
    rendered()
    from claude_mem import control
    from helpers import no_worker_yet

    assert control.stop_worker()
    with no_worker_yet():  # no worker may drain what is counted below
        context = context_from(start("s-new"))
        assert context and shown("s-new") == shown("s-miss") and shown_text("s-new") == context
        assert queued_starts("s-new") == 0, "nothing for the worker to do"
        assert context_from(start(known)) == context  # a session it holds:
        assert queued_starts(known) == 1, "its start is queued (the worker reopens it)"
    control.ensure_worker()
    wait_until_drained()


def test_a_running_worker_hands_the_hook_its_rendering(remembered):
    """With a worker running, the hook asks it for the current row (no SQLite of its own)
    and prints it; what it showed is recorded once the worker takes its file in."""
    from claude_mem import control

    def answered() -> int:
        return (control.request({"cmd": "status"}) or {}).get("start_contexts_answered", 0)

    def rendered_for_hooks() -> int:
        return (control.request({"cmd": "status"}) or {}).get("start_contexts_rendered", 0)

    made = rendered_for_hooks()
    first = start("s-first")  # nothing rendered yet: the worker renders it for the hook
    assert rendered_for_hooks() == made + 1
    row = rendered()  # and renders the row ahead, asked for as the hook's miss would
    before = answered()
    assert start("s-handed") == first == row["output"], "the worker's row, byte for byte"
    assert answered() == before + 1 and rendered_for_hooks() == made + 1, "the row, handed over"
    assert shown("s-handed") == shown("s-first")
    assert shown_text("s-handed") == context_from(first)
    # The worker reads the row as the hook would: a change of the memory drops it at once,
    # and the next start gets the memory as it is now.
    record("s-later", "zebrafish")
    assert "zebrafish" in context_from(start("s-after-change"))


def test_a_start_file_is_taken_in_as_the_hook_would_have_written_it():
    """A start the worker served leaves its event and what it showed in the inbox: a session
    the memory holds gets its event queued, a new one only what it showed; while the file
    waits, recall already counts what it showed (the ids and the context's text)."""
    import time

    from claude_mem.context import hook_json
    from claude_mem.store.shown import CONTEXT_TEXT, open_recall_reader

    output = hook_json("# [acme-billing] recent context\n- a line the start showed\n")
    body = startcache.start_text(output)
    words = startcache.format_shown([("observation-title", 7), (CONTEXT_TEXT, body)], body)
    with no_worker_yet():
        config.ensure_data_dir()
        with open_store() as store, store.write():
            store.open_session("s-known", PROJECT, CWD, time.time())
        fifo = open_inbox()
        sender = wakeup.open_fifo()
        for session in ("s-known", "s-new", ""):
            payload = json.dumps({"session_id": session, "hook_event_name": "SessionStart",
                                  "source": "startup", "cwd": CWD,
                                  "transcript_path": "/tmp/s.jsonl"})
            assert hook_inbox.leave(sender, "SessionStart", payload, CWD,
                                    (repr(time.time()), session, words, output))
        os.close(sender)
        with open_recall_reader() as reader:
            assert reader.shown_memory("s-new") == {("observation-title", 7)}
            assert reader.shown_context("s-new") == body
            # Another session's waiting files count for nothing here.
            assert reader.shown_memory("s-other") == set()
            assert reader.shown_context("s-other") == ""
        with open_store() as store:
            assert inbox.take_in(store) == 3
        close_inbox(fifo)
        starts = sorted(json.loads(payload)["session_id"] for event, payload, _ in queued()
                        if event == "SessionStart")
        assert starts == ["", "s-known"], "no event for a session the memory does not hold"
        for session in ("s-known", "s-new"):
            assert shown(session) == {("observation-title", 7)}
            assert shown_text(session) == body


def test_the_workers_answer_is_read_strictly():
    """``startcache.ask``'s reply: JSON whose output is the row's own JSON, read back
    exactly; anything else is no answer (the hook then reads the row itself)."""
    from claude_mem.context import hook_json
    from claude_mem.store.shown import CONTEXT_TEXT

    output = hook_json('# ctx with "quotes", a \\ and ünïcode\n- line\n')
    body = startcache.start_text(output)
    words = startcache.format_shown([("observation", 3), (CONTEXT_TEXT, body)], body)
    for known in (True, False):
        reply = startcache.reply_for(output, words, known)
        assert json.loads(reply) == {"known": "1" if known else "", "shown": words,
                                     "output": json.loads(output)}
        assert startcache.read_reply(reply) == (output, words, known)
    assert startcache.read_reply(startcache.reply_for("", "", False)) == ("", "", False)
    for bad in ('{"miss":"no current rendering"}', '{"error":"x"}', "",
                startcache.reply_for(output, "observation:x", True),
                startcache.reply_for(output[:-1], words, True),
                startcache.reply_for('{"a":"b"}', "", True),
                startcache.reply_for("", "observation:1", False)):
        assert startcache.read_reply(bad) is None, bad
    assert hook_inbox._CONTEXT_TEXT == CONTEXT_TEXT
