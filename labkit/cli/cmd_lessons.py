"""``labkit lessons verify``: every lesson run headless with its reference and starter answers.

Prints, per lesson, the checks passed and failed with the solutions and with the starters and
the seconds it took (``-o json``: ``{"lessons": [{"lesson", "solutions": {"passed",
"failed"}, "starters": {"passed", "failed"}, "seconds"}], "seconds"}``). Exits 1 when a
solution check fails (or a cell raises) or a starter check passes
(:mod:`labkit.cluster.lessons_verify`). Instructors run it on their cluster before a workshop;
``--workshop`` runs every lesson as a learner of a fresh simulated workshop (in each run's
temporary lab folder), in the learner's logical view behind the wall, as on the workshop's hub.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from labkit.cli.common import emit_json


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "lessons",
        help="verify the lessons: run each headless with its solutions and its starters",
        description="`verify`: run every lesson notebook headless twice, with the reference "
        "answers (every recorded check must pass) and with the starter answers (the "
        "lesson's requirement checks must fail), in a fresh lab folder each time.",
    )
    p.add_argument("action", choices=("verify",))
    p.add_argument(
        "--backend",
        choices=("simulated", "kind", "existing"),
        default="simulated",
        help="the backend the lessons run on (kind/existing: the cluster `labkit up` set up)",
    )
    p.add_argument(
        "--workshop",
        action="store_true",
        help="run each lesson as a learner of a fresh simulated workshop (workshop mode's "
        "rehearsal; simulated backend only)",
    )
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="LESSON",
        help="this lesson only, by name or number (04 or 04-egress-and-dns); repeatable",
    )
    p.add_argument(
        "--notebooks-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the folder holding the lessons (default: the project's notebooks/)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="notebook runs (one kernel each) at once (default: the number of CPUs)",
    )
    p.set_defaults(handler=run)


def notebooks_folder(given: Path | None) -> Path:
    from labkit.cluster.labdir import find_project
    from labkit.errors import LabkitError

    folder = given
    if folder is None:
        project = find_project()
        if project is None:
            raise LabkitError(
                "no labkit checkout found for its notebooks/; run from the project folder or "
                "give --notebooks-dir DIR"
            )
        folder = project / "notebooks"
    if not folder.is_dir():
        raise LabkitError(f"{folder} is not a folder (give --notebooks-dir DIR)")
    return folder


def run(args: argparse.Namespace) -> int:
    from labkit.extras import require_lab_extra

    require_lab_extra("labkit lessons verify", ("nbclient", "nbformat", "ipykernel"))
    from labkit.cluster.lessons_verify import verify_lessons

    jobs = args.jobs if args.jobs is not None else max(1, os.cpu_count() or 2)
    report = verify_lessons(
        notebooks_folder(args.notebooks_dir),
        backend=args.backend,
        only=args.only,
        jobs=jobs,
        workshop=args.workshop,
    )
    if args.output == "json":
        emit_json(report.to_json())
        for result in report.lessons:
            for problem in (*result.solutions.problems, *result.starters.problems):
                print(f"{result.lesson}: {problem}", file=sys.stderr)
    else:
        print(report.to_text())
    return 0 if report.ok else 1
