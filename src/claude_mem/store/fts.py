"""The search indexes word by word: what every search is built from, and prompt recall's search.

Contract:
- ``KINDS``: how each kind of memory (observation, summary, prompt) is searched: its FTS5
  table (kept in sync with its table by triggers, see ``migrations``), bm25 column
  weights, join, project and main columns, and how a row becomes a hit dict
  (``observation_text``/``summary_text``: the stored text its words are matched against).
- ``query_terms(text)`` / ``fts_query(text)``: a plain-words query as quoted FTS5 terms
  (``STOP_WORDS`` dropped unless nothing else is left); see ``store.search``.
- ``IndexRoom`` (mixed into ``Store``; ``SearchRoom`` extends it): the per-word reads
  (``term_matches``: how many rows hold a word, up to a cap; ``indexed_rows``; ``terms_held``:
  which of some rows hold which words; ``idf_weights``) and ``search_terms``, one kind
  searched for already-quoted terms, as search ranked before its coverage ranking: bm25
  of the rare words, each common word a row also holds lifting it (``COMMON_LIFT``),
  tiered scores below every bm25 score (``TIER_SCORE``); prompt recall applies its own
  relevance floor to what it returns.

Why a module of its own: the UserPromptSubmit hook searches through these alone, and every
module a hook imports is paid on every prompt (``store.search``'s ranking across kinds is
for people: the CLI, the MCP server, the viewer). Standard library only.
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
# The tokenizer of every search index (migrations m002), and the most rows whose main
# column ``IndexRoom._probe_main`` indexes again (one statement's bound parameters).
TOKENIZE = "porter unicode61"
PROBE_MOST = 500
# The least ``limit`` for which the tiers of one project may come from one walk: a small
# limit's title tier fills early, so the walk saved nothing on scale.py's questions at 20
# (the CLI's and the MCP tool's) while its test cost ~0.2 ms a search; a search by
# meaning and words asks 50 (docs/search.md, round 12).
PROBE_LEAST = 50


# Whether SQLite's ln() may be used for idf weights (``SearchRoom.idf_weights``).
_sql_ln = True


def idf(rows: int, matches: int) -> float:
    """bm25's inverse document frequency of a word held by ``matches`` of ``rows`` rows."""
    import math  # here, not at the top: the UserPromptSubmit hook imports this module and
    # weighs its words with idf_weights (a shared library, 0.2-0.3 ms to load)

    return math.log(1.0 + (rows - matches + 0.5) / (matches + 0.5))


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


