"""``lab.what_if``: the matrices a change would give, predicted by the engine on the
cluster's current objects with the change laid over them (:mod:`labkit.engine.whatif`).
Nothing is applied, so it works the same on every backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from labkit.cluster.backend import read_manifests
from labkit.engine.evaluator import Engine
from labkit.engine.whatif import what_if_inventory
from labkit.lab.rectangular import axes, tables
from labkit.probe.runner import EngineRunner

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster
    from labkit.probe.jobs import ProbeSpec
    from labkit.probe.table import TruthTable

ManifestSource = (
    str | Path | Sequence[str | Path] | Mapping[str, object] | Sequence[Mapping[str, object]]
)


def what_if_tables(
    lab: LabCluster,
    manifests: ManifestSource,
    specs: Sequence[ProbeSpec],
    sources: Sequence[str] | None = None,
    destinations: Sequence[str] | None = None,
) -> list[TruthTable]:
    """The predicted tables after ``manifests`` would be applied to ``lab`` (validated as an
    apply would validate them; nothing changes on the cluster)."""
    inventory = what_if_inventory(
        lab.inventory(), read_manifests(manifests), lab.kubernetes_version
    )
    rows, cols = axes(lab, inventory, sources, destinations)
    return tables(EngineRunner(Engine(inventory)), inventory, specs, rows, cols)
