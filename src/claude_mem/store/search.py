"""Full-text search over observations, summaries and prompts.

Contract: FTS5 tables (kept in sync by triggers, see ``migrations``) searched with
weighted bm25, best first. User text is quoted term by term (``fts_query``), so it is
never parsed as FTS syntax.
"""

from claude_mem.store.db import observation_dict, summary_dict
from claude_mem.store.driver import sqlite3

# bm25 column weights: a hit in a title says more than a hit in a long narrative.
OBSERVATION_WEIGHTS = "10.0, 5.0, 2.0, 3.0, 4.0, 3.0, 3.0"
SUMMARY_WEIGHTS = "8.0, 3.0, 4.0, 4.0, 3.0, 1.0, 3.0, 3.0"


MAX_HITS = 10_000


def clamp_limit(limit, most: int = MAX_HITS) -> int:
    """A caller's limit as 1..``most`` (SQLite binds 64-bit integers; -1 means no limit)."""
    try:
        return max(1, min(int(limit), most))
    except (TypeError, ValueError, OverflowError):
        return 20


MAX_TERMS = 32
MAX_TERM_CHARS = 200
MAX_QUERY_CHARS = 100_000


def fts_query(text: str) -> str:
    """Quote each whitespace-separated term so user text is never FTS syntax.

    ``foo bar*`` becomes ``"foo" "bar"*`` (all terms must match; a trailing ``*`` keeps
    its prefix meaning). Returns "" when nothing searchable is left.
    """
    terms = []
    seen = set()
    # SQLite ends a string at NUL: it would unbalance our quotes. Repeated terms add
    # nothing to an AND query but cost FTS5 superlinear time (2,000 copies of one word
    # took 8.7 s), so each term is kept once, and a query keeps its first MAX_TERMS terms
    # of at most MAX_TERM_CHARS each.
    for raw in text[:MAX_QUERY_CHARS].replace("\x00", " ").split():
        prefix = raw.endswith("*") and len(raw) > 1
        term = (raw[:-1] if prefix else raw)[:MAX_TERM_CHARS]
        term = term.replace('"', '""')
        if not term.strip('"'):
            continue
        quoted = f'"{term}"' + ("*" if prefix else "")
        if quoted.lower() in seen:
            continue
        seen.add(quoted.lower())
        terms.append(quoted)
        if len(terms) >= MAX_TERMS:
            break
    return " ".join(terms)


class SearchRoom:
    """The search method of ``Store`` (mixed in)."""

    db: sqlite3.Connection

    def search(self, text: str, *, project: str | None = None, kinds=("observation",
               "summary", "prompt"), limit: int = 20) -> list[dict]:
        """Full-text search, best first; each hit is a dict with ``kind`` and ``id``."""
        query = fts_query(text)
        if not query:
            return []
        limit = clamp_limit(limit)
        hits: list[dict] = []
        if "observation" in kinds:
            sql = (
                "SELECT o.*, bm25(observations_fts, " + OBSERVATION_WEIGHTS + ") AS score"
                " FROM observations_fts JOIN observations o ON o.id = observations_fts.rowid"
                " WHERE observations_fts MATCH ?" + (" AND o.project = ?" if project else "")
                + " ORDER BY score LIMIT ?"
            )
            for row in self.db.execute(sql, (query, project, limit) if project else (query, limit)):
                hit = observation_dict(row)
                hit.update(kind="observation", score=row["score"])
                hits.append(hit)
        if "summary" in kinds:
            sql = (
                "SELECT m.*, s.claude_session_id, bm25(summaries_fts, " + SUMMARY_WEIGHTS
                + ") AS score FROM summaries_fts JOIN summaries m ON m.id = summaries_fts.rowid"
                " JOIN sessions s ON s.id = m.session_id WHERE summaries_fts MATCH ?"
                + (" AND m.project = ?" if project else "") + " ORDER BY score LIMIT ?"
            )
            for row in self.db.execute(sql, (query, project, limit) if project else (query, limit)):
                hit = summary_dict(row)
                hit.update(kind="summary", score=row["score"], title=hit["request"])
                hits.append(hit)
        if "prompt" in kinds:
            sql = (
                "SELECT p.*, s.project, s.claude_session_id, bm25(user_prompts_fts) AS score"
                " FROM user_prompts_fts JOIN user_prompts p ON p.id = user_prompts_fts.rowid"
                " JOIN sessions s ON s.id = p.session_id WHERE user_prompts_fts MATCH ?"
                + (" AND s.project = ?" if project else "") + " ORDER BY score LIMIT ?"
            )
            for row in self.db.execute(sql, (query, project, limit) if project else (query, limit)):
                hit = dict(row)
                hit.update(kind="prompt", title=row["prompt"], score=row["score"])
                hits.append(hit)
        hits.sort(key=lambda hit: hit["score"])
        return hits[:limit]


    def search_snippets(self, text: str, hits: list[dict], *, start: str = "\x02",
                        end: str = "\x03", tokens: int = 24) -> dict:
        """FTS5 ``snippet()`` of each search hit, the matched words between ``start``/``end``.

        Keyed by ``(kind, id)``; the query words are the same as ``search``'s (``fts_query``).
        """
        query = fts_query(text)
        found: dict = {}
        if not query:
            return found
        for kind, table in (("observation", "observations_fts"), ("summary", "summaries_fts"),
                            ("prompt", "user_prompts_fts")):
            ids = [hit["id"] for hit in hits if hit["kind"] == kind]
            if not ids:
                continue
            marks = ",".join("?" * len(ids))
            for rowid, snippet in self.db.execute(
                    f"SELECT rowid, snippet({table}, -1, ?, ?, '…', ?) FROM {table}"
                    f" WHERE {table} MATCH ? AND rowid IN ({marks})",
                    (start, end, tokens, query, *ids)):
                found[(kind, rowid)] = snippet
        return found
