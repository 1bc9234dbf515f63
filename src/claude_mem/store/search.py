"""Full-text search over observations, summaries and prompts.

Contract: FTS5 tables (kept in sync by triggers, see ``migrations``) searched best first.
A query in plain words means "any of these words, ranked" (``query_terms``): stop words
("why", "did", "the" ...) are dropped unless nothing else is left, each remaining word is
quoted (so user text is never FTS syntax) and the words are joined with OR. Text in
double quotes stays one exact phrase, and a trailing ``*`` keeps its prefix meaning
(``pars*``). The porter tokenizer already folds stems (``failing`` finds ``failed``).

Ranking (``search``): a question names a few things; the row that answers it usually
names several of them, while a row that repeats one of them is usually beside the point.
So with several words, a row's score is ``COVERAGE_WEIGHT`` times the share of the
query's weight it holds (each distinct word weighted by its idf over the kinds searched,
as bm25 weighs words) plus its bm25 relative to the best candidate's (at most 1): a row
holding more of the rarer words comes first, and bm25 (column weights: an observation's
title counts most) orders rows that hold as much. One word: bm25 alone. Candidates are
each kind's best ``RERANK_POOL`` rows by bm25 (only ids and scores are read), which words
each holds is asked of the index (``_held``), and only the final ``limit`` rows are read.

Every hit is a dict with ``kind`` (observation|summary|prompt), ``id``, ``score`` (lower
is better), ``title`` and ``text`` (the stored text the words were matched against: for
an observation its title, subtitle, narrative, facts and files; for a summary every field;
for a prompt the prompt).

How it stays fast at a million rows: FTS5's ``bm25()`` needs, for every query term, a
pass over all rows holding that term (for its idf) and then a score for every match, so
its cost grows with the number of matches: a word in a fifth of all rows took seconds at
1M observations. So the ranking depends on how common the words are, which costs one
bounded probe per word (the newest ``EXACT_RANK_MAX_MATCHES + 1`` row ids, in the index;
``term_frequency`` estimates a common word's count from how far back they reach):
- the rare words (at most that many matches) give the candidates, by exact weighted bm25
  over any of them; a common word only counts in what a candidate holds (tested as
  ``common AND (rare words)``, which walks the rare words' short lists). Rows that hold
  only common words come after them, as below;
- every word is common: relevance tiers, newest first within each tier: the entries
  whose main column (an observation's title, a summary's request) holds every word, then
  those holding every word anywhere, then those holding any of them. Each tier is read
  from the index in row-id order and stops at ``limit`` rows, so its cost does not
  depend on how many rows match.
The FTS5 tables, query words and per-word reads all of this is built from are in
``store.fts`` (``IndexRoom``, which ``SearchRoom`` extends).
"""

from claude_mem.store.db import with_agents
from claude_mem.store.fts import (EXACT_RANK_MAX_MATCHES, KINDS, TIER_SCORE, IndexRoom, _Kind,
                                  _probe_words, clamp_limit, fts_query, idf,
                                  observation_text, query_terms, summary_text)

# What callers have long imported from here (the hit texts are what meaning search embeds).
__all__ = ["SearchRoom", "KINDS", "clamp_limit", "fts_query", "query_terms", "observation_text",
           "summary_text"]

# How many of each kind's best rows by bm25 a query of several words ranks by coverage.
RERANK_POOL = 100


# How much holding all of a question's words counts against bm25 (relative to the best
# row's bm25, at most 1): more than the whole of it, so a row holding more of the rare
# words comes first; set on the tune questions of bench/recall.py (1.0-2.0 did as well).
COVERAGE_WEIGHT = 1.5


def _relative(found: "_Found", best: float) -> float:
    """A candidate's bm25 relative to the best one's (1 for the best). A row of a tier has
    no bm25: one of the every-word tiers (title first, newest first) counts as the best
    row, a row holding only some of the words as none."""
    if found.bm25 is None:
        return 1.0 if found.holds_all else 0.0
    return found.bm25 / best if best < 0 else 0.0


class _Found:
    """A candidate row of a search: kind, id, its bm25 (None when it came from a tier),
    its final score and its place in the pool (its columns are read only if it is
    returned)."""

    __slots__ = ("kind", "id", "bm25", "score", "order", "searched", "holds_all")

    def __init__(self, kind: str, rowid: int, *, bm25: float | None = None,
                 searched: tuple = (), holds_all: bool = False):
        self.kind, self.id, self.bm25 = kind, rowid, bm25
        self.score, self.order = 0.0, 0
        # the terms whose query found it; holds_all: a tier that holds every one of them
        self.searched, self.holds_all = searched, holds_all


