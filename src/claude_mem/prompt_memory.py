"""The observations of the requests the worker is working on, kept between batches.

Contract: ``PromptMemory(store).observations(session_id, prompt_number)`` returns the same
tuple of observation dicts as ``store.observations_for_prompt`` would, in id order. It
reads and decodes only the rows stored since its last call for that request, so a request
of N tool calls costs O(N) reads in all instead of O(N²) (every batch used to reload and
JSON-decode every earlier observation of its request: at 500 tool calls in one request,
ingest fell to a third of its rate; see bench/scale.py). Each call first checks a cheap
(count, highest id) mark in the index, so rows changed behind its back (``forget``, an
import) make it reload instead of serving a stale copy. Only the most recently used
requests are kept.
"""

from collections import OrderedDict


class PromptMemory:
    def __init__(self, store, capacity: int = 64):
        self.store = store
        self.capacity = capacity
        self._cached: OrderedDict[tuple[int, int], list[dict]] = OrderedDict()

    def observations(self, session_id: int, prompt_number: int) -> tuple:
        key = (session_id, prompt_number)
        count, top = self.store.prompt_observations_mark(session_id, prompt_number)
        items = self._cached.get(key)
        if items is not None and len(items) > count:
            items = None  # rows were deleted: read them all again
        if items is not None:
            last = items[-1]["id"] if items else 0
            if last < top:
                items.extend(self.store.observations_for_prompt(session_id, prompt_number,
                                                                after_id=last))
            if len(items) != count or (items and items[-1]["id"] != top):
                items = None  # rows were deleted or rewritten: read them all again
        if items is None:
            # None yet (a request's first unit): the mark says so, no need to read.
            items = self.store.observations_for_prompt(session_id, prompt_number) if count else []
        self._cached[key] = items
        self._cached.move_to_end(key)
        while len(self._cached) > self.capacity:
            self._cached.popitem(last=False)
        return tuple(items)

    def stored(self, session_id: int, prompt_number: int, rows: list[dict]) -> None:
        """Rows the worker just stored for a request it keeps (``store_observation``'s,
        in id order): added to its copy, so the next call need not read them. The next
        call's mark still checks the copy against the table."""
        items = self._cached.get((session_id, prompt_number))
        if items is None or not rows:
            return
        if items and items[-1]["id"] >= rows[0]["id"]:
            del self._cached[(session_id, prompt_number)]  # not in order: read it all again
            return
        items.extend(rows)

    def clear(self) -> None:
        """Drop everything (what was read may have been rolled back)."""
        self._cached.clear()

    def forget(self, session_id: int) -> None:
        """Drop a finished session's requests."""
        for key in [k for k in self._cached if k[0] == session_id]:
            del self._cached[key]
