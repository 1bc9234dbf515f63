"""JSON without a JSON module, for the two hooks a person waits for: a flat object in, a
string out.

Contract:
- ``flat_object(text)`` is ``text`` decoded when it is a JSON object whose values are all
  strings (what Claude Code sends at SessionStart and UserPromptSubmit, what Codex sends at
  SessionStart), exactly as ``json.loads`` decodes it; None for anything else, and then the
  caller uses the full decoder (``jsonlite``).
- ``string_array(text)`` is ``text`` decoded when it is a JSON array of strings (a stored
  list column: facts, files), exactly as ``json.loads`` decodes it; None for anything else.
- ``json_string(text, start)`` is ``(value, end)`` of the JSON string whose quote is at
  ``start``, or None when it is not one (strict, as ``json.loads``).
- ``string(value)`` is ``value`` as a JSON string, exactly what ``jsonlite.dumps`` (and
  ``json.dumps(..., ensure_ascii=False)``) writes for it.
Why: ``jsonlite`` imports the C accelerator ``_json`` and builds its scanner and encoder
(~0.3 ms at 2-core speeds), about a tenth of what prompt recall costs the
UserPromptSubmit hook; these few string functions are all that hook and SessionStart need.
Standard library only, and no imports at all.
"""

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t"}
_HEX = frozenset("0123456789abcdefABCDEF")
_BLANKS = " \t\n\r"
_CONTROLS = tuple(chr(c) for c in range(0x20))


def json_string(text: str, start: int):
    """``(value, end)`` of the JSON string whose opening quote is at ``start`` (``end``: just
    past its closing quote), decoded as ``json.loads`` does in strict mode; None when it is
    not a valid JSON string."""
    parts = []
    at = start + 1
    while True:
        quote = text.find('"', at)
        if quote < 0:
            return None
        slash = text.find("\\", at, quote)
        piece = text[at:quote if slash < 0 else slash]
        if not piece.isprintable() and any(c in piece for c in _CONTROLS):
            return None  # a raw control character: not allowed in a JSON string
        parts.append(piece)
        if slash < 0:
            return "".join(parts), quote + 1
        kind = text[slash + 1:slash + 2]
        if kind in _ESCAPES:
            parts.append(_ESCAPES[kind])
            at = slash + 2
            continue
        digits = text[slash + 2:slash + 6]
        if kind != "u" or len(digits) != 4 or not set(digits) <= _HEX:
            return None
        code = int(digits, 16)
        at = slash + 6
        if 0xD800 <= code < 0xDC00 and text[at:at + 2] == "\\u":  # a surrogate pair?
            low = text[at + 2:at + 6]
            if len(low) == 4 and set(low) <= _HEX and 0xDC00 <= int(low, 16) < 0xE000:
                code = 0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00)
                at += 6
        parts.append(chr(code))


def flat_object(text: str):
    """``text`` decoded when it is a JSON object whose values are all strings, exactly as
    ``json.loads`` decodes it; None for anything else (see the module docstring)."""
    at = _skip(text, 0)
    if text[at:at + 1] != "{":
        return None
    at = _skip(text, at + 1)
    result: dict = {}
    if text[at:at + 1] == "}":
        return result if _skip(text, at + 1) == len(text) else None
    while True:
        if text[at:at + 1] != '"':
            return None
        key = json_string(text, at)
        if key is None:
            return None
        at = _skip(text, key[1])
        if text[at:at + 1] != ":":
            return None
        at = _skip(text, at + 1)
        if text[at:at + 1] != '"':
            return None
        value = json_string(text, at)
        if value is None:
            return None
        result[key[0]] = value[0]
        at = _skip(text, value[1])
        mark = text[at:at + 1]
        if mark == "}":
            return result if _skip(text, at + 1) == len(text) else None
        if mark != ",":
            return None
        at = _skip(text, at + 1)


def string_array(text: str):
    """``text`` decoded when it is a JSON array of strings, else None (module docstring)."""
    at = _skip(text, 0)
    if text[at:at + 1] != "[":
        return None
    at = _skip(text, at + 1)
    result: list = []
    if text[at:at + 1] == "]":
        return result if _skip(text, at + 1) == len(text) else None
    while True:
        if text[at:at + 1] != '"':
            return None
        value = json_string(text, at)
        if value is None:
            return None
        result.append(value[0])
        at = _skip(text, value[1])
        mark = text[at:at + 1]
        if mark == "]":
            return result if _skip(text, at + 1) == len(text) else None
        if mark != ",":
            return None
        at = _skip(text, at + 1)


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _BLANKS:
        at += 1
    return at


# What ``json.dumps(..., ensure_ascii=False)`` escapes in a string: the quote, the
# backslash and every control character below 0x20 (the five with a short form by it).
_ENCODED = {code: f"\\u{code:04x}" for code in range(0x20)}
_ENCODED.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r",
                 ord("\t"): "\\t", ord("\b"): "\\b", ord("\f"): "\\f"})


def string(value: str) -> str:
    return '"' + value.translate(_ENCODED) + '"'
