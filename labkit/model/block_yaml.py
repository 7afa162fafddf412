"""A fast reader for the plain block YAML that Kubernetes manifests are made of.

Most manifests use a small part of YAML: maps and lists in block style, plain or simply
quoted scalars on one line, comments, ``---`` between documents, and the empty ``{}`` and
``[]``. :func:`parse_block_documents` reads exactly that part, line by line, in pure Python
(no PyYAML import, about twice as fast as PyYAML's C parser on manifests) and answers
``None`` as soon as the text holds anything else: tabs, non-ASCII or control characters,
anchors, aliases, tags, block scalars (``|``, ``>``), flow collections with content, a
scalar continued on the next line, escapes, directives, a duplicate key, a value PyYAML
would read as a float, a timestamp, a non-decimal integer, a merge key, a key longer than
1024 characters, nesting deeper than 200 levels, or indentation that does not line up.
The caller then reads the whole text with PyYAML, which gives the exact error for broken
input.

What it returns equals what ``yaml.safe_load_all`` returns for the same text, value for
value and type for type (YAML 1.1 scalars as PyYAML resolves them: ``yes``/``on`` are
``True``, ``~`` is ``None``, ``0800`` is not an integer). ``tests/test_block_yaml.py``
holds it to that, row by row and on generated documents.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_block_documents"]

_BAD_CHARACTERS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
"""Tabs, carriage returns and control characters: left to PyYAML."""

# PyYAML's implicit resolvers (YAML 1.1) for the scalars this reader does not build itself:
# floats, integers other than plain decimals, the merge key, timestamps and ``=``. A plain
# scalar matching one of them sends the text to PyYAML.
_OTHER_TYPES = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN)
        |[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+
        |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
        |<<
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
         (?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
         (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
        |=)$""",
    re.X,
)
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_WORDS: dict[str, Any] = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("~", "null", "Null", "NULL"), None),
}
_RESOLVED_BY_FIRST = frozenset("-+0123456789.<=yYnNtTfFoO~")
"""First characters of the plain scalars that YAML 1.1 may read as something else than a
string (PyYAML keys its implicit resolvers by first character the same way)."""
_NOT_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`")
"""Characters a plain scalar cannot start with (or starts with only in cases left to
PyYAML, such as ``-1`` as a key)."""
_MAX_DIGITS = 4000
"""Longer integers are left to PyYAML (Python refuses to convert more than 4300 digits)."""
_MAX_KEY = 1024
"""Longer keys are left to PyYAML, which refuses a key whose ``:`` is more than 1024
characters after its start (a "simple key" in the YAML spec)."""
_MAX_DEPTH = 200
"""Deeper nesting is left to PyYAML: libyaml refuses more than 1000 levels, and the
loader's PyYAML path builds documents recursively (Python's limit is 1000 frames)."""


class _Unsupported(Exception):
    """The text uses YAML beyond this reader's part: read it with PyYAML."""


class _Pending:
    """A key or list item whose value was empty on its line: a nested block or null."""

    __slots__ = ("container", "indent", "slot")

    def __init__(self, container: Any, slot: Any, indent: int) -> None:
        self.container = container
        self.slot = slot
        self.indent = indent


def _plain(text: str, cache: dict[str, Any]) -> Any:
    """The value of a plain scalar, as PyYAML's safe loader builds it."""
    try:
        return cache[text]
    except KeyError:
        pass
    value: Any = text
    if text[0] in _RESOLVED_BY_FIRST:
        if text in _WORDS:
            value = _WORDS[text]
        elif _DECIMAL.fullmatch(text):
            if len(text) > _MAX_DIGITS:
                raise _Unsupported
            try:
                value = int(text)
            except ValueError:  # sys.set_int_max_str_digits() set a lower limit
                raise _Unsupported from None
        elif _OTHER_TYPES.match(text):
            raise _Unsupported
    cache[text] = value
    return value


def _value(text: str, cache: dict[str, Any]) -> Any:
    """A value written on one line after ``key: `` or ``- `` (never empty here)."""
    first = text[0]
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            raise _Unsupported
        return inner
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            raise _Unsupported
        return inner.replace("''", "'")
    if first == "{" or first == "[":
        if text == "{}":
            return {}
        if text == "[]":
            return []
        raise _Unsupported
    if first in _NOT_PLAIN_START and not (first == "-" and len(text) > 1 and text[1] != " "):
        raise _Unsupported
    cut = text.find(" #")
    if cut >= 0:
        text = text[:cut].rstrip(" ")
    if ": " in text or text[-1] == ":":
        raise _Unsupported
    return _plain(text, cache)


def _key(text: str, cache: dict[str, Any]) -> Any:
    if not text:
        raise _Unsupported
    if text[0] == "'" or text[0] == '"':
        return _value(text, cache)
    if text[0] in _NOT_PLAIN_START or " #" in text:
        raise _Unsupported
    return _plain(text, cache)


def _split(text: str) -> int:
    """Where the ``:`` of ``key: value`` (or ``key:``) is in ``text``; -1 for no key."""
    first = text[0]
    if first == "'" or first == '"':
        end = text.find(first, 1) + 1  # a key with quotes inside is left to PyYAML
        if end == 0:
            raise _Unsupported
        if text[end : end + 2] == ": " or (len(text) == end + 1 and text[end] == ":"):
            return end
        return -1
    if first == "{" or first == "[":
        return -1
    split = text.find(": ")
    if split < 0 and text[-1] == ":":
        return len(text) - 1
    return split


def parse_block_documents(text: str) -> tuple[list[Any], list[int | None]] | None:
    """The documents of ``text`` and the line each starts on, or ``None`` to use PyYAML.

    A document's line is that of its ``---``, or 1 for a first document without one; an
    explicit document with nothing in it is ``None``, as in PyYAML.
    """
    if not text.isascii() or _BAD_CHARACTERS.search(text):
        return None
    try:
        return _parse(text)
    except _Unsupported:
        return None


# What a line says, worked out once per distinct line (manifests repeat most of their lines:
# 1,785 distinct lines in the 16,881 of the benchmark's 500 pods and 100 policies).
_SKIP = 0  # (_SKIP,): blank or comment
_DOC = 1  # (_DOC,): ---
_ENTRY = 2  # (_ENTRY, indent, key, value)
_ITEM = 3  # (_ITEM, indent, inner dash columns, payload kind, column, key, value)
_EMPTY, _SCALAR = 0, 1  # item payloads besides _ENTRY: nothing, or a scalar in ``value``
_PENDING: Any = object()  # an empty value: a nested block or null, decided by what follows
_NEW_MAP: Any = object()  # ``{}``: a new empty map each time
_NEW_LIST: Any = object()  # ``[]``: a new empty list each time
_SKIP_LINE = (_SKIP,)
_DOC_LINE = (_DOC,)


def _push(stack: list[tuple[int, Any]], indent: int, node: Any) -> None:
    """Open ``node`` (a map or list) at ``indent`` inside the innermost open node."""
    stack.append((indent, node))
    if len(stack) > _MAX_DEPTH:
        raise _Unsupported


def _fresh(value: Any) -> Any:
    """The value to store for a line: ``{}`` and ``[]`` stand for new objects."""
    if type(value) is dict:
        return _NEW_MAP
    if type(value) is list:
        return _NEW_LIST
    return value


def _entry_value(text: str, cache: dict[str, Any]) -> Any:
    """The value after ``key:`` (``text`` holds the ``: `` and what follows, or nothing)."""
    text = text[2:].lstrip(" ")
    if not text or text[0] == "#":
        return _PENDING
    return _fresh(_value(text, cache))


def _describe(line: str, cache: dict[str, Any]) -> tuple[Any, ...]:
    """What one line says, independently of the lines around it."""
    content = line.lstrip(" ")
    if not content or content[0] == "#":
        return _SKIP_LINE
    indent = len(line) - len(content)
    content = content.rstrip(" ")
    if indent == 0 and content[:3] in ("---", "..."):
        if content != "---":
            raise _Unsupported
        return _DOC_LINE
    if content[0] == "-" and (len(content) == 1 or content[1] == " "):
        rest = content[1:].lstrip(" ")
        inner: list[int] = []  # ``- - x``: the columns of the inner dashes
        while rest and rest[0] == "-" and (len(rest) == 1 or rest[1] == " "):
            inner.append(indent + len(content) - len(rest))
            rest = rest[1:].lstrip(" ")
        if not rest:
            return (_ITEM, indent, tuple(inner), _EMPTY, 0, None, None)
        split = _split(rest)
        if split < 0:
            return (_ITEM, indent, tuple(inner), _SCALAR, 0, None, _fresh(_value(rest, cache)))
        if split > _MAX_KEY:
            raise _Unsupported
        key = _key(rest[:split].rstrip(" "), cache)
        column = indent + len(content) - len(rest)
        value = _entry_value(rest[split:], cache)
        return (_ITEM, indent, tuple(inner), _ENTRY, column, key, value)
    split = _split(content)
    if split < 0:
        raise _Unsupported  # a scalar alone on its line
    if split > _MAX_KEY:
        raise _Unsupported
    key = _key(content[:split].rstrip(" "), cache)
    return (_ENTRY, indent, key, _entry_value(content[split:], cache))


def _parse(text: str) -> tuple[list[Any], list[int | None]]:
    cache: dict[str, Any] = {}  # plain scalar -> value
    described: dict[str, tuple[Any, ...]] = {}  # line -> what it says
    docs: list[Any] = []
    lines: list[int | None] = []
    root: Any = None
    open_line = 1  # the line of the document being read
    explicit = False  # whether that document began with ---
    stack: list[tuple[int, Any]] = []  # (indent, open map or list), innermost last
    pending: _Pending | None = None
    mapping: Any = None  # the map the current line adds to
    same_map = -1  # the indent of ``mapping`` while it is still the innermost open node
    for number, line in enumerate(text.split("\n"), 1):
        what = described.get(line)
        if what is None:
            what = described[line] = _describe(line, cache)
        kind = what[0]
        if kind == _ENTRY:
            indent = what[1]
            if indent != same_map or pending is not None:
                if pending is not None:
                    if indent > pending.indent:
                        mapping = {}
                        pending.container[pending.slot] = mapping
                        _push(stack, indent, mapping)
                    else:
                        pending.container[pending.slot] = None
                    pending = None
                if not stack:
                    if root is not None:
                        raise _Unsupported
                    root = {}
                    stack.append((indent, root))
                top_indent, mapping = stack[-1]
                while top_indent > indent or (top_indent == indent and type(mapping) is list):
                    stack.pop()
                    if not stack:
                        raise _Unsupported
                    top_indent, mapping = stack[-1]
                if top_indent != indent or type(mapping) is not dict:
                    raise _Unsupported
            key = what[2]
            value = what[3]
        elif kind == _SKIP:
            continue
        elif kind == _DOC:
            if explicit or stack:
                if pending is not None:
                    pending.container[pending.slot] = None
                    pending = None
                docs.append(root)
                lines.append(open_line)
            root, stack, explicit, open_line, same_map = None, [], True, number, -1
            continue
        else:  # a list item: close what is deeper, then add to the list at this indent
            indent = what[1]
            if pending is not None:
                if indent > pending.indent or (
                    indent == pending.indent and type(pending.container) is dict
                ):
                    items: list[Any] = []
                    pending.container[pending.slot] = items
                    _push(stack, indent, items)
                else:
                    pending.container[pending.slot] = None
                pending = None
            if not stack:
                if root is not None:
                    raise _Unsupported
                root = []
                stack.append((indent, root))
            while stack[-1][0] > indent:
                stack.pop()
                if not stack:
                    raise _Unsupported
            top_indent, items = stack[-1]
            if top_indent != indent or type(items) is not list:
                raise _Unsupported
            for column in what[2]:
                inner: list[Any] = []
                items.append(inner)
                _push(stack, column, inner)
                items = inner
            payload = what[3]
            if payload == _EMPTY:
                items.append(None)
                pending = _Pending(items, len(items) - 1, stack[-1][0])
                same_map = -1
                continue
            value = what[6]
            if payload == _SCALAR:
                if value is _NEW_MAP:
                    value = {}
                elif value is _NEW_LIST:
                    value = []
                items.append(value)
                same_map = -1
                continue
            mapping = {}
            items.append(mapping)
            indent = what[4]
            _push(stack, indent, mapping)
            key = what[5]
        # a map entry: ``key`` and ``value`` in ``mapping``, at ``indent``
        if key in mapping:
            raise _Unsupported  # a duplicate: PyYAML's path reports it with both lines
        same_map = indent
        if value is _PENDING:
            mapping[key] = None
            pending = _Pending(mapping, key, indent)
        elif value is _NEW_MAP:
            mapping[key] = {}
        elif value is _NEW_LIST:
            mapping[key] = []
        else:
            mapping[key] = value
    if pending is not None:
        pending.container[pending.slot] = None
    if explicit or stack:
        docs.append(root)
        lines.append(open_line)
    return docs, lines
