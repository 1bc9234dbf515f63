"""jsonflat: the hooks' JSON without a JSON module writes and reads exactly what json does."""
import json
import random

from claude_mem import jsonflat, jsonlite


def test_string_is_what_json_dumps_writes():
    rng = random.Random(11)
    alphabet = [chr(c) for c in range(0x80)] + ["\u00e9", "\u2028", "\u2029", "\x7f", "\u0085",
                                                "\ud83d", "\ude00", "\U0001f600", "\ufeff"]
    samples = ["", '"', "\\", "\\u0041", "a\nb\r\tc\b\f", "".join(chr(c) for c in range(0x20))]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(5000)]
    for text in samples:
        encoded = jsonflat.string(text)
        assert encoded == json.dumps(text, ensure_ascii=False) == jsonlite.dumps(text), repr(text)
        if not any(0xD800 <= ord(c) < 0xE000 for c in text):
            assert json.loads(encoded) == text


def test_a_prompt_payload_reads_as_json_loads_reads_it():
    prompt = 'Why did "make test" fail?\n\tSee C:\\temp\\log \u00e9 \U0001f600 \x01 </s> {"a": [1]}'
    payload = {"session_id": "s-1", "transcript_path": "/t.jsonl", "cwd": "/w",
               "permission_mode": "default", "hook_event_name": "UserPromptSubmit", "prompt": prompt}
    for ascii_only in (True, False):
        text = json.dumps(payload, ensure_ascii=ascii_only)
        assert jsonflat.flat_object(text) == payload
    # Anything but strings is left to the full decoder.
    assert jsonflat.flat_object(json.dumps({**payload, "extra": True})) is None
    assert jsonflat.flat_object(json.dumps({**payload, "nested": {"a": "b"}})) is None


def test_a_list_of_strings_reads_as_json_loads_reads_it():
    rng = random.Random(5)
    alphabet = ['a', ' ', '"', '\\', '/', '\n', '\x01', '\u00e9', '\ud83d', '\ude00', ',', ']', '[']
    pieces = ['[', ']', '"', ',', ' ', '\t', '\\', '\\u00e9', '\\n', '"a"', '1', 'null', '{}', '\x02']
    samples = ["[]", " [ ] ", '["a",]', '["a" "b"]', '[1]', '["a", ["b"]]', '["a"] x', '[', '']
    for _ in range(3000):
        value = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
                 for _ in range(rng.randint(0, 5))]
        samples.append(json.dumps(value, ensure_ascii=rng.random() < 0.5))
        samples.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 10))))
    for text in samples:
        try:
            expected = json.loads(text)
        except ValueError:
            expected = None
        got = jsonflat.string_array(text)
        if got is not None:
            assert got == expected, text
        elif isinstance(expected, list):
            assert not all(isinstance(v, str) for v in expected), text
