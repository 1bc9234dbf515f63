"""Tolerant reader of the ``<observation>`` / ``<summary>`` XML an LLM compressor writes.

Contract
--------
``parse_observations(text) -> (list[Observation], warnings)``
``parse_summary(text)      -> (Summary | None, warnings)``
``parse_reply(text)        -> (list[Observation], Summary | None, warnings)``

Standard library only. These functions never raise on any ``str`` (anything
else is coerced to text); every repair they make is reported as a short,
human-readable warning string so the worker can log it and fall back to the
heuristic compressor when nothing usable came back.

Model output is not well-formed XML, so this is a hand-rolled scanner, not an
XML parser. The rules:

* Only known tag names are structure (matched case-insensitively, ``-`` and
  ``_`` ignored, attributes allowed and ignored except ``type=`` on
  ``<observation>``). Any other tag inside a field is kept as literal text.
* Prose, code fences, ``<?xml?>`` declarations and comments around or between
  blocks are ignored. ``<skip/>`` is a valid "nothing to record" answer.
* Entities ``&amp; &lt; &gt; &quot; &apos; &#NN; &#xHH;`` are decoded; other
  ``&`` text is left alone. ``<![CDATA[...]]>`` content is kept verbatim.
* A field whose closing tag is missing ends at the next known tag, at the end
  of its block, or at the end of the reply (truncation). A block whose closing
  tag is missing keeps every field it has.
* List fields take repeated child tags (``<fact>``, ``<concept>``, ``<file>``)
  and/or loose text split into lines with bullets (``-``, ``*``, ``1.``)
  removed; concepts and files also split on commas. Duplicates are removed,
  order kept (concepts compared case-insensitively).
* Whitespace: single-line fields and list entries collapse to single spaces;
  multi-line fields are dedented, lines right-stripped, runs of blank lines
  collapsed to one, ends stripped. Control characters are dropped.
* Caps: title 200, subtitle 300, fact 500, concept 100, file 1000,
  narrative and summary fields 4000 characters; at most 50 facts, 30
  concepts, 200 files per list. Longer values are cut and end with "…".
* An observation needs a title or a narrative (a missing title is derived from
  the narrative's first sentence), otherwise it is dropped. A missing type
  becomes "change"; an unknown one is mapped to the closest of
  ``OBSERVATION_TYPES`` (e.g. "bug" -> bugfix, "feat" -> feature,
  "research" -> discovery), else "change".
* Several summaries in one reply: the last complete one wins.
* A reply with no recognisable block yields nothing and exactly one warning.

Longer than most modules on purpose: the rules above are one concern (reading model
output) and each repair depends on the scanner's state, so splitting it would only
scatter that state.
"""
from __future__ import annotations

import re
import textwrap

from ..models import OBSERVATION_TYPES, Observation, Summary

__all__ = ["parse_observations", "parse_summary", "parse_reply"]

# --- caps ---------------------------------------------------------------

TITLE_MAX = 200
SUBTITLE_MAX = 300
FACT_MAX = 500
CONCEPT_MAX = 100
FILE_MAX = 1000
TEXT_MAX = 4000  # narrative and every summary text field
DERIVED_TITLE_MAX = 80
MAX_FACTS = 50
MAX_CONCEPTS = 30
MAX_FILES = 200

# --- vocabulary ---------------------------------------------------------

_OBS_SCALARS = ("type", "title", "subtitle", "narrative")
_OBS_LISTS = ("facts", "concepts", "files_read", "files_modified")
_SUM_SCALARS = ("request", "investigated", "learned", "completed", "next_steps", "notes")
_SUM_LISTS = ("files_read", "files_edited")
_BLOCK_FIELDS = {
    "observation": frozenset(_OBS_SCALARS + _OBS_LISTS),
    "summary": frozenset(_SUM_SCALARS + _SUM_LISTS),
}
_LIST_FIELDS = frozenset(_OBS_LISTS + _SUM_LISTS)
_ALL_FIELDS = _BLOCK_FIELDS["observation"] | _BLOCK_FIELDS["summary"]
_ITEMS = frozenset(("fact", "concept", "file", "item"))
_WRAPPERS = frozenset(("observations", "summaries"))

