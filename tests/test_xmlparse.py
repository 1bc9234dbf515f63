"""Tests for compress.xmlparse: the tolerant reader of model <observation>/<summary> XML."""
from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_mem.compress.xmlparse import parse_observations, parse_reply, parse_summary
from claude_mem.models import OBSERVATION_TYPES, Observation, Summary

FULL_OBS = """<observation>
  <type>bugfix</type>
  <title>Fix off-by-one in pager</title>
  <subtitle>Last page was never shown</subtitle>
  <facts>
    <fact>pager.py used range(n - 1)</fact>
    <fact>tests/test_pager.py now covers 0, 1 and 10 pages</fact>
  </facts>
  <narrative>The pager skipped the last page because the loop bound was n - 1.</narrative>
  <concepts><concept>pagination</concept><concept>off-by-one</concept></concepts>
  <files_read><file>src/pager.py</file></files_read>
  <files_modified><file>src/pager.py</file><file>tests/test_pager.py</file></files_modified>
</observation>"""

FULL_SUMMARY = """<summary>
  <request>Make the pager show the last page</request>
  <investigated>pager.py and its tests</investigated>
  <learned>The loop bound excluded the last page</learned>
  <completed>Fixed the bound and added tests</completed>
  <next_steps>Check the CSV exporter for the same bug</next_steps>
  <notes>Run with -k pager</notes>
  <files_read><file>src/pager.py</file></files_read>
  <files_edited><file>src/pager.py</file><file>tests/test_pager.py</file></files_edited>
</summary>"""


def one(text: str) -> tuple[Observation, list[str]]:
    obs, warnings = parse_observations(text)
    assert len(obs) == 1, (obs, warnings)
    return obs[0], warnings


# --- the well-formed case -----------------------------------------------------


def test_full_observation():
    o, warnings = one(FULL_OBS)
    assert o == Observation(
        type="bugfix",
        title="Fix off-by-one in pager",
        subtitle="Last page was never shown",
        facts=("pager.py used range(n - 1)", "tests/test_pager.py now covers 0, 1 and 10 pages"),
        narrative="The pager skipped the last page because the loop bound was n - 1.",
        concepts=("pagination", "off-by-one"),
        files_read=("src/pager.py",),
        files_modified=("src/pager.py", "tests/test_pager.py"),
    )
    assert warnings == []


def test_full_summary():
    s, warnings = parse_summary(FULL_SUMMARY)
    assert s == Summary(
        request="Make the pager show the last page",
        investigated="pager.py and its tests",
        learned="The loop bound excluded the last page",
        completed="Fixed the bound and added tests",
        next_steps="Check the CSV exporter for the same bug",
        notes="Run with -k pager",
        files_read=("src/pager.py",),
        files_edited=("src/pager.py", "tests/test_pager.py"),
    )
    assert warnings == []


def test_parse_reply_returns_both():
    obs, summary, warnings = parse_reply(FULL_OBS + "\n" + FULL_SUMMARY)
    assert [o.title for o in obs] == ["Fix off-by-one in pager"]
    assert summary is not None and summary.request == "Make the pager show the last page"
    assert warnings == []


def test_several_observations():
    text = FULL_OBS + "\n\n" + FULL_OBS.replace("Fix off-by-one in pager", "Second") + \
        "<observation><type>discovery</type><title>Third</title></observation>"
    obs, warnings = parse_observations(text)
    assert [o.title for o in obs] == ["Fix off-by-one in pager", "Second", "Third"]
    assert [o.type for o in obs] == ["bugfix", "bugfix", "discovery"]
    assert warnings == []


# --- noise around the XML -----------------------------------------------------


def test_code_fences_and_prose_everywhere():
    text = (
        "Here is what I recorded:\n```xml\n" + FULL_OBS + "\n```\nAnd another one:\n"
        "```\n<observation><type>change</type><title>Bump deps</title></observation>\n```\n"
        "Let me know if you need more."
    )
    obs, warnings = parse_observations(text)
    assert [o.title for o in obs] == ["Fix off-by-one in pager", "Bump deps"]
    assert obs[0].files_modified == ("src/pager.py", "tests/test_pager.py")
    assert warnings == []


