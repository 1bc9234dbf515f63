"""JSON parsing whose cost and shape are bounded, for payloads nobody vetted.

Contract: ``loads(text)`` returns what ``json.loads`` would, except that
- containers nested deeper than ``max_depth`` (64) are replaced by the string
  ``NESTED_MARKER``: a hostile payload 100,000 levels deep parses in milliseconds
  instead of raising ``RecursionError`` (which ``json.loads`` itself does past ~1,000
  levels) or breaking every recursive function that later walks the value;
- lone UTF-16 surrogates (``"\\ud800"`` in the JSON text) become U+FFFD in strings and
  keys, so the value can always be encoded as UTF-8 (SQLite, files, sockets);
- it raises ``ValueError`` for text that is not JSON, and nothing else.

Standard library only, and ``json``/``re`` are imported on first use: the hook path
imports this module only when it has to clean a payload.
"""

MAX_DEPTH = 64
NESTED_MARKER = "[nested too deeply: cut]"

_token_rx = None


def _tokens():
    global _token_rx
    if _token_rx is None:
        import re

        # A JSON string (possessive, so a 50 MB string is one C-speed span) or a bracket.
        _token_rx = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.S)
    return _token_rx


def cut_deep_text(text: str, max_depth: int = MAX_DEPTH) -> str:
    """Replace every container that starts deeper than ``max_depth`` by the marker string.

    Works on the text, without parsing it, so it copes with any depth. Text that is not
    JSON comes out as some other text that is not JSON either.
    """
    out = []
    last = 0
    depth = 0
    skip_from = -1
    for m in _tokens().finditer(text):
        token = m.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth == max_depth + 1 and skip_from < 0:
                skip_from = m.start()
        else:
            if depth == max_depth + 1 and skip_from >= 0:
                out.append(text[last:skip_from])
                out.append('"' + NESTED_MARKER + '"')
                last = m.end()
                skip_from = -1
            depth -= 1
    if skip_from >= 0:  # unbalanced: the rest cannot be JSON anyway
        out.append(text[last:skip_from])
        last = len(text)
    out.append(text[last:])
    return "".join(out)


def _encodes(s: str) -> bool:
    if s.isascii():  # O(1) in CPython
        return True
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _fix_text(s: str) -> str:
    if _encodes(s):
        return s
    import re

    return re.sub("[\ud800-\udfff]", "\ufffd", s)


def _bound(value, max_depth: int, fix: bool):
    """Cut containers deeper than ``max_depth`` and (if ``fix``) repair surrogates.

    Iterative: the value may be as deep as ``json.loads`` allows, and recursion here
    would fail just where it matters.
    """
    if isinstance(value, str):
        return _fix_text(value) if fix else value
    if not isinstance(value, (dict, list)):
        return value
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if fix:
                items = [(_fix_text(k), v) for k, v in node.items()]
                node.clear()
                node.update(items)
            entries = list(node.items())
        else:
            entries = list(enumerate(node))
        for key, child in entries:
            if isinstance(child, (dict, list)):
                if depth >= max_depth:
                    node[key] = NESTED_MARKER
                else:
                    stack.append((child, depth + 1))
            elif fix and isinstance(child, str):
                node[key] = _fix_text(child)
    return value


def bound(value, max_depth: int = MAX_DEPTH, fix_surrogates: bool = True):
    """A parsed value cut at ``max_depth`` (and its lone surrogates repaired), in place.

    For a caller that parsed the text itself and knows it may be deep or hold ``\\ud…``
    escapes; ``loads`` does both checks on the text.
    """
    return _bound(value, max_depth, fix_surrogates)


_decode = None  # ``jsonlite.decode``, once imported


def _json_loads(text: str):
    """``json.loads(text)``, through the C scanner it ends in (``jsonlite.decode``): the
    worker parses every queue row, and ``json.loads`` spent about as long in its Python
    layers (the decoder object, two whitespace regexes) as in the scanner for a hook's
    payload. Text that is not one JSON document fails as ``json.loads`` fails;
    ``RecursionError`` is let through as ``json.loads`` lets it through."""
    global _decode
    if _decode is None:  # imported once, not per call (an import statement costs a look-up)
        from claude_mem import jsonlite

        _decode = jsonlite.decode
    return _decode(text)


def loads(text: str, max_depth: int = MAX_DEPTH):
    """``json.loads`` with bounded nesting and strings that always encode; ValueError if not JSON."""
    if not isinstance(text, str):
        raise ValueError(f"expected JSON text, got {type(text).__name__}")
    try:
        value = _json_loads(text)
    except RecursionError:
        try:
            value = _json_loads(cut_deep_text(text, max_depth))
        except RecursionError:  # cannot happen after the cut; never let it escape
            raise ValueError("JSON nested too deeply") from None
    deep = text.count("[") + text.count("{") > max_depth
    fix = "\\ud" in text or "\\uD" in text or not _encodes(text)
    if deep or fix:
        value = _bound(value, max_depth, fix)
    return value
