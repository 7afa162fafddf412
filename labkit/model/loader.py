"""Reading Kubernetes manifests from files, directories and strings.

Accepts YAML (several documents per file), JSON, directories (recursively, ``.yaml``,
``.yml`` and ``.json`` files in sorted order) and ``kind: List`` objects (their ``items``).
Each object keeps where it came from so that every later error can name the file, the
document and the line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labkit.errors import ManifestError

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_DOC_START = re.compile(r"^---(\s|$)", re.MULTILINE)
MAX_EXPANDED_NODES = 1_000_000
"""Values a document may expand to through YAML aliases (Kubernetes' decoder limits it too)."""

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


@dataclass(frozen=True)
class RawObject:
    """One manifest object as written, with its origin."""

    data: dict[str, Any]
    file: str
    line: int | None = None
    document: int = 0
    list_index: int | None = None

    @property
    def kind(self) -> str:
        value = self.data.get("kind")
        return value if isinstance(value, str) else ""

    @property
    def api_version(self) -> str:
        value = self.data.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def metadata(self) -> dict[str, Any]:
        value = self.data.get("metadata")
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        value = self.metadata.get("name")
        return value if isinstance(value, str) else ""

    @property
    def namespace(self) -> str:
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) and value else "default"

    @property
    def title(self) -> str:
        """``NetworkPolicy my-segment/allow-x`` (cluster-scoped: ``Namespace trusted``)."""
        kind = self.kind or "object"
        name = self.name or self.metadata.get("generateName") or "<unnamed>"
        if kind == "Namespace":
            return f"{kind} {name}"
        return f"{kind} {self.namespace}/{name}"

    @property
    def location(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return self.file


def iter_manifest_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES
            )
            if not found:
                log.warning("%s holds no .yaml, .yml or .json files", path)
            yield from found
        elif path.is_file():
            yield path
        else:
            raise ManifestError(
                "no such file or directory",
                file=str(path),
                hint="check the path given to -f (a file, a directory, or several -f options)",
            )


def load_paths(paths: Iterable[str | Path]) -> list[RawObject]:
    """Read every manifest object under ``paths``; raises :class:`ManifestError`."""
    objects: list[RawObject] = []
    for path in iter_manifest_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ManifestError(
                f"cannot read file: {exc}", file=str(path), hint="pass a UTF-8 text file"
            ) from exc
        objects.extend(load_text(text, str(path)))
    return objects


def load_text(text: str, file: str = "<string>") -> list[RawObject]:
    """Parse YAML or JSON text into objects (``kind: List`` is expanded)."""
    stripped = text.lstrip()
    if file.endswith(".json") or (stripped.startswith("{") and not _DOC_START.search(text)):
        try:
            docs: list[Any] = [json.loads(text)]
            lines: list[int | None] = [1]
        except (ValueError, RecursionError) as exc:
            # JSONDecodeError is a ValueError; so is an integer longer than Python converts
            # (4300 digits), and nesting too deep for the decoder is a RecursionError
            if file.endswith(".json"):
                raise ManifestError(
                    f"JSON syntax error: {getattr(exc, 'msg', None) or exc or 'nested too deep'}",
                    file=file,
                    line=getattr(exc, "lineno", None),
                    column=getattr(exc, "colno", None),
                    hint="fix the JSON at that position (a missing comma, quote or bracket)",
                ) from exc
            docs, lines = _load_yaml(text, file)
    else:
        docs, lines = _load_yaml(text, file)
    objects: list[RawObject] = []
    for index, (doc, line) in enumerate(zip(docs, lines, strict=True)):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(
                f"document {index + 1} is a {type(doc).__name__}, not a Kubernetes object",
                file=file,
                line=line,
                hint="each YAML document must be a mapping with apiVersion, kind and metadata",
            )
        objects.extend(_expand_list(doc, file, line, index))
    return objects


def _expand_list(doc: dict[str, Any], file: str, line: int | None, index: int) -> list[RawObject]:
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
        items = doc.get("items") or []
        if not isinstance(items, list):
            raise ManifestError(
                "items must be a list of objects",
                file=file,
                line=line,
                field="items",
                hint="write items: [ {...}, {...} ]",
            )
        out: list[RawObject] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ManifestError(
                    f"items[{i}] is a {type(item).__name__}, not a Kubernetes object",
                    file=file,
                    line=line,
                    field=f"items[{i}]",
                    hint="every item of a List must be a mapping with kind and metadata",
                )
            out.extend(
                RawObject(sub.data, file, line, index, i)
                for sub in _expand_list(item, file, line, index)
            )
        return out
    return [RawObject(doc, file, line, index)]


def _raise_duplicate(node: Any) -> None:
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = key_node.value
        if key in seen:
            mark = key_node.start_mark
            raise _DuplicateKey(key, mark.line + 1, mark.column + 1, seen[key])
        seen[key] = key_node.start_mark.line + 1


def _load_yaml(text: str, file: str) -> tuple[list[Any], list[int | None]]:
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
    separators = list(_DOC_START.finditer(text))
    starts: list[int] = []
    line, pos = 1, 0
    for m in separators:  # counted incrementally: one pass over the text, not one per document
        line += text.count("\n", pos, m.start())
        pos = m.start()
        starts.append(line)
    lines: list[int | None]
    if not starts or (starts[0] != 1 and _has_content(text[: separators[0].start()])):
        starts = [1, *starts]
    lines = [starts[i] if i < len(starts) else None for i in range(len(docs))]
    return docs, lines


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
