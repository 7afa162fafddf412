"""Reading Kubernetes manifests from files, directories and strings.

Accepts YAML (several documents per file), JSON, directories (recursively, ``.yaml``,
``.yml`` and ``.json`` files in sorted order) and ``kind: List`` objects (their ``items``).
Each object keeps where it came from so that every later error can name the file, the
document and the line.

Input is bounded (each limit refused early, with a message saying which and how to split):
:data:`MAX_FILE_BYTES` per file, :data:`MAX_TOTAL_BYTES` per run, and
:data:`labkit.model.pyyaml_reader.MAX_NODES` YAML values per run, so that no input takes
more than ~500 MB or minutes (50 MB of ``[1,1,...]`` once took 2.5 minutes and 7.4 GB).
A key written twice in one mapping is refused in JSON as in YAML.
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

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
DOCUMENT_START = re.compile(r"^---(\s|$)", re.MULTILINE)
"""A ``---`` line: where a YAML document starts."""
MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest manifest file read (10 MiB): three times the generated 5,000-pod, 1,000-policy
benchmark cluster (3 MB in all), and more than etcd stores in one object (1.5 MiB) or the
API server takes in one request (3 MiB)."""
MAX_TOTAL_BYTES = 16 * 1024 * 1024
"""Largest total read in one run (16 MiB), over every ``-f``."""
_MIB = 1024 * 1024
_CLEAN_PATH = re.compile(r"/?(?:(?!\.(?:/|$))[^/]+/)*(?!\.(?:/|$))[^/]+")
"""A path ``pathlib`` would spell the same: no empty or ``.`` component, no trailing ``/``."""


@dataclass
class ReadBudget:
    """What one run may still read: bytes (:data:`MAX_TOTAL_BYTES`) and YAML values
    (:data:`labkit.model.pyyaml_reader.MAX_NODES`). Not frozen: it is a counter, spent as
    the files are read; one is shared by every file of one command."""

    bytes_left: int = MAX_TOTAL_BYTES
    nodes_left: int | None = None  # None: the reader's full allowance (set on first use)

    def spend_bytes(self, size: int, file: str) -> None:
        """Count ``size`` bytes of ``file`` read; refused past either limit."""
        self.refuse_oversize(size, file)
        self.bytes_left -= size

    def refuse_oversize(self, size: int, file: str) -> None:
        """Refuse ``file`` when ``size`` bytes pass either limit (checked before reading)."""
        if size > MAX_FILE_BYTES:
            raise ManifestError(
                f"file too large: {_mib(size)} (labkit reads files of up to "
                f"{_mib(MAX_FILE_BYTES)})",
                file=file,
                error_type="Too large",
                hint="split it into several files, or pass only the manifests needed",
            )
        if size > self.bytes_left:
            raise ManifestError(
                f"too much input: this file ({_mib(size)}) takes the run past "
                f"{_mib(MAX_TOTAL_BYTES)} in all",
                file=file,
                error_type="Too large",
                hint="pass fewer or smaller files (-f) in one run",
            )


def _mib(size: int) -> str:
    return f"{size / _MIB:.1f} MiB" if size % _MIB else f"{size // _MIB} MiB"


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
    by path components, files only, symbolic links to directories not followed. A directory
    that cannot be listed is an error, not an empty one."""
    if isinstance(raw, str) and _CLEAN_PATH.fullmatch(raw):
        name = raw
    else:  # let pathlib spell it: ``./a//b/`` is ``a/b``
        from pathlib import Path

        name = str(Path(raw))
    if os.path.isdir(name):
        found = [
            os.path.join(top, file)
            for top, _, files in os.walk(name, onerror=_unreadable_directory)
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
    raise _not_a_file(name)


def _unreadable_directory(exc: OSError) -> None:
    """``os.walk``'s ``onerror``: a directory it cannot list (os.walk would skip it)."""
    raise ManifestError(
        f"cannot read directory: {exc.strerror or exc}",
        file=exc.filename or "",
        error_type="Cannot read",
        hint="check its permissions (ls -ld), or pass the files inside it with -f",
    ) from exc


def _not_a_file(name: str) -> ManifestError:
    """The error for a path that is neither a directory nor a regular file."""
    import stat

    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        return ManifestError(
            "no such file or directory",
            file=name,
            hint="check the path given to -f (a file, a directory, or several -f options)",
        )
    except OSError as exc:
        return ManifestError(
            f"cannot read: {exc.strerror or exc}",
            file=name,
            error_type="Cannot read",
            hint="check the path and its permissions",
        )
    what = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"
    return ManifestError(
        f"{what}, not a regular file",
        file=name,
        error_type="Not a file",
        hint="save the manifests to a .yaml or .json file first and pass that file to -f",
    )


