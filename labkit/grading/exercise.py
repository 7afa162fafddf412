"""Exercises: one ``exercises/<id>/`` folder each, read into an :class:`Exercise`.

The folder (contract "Exercise folder") holds ``exercise.yaml`` (id, title, the changes a
submission may make, the least-privilege scope and points), the public
``requirements.yaml``, ``starter/``, an optional ``world/`` of objects that exist before the
learner starts, and ``instructor/`` (hidden ``requirements.yaml``, ``solution/``,
``wrong/<variant>/``). Requirements come only from this folder, never from a submission.
A released learner's copy has no ``instructor/``: it loads with no hidden requirements.
Every mistake in ``exercise.yaml`` or a requirements file raises
:class:`labkit.errors.RequirementsError` naming the file and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.errors import GradingError, ManifestError, RequirementsError
from labkit.grading.peers import parse_peer
from labkit.grading.privilege import Scope
from labkit.grading.requirements import RequirementSet, combine, load_requirements
from labkit.grading.world import AllowedChanges
from labkit.model.loader import RawObject, load_paths

SPEC_FILE = "exercise.yaml"
PUBLIC_REQUIREMENTS = "requirements.yaml"
_SPEC_KEYS = frozenset({"id", "title", "starter_score", "allowed", "least_privilege"})


@dataclass(frozen=True)
class LeastPrivilegeSpec:
    """Points for opening no more than the reference, the pairs counted, and the ids that
    must pass for them to count (``None``: every requirement with points)."""

    points: float
    scope: Scope
    gate: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    path: Path
    starter_score: float
    allowed: AllowedChanges
    least_privilege: LeastPrivilegeSpec
    requirements: RequirementSet
    """Public and hidden requirements together (each knows whether it is hidden)."""

    @property
    def public(self) -> RequirementSet:
        return RequirementSet(self.requirements.public, self.requirements.externals)

    @property
    def max_score(self) -> float:
        return self.requirements.points + self.least_privilege.points

    @property
    def starter_dir(self) -> Path:
        return self.path / "starter"

    @property
    def world_dir(self) -> Path:
        return self.path / "world"

    @property
    def instructor_dir(self) -> Path:
        return self.path / "instructor"

    @property
    def solution_dir(self) -> Path:
        return self.instructor_dir / "solution"

    @property
    def notebook(self) -> Path:
        return self.path / f"{self.id}.ipynb"

    def wrong_variants(self) -> list[Path]:
        folder = self.instructor_dir / "wrong"
        return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def world_objects(self) -> list[RawObject]:
        """The objects of ``world/`` (part of the world, not of the submission)."""
        return load_paths([self.world_dir]) if self.world_dir.is_dir() else []


def load_exercise(folder: str | Path) -> Exercise:
    """Read the exercise in ``folder`` (its ``exercise.yaml`` and requirement files)."""
    path = Path(folder)
    spec_file = path / SPEC_FILE
    spec = _read_spec(spec_file)
    file = str(spec_file)
    exercise_id = _text(spec, "id", file)
    if exercise_id != path.name:
        raise RequirementsError(
            f"id {exercise_id!r} differs from the folder name {path.name!r}", file=file, field="id"
        )
    public = load_requirements(path / PUBLIC_REQUIREMENTS)
    hidden_file = path / "instructor" / PUBLIC_REQUIREMENTS
    hidden = (
        load_requirements(hidden_file, hidden=True) if hidden_file.is_file() else RequirementSet()
    )
    requirements = combine(public, hidden)
    lp = _least_privilege(spec.get("least_privilege"), file)
    for gid in lp.gate or ():
        if gid not in requirements.ids():
            raise RequirementsError(
                f"no requirement has id {gid!r}", file=file, field="least_privilege.gate"
            )
    return Exercise(
        id=exercise_id,
        title=_text(spec, "title", file),
        path=path,
        starter_score=_number(spec.get("starter_score", 0), file, "starter_score"),
        allowed=(
            AllowedChanges()
            if spec.get("allowed") is None
            else AllowedChanges.from_mapping(spec.get("allowed"), file)
        ),
        least_privilege=lp,
        requirements=requirements,
    )


def _read_spec(spec_file: Path) -> dict[str, object]:
    from labkit.model.pyyaml_reader import load_yaml_documents

    try:
        docs = load_yaml_documents(spec_file.read_text(encoding="utf-8"), str(spec_file))
    except (OSError, UnicodeError) as exc:
        raise RequirementsError(f"cannot read: {exc}", file=str(spec_file)) from None
    except ManifestError as exc:  # broken YAML, a key written twice
        raise RequirementsError(str(exc), file=str(spec_file)) from None
    spec = docs[0] if len(docs) == 1 else None
    if not isinstance(spec, dict):
        raise RequirementsError(
            "must be one mapping (id, title, allowed, least_privilege)", file=str(spec_file)
        )
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise RequirementsError(
            "unknown key",
            file=str(spec_file),
            field=str(unknown[0]),
            hint="use " + ", ".join(sorted(_SPEC_KEYS)),
        )
    return spec


def _text(spec: dict[str, object], key: str, file: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RequirementsError("required: a non-empty string", file=file, field=key)
    return value.strip()


def _number(value: object, file: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RequirementsError(f"{value!r} is not a number >= 0", file=file, field=field)
    return float(value)


def _names(value: object, file: str, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RequirementsError("must be a list of names", file=file, field=field)
    return tuple(value)


def _least_privilege(value: object, file: str) -> LeastPrivilegeSpec:
    field = "least_privilege"
    if value is None:
        return LeastPrivilegeSpec(0.0, Scope(parse_peer("*"), parse_peer("*"), file))
    if not isinstance(value, dict) or set(value) - {"points", "scope", "gate"}:
        raise RequirementsError("must be {points, scope: {from, to}, gate}", file=file, field=field)
    scope = value.get("scope", {"from": "*", "to": "*"})
    if not isinstance(scope, dict) or set(scope) != {"from", "to"}:
        raise RequirementsError("must be {from: PEER, to: PEER}", file=file, field=f"{field}.scope")
    try:
        parsed = Scope(parse_peer(scope["from"]), parse_peer(scope["to"]), file)
    except ValueError as exc:
        raise RequirementsError(str(exc), file=file, field=f"{field}.scope") from None
    gate = value.get("gate")
    return LeastPrivilegeSpec(
        _number(value.get("points", 0), file, f"{field}.points"),
        parsed,
        None if gate is None else _names(gate, file, f"{field}.gate"),
    )


def default_root() -> Path:
    """``exercises/`` of the checkout labkit runs from."""
    return Path(__file__).resolve().parents[2] / "exercises"


def list_exercises(root: str | Path | None = None) -> list[Exercise]:
    """Every exercise under ``root`` (default: :func:`default_root`), sorted by id."""
    folder = Path(root) if root is not None else default_root()
    if not folder.is_dir():
        raise GradingError(f"{folder}: no exercises folder here")
    return [load_exercise(p) for p in sorted(folder.iterdir()) if (p / SPEC_FILE).is_file()]


def find_exercise(id_or_path: str | Path, root: str | Path | None = None) -> Exercise:
    """An exercise by id (under ``root``) or by the path of its folder."""
    given = Path(id_or_path)
    if (given / SPEC_FILE).is_file():
        return load_exercise(given)
    folder = Path(root) if root is not None else default_root()
    candidate = folder / str(id_or_path)
    if "/" not in str(id_or_path) and (candidate / SPEC_FILE).is_file():
        return load_exercise(candidate)
    known = (
        sorted(p.name for p in folder.iterdir() if (p / SPEC_FILE).is_file())
        if folder.is_dir()
        else []
    )
    raise GradingError(
        f"unknown exercise {str(id_or_path)!r}: give an exercise id or folder; exercises: "
        + (", ".join(known) or "(none)")
    )
