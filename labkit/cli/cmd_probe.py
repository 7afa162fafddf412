"""``labkit probe``: try connections on the lab cluster, optionally against the prediction.

Probes every ordered pair of lab pods (or one pair with ``--from``/``--to``) on each
``--probe``; ``--compare`` also asks the policy engine and lists the cells where the cluster
and the prediction disagree. Exit status 1 when a probe could not run or, with ``--compare``,
when anything disagrees.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from labkit.cli.common import emit_json

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster
    from labkit.probe.jobs import ProbeSpec, Result
    from labkit.probe.table import TruthTable


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "probe",
        help="try connections between lab pods on the lab cluster",
        description="Probe every ordered pair of lab pods (rows: from, columns: to) on each "
        "--probe, or one pair with --from and --to. --compare shows what the policy engine "
        "predicts beside what the cluster did, and the cells where they disagree.",
    )
    p.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="probe the pods of this namespace (repeatable; default: every lab namespace)",
    )
    p.add_argument(
        "--probe",
        action="append",
        default=[],
        metavar="PORT[/PROTO]",
        help="destination port and protocol, e.g. 80/TCP or 81/UDP (repeatable; default 80/TCP)",
    )
    p.add_argument("--from", dest="src", metavar="NS/POD", help="probe one cell: the source")
    p.add_argument("--to", dest="dst", metavar="NS/POD|ip:ADDR", help="... and its destination")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also show the engine's prediction and every disagreement",
    )
    p.set_defaults(handler=run)


def _probes(texts: list[str]) -> list[ProbeSpec]:
    from labkit.errors import EvaluationError
    from labkit.probe.jobs import ProbeSpec

    try:
        return [ProbeSpec.parse(t) for t in texts] or [ProbeSpec(80)]
    except ValueError as exc:
        raise EvaluationError(f"--probe: {exc}") from None


def _peers(cluster: LabCluster, namespaces: list[str]) -> list[str]:
    if namespaces:
        known = {ns.name for ns in cluster.namespaces()}
        unknown = [ns for ns in namespaces if ns not in known]
        if unknown:
            from labkit.errors import UnknownPeer

            raise UnknownPeer(
                f"namespace {', '.join(unknown)} does not exist; namespaces: "
                + ", ".join(sorted(known))
            )
    return cluster.peers(namespaces)


def run(args: argparse.Namespace) -> int:
    from labkit.cluster.lifecycle import connect
    from labkit.errors import LabkitError

    probes = _probes(args.probe)
    if (args.src is None) != (args.dst is None):
        raise LabkitError("--from and --to go together: labkit probe --from NS/POD --to NS/POD")
    cluster = connect()
    if args.src is not None:
        return _one_cell(cluster, args, probes)
    peers = _peers(cluster, args.namespace)
    if not peers:
        raise LabkitError("there are no pods to probe; `labkit reset` restores the lab topology")
    observed = cluster.probe_matrix(probes, peers=peers)
    predicted = cluster.predicted_matrix(probes, peers=peers) if args.compare else []
    failed = any(c.value == "failed" for t in observed for row in t.cells for c in row)
    disagreements = (
        [t.disagreements(p) for t, p in zip(observed, predicted, strict=True)] if predicted else []
    )
    if args.output == "json":
        emit_json(
            {
                "backend": cluster.name,
                "peers": peers,
                "probes": [
                    _table_json(
                        t,
                        predicted[k] if predicted else None,
                        disagreements[k] if predicted else None,
                    )
                    for k, t in enumerate(observed)
                ],
            }
        )
    else:
        blocks = []
        for k, table in enumerate(observed):
            text = f"observed on the {cluster.name} cluster: {table.to_text()}"
            if predicted:
                text += "\n\npredicted by the policy engine: " + predicted[k].to_text()
                text += "\n\n" + _disagreement_text(disagreements[k])
            blocks.append(text)
        print("\n\n".join(blocks))
    return 1 if failed or any(disagreements) else 0


def _one_cell(cluster: LabCluster, args: argparse.Namespace, probes: list[ProbeSpec]) -> int:
    from labkit.probe.jobs import Job, Outcome
    from labkit.probe.runner import EngineRunner

    jobs = [Job(args.src, args.dst, probe) for probe in probes]
    observed = cluster.runner().run(jobs)
    predicted = EngineRunner(cluster.engine()).run(jobs) if args.compare else []
    status = 0
    rows = []
    for k, res in enumerate(observed):
        row: dict[str, Any] = {
            "from": args.src,
            "to": args.dst,
            "probe": str(res.job.probe),
            "outcome": res.outcome.value,
            "detail": res.detail,
        }
        if res.outcome is Outcome.FAILED:
            status = 1
        if predicted:
            row["predicted"] = predicted[k].outcome.value
            row["agrees"] = predicted[k].outcome is res.outcome
            status = status or (0 if row["agrees"] else 1)
        rows.append(row)
    if args.output == "json":
        emit_json({"backend": cluster.name, "results": rows})
        return status
    for res, row in zip(observed, rows, strict=True):
        print(_cell_line(res, row))
    return status


def _cell_line(res: Result, row: dict[str, Any]) -> str:
    text = f"{res.job.src} -> {res.job.dst} {res.job.probe}: {res.outcome.value}"
    if res.detail:
        text += f" ({res.detail})"
    if "predicted" in row:
        text += f"; predicted {row['predicted']}" + ("" if row["agrees"] else "  <-- DISAGREES")
    return text


def _table_json(
    table: TruthTable, predicted: TruthTable | None, disagreements: list[Any] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "port": table.probe.port,
        "protocol": table.probe.protocol.value,
        "observed": [[c.value for c in row] for row in table.cells],
    }
    if predicted is not None:
        out["predicted"] = [[c.value for c in row] for row in predicted.cells]
        out["disagreements"] = [
            {"from": s, "to": d, "observed": o.value, "predicted": p.value}
            for s, d, o, p in disagreements or []
        ]
    return out


def _disagreement_text(disagreements: list[Any]) -> str:
    if not disagreements:
        return "cluster and prediction agree on every cell"
    count = len(disagreements)
    lines = [f"{count} cell{'s disagree' if count != 1 else ' disagrees'}:"]
    lines += [
        f"  {s} -> {d}: observed {o.value}, predicted {p.value}" for s, d, o, p in disagreements
    ]
    return "\n".join(lines)
