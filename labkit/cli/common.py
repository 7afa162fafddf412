"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.errors import Issue, ManifestError, ValidationFailed
    from labkit.model.inventory import Inventory

DEFAULT_KUBERNETES_VERSION = "1.36"


def add_files(parser: argparse.ArgumentParser, *, lab_fallback: bool = False) -> None:
    """``-f PATH...``; with ``lab_fallback``, no ``-f`` means the lab cluster as it is now."""
    parser.add_argument(
        "-f",
        "--filename",
        dest="files",
        action="append",
        required=not lab_fallback,
        metavar="PATH",
        help="manifest file or directory (YAML, JSON, kind: List); repeat for several"
        + ("; without -f, the lab cluster's current state (labkit up)" if lab_fallback else ""),
    )
    parser.add_argument(
        "--kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        metavar="X.Y",
        help="validate as this Kubernetes version's API server (default %(default)s)",
    )
    parser.add_argument(
        "--pod-cidr",
        default=None,
        metavar="CIDR",
        help="addresses for pods without status.podIP (default 10.244.0.0/16)",
    )


def load(args: argparse.Namespace) -> Inventory:
    from labkit.model.inventory import load_inventory
    from labkit.model.ipam import IPPlan

    if not args.files:
        from labkit.cluster.lifecycle import connect

        return connect(create=False).inventory()
    plan = IPPlan(args.pod_cidr) if args.pod_cidr else None
    return load_inventory(args.files, ip_plan=plan, kubernetes_version=args.kubernetes_version)


def issues_json(issues: tuple[Issue, ...]) -> list[dict[str, str]]:
    return [i.as_dict() for i in issues]


def report_invalid(exc: ValidationFailed, output: str) -> int:
    """Print validation errors in the form ``labkit validate`` uses; returns exit status 1."""
    if output == "json":
        emit_json(
            {
                "valid": False,
                "errors": issues_json(exc.issues),
                "warnings": issues_json(exc.warnings),
            }
        )
    else:
        print(str(exc), file=sys.stderr)
    return 1


def report_manifest_error(exc: ManifestError, output: str) -> int:
    """A file that cannot be read (YAML syntax, missing path) in the same form; exit status 1."""
    issue = exc.as_issue()
    if output == "json":
        emit_json({"valid": False, "errors": issues_json((issue,)), "warnings": []})
    else:
        print(f"error: {issue}", file=sys.stderr)
    return 1


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
