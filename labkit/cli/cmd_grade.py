"""``labkit check`` and ``labkit grade``: an exercise's requirements on a submission.

* ``labkit check EXERCISE SUBMISSION [-o text|json]``: the learner's self-check, public
  requirements only, with feedback for each miss; it never lists hidden requirements and ends
  "N of M public checks pass; hidden checks run only when graded".
* ``labkit grade EXERCISE SUBMISSION [-o text|json|table|html] [--live]``: every requirement,
  least privilege, what was rejected and what was invalid. ``-o json`` is the stable contract
  of :func:`labkit.grading.to_dict`; ``--live`` adds ``"live"`` (see
  :mod:`labkit.cli.grade_live`).
* ``labkit grade EXERCISE CLASS_DIR --gradebook grades.csv [--report-dir DIR]``: one
  submission per student (:mod:`labkit.grading.gradebook`), one HTML report per student and
  the class summary (:mod:`labkit.grading.report`).

EXERCISE is an id (under ``--exercises-dir``, ``$LABKIT_EXERCISES_DIR`` or the project's
``exercises/``) or an exercise folder; SUBMISSION a manifest file or folder, or a notebook whose
``answer`` cells hold YAML, read as data only. The world is the lab's
(:func:`labkit.cluster.grading_inputs.lab_world`).

Exit status: 0 whenever a grade was produced, whatever the score; 2 for usage errors (an
unknown exercise, a missing path); 1 for other errors (a broken exercise, a cluster problem).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.cli.cmd_exercises import USAGE_ERROR, add_exercises_dir, exercises_root
from labkit.cli.common import emit_json

if TYPE_CHECKING:
    from labkit.grading import Exercise


class UsageError(Exception):
    """A command line naming something that is not there: exit status 2."""


def register(sub: Any) -> None:
    check = sub.add_parser(
        "check",
        help="self-check a submission against an exercise's public requirements",
        description="The learner's self-check: the exercise's public requirements on the "
        "submission, with feedback for each miss. Hidden requirements run only when graded.",
    )
    _add_common(check, ("text", "json"))
    check.set_defaults(handler=run_check)
    grade = sub.add_parser(
        "grade",
        help="grade a submission (or a class folder) against an exercise",
        description="Grade a submission on every requirement of the exercise (public and "
        "hidden) and on least privilege; with --gradebook, grade a class folder holding one "
        "submission per student. Exit status 0 whenever a grade is produced.",
    )
    _add_common(grade, ("text", "json", "table", "html"))
    grade.add_argument(
        "--live",
        action="store_true",
        help="also apply the submission to the lab cluster after a reset, probe it, and "
        "report where the probes disagree with the engine",
    )
    grade.add_argument(
        "--gradebook",
        type=Path,
        metavar="CSV",
        help="SUBMISSION is a class folder (one folder or file per student): write the grades "
        "to this CSV",
    )
    grade.add_argument(
        "--report-dir",
        type=Path,
        metavar="DIR",
        help="with --gradebook: one HTML report per student, index.html and summary.png",
    )
    grade.set_defaults(handler=run_grade)


def _add_common(parser: argparse.ArgumentParser, outputs: tuple[str, ...]) -> None:
    parser.add_argument("exercise", metavar="EXERCISE", help="exercise id or folder")
    parser.add_argument(
        "submission",
        metavar="SUBMISSION",
        help="manifest file or folder (YAML/JSON), or a notebook with cells tagged `answer`",
    )
    parser.add_argument("-o", "--output", choices=outputs, default="text")
    add_exercises_dir(parser)


def find(args: argparse.Namespace) -> Exercise:
    """The exercise the command line names (:class:`UsageError` when there is none)."""
    from labkit.errors import GradingError, LabkitError, RequirementsError
    from labkit.grading import find_exercise

    given = Path(args.exercise)
    try:
        root = given.parent if given.is_dir() else exercises_root(args)
    except LabkitError as exc:
        raise UsageError(f"unknown exercise {args.exercise!r}: {exc}") from None
    try:
        return find_exercise(args.exercise, root)
    except RequirementsError:
        raise
    except GradingError as exc:
        raise UsageError(str(exc)) from None


def _submission_path(args: argparse.Namespace) -> Path:
    path = Path(args.submission)
    if not os.path.lexists(path):
        raise UsageError(
            f"{path}: no such file or folder; give the submission's manifest file, folder or "
            "notebook"
        )
    return path


def _usage(exc: UsageError) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return USAGE_ERROR


def run_check(args: argparse.Namespace) -> int:
    from labkit.cluster.grading_inputs import lab_world
    from labkit.grading import check, read_submission, to_dict
    from labkit.grading.report import grade_lines

    try:
        exercise = find(args)
        path = _submission_path(args)
    except UsageError as exc:
        return _usage(exc)
    result = check(exercise, read_submission(path), lab_world())
    if args.output == "json":
        emit_json(to_dict(result))
    else:
        sys.stdout.write("\n".join(grade_lines(result, public_only=True)) + "\n")
    return 0


def run_grade(args: argparse.Namespace) -> int:
    if args.report_dir is not None and args.gradebook is None:
        return _usage(UsageError("--report-dir goes with --gradebook (a class folder)"))
    if args.gradebook is not None and args.live:
        return _usage(UsageError("--live grades one submission; drop --gradebook or --live"))
    try:
        exercise = find(args)
        path = _submission_path(args)
        if args.gradebook is not None:
            return _grade_class(args, exercise, path)
    except UsageError as exc:
        return _usage(exc)
    return _grade_one(args, exercise, path)


def _grade_one(args: argparse.Namespace, exercise: Exercise, path: Path) -> int:
    from labkit.cluster.grading_inputs import lab_world
    from labkit.grading import grade, read_submission, to_dict
    from labkit.grading.report import grade_html, grade_lines, table_lines

    base = lab_world()
    submission = read_submission(path)
    live = None
    if args.live:
        from labkit.cli.grade_live import live_check
        from labkit.grading import Grader

        live = live_check(exercise, submission, base)
        result = Grader(exercise, base).grade(submission, live.observations)
    else:
        result = grade(exercise, submission, base)
    if args.output == "json":
        emit_json({**to_dict(result), **({"live": live.as_dict()} if live else {})})
    elif args.output == "html":
        sys.stdout.write(grade_html(result))
    else:
        lines = table_lines(result) if args.output == "table" else grade_lines(result)
        sys.stdout.write("\n".join([*lines, *(live.lines() if live else [])]) + "\n")
    return 0


def _grade_class(args: argparse.Namespace, exercise: Exercise, class_dir: Path) -> int:
    from labkit.cluster.grading_inputs import lab_world
    from labkit.errors import LabkitError
    from labkit.grading.gradebook import class_submissions, grade_students, write_gradebook
    from labkit.grading.report import write_reports

    try:
        found = class_submissions(class_dir)
    except LabkitError as exc:
        raise UsageError(str(exc)) from None
    for line in found.skipped:
        print(f"warning: skipped {line}", file=sys.stderr)
    grades = grade_students(exercise, found.submissions, lab_world())
    write_gradebook(args.gradebook, grades)
    reports = write_reports(args.report_dir, grades) if args.report_dir is not None else []
    if args.output == "json":
        emit_json(
            {
                "exercise": exercise.id,
                "gradebook": str(args.gradebook),
                "reports": [str(p) for p in reports],
                "students": [
                    {"student": g.student, "score": g.grade.score, "max_score": g.grade.max_score}
                    for g in grades
                ],
                "skipped": list(found.skipped),
            }
        )
        return 0
    sys.stdout.write(f"graded {len(grades)} submissions of {exercise.id}: {args.gradebook}\n")
    if reports:
        sys.stdout.write(f"{len(grades)} reports and the class summary in {args.report_dir}\n")
    return 0
