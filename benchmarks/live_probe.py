"""Live benchmark of the kind + Calico lab: cluster bring-up and the 9 x 9 probe matrix.

    .venv/bin/python benchmarks/live_probe.py [--cold] [--runs 3] [--json]

Measures: ``labkit up`` on an existing ready cluster (warm), optionally from nothing
(``--cold`` deletes the cluster first), and ``runs`` probe passes of the nine lab pods on
80/TCP and 81/UDP (162 probes per pass) with the number of cells that disagree with the
policy engine. Without a usable Docker engine it says so and exits 0: nothing is measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from labkit.cluster import commands, doctor
from labkit.probe.jobs import Outcome, ProbeSpec


def node_memory(cluster_name: str) -> dict[str, str]:
    """Memory each kind node container uses now (``docker stats``), for the README's figure."""
    nodes = commands.run(["kind", "get", "nodes", "--name", cluster_name], timeout=60)
    names = [n for n in nodes.stdout.split() if n]
    if not names:
        return {}
    result = commands.run(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}", *names],
        timeout=60,
    )
    usage: dict[str, str] = {}
    for line in result.stdout.splitlines():
        name, _, mem = line.partition("\t")
        if name:
            usage[name] = mem.strip()
    return usage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument(
        "--cold",
        action="store_true",
        help="delete the kind cluster first and time a bring-up from nothing",
    )
    parser.add_argument("--runs", type=int, default=3, help="probe passes (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    usable, why = doctor.docker_usable()
    missing = [t for t in ("kind", "kubectl") if commands.which(t) is None]
    if not usable or missing:
        reason = why if not usable else f"{', '.join(missing)} not installed"
        print(
            f"live benchmark cannot run without Docker, kind and kubectl: {reason}\n"
            "Nothing was measured."
        )
        return 0

    from labkit.cluster.kind.cluster import KindCluster, KindOptions, kind_clusters
    from labkit.cluster.progress import LogProgress
    from labkit.cluster.topology import LAB_PODS

    options = KindOptions()
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
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for key, value in figures.items():
            if key != "probe_passes":
                print(f"{key:>12}: {value}")
        for i, p in enumerate(passes, 1):
            print(
                f"pass {i}: {p['probes']} probes (9 x 9 x 2) in {p['seconds']} s, "
                f"{p['allowed']} allowed, {p['blocked']} blocked, {p['failed']} failed, "
                f"{p['disagreements']} disagreeing with the engine"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
