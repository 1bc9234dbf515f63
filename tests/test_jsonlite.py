"""jsonlite decodes and encodes like the json module, and refuses what json refuses."""
import json

import pytest
from hypothesis import given, strategies as st

from claude_mem import jsonlite

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_round_trip_matches_json(value):
    assert jsonlite.loads(jsonlite.dumps(value)) == json.loads(json.dumps(value))
    pretty = json.dumps(value, indent=2)
    assert jsonlite.loads(pretty) == json.loads(pretty)


def test_dumps_is_compact_and_keeps_unicode():
    assert jsonlite.dumps({"a": ["é\n", 1, 2.5, None, True]}) == '{"a":["é\\n",1,2.5,null,true]}'


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} x', "[1,]", "nope", '{"a": "\x01"}', '"\\ud800'])
def test_invalid_documents_raise_value_error(text):
    with pytest.raises(ValueError):
        jsonlite.loads(text)


def test_hostile_nesting_is_a_value_error_not_a_recursion_error():
    with pytest.raises(ValueError, match="nested too deeply"):
        jsonlite.loads("[" * 100_000 + "]" * 100_000)


def test_surrounding_whitespace_is_allowed():
    assert jsonlite.loads(' \n {"a": [1, 2]} \t\n') == {"a": [1, 2]}
