"""Live benchmark of the kind + Calico lab: cluster bring-up and the 9 x 9 probe matrix.

    .venv/bin/python benchmarks/live_probe.py [--cold] [--runs 3] [--json]
        [--nodes 1|3] [--calico operator|manifest] [--require-cluster]

Measures: ``labkit up`` on an existing ready cluster (warm), optionally from nothing
(``--cold`` deletes the cluster first), and ``runs`` probe passes of the nine lab pods on
80/TCP and 81/UDP (162 probes per pass) with the number of cells that disagree with the
policy engine, then checks the targets below and exits 1 when one is missed (the figures
are printed either way). Without a usable container engine it says so and exits 0 (nothing
is measured), or 2 with ``--require-cluster`` (CI must not pass on nothing).

Targets (:data:`TARGETS`): no probe disagrees with the engine and none fails; a warm
``labkit up`` (cluster ready) within 30 s; each 162-probe pass within 60 s; a cold ``up``
within the ``up`` budget (``KindOptions.timeout_s``, 20 minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from labkit.cluster import commands, doctor
from labkit.probe.jobs import Outcome, ProbeSpec

TARGETS = {"warm_up_s": 30.0, "pass_s": 60.0, "disagreements": 0, "failed": 0}


def node_memory(cluster_name: str) -> dict[str, str]:
    """Memory each kind node container uses now (``docker stats`` or ``podman stats``, the
    engine kind uses), for the README's figure."""
    from labkit.cluster.kind import provider

    nodes = commands.run(["kind", "get", "nodes", "--name", cluster_name], timeout=60)
    names = [n for n in nodes.stdout.split() if n]
    if not names:
        return {}
    result = commands.run(
        [
            provider.detect().tool,
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}}\t{{.MemUsage}}",
            *names,
        ],
        timeout=60,
    )
    usage: dict[str, str] = {}
    for line in result.stdout.splitlines():
        name, _, mem = line.partition("\t")
        if name:
            usage[name] = mem.strip()
    return usage


def missed_targets(figures: dict[str, object], budget_s: float) -> list[str]:
    """Each target the figures miss, in words (empty when all are met)."""
    missed = []
    warm = figures.get("warm_up_s")
    if isinstance(warm, float) and warm > TARGETS["warm_up_s"]:
        missed.append(f"warm labkit up took {warm} s (target {TARGETS['warm_up_s']:.0f} s)")
    cold = figures.get("cold_up_s")
    if isinstance(cold, float) and cold > budget_s:
        missed.append(f"cold labkit up took {cold} s (budget {budget_s:.0f} s)")
    passes = figures.get("probe_passes")
    for i, p in enumerate(passes if isinstance(passes, list) else [], 1):
        if p["seconds"] > TARGETS["pass_s"]:
            missed.append(f"pass {i} took {p['seconds']} s (target {TARGETS['pass_s']:.0f} s)")
        if p["disagreements"] > TARGETS["disagreements"]:
            missed.append(f"pass {i}: {p['disagreements']} cells disagree with the engine")
        if p["failed"] > TARGETS["failed"]:
            missed.append(f"pass {i}: {p['failed']} probes failed")
    if not passes:
        missed.append("no probe pass ran")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument(
        "--cold",
        action="store_true",
        help="delete the kind cluster first and time a bring-up from nothing",
    )
    parser.add_argument("--runs", type=int, default=3, help="probe passes (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--nodes", type=int, choices=(1, 3), default=3, help="node count")
    parser.add_argument(
        "--calico", choices=("operator", "manifest"), default="operator", help="Calico install"
    )
    parser.add_argument(
        "--require-cluster",
        action="store_true",
        help="exit 2 (not 0) when no container engine, kind or kubectl is there",
    )
    args = parser.parse_args(argv)

    usable, why = doctor.docker_usable()
    missing = [t for t in ("kind", "kubectl") if commands.which(t) is None]
    if not usable or missing:
        reason = why if not usable else f"{', '.join(missing)} not installed"
        print(
            f"live benchmark cannot run without Docker, kind and kubectl: {reason}\n"
            "Nothing was measured."
        )
        return 2 if args.require_cluster else 0

    from labkit.cluster.kind.cluster import KindCluster, KindOptions, kind_clusters
    from labkit.cluster.progress import LogProgress
    from labkit.cluster.topology import LAB_PODS

    options = KindOptions(nodes=args.nodes, calico_mode=args.calico)
    figures: dict[str, object] = {"nodes": options.nodes, "calico_mode": options.calico_mode}
    if args.cold and options.name in kind_clusters():
        KindCluster(options).down()
    started = time.monotonic()
    cluster = KindCluster.up(options, LogProgress())
    first = time.monotonic() - started
    figures["cold_up_s" if args.cold else "first_up_s"] = round(first, 1)
    started = time.monotonic()
    cluster = KindCluster.up(options, LogProgress())
    figures["warm_up_s"] = round(time.monotonic() - started, 2)

    probes = (ProbeSpec(80), ProbeSpec.parse("81/UDP"))
    peers = list(LAB_PODS)
    predicted = cluster.predicted_matrix(probes, peers=peers)
    passes = []
    for _ in range(args.runs):
        started = time.monotonic()
        tables = cluster.probe_matrix(probes, peers=peers)
        seconds = time.monotonic() - started
        cells = [c for t in tables for row in t.cells for c in row]
        passes.append(
            {
                "seconds": round(seconds, 2),
                "probes": len(cells),
                "allowed": sum(c is Outcome.ALLOWED for c in cells),
                "blocked": sum(c is Outcome.BLOCKED for c in cells),
                "failed": sum(c is Outcome.FAILED for c in cells),
                "disagreements": sum(
                    len(t.disagreements(p)) for t, p in zip(tables, predicted, strict=True)
                ),
            }
        )
    figures["probe_passes"] = passes
    figures["node_memory"] = node_memory(options.name)
    missed = missed_targets(figures, options.timeout_s)
    figures["targets"] = {"met": not missed, "missed": missed, **TARGETS}
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for key, value in figures.items():
            if key not in ("probe_passes", "targets"):
                print(f"{key:>12}: {value}")
        for i, p in enumerate(passes, 1):
            print(
                f"pass {i}: {p['probes']} probes (9 x 9 x 2) in {p['seconds']} s, "
                f"{p['allowed']} allowed, {p['blocked']} blocked, {p['failed']} failed, "
                f"{p['disagreements']} disagreeing with the engine"
            )
    for line in missed:
        print(f"target MISSED: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