def test_xml_declaration_comments_and_wrapper_ignored():
    text = ('<?xml version="1.0"?><observations><!-- first -->'
            "<observation><title>A<!-- hidden --></title></observation></observations>")
    o, _ = one(text)
    assert o.title == "A"


def test_summary_with_prose_and_fence():
    s, warnings = parse_summary("Summary below.\n```xml\n" + FULL_SUMMARY + "\n```\nDone.")
    assert s is not None and s.completed == "Fixed the bound and added tests"
    assert warnings == []


# --- missing, empty and odd fields -------------------------------------------


def test_missing_type_becomes_change_with_warning():
    o, warnings = one("<observation><title>Only a title</title></observation>")
    assert o.type == "change" and o.title == "Only a title"
    assert o.facts == () and o.narrative == "" and o.files_read == ()
    assert any("type" in w for w in warnings)


def test_empty_fields_are_empty():
    o, _ = one("<observation><type>feature</type><title>T</title><subtitle></subtitle>"
               "<facts></facts><narrative>  </narrative><concepts/><files_read/></observation>")
    assert (o.subtitle, o.facts, o.narrative, o.concepts, o.files_read) == ("", (), "", (), ())


def test_narrative_only_derives_title():
    o, warnings = one("<observation><type>discovery</type><narrative>Config is read twice. "
                      "The second read wins.</narrative></observation>")
    assert o.title == "Config is read twice."
    assert o.narrative == "Config is read twice. The second read wins."
    assert any("title" in w for w in warnings)


def test_observation_without_title_or_narrative_dropped():
    obs, warnings = parse_observations(
        "<observation><type>bugfix</type><facts><fact>x</fact></facts></observation>"
        "<observation><title>Kept</title></observation>")
    assert [o.title for o in obs] == ["Kept"]
    assert any("observation 1" in w and "dropped" in w for w in warnings)


def test_empty_observation_block_dropped():
    obs, warnings = parse_observations("<observation></observation><observation/>")
    assert obs == []
    assert len([w for w in warnings if "dropped" in w]) == 2


def test_block_with_only_text_uses_it_as_narrative():
    o, warnings = one("<observation>The build needs Node 20 because of fetch().</observation>")
    assert o.narrative == "The build needs Node 20 because of fetch()."
    assert o.title == "The build needs Node 20 because of fetch()."
    assert warnings


@pytest.mark.parametrize("raw,expected", [
    ("bug", "bugfix"), ("Bug Fix", "bugfix"), ("fix", "bugfix"),
    ("feat", "feature"), ("new", "feature"), ("enhancement", "feature"),
    ("investigation", "discovery"), ("research", "discovery"),
    ("refactoring", "refactor"), ("decided", "decision"),
    ("chore", "change"), ("banana", "change"), ("a security bug", "bugfix"),
])
def test_unknown_type_mapped_with_warning(raw, expected):
    o, warnings = one(f"<observation><type>{raw}</type><title>T</title></observation>")
    assert o.type == expected
    assert any("mapped" in w for w in warnings)


@pytest.mark.parametrize("raw", OBSERVATION_TYPES)
def test_known_types_any_case_no_warning(raw):
    o, warnings = one(f"<observation><type> {raw.upper()} </type><title>T</title></observation>")
    assert o.type == raw and warnings == []


def test_type_attribute_used_when_no_type_tag():
    o, warnings = one('<observation type="decision" id="7"><title>Use SQLite</title></observation>')
    assert o.type == "decision" and warnings == []


def test_case_and_attributes_on_tags():
    o, warnings = one('<OBSERVATION lang="en"><Type>Refactor</Type><TITLE class="x">Split module</TITLE>'
                      '<Facts><FACT n="1">one</FACT></Facts><Files-Modified><File path="y">a.py</File>'
                      "</Files-Modified></OBSERVATION>")
    assert (o.type, o.title, o.facts, o.files_modified) == ("refactor", "Split module", ("one",), ("a.py",))
    assert warnings == []


