"""Reading YAML with PyYAML (libyaml's ``CSafeLoader``): values, the line each document
starts on, and the exact error, line and column for broken YAML.

On top of PyYAML's safe loader: a key written twice in one mapping is refused (as kubectl
refuses it), aliases may not form cycles nor expand past :data:`MAX_EXPANDED_NODES` values,
and a file holding more than :data:`MAX_NODES` values in one run is refused before PyYAML builds
them (libyaml already refuses nesting deeper than 1,000 levels).

Imported only when a file needs it: importing PyYAML costs ``labkit matrix`` several
milliseconds of start-up, and JSON input does without it.
"""

from __future__ import annotations

from typing import Any

import yaml

from labkit.errors import ManifestError
from labkit.model.loader import DOCUMENT_START

MAX_EXPANDED_NODES = 1_000_000
"""Values a document may expand to through YAML aliases (Kubernetes' decoder limits it too)."""

MAX_NODES = 1_000_000
"""YAML values (scalars, aliases, lists, maps) one run may read, over every file. PyYAML
builds a whole document's nodes (a few hundred bytes each) before any value: without a
bound, 50 MB of ``[1,1,...]`` took 7.4 GB. A million stays under ~400 MB at worst; a
generated 5,000-pod, 1,000-policy cluster is 354,000."""

try:  # libyaml is ~10x faster; PyYAML wheels ship it
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseLoader = yaml.SafeLoader

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_KEY_TAGS = frozenset({_STR, _NULL, _BOOL, _INT, _FLOAT})


class _Unusual(Exception):
    """A document uses YAML beyond plain maps, lists and scalars: build it the generic way."""


class _DuplicateKey(Exception):
    """A mapping names the same key twice (kubectl refuses it: "mapping key already defined").

    PyYAML keeps the last value silently, which hides a classic mistake: two ``ingress:``
    sections, where only the second one counts."""

    def __init__(self, key: object, line: int, column: int, first_line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.column = column
        self.first_line = first_line


class _Loader(_BaseLoader):  # type: ignore[misc]
    """PyYAML's safe loader, faster on what manifests are made of; same results.

    * Scalar tag resolution is memoised per ``(value, implicit)``: without path resolvers
      (none are registered) the resolver is a pure function of them.
    * A document made only of maps, lists and str/null/bool/int/float scalars is built by one
      direct walk that calls PyYAML's own scalar constructors; aliases give the same object,
      as PyYAML does. Any other tag, a merge key (``<<``) or a key that is not a scalar sends
      the whole document through PyYAML's generic constructor instead.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._tag_cache: dict[tuple[Any, Any], Any] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._tag_cache.get(key)
        if tag is None:
            tag = self._tag_cache[key] = super().resolve(kind, value, implicit)
        return tag

    def construct_document(self, node: Any) -> Any:
        try:
            return self._build(node, {})
        except _Unusual:
            return super().construct_document(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """PyYAML's generic mapping, refusing a scalar key written twice (merge keys ``<<``
        aside: keys they bring in may be overridden, as YAML's merge type says)."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key_node, _ in node.value:
                if type(key_node) is not yaml.ScalarNode or key_node.tag == _MERGE:
                    continue
                mark = key_node.start_mark
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise _DuplicateKey(key_node.value, mark.line + 1, mark.column + 1, seen[key])
                seen[key] = mark.line + 1
        return super().construct_mapping(node, deep)

    def _build(self, node: Any, memo: dict[int, Any]) -> Any:
        tag = node.tag
        kind = type(node)
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return self.construct_yaml_bool(node)
            if tag == _INT:
                return self.construct_yaml_int(node)
            if tag == _FLOAT:
                return self.construct_yaml_float(node)
            raise _Unusual
        found = memo.get(id(node))
        if found is not None:
            return found
        if kind is yaml.MappingNode and tag == _MAP:
            mapping: dict[Any, Any] = {}
            memo[id(node)] = mapping
            scalar = yaml.ScalarNode
            for key_node, value_node in node.value:
                if type(key_node) is not scalar:
                    raise _Unusual
                key_tag = key_node.tag
                if key_tag == _STR:  # the common case, inlined: a string key ...
                    key = key_node.value
                elif key_tag in _KEY_TAGS:
                    key = self._build(key_node, memo)
                else:
                    raise _Unusual
                if type(value_node) is scalar and value_node.tag == _STR:  # ... a string value
                    mapping[key] = value_node.value
                else:
                    mapping[key] = self._build(value_node, memo)
            if len(mapping) != len(node.value):
                _raise_duplicate(node)
            return mapping
        if kind is yaml.SequenceNode and tag == _SEQ:
            items: list[Any] = []
            memo[id(node)] = items
            for item in node.value:
                items.append(self._build(item, memo))
            return items
        raise _Unusual


def _raise_duplicate(node: Any) -> None:
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = key_node.value
        if key in seen:
            mark = key_node.start_mark
            raise _DuplicateKey(key, mark.line + 1, mark.column + 1, seen[key])
        seen[key] = key_node.start_mark.line + 1


def load_yaml_documents(text: str, file: str) -> list[Any]:
    """Every document of ``text`` as PyYAML's safe loader builds it; errors as ManifestError."""
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except _DuplicateKey as exc:
        raise ManifestError(
            f"YAML syntax error: mapping key {exc.key!r} already defined at line {exc.first_line}",
            file=file,
            line=exc.line,
            column=exc.column,
            hint=f"merge the two {exc.key!r} entries into one: with both, only the last one "
            "would count (kubectl refuses the file)",
        ) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        raise ManifestError(
            f"YAML syntax error: {problem}" + (f" ({exc.context})" if exc.context else ""),
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="check indentation (spaces, not tabs) and that every 'key: value' sits under "
            "the right parent",
        ) from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"YAML error: {exc}", file=file, hint="fix the YAML syntax") from exc
    except (ValueError, TypeError, OverflowError, RecursionError, UnicodeError) as exc:
        # PyYAML's constructors raise these for values they cannot build: a date such as
        # 2001-02-30, `!!int x`, an integer of more than 4300 digits, a lone surrogate
        raise ManifestError(
            f"YAML value cannot be read: {exc}",
            file=file,
            hint='quote the value if it is meant as a string (for example "2001-02-30")',
        ) from exc
    if "&" in text and "*" in text:
        for doc in docs:
            if isinstance(doc, (dict, list)):
                _check_aliases(doc, file)
    return docs


