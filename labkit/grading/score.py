"""Grades: requirement results, least privilege, the score, and the JSON of ``labkit grade``.

Scoring (contract "Scoring"): a requirement passes all-or-nothing on full connectivity
(:mod:`labkit.grading.evaluate`); its points count only when it passes and every id of its
``gate`` passes, so an empty submission earns nothing for "everything else unchanged".
``max_score`` is the sum of the points of the requirements graded plus the least-privilege
points (:mod:`labkit.grading.privilege`), which count only when every requirement of the
least-privilege gate passes (default: every requirement with points).

:func:`grade` runs public and hidden requirements and least privilege; :func:`check` (the
learner's self-check) runs the public ones only, never lists a hidden requirement, and
computes no least privilege (it needs the instructor's solution). A hidden requirement's
feedback names no pair or port: "a hidden check failed: <description>". Nothing is ever
read from the submission but its objects (:mod:`labkit.grading.submission`); the starting
world and the reference solution are the exercise folder's (:class:`Grader` builds them once
for a batch).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.errors import GradingError
from labkit.grading.evaluate import Observation, Outcome, View, check_requirement, miss_text
from labkit.grading.exercise import Exercise
from labkit.grading.privilege import LeastPrivilege, least_privilege
from labkit.grading.requirements import Requirement, RequirementSet
from labkit.grading.submission import Rejected, Submission, read_submission
from labkit.grading.world import build_world
from labkit.model.inventory import Inventory
from labkit.model.loader import RawObject

log = logging.getLogger(__name__)

NO_LEAST_PRIVILEGE = LeastPrivilege(0, 0, 0.0, 0.0)


@dataclass(frozen=True)
class RequirementResult:
    id: str
    description: str
    hidden: bool
    points: float
    max_points: float
    passed: bool
    feedback: str


@dataclass(frozen=True)
class Grade:
    exercise: str
    score: float
    max_score: float
    requirements: tuple[RequirementResult, ...]
    least_privilege: LeastPrivilege
    rejected: tuple[Rejected, ...] = ()
    errors: tuple[dict[str, str], ...] = ()


def grade_world(
    requirements: RequirementSet, after: View, before: View
) -> tuple[RequirementResult, ...]:
    """Each requirement checked on ``after`` (``before``: the starting world), gates applied."""
    outcomes = {r.id: check_requirement(r, after, before) for r in requirements.requirements}
    return tuple(
        _result(req, outcomes[req.id], [g for g in req.gate if not outcomes[g].passed], after)
        for req in requirements.requirements
    )


def _result(
    req: Requirement, outcome: Outcome, failed_gates: list[str], after: View
) -> RequirementResult:
    earned = outcome.passed and not failed_gates
    return RequirementResult(
        id=req.id,
        description=req.description,
        hidden=req.hidden,
        points=req.points if earned else 0.0,
        max_points=req.points,
        passed=outcome.passed,
        feedback=_feedback(req, outcome, failed_gates, after),
    )


def _feedback(req: Requirement, outcome: Outcome, failed_gates: list[str], after: View) -> str:
    if outcome.passed:
        if failed_gates:
            return (
                "passes, but its points count only once "
                + ", ".join(failed_gates)
                + (" passes" if len(failed_gates) == 1 else " pass")
            )
        return "passed"
    if req.hidden:
        return f"a hidden check failed: {req.description}"
    if outcome.miss is not None:
        return miss_text(outcome.miss, after.engine, after)
    return outcome.note


class Grader:
    """Grades submissions of one exercise against one lab world (``base``); the starting
    world and the reference solution are built once, so a class folder is graded fast."""

    def __init__(self, exercise: Exercise, base: Sequence[RawObject], *, hidden: bool = True):
        self.exercise = exercise
        self.hidden = hidden
        self.requirements = exercise.requirements if hidden else exercise.public
        self._base = tuple(base)
        self._world = tuple(exercise.world_objects())
        self.before = self._view(
            build_world(self._base, self._world, Submission(), exercise.allowed).inventory
        )
        self.reference = self._reference() if hidden else None

    def _view(self, inventory: Inventory) -> View:
        return View(inventory, self.requirements.externals)

    def _reference(self) -> View:
        folder = self.exercise.solution_dir
        if not folder.is_dir():
            raise GradingError(f"{folder}: the exercise has no reference solution to grade against")
        solution = read_submission(folder)
        world = build_world(self._base, self._world, solution, self.exercise.allowed)
        problems = [*solution.errors, *(r.as_dict() for r in (*solution.rejected, *world.rejected))]
        if problems:
            raise GradingError(
                f"{folder}: the reference solution is not accepted whole: {problems[0]}"
            )
        return self._view(world.inventory)

    def grade(self, submission: Submission, observations: Iterable[Observation] = ()) -> Grade:
        """The grade; with ``observations`` (``labkit grade --live``) the lab cluster's
        probes decide the ports they tried, the engine the rest (full connectivity)."""
        world = build_world(self._base, self._world, submission, self.exercise.allowed)
        after = self._view(world.inventory).observed(observations)
        results = grade_world(self.requirements, after, self.before)
        lp = self._least_privilege(results, after)
        score = round(sum(r.points for r in results) + lp.score, 2)
        return Grade(
            exercise=self.exercise.id,
            score=score,
            max_score=round(self.requirements.points + lp.max_score, 2),
            requirements=results,
            least_privilege=lp,
            rejected=(*submission.rejected, *world.rejected),
            errors=submission.errors,
        )

    def _least_privilege(self, results: Sequence[RequirementResult], after: View) -> LeastPrivilege:
        if self.reference is None:
            return NO_LEAST_PRIVILEGE
        spec = self.exercise.least_privilege
        counted = [r for r in results if r.max_points > 0]  # zero-point checks never gate
        gate = [r for r in counted if spec.gate is None or r.id in spec.gate]
        earned = all(r.passed for r in gate)
        return least_privilege(spec.scope, spec.points, after, self.reference, earned=earned)


def grade(exercise: Exercise, submission: Submission, base: Sequence[RawObject]) -> Grade:
    """Grade ``submission``: public and hidden requirements, and least privilege."""
    return Grader(exercise, base).grade(submission)


def check(exercise: Exercise, submission: Submission, base: Sequence[RawObject]) -> Grade:
    """The learner's self-check: public requirements only, no least privilege."""
    return Grader(exercise, base, hidden=False).grade(submission)


