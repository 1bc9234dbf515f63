"""The viewer's live feed: what was stored, as rows for the page and as a stream.

Contract:
- ``feed_filters(query)`` turns the page's project and type filters into ``Store.feed``
  arguments (``BadRequest`` for an unknown type); ``feed_item(row)`` is one row with only
  what the page shows.
- ``Changes`` notices commits by other processes: one thread polls ``PRAGMA data_version``
  (it changes on every commit by another connection: the hooks' and the worker's) every
  ``POLL_SECONDS`` and wakes the streams.
- ``stream(handler, query)`` serves ``/api/events`` (server-sent events: ``item`` for each
  prompt, observation or summary as it is stored, ``status`` when anything changed, at
  least every ``STATUS_EVERY_SECONDS``), resuming from the browser's ``Last-Event-ID``.
- ``status_report()`` is the status panel's report (``health.status`` with the viewer's own
  state, and its text) and ``open_store()`` the store every read opens: the stream and the
  routes (``routes``) both use them.
"""
from __future__ import annotations

import json
import threading
import time

from claude_mem import config, log
from claude_mem.models import OBSERVATION_TYPES
from claude_mem.viewer import pages
from claude_mem.viewer.params import MAX_ID, BadRequest, moment, whole_number

STATUS_EVERY_SECONDS = 5.0    # the stream's status refresh when nothing was committed
POLL_SECONDS = 0.25           # how often the change watcher asks SQLite for data_version


def open_store():
    from claude_mem.store import open_store

    return open_store()


def status_report() -> dict:
    """``claude-mem status --json``'s report, with its text form for the page's first paint."""
    from claude_mem import health
    from claude_mem.viewer import process

    report = health.status(viewer=process.state(config.load()))
    report["text"] = health.format_status(report)
    return report


def feed_filters(query: dict) -> dict:
    """The feed's project and type filters as arguments of ``Store.feed``."""
    project = query.get("project") or None
    type_ = query.get("type") or ""
    if type_ and type_ not in pages.FEED_TYPES:
        raise BadRequest(f"type must be one of: {', '.join(pages.FEED_TYPES)}")
    if type_ in ("prompt", "summary"):
        return {"project": project, "kinds": (type_,), "obs_type": None}
    if type_ in OBSERVATION_TYPES:
        return {"project": project, "kinds": ("observation",), "obs_type": type_}
    return {"project": project, "kinds": ("prompt", "observation", "summary"), "obs_type": None}


def feed_item(item: dict) -> dict:
    """One row of the live feed, with only what the page shows."""
    kind = item["kind"]
    out = {"kind": kind, "id": item["id"], "key": f"{kind}-{item['id']}", "at": item["at"],
           "session_id": item["session_id"], "claude_session_id": item["claude_session_id"],
           "project": item["project"], "prompt_number": item.get("prompt_number") or 0}
    if kind == "prompt":
        out.update(type="prompt", title=item["prompt"][:400], files=[],
                   link=f"/session/{item['session_id']}#prompt-{out['prompt_number']}")
    elif kind == "observation":
        files = list(dict.fromkeys([*item["files_modified"], *item["files_read"]]))
        out.update(type=item["type"], title=item["title"], subtitle=item["subtitle"][:300],
                   files=files[:8], link=f"/obs/{item['id']}")
    else:
        text = item["completed"] or item["learned"] or item["investigated"] or ""
        out.update(type="summary", title=item["request"][:300], text=text[:400],
                   files=item["files_edited"][:8], updated_at=item["updated_at"],
                   link=f"/session/{item['session_id']}#summary-{out['prompt_number']}")
    return out


class Changes:
    """Notices commits by other processes and wakes whoever waits for one."""

    def __init__(self):
        self.generation = 0
        self.condition = threading.Condition()
        self.stopping = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._watch, name="changes", daemon=True).start()

    def _watch(self) -> None:
        store = None
        last = None
        while not self.stopping.wait(POLL_SECONDS):
            try:
                store = store or open_store()
                version = store.data_version()
            except Exception as exc:  # the database is being replaced or is locked: retry
                log.warning(f"viewer: cannot watch the database ({exc!r})")
                if store is not None:
                    store.close()
                store = None
                self.stopping.wait(2.0)
                continue
            if version != last:
                last = version
                with self.condition:
                    self.generation += 1
                    self.condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        with self.condition:
            self.condition.wait_for(lambda: self.generation != seen or self.stopping.is_set(), timeout)
            return self.generation


def stream(handler, query: dict) -> None:
    """``/api/events``: server-sent events, ``item`` per stored row and ``status``, until the
    page goes away or the viewer stops."""
    filters = feed_filters(query)
    # Where the page stands: from the browser's Last-Event-ID on a reconnect, else ?p=&o=&s=.
    last = (handler.headers.get("Last-Event-ID") or "").split("_")
    if len(last) == 3:
        query = {**query, "p": last[0], "o": last[1], "s": last[2]}
    after_prompt = whole_number(query.get("p"), "p", 0, 0, MAX_ID)
    after_obs = whole_number(query.get("o"), "o", 0, 0, MAX_ID)
    summaries_at = moment(query.get("s"), "s")
    if not handler.begin_stream():
        return
    changes = handler.server.changes
    handler.server.streams += 1
    # Summaries are rewritten in place and stamped with the time their event arrived,
    # so look a little back and skip the versions already shown.
    seen_summaries: dict[int, float] = {}
    window = 300.0
    try:
        handler.wfile.write(b"retry: 2000\n\n")
        with open_store() as store:
            for item in store.feed(kinds=("summary",), summaries_since=max(0.0, summaries_at - window),
                                   limit=500):
                if item["updated_at"] <= summaries_at:
                    seen_summaries[item["id"]] = item["updated_at"]
            generation = changes.generation  # read before the query: no commit is missed
            changed, status_at = True, 0.0
            while not changes.stopping.is_set():
                fresh = []
                for item in reversed(store.feed(**filters, after_prompt=after_prompt,
                                                after_observation=after_obs,
                                                summaries_since=max(0.0, summaries_at - window),
                                                limit=200)):
                    if item["kind"] == "summary":
                        if seen_summaries.get(item["id"]) == item["updated_at"]:
                            continue
                        seen_summaries[item["id"]] = item["updated_at"]
                    fresh.append(item)
                # The cursor moves over everything stored, filtered out or not.
                cursor = store.feed_cursor()
                after_prompt, after_obs = cursor["prompt"], cursor["observation"]
                summaries_at = max(summaries_at, cursor["summary"])
                event_id = f"{after_prompt}_{after_obs}_{summaries_at!r}"
                out = [f"event: item\nid: {event_id}\ndata: "
                       f"{json.dumps(feed_item(i), ensure_ascii=False)}\n\n" for i in fresh]
                now = time.monotonic()
                if changed or now - status_at >= STATUS_EVERY_SECONDS:
                    out.append(f"event: status\nid: {event_id}\ndata: "
                               f"{json.dumps(status_report(), ensure_ascii=False, default=str)}\n\n")
                    status_at = now
                handler.wfile.write("".join(out).encode("utf-8") if out else b": still here\n\n")
                handler.wfile.flush()
                latest = changes.wait(generation, STATUS_EVERY_SECONDS)
                changed, generation = latest != generation, latest
    except (BrokenPipeError, ConnectionResetError, OSError):
        pass  # the page was closed
    finally:
        handler.server.streams -= 1
