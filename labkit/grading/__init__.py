"""Graded exercises: behavioural requirements, a grader a submission cannot fool, gradebooks.

The layer above :mod:`labkit.probe` (import-linter contracts in ``pyproject.toml``): it
imports :mod:`labkit.model`, :mod:`labkit.engine` and :mod:`labkit.probe` only, never
:mod:`labkit.cluster`, and never runs a subprocess. The lab world (topology and kube-system
objects) is passed in by the caller as raw objects.

* :mod:`.requirements`: requirement files as frozen data; :mod:`.peers`: peer and port
  expressions; :mod:`.evaluate`: each requirement checked on full connectivity, feedback
  from :func:`labkit.engine.explain.explain`; :mod:`.privilege`: least privilege;
* :mod:`.score`: :func:`grade`, :func:`check`, :class:`Grade`, :func:`to_dict`;
* :mod:`.exercise`: one ``exercises/<id>/`` folder; :mod:`.submission`: a submission read
  as data only; :mod:`.world`: the submission applied to the exercise's world (what it may
  not change is ``rejected``);
* :mod:`.gradebook`, :mod:`.report`, :mod:`.release`: a class's grades, reports, and the
  learner's copy of the exercises;
* :mod:`.scenario_check`: a break-fix scenario's requirements on the cluster's objects now.

Integrity (nbgrader and otter-grader's model): requirements and the reference solution are
read only from the instructor's exercise folder, a submission is never imported or
executed, and the self-check never reveals a hidden requirement.
"""

from labkit.grading.exercise import Exercise, find_exercise, list_exercises, load_exercise
from labkit.grading.requirements import RequirementSet, load_requirements
from labkit.grading.score import (
    Grade,
    Grader,
    RequirementResult,
    check,
    check_summary,
    grade,
    grade_world,
    to_dict,
)
from labkit.grading.submission import Rejected, Submission, read_submission
from labkit.grading.world import World, build_world

__all__ = [
    "Exercise",
    "Grade",
    "Grader",
    "Rejected",
    "RequirementResult",
    "RequirementSet",
    "Submission",
    "World",
    "build_world",
    "check",
    "check_summary",
    "find_exercise",
    "grade",
    "grade_world",
    "list_exercises",
    "load_exercise",
    "load_requirements",
    "read_submission",
    "to_dict",
]
