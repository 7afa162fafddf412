"""``labkit exercises release OUTDIR``: the learner's copy, and proof that nothing from
``instructor/`` leaks (no file, no identical content, no hidden requirement's id or
description), for the fixture exercise and for every exercise of the project."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from labkit.cli.main import main
from labkit.grading.release import exercise_folders, release

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "fixtures" / "exercises"
PROJECT_EXERCISES = TESTS.parent / "exercises"
ROOTS = [FIXTURES, PROJECT_EXERCISES]


def instructor_files(folder: Path) -> list[Path]:
    return [p for p in (folder / "instructor").rglob("*") if p.is_file()]


def hidden_texts(folder: Path) -> list[str]:
    """Ids and descriptions of the hidden requirements (the text a leak would show)."""
    path = folder / "instructor" / "requirements.yaml"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        str(req[key])
        for req in data.get("requirements") or []
        for key in ("id", "description")
        if req.get(key)
    ]


@pytest.mark.parametrize("root", ROOTS, ids=["fixtures", "exercises"])
def test_nothing_from_instructor_leaks(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "released"
    released = release(root, out)
    folders = exercise_folders(root)
    assert [r.id for r in released] == [f.name for f in folders]
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written, "nothing was released"
    assert not [p for p in out.rglob("*") if "instructor" in p.relative_to(out).parts]
    contents = {p.read_bytes() for p in written}
    for folder in folders:
        leaked = [
            p
            for p in instructor_files(folder)
            if p.read_bytes().strip() and p.read_bytes() in contents
        ]
        assert not leaked, f"instructor files copied: {leaked}"
        texts = [
            p.read_text(encoding="utf-8") for p in (out / folder.name).rglob("*") if p.is_file()
        ]
        for secret in hidden_texts(folder):
            assert not any(secret in text for text in texts), f"{folder.name}: {secret!r} leaked"


@pytest.mark.parametrize("root", ROOTS, ids=["fixtures", "exercises"])
def test_the_learner_gets_task_notebooks_starters_and_public_requirements(
    root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "released"
    release(root, out)
    for folder in exercise_folders(root):
        copy = out / folder.name
        for name in ("README.md", "exercise.yaml", "requirements.yaml"):
            if (folder / name).is_file():
                assert (copy / name).read_bytes() == (folder / name).read_bytes()
        starters = [p.relative_to(folder) for p in (folder / "starter").rglob("*") if p.is_file()]
        assert [p for p in starters if not (copy / p).is_file()] == []
        for notebook in folder.glob("*.ipynb"):
            assert (copy / notebook.name).is_file()


def test_symlinks_into_instructor_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURES, root, symlinks=True)
    exercise = root / "fixture-isolate"
    os.symlink(exercise / "instructor" / "solution", exercise / "starter" / "solution")
    os.symlink(exercise / "instructor" / "requirements.yaml", exercise / "notes.ipynb")
    os.symlink(exercise / "instructor", exercise / "world")
    released = release(root, tmp_path / "out")
    copy = tmp_path / "out" / "fixture-isolate"
    assert not (copy / "starter" / "solution").exists()
    assert not (copy / "notes.ipynb").exists()
    assert not (copy / "world").exists()
    assert len(released[0].skipped) == 3
    assert all("symbolic link" in line for line in released[0].skipped)


def test_released_notebooks_have_no_outputs(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURES, root)
    cell = {
        "cell_type": "code",
        "metadata": {},
        "source": "print('score: 10/10')",
        "outputs": [{"output_type": "stream", "name": "stdout", "text": "score: 10/10\n"}],
        "execution_count": 3,
    }
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "fixture-isolate" / "extra.ipynb").write_text(json.dumps(notebook))
    release(root, tmp_path / "out")
    copied = json.loads((tmp_path / "out" / "fixture-isolate" / "extra.ipynb").read_text())
    assert copied["cells"][0]["outputs"] == []
    assert copied["cells"][0]["execution_count"] is None
    assert copied["cells"][0]["source"] == cell["source"]


def test_cli_release_refuses_to_overwrite_and_the_copy_is_checkable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    argv = ["exercises", "release", str(out), "--exercises-dir", str(FIXTURES)]
    assert main(argv) == 0
    assert "released 1 exercises" in capsys.readouterr().out
    before = (out / "fixture-isolate" / "README.md").read_bytes()
    assert main(argv) == 2
    assert "already holds fixture-isolate" in capsys.readouterr().err
    assert (out / "fixture-isolate" / "README.md").read_bytes() == before
    solution = FIXTURES / "fixture-isolate" / "instructor" / "solution"
    code = main(["check", str(out / "fixture-isolate"), str(solution), "-o", "json"])
    checked = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {r["id"] for r in checked["requirements"]} == {"inside-still-talks", "trusted-blocked"}
    assert all(r["passed"] for r in checked["requirements"])


def test_release_of_an_unknown_exercise_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["exercises", "release", str(tmp_path / "o"), "--exercises-dir", str(FIXTURES)]
    assert main([*argv, "--only", "nope"]) == 2
    assert "no exercise nope" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_exercises_are_found_from_the_env_or_the_checkout_never_a_wheel(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from labkit.cluster import grading_inputs
    from labkit.errors import LabkitError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(grading_inputs.EXERCISES_ENV, raising=False)
    assert grading_inputs.exercises_dir() == PROJECT_EXERCISES
    monkeypatch.setenv(grading_inputs.EXERCISES_ENV, str(FIXTURES))
    assert grading_inputs.exercises_dir() == FIXTURES
    monkeypatch.setenv(grading_inputs.EXERCISES_ENV, str(tmp_path / "missing"))
    with pytest.raises(LabkitError, match=r"LABKIT_EXERCISES_DIR=.* is not a folder"):
        grading_inputs.exercises_dir()
    # a wheel has no checkout beside it and ships no exercises: the error says where to point
    monkeypatch.delenv(grading_inputs.EXERCISES_ENV)
    monkeypatch.setattr(grading_inputs, "find_project", lambda: None)
    with pytest.raises(LabkitError, match=r"--exercises-dir .*labkit exercises release"):
        grading_inputs.exercises_dir()
