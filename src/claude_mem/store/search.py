"""Full-text search over observations, summaries and prompts.

Contract: FTS5 tables (kept in sync by triggers, see ``migrations``) searched best first.
User text is quoted term by term (``fts_query``), so it is never parsed as FTS syntax.

How it stays fast at a million rows: FTS5's ``bm25()`` needs, for every query term, a
pass over all rows holding that term (for its idf) and then a score for every match, so
its cost grows with the number of matches: a word in a fifth of all rows took seconds at
1M observations. So the ranking depends on how common the terms are, which costs one
bounded probe per term (the newest ``EXACT_RANK_MAX_MATCHES + 1`` row ids, in the index):
- every term is rarer than that: exact weighted bm25 over all matches, as before;
- a term is more common: relevance tiers, newest first within each tier: first the
  entries whose main column (an observation's title, a summary's request) holds every
  term, then the rest. Both tiers are read from the index in row-id order and stop at
  ``limit`` rows, so their cost does not depend on how many rows match.
Hits of all kinds are merged by ``score`` (lower is better); tiered hits carry scores
below every bm25 score (bm25 of a real match is never below ``TIER_SCORE``), first tier first.
"""

from claude_mem.store.db import observation_dict, summary_dict, with_agents
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


# A term with more matches than this is "common" (see the module docstring).
EXACT_RANK_MAX_MATCHES = 2000
TIER_SCORE = -1.0e6


class _Kind:
    """How one FTS table is searched: its join, its project column, its main column."""

    def __init__(self, name, fts, weights, select, join, project_column, main_column,
                 decode):
        self.name, self.fts, self.weights = name, fts, weights
        self.select, self.join = select, join
        self.project_column, self.main_column, self.decode = project_column, main_column, decode


def _observation_hit(row, score):
    hit = observation_dict(row)
    hit.update(kind="observation", score=score)
    return hit


def _summary_hit(row, score):
    hit = summary_dict(row)
    hit.update(kind="summary", score=score, title=hit["request"])
    return hit


def _prompt_hit(row, score):
    hit = dict(row)
    hit.update(kind="prompt", title=row["prompt"], score=score)
    return hit


KINDS = {
    "observation": _Kind(
        "observation", "observations_fts", OBSERVATION_WEIGHTS, "o.*",
        "JOIN observations o ON o.id = f.rowid", "o.project", "title", _observation_hit),
    "summary": _Kind(
        "summary", "summaries_fts", SUMMARY_WEIGHTS, "m.*, s.claude_session_id",
        "JOIN summaries m ON m.id = f.rowid JOIN sessions s ON s.id = m.session_id",
        "m.project", "request", _summary_hit),
    "prompt": _Kind(
        "prompt", "user_prompts_fts", "", "p.*, s.project, s.claude_session_id",
        "JOIN user_prompts p ON p.id = f.rowid JOIN sessions s ON s.id = p.session_id",
        "s.project", None, _prompt_hit),
}


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
        for name in ("observation", "summary", "prompt"):
            if name in kinds:
                kind = KINDS[name]
                if self._has_common_term(kind, query):
                    hits += self._search_tiers(kind, query, project, limit)
                else:
                    hits += self._search_ranked(kind, query, project, limit)
        hits.sort(key=lambda hit: hit["score"])
        return with_agents(self.db, hits[:limit])

    def _has_common_term(self, kind: _Kind, query: str) -> bool:
        # Terms never hold a space (fts_query splits on whitespace). A quoted term is a
        # phrase of the tokenizer's tokens ("invoice_total_5" is invoice, total, 5), and
        # bm25 reads every token's full list, so each token is probed on its own.
        probes = set()
        for term in query.split(" "):
            if term.endswith("*"):
                probes.add(term)
                continue
            words = "".join(c if c.isalnum() else " " for c in term[1:-1]).split()
            if len(words) > 1:
                probes.update(f'"{word}"' for word in words)
            else:
                probes.add(term)
        for term in sorted(probes):
            newest = self.db.execute(
                f"SELECT count(*) FROM (SELECT rowid FROM {kind.fts} WHERE {kind.fts} MATCH ?"
                f" ORDER BY rowid DESC LIMIT ?)", (term, EXACT_RANK_MAX_MATCHES + 1)).fetchone()[0]
            if newest > EXACT_RANK_MAX_MATCHES:
                return True
        return False

    def _search_ranked(self, kind: _Kind, query: str, project, limit: int) -> list[dict]:
        rank = f"bm25({kind.fts}" + (f", {kind.weights})" if kind.weights else ")")
        sql = (f"SELECT {kind.select}, {rank} AS score FROM {kind.fts} f {kind.join}"
               f" WHERE {kind.fts} MATCH ?" + (f" AND {kind.project_column} = ?" if project else "")
               + " ORDER BY score LIMIT ?")
        params = (query, project, limit) if project else (query, limit)
        return [kind.decode(row, row["score"]) for row in self.db.execute(sql, params)]

    def _search_tiers(self, kind: _Kind, query: str, project, limit: int) -> list[dict]:
        sql = (f"SELECT {kind.select} FROM {kind.fts} f {kind.join} WHERE {kind.fts} MATCH ?"
               + (f" AND {kind.project_column} = ?" if project else "")
               + " ORDER BY f.rowid DESC LIMIT ?")
        tiers = [f"{kind.main_column} : ({query})", query] if kind.main_column else [query]
        hits: list[dict] = []
        seen: set = set()
        for tier, match in enumerate(tiers):
            wanted = limit + len(seen)  # rows of an earlier tier come again: skip them
            params = (match, project, wanted) if project else (match, wanted)
            for row in self.db.execute(sql, params):
                if row["id"] in seen:
                    continue
                seen.add(row["id"])
                # Newest first inside a tier; the first tier before the second.
                hits.append(kind.decode(row, TIER_SCORE * (len(tiers) - tier) + len(hits)))
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