class SearchRoom(IndexRoom):
    """The search methods of ``Store`` (mixed in)."""

    def search(self, text: str, *, project: str | None = None, kinds=("observation",
               "summary", "prompt"), limit: int = 20) -> list[dict]:
        """Full-text search by words, best first; each hit is a dict with ``kind`` and ``id``.

        Rows holding more of the question's distinct words, weighted by rarity, come first
        (``_rank_by_coverage``); bm25 orders rows that hold as much."""
        return with_agents(self.db, self._decoded(self._ranked_found(text, project, kinds, limit)))

    def search_keys(self, text: str, *, project: str | None = None, kinds=("observation",
                    "summary", "prompt"), limit: int = 20) -> list[tuple[str, int]]:
        """``(kind, id)`` of ``search``'s hits, in its order, without reading their rows
        (``hits_by_keys`` reads the ones wanted): a search by meaning and words fuses the
        words' best 50 but shows 20 at most, and decoding a hit's row is most of a
        search's Python (~70 us an observation)."""
        return [(f.kind, f.id) for f in self._ranked_found(text, project, kinds, limit)]

    def places(self, keys) -> dict:
        """``(kind, id)`` -> ``(session id, prompt number)`` of the rows still there: where
        each memory lies in its session's order (one query per kind asked for)."""
        found: dict = {}
        for kind, kind_ in KINDS.items():
            ids = sorted({int(item) for k, item in keys if k == kind})
            if ids:
                marks = ",".join("?" * len(ids))
                found.update(((kind, row[0]), (row[1], row[2])) for row in self.db.execute(
                    f"SELECT id, session_id, prompt_number FROM {kind_.table}"
                    f" WHERE id IN ({marks})", ids))
        return found

    def _ranked_found(self, text: str, project, kinds, limit: int) -> list["_Found"]:
        """The best ``limit`` candidates of ``search``, best first, rows not read."""
        terms = query_terms(text)
        if not terms:
            return []
        limit = clamp_limit(limit)
        names = [name for name in ("observation", "summary", "prompt") if name in kinds]
        pool = limit if len(terms) == 1 else max(limit, RERANK_POOL)
        counts = {name: self._frequencies(name, terms) for name in names}
        found: list[_Found] = []
        for name in names:
            found += self._candidates(KINDS[name], terms, project, limit, pool, counts[name])
        for order, f in enumerate(found):  # ties keep the pool's order (tiers: newest first)
            f.order = order
        if len(terms) > 1:
            self._rank_by_coverage(found, terms, counts)
        else:
            best = min((f.bm25 for f in found if f.bm25 is not None), default=-1.0)
            for f in found:
                f.score = -_relative(f, best)
        found.sort(key=lambda f: (f.score, f.order))
        return found[:limit]

    def _frequencies(self, name: str, terms: list[str]) -> dict:
        """term -> how many rows of kind ``name`` hold it (``term_frequency``; a phrase:
        its rarest word's count, an upper bound that never reads a phrase's matches) and
        ``_common`` -> the terms with a common word in them (see ``_probe_words``),
        ``_rows`` -> about how many rows the kind has (``indexed_rows``)."""
        newest = self.indexed_rows(name)
        counts: dict = {"_common": set(), "_rows": newest}
        probed: dict = {}
        for term in terms:
            seen = []
            for word in _probe_words(term):
                if word not in probed:
                    probed[word] = self.term_frequency(name, word, newest=newest) if newest else 0
                seen.append(probed[word])
                if probed[word] > EXACT_RANK_MAX_MATCHES:
                    # one common word makes the term common: its other words go unprobed
                    # (its count is then an upper bound, its weight a lower one)
                    counts["_common"].add(term)
                    break
            counts[term] = min(seen)
        return counts

    def term_frequency(self, kind: str, term: str, *, newest: int | None = None) -> int:
        """How many rows of ``kind`` hold a quoted ``term``: exact up to
        ``EXACT_RANK_MAX_MATCHES``, above it estimated from how far back the newest
        ``EXACT_RANK_MAX_MATCHES + 1`` matches reach (the same bounded read as
        ``term_matches``: a common word's rows are never all read)."""
        most = EXACT_RANK_MAX_MATCHES + 1
        found = self.matches_estimate(kind, term, most, newest=newest)
        return found if found < most else max(most, round(found))

    def _candidates(self, kind: "_Kind", terms: list[str], project, limit: int, pool: int,
                    counts: dict) -> list["_Found"]:
        """The rows of one kind worth ranking: the rare words' best ``pool`` rows by
        weighted bm25 (ids and scores only), then, when that leaves fewer than ``limit``,
        rows of the common words in tiers (see the module docstring)."""
        present = [term for term in terms if counts.get(term)]
        if not present:
            return []
        common = [term for term in present if term in counts["_common"]]
        rare = [term for term in present if term not in common]
        found: list[_Found] = []
        if rare:
            rank = f"bm25({kind.fts}" + (f", {kind.weights})" if kind.weights else ")")
            join = kind.join if project else ""
            sql = (f"SELECT f.rowid, {rank} FROM {kind.fts} f {join} WHERE {kind.fts} MATCH ?"
                   + (f" AND {kind.project_column} = ?" if project else "")
                   + " ORDER BY 2 LIMIT ?")
            query = " OR ".join(rare)
            params = (query, project, pool) if project else (query, pool)
            searched = tuple(rare)
            found = [_Found(kind.name, rowid, bm25=score, searched=searched)
                     for rowid, score in self.db.execute(sql, params)]
        if not rare or (common and len(found) < limit):
            seen = {f.id for f in found}
            words = common if rare else present
            every: set = set()
            # Ids only: of up to ``limit`` rows per kind only the best ``limit`` of all
            # kinds are returned, and ``_decoded`` reads just those.
            tiered = self.tier_ids(kind, words, project, limit + len(seen), TIER_SCORE,
                                   every_word=every)
            found += [_Found(kind.name, rowid, searched=tuple(words), holds_all=rowid in every)
                      for rowid, _ in tiered if rowid not in seen][:limit - len(found) if rare else limit]
        return found

    def _rank_by_coverage(self, found: list["_Found"], terms: list[str], counts: dict) -> None:
        """Score each candidate (lower is better): the share of the query's weight its
        row holds (each distinct word weighted by its idf over the kinds searched, as in
        bm25) times ``COVERAGE_WEIGHT``, plus its bm25 relative to the best candidate's.
        So a row naming three of the question's words outranks one that repeats a single
        word in its title, and bm25 decides between rows holding as much."""
        rows = sum(c["_rows"] for c in counts.values()) or 1
        matches = {term: sum(c[term] for c in counts.values()) for term in terms}
        weight = {term: idf(rows, n) for term, n in matches.items()}
        # A word no row holds tells rows apart no more than a stop word: it is not counted.
        total = sum(w for term, w in weight.items() if matches[term]) or 1.0
        held: dict = {}
        for name, kind_counts in counts.items():
            mine = [f for f in found if f.kind == name]
            present = [term for term in terms if kind_counts.get(term)]
            if mine and present:
                for rowid, words in self._held(KINDS[name], mine, present).items():
                    held[(name, rowid)] = words
        best = min((f.bm25 for f in found if f.bm25 is not None), default=-1.0)
        for f in found:
            share = sum(weight[t] for t in held.get((f.kind, f.id), ())) / total
            f.score = -(COVERAGE_WEIGHT * share + _relative(f, best))

    def _held(self, kind: "_Kind", found: list["_Found"], terms: list[str]) -> dict:
        """{id: the quoted ``terms`` its row holds} for candidates of one kind.

        Never reads a common word's whole list of rows: candidates found by rare words
        are tested with ``word AND (the rare words)``, which FTS5 answers by walking the
        rare words' short lists; rows of the tiers hold every word of theirs or are the
        newest rows, tested in their narrow range of row ids."""
        held: dict = {}
        groups: dict = {}
        for f in found:
            if f.holds_all:
                held[f.id] = set(f.searched)
            else:
                groups.setdefault(f.searched, []).append(f.id)
        for searched, ids in groups.items():
            for rowid, holds in self.terms_held(kind.name, ids, terms, within=searched).items():
                held.setdefault(rowid, set()).update(holds)
        return held

    def _decoded(self, found: list["_Found"]) -> list[dict]:
        """The hit dicts of ``found`` in its order, rows fetched by id (kind by kind)."""
        rows: dict = {}
        for name in {f.kind for f in found}:
            kind = KINDS[name]
            ids = [f.id for f in found if f.kind == name]
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                chunk = ids[start:start + 500]
                sql = f"{kind.fetch} ({','.join('?' * len(chunk))})"
                rows.update(((name, row["id"]), row) for row in self.db.execute(sql, chunk))
        hits = []
        for f in found:
            if (f.kind, f.id) in rows:  # a row deleted meanwhile is skipped
                hits.append(KINDS[f.kind].decode(rows[(f.kind, f.id)], f.score))
        return hits

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
