"""What each memory recalled at the prompt shows: the lines of its stored text that hold
the answer, within the block's budget (``render``); ``recall.py`` chooses the memories.

A memory's title rarely holds the answer; a line of its stored text usually does (the
error and its cause, the figure, the name). Each memory is cut into segments (its lines,
long lines into sentences), and a segment is worth the prompt's weight it holds (the
rarer words count more, as in the floor) plus a bonus when it has the marks of what the
prompt asks for (``ASKS``): a cause, a fix, a figure, a name, a decision, what is open.
The block then takes the best segment of each memory in turn, best memory first, and
goes round again while room is left: several memories, each with its answer line,
before a second line of any one. A prompt word the block already shows (in an earlier
memory's head or line, or this memory's head) counts for less in a memory's lines: its
best line is the one that adds what the block has not said.

Contract: ``render(hits, budget_chars, asked_for(prompt), start_lines(store, session))`` is
``(block, the hits it holds)``; ``("", [])`` when nothing is worth showing. Imported only
when a memory cleared the floor: most prompts get nothing, and this module is most of
recall's code (each module a hook imports is paid on every prompt). Standard library only.
"""

from claude_mem.recall_words import ACTION_WORDS, find_word
from claude_mem.store.fts import STOP_WORDS

# What a prompt asks for: the words of a prompt that ask it, and the marks of a segment
# that tends to hold it, each mark group with its bonus (against 1.0 for all the prompt's
# words). Explanations ("because", "so") count more than the mere mention of a failure.
ASKS = {
    "cause": (frozenset("""why cause caused causes wrong error errors fail failed failing fails
              failure broke broken break breaks crash crashed crashing bug problem issue
              complain complained report reported warn warning warned flag flagged went""".split()),
              ((0.8, ("cause", "because", "due to", "turned out", "root")),
               (0.3, (" so ", "so that", "instead", "since", "never", "wrong", "problem")),
               (0.2, ("error", "exception", "failed", "fatal", "panic", "traceback", "cannot",
                      "can't", "could not", "not found", "denied", "expected", "missing",
                      "invalid", "warning", "left:", "assert")))),
    "fix": (frozenset("fix fixed fixing solve solved resolve resolved workaround".split()),
            ((0.4, ("fix", "switched", "changed", "replaced", "instead", "now uses")),
             (0.2, ("→", "edited", "now ")))),
    "figure": (frozenset("""many much count number total coverage percent values value size
               version figure figures""".split()),
               ((0.4, ("passed", "tests", "failures", "failed", "%", "total", "coverage",
                       "version")),)),
    "name": (frozenset("""which name named called file function method class module
             command commit branch image package tool id""".split()),
             ((0.2, ("`", "_", "/", "commit", "branch", "created", "named", "called")),)),
    "commit": (frozenset("sha hash revision".split()), ()),  # and COMMIT_ASKED
    "decision": (frozenset("""decide decided decision settle settled choose chose chosen pick
                 picked agree agreed prefer""".split()),
                 ((0.4, ("decided", "chose", "settled", "agreed", "going with", "instead",
                         "prefer", "pick", "use ")),)),
    "open": (frozenset("""left open still todo remaining next pending unfinished outstanding
             later""".split()),
             ((0.4, ("next", "todo", "left", "still", "remaining", "not yet", "open", "later",
                     "follow", "should", "need", "pending")),)),
}
# Fields of a memory where what is asked is usually told: a summary's closing notes (the
# agent's own account: causes, decisions) and what it learned; what is left in next steps.
FIELD_BONUS = {
    "cause": {"notes": 0.2, "learned": 0.1, "facts": 0.1, "narrative": 0.1},
    "fix": {"notes": 0.2, "completed": 0.1},
    "figure": {"notes": 0.1, "completed": 0.1, "learned": 0.1},
    "decision": {"notes": 0.2},
    "open": {"next_steps": 0.3, "notes": 0.1},
}
INFO_BONUS = 0.2     # a segment with a figure or a name in it says more than prose
COMMIT_BONUS = 0.5   # a commit id in a segment, for a prompt asking which commit
# A prompt asks for a commit id with these (not every prompt naming a commit does).
COMMIT_ASKED = ("which commit", "what commit", "commit id", "commit hash", "commit was it")
SEGMENT_CHARS = 220  # a longer segment is shown as a window around what it holds
SEGMENTS_PER_MEMORY = 3
MAX_MEMORIES = 6
HEAD_CHARS = 110
OPENING_CHARS = 12
REPEAT_FACTOR = 0.5
# A memory the start context listed comes back only for a line at least this good: one
# with the prompt's words or the marks of what it asks, more than a bare figure
# ("Created CHANGELOG.md (10 lines)", "Exit code 0"). 0.3 to 0.5 above INFO_BONUS were the
# same on the tune set.
LISTED_MIN = INFO_BONUS + 0.3
HEAD_WORD_FACTOR = 0.3
# A memory's fields in the order they are shown; the first (title, request) is its head.
FIELDS = {"observation": ("subtitle", "narrative", "facts", "files_modified", "files_read"),
          "summary": ("investigated", "learned", "completed", "next_steps", "notes",
                      "files_edited", "files_read")}