class IndexRoom:
    """The per-word reads of ``Store`` and prompt recall's search (mixed in)."""

    db: sqlite3.Connection
    _probes: frozenset = frozenset()  # the temporary probe tables made on this connection

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

    def matches_estimate(self, kind: str, expression: str, most: int,
                         newest: int | None = None) -> float:
        """How many rows of ``kind`` match ``expression``: exact below ``most``, else
        estimated from how far back the newest ``most`` matches reach (``newest``: the
        highest row id, ``indexed_rows`` when not given); a common word's rows are never
        all read (``SearchRoom.term_frequency``, ``_few_in_project``)."""
        fts = KINDS[kind].fts
        count, oldest = self.db.execute(
            f"SELECT count(*), min(rowid) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH ?"
            f" ORDER BY rowid DESC LIMIT ?)", (expression, most)).fetchone()
        if count < most:
            return count
        newest = newest if newest is not None else self.indexed_rows(kind)
        return max(count, count * newest / max(1, newest - oldest + 1))

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
        if not ranked:
            hits = []
        elif common:  # the pool is lifted by ids and scores; only the best are decoded
            pool = self._ranked_ids(kind, " OR ".join(ranked), project, max(limit, LIFT_POOL))
            hits = self._hits_by_id(kind, self._lift(kind, pool, common, len(rare), ranked)[:limit])
        else:
            hits = self._search_ranked(kind, " OR ".join(ranked), project, limit)
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

    def _lift(self, kind: _Kind, pool: list[tuple], common: list[str], rare_count: int,
              within: list[str]) -> list[tuple]:
        """``pool`` (``(id, bm25)`` best first) with each score lifted by the common words its
        row also holds (see ``COMMON_LIFT``), re-sorted (stable: ties keep their order).
        ``within``: the rare words whose query found the rows (each holds one), so a common
        word's rows are read only where they meet one of them: the hits of a project spread
        over the whole table (several projects, a large forget) made the rowid range most of
        a common word's list (13 ms a prompt at 100k, 5 projects)."""
        held = self.terms_held(kind.name, [rowid for rowid, _ in pool], common, within=within)
        lifted = [(rowid, score * (1.0 + COMMON_LIFT * len(held.get(rowid, ())) / rare_count))
                  for rowid, score in pool]
        lifted.sort(key=lambda pair: pair[1])
        return lifted

    def _ranked_ids(self, kind: _Kind, query: str, project, limit: int) -> list[tuple]:
        """``(id, bm25)`` of ``_search_ranked``'s rows, in its order, without their columns:
        of the ~100 rows the lift weighs, recall shows 8 (decoding all of them was ~2 ms of
        a related prompt's hook at 100k)."""
        return [tuple(row) for row in self._ranked(kind, "f.rowid", query, project, limit)]

    def _hits_by_id(self, kind: _Kind, scored: list[tuple]) -> list[dict]:
        """The hit dicts of ``(id, score)`` pairs, in their order (a row gone is skipped)."""
        if not scored:
            return []
        ids = [rowid for rowid, _ in scored]
        rows = {row["id"]: row for row in self.db.execute(
            f"{kind.fetch} ({','.join('?' * len(ids))})", ids)}
        return [kind.decode(rows[rowid], score) for rowid, score in scored if rowid in rows]

    def _search_ranked(self, kind: _Kind, query: str, project, limit: int) -> list[dict]:
        return [kind.decode(row, row["score"])
                for row in self._ranked(kind, kind.select, query, project, limit)]

    def _ranked(self, kind: _Kind, columns: str, query: str, project, limit: int):
        """``columns`` and the weighted bm25 ``score`` of the ``limit`` best rows matching
        ``query`` (in ``project``), best first."""
        rank = f"bm25({kind.fts}" + (f", {kind.weights})" if kind.weights else ")")
        sql = (f"SELECT {columns}, {rank} AS score FROM {kind.fts} f {kind.join}"
               f" WHERE {kind.fts} MATCH ?" + (f" AND {kind.project_column} = ?" if project else "")
               + " ORDER BY score LIMIT ?")
        params = (query, project, limit) if project else (query, limit)
        return self.db.execute(sql, params)

    def _search_tiers(self, kind: _Kind, terms: list[str], project, limit: int,
                      base: float, *, quick: bool = False,
                      every_word: set | None = None) -> list[dict]:
        """Newest first within tiers: every word in the main column, every word anywhere,
        any word. Scores start at ``base`` (``TIER_SCORE``: before every bm25 score; 0:
        after every one) and grow tier by tier, row by row. ``every_word`` (a set) gets
        the ids of the rows known to hold every word (those of the first tiers)."""
        return [kind.decode(row, score) for row, score in self._tier_rows(
            kind, kind.select, terms, project, limit, base, quick=quick, every_word=every_word)]

    def tier_ids(self, kind: _Kind, terms: list[str], project, limit: int, base: float, *,
                 every_word: set | None = None) -> list[tuple]:
        """``(id, score)`` of ``_search_tiers``'s rows, in its order, without their columns:
        a search decodes only the rows it finally returns (at 100k rows a query of common
        words read and decoded up to ``limit`` rows per tier and kind, three times as many
        as it kept: ~40 % of a search's CPU in the tiers' cases)."""
        return [(row["id"], score) for row, score in self._tier_rows(
            kind, "f.rowid AS id", terms, project, limit, base, every_word=every_word)]

    def _tier_rows(self, kind: _Kind, columns: str, terms: list[str], project, limit: int,
                   base: float, *, quick: bool = False, every_word: set | None = None):
        """``(row, score)`` of the tiers (see ``_search_tiers``), ``columns`` read of each
        (they include its ``id``)."""
        sql = (f"SELECT {columns} FROM {kind.fts} f {kind.join} WHERE {kind.fts} MATCH ?"
               + (f" AND {kind.project_column} = ?" if project else "")
               + " ORDER BY f.rowid DESC LIMIT ?")
        every = " ".join(terms)
        tiers = [f"{kind.main_column} : ({every})"] if kind.main_column and not quick else []
        if not quick or len(terms) == 1:
            tiers.append(every)
        if len(terms) > 1:
            tiers.append(" OR ".join(terms))
        # In one project the first two tiers may come from one walk (``_main_from_every``).
        known = (self._main_from_every(kind, sql, tiers[0], every, project, limit)
                 if project and kind.main_column and not quick
                 and PROBE_LEAST <= limit and 2 * limit <= PROBE_MOST
                 and not self.db.in_transaction and self._few_in_project(kind, every, project,
                                                                         limit) else None)
        found: list[tuple] = []
        seen: set = set()
        for tier, match in enumerate(tiers):
            wanted = limit + len(seen)  # rows of an earlier tier come again: skip them
            params = (match, project, wanted) if project else (match, wanted)
            if known is not None and tier < 2 and known[tier] is not None:
                rows = known[tier][:wanted]
            else:
                rows = self.db.execute(sql, params)
            for row in rows:
                rowid = row["id"]
                if rowid in seen:
                    continue
                seen.add(rowid)
                if every_word is not None and (len(terms) == 1 or tier < len(tiers) - 1):
                    every_word.add(rowid)
                score = (base * (len(tiers) - tier) if base else tier * (limit + 1.0)) + len(found)
                found.append((row, score))
            if len(found) >= limit:
                break
        return found[:limit]

    def _main_from_every(self, kind: _Kind, sql: str, main: str, every: str, project: str,
                         limit: int) -> tuple:
        """(the main-column tier's rows or None, the every-word tier's rows) of
        ``_tier_rows`` in ``project``, from one walk of the every-word tier.

        Why: a project holding fewer than ``limit`` rows with every word in the main column
        made the first tier walk every match of the words in every project (the index knows
        no project), and the second tier walk them all again: ~4 ms each for an observation
        at 100k rows, where the tiers over every project stop after ``limit`` rows. The
        rows holding every word in the main column are among those holding every word
        anywhere, so the newest ``2 * limit`` of the latter are read (enough for the second
        tier, which reads at most ``limit`` more than the first gave) and their main column
        is matched in a small index of their own (``_probe_main``, the same tokenizer).
        When that walk ran out (every such row of the project read) or found ``limit``
        rows for the first tier, the first tier is those; otherwise it is read as before.
        The rows, their order and the tiers are the same either way."""
        most = 2 * limit
        walked = self.db.execute(sql, (every, project, most)).fetchall()
        held = self._probe_main(kind, [row["id"] for row in walked], main)
        first = [row for row in walked if row["id"] in held]
        if len(walked) < most or len(first) >= limit:
            return first[:limit], walked
        return None, walked

    def _few_in_project(self, kind: _Kind, every: str, project: str, limit: int) -> bool:
        """Whether ``project`` likely holds fewer than ``2 * limit`` rows of ``kind`` with
        every word (``every``), so that ``_main_from_every``'s walk reads them all: the rows
        with every word in every project (``matches_estimate``: from how far back the newest
        ``limit`` of them reach) times the project's share of the
        sessions. Where the project holds many (a project with most of the memory, or
        common words), its title tier fills soon and the tiers stay as they were: there the
        extra walk cost 2.5-5.4 ms at 100k (docs/search.md, round 12)."""
        sessions = self.db.execute("SELECT coalesce(max(id), 0) FROM sessions").fetchone()[0]
        if not sessions:
            return False
        most = sessions // 4 + 1  # a project with a quarter of the sessions or more: no
        mine = self.db.execute("SELECT count(*) FROM (SELECT 1 FROM sessions WHERE project = ?"
                               " LIMIT ?)", (project, most)).fetchone()[0]
        if mine >= most:
            return False
        return self.matches_estimate(kind.name, every, limit) * mine / sessions < 2 * limit

    def _probe_main(self, kind: _Kind, ids: list[int], main: str) -> set:
        """The ``ids`` (rows of ``kind``) whose main column matches ``main`` (an FTS5
        expression on that column): the column's text is indexed again in a temporary
        FTS5 table of this connection, with the tokenizer of the kind's own index."""
        if not ids:
            return set()
        name = f"probe_{kind.main_column}"
        if name not in self._probes:
            # contentless: it keeps the words only (emptied by 'delete-all': 0.2-0.3 ms for
            # 100 titles, where a plain table's DELETE took 0.5-0.6)
            self.db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{name} USING fts5("
                            f"{kind.main_column}, content='', tokenize='{TOKENIZE}')")
            self._probes = self._probes | {name}
        self.db.execute(f"INSERT INTO temp.{name}({name}) VALUES ('delete-all')")
        self.db.execute(
            f"INSERT INTO temp.{name}(rowid, {kind.main_column}) SELECT id, {kind.main_column}"
            f" FROM {kind.table} WHERE id IN ({','.join('?' * len(ids))})", ids)
        return {rowid for (rowid,) in self.db.execute(
            f"SELECT rowid FROM temp.{name} WHERE {name} MATCH ?", (main,))}
