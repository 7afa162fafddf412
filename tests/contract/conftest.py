"""The backends every contract test runs on: simulated always, kind with LABKIT_LIVE=1.

A live kind cluster is started once per session (``labkit up --backend kind``) and reset to the
topology around each test; the simulated cluster is a new one in a temporary lab folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.cluster.backend import LabCluster

BACKENDS = ["simulated", pytest.param("kind", marks=pytest.mark.live)]


@pytest.fixture(scope="session")
def kind_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCluster]:
    from labkit.cluster import lifecycle

    cluster = lifecycle.up("kind")
    assert not isinstance(cluster, str)
    yield cluster
    cluster.reset()


@pytest.fixture(params=BACKENDS)
def lab(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LabCluster]:
    if request.param == "simulated":
        from labkit.cluster.simulated import SimulatedCluster

        monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
        yield SimulatedCluster.up(tmp_path)
        return

    cluster: LabCluster = request.getfixturevalue("kind_lab")
    cluster.reset()
    yield cluster
    cluster.reset()
