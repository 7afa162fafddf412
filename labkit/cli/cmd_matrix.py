"""``labkit matrix``: who can reach whom, per probe or as full connectivity."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.cli.common import (
    add_files,
    load,
    report_invalid,
    report_manifest_error,
    warn_unevaluated,
)

if TYPE_CHECKING:
    from labkit.engine.matrix import ConnectivityMatrix
    from labkit.probe.jobs import ProbeSpec
    from labkit.probe.table import TruthTable


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "matrix",
        help="reachability matrix of every ordered pair of pods",
        description="Evaluate the policies in the manifests and print, for every ordered pair "
        "of peers, the allowed ports (full connectivity) or, with --probe, one matrix per probe.",
    )
    add_files(p)
    p.add_argument(
        "--probe",
        action="append",
        default=[],
        metavar="PORT[/PROTO]",
        help="probe a destination port, e.g. 80/TCP or 53/UDP (repeatable)",
    )
    p.add_argument(
        "--external",
        action="append",
        default=[],
        metavar="IP",
        help="add an address that is not a pod as peer ip:<IP> (repeatable)",
    )
    p.add_argument("-o", "--output", choices=("json", "table", "csv"), default="table")
    p.add_argument(
        "--evaluate-self",
        action="store_true",
        help="evaluate pod-to-itself traffic like any other pair (default: allowed)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from labkit.engine.evaluator import Engine
    from labkit.engine.matrix import compute_matrix
    from labkit.errors import ManifestError, ValidationFailed
    from labkit.probe.connectivity import ConnectivityTable

    probes = parse_probes(args.probe)
    try:
        inventory = load(args)
    except ValidationFailed as exc:
        return report_invalid(exc, args.output)
    except ManifestError as exc:
        return report_manifest_error(exc, args.output)
    warn_unevaluated(inventory.unevaluated)
    engine = Engine(inventory, self_traffic="evaluate" if args.evaluate_self else "allow")
    matrix = compute_matrix(engine, engine.endpoints(args.external))
    tables = truth_tables(matrix, probes)
    out = sys.stdout
    if args.output == "json":
        out.write('{"peers": ')
        import json

        out.write(json.dumps(list(matrix.peers)))
        out.write(', "probes": [')
        out.write(", ".join(json.dumps(table.to_dict()) for table in tables))
        out.write("]")
        if not tables:
            out.write(', "connectivity": [')
            for k, row in enumerate(ConnectivityTable(matrix).to_json_rows()):
                out.write(",\n" if k else "\n")
                out.write(row)
            out.write("\n]")
        out.write("}\n")
    elif args.output == "csv":
        if tables:
            for table in tables:
                out.write(f"# probe {table.probe}\n")
                out.write(table.to_csv())
        else:
            out.write(ConnectivityTable(matrix).to_csv())
    else:
        if tables:
            out.write("\n\n".join(table.to_text() for table in tables))
            out.write("\n")
        else:
            out.write(ConnectivityTable(matrix).to_text() + "\n")
    return 0


def parse_probes(texts: Sequence[str]) -> list[ProbeSpec]:
    """The ``--probe`` values; the probe modules are imported only when there are some."""
    if not texts:
        return []
    from labkit.errors import EvaluationError
    from labkit.probe.jobs import ProbeSpec

    try:
        return [ProbeSpec.parse(text) for text in texts]
    except ValueError as exc:
        raise EvaluationError(f"--probe: {exc}") from None


def truth_tables(matrix: ConnectivityMatrix, probes: Sequence[ProbeSpec]) -> list[TruthTable]:
    """One truth table per probe, read off the matrix."""
    if not probes:
        return []
    from labkit.probe.table import TruthTable

    return [TruthTable.from_matrix(matrix, probe) for probe in probes]
