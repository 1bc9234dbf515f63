"""Vectors for search by meaning: what is embedded, what waits, and reading them back.

Contract:
- One vector per observation, summary and prompt (``vectors``, migration 8), for one
  ``model`` name; a row embedded by another model counts as waiting. Vectors are opaque
  BLOBs here (``semantic.codec`` packs them); the store never imports numpy.
- ``rows_to_embed(kind, model, below, limit)``: rows without a current vector, newest
  first, below an id (the backfill walks down from the top); each with its ``project``
  and the columns the text is made of (the stored, privacy-cleaned text: never anything
  else). ``save_vectors`` stores a batch in one transaction, skipping rows deleted or
  changed meanwhile (a summary re-made while it was being embedded keeps no stale vector).
- A row's BLOB may hold several vectors (one per passage, ``semantic.passages``); the
  model name includes the recipe, so ``drop_vectors_not_of`` clears what an older
  recipe made and the backfill re-makes it.
- Triggers (see ``migrations.m008_asking_memory``) delete the vector of a deleted row or a row
  whose text changed, so forget, cascades and re-made summaries need nothing here.
- ``vectors_after(id, model)`` reads vectors stored after an id, in id order (ids only
  grow); ``vectors_mark()`` is (count of all, highest id) and ``vectors_added_after(id)``
  how many came after an id: a reader whose copy saw N vectors up to id T is current when
  nothing is above T, and lost none when the count is N plus what is above T.
- ``hits_by_keys(keys)``: the search-hit dicts of ``(kind, id)`` keys (the fused search
  reads only the hits it shows).
"""

import time

from claude_mem.store.db import observation_dict, summary_dict, with_agents
from claude_mem.store.driver import sqlite3

VECTOR_KINDS = ("observation", "summary", "prompt")

# What each kind's text is read from; the project comes along (prompts: their session's).
_WAITING = {
    "observation": ("SELECT o.* FROM observations o LEFT JOIN vectors v"
                    " ON v.kind = 'observation' AND v.item_id = o.id"
                    " WHERE (v.id IS NULL OR v.model != ?) AND o.id < ? AND o.id > ? ORDER BY o.id DESC LIMIT ?"),
    "summary": ("SELECT m.* FROM summaries m LEFT JOIN vectors v"
                " ON v.kind = 'summary' AND v.item_id = m.id"
                " WHERE (v.id IS NULL OR v.model != ?) AND m.id < ? AND m.id > ? ORDER BY m.id DESC LIMIT ?"),
    "prompt": ("SELECT p.*, s.project FROM user_prompts p JOIN sessions s ON s.id = p.session_id"
               " LEFT JOIN vectors v ON v.kind = 'prompt' AND v.item_id = p.id"
               " WHERE (v.id IS NULL OR v.model != ?) AND p.id < ? AND p.id > ? ORDER BY p.id DESC LIMIT ?"),
}
_DECODE = {"observation": observation_dict, "summary": summary_dict, "prompt": dict}
# The row is still there with the text that was embedded (a summary: not re-made since).
_STILL = {
    "observation": "SELECT project FROM observations WHERE id = ?",
    "summary": "SELECT project FROM summaries WHERE id = ? AND updated_at = ?",
    "prompt": ("SELECT s.project FROM user_prompts p JOIN sessions s ON s.id = p.session_id"
               " WHERE p.id = ? AND p.prompt = ?"),
}
_TABLE = {"observation": "observations", "summary": "summaries", "prompt": "user_prompts"}
TOP = 2**63 - 1


