"""Reading a learner's submission as data, never as code.

A submission is a manifest file (YAML or JSON), a folder of them, or a Jupyter notebook whose
cells tagged ``answer`` hold YAML. It is read the way ``labkit validate`` reads manifests
(:mod:`labkit.model.loader`, one :class:`~labkit.model.loader.ReadBudget` for the whole
submission, so no input takes unbounded time or memory) and checked the way the API server
would (:func:`labkit.model.validation.validate_objects`). The grader:

* never imports or executes anything: notebooks are read with ``nbformat`` as JSON data, only
  the *source* of ``answer`` cells is used, and outputs and metadata are never looked at (an
  output saying "score: 10/10" counts for nothing);
* never follows a symbolic link (each one is listed under ``rejected``), never reads hidden
  files or folders, and reads only ``.yaml``, ``.yml``, ``.json`` and ``.ipynb`` files;
* never takes requirements or a grade from the submission: a file named like one
  (``requirements.yaml``, ``grade.json``) or an object carrying grading keys (``score``,
  ``requirements``...) is rejected, unread or unused.

Objects the API server would refuse are reported in ``errors`` exactly as ``labkit validate -o
json`` prints them (:meth:`labkit.errors.Issue.as_dict`) and count for nothing; the valid
rest is graded. What the exercise allows (kinds, namespaces) is decided later, by
:func:`labkit.grading.world.build_world`.
"""

from __future__ import annotations

import itertools
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import GradingError, Issue, ManifestError
from labkit.model.loader import (
    MANIFEST_SUFFIXES,
    RawObject,
    ReadBudget,
    load_paths,
    load_text,
    read_text_file,
)
from labkit.model.validation import validate_objects

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

NOTEBOOK_SUFFIX = ".ipynb"
ANSWER_TAG = "answer"
"""The tag (cell toolbar > Tags) that marks the notebook cells the grader reads."""
CODE_SUFFIXES = frozenset({".py", ".pyc", ".pyw", ".pyz", ".ipy", ".sh", ".so"})
GRADING_FILE_STEMS = frozenset(
    {"requirements", "grade", "grades", "gradebook", "score", "scores", "results", "expected"}
)
"""Names of files a grader reads; in a submission they are claims, and never read."""
GRADING_KEYS = frozenset(
    {"requirements", "score", "max_score", "grade", "points", "passed", "least_privilege"}
)
"""Top-level keys of a requirements or grade file; no Kubernetes object has them."""
MAX_ENTRIES = 2_000
"""Files and folders one submission may hold (a class folder per student is far smaller)."""
MAX_DEPTH = 16
"""Folders nested deeper than this are not read."""

_NOT_READ = "not read"
_ONLY_MANIFESTS = "only .yaml, .yml, .json and .ipynb files are read"


@dataclass(frozen=True)
class Rejected:
    """Something in a submission that has no effect on the grade, and why."""

    file: str
    object: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "object": self.object, "reason": self.reason}


