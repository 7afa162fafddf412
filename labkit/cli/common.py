"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
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
        help="manifest file or directory (YAML, JSON, kind: List); repeat for several. Pods "
        "get the lab's addresses, and with the lab topology (clusters/topology/topology.yaml) "
        "the lab's system namespaces and CoreDNS are added: the answers equal the lab's"
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
        help="addresses for pods without status.podIP that ask for no IP pool (default: the "
        "lab's default pool 192.168.128.0/17; Calico IPPools and cni.projectcalico.org/ipv4pools "
        "annotations in the input are honoured)",
    )


def load(args: argparse.Namespace) -> Inventory:
    from labkit.model.inventory import build_inventory, check_objects
    from labkit.model.ipam import IPPlan
    from labkit.model.loader import load_paths

    if not args.files:
        from labkit.cluster.lifecycle import connect

        return connect().inventory()
    from labkit.cluster.topology import in_the_lab  # the same answers as the lab's

    plan = IPPlan(args.pod_cidr) if args.pod_cidr else None
    objects = load_paths(args.files)
    check_objects(objects, args.kubernetes_version)
    return build_inventory(in_the_lab(objects), ip_plan=plan)


def warn_unevaluated(found: Sequence[str]) -> None:
    """The one warning every command prints for policy kinds labkit does not evaluate
    (:func:`labkit.model.unevaluated.unevaluated_warning`), on stderr."""
    from labkit.model.unevaluated import unevaluated_warning

    line = unevaluated_warning(found)
    if line is not None:
        print(f"warning: {line}", file=sys.stderr)


def issues_json(issues: tuple[Issue, ...]) -> list[dict[str, str]]:
    return [i.as_dict() for i in issues]


def report_invalid(exc: ValidationFailed, output: str, outcome: str = "") -> int:
    """Print validation errors in the form ``labkit validate`` uses, then what was done about
    them (``outcome``, e.g. "nothing was applied"); returns exit status 1."""
    if output == "json":
        emit_json(
            {
                "valid": False,
                "errors": issues_json(exc.issues),
                "warnings": issues_json(exc.warnings),
                **({"outcome": outcome} if outcome else {}),
            }
        )
    else:
        print(str(exc), file=sys.stderr)
        if outcome:
            print(outcome, file=sys.stderr)
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