class VectorRoom:
    """Vector methods of ``Store`` (mixed in)."""

    db: sqlite3.Connection

    def rows_to_embed(self, kind: str, model: str, *, below: int = TOP, above: int = 0,
                      limit: int = 32) -> list[dict]:
        """Rows of ``kind`` with no vector of ``model``, newest first, ids between
        ``above`` and ``below`` (both excluded)."""
        return [_DECODE[kind](row) for row in self.db.execute(
            _WAITING[kind], (model, below, above, limit))]

    def highest_id(self, kind: str) -> int:
        return self.db.execute(f"SELECT coalesce(max(id), 0) FROM {_TABLE[kind]}").fetchone()[0]

    def save_vectors(self, items, model: str) -> int:
        """Store ``(kind, row, blob)`` items in one transaction; returns how many were stored.

        ``row`` is the dict ``rows_to_embed`` gave; a row deleted or changed since is skipped.
        """
        stored = 0
        now = time.time()
        with self.write():
            for kind, row, blob in items:
                check = (row["id"], row["updated_at"]) if kind == "summary" else (
                    (row["id"], row["prompt"]) if kind == "prompt" else (row["id"],))
                found = self.db.execute(_STILL[kind], check).fetchone()
                if found is None:
                    continue
                # A new id, never an update in place: readers take what is above the
                # highest id they saw (``vectors_after``), so a replaced vector must be new.
                self.db.execute("DELETE FROM vectors WHERE kind = ? AND item_id = ?",
                                (kind, row["id"]))
                self.db.execute(
                    "INSERT INTO vectors (kind, item_id, project, model, vector, made_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)", (kind, row["id"], found[0], model, blob, now))
                stored += 1
        return stored

    def drop_vectors_not_of(self, model: str, limit: int = 2000) -> int:
        """Delete up to ``limit`` vectors made by another model or recipe (one short
        transaction); returns how many. Their rows then wait to be embedded again."""
        with self.write():
            return self.db.execute(
                "DELETE FROM vectors WHERE id IN (SELECT id FROM vectors WHERE model != ?"
                " LIMIT ?)", (model, int(limit))).rowcount

    def vectors_after(self, after_id: int, model: str, limit: int = 50_000) -> list[tuple]:
        """``(id, kind, item_id, project, blob)`` of vectors stored after ``after_id``."""
        return self.db.execute(
            "SELECT id, kind, item_id, project, vector FROM vectors WHERE id > ? AND model = ?"
            " ORDER BY id LIMIT ?", (after_id, model, limit)).fetchall()

    def vectors_mark(self) -> tuple[int, int]:
        """(how many vectors there are, of any model; the highest id). Counting reads the
        smallest index, not the vectors (a ``WHERE model`` count read them all: ~10 ms at 100k)."""
        count, top = self.db.execute("SELECT count(*), coalesce(max(id), 0) FROM vectors").fetchone()
        return count, top

    def vectors_census(self, after_id: int) -> tuple[int, int]:
        """(how many vectors there are, of any model; how many have ids above
        ``after_id``), in one statement: one snapshot, even while the worker adds some."""
        total, added = self.db.execute(
            "SELECT count(*), (SELECT count(*) FROM vectors WHERE id > ?) FROM vectors",
            (after_id,)).fetchone()
        return total, added

    def vectors_top(self) -> int:
        """The highest vector id (one step down the key: no count)."""
        return self.db.execute("SELECT coalesce(max(id), 0) FROM vectors").fetchone()[0]

    def vectors_added_after(self, after_id: int) -> int:
        """How many vectors, of any model, have ids above ``after_id`` (a range of the key)."""
        return self.db.execute("SELECT count(*) FROM vectors WHERE id > ?", (after_id,)).fetchone()[0]

    def vector_progress(self, model: str) -> dict:
        """Per kind: rows, rows embedded by ``model``; and the totals."""
        done = dict(self.db.execute(
            "SELECT kind, count(*) FROM vectors WHERE model = ? GROUP BY kind", (model,)).fetchall())
        report = {}
        for kind in VECTOR_KINDS:
            rows = self.db.execute(f"SELECT count(*) FROM {_TABLE[kind]}").fetchone()[0]
            report[kind] = {"rows": rows, "embedded": min(rows, done.get(kind, 0))}
        report["rows"] = sum(report[k]["rows"] for k in VECTOR_KINDS)
        report["embedded"] = sum(report[k]["embedded"] for k in VECTOR_KINDS)
        return report

    def has_vectors(self, model: str) -> bool:
        return self.db.execute("SELECT 1 FROM vectors WHERE model = ? LIMIT 1", (model,)).fetchone() is not None

    def hits_by_keys(self, keys) -> dict:
        """Search-hit dicts (as ``search`` makes them, ``agent`` included, score 0) of
        ``(kind, id)`` keys, by key; a row gone is missing. One query per kind asked for."""
        from claude_mem.store.search import KINDS

        hits: dict = {}
        for kind in VECTOR_KINDS:
            ids = [int(item) for k, item in keys if k == kind]
            if not ids:
                continue
            marks = ",".join("?" * len(ids))
            decode = KINDS[kind].decode
            hits.update(((kind, row["id"]), decode(row, 0.0))
                        for row in self.db.execute(_BY_ID[kind].format(marks=marks), ids))
        with_agents(self.db, list(hits.values()))
        return hits


_BY_ID = {
    "observation": "SELECT o.* FROM observations o WHERE o.id IN ({marks})",
    "summary": ("SELECT m.*, s.claude_session_id FROM summaries m JOIN sessions s"
                " ON s.id = m.session_id WHERE m.id IN ({marks})"),
    "prompt": ("SELECT p.*, s.project, s.claude_session_id FROM user_prompts p JOIN sessions s"
               " ON s.id = p.session_id WHERE p.id IN ({marks})"),
}
