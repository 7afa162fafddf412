"""Lint of every exercise in ``exercises/`` (issue 8, "Proof"): graded on the lab world through
the grading contract's entry points, each exercise must behave as its folder claims.

* its reference solution (``instructor/solution/``) is accepted whole and scores full marks;
* its starter scores ``exercise.yaml``'s ``starter_score`` (0 unless stated), and an empty
  submission scores 0 (the "everything else unchanged" checks are gated);
* it has at least two wrong variants; each scores less than the maximum and fails at least
  the requirement ids its ``expected.yaml`` names (ids that exist);
* requirement ids are unique over the public and hidden files;
* its notebook has a cell tagged ``answer``, a self-check cell calling
  ``lab.check_requirements("<id>", ...)``, and no outputs; its answer cell reads cleanly.

Wrong variants keep ``expected.yaml`` next to their manifests: the manifests are copied to a
scratch folder before grading, so the expectation file is never graded as a manifest.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from grading_inputs import lab_world

from labkit.grading import Exercise, Grade, Submission, build_world, find_exercise, grade
from labkit.grading import read_submission as read

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"
EXPECTED = "expected.yaml"
MIN_WRONG_VARIANTS = 2
MIN_EXERCISES = 10


def exercise_folders() -> list[Path]:
    """Every folder of ``exercises/`` (each one must be an exercise)."""
    return sorted(p for p in EXERCISES.iterdir() if p.is_dir() and not p.name.startswith("."))


FOLDERS = exercise_folders()
IDS = [p.name for p in FOLDERS]
VARIANTS = [
    (folder.name, variant.name)
    for folder in FOLDERS
    for variant in sorted((folder / "instructor" / "wrong").glob("*"))
    if variant.is_dir()
]


def load(exercise_id: str) -> Exercise:
    return find_exercise(exercise_id, EXERCISES)


def grade_folder(exercise: Exercise, folder: Path) -> Grade:
    return grade(exercise, read(folder), lab_world())


def failed(result: Grade) -> set[str]:
    return {r.id for r in result.requirements if not r.passed}


def summary(result: Grade) -> str:
    return "; ".join(
        f"{r.id}: {r.feedback}" for r in result.requirements if r.points < r.max_points
    )


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_there_are_enough_exercises() -> None:
    assert len(FOLDERS) >= MIN_EXERCISES, f"the issue asks for {MIN_EXERCISES}: {IDS}"


@pytest.mark.parametrize("exercise_id", IDS)
def test_folder_is_an_exercise_of_its_name(exercise_id: str) -> None:
    exercise = load(exercise_id)
    assert exercise.id == exercise_id
    for part in ("README.md", "requirements.yaml", "starter", "instructor/solution"):
        assert (exercise.path / part).exists(), f"{exercise_id}: {part} is missing"


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_solution_is_accepted_whole(exercise_id: str) -> None:
    exercise = load(exercise_id)
    solution = read(exercise.solution_dir)
    world = build_world(lab_world(), exercise.world_objects(), solution, exercise.allowed)
    assert not solution.errors, solution.errors
    assert not solution.rejected, solution.rejected
    assert not world.rejected, world.rejected


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_solution_scores_full_marks(exercise_id: str) -> None:
    exercise = load(exercise_id)
    result = grade_folder(exercise, exercise.solution_dir)
    assert result.max_score == exercise.max_score > 0
    assert result.score == result.max_score, summary(result)
    assert result.least_privilege.excess_flows == 0


@pytest.mark.parametrize("exercise_id", IDS)
def test_starter_scores_what_the_exercise_states(exercise_id: str) -> None:
    exercise = load(exercise_id)
    result = grade_folder(exercise, exercise.starter_dir)
    assert result.score == exercise.starter_score, summary(result)
    assert not result.errors, result.errors


@pytest.mark.parametrize("exercise_id", IDS)
def test_empty_submission_scores_zero(exercise_id: str) -> None:
    result = grade(load(exercise_id), Submission(), lab_world())
    assert result.score == 0, [r.id for r in result.requirements if r.points]
    assert result.least_privilege.score == 0


@pytest.mark.parametrize("exercise_id", IDS)
def test_has_enough_wrong_variants(exercise_id: str) -> None:
    variants = load(exercise_id).wrong_variants()
    assert len(variants) >= MIN_WRONG_VARIANTS, f"{exercise_id}: {[v.name for v in variants]}"
    for variant in variants:
        assert (variant / EXPECTED).is_file(), f"{variant}: no {EXPECTED}"


@pytest.mark.parametrize(
    ("exercise_id", "variant"), VARIANTS, ids=[f"{e}/{v}" for e, v in VARIANTS]
)
def test_wrong_variant_scores_less_and_misses_what_it_names(
    exercise_id: str, variant: str, tmp_path: Path
) -> None:
    exercise = load(exercise_id)
    folder = exercise.instructor_dir / "wrong" / variant
    expected = read_yaml(folder / EXPECTED) or {}
    misses = set(expected.get("misses") or [])
    unknown = misses - set(exercise.requirements.ids())
    assert not unknown, f"{folder / EXPECTED} names unknown requirement ids {sorted(unknown)}"
    for item in folder.iterdir():
        if item.name != EXPECTED:
            (shutil.copytree if item.is_dir() else shutil.copy)(item, tmp_path / item.name)
    result = grade_folder(exercise, tmp_path)
    assert expected.get("score_below_max", True)
    assert result.score < result.max_score
    assert misses <= failed(result), f"expected to fail {sorted(misses - failed(result))}"


@pytest.mark.parametrize("exercise_id", IDS)
def test_requirement_ids_are_unique(exercise_id: str) -> None:
    folder = EXERCISES / exercise_id
    files = [folder / "requirements.yaml", folder / "instructor" / "requirements.yaml"]
    ids = [
        item["id"]
        for file in files
        if file.is_file()
        for item in (read_yaml(file) or {}).get("requirements") or []
    ]
    assert ids, f"{exercise_id}: no requirements"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert tuple(ids) == load(exercise_id).requirements.ids()


@pytest.mark.parametrize("exercise_id", IDS)
def test_notebook_has_answer_and_self_check_cells_and_no_outputs(exercise_id: str) -> None:
    path = EXERCISES / exercise_id / f"{exercise_id}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    answers = [c for c in notebook.cells if "answer" in c.metadata.get("tags", [])]
    checks = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and f'lab.check_requirements("{exercise_id}"' in c.source
    ]
    assert answers, f"{path.name}: no cell tagged 'answer'"
    assert checks, f"{path.name}: no cell calling lab.check_requirements({exercise_id!r}, ...)"
    dirty = [
        c.source[:40]
        for c in notebook.cells
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells with outputs {dirty}"
    submission = read(path)
    assert not submission.errors, submission.errors
    assert not submission.rejected, submission.rejected
