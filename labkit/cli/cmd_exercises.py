"""``labkit exercises list|release``: the graded exercises, and the learner's copy of them.

``list -o json`` prints ``[{"id", "title", "max_score"}, ...]`` (a stable contract: course
platforms read it). ``release OUTDIR`` writes the learner's part of each exercise (task,
notebooks, starters, public requirements, ``exercise.yaml``) and nothing from ``instructor/``
(:mod:`labkit.grading.release`). ``--exercises-dir`` (or ``$LABKIT_EXERCISES_DIR``) names
another exercises folder than the project's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from labkit.cli.common import emit_json

USAGE_ERROR = 2


def add_exercises_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--exercises-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the exercises folder (default: $LABKIT_EXERCISES_DIR, else the project's "
        "exercises/, else the copy installed with labkit)",
    )


def exercises_root(args: argparse.Namespace) -> Path:
    """``--exercises-dir`` when given, else :func:`labkit.cluster.grading_inputs.exercises_dir`."""
    from labkit.errors import LabkitError

    given: Path | None = args.exercises_dir
    if given is not None:
        if not given.is_dir():
            raise LabkitError(f"--exercises-dir {given} is not a folder")
        return given
    from labkit.cluster.grading_inputs import exercises_dir

    return exercises_dir()


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "exercises",
        help="list the graded exercises, or release the learner's copy",
        description="The graded exercises: `list` them (id, title, max score), or `release "
        "OUTDIR`: write the learner's copy of them (tasks, notebooks, starters, public "
        "requirements), without anything from instructor/.",
    )
    p.add_argument("action", choices=("list", "release"))
    p.add_argument(
        "outdir", type=Path, nargs="?", metavar="OUTDIR", help="release: folder to write into"
    )
    p.add_argument(
        "-o", "--output", choices=("text", "json"), default="text", help="list: output format"
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ID",
        help="release: this exercise only (repeat for several; default: every exercise)",
    )
    add_exercises_dir(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        if args.outdir is not None or args.only:
            print("error: `exercises list` takes no OUTDIR and no --only", file=sys.stderr)
            return USAGE_ERROR
        return run_list(args)
    if args.outdir is None:
        print("error: `exercises release` needs OUTDIR, the folder to write into", file=sys.stderr)
        return USAGE_ERROR
    return run_release(args)


def run_list(args: argparse.Namespace) -> int:
    from labkit.grading import list_exercises

    exercises = list_exercises(exercises_root(args))
    if args.output == "json":
        emit_json([{"id": e.id, "title": e.title, "max_score": e.max_score} for e in exercises])
        return 0
    width = max((len(e.id) for e in exercises), default=2)
    for e in exercises:
        sys.stdout.write(f"{e.id:<{width}}  {e.max_score:>5g}  {e.title}\n")
    if not exercises:
        sys.stdout.write("no exercises found\n")
    return 0


def run_release(args: argparse.Namespace) -> int:
    from labkit.errors import LabkitError
    from labkit.grading.release import release

    root = exercises_root(args)
    try:
        released = release(root, args.outdir, args.only)
    except LabkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    for item in released:
        sys.stdout.write(f"{item.id}: {len(item.files)} files -> {item.folder}\n")
        for line in item.skipped:
            print(f"warning: {item.id}: skipped {line}", file=sys.stderr)
    sys.stdout.write(f"released {len(released)} exercises into {args.outdir} (no instructor/)\n")
    return 0