def test_files_edited_and_modified_spellings_follow_the_block():
    o, _ = one("<observation><title>T</title><files_edited><file>a.py</file></files_edited></observation>")
    assert o.files_modified == ("a.py",)
    s, _ = parse_summary("<summary><request>R</request><files_modified><file>b.py</file></files_modified></summary>")
    assert s.files_edited == ("b.py",)


def test_field_from_the_other_block_is_ignored():
    o, warnings = one("<observation><title>T</title><learned>nope</learned><narrative>N</narrative></observation>")
    assert (o.title, o.narrative) == ("T", "N")
    assert any("learned" in w for w in warnings)


def test_duplicate_scalar_keeps_first():
    o, warnings = one("<observation><title>First</title><title>Second</title></observation>")
    assert o.title == "First"
    assert any("extra <title>" in w for w in warnings)


# --- entities and CDATA --------------------------------------------------------


def test_entities_decoded():
    o, _ = one("<observation><title>a &amp;&amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</title>"
               "<narrative>&#65;&#x42;&#X43; &#128512; caf&#xe9;</narrative></observation>")
    assert o.title == "a && b <c> \"d\" 'e'"
    assert o.narrative == "ABC \U0001F600 caf\u00e9"


def test_unknown_and_invalid_entities_left_alone():
    o, _ = one("<observation><title>&nbsp; &#0; &#xD800; AT&T &amp</title></observation>")
    assert o.title == "&nbsp; &#0; &#xD800; AT&T &amp"


def test_entities_decoded_once():
    o, _ = one("<observation><title>&amp;lt;</title></observation>")
    assert o.title == "&lt;"


def test_cdata_kept_verbatim():
    o, _ = one("<observation><title>T</title><narrative><![CDATA[if a < b && c > d: "
               "print('<title>x</title> &amp;')]]></narrative>"
               "<facts><fact><![CDATA[x <y> z]]></fact></facts></observation>")
    assert o.narrative == "if a < b && c > d: print('<title>x</title> &amp;')"
    assert o.facts == ("x <y> z",)


def test_truncated_cdata_keeps_text():
    o, _ = one("<observation><title>T</title><narrative><![CDATA[code <here>")
    assert o.narrative == "code <here>"


def test_unknown_tags_inside_fields_are_text():
    o, _ = one("<observation><title>Use <b>bold</b> in <div></title><narrative>a<br/>b</narrative></observation>")
    assert o.title == "Use <b>bold</b> in <div>"
    assert o.narrative == "a\nb"


def test_entity_escaped_reply_is_decoded():
    obs, warnings = parse_observations("&lt;observation&gt;&lt;title&gt;T&lt;/title&gt;&lt;/observation&gt;")
    assert [o.title for o in obs] == ["T"]
    assert any("escaped" in w for w in warnings)


# --- list fields -----------------------------------------------------------------


def test_list_fields_as_bullets():
    o, _ = one("<observation><title>T</title><facts>\n- first fact\n* second fact\n  3. third, with comma\n"
               "\u2022 fourth\n</facts><files_read>\n- a.py\n- b.py\n</files_read></observation>")
    assert o.facts == ("first fact", "second fact", "third, with comma", "fourth")
    assert o.files_read == ("a.py", "b.py")


def test_bullet_continuation_lines_join_their_entry():
    o, _ = one("<observation><title>T</title><facts>\n- the config is read\n  twice at start\n"
               "- second</facts></observation>")
    assert o.facts == ("the config is read twice at start", "second")
    o, _ = one("<observation><title>T</title><facts>\nno bullets\nat all\n</facts></observation>")
    assert o.facts == ("no bullets", "at all")


def test_concepts_as_comma_text():
    o, _ = one("<observation><title>T</title><concepts>sqlite, WAL,  locking ,</concepts></observation>")
    assert o.concepts == ("sqlite", "WAL", "locking")


def test_files_as_comma_text():
    o, _ = one("<observation><title>T</title><files_modified>a.py, b/c.py</files_modified></observation>")
    assert o.files_modified == ("a.py", "b/c.py")


