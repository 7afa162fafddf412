"""Matrices over chosen sources (rows) and destinations (columns), probed or predicted.

Sources and destinations are written as :mod:`labkit.engine.peer_names` describes (pods,
``NAMESPACE/*``, ``svc:NAMESPACE/NAME``, a Service's DNS name, ``ip:ADDRESS``); a Service
column is probed through its backends (:mod:`labkit.probe.service_jobs`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from labkit.engine.peer_names import expand
from labkit.probe.jobs import Job, ProbeSpec
from labkit.probe.service_jobs import run_jobs
from labkit.probe.table import TruthTable

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster
    from labkit.model.inventory import Inventory
    from labkit.probe.runner import Runner


def axes(
    lab: LabCluster,
    inventory: Inventory,
    sources: Sequence[str] | None,
    destinations: Sequence[str] | None,
    namespaces: Iterable[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Row and column keys: the ones named, else the lab's default peers."""
    from labkit.cluster.topology import lesson_order

    default = lab.peers(namespaces) if sources is None or destinations is None else []
    rows = (
        default
        if sources is None
        else expand(inventory, sources, destinations=False, order=lesson_order)
    )
    cols = (
        default
        if destinations is None
        else expand(inventory, destinations, destinations=True, order=lesson_order)
    )
    return rows, cols


def tables(
    runner: Runner,
    inventory: Inventory,
    specs: Sequence[ProbeSpec],
    rows: Sequence[str],
    cols: Sequence[str],
) -> list[TruthTable]:
    """One table per probe over ``rows`` x ``cols`` (all jobs run in one batch)."""
    jobs = [Job(s, d, spec) for spec in specs for s in rows for d in cols]
    results = run_jobs(runner, inventory, jobs)
    square = list(rows) == list(cols)
    return [
        TruthTable.from_results(rows, spec, results, None if square else cols) for spec in specs
    ]
