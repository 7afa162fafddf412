"""Helpers of the contract suite: waiting for a real CNI to program a change."""

from __future__ import annotations

import time

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