def test_mixed_items_and_loose_text():
    o, _ = one("<observation><title>T</title><facts><fact>tagged</fact>\n- loose</facts></observation>")
    assert o.facts == ("tagged", "loose")


def test_duplicates_removed_in_order():
    o, _ = one("<observation><title>T</title><facts><fact>b</fact><fact>a</fact><fact>b</fact></facts>"
               "<concepts>X, y, x, Y, z</concepts><files_read><file>a.py</file><file>a.py</file>"
               "</files_read></observation>")
    assert o.facts == ("b", "a")
    assert o.concepts == ("X", "y", "z")
    assert o.files_read == ("a.py",)


def test_bare_fact_and_concept_items_without_container():
    o, warnings = one("<observation><type>change</type><title>T</title><fact>one</fact><fact>two</fact>"
                      "<concept>c</concept></observation>")
    assert o.facts == ("one", "two") and o.concepts == ("c",)
    assert warnings == []


def test_unclosed_items():
    o, _ = one("<observation><title>T</title><facts><fact>one<fact>two</facts></observation>")
    assert o.facts == ("one", "two")


# --- truncation and missing closing tags -----------------------------------------


def test_unclosed_field_ends_at_next_known_tag():
    o, warnings = one("<observation><type>bugfix<title>T<narrative>N</observation>")
    assert (o.type, o.title, o.narrative) == ("bugfix", "T", "N")
    assert any("<title> was not closed" in w for w in warnings)


def test_truncated_last_observation_keeps_closed_fields():
    text = FULL_OBS + "<observation><type>feature</type><title>Add export</title><facts><fact>csv"
    obs, warnings = parse_observations(text)
    assert len(obs) == 2
    assert obs[0].title == "Fix off-by-one in pager"
    assert (obs[1].type, obs[1].title, obs[1].facts) == ("feature", "Add export", ("csv",))
    assert any("observation 2" in w and "truncated" in w for w in warnings)


def test_truncated_mid_tag_drops_the_fragment():
    o, _ = one("<observation><title>T</title><narrative>All good</narr")
    assert o.narrative == "All good"
    o, _ = one("<observation><title>T</title><narrative>All good\n```")
    assert o.narrative == "All good"


def test_truncated_before_any_field_closes_drops_with_warning():
    obs, warnings = parse_observations("<observation><type>bugfix</type><ti")
    assert obs == []
    assert any("dropped" in w for w in warnings)


def test_truncated_summary_keeps_fields():
    s, warnings = parse_summary("<summary><request>R</request><investigated>I</investigated><learned>half a sen")
    assert (s.request, s.investigated, s.learned, s.completed) == ("R", "I", "half a sen", "")
    assert any("truncated" in w for w in warnings)


def test_summary_unclosed_fields_and_missing_request():
    s, warnings = parse_summary("<summary><completed>C<next_steps>N</summary>")
    assert (s.request, s.completed, s.next_steps) == ("", "C", "N")
    assert any("no <request>" in w for w in warnings)


def test_empty_summary_is_none():
    s, warnings = parse_summary("<summary>  </summary>")
    assert s is None and any("empty" in w for w in warnings)


def test_several_summaries_last_complete_wins():
    s, warnings = parse_summary("<summary><request>A</request></summary>"
                                "<summary><request>B</request></summary><summary><request>C")
    assert s.request == "B"
    assert any("3 summaries" in w for w in warnings)


def test_parse_summary_warns_when_only_observations():
    s, warnings = parse_summary(FULL_OBS)
    assert s is None and warnings == ["no <summary> in reply"]


def test_parse_observations_ignores_summary_warnings():
    obs, warnings = parse_observations("<summary><completed>C</completed></summary>")
    assert obs == [] and warnings == []


def test_fields_without_wrapper_are_read():
    obs, summary, warnings = parse_reply("<type>bugfix</type><title>T</title>"
                                         "<request>R</request><completed>C</completed>")
    assert [(o.type, o.title) for o in obs] == [("bugfix", "T")]
    assert (summary.request, summary.completed) == ("R", "C")
    assert any("wrapper" in w for w in warnings)