def asked_for(prompt: str) -> list[str]:
    """What the prompt asks for (keys of ``ASKS``), from its words."""
    words = {w.strip("?!.,;:()[]{}<>'\"`").lower() for w in prompt.split()}
    asks = [name for name, (asking, _) in ASKS.items() if words & asking]
    if "commit" not in asks:
        text = " ".join(prompt.lower().split())
        if any(phrase in text for phrase in COMMIT_ASKED):
            asks.append("commit")
    return asks


def _split(line: str) -> list[str]:
    """A line as segments: itself, or when long its sentences packed up to SEGMENT_CHARS."""
    if len(line) <= SEGMENT_CHARS:
        return [line]
    out, sentence = [], ""
    for part in line.replace(". ", ".\n").replace("; ", ";\n").splitlines():
        if sentence and len(sentence) + len(part) + 1 > SEGMENT_CHARS:
            out.append(sentence)
            sentence = ""
        sentence = (sentence + " " + part).strip()
    if sentence:
        out.append(sentence)
    return out


def _segments(hit: dict) -> list[tuple[str, str]]:
    """(field, segment) of a memory's stored text after its head, in order."""
    fields = FIELDS.get(hit.get("kind"), ())
    out = []
    if fields and any(hit.get(f) for f in fields):
        for field in fields:
            value = hit.get(field)
            lines = value if isinstance(value, (list, tuple)) else str(value or "").splitlines()
            for line in lines:
                line = " ".join(str(line).split())
                out.extend((field, part) for part in _split(line) if line)
        return out
    for line in str(hit.get("text") or "").splitlines()[1:]:
        line = " ".join(line.split())
        out.extend(("", part) for part in _split(line) if line)
    return out


_DIGITS = frozenset("0123456789")


_HEX = frozenset("0123456789abcdef")
_HEX_LETTERS = frozenset("abcdef")


def _has_digit(low: str) -> bool:
    return not _DIGITS.isdisjoint(low)


def _segment_score(low: str, field: str, weights: dict, marks: list) -> tuple[float, int]:
    """(worth, where the best of it starts) of a lowered segment; ``marks`` as
    ``_marks_of`` gives them."""
    score, where, best = 0.0, -1, 0.0
    for word, weight in weights.items():
        at = low.find(word)
        if at > 0 and low[at - 1].isalnum():
            at = find_word(low, word)
        if at >= 0:
            score += weight
            if weight > best:
                best, where = weight, at
    digit = _has_digit(low)
    for needs_digit, groups, fields in marks:
        if needs_digit and not digit:
            continue
        for bonus, group in groups:
            for mark in group:
                at = low.find(mark)
                if at >= 0:
                    score += bonus
                    if where < 0:
                        where = at
                    break
        score += fields.get(field, 0.0)
    if digit or "`" in low:
        score += INFO_BONUS
    return score, max(where, 0)


def _commit_id_at(low: str) -> int:
    """Where a commit id (7 to 40 hex digits, letters and digits both) starts in ``low``,
    or -1: what a prompt asking "which commit" wants to see."""
    for token in low.translate(_WORD_CHARS).split():
        if 7 <= len(token) <= 40 and not _DIGITS.isdisjoint(token) \
                and not _HEX_LETTERS.isdisjoint(token) and _HEX.issuperset(token):
            return low.find(token)
    return -1


def _marks_of(asks: list[str], text: str) -> list:
    """For each thing asked: (needs a figure, [(bonus, its marks found in ``text``)],
    field bonuses); marks absent from the memory's whole text are never looked for."""
    out = []
    for name in asks:
        groups = [(bonus, [m for m in group if m in text]) for bonus, group in ASKS[name][1]]
        out.append((name == "figure", [g for g in groups if g[1]], FIELD_BONUS.get(name, {})))
    return out


