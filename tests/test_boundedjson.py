"""boundedjson: any depth parses fast and comes out at most 64 deep; strings always encode."""
import json

import pytest

from claude_mem import boundedjson


def depth(value) -> int:
    n = 0
    while isinstance(value, (dict, list)):
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
        n += 1
    return n


@pytest.mark.parametrize("levels", [10, 64, 65, 900, 5000, 100_000])
def test_any_depth_is_cut_at_64(levels):
    text = '{"a": ' * levels + '"x"' + "}" * levels
    value = boundedjson.loads(text)
    assert depth(value) == min(levels, 64)
    json.dumps(value)  # and whatever walks it later does not recurse too deep
    text = "[" * levels + "1" + "]" * levels
    assert depth(boundedjson.loads(text)) == min(levels, 64)


def test_strings_with_brackets_do_not_count_as_depth():
    text = json.dumps({"code": "[" * 5000, "deep": {"a": [1, {"b": "}}}"}]}})
    assert boundedjson.loads(text) == json.loads(text)


def test_lone_surrogates_are_repaired_in_keys_and_values():
    value = boundedjson.loads(r'{"k\ud800": ["x\udfff", "\ud83d\ude00"]}')
    assert value == {"k\ufffd": ["x\ufffd", "\U0001f600"]}
    json.dumps(value, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("text", ["", "{", "nope", '{"a": 1} x', "[" * 100_000])
def test_not_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        boundedjson.loads(text)