def test_lone_field_outside_blocks_is_not_a_record():
    text = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    obs, summary, warnings = parse_reply(text)
    assert obs == [] and summary is None and len(warnings) == 1


def test_block_named_in_prose_is_not_a_record():
    obs, warnings = parse_observations("Here is the <observation> you asked for:\n"
                                       "<observation><title>Real</title></observation>")
    assert [o.title for o in obs] == ["Real"]
    assert any("observation 1" in w and "dropped" in w for w in warnings)


# --- whitespace and caps ---------------------------------------------------------


def test_whitespace_normalised():
    o, _ = one("<observation><title>\n   Many    spaced\n  title </title>"
               "<narrative>\n      First line.   \n      Indented two.\n\n\n\n\n      Third.\r\n    </narrative>"
               "<facts><fact>  a \n b  </fact></facts></observation>")
    assert o.title == "Many spaced title"
    assert o.narrative == "First line.\nIndented two.\n\nThird."
    assert o.facts == ("a b",)


def test_control_characters_dropped():
    o, _ = one("<observation><title>a\x00b\x07c</title></observation>")
    assert o.title == "abc"


def test_long_fields_capped():
    o, warnings = one("<observation><title>" + "t" * 1000 + "</title><facts><fact>" + "f" * 2000 +
                      "</fact></facts><narrative>" + "n" * 10000 + "</narrative></observation>")
    assert len(o.title) == 200 and o.title.endswith("\u2026")
    assert len(o.facts[0]) == 500
    assert len(o.narrative) == 4000
    assert sum("cut from" in w for w in warnings) == 3


def test_too_many_list_entries_capped():
    facts = "".join(f"<fact>f{i}</fact>" for i in range(80))
    o, warnings = one(f"<observation><title>T</title><facts>{facts}</facts></observation>")
    assert o.facts == tuple(f"f{i}" for i in range(50))
    assert any("50 entries" in w for w in warnings)


# --- garbage and skip ------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n", "I could not find anything.", "<html><body>x</body></html>",
                                  "a < b > c", "```\n```"])
def test_garbage_yields_nothing_and_one_warning(text):
    obs, summary, warnings = parse_reply(text)
    assert obs == [] and summary is None and len(warnings) == 1
    obs, warnings = parse_observations(text)
    assert obs == [] and len(warnings) == 1
    summary, warnings = parse_summary(text)
    assert summary is None and len(warnings) == 1


@pytest.mark.parametrize("text", ["<skip/>", "<skip />", "Nothing new.\n<SKIP></SKIP>", "```xml\n<skip/>\n```"])
def test_skip_is_a_clean_empty_answer(text):
    assert parse_reply(text) == ([], None, [])


def test_non_str_input_does_not_raise():
    assert parse_reply(None)[0] == []
    assert parse_observations(b"<observation><title>T</title></observation>")[0][0].title == "T"


def test_hostile_input_still_yields_its_observations():
    # How long it takes (linear, not quadratic) is bench/xmlparse_worst_case.py's to measure.
    text = ("<observation><title>T</title>" + "<" * 50000 + " " * 50000 + '<a "' * 20000 +
            "<!--" * 20000 + "</observation>") * 2
    observations = parse_reply(text)[0]
    assert [o.title for o in observations] == ["T", "T"]


# --- property tests --------------------------------------------------------------

FRAGMENTS = [
    "<observation>", "</observation>", "<summary>", "</summary>", "<type>", "</type>", "bugfix", "bug",
    "<title>", "</title>", "<subtitle>", "<facts>", "</facts>", "<fact>", "</fact>", "<narrative>",
    "</narrative>", "<concepts>", "<concept>", "<files_read>", "<file>", "</file>", "<files_modified>",
    "<files_edited>", "<request>", "<learned>", "<next_steps>", "<notes>", "<skip/>", "<![CDATA[",
    "]]>", "<!--", "-->", "&amp;", "&lt;", "&#x41;", "&#99999999;", "&", "<", ">", "/>", "\n", "- ",
    "```xml", "```", '="', "<?xml?>", "<observations>", "<OBSERVATION a='1'>", "text", ", ", "<br/>",
]

