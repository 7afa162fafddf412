"""``labkit progress``: a learner's checks, quiz answers and predictions
(``<lab folder>/progress.json``, :mod:`labkit.cluster.learner_progress`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from labkit.cli.common import emit_json


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "progress",
        help="show a learner's checks passed, quiz answers and predictions",
        description="Show the progress saved in the lab folder's progress.json: each check "
        "(lesson requirements, predictions, lab.check) with its last outcome and attempts, "
        "and each quiz question answered. The learner is $LABKIT_LEARNER, else the OS user.",
    )
    p.add_argument("--learner", help="whose progress (default: $LABKIT_LEARNER or the OS user)")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from labkit.cluster.learner_progress import load

    found = load(args.learner)
    if args.output == "json":
        emit_json(found.as_json())
    else:
        sys.stdout.write(str(found) + "\n")
    return 0