def load_paths(paths: Iterable[str | Path], *, budget: ReadBudget | None = None) -> list[RawObject]:
    """Read every manifest object under ``paths``; raises :class:`ManifestError`.
    ``budget`` is shared by calls that make up one run (a fresh one by default)."""
    budget = budget or ReadBudget()
    objects: list[RawObject] = []
    for raw in paths:
        for name in _manifest_files(raw):
            objects.extend(load_text(_read_text(name, budget), name, budget=budget))
    return objects


def read_text_file(name: str, budget: ReadBudget) -> str:
    """The UTF-8 text of the file ``name``, bounded as a manifest file is (its size spent from
    ``budget``; :class:`ManifestError` when too large, unreadable or not UTF-8): for files read
    otherwise than as manifests, such as notebook submissions (:mod:`labkit.grading`)."""
    return _read_text(name, budget)


def _read_text(name: str, budget: ReadBudget) -> str:
    """The UTF-8 text of the file ``name``, its size spent from ``budget`` before reading."""
    try:
        with open(name, "rb") as handle:
            budget.refuse_oversize(os.fstat(handle.fileno()).st_size, name)
            data = handle.read(MAX_FILE_BYTES + 1)  # the size a file reports may be wrong
    except OSError as exc:
        raise ManifestError(
            f"cannot read file: {exc.strerror or exc}",
            file=name,
            error_type="Cannot read",
            hint="check the file's permissions (ls -l)",
        ) from exc
    budget.spend_bytes(len(data), name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ManifestError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} cannot be decoded",
            file=name,
            line=line,
            column=column,
            error_type="Invalid encoding",
            hint="save the file as UTF-8 (Kubernetes manifests are UTF-8), e.g. "
            "iconv -f LATIN1 -t UTF-8",
        ) from exc


def load_text(
    text: str, file: str = "<string>", *, budget: ReadBudget | None = None
) -> list[RawObject]:
    """Parse YAML or JSON text into objects (``kind: List`` is expanded)."""
    if budget is None:
        budget = ReadBudget()
        budget.spend_bytes(len(text), file)
    stripped = text.lstrip()
    if file.endswith(".json") or (stripped.startswith("{") and not DOCUMENT_START.search(text)):
        try:
            docs: list[Any] = [json.loads(text, object_pairs_hook=_unique_keys)]
            lines: list[int | None] = [1]
        except _DuplicateJsonKey as exc:
            raise _duplicate_json_key(text, file, exc.key) from exc
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
            docs, lines = _load_yaml(text, file, budget)
    else:
        docs, lines = _load_yaml(text, file, budget)
    objects: list[RawObject] = []
    for index, (doc, line) in enumerate(zip(docs, lines, strict=True)):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(
                f"document {index + 1} is {_kind_of(doc)}, not a mapping",
                file=file,
                line=line,
                hint="each YAML document must be a mapping with apiVersion, kind and metadata",
            )
        objects.extend(_expand_list(doc, file, line, index))
    return objects


class _DuplicateJsonKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json``'s ``object_pairs_hook``: the object, unless a key appears twice (``json``
    keeps the last silently: a second ``podSelector: {}`` would select every pod)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateJsonKey(key)
            seen.add(key)
    return obj


def _duplicate_json_key(text: str, file: str, key: str) -> ManifestError:
    """The error for a JSON key written twice, with both places (found by the YAML reader,
    JSON being YAML's flow style; without them when it cannot read the text)."""
    from labkit.model.pyyaml_reader import find_duplicate_key

    found = find_duplicate_key(text)
    line = column = first = None
    if found is not None and found[0] == key:
        _, line, column, first = found
    where = f" (first at line {first})" if first is not None else ""
    return ManifestError(
        f"JSON: key {json.dumps(key)} appears twice in one object{where}",
        file=file,
        line=line,
        column=column,
        error_type="Syntax error",
        hint=f"keep one {json.dumps(key)} entry: with both, only the last one would count "
        "(kubectl refuses the file)",
    )


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
                    f"an item is {_kind_of(item)}, not a mapping",
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


def _kind_of(value: object) -> str:
    """``value``'s type in words ("an integer", "a list"), as validation messages say it."""
    from labkit.model.validation.collector import kind_of

    return kind_of(value)


def _load_yaml(text: str, file: str, budget: ReadBudget) -> tuple[list[Any], list[int | None]]:
    """The documents of ``text`` and the line each starts on, read by PyYAML (imported only
    then: JSON input does without it)."""
    from labkit.model.pyyaml_reader import read_documents, spend_nodes

    budget.nodes_left = spend_nodes(text, file, budget.nodes_left)
    return read_documents(text, file)
