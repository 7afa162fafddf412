"""A class's grades: one submission per student, graded in one batch, and the gradebook CSV.

``CLASS_DIR`` holds one entry per student: a folder (its manifests or notebook) or a single
manifest file or notebook (``alice.yaml``, ``bob.ipynb``), named after the student. Hidden
entries (``.git``, ``.ipynb_checkpoints``) are ignored, and a symbolic link is never followed:
it is listed as skipped. The CSV has one row per student: ``student``, ``score``,
``max_score``, the points of each requirement (one column per requirement id, public and
hidden), ``least_privilege`` (its points) and ``excess_flows``.

Cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
return first) are written with a leading ``'`` (OWASP's advice on CSV injection): a student
chooses their folder's name.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from labkit.errors import LabkitError

if TYPE_CHECKING:
    from labkit.grading.exercise import Exercise
    from labkit.grading.score import Grade
    from labkit.model.loader import RawObject

log = logging.getLogger(__name__)

SUBMISSION_SUFFIXES = (".yaml", ".yml", ".json", ".ipynb")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class StudentGrade:
    student: str
    grade: Grade


@dataclass(frozen=True)
class ClassFolder:
    """The students' submissions of a class folder, and the entries skipped (with why)."""

    submissions: tuple[tuple[str, Path], ...]
    skipped: tuple[str, ...] = ()


def class_submissions(class_dir: Path) -> ClassFolder:
    """Each student's submission in ``class_dir``, sorted by student name."""
    if not class_dir.is_dir():
        raise LabkitError(
            f"{class_dir} is not a folder; --gradebook grades a class folder holding one "
            "folder (or one manifest file or notebook) per student"
        )
    found: list[tuple[str, Path]] = []
    skipped: list[str] = []
    for entry in sorted(class_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            skipped.append(f"{entry.name}: a symbolic link (never followed)")
        elif entry.is_dir():
            found.append((entry.name, entry))
        elif entry.is_file() and entry.suffix in SUBMISSION_SUFFIXES:
            found.append((entry.stem, entry))
        else:
            skipped.append(f"{entry.name}: not a folder, manifest file or notebook")
    return ClassFolder(tuple(found), tuple(skipped))


def grade_students(
    exercise: Exercise,
    submissions: Sequence[tuple[str, Path]],
    base: Sequence[RawObject],
    *,
    on_graded: Callable[[StudentGrade], None] | None = None,
) -> list[StudentGrade]:
    """Grade every submission (read as data, :func:`labkit.grading.read_submission`)
    against the exercise on the world ``base``, with one :class:`~labkit.grading.Grader`
    (the starting world and the reference solution are built once)."""
    from labkit.grading import Grader, read_submission

    grader = Grader(exercise, base)
    graded: list[StudentGrade] = []
    for student, path in submissions:
        result = StudentGrade(student, grader.grade(read_submission(path)))
        graded.append(result)
        if on_graded is not None:
            on_graded(result)
    return graded


def requirement_ids(grades: Sequence[StudentGrade]) -> list[str]:
    """Every requirement id in the grades, in the order the exercise lists them."""
    ids = (r.id for g in grades for r in g.grade.requirements)
    return list(dict.fromkeys(ids))


def gradebook_rows(grades: Sequence[StudentGrade]) -> list[list[str]]:
    """The CSV's header and rows (strings, formula-like cells made inert)."""
    ids = requirement_ids(grades)
    rows = [["student", "score", "max_score", *ids, "least_privilege", "excess_flows"]]
    for item in grades:
        g = item.grade
        points = {r.id: r.points for r in g.requirements}
        rows.append(
            [
                item.student,
                _number(g.score),
                _number(g.max_score),
                *(_number(points[i]) if i in points else "" for i in ids),
                _number(g.least_privilege.score),
                str(g.least_privilege.excess_flows),
            ]
        )
    return [[inert(cell) for cell in row] for row in rows]


def _number(value: float) -> str:
    """``3`` for 3.0, ``1.5`` for 1.5: points as a person writes them."""
    return f"{value:g}"


def inert(cell: str) -> str:
    """``cell``, with a leading ``'`` when a spreadsheet would read it as a formula."""
    if cell.startswith(FORMULA_PREFIXES) and not _is_number(cell):
        return "'" + cell
    return cell


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def write_gradebook(path: Path, grades: Sequence[StudentGrade]) -> None:
    """Write the CSV (readable by its owner only: it holds every student's grade)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(gradebook_rows(grades))
    path.chmod(0o600)
