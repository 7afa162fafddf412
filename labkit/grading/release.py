"""The learner's copy of the exercises (``labkit exercises release OUTDIR``).

What is released is listed, never inferred: per exercise folder the task (``README.md``),
``exercise.yaml``, the public ``requirements.yaml``, the notebooks (``*.ipynb``, outputs
cleared) and the ``starter/`` and ``world/`` folders. Nothing else is copied, so nothing from
``instructor/`` (hidden requirements, the reference solution, the wrong variants) can leak,
whatever a folder holds. Symbolic links are never followed nor copied (a link could point into
``instructor/``): they are skipped with a warning, as is anything that is not a regular file.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabkitError

log = logging.getLogger(__name__)

RELEASED_FILES = ("README.md", "exercise.yaml", "requirements.yaml")
"""Files of an exercise folder that go to learners (with every ``*.ipynb``)."""
RELEASED_FOLDERS = ("starter", "world")
"""Folders of an exercise folder that go to learners, as they are (minus links)."""
INSTRUCTOR_FOLDER = "instructor"


@dataclass(frozen=True)
class Released:
    """One released exercise: its id, where it went, the files written and what was
    skipped (with why)."""

    id: str
    folder: Path
    files: tuple[str, ...]
    skipped: tuple[str, ...] = ()


def exercise_folders(root: Path) -> list[Path]:
    """The exercise folders of ``root`` (each holds an ``exercise.yaml``), sorted by id."""
    if not root.is_dir():
        raise LabkitError(f"{root} is not an exercises folder")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and _has_spec(p))


def _has_spec(folder: Path) -> bool:
    spec = folder / "exercise.yaml"
    return spec.is_file() and not spec.is_symlink()


def release(root: Path, outdir: Path, ids: Iterable[str] = ()) -> list[Released]:
    """Copy the learner's part of every exercise of ``root`` (or of ``ids``) to
    ``outdir/<id>/``. An exercise folder that already exists in ``outdir`` is an error
    (nothing is overwritten); nothing is written then."""
    folders = exercise_folders(root)
    wanted = list(ids)
    if wanted:
        known = {f.name: f for f in folders}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise LabkitError(
                f"no exercise {', '.join(unknown)} in {root}; exercises: "
                + (", ".join(sorted(known)) or "none")
            )
        folders = [known[i] for i in wanted]
    clashes = [f.name for f in folders if (outdir / f.name).exists()]
    if clashes:
        raise LabkitError(
            f"{outdir} already holds {', '.join(clashes)}; release into an empty folder "
            "(or delete those folders first): labkit never overwrites a released copy"
        )
    return [_release_one(folder, outdir / folder.name) for folder in folders]


def _release_one(folder: Path, target: Path) -> Released:
    written: list[str] = []
    skipped: list[str] = []
    target.mkdir(parents=True)
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if entry.is_symlink():
            skipped.append(f"{name}: a symbolic link (never followed)")
        elif entry.is_file() and (name in RELEASED_FILES or name.endswith(".ipynb")):
            _copy_file(entry, target / name)
            written.append(name)
        elif entry.is_dir() and name in RELEASED_FOLDERS:
            _copy_tree(entry, target / name, name, written, skipped)
    for line in skipped:
        log.warning("release %s: skipped %s", folder.name, line)
    return Released(folder.name, target, tuple(written), tuple(skipped))


def _copy_tree(
    source: Path, target: Path, prefix: str, written: list[str], skipped: list[str]
) -> None:
    target.mkdir()
    for entry in sorted(source.iterdir()):
        relative = f"{prefix}/{entry.name}"
        if entry.is_symlink():
            skipped.append(f"{relative}: a symbolic link (never followed)")
        elif entry.is_dir():
            _copy_tree(entry, target / entry.name, relative, written, skipped)
        elif entry.is_file():
            _copy_file(entry, target / entry.name)
            written.append(relative)
        else:
            skipped.append(f"{relative}: not a regular file")


def _copy_file(source: Path, target: Path) -> None:
    if source.suffix == ".ipynb":
        target.write_text(clear_outputs(source.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        shutil.copyfile(source, target)


def clear_outputs(text: str) -> str:
    """A notebook's JSON with every code cell's outputs and execution count cleared (what
    ``jupyter nbconvert --clear-output`` does), so a released notebook shows no answer."""
    notebook = json.loads(text)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