def read_documents(text: str, file: str) -> tuple[list[Any], list[int | None]]:
    """The documents of ``text`` and the line each starts on (that of its ``---``, or 1 for a
    first document without one; ``None`` past the last ``---`` found)."""
    docs = load_yaml_documents(text, file)
    separators = list(DOCUMENT_START.finditer(text))
    starts: list[int] = []
    line, pos = 1, 0
    for m in separators:  # counted incrementally: one pass over the text, not one per document
        line += text.count("\n", pos, m.start())
        pos = m.start()
        starts.append(line)
    if not starts or (starts[0] != 1 and _has_content(text[: separators[0].start()])):
        starts = [1, *starts]
    return docs, [starts[i] if i < len(starts) else None for i in range(len(docs))]


_NODE_EVENTS = (yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
_STRUCTURE = ("\n", ",", ":", "-", "?", "[", "{")
"""Where a YAML node can start: a line, or after one of these indicators."""


def node_bound(text: str) -> int:
    """An upper bound on the nodes of ``text``, counted in microseconds: a node starts a
    document or a line, or follows an indicator (``-``, ``?``, ``:``, ``,``, ``[``, ``{``),
    and each of these starts at most two (``- - x``: a list and its item; ``? ,``: a key and
    its empty value)."""
    return 2 * (1 + sum(text.count(char) for char in _STRUCTURE))


def spend_nodes(text: str, file: str, nodes_left: int | None) -> int:
    """What is left of ``nodes_left`` (``None``: all of :data:`MAX_NODES`) once ``text`` is
    read; refused when it holds more, before PyYAML builds a single node. The cheap
    :func:`node_bound` is charged when it fits; otherwise libyaml's event stream is counted
    (constant memory) up to the limit. Broken YAML is left to the loader, which reports it
    with its position."""
    left = MAX_NODES if nodes_left is None else nodes_left
    bound = node_bound(text)
    if bound <= left:
        return left - bound
    count = 0
    parser = _BaseLoader(text)
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, _NODE_EVENTS):
                count += 1
                if count > left:
                    mark = event.start_mark
                    raise _too_many_nodes(file, mark.line + 1 if mark else None)
    except yaml.YAMLError:
        pass
    finally:
        parser.dispose()
    return left - count


def _too_many_nodes(file: str, line: int | None) -> ManifestError:
    return ManifestError(
        f"too many YAML values: labkit reads at most {MAX_NODES:,} in one run, and this file "
        "passes that here",
        file=file,
        line=line,
        error_type="Too large",
        hint="pass fewer objects in one run (a 5,000-pod cluster holds ~350,000 values); "
        "a long list written on one line is a common cause",
    )


def find_duplicate_key(text: str) -> tuple[object, int, int, int] | None:
    """The first key written twice in one mapping of ``text`` as ``(key, line, column,
    first line)``, or ``None`` (also when ``text`` is not YAML or too large to read)."""
    try:
        spend_nodes(text, "", None)
        for _ in yaml.load_all(text, Loader=_Loader):
            pass
    except _DuplicateKey as exc:
        return exc.key, exc.line, exc.column, exc.first_line
    except (ManifestError, yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
        return None
    return None


def _has_content(preamble: str) -> bool:
    """Whether text before the first ``---`` is a document (not only comments/directives)."""
    return any(
        line.strip() and not line.lstrip().startswith(("#", "%")) for line in preamble.splitlines()
    )


def _check_aliases(doc: Any, file: str) -> None:
    """Refuse YAML aliases Kubernetes' decoder refuses: an alias inside its own anchor
    (``a: &x [*x]``, a cycle) and aliasing that expands past :data:`MAX_EXPANDED_NODES` nodes
    (a "billion laughs" document). Iterative depth-first walk; shared nodes are sized once."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(doc, True)]
    while stack:
        node, entering = stack.pop()
        children = list(node.values()) if isinstance(node, dict) else node
        if entering:
            if id(node) in size:
                continue
            if id(node) in on_path:
                raise ManifestError(
                    "a YAML alias refers to a node that contains it (a cycle)",
                    file=file,
                    hint="replace the *alias inside its own &anchor by a copy of the content",
                )
            on_path.add(id(node))
            stack.append((node, False))
            stack.extend((c, True) for c in children if isinstance(c, (dict, list)))
            continue
        on_path.discard(id(node))
        total = 1 + sum(size.get(id(c), 1) for c in children)
        if total > MAX_EXPANDED_NODES:
            raise ManifestError(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES} values",
                file=file,
                hint="write the content out instead of nesting aliases of aliases",
            )
        size[id(node)] = total