text_from_fragments = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map("".join)


def _no_crash(text: str) -> None:
    obs, summary, warnings = parse_reply(text)
    assert all(isinstance(o, Observation) and o.type in OBSERVATION_TYPES and (o.title or o.narrative)
               for o in obs)
    assert summary is None or isinstance(summary, Summary)
    assert all(isinstance(w, str) and not w.startswith("parser error") for w in warnings)
    parse_observations(text)
    parse_summary(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(text):
    _no_crash(text)


@settings(max_examples=400, deadline=None)
@given(text_from_fragments)
def test_never_raises_on_xml_fragments(text):
    _no_crash(text)


# Printable values that are already in normal form (what the parser gives back).
_chars = st.characters(blacklist_categories=("Cs", "Cc"))
_line = st.text(_chars, min_size=1, max_size=40).map(lambda s: " ".join(s.split())).filter(bool)
_paragraph = st.lists(_line, min_size=1, max_size=4).map("\n".join)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(o: Observation) -> str:
    """Observation -> XML, as a well-behaved model would write it."""
    def items(tag, child, values):
        return f"<{tag}>" + "".join(f"<{child}>{_esc(v)}</{child}>" for v in values) + f"</{tag}>"
    return (
        f"<observation>\n<type>{o.type}</type>\n<title>{_esc(o.title)}</title>\n"
        f"<subtitle>{_esc(o.subtitle)}</subtitle>\n{items('facts', 'fact', o.facts)}\n"
        f"<narrative>{_esc(o.narrative)}</narrative>\n{items('concepts', 'concept', o.concepts)}\n"
        f"{items('files_read', 'file', o.files_read)}\n{items('files_modified', 'file', o.files_modified)}\n"
        "</observation>"
    )


observations = st.builds(
    Observation,
    type=st.sampled_from(OBSERVATION_TYPES),
    title=_line,
    subtitle=st.one_of(st.just(""), _line),
    facts=st.lists(_line, unique=True, max_size=4).map(tuple),
    narrative=st.one_of(st.just(""), _paragraph),
    concepts=st.lists(_line, unique_by=str.casefold, max_size=4).map(tuple),
    files_read=st.lists(_line, unique=True, max_size=3).map(tuple),
    files_modified=st.lists(_line, unique=True, max_size=3).map(tuple),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observations)
def test_round_trip(o):
    obs, warnings = parse_observations(render(o))
    assert obs == [o]
    assert warnings == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(observations, min_size=1, max_size=2), st.text(string.ascii_letters + " \n", max_size=20))
def test_truncation_at_every_position(obs_list, prose):
    """Cut a valid reply anywhere: no crash, and every observation that closed is intact."""
    blocks = [render(o) for o in obs_list]
    reply = prose + ("\n" + prose).join(blocks) + "\n"
    ends, pos = [], 0
    for block in blocks:
        pos = reply.index(block, pos) + len(block)
        ends.append(pos)
    for cut in range(len(reply) + 1):
        got, warnings = parse_observations(reply[:cut])
        complete = sum(end <= cut for end in ends)
        assert got[:complete] == obs_list[:complete]
        assert len(got) <= complete + 1
        assert not any(w.startswith("parser error") for w in warnings)


def test_fixed_reply_truncated_at_every_position():
    reply = "Notes:\n```xml\n" + FULL_OBS + "\n" + FULL_SUMMARY + "\n```\n"
    full_obs, full_summary, _ = parse_reply(reply)
    obs_end = reply.index("</observation>") + len("</observation>")
    sum_end = reply.index("</summary>") + len("</summary>")
    for cut in range(len(reply) + 1):
        obs, summary, warnings = parse_reply(reply[:cut])
        assert len(obs) <= 1 and not any(w.startswith("parser error") for w in warnings)
        if cut >= obs_end:
            assert obs == full_obs
        if cut >= sum_end:
            assert summary == full_summary
        elif summary is not None:  # a partial summary holds a prefix of each field
            for name in ("request", "investigated", "learned", "completed", "next_steps", "notes"):
                assert getattr(full_summary, name).startswith(getattr(summary, name))