def _window(segment: str, where: int) -> str:
    """``segment`` cut to ``SEGMENT_CHARS`` around position ``where``."""
    if len(segment) <= SEGMENT_CHARS:
        return segment
    start = max(0, min(where - SEGMENT_CHARS // 3, len(segment) - SEGMENT_CHARS + 2))
    cut = segment[start:start + SEGMENT_CHARS - 2]
    return ("…" if start else "") + cut + ("…" if start + len(cut) < len(segment) else "")


_WORD_CHARS = str.maketrans({c: " " for c in "`'\"()[]{}<>.,;:!?/\\|=+*&^%$#@~-_→…"})


def _words(text: str) -> set:
    return set(text.lower().translate(_WORD_CHARS).split())


def _head(hit: dict, stamped: bool = True) -> str:
    """The memory's head line; ``stamped=False``: without its id and time (what the head
    says, for the words it has already shown)."""
    from claude_mem.text import one_line, when

    if hit["kind"] == "observation":
        stamp = f"#{hit['id']} ({when(hit.get('created_at'))}, " if stamped else "("
        return f"- obs {stamp}{hit.get('type', '')}): {one_line(hit.get('title'), HEAD_CHARS)}"
    stamp = (f"#{hit['id']} ({when(hit.get('updated_at') or hit.get('created_at'))}): "
             if stamped else "")
    return f"- summary {stamp}{one_line(hit.get('request'), HEAD_CHARS)}"


def _id_room(hit: dict) -> int:
    """The characters a head's id is counted for in the budget: as many as the highest id
    of its kind has (``ids_up_to``, set by ``recall.relevant``). The same memory has
    another id after another replay order, one digit more or less; counted at the memory's
    widest, the block chosen does not depend on it (the block is a few characters shorter
    than the budget where the id is narrower)."""
    digits = len(str(hit["id"]))
    return max(digits, len(str(hit.get("ids_up_to") or 0))) - digits


def _ranked_segments(hit: dict, head: str, asks: list[str]) -> list[tuple]:
    """(worth, position, shown text, its words) of a memory's best segments, best first."""
    text = str(hit.get("text") or "").lower()
    # A word the head already shows says which memory this is, not which of its lines
    # answers: it counts for less there. Its id and time are no such word: they would
    # make the block depend on when and in what order the memory was stored.
    shown = head.lower()
    weights = {stem: w * (HEAD_WORD_FACTOR if stem in shown else 1.0)
               for stem, w in (hit.get("weights") or {}).items() if stem in text}
    marks = _marks_of(asks, text)
    commit = "commit" in asks and _has_digit(text)
    scored = []
    for n, (field, segment) in enumerate(_segments(hit)):
        low = segment.lower()
        score, where = _segment_score(low, field, weights, marks)
        if commit and _has_digit(low) and _commit_id_at(low) >= 0:
            score += COMMIT_BONUS
        if score > 0:
            scored.append((-score, n, segment, where))
    scored.sort()
    out, openings = [], set()
    for negative, n, segment, where in scored[:SEGMENTS_PER_MEMORY + 4]:
        shown = _window(segment, where)
        opening = shown[:OPENING_CHARS]
        # A run of look-alike lines ("No files match `a`", "No files match `b`"): the
        # first speaks for them; the others go to the back.
        out.append((-negative * (REPEAT_FACTOR if opening in openings else 1.0), n, shown,
                    _words(shown)))
        openings.add(opening)
    out.sort(key=lambda segment: (-segment[0], segment[1]))
    return out


HEADER = ("claude-mem: earlier work in this project that this prompt may be about "
          "(more: MCP get_observations / `claude-mem show obs ID`):")


def _new_to(words: set, said: set) -> bool:
    """Whether a segment of ``words`` says enough that ``said`` does not (a fifth)."""
    return bool(words) and len(words - said) > len(words) // 5


def _said_words(text: str) -> list[str]:
    """The words of ``text`` that say something (not stop words or words of asking), in
    order; a leading field label ("Purpose:", "Command:") says nothing either."""
    label, colon, rest = text.partition(": ")
    if colon and len(label) <= 20 and " " not in label.strip():
        text = rest
    return [word for word in text.lower().translate(_WORD_CHARS).split()
            if word not in STOP_WORDS and word not in ACTION_WORDS]


class StartLines:
    """What a session's start context said, to tell whether a segment says it again: the
    pairs of neighbouring words that say something, line by line. A segment repeats it
    when all its pairs but a fifth are there ("Purpose: Write the retry budget" repeats
    "retry budget = 3"), not when its words are merely scattered over a long paragraph
    ("Defines: LineItem, amount, Invoice, subtotal" is new beside a reply that mentions
    each word)."""

    def __init__(self, lines=()):
        self.pairs: set = set()
        self.words: set = set()
        for line in lines:
            words = _said_words(line)
            self.words.update(words)
            self.pairs.update(zip(words, words[1:]))

    def repeats(self, segment: str) -> bool:
        if not self.words:
            return False
        words = _said_words(segment)
        if len(words) < 2:
            return bool(words) and words[0] in self.words
        pairs = set(zip(words, words[1:]))
        return len(pairs - self.pairs) <= len(pairs) // 5


def start_lines(store, session: str) -> StartLines:
    """What the session's start context said (its text, as SessionStart recorded it)."""
    return StartLines(store.shown_context(session).splitlines())


def render(hits: list[dict], budget_chars: int, asks=(), said_at_start=None
           ) -> tuple[str, list[dict]]:
    """The block and the hits it holds: each memory's head and its best segment, best
    memory first, while they fit; then more segments round by round. A memory whose title
    an earlier one already shows, and a segment an earlier memory already said (a summary
    repeats its observations' titles) or the start context said (``said_at_start``, a
    ``StartLines``), are left out. A memory the start context listed (``listed``) comes
    under a head without its title, and only with a line of its own."""
    said_at = said_at_start or StartLines()
    used = len(HEADER) + 1
    entries = []  # [hit, head, ranked segments, chosen]
    shown = ""  # what the block's heads and first lines say so far
    titles, said = set(), set()

    def pick(ranked, start):
        """The first segment from ``start`` that says something new: (index, segment)."""
        for index in range(start, len(ranked)):
            words = ranked[index][3]
            if _new_to(words, said) and not said_at.repeats(ranked[index][2]):
                return index, ranked[index], words
        return len(ranked), None, set()

    for hit in hits[:MAX_MEMORIES + 4]:
        if len(entries) >= MAX_MEMORIES:
            break
        title = " ".join(str(hit.get("title") or "").split()).lower()
        if title in titles:
            continue  # the same thing done again ("Read core.py" twice): one is enough
        head, says = _head(hit), _head(hit, stamped=False)
        # The prompt's words the block's earlier heads and lines already show count for
        # less in this memory's lines too, as its own head's do: its best line is then
        # the one that says what the block has not (round 14).
        ranked = _ranked_segments(hit, shown + says, list(asks))
        if hit.get("listed"):
            # The start context listed it by this title: name it by its id only, and show
            # it only for a line that says more.
            said |= _words(says)
            kind = "obs" if hit["kind"] == "observation" else "summary"
            head, says = f"- {kind} #{hit['id']} (listed at session start):", kind
        index, first, words = pick(ranked, 0)
        if hit.get("listed") and (first is None or first[0] < LISTED_MIN):
            continue  # nothing it says is worth more than what the start context listed
        room = len(head) + _id_room(hit)
        cost = room + 1 + (len(first[2]) + 3 if first else 0)
        if used + cost > budget_chars:
            if used + room + 1 > budget_chars or entries:
                continue  # a later, shorter memory may still fit
            first, cost = None, room + 1
        titles.add(title)
        said |= _words(says) | (words if first else set())
        entries.append([hit, head, ranked, [first] if first else [], index + 1])
        used += cost
        shown += says.lower() + "\n" + (first[2].lower() + "\n" if first else "")
    for _ in range(1, SEGMENTS_PER_MEMORY):
        for entry in entries:
            ranked, chosen, start = entry[2], entry[3], entry[4]
            if not chosen:
                continue
            index, segment, words = pick(ranked, start)
            entry[4] = index + 1
            if segment is None or segment[0] < chosen[0][0] * 0.5:
                continue  # much weaker than the memory's best: not worth the room
            if used + len(segment[2]) + 3 <= budget_chars:
                chosen.append(segment)
                said |= words
                used += len(segment[2]) + 3
    if not entries:
        return "", []
    parts = [HEADER]
    for hit, head, _, chosen, _ in entries:
        parts.append(head)
        parts.extend("  " + segment[2] for segment in sorted(chosen, key=lambda s: s[1]))
    return "\n".join(parts), [entry[0] for entry in entries]
