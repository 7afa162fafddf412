"""Reading Kubernetes manifests from files, directories and strings.

Accepts YAML (several documents per file), JSON, directories (recursively, ``.yaml``,
``.yml`` and ``.json`` files in sorted order) and ``kind: List`` objects (their ``items``).
Each object keeps where it came from so that every later error can name the file, the
document and the line.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import ManifestError
from labkit.model.block_yaml import parse_block_documents

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
DOCUMENT_START = re.compile(r"^---(\s|$)", re.MULTILINE)
"""A ``---`` line: where a YAML document starts."""
_CLEAN_PATH = re.compile(r"/?(?:(?!\.(?:/|$))[^/]+/)*(?!\.(?:/|$))[^/]+")
"""A path ``pathlib`` would spell the same: no empty or ``.`` component, no trailing ``/``."""


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
    """The manifest files named by ``paths``: files as given, directories searched
    recursively for ``.yaml``, ``.yml`` and ``.json`` files (in sorted order)."""
    from pathlib import Path

    for raw in paths:
        yield from (Path(name) for name in _manifest_files(raw))


def _manifest_files(raw: str | Path) -> list[str]:
    """:func:`iter_manifest_files` for one path, as the strings ``str(Path(...))`` gives.

    ``os`` instead of ``pathlib`` on the common path (``pathlib`` costs ``labkit matrix``
    milliseconds of start-up); the same files in the same order as ``Path.rglob``: sorted
    by path components, files only, symbolic links to directories not followed."""
    if isinstance(raw, str) and _CLEAN_PATH.fullmatch(raw):
        name = raw
    else:  # let pathlib spell it: ``./a//b/`` is ``a/b``
        from pathlib import Path

        name = str(Path(raw))
    if os.path.isdir(name):
        found = [
            os.path.join(top, file)
            for top, _, files in os.walk(name)
            for file in files
            if os.path.splitext(file)[1].lower() in MANIFEST_SUFFIXES
            and os.path.isfile(os.path.join(top, file))
        ]
        if not found:
            log.warning("%s holds no .yaml, .yml or .json files", name)
        found.sort(key=lambda path: path.split("/"))
        return found
    if os.path.isfile(name):
        return [name]
    raise ManifestError(
        "no such file or directory",
        file=name,
        hint="check the path given to -f (a file, a directory, or several -f options)",
    )


def load_paths(paths: Iterable[str | Path]) -> list[RawObject]:
    """Read every manifest object under ``paths``; raises :class:`ManifestError`."""
    objects: list[RawObject] = []
    for raw in paths:
        for name in _manifest_files(raw):
            try:
                with open(name, encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestError(
                    f"cannot read file: {exc}", file=name, hint="pass a UTF-8 text file"
                ) from exc
            objects.extend(load_text(text, name))
    return objects


def load_text(text: str, file: str = "<string>") -> list[RawObject]:
    """Parse YAML or JSON text into objects (``kind: List`` is expanded)."""
    stripped = text.lstrip()
    if file.endswith(".json") or (stripped.startswith("{") and not DOCUMENT_START.search(text)):
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


def _load_yaml(text: str, file: str) -> tuple[list[Any], list[int | None]]:
    """The documents of ``text`` and the line each starts on: the block reader for plain
    manifests; PyYAML (imported only then) for anything else, broken YAML included."""
    fast = parse_block_documents(text)
    if fast is not None:
        return fast
    from labkit.model.pyyaml_reader import read_documents

    return read_documents(text, file)
