"""Lesson requirement files and escalating hints for ``lab.check_requirements``.

A lesson's live checks are ``notebooks/requirements/<lesson>.yaml`` in the grader's format
(:mod:`labkit.grading.requirements`), each requirement with an optional ``hints`` list,
vaguest first::

    requirements:
      - id: frontend-isolated
        description: only my-segment/backend reaches my-segment/frontend on 80/TCP
        points: 1
        hints:
          - Which pods does your policy's podSelector pick?
          - The frontend pod carries app=frontend; does your selector use that label?
          - "podSelector: {matchLabels: {app: frontend}} and one ingress rule from app=backend"
        exactly: ...

Each call records every requirement's pass/fail in the progress store under
``<lesson>:<requirement id>`` (:mod:`labkit.lab.progress_store`). A failing requirement
shows ``hints[n]`` where ``n`` counts its failures before this one (the first failure shows
the vaguest hint; the last hint repeats), unless ``hint_level`` (0-based) is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.grading import Exercise, Grade
    from labkit.model.loader import RawObject

LESSON_KINDS = frozenset({"NetworkPolicy", "Namespace"})
"""What a lesson's submission may create: policies, and namespaces the lab does not have."""


def requirements_dir() -> Path | None:
    from labkit.cluster.labdir import find_project

    root = find_project()
    return None if root is None else root / "notebooks" / "requirements"


def lesson_file(name: str | Path) -> Path | None:
    """``notebooks/requirements/<name>.yaml``, or a given requirement file; None if absent."""
    given = Path(name)
    if given.suffix in (".yaml", ".yml") and given.is_file():
        return given
    folder = requirements_dir()
    if folder is None or "/" in str(name):
        return None
    path = folder / f"{name}.yaml"
    return path if path.is_file() else None


def lesson_exercise(path: Path) -> Exercise:
    """A lesson's requirement file as an :class:`Exercise` with no hidden part: policies in
    any lab namespace, new namespaces allowed, no least-privilege points."""
    from labkit.grading.exercise import Exercise, LeastPrivilegeSpec
    from labkit.grading.peers import parse_peer
    from labkit.grading.privilege import Scope
    from labkit.grading.requirements import load_requirements
    from labkit.grading.world import AllowedChanges

    return Exercise(
        id=path.stem,
        title=path.stem,
        path=path.parent,
        starter_score=0.0,
        allowed=AllowedChanges(kinds=LESSON_KINDS, namespaces=frozenset({"*"})),
        least_privilege=LeastPrivilegeSpec(0.0, Scope(parse_peer("*"), parse_peer("*"), str(path))),
        requirements=load_requirements(path),
    )


def hints_for(
    exercise: Exercise, grade: Grade, *, hint_level: int | None = None
) -> tuple[tuple[str, str], ...]:
    """``(requirement id, hint)`` for each failing public requirement that has hints."""
    from labkit.errors import LabkitError
    from labkit.lab.progress_store import load

    try:
        checks = load().checks
    except LabkitError:  # an unreadable lab folder must not hide the result: first hints
        checks = {}
    hints = {r.id: r.hints for r in exercise.requirements.requirements if r.hints}
    chosen = []
    for result in grade.requirements:
        options = hints.get(result.id, ())
        if result.hidden or result.passed or not options:
            continue
        level = hint_level
        if level is None:
            level = int(checks.get(f"{exercise.id}:{result.id}", {}).get("failures", 0))
        chosen.append((result.id, options[max(0, min(level, len(options) - 1))]))
    return tuple(chosen)


def record(exercise_id: str, grade: Grade) -> None:
    from labkit.lab.progress_store import record_quietly

    for result in grade.requirements:
        if not result.hidden:
            record_quietly("check", f"{exercise_id}:{result.id}", result.passed)


def live_world(base: Sequence[RawObject], current: Sequence[RawObject]) -> list[RawObject]:
    """The lab world as the cluster has it now: ``base`` with its namespaces and pods
    replaced by the cluster's ``current`` ones (new ones added). A lesson checks the lab as
    the learner left it, so relabelling a namespace (lesson 5) is part of the world rather
    than a rejected change; exercises keep the grader's rule that labels are fixed."""
    from labkit.grading.world import object_key

    world = {object_key(raw): raw for raw in base}
    for raw in current:
        if raw.kind in ("Namespace", "Pod"):
            world[object_key(raw)] = raw
    return list(world.values())
