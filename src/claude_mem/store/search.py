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
``search_terms`` (prompt recall's path, one kind, its own relevance floor) keeps the
earlier ranking: bm25 of the rare words, each common word a row also holds lifting it
(``COMMON_LIFT``), tiered scores below every bm25 score (``TIER_SCORE``).
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

# Words that carry no subject in a question about past work. Only these are dropped:
# a word is kept whenever it could name something stored (a tool, an error, a file).
STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do
does doesn't doing don't down during each ever few for from further had hadn't has hasn't
have haven't having he her here hers herself him himself his how i i'm i've if in into is
isn't it it's its itself just let's many me more most much my myself no nor not now of off on
once only or other ought our ours ourselves out over own please same she should shouldn't
so some such tell than that that's the their theirs them themselves then there there's
these they they're this those through to too under until up upon us very was wasn't we
we're we've were weren't what what's when where where's which while who who's whom why
why's will with won't would wouldn't you you're you've your yours yourself yourselves
""".split())

# Characters stripped from a word's ends before it is looked up or searched ("fail?").
_EDGE = "?!.,;:()[]{}<>'`“”‘’"


def _word_terms(text: str) -> list[tuple[str, bool]]:
    """(word, is_prefix) for each whitespace-separated word, its edge punctuation gone."""
    words = []
    for raw in text.split():
        prefix = raw.endswith("*") and len(raw) > 1
        word = (raw[:-1] if prefix else raw).strip(_EDGE)
        if word:
            words.append((word, prefix))
    return words


def query_terms(text: str) -> list[str]:
    """The FTS5-quoted terms of a plain-words query (see the module docstring).

    ``why did pytest fail`` -> ``['"pytest"', '"fail"']``; ``"exit code 2" tests*`` ->
    ``['"exit code 2"', '"tests"*']``. Stop words go unless only stop words were given.
    SQLite ends a string at NUL (it would unbalance our quotes); repeated terms add
    nothing and cost FTS5 superlinear time, so each term is kept once, and a query keeps
    its first ``MAX_TERMS`` terms of at most ``MAX_TERM_CHARS`` each.
    """
    text = str(text or "")[:MAX_QUERY_CHARS].replace("\x00", " ")
    pieces = text.split('"')
    if len(pieces) % 2 == 0:  # an unbalanced quote is an ordinary character
        pieces = [text.replace('"', " ")]
    content: list[str] = []
    stopped: list[str] = []
    for n, piece in enumerate(pieces):
        if n % 2:  # inside quotes: one exact phrase
            phrase = " ".join(piece.split())
            if phrase:
                content.append(f'"{phrase[:MAX_TERM_CHARS]}"')
            continue
        for word, prefix in _word_terms(piece):
            term = word[:MAX_TERM_CHARS].replace('"', '""')
            quoted = f'"{term}"' + ("*" if prefix else "")
            if not prefix and word.lower() in STOP_WORDS:
                stopped.append(quoted)
            else:
                content.append(quoted)
    terms, seen = [], set()
    for quoted in content or stopped:
        if quoted.lower() in seen or not quoted.strip('"*'):
            continue
        seen.add(quoted.lower())
        terms.append(quoted)
        if len(terms) >= MAX_TERMS:
            break
    return terms


def fts_query(text: str) -> str:
    """The FTS5 MATCH expression for ``text``: its terms joined with OR; "" when nothing
    searchable is left."""
    return " OR ".join(query_terms(text))


# A term with more matches than this is "common" (see the module docstring).
EXACT_RANK_MAX_MATCHES = 2000
TIER_SCORE = -1.0e6
# How much each common word a ranked row also holds lifts its bm25 score (a fraction of
# the score per rare word of the query).
COMMON_LIFT = 0.3
# How many of the rare words' best rows are looked at when common words lift them.
LIFT_POOL = 100
# How many of each kind's best rows by bm25 a query of several words ranks by coverage.
RERANK_POOL = 100
# How much holding all of a question's words counts against bm25 (relative to the best
# row's bm25, at most 1): more than the whole of it, so a row holding more of the rare
# words comes first; set on the tune questions of bench/recall.py (1.0-2.0 did as well).
COVERAGE_WEIGHT = 1.5


# Whether SQLite's ln() may be used for idf weights (``SearchRoom.idf_weights``).
_sql_ln = True


def idf(rows: int, matches: int) -> float:
    """bm25's inverse document frequency of a word held by ``matches`` of ``rows`` rows."""
    import math  # here, not at the top: the UserPromptSubmit hook imports this module, and
    # an unrelated prompt (the usual one) never weighs a word (~0.15 ms of a shared library)

    return math.log(1.0 + (rows - matches + 0.5) / (matches + 0.5))


def _relative(found: "_Found", best: float) -> float:
    """A candidate's bm25 relative to the best one's (1 for the best). A row of a tier has
    no bm25: one of the every-word tiers (title first, newest first) counts as the best
    row, a row holding only some of the words as none."""
    if found.bm25 is None:
        return 1.0 if found.holds_all else 0.0
    return found.bm25 / best if best < 0 else 0.0


class _Found:
    """A candidate row of a search: kind, id, its bm25 (None when it came from a tier),
    the hit dict when already read (tiers), its final score and its place in the pool."""

    __slots__ = ("kind", "id", "bm25", "hit", "score", "order", "searched", "holds_all")

    def __init__(self, kind: str, rowid: int, *, bm25: float | None = None,
                 hit: dict | None = None, searched: tuple = (), holds_all: bool = False):
        self.kind, self.id, self.bm25, self.hit = kind, rowid, bm25, hit
        self.score, self.order = 0.0, 0
        # the terms whose query found it; holds_all: a tier that holds every one of them
        self.searched, self.holds_all = searched, holds_all


def _probe_words(term: str) -> list[str]:
    """The quoted words whose counts stand for a quoted term's: a phrase is a run of the
    tokenizer's tokens ("invoice_total_5" is invoice, total, 5) and bm25 reads every token's
    full list, so each token is probed on its own; a prefix term is probed as it is."""
    if term.endswith("*"):
        return [term]
    words = "".join(c if c.isalnum() else " " for c in term[1:-1]).split()
    return [f'"{word}"' for word in words] if len(words) > 1 else [term]


class _Kind:
    """How one FTS table is searched: its join, its project column, its main column."""

    def __init__(self, name, fts, weights, select, join, project_column, main_column,
                 decode, fetch):
        self.name, self.fts, self.weights = name, fts, weights
        self.select, self.join = select, join
        self.project_column, self.main_column, self.decode = project_column, main_column, decode
        self.fetch = fetch  # the rows by id: "SELECT ... WHERE <id> IN"
        self.table = fts[:-len("_fts")]  # the table the index mirrors (rowid = its id)


def _joined(*parts) -> str:
    out = []
    for part in parts:
        if isinstance(part, (list, tuple)):
            out.extend(str(p) for p in part if p)
        elif part:
            out.append(str(part))
    return "\n".join(out)


def observation_text(hit: dict) -> str:
    """The stored text of an observation that search matches and meaning embeds."""
    return _joined(hit.get("title"), hit.get("subtitle"), hit.get("narrative"),
                   hit.get("facts"), hit.get("files_modified"), hit.get("files_read"))


def summary_text(hit: dict) -> str:
    """The stored text of a summary (every field)."""
    return _joined(hit.get("request"), hit.get("investigated"), hit.get("learned"),
                   hit.get("completed"), hit.get("next_steps"), hit.get("notes"),
                   hit.get("files_edited"), hit.get("files_read"))


def _observation_hit(row, score):
    hit = observation_dict(row)
    hit.update(kind="observation", score=score)
    hit["text"] = observation_text(hit)
    return hit


def _summary_hit(row, score):
    hit = summary_dict(row)
    hit.update(kind="summary", score=score, title=hit["request"])
    hit["text"] = summary_text(hit)
    return hit


def _prompt_hit(row, score):
    hit = dict(row)
    hit.update(kind="prompt", title=row["prompt"], score=score, text=row["prompt"])
    return hit


KINDS = {
    "observation": _Kind(
        "observation", "observations_fts", OBSERVATION_WEIGHTS, "o.*",
        "JOIN observations o ON o.id = f.rowid", "o.project", "title", _observation_hit,
        "SELECT o.* FROM observations o WHERE o.id IN"),
    "summary": _Kind(
        "summary", "summaries_fts", SUMMARY_WEIGHTS, "m.*, s.claude_session_id",
        "JOIN summaries m ON m.id = f.rowid JOIN sessions s ON s.id = m.session_id",
        "m.project", "request", _summary_hit,
        "SELECT m.*, s.claude_session_id FROM summaries m JOIN sessions s ON s.id = m.session_id"
        " WHERE m.id IN"),
    "prompt": _Kind(
        "prompt", "user_prompts_fts", "", "p.*, s.project, s.claude_session_id",
        "JOIN user_prompts p ON p.id = f.rowid JOIN sessions s ON s.id = p.session_id",
        "s.project", None, _prompt_hit,
        "SELECT p.*, s.project, s.claude_session_id FROM user_prompts p"
        " JOIN sessions s ON s.id = p.session_id WHERE p.id IN"),
}


class SearchRoom:
    """The search methods of ``Store`` (mixed in)."""

    db: sqlite3.Connection

    def search(self, text: str, *, project: str | None = None, kinds=("observation",
               "summary", "prompt"), limit: int = 20) -> list[dict]:
        """Full-text search by words, best first; each hit is a dict with ``kind`` and ``id``.

        Rows holding more of the question's distinct words, weighted by rarity, come first
        (``_rank_by_coverage``); bm25 orders rows that hold as much."""
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
        return with_agents(self.db, self._decoded(found[:limit]))

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
        fts = KINDS[kind].fts
        most = EXACT_RANK_MAX_MATCHES + 1
        count, oldest = self.db.execute(
            f"SELECT count(*), min(rowid) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH ?"
            f" ORDER BY rowid DESC LIMIT ?)", (term, most)).fetchone()
        if count < most:
            return count
        newest = newest if newest is not None else self.indexed_rows(kind)
        return max(count, round(count * newest / max(1, newest - oldest + 1)))

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
            tiered = self._search_tiers(kind, words, project, limit + len(seen), TIER_SCORE,
                                        every_word=every)
            found += [_Found(kind.name, hit["id"], hit=hit, searched=tuple(words),
                             holds_all=hit["id"] in every)
                      for hit in tiered if hit["id"] not in seen][:limit - len(found) if rare else limit]
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
        for name in {f.kind for f in found if f.hit is None}:
            kind = KINDS[name]
            ids = [f.id for f in found if f.kind == name and f.hit is None]
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                chunk = ids[start:start + 500]
                sql = f"{kind.fetch} ({','.join('?' * len(chunk))})"
                rows.update(((name, row["id"]), row) for row in self.db.execute(sql, chunk))
        hits = []
        for f in found:
            if f.hit is not None:
                hit = f.hit
                hit["score"] = f.score
            elif (f.kind, f.id) in rows:  # a row deleted meanwhile is skipped
                hit = KINDS[f.kind].decode(rows[(f.kind, f.id)], f.score)
            else:
                continue
            hits.append(hit)
        return hits

    def search_terms(self, kind: str, terms: list[str], *, project: str | None = None,
                     limit: int = 20, counts: dict | None = None, quick: bool = False,
                     common_above: int = 0) -> list[dict]:
        """``search`` of one kind for already-quoted ``terms`` (see ``query_terms``).

        ``counts``: term -> ``term_matches`` already probed (not probed again), a word with
        more than ``common_above`` (default ``EXACT_RANK_MAX_MATCHES``) counting as common. ``quick``:
        when every word is common, only the cheapest tier (any word, newest first): the
        every-word tiers intersect long lists and cost milliseconds at 100k rows.
        """
        return self._search_kind(KINDS[kind], terms, project, clamp_limit(limit),
                                 counts=counts, quick=quick,
                                 common_above=common_above or EXACT_RANK_MAX_MATCHES)

    def idf_weights(self, rows: int, counts: dict) -> dict:
        """{term: ``idf(rows, count)``} for ``counts`` ({term: rows holding it}), each log
        taken by SQLite's ``ln()`` when it has its math functions: the same C library
        ``log`` as ``math.log`` (equal on every value tried), without importing ``math``
        (a shared library: 0.2-0.3 ms of the UserPromptSubmit hook). Else ``math.log``."""
        global _sql_ln
        ratios = sorted({1.0 + (rows - n + 0.5) / (n + 0.5) for n in counts.values()})
        logs = None
        if _sql_ln and ratios:
            try:
                logs = dict(zip(ratios, self.db.execute(
                    "SELECT " + ", ".join("ln(?)" for _ in ratios), ratios).fetchone()))
            except sqlite3.OperationalError:  # built without SQLITE_ENABLE_MATH_FUNCTIONS
                _sql_ln = False
        if logs is None:
            import math

            logs = {ratio: math.log(ratio) for ratio in ratios}
        return {term: logs[1.0 + (rows - n + 0.5) / (n + 0.5)] for term, n in counts.items()}

    def term_matches(self, kind: str, term: str, most: int = EXACT_RANK_MAX_MATCHES + 1) -> int:
        """How many rows of ``kind`` hold a quoted ``term``, counted up to ``most``."""
        fts = KINDS[kind].fts
        # In the index's own order (oldest first): the count is the same either way, and
        # newest first costs more (measured at 100k observations: 0.04-0.06 ms a common
        # word against 0.08-0.10, in the UserPromptSubmit hook twice per word).
        return self.db.execute(
            f"SELECT count(*) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT ?)",
            (term, most)).fetchone()[0]

    def indexed_rows(self, kind: str) -> int:
        """About how many rows of ``kind`` the index holds (its highest row id: no count).

        Read from the table the index mirrors (its triggers keep the two in step): the
        index's own ``max(rowid)`` first loads its configuration and segment list."""
        kind_ = KINDS[kind]
        return self.db.execute(f"SELECT coalesce(max(id), 0) FROM {kind_.table}").fetchone()[0]

    def _is_common(self, kind: _Kind, term: str, counts: dict | None = None,
                   common_above: int = 0) -> bool:
        if counts is not None and term in counts and " " not in term and not term.endswith("*") \
                and term[1:-1].isalnum():
            return counts[term] > (common_above or EXACT_RANK_MAX_MATCHES)
        return any(self.term_matches(kind.name, probe) > EXACT_RANK_MAX_MATCHES
                   for probe in _probe_words(term))

    def _search_kind(self, kind: _Kind, terms: list[str], project, limit: int, *,
                     counts: dict | None = None, quick: bool = False,
                     common_above: int = 0) -> list[dict]:
        common = [term for term in terms if self._is_common(kind, term, counts, common_above)]
        rare = [term for term in terms if term not in common]
        if not rare:
            return self._search_tiers(kind, terms, project, limit, TIER_SCORE, quick=quick)
        # A rare word counted in no row adds nothing to the ranked query: without any
        # other rare word there is nothing to rank (the same empty result, one query less).
        ranked = [term for term in rare if counts is None or counts.get(term) != 0]
        hits = self._search_ranked(kind, " OR ".join(ranked), project,
                                   max(limit, LIFT_POOL) if common else limit) if ranked else []
        if common and hits:
            self._lift(kind, hits, common, len(rare))
            hits.sort(key=lambda hit: hit["score"])
        hits = hits[:limit]
        if common and len(hits) < limit:
            seen = {hit["id"] for hit in hits}
            more = self._search_tiers(kind, common, project, limit + len(seen), 0.0, quick=quick)
            hits += [hit for hit in more if hit["id"] not in seen][:limit - len(hits)]
        return hits

    def terms_held(self, kind: str, ids: list[int], terms: list[str], *,
                   within: tuple | list = ()) -> dict:
        """Which of the quoted ``terms`` each row of ``kind`` (by id) holds: {id: set}.

        ``within``: terms every one of ``ids`` is known to hold one of (the rare words that
        found them); a term outside them is matched as ``term AND (within)``, which FTS5
        answers by walking the short lists, never the term's own whole list."""
        held: dict = {}
        if not ids:
            return held
        fts = KINDS[kind].fts
        wanted = set(ids)
        low, high = min(wanted), max(wanted)
        among = " OR ".join(within)
        for term in terms:
            match = f"{term} AND ({among})" if among and term not in within else term
            # A rowid range, filtered here, not ``rowid IN (...)``: for an IN list FTS5 reads
            # the word's whole list (~2 ms for a common word at 100k rows, per word, inside
            # the UserPromptSubmit hook); for a range it seeks to the start and stops at the
            # end (~0.07 ms for a page of recent hits). The same rows either way.
            for (rowid,) in self.db.execute(
                    f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? AND rowid BETWEEN ? AND ?",
                    (match, low, high)):
                if rowid in wanted:
                    held.setdefault(rowid, set()).add(term)
        return held

    def _lift(self, kind: _Kind, hits: list[dict], common: list[str], rare_count: int) -> None:
        """Lift each ranked hit by the common words it also holds (see ``COMMON_LIFT``)."""
        held = self.terms_held(kind.name, [hit["id"] for hit in hits], common)
        for hit in hits:
            hit["score"] *= 1.0 + COMMON_LIFT * len(held.get(hit["id"], ())) / rare_count

    def _search_ranked(self, kind: _Kind, query: str, project, limit: int) -> list[dict]:
        rank = f"bm25({kind.fts}" + (f", {kind.weights})" if kind.weights else ")")
        sql = (f"SELECT {kind.select}, {rank} AS score FROM {kind.fts} f {kind.join}"
               f" WHERE {kind.fts} MATCH ?" + (f" AND {kind.project_column} = ?" if project else "")
               + " ORDER BY score LIMIT ?")
        params = (query, project, limit) if project else (query, limit)
        return [kind.decode(row, row["score"]) for row in self.db.execute(sql, params)]

    def _search_tiers(self, kind: _Kind, terms: list[str], project, limit: int,
                      base: float, *, quick: bool = False,
                      every_word: set | None = None) -> list[dict]:
        """Newest first within tiers: every word in the main column, every word anywhere,
        any word. Scores start at ``base`` (``TIER_SCORE``: before every bm25 score; 0:
        after every one) and grow tier by tier, row by row. ``every_word`` (a set) gets
        the ids of the rows known to hold every word (those of the first tiers)."""
        sql = (f"SELECT {kind.select} FROM {kind.fts} f {kind.join} WHERE {kind.fts} MATCH ?"
               + (f" AND {kind.project_column} = ?" if project else "")
               + " ORDER BY f.rowid DESC LIMIT ?")
        every = " ".join(terms)
        tiers = [f"{kind.main_column} : ({every})"] if kind.main_column and not quick else []
        if not quick or len(terms) == 1:
            tiers.append(every)
        if len(terms) > 1:
            tiers.append(" OR ".join(terms))
        hits: list[dict] = []
        seen: set = set()
        for tier, match in enumerate(tiers):
            wanted = limit + len(seen)  # rows of an earlier tier come again: skip them
            params = (match, project, wanted) if project else (match, wanted)
            for row in self.db.execute(sql, params):
                if row["id"] in seen:
                    continue
                seen.add(row["id"])
                if every_word is not None and (len(terms) == 1 or tier < len(tiers) - 1):
                    every_word.add(row["id"])
                score = (base * (len(tiers) - tier) if base else tier * (limit + 1.0)) + len(hits)
                hits.append(kind.decode(row, score))
            if len(hits) >= limit:
                break
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
