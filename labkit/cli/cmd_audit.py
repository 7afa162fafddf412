"""``labkit audit``: gaps and mistakes in a set of policies, most severe first."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from labkit.cli.common import add_files, emit_json, load, report_invalid

EXIT_THRESHOLD_MET = 2


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help="find gaps and mistakes in the policies (default-deny, DNS, selectors, ...)",
        description="Audit the policies in the manifests: missing default-deny, egress "
        "isolation without DNS, selectors and peers that match nothing, labels no namespace "
        "carries, allow-all rules, ipBlocks that hold pod addresses, shadowed policies and "
        "defaulted policyTypes. Exit status 0, or 2 when --fail-on is given and a finding of "
        "that severity or worse exists; 1 on errors.",
    )
    add_files(p, lab_fallback=True)
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.add_argument(
        "--fail-on",
        choices=("high", "medium", "low"),
        default=None,
        help="exit with status 2 when a finding of this severity or worse exists",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from labkit.engine.audit import at_or_above, audit
    from labkit.engine.audit.render import to_dict, to_text
    from labkit.errors import ValidationFailed

    try:
        inventory = load(args)
    except ValidationFailed as exc:
        return report_invalid(exc, args.output)
    findings = audit(inventory)
    if args.output == "json":
        emit_json(to_dict(findings))
    else:
        sys.stdout.write(to_text(findings))
    if args.fail_on and at_or_above(findings, args.fail_on):
        return EXIT_THRESHOLD_MET
    return 0