@dataclass(frozen=True)
class Submission:
    """A submission as read: valid objects (in reading order), what was rejected, and the
    validation errors in ``labkit validate -o json``'s per-error form."""

    objects: tuple[RawObject, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    errors: tuple[dict[str, str], ...] = ()


def read_submission(path: str | Path, *, kubernetes_version: str | None = None) -> Submission:
    """Read the submission at ``path`` (a file, a folder or a notebook) as data.

    Raises :class:`~labkit.errors.GradingError` only when ``path`` does not exist; every
    problem inside the submission ends in ``rejected`` or ``errors``.
    """
    root = os.fspath(path)
    root = root.rstrip("/") or root  # "link/" would make lstat follow the link
    if not os.path.lexists(root):
        raise GradingError(
            f"{root}: no such file or folder; give the submission's manifest file, folder "
            "or notebook"
        )
    files, rejected = _scan(root)
    budget = ReadBudget()  # one submission, one allowance
    objects: list[RawObject] = []
    errors: list[Issue] = []
    for name in files:
        try:
            if name.lower().endswith(NOTEBOOK_SUFFIX):
                found, skipped, bad_cells = _read_notebook(name, budget)
                rejected += skipped
                errors += bad_cells
            else:
                found = load_paths([name], budget=budget)
        except ManifestError as exc:
            errors.append(exc.as_issue())
            continue
        objects += found
    kept, claims = _drop_grading_claims(objects)
    valid = _keep_valid(kept, errors, kubernetes_version)
    log.info(
        "%s: %d objects read, %d rejected, %d errors", root, len(valid), len(rejected), len(errors)
    )
    return Submission(
        tuple(valid),
        tuple(rejected + claims),
        tuple(issue.as_dict() for issue in errors),
    )


def _scan(root: str) -> tuple[list[str], list[Rejected]]:
    """The files of the submission to read, in sorted order, and what is rejected unread."""
    files: list[str] = []
    rejected: list[Rejected] = []
    for name, depth, mode in _entries(root, rejected):
        if stat.S_ISLNK(mode):
            rejected.append(Rejected(name, "", _symlink_reason(name)))
        elif depth > 0 and os.path.basename(name).startswith("."):
            rejected.append(Rejected(name, "", f"hidden file or folder: {_NOT_READ}"))
        elif stat.S_ISREG(mode):
            reason = _file_reason(name)
            if reason:
                rejected.append(Rejected(name, "", reason))
            else:
                files.append(name)
        elif not stat.S_ISDIR(mode):
            rejected.append(Rejected(name, "", f"not a regular file: {_NOT_READ}"))
    return files, rejected


def _entries(root: str, rejected: list[Rejected]) -> Iterator[tuple[str, int, int]]:
    """``(path, depth, lstat mode)`` of ``root`` and everything under it, depth first in
    sorted order; symbolic links and hidden folders are yielded, never entered. Past
    :data:`MAX_ENTRIES` entries or :data:`MAX_DEPTH` folders deep, the rest is rejected."""
    stack: list[tuple[str, int]] = [(root, 0)]
    seen = 0
    while stack:
        name, depth = stack.pop()
        seen += 1
        try:
            mode = os.lstat(name).st_mode
        except OSError as exc:
            rejected.append(Rejected(name, "", f"cannot read: {exc.strerror or exc}"))
            continue
        yield name, depth, mode
        hidden = depth > 0 and os.path.basename(name).startswith(".")
        if not stat.S_ISDIR(mode) or hidden:
            continue
        if depth >= MAX_DEPTH:
            reason = f"folders nested more than {MAX_DEPTH} deep: {_NOT_READ}"
            rejected.append(Rejected(name, "", reason))
            continue
        room = MAX_ENTRIES - seen - len(stack)
        try:
            children = _first_names(name, room + 1)
        except OSError as exc:
            rejected.append(Rejected(name, "", f"cannot list folder: {exc.strerror or exc}"))
            continue
        if len(children) > room:
            reason = (
                f"more than {MAX_ENTRIES} files and folders in the submission: this folder "
                f"and the rest are {_NOT_READ}; submit only the manifests"
            )
            rejected.append(Rejected(name, "", reason))
            return
        stack += [
            (os.path.join(name, child), depth + 1) for child in sorted(children, reverse=True)
        ]


def _first_names(folder: str, limit: int) -> list[str]:
    """Up to ``limit`` names in ``folder`` (a folder of a million files is not listed whole:
    past :data:`MAX_ENTRIES` the rest is not read anyway)."""
    with os.scandir(folder) as entries:
        return [entry.name for entry in itertools.islice(entries, max(limit, 0))]


def _symlink_reason(name: str) -> str:
    try:
        target = os.readlink(name)
    except OSError:
        target = "?"
    return (
        f"symbolic link (to {target}): the grader never follows links; "
        "copy the file into the submission instead"
    )


def _file_reason(name: str) -> str | None:
    """Why the file ``name`` is not read, or None when it is read."""
    base = os.path.basename(name)
    stem, suffix = os.path.splitext(base.lower())
    if suffix in CODE_SUFFIXES:
        return (
            f"not a manifest file: {base} is code, and the grader never imports or runs "
            "anything from a submission"
        )
    if suffix not in (*MANIFEST_SUFFIXES, NOTEBOOK_SUFFIX):
        return f"not a manifest file: {_ONLY_MANIFESTS}"
    if stem in GRADING_FILE_STEMS:
        return (
            f"{base} claims to be requirements or a grade: requirements come only from the "
            f"instructor's exercise folder and the score only from grading; {_NOT_READ}"
        )
    return None


def _read_notebook(
    name: str, budget: ReadBudget
) -> tuple[list[RawObject], list[Rejected], list[Issue]]:
    """The objects in the ``answer``-tagged cells of the notebook ``name``, and the errors of
    cells that cannot be read (raises :class:`ManifestError` when the file is no notebook)."""
    notebook = _parse_notebook(_notebook_text(name, budget), name)
    objects: list[RawObject] = []
    errors: list[Issue] = []
    answers = [
        (number, cell) for number, cell in enumerate(_cells(notebook), 1) if _is_answer(cell)
    ]
    for number, cell in answers:
        source = cell.get("source")
        text = "".join(map(str, source)) if isinstance(source, list) else source
        if not isinstance(text, str):
            continue
        try:
            objects += load_text(_without_cell_magic(text), f"{name}[cell {number}]", budget=budget)
        except ManifestError as exc:
            errors.append(exc.as_issue())
    if answers:
        return objects, [], errors
    reason = (
        f"no cell tagged {ANSWER_TAG!r}: nothing to grade; add the tag to the cell holding "
        "your manifests (View > Cell Toolbar > Tags, or the property inspector)"
    )
    return objects, [Rejected(name, "", reason)], errors


def _notebook_text(name: str, budget: ReadBudget) -> str:
    """The notebook's text, bounded as a manifest file is; too large says how to shrink it."""
    try:
        return read_text_file(name, budget)
    except ManifestError as exc:
        if exc.error_type != "Too large":
            raise
        raise ManifestError(
            exc.detail,
            file=name,
            error_type=exc.error_type,
            hint="clear the notebook's outputs (Edit > Clear Outputs of All Cells) and save it, "
            "or submit the answer as a .yaml file",
        ) from exc


def _parse_notebook(text: str, name: str) -> dict[str, Any]:
    """The notebook as plain data (``nbformat``, without its schema check: only the cells'
    tags and sources are used, and any outputs or metadata are ignored)."""
    try:
        import nbformat
    except ModuleNotFoundError as exc:
        raise GradingError(
            f"{name}: reading a notebook submission needs nbformat; install the lab extra "
            "(pip install 'labkit[lab]') or submit the manifests as .yaml files"
        ) from exc
    try:
        notebook: Any = nbformat.reader.reads(text)  # type: ignore[no-untyped-call]
    except Exception as exc:  # nbformat raises many types on hostile input; all mean "not one"
        raise ManifestError(
            f"not a Jupyter notebook: {str(exc)[:200] or type(exc).__name__}",
            file=name,
            error_type="Invalid notebook",
            hint="save the notebook from JupyterLab (File > Save), or submit .yaml files",
        ) from exc
    if not isinstance(notebook, dict):
        raise ManifestError(
            "not a Jupyter notebook: the file is not a JSON object",
            file=name,
            error_type="Invalid notebook",
            hint="save the notebook from JupyterLab (File > Save), or submit .yaml files",
        )
    return notebook


def _cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells of a notebook (format 4; format 3 kept them in ``worksheets``)."""
    cells = notebook.get("cells")
    if cells is None:
        worksheets = notebook.get("worksheets")
        first = worksheets[0] if isinstance(worksheets, list) and worksheets else {}
        cells = first.get("cells") if isinstance(first, dict) else None
    return [cell for cell in cells if isinstance(cell, dict)] if isinstance(cells, list) else []


def _is_answer(cell: dict[str, Any]) -> bool:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return isinstance(tags, list) and ANSWER_TAG in tags


def _without_cell_magic(text: str) -> str:
    """``text`` with a first line such as ``%%writefile answer.yaml`` commented out (the
    usual way to keep YAML in a code cell); line numbers stay those of the cell."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.strip():
            if line.lstrip().startswith("%%"):
                lines[index] = "# " + line
                return "\n".join(lines)
            break
    return text


def _drop_grading_claims(objects: list[RawObject]) -> tuple[list[RawObject], list[Rejected]]:
    """Objects that carry a requirements file's or a grade's keys are rejected, unused."""
    kept: list[RawObject] = []
    claims: list[Rejected] = []
    for raw in objects:
        keys = sorted(GRADING_KEYS.intersection(raw.data))
        if keys:
            reason = (
                f"claims to be requirements or a grade ({', '.join(keys)}): requirements come "
                "only from the instructor's exercise folder and the score only from grading; "
                "not used"
            )
            claims.append(Rejected(raw.location, raw.title, reason))
        else:
            kept.append(raw)
    return kept, claims


def _keep_valid(
    objects: list[RawObject], errors: list[Issue], kubernetes_version: str | None
) -> list[RawObject]:
    """The objects the API server would accept; the errors of the others join ``errors``."""
    valid: list[RawObject] = []
    for raw in objects:
        found, _ = validate_objects([raw], kubernetes_version=kubernetes_version)
        if found:
            errors += found
        else:
            valid.append(raw)
    return valid