# Keys are tag names lower-cased with "-" and "_" removed, so FILES-READ,
# files_read and filesRead all land on the same field.
_ALIASES = {
    "observation": "observation",
    "summary": "summary",
    "observations": "observations",
    "summaries": "summaries",
    "skip": "skip",
    "type": "type",
    "title": "title",
    "subtitle": "subtitle",
    "narrative": "narrative",
    "facts": "facts",
    "concepts": "concepts",
    "filesread": "files_read",
    "fileread": "files_read",
    "filesmodified": "files_modified",
    "filemodified": "files_modified",
    "fileschanged": "files_modified",
    "fileswritten": "files_modified",
    "filesedited": "files_edited",
    "fileedited": "files_edited",
    "request": "request",
    "investigated": "investigated",
    "learned": "learned",
    "completed": "completed",
    "nextsteps": "next_steps",
    "nextstep": "next_steps",
    "notes": "notes",
    "note": "notes",
    "fact": "fact",
    "concept": "concept",
    "file": "file",
    "item": "item",
    "li": "item",
}

# Outside any block, a field tag implies which block the model forgot to open.
_IMPLICIT_KIND = {f: "observation" for f in ("type", "title", "subtitle", "narrative", "facts", "concepts", "files_modified")}
_IMPLICIT_KIND.update({f: "summary" for f in ("request", "investigated", "learned", "completed", "next_steps", "notes", "files_edited")})

_TYPE_ALIASES = {
    "bug": "bugfix", "bugs": "bugfix", "fix": "bugfix", "fixes": "bugfix", "fixed": "bugfix",
    "hotfix": "bugfix", "bugfixes": "bugfix", "bug fix": "bugfix", "patch": "bugfix",
    "feat": "feature", "features": "feature", "new": "feature", "new feature": "feature",
    "add": "feature", "added": "feature", "addition": "feature", "enhancement": "feature",
    "implementation": "feature", "implemented": "feature",
    "refactoring": "refactor", "refactored": "refactor", "refactors": "refactor",
    "cleanup": "refactor", "clean up": "refactor", "restructure": "refactor",
    "investigation": "discovery", "investigate": "discovery", "research": "discovery",
    "finding": "discovery", "findings": "discovery", "learning": "discovery",
    "insight": "discovery", "analysis": "discovery", "exploration": "discovery",
    "explore": "discovery", "discovered": "discovery", "discoveries": "discovery",
    "how it works": "discovery",
    "decided": "decision", "decisions": "decision", "choice": "decision",
    "tradeoff": "decision", "trade off": "decision",
    "changes": "change", "changed": "change", "update": "change", "updated": "change",
    "modification": "change", "chore": "change",
}

# --- lexical helpers ----------------------------------------------------

# A tag: name, then attributes (quoted values may hold ">" but never "<",
# which keeps every match bounded by the next "<" and the scan linear).
_TAG_RE = re.compile(r"""<(/?)([A-Za-z_][\w.:-]*)((?:[\s/](?:"[^"<]*"|'[^'<]*'|[^'"<>])*)?)>""")
_DECL_RE = re.compile(r"<[?!][^<>]*>")  # <?xml ...?>, <!DOCTYPE ...>
_PARTIAL_TAG_RE = re.compile(r"</?(?:[A-Za-z_!?][^<>]*)?\Z")  # a tag cut off by truncation
_ATTR_RE = re.compile(r"""([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>/]+))""")
_ENTITY_RE = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANKS_RE = re.compile(r"\n{3,}")
_BULLET_RE = re.compile(r"^\s*(?:[-*+\u2022\u2023\u25aa\u00b7]|\d{1,3}[.)])\s+")
_FENCE_LINE_RE = re.compile(r"^\s*(?:`{3,}|~{3,})[\w+.-]*\s*$")
_TAIL_FENCE_RE = re.compile(r"(?:`{3,}|~{3,})[\w+.-]*\s*\Z")
_SENTENCE_RE = re.compile(r"(.+?[.!?])(?:\s|\Z)")
_ALNUM_RE = re.compile(r"[^\W_]")
_ESCAPED_BLOCK_RE = re.compile(r"&lt;\s*/?\s*(?:observation|summary)\b", re.IGNORECASE)


