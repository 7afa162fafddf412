"""The simulated cluster answers like the engine on every upstream conformance case.

Each case's manifests are applied to a new, empty simulated cluster (its own lab folder), and
every asserted tuple is probed through the cluster's runner: the outcome must be the one the
source asserts, and the engine's answer on the same inventory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conformance_data import case_manifests, netpol_cases, require_shared

from labkit.cluster.simulated import SimulatedCluster
from labkit.probe.jobs import Job, Outcome, ProbeSpec
from labkit.probe.runner import EngineRunner

CASES = netpol_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_simulated_cluster_matches_the_case(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_shared()
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    cluster = SimulatedCluster.up(tmp_path, topology=False)
    cluster.apply(case_manifests(case))
    jobs, wanted = [], []
    for bucket, want in (("allowed", Outcome.ALLOWED), ("denied", Outcome.BLOCKED)):
        for src, dst, port, proto in case["expected"][bucket]:
            jobs.append(Job(src, dst, ProbeSpec(port, proto)))
            wanted.append(want)
    assert jobs
    observed = cluster.runner().run(jobs)
    predicted = EngineRunner(cluster.engine()).run(jobs)
    wrong = [
        f"{j.src} -> {j.dst} {j.probe}: case says {w.value}, simulated {o.outcome.value}, "
        f"engine {p.outcome.value}"
        for j, w, o, p in zip(jobs, wanted, observed, predicted, strict=True)
        if o.outcome is not w or p.outcome is not w
    ]
    assert not wrong, "\n".join(wrong[:20])
    first = jobs[0]
    single = cluster.probe(first.src, first.dst, first.probe.port, first.probe.protocol)
    assert single.outcome is wanted[0]
