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

try:  # libyaml is ~10x faster; PyYAML wheels ship it
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


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
        except json.JSONDecodeError as exc:
            if file.endswith(".json"):
                raise ManifestError(
                    f"JSON syntax error: {exc.msg}",
                    file=file,
                    line=exc.lineno,
                    column=exc.colno,
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
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
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
    starts = [text.count("\n", 0, m.start()) + 1 for m in _DOC_START.finditer(text)]
    lines: list[int | None]
    if not starts or (starts[0] != 1 and text[: text.find("---")].strip()):
        starts = [1, *starts]
    lines = [starts[i] if i < len(starts) else None for i in range(len(docs))]
    return docs, lines
