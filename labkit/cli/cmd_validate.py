"""``labkit validate``: would the API server accept these manifests?

Every file is read on its own, so a YAML syntax error in one file is reported (with its line
and column) next to the validation errors of the others. Exit status 0 when everything is
valid (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from labkit.cli.common import add_files, emit_json, issues_json, warn_unevaluated

if TYPE_CHECKING:
    from labkit.errors import Issue
    from labkit.model.loader import RawObject


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check manifests as the Kubernetes API server would",
        description="Validate NetworkPolicies, Namespaces, Pods, Services and workloads as the "
        "API server of the given Kubernetes version would on create: the exact API server "
        "message for each error, in its order, with a hint on how to fix it.",
    )
    add_files(p)
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.set_defaults(handler=run)


def _load(paths: list[str]) -> tuple[list[RawObject], list[Issue]]:
    from labkit.errors import ManifestError
    from labkit.model.loader import ReadBudget, iter_manifest_files, load_paths

    objects: list[RawObject] = []
    problems: list[Issue] = []
    budget = ReadBudget()  # one run's limits, over every file
    for path in paths:
        try:
            files = list(iter_manifest_files([path]))
        except ManifestError as exc:
            problems.append(exc.as_issue())
            continue
        for file in files:
            try:
                objects.extend(load_paths([file], budget=budget))
            except ManifestError as exc:
                problems.append(exc.as_issue())
    return objects, problems


def run(args: argparse.Namespace) -> int:
    from labkit.model.unevaluated import find_unevaluated, unevaluated_warning
    from labkit.model.validation import parse_version, validate_objects

    version = parse_version(args.kubernetes_version)
    objects, problems = _load(args.files)
    errors, warnings = validate_objects(objects, kubernetes_version=str(version))
    errors = problems + errors
    unevaluated = find_unevaluated(objects)
    if args.output == "json":
        report: dict[str, Any] = {
            "valid": not errors,
            "errors": issues_json(tuple(errors)),
            "warnings": issues_json(tuple(warnings)),
        }
        if unevaluated:  # the key appears only when there is something to say
            report["unevaluated"] = {
                "objects": list(unevaluated),
                "warning": unevaluated_warning(unevaluated),
            }
        emit_json(report)
        return 1 if errors else 0
    warn_unevaluated(unevaluated)
    out = sys.stdout
    for issue in errors:
        out.write(f"{issue}\n")
    for issue in warnings:
        out.write(f"warning: {issue}\n")
    count = len(objects)
    noun = "object" if count == 1 else "objects"
    if errors:
        plural = "" if len(errors) == 1 else "s"
        out.write(
            f"invalid: {len(errors)} error{plural} in {count} {noun} "
            f"(Kubernetes {version}); nothing would be applied\n"
        )
        return 1
    note = f", {len(warnings)} warning{'' if len(warnings) == 1 else 's'}" if warnings else ""
    out.write(f"valid: {count} {noun} (Kubernetes {version}){note}\n")
    return 0
