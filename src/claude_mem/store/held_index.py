"""Rows indexed for search when their transaction ends, not one statement at a time.

Why: FTS5 keeps what it is given in memory until a savepoint or the commit, then writes it
as a new segment. SQLite opens a savepoint (a statement journal) around every statement
that fires triggers inside a transaction, so each observation, prompt and summary the
worker stored (``INSERT`` -> its index trigger) became a segment of its own, and every
16th segment a merge inside the statement (FTS5's ``crisismerge``): measured with
callgrind on the scale bench's short requests, 15 % of the worker's instructions, before
the merges the worker then does in its housekeeping (``index_merge``).

Contract (the triggers are m013's, in ``migrations``):
- ``hold(db)``, right after ``BEGIN``: inserts of observations, summaries and prompts
  made in this transaction are noted in ``fts_held`` instead of being indexed.
- ``index_held(db)``, right before ``COMMIT``: one ``INSERT ... SELECT`` per index for the
  rows noted (their values as they are now), then the notes and the hold are deleted.
  The committed ``fts_held`` is always empty; a rollback takes the notes with it.
- A noted row that is changed or deleted in the same transaction is never taken out of
  an index it was not yet put in (the update and delete triggers look at the notes).
- Only a transaction that asks holds (``Database.hold_index_writes``: the worker's);
  every other writer's rows are indexed at once, as before. Reading the search index
  inside a holding transaction does not see its own new rows: nothing the worker does
  inside one searches.
- The index holds the same words either way (same rows, same columns); only how they
  are cut into segments differs.
"""

from claude_mem.store.driver import sqlite3

# kind in ``fts_held`` -> the statement that indexes the rows noted under it.
_INDEX_NOTED = {
    1: "INSERT INTO observations_fts(rowid, title, subtitle, narrative, facts, concepts,"
       " files_read, files_modified) SELECT o.id, o.title, o.subtitle, o.narrative, o.facts,"
       " o.concepts, o.files_read, o.files_modified FROM fts_held h"
       " JOIN observations o ON o.id = h.item_id WHERE h.kind = 1 ORDER BY h.item_id",
    2: "INSERT INTO summaries_fts(rowid, request, investigated, learned, completed,"
       " next_steps, notes, files_read, files_edited) SELECT s.id, s.request,"
       " s.investigated, s.learned, s.completed, s.next_steps, s.notes, s.files_read,"
       " s.files_edited FROM fts_held h JOIN summaries s ON s.id = h.item_id"
       " WHERE h.kind = 2 ORDER BY h.item_id",
    3: "INSERT INTO user_prompts_fts(rowid, prompt) SELECT p.id, p.prompt FROM fts_held h"
       " JOIN user_prompts p ON p.id = h.item_id WHERE h.kind = 3 ORDER BY h.item_id",
}


def hold(db: sqlite3.Connection) -> None:
    """This transaction's new rows wait for ``index_held`` (call right after BEGIN)."""
    db.execute("INSERT OR IGNORE INTO fts_held (kind, item_id) VALUES (0, 0)")


def index_held(db: sqlite3.Connection) -> None:
    """Index the rows this transaction noted and end the hold (call right before COMMIT)."""
    kinds = [row[0] for row in db.execute(
        "SELECT DISTINCT kind FROM fts_held WHERE kind > 0 ORDER BY kind")]
    for kind in kinds:
        db.execute(_INDEX_NOTED[kind])
    db.execute("DELETE FROM fts_held")
