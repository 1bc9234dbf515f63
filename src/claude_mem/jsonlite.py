"""JSON for the hook path without the cost of ``import json``.

Contract:
- ``loads(text)`` decodes like ``json.loads`` (strict, standard constants) and raises
  ``ValueError`` for anything that is not one JSON document, including input nested so
  deeply that decoding would exhaust the stack (never ``RecursionError``). ``decode(text)``
  is the same but lets ``RecursionError`` through, as ``json.loads`` does.
- ``dumps(value)`` encodes dicts, lists, tuples, strings, numbers, booleans and None
  compactly (``","``/``":"`` separators), non-ASCII kept as is (``ensure_ascii=False``).

Why: ``import json`` pulls in ``re`` and ``enum`` through its pure-Python decoder and costs
~6 ms, about half of what the SessionStart hook spends beyond a bare interpreter start
(``python -X importtime``). The C accelerator ``_json`` that ``json`` itself uses costs
~0.3 ms, and its scanner and encoder are all the hook path needs. Only a failed decode
falls back to ``json`` (for its error message); an interpreter without ``_json`` uses
``json`` throughout.
"""

try:
    import _json
except ImportError:  # pragma: no cover - CPython always ships it
    _json = None

_WHITESPACE = " \t\n\r"


class _DecodeContext:
    """The attributes ``_json.make_scanner`` reads from ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__
    memo: dict = {}


if _json is not None:
    _scan = _json.make_scanner(_DecodeContext())
    # markers, default, encoder, indent, key_separator, item_separator, sort_keys,
    # skipkeys, allow_nan: the arguments json.JSONEncoder passes for the C fast path.
    _encode = _json.make_encoder(None, None, _json.encode_basestring, None, ":", ",",
                                 False, False, True)
else:  # pragma: no cover
    _scan = _encode = None


def _too_deep() -> ValueError:
    return ValueError("JSON nested too deeply to decode")


def loads(text: str):
    try:
        return decode(text)
    except RecursionError:
        raise _too_deep() from None


def decode(text: str):
    """``json.loads(text)`` through the C scanner, as ``loads`` but letting ``RecursionError``
    through as ``json.loads`` does (``boundedjson`` cuts the text and tries again)."""
    if _scan is not None:
        try:
            start = len(text) - len(text.lstrip(_WHITESPACE))
            value, end = _scan(text, start)
            if not text[end:].strip(_WHITESPACE):
                return value
        except RecursionError:
            raise
        except Exception:  # StopIteration or the scanner's own error: let json explain
            pass
    import json

    return json.loads(text)


def dumps(value) -> str:
    if _encode is not None:
        try:
            return "".join(_encode(value, 0))
        except RecursionError:
            raise _too_deep() from None
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