def check_summary(grade: Grade) -> str:
    """``N of M public checks pass; hidden checks run only when graded`` (never "all tests
    passed": the hidden checks have not run)."""
    public = [r for r in grade.requirements if not r.hidden]
    passed = sum(1 for r in public if r.passed)
    return f"{passed} of {len(public)} public checks pass; hidden checks run only when graded"


def to_dict(grade: Grade) -> dict[str, Any]:
    """The JSON of ``labkit grade -o json`` (the issue's stable form)."""
    lp = grade.least_privilege
    return {
        "exercise": grade.exercise,
        "score": grade.score,
        "max_score": grade.max_score,
        "requirements": [_requirement_dict(r) for r in grade.requirements],
        "least_privilege": {
            "excess_flows": lp.excess_flows,
            "score": lp.score,
            "open_flows": lp.open_flows,
            "max_score": lp.max_score,
            "gated": lp.gated,
        },
        "rejected": [r.as_dict() for r in grade.rejected],
        "errors": [dict(e) for e in grade.errors],
    }


def _requirement_dict(result: RequirementResult) -> Mapping[str, Any]:
    return {
        "id": result.id,
        "description": result.description,
        "hidden": result.hidden,
        "points": result.points,
        "max_points": result.max_points,
        "passed": result.passed,
        "feedback": result.feedback,
    }
