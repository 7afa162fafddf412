"""Entry point of the ``labkit`` command.

Each subcommand lives in its own module exposing ``register(subparsers)``; heavy imports
happen inside the handlers so that ``labkit matrix`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from labkit.errors import LabkitError

COMMAND_MODULES = (
    "labkit.cli.cmd_validate",
    "labkit.cli.cmd_matrix",
    "labkit.cli.cmd_explain",
    "labkit.cli.cmd_audit",
    "labkit.cli.cmd_cluster",
    "labkit.cli.cmd_probe",
    "labkit.cli.cmd_images",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labkit",
        description="Kubernetes network segmentation lab: validate, evaluate, explain, audit "
        "and probe NetworkPolicies on a kind+Calico, existing or simulated cluster.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except LabkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