def _decode_entity(m: re.Match) -> str:
    name, dec, hexa = m.groups()
    if name:
        return _NAMED[name]
    code = int(dec) if dec else int(hexa, 16)
    # Invalid code points stay as written rather than raising or vanishing.
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return m.group(0)
    return chr(code)


def _decode(text: str) -> str:
    return _ENTITY_RE.sub(_decode_entity, text) if "&" in text else text


def _squash(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def _tokenize(text: str) -> list[tuple]:
    """Split text into ("text", s) / ("cdata", s) / ("tag", close, name, attrs, raw) tokens.

    Text is entity-decoded; CDATA is not. Comments and declarations vanish;
    a tag cut off at the very end of the reply becomes ("partial", raw).
    """
    tokens: list[tuple] = []
    n = len(text)
    pos = start = 0
    comment_closes = True  # once "-->" is missing, stop searching for it (keeps it linear)

    def flush(end: int) -> None:
        if end > start:
            tokens.append(("text", _decode(text[start:end])))

    while True:
        lt = text.find("<", pos)
        if lt < 0:
            break
        if text.startswith("<![CDATA[", lt):
            flush(lt)
            end = text.find("]]>", lt + 9)
            if end < 0:  # truncated CDATA: verbatim to the end
                tokens.append(("cdata", text[lt + 9:]))
                pos = start = n
                break
            tokens.append(("cdata", text[lt + 9:end]))
            pos = start = end + 3
            continue
        if text.startswith("<!--", lt) and comment_closes:
            end = text.find("-->", lt + 4)
            if end >= 0:
                flush(lt)
                pos = start = end + 3
                continue
            comment_closes = False
        m = _TAG_RE.match(text, lt)
        if m:
            flush(lt)
            tokens.append(("tag", m.group(1) == "/", m.group(2), m.group(3), m.group(0)))
            pos = start = m.end()
            continue
        m = _DECL_RE.match(text, lt)
        if m:
            flush(lt)
            pos = start = m.end()
            continue
        pos = lt + 1
    if start < n:
        rest = text[start:]
        m = _PARTIAL_TAG_RE.search(rest)
        if m:
            if m.start():
                tokens.append(("text", _decode(rest[:m.start()])))
            tokens.append(("partial", rest[m.start():]))
        else:
            tokens.append(("text", _decode(rest)))
    return tokens


# --- scanning into raw blocks -------------------------------------------


class _Block:
    __slots__ = ("kind", "attrs", "closed", "implicit", "scalars", "lists", "loose", "notes")

    def __init__(self, kind: str, attrs: str = "", implicit: bool = False) -> None:
        self.kind = kind
        self.attrs = attrs
        self.closed = False
        self.implicit = implicit
        self.scalars: dict[str, list[str]] = {}
        self.lists: dict[str, list[str]] = {}
        self.loose: list[str] = []
        self.notes: list[str] = []


class _Scanner:
    """Walks the tokens once, collecting raw (unnormalised) field text per block."""

    def __init__(self, allow_implicit: bool) -> None:
        self.allow_implicit = allow_implicit
        self.blocks: list[_Block] = []
        self.block: _Block | None = None
        self.field: str | None = None
        self.ignored = False  # the open field is not one of this block's fields
        self.quiet = False  # the open list field was implied by a bare <fact>/<concept>
        self.parts: list[str] = []
        self.items: list[str] = []
        self.item: list[str] | None = None
        self.saw_skip = False
        self.stray = 0

    # fields and items

    def _canon(self, name: str) -> str | None:
        c = _ALIASES.get(_squash(name))
        if self.block is not None and c in ("files_modified", "files_edited"):
            # Models mix up the two spellings; the block decides which it is.
            c = "files_modified" if self.block.kind == "observation" else "files_edited"
        return c

    def _start_field(self, name: str, quiet: bool = False) -> None:
        self.field = name
        self.ignored = name not in _BLOCK_FIELDS[self.block.kind]
        self.quiet = quiet
        if self.ignored:
            self.block.notes.append(f"<{name}> does not belong in <{self.block.kind}>; ignored")

    def _end_item(self, how: str) -> None:
        raw = "".join(self.item or ())
        if how == "eof":
            raw = _TAIL_FENCE_RE.sub("", raw)
        self.items.append(raw)
        self.item = None

    def _end_field(self, how: str) -> None:
        """how: "closed" (its own end tag), "next" (another known tag), "eof"."""
        if self.field is None:
            return
        f, b = self.field, self.block
        if self.item is not None:
            self._end_item(how)
        loose = "".join(self.parts)
        if how == "eof":
            loose = _TAIL_FENCE_RE.sub("", loose)
        if not self.ignored:
            if f in _LIST_FIELDS:
                b.lists.setdefault(f, []).extend(self.items + _split_loose(loose, f))
            else:
                b.scalars.setdefault(f, []).append(loose)
            if how == "eof":
                b.notes.append(f"<{f}> cut off by the end of the reply; kept what was there")
            elif how == "next" and not self.quiet:
                b.notes.append(f"<{f}> was not closed")
        self.field, self.ignored, self.quiet = None, False, False
        self.parts, self.items, self.item = [], [], None

    def _end_block(self, how: str) -> None:
        b = self.block
        if b is None:
            return
        self._end_field("eof" if how == "eof" else "next")
        b.closed = how == "closed"
        if not b.implicit:
            if how == "eof":
                b.notes.append(f"<{b.kind}> not closed (reply truncated?)")
            elif how == "next":
                b.notes.append(f"<{b.kind}> not closed before the next block")
        self.blocks.append(b)
        self.block = None

    # token handlers

    def text(self, s: str) -> None:
        if self.block is None:
            return
        if self.field is None:
            self.block.loose.append(s)
        elif self.ignored:
            return
        elif self.item is not None:
            self.item.append(s)
        else:
            self.parts.append(s)

    def tag(self, close: bool, name: str, attrs: str, raw: str) -> None:
        c = self._canon(name)
        selfclose = attrs.rstrip().endswith("/")
        if c is None:
            # Not ours: literal text (a model writing about <div> in a narrative).
            self.text("\n" if _squash(name) == "br" else raw)
        elif c in ("observation", "summary"):
            if close:
                if self.block is not None:
                    if self.block.kind != c:
                        self.block.notes.append(f"<{self.block.kind}> ended by </{c}>")
                    self._end_block("closed")
            else:
                self._end_block("next")
                self.block = _Block(c, attrs)
                if selfclose:
                    self._end_block("closed")
        elif c in _WRAPPERS:
            self._end_block("next")
        elif c == "skip":
            self.saw_skip = True
        elif c in _ALL_FIELDS:
            self._field_tag(close, c, selfclose)
        else:  # an item tag
            self._item_tag(close, c, selfclose, raw)

    def _field_tag(self, close: bool, c: str, selfclose: bool) -> None:
        if close:
            # Any known field end tag ends the open field: a mismatched one is
            # far more often a typo than content.
            if self.field is not None:
                self._end_field("closed")
            return
        kind = _IMPLICIT_KIND.get(c) if self.allow_implicit else None
        if self.block is None:
            if kind is None:
                self.stray += 1
                return
            self._open_implicit(kind)
        elif self.block.implicit and kind is not None and kind != self.block.kind:
            self._open_implicit(kind)
        c = self._canon(c)
        self._end_field("next")
        self._start_field(c)
        if selfclose:
            self._end_field("closed")

    def _open_implicit(self, kind: str) -> None:
        self._end_block("next")
        self.block = _Block(kind, implicit=True)
        self.block.notes.append(f"fields given without a <{kind}> wrapper; read anyway")

    def _item_tag(self, close: bool, c: str, selfclose: bool, raw: str) -> None:
        if self.block is None:
            return
        if close:
            if self.item is not None:
                self._end_item("closed")
            return
        target = {"fact": "facts", "concept": "concepts"}.get(c)
        if self.field is None or (self.quiet and target is not None and target != self.field):
            if target is None or target not in _BLOCK_FIELDS[self.block.kind]:
                return  # a bare <file>: read or modified? Unknowable, so ignored.
            self._end_field("next")
            self._start_field(target, quiet=True)
        if self.ignored:
            return
        if self.field in _LIST_FIELDS:
            if self.item is not None:
                self._end_item("next")
            self.item = []
            if selfclose:
                self._end_item("closed")
        else:
            self.text(raw)

    def finish(self) -> None:
        self._end_block("eof")


def _split_loose(text: str, field: str) -> list[str]:
    """Loose text in a list field: one entry per line or per bullet.

    When some lines carry bullets, an unbulleted line continues the entry
    above it (a fact wrapped over two lines stays one fact).
    """
    if not text.strip():
        return []
    lines = [line for line in text.splitlines() if line.strip() and not _FENCE_LINE_RE.match(line)]
    bulleted = any(_BULLET_RE.match(line) for line in lines)
    entries: list[str] = []
    for line in lines:
        m = _BULLET_RE.match(line)
        if m or not bulleted or not entries:
            entries.append(line[m.end():] if m else line)
        else:
            entries[-1] += " " + line
    if field == "facts":
        return entries
    # Concepts and paths never hold commas in practice; models list them inline.
    return [part for entry in entries for part in entry.split(",")]


# --- normalising raw blocks into records --------------------------------


def _clean_line(s: str) -> str:
    return " ".join(_CTRL_RE.sub("", s).split())


def _clean_text(s: str) -> str:
    s = _CTRL_RE.sub("", s).replace("\r\n", "\n").replace("\r", "\n")
    s = textwrap.dedent("\n".join(line.rstrip() for line in s.split("\n")))
    return _BLANKS_RE.sub("\n\n", s).strip()


def _cap(value: str, limit: int, what: str, warn: list[str]) -> str:
    if len(value) <= limit:
        return value
    warn.append(f"{what} cut from {len(value)} to {limit} characters")
    return value[: limit - 1].rstrip() + "\u2026"


def _first(b: _Block, name: str, multiline: bool, limit: int, warn: list[str]) -> str:
    clean = _clean_text if multiline else _clean_line
    values = [v for v in (clean(r) for r in b.scalars.get(name, ())) if v]
    if not values:
        return ""
    if any(v != values[0] for v in values[1:]):
        warn.append(f"extra <{name}> ignored")
    return _cap(values[0], limit, f"<{name}>", warn)


def _list(b: _Block, name: str, limit: int, most: int, warn: list[str], fold: bool = False) -> tuple[str, ...]:
    out: list[str] = []
    seen: set[str] = set()
    for raw in b.lists.get(name, ()):
        v = _clean_line(raw)
        if not v:
            continue
        v = _cap(v, limit, f"an entry of <{name}>", warn)
        key = v.casefold() if fold else v
        if key not in seen:
            seen.add(key)
            out.append(v)
    if len(out) > most:
        warn.append(f"<{name}> cut from {len(out)} to {most} entries")
        out = out[:most]
    return tuple(out)


def _map_type(raw: str) -> tuple[str, str | None]:
    """Return (type, warning or None) for what the model wrote in <type>."""
    if not raw:
        return "change", "no <type>; using 'change'"
    key = " ".join(re.sub(r"[^a-z0-9]+", " ", raw.lower()).split())
    if key in OBSERVATION_TYPES:
        return key, None
    found = _TYPE_ALIASES.get(key)
    if found is None:
        for word in key.split():
            found = word if word in OBSERVATION_TYPES else _TYPE_ALIASES.get(word)
            if found:
                break
    found = found or "change"
    return found, f"type {raw[:40]!r} mapped to {found!r}"


def _derive_title(narrative: str) -> str:
    line = narrative.split("\n", 1)[0]
    m = _SENTENCE_RE.match(line)
    title = m.group(1) if m else line
    if len(title) > DERIVED_TITLE_MAX:
        title = title[: DERIVED_TITLE_MAX - 1].rstrip() + "\u2026"
    return title


def _filled_fields(b: _Block) -> int:
    return sum(1 for vs in list(b.scalars.values()) + list(b.lists.values()) if any(_clean_line(v) for v in vs))


def _build_observation(b: _Block, warn: list[str]) -> Observation | None:
    title = _first(b, "title", False, TITLE_MAX, warn)
    narrative = _first(b, "narrative", True, TEXT_MAX, warn)
    if not title and not narrative and not _filled_fields(b) and b.closed:
        # <observation>plain text</observation>: the text is the record. Only
        # for a closed block, so "the <observation> below:" in prose is not one.
        loose = _clean_text("".join(b.loose))
        if _ALNUM_RE.search(loose):
            warn.append("no fields; its text was used as the narrative")
            narrative = _cap(loose, TEXT_MAX, "<narrative>", warn)
    if not title and not narrative:
        warn.append("dropped: it has neither a title nor a narrative")
        return None
    if not title:
        title = _derive_title(narrative)
        warn.append("no <title>; took the narrative's first sentence")
    raw_type = _first(b, "type", False, 100, warn)
    if not raw_type:  # <observation type="bugfix"> is a common variant
        for am in _ATTR_RE.finditer(b.attrs):
            if am.group(1).lower() == "type":
                value = next(g for g in am.groups()[1:] if g is not None)
                raw_type = _clean_line(_decode(value))
                break
    obs_type, note = _map_type(raw_type)
    if note:
        warn.append(note)
    return Observation(
        type=obs_type,
        title=title,
        subtitle=_first(b, "subtitle", False, SUBTITLE_MAX, warn),
        facts=_list(b, "facts", FACT_MAX, MAX_FACTS, warn),
        narrative=narrative,
        concepts=_list(b, "concepts", CONCEPT_MAX, MAX_CONCEPTS, warn, fold=True),
        files_read=_list(b, "files_read", FILE_MAX, MAX_FILES, warn),
        files_modified=_list(b, "files_modified", FILE_MAX, MAX_FILES, warn),
    )


def _build_summary(b: _Block, warn: list[str]) -> Summary | None:
    text = {name: _first(b, name, True, TEXT_MAX, warn) for name in _SUM_SCALARS}
    files_read = _list(b, "files_read", FILE_MAX, MAX_FILES, warn)
    files_edited = _list(b, "files_edited", FILE_MAX, MAX_FILES, warn)
    if not any(text.values()) and not files_read and not files_edited:
        loose = _clean_text("".join(b.loose)) if b.closed else ""
        if not _ALNUM_RE.search(loose):
            warn.append("dropped: it is empty")
            return None
        warn.append("no fields; its text was kept as notes")
        text["notes"] = _cap(loose, TEXT_MAX, "<notes>", warn)
    if not text["request"]:
        warn.append("no <request>")
    return Summary(files_read=files_read, files_edited=files_edited, **text)


# --- the parse ------------------------------------------------------------


def _parse(text: str, _retry: bool = True) -> tuple[list[Observation], Summary | None, list[tuple[str, str]]]:
    """Core parse. Warnings are (scope, message); scope is "observation",
    "summary" or "reply" so each public function reports what concerns it."""
    tokens = _tokenize(text)
    explicit = any(t[0] == "tag" and _ALIASES.get(_squash(t[2])) in ("observation", "summary") for t in tokens)
    sc = _Scanner(allow_implicit=not explicit)
    for t in tokens:
        if t[0] == "tag":
            sc.tag(t[1], t[2], t[3], t[4])
        elif t[0] != "partial":  # a cut-off tag at the very end carries nothing
            sc.text(t[1])
    sc.finish()
    # A lone <title> in an HTML error page is not an observation: a block the
    # model never opened counts only with two or more filled fields.
    blocks = [b for b in sc.blocks if not b.implicit or _filled_fields(b) >= 2]
    sc.stray += len(sc.blocks) - len(blocks)

    warnings: list[tuple[str, str]] = []
    if not blocks:
        if sc.saw_skip:
            return [], None, warnings
        if _retry and _ESCAPED_BLOCK_RE.search(text):
            # The whole reply came entity-escaped (e.g. copied out of JSON or HTML).
            obs, summ, inner = _parse(_decode(text), _retry=False)
            if obs or summ:
                return obs, summ, [("reply", "reply was entity-escaped; decoded it")] + inner
        if not text.strip():
            msg = "empty reply"
        elif sc.stray:
            msg = "field tags found outside any <observation>/<summary>; ignored"
        else:
            msg = "no <observation>, <summary> or <skip/> found in reply"
        return [], None, [("reply", msg)]

    observations: list[Observation] = []
    summaries: list[tuple[bool, Summary]] = []
    n_obs = 0
    for b in blocks:
        warn = list(b.notes)
        if b.kind == "observation":
            n_obs += 1
            obs = _build_observation(b, warn)
            if obs is not None:
                observations.append(obs)
            warnings.extend(("observation", f"observation {n_obs}: {w}") for w in warn)
        else:
            summ = _build_summary(b, warn)
            if summ is not None:
                summaries.append((b.closed, summ))
            warnings.extend(("summary", f"summary: {w}") for w in warn)
    summary = None
    if summaries:
        complete = [s for closed, s in summaries if closed]
        summary = (complete or [s for _, s in summaries])[-1]
        if len(summaries) > 1:
            warnings.append(("summary", f"{len(summaries)} summaries in reply; kept the last complete one"))
    return observations, summary, warnings


def _as_text(text) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode("utf-8", "replace")
    return "" if text is None else str(text)


def parse_reply(text: str) -> tuple[list[Observation], Summary | None, list[str]]:
    """Every observation and the summary (if any) in one model reply, plus warnings."""
    try:
        obs, summary, warnings = _parse(_as_text(text))
        return obs, summary, [w for _, w in warnings]
    except Exception as exc:  # pragma: no cover - the contract is "never raise"
        return [], None, [f"parser error: {type(exc).__name__}: {exc}"]


def parse_observations(text: str) -> tuple[list[Observation], list[str]]:
    """The observations in a reply, with warnings about them and about the reply."""
    try:
        obs, _summary, warnings = _parse(_as_text(text))
        return obs, [w for scope, w in warnings if scope != "summary"]
    except Exception as exc:  # pragma: no cover
        return [], [f"parser error: {type(exc).__name__}: {exc}"]


def parse_summary(text: str) -> tuple[Summary | None, list[str]]:
    """The summary in a reply (the last complete one if several), with warnings."""
    try:
        obs, summary, warnings = _parse(_as_text(text))
        out = [w for scope, w in warnings if scope != "observation"]
        if summary is None and not any(scope == "summary" for scope, _ in warnings) and (
                obs or any(scope == "observation" for scope, _ in warnings)):
            out.append("no <summary> in reply")
        return summary, out
    except Exception as exc:  # pragma: no cover
        return None, [f"parser error: {type(exc).__name__}: {exc}"]
