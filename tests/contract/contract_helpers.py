"""Helpers of the contract suite: waiting for a real CNI to program a change."""

from __future__ import annotations

import time
from typing import Any

from labkit.cluster.backend import LabCluster
from labkit.probe.jobs import Outcome, Result


def settle_seconds(cluster: LabCluster) -> float:
    """How long a probe may lag a change: policy programming is asynchronous on a real CNI;
    the simulated cluster must be right at once."""
    return 0.0 if cluster.name == "simulated" else 20.0


def probe_until(
    cluster: LabCluster, src: str, dst: str, port: int, protocol: str, want: Outcome
) -> Result:
    """Probe until the outcome is ``want`` or the backend's settle time has passed."""
    deadline = time.monotonic() + settle_seconds(cluster)
    while True:
        result = cluster.probe(src, dst, port, protocol)
        if result.outcome is want or time.monotonic() >= deadline:
            return result
        time.sleep(0.5)


def add_foreign(cluster: LabCluster, objects: list[dict[str, Any]]) -> None:
    """Create objects as another team would: not through labkit, so without its label."""
    from labkit.cluster.kube import KubeCluster
    from labkit.cluster.sim_apply import merge
    from labkit.cluster.simulated import SimulatedCluster, plan_for
    from labkit.model.loader import RawObject

    if isinstance(cluster, SimulatedCluster):
        raws = [RawObject(o, "other-team.yaml") for o in objects]
        cluster.store.update(lambda entries: merge(entries, raws, plan_for))
    elif isinstance(cluster, KubeCluster):
        cluster.kubectl.apply(objects)
    else:  # pragma: no cover - a new backend must say how
        raise AssertionError(f"no way to add foreign objects to {cluster.name}")
