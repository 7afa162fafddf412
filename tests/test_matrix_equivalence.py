"""The class-based matrix equals pairwise evaluation on randomized synthetic clusters.

``compute_matrix`` groups pods into classes and combines rule bitmasks; ``Engine.connectivity``
evaluates one pair at a time straight from the policies. Both must give the same ports for
every ordered pair (pods and ``ip:`` peers) on clusters from the benchmark generator, which
mixes namespace/pod/AND selectors, matchExpressions (NotIn, DoesNotExist), named ports that
resolve differently per pod, endPort ranges, UDP/SCTP, ipBlocks with ``except`` over pod
addresses, default-deny and DNS egress policies. This holds the optimised path to the
straightforward one.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from labkit.engine.evaluator import Engine, SelfTraffic
from labkit.engine.matrix import compute_matrix
from labkit.model.inventory import build_inventory
from labkit.model.loader import RawObject
from labkit.probe.table import ConnectivityTable

ROOT = Path(__file__).resolve().parents[1]

# addresses inside and outside the generated pod CIDR and ipBlocks (203.0.113.0/24 and
# 198.51.100.0/24 are used by the comparison variant; 8.8.8.8 is "the Internet")
EXTERNALS = ["8.8.8.8", "203.0.113.9", "203.0.113.200", "198.51.100.7", "10.245.0.1"]


def _synth() -> ModuleType:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.synth")


def _engine(objects: list[dict[str, Any]], self_traffic: SelfTraffic) -> Engine:
    raws = [RawObject(obj, "synthetic") for obj in objects]
    return Engine(build_inventory(raws), self_traffic=self_traffic)


@pytest.mark.parametrize("self_traffic", ["allow", "evaluate"])
@pytest.mark.parametrize(
    ("seed", "pods", "policies", "pod_ip_blocks"),
    [
        (1, 30, 10, True),
        (2, 30, 10, True),
        (3, 32, 12, False),
        (4, 40, 14, True),
        (5, 28, 9, True),
        (6, 36, 16, False),
        (7, 30, 20, True),
        (8, 45, 25, True),
    ],
)
def test_matrix_equals_pairwise(
    seed: int, pods: int, policies: int, pod_ip_blocks: bool, self_traffic: SelfTraffic
) -> None:
    synth = _synth()
    spec = synth.Spec(pods=pods, policies=policies, seed=seed, pod_ip_blocks=pod_ip_blocks)
    engine = _engine(synth.generate(spec), self_traffic)
    endpoints = engine.endpoints(EXTERNALS)
    matrix = compute_matrix(engine, endpoints)
    wrong = [
        (src.key, dst.key, matrix.cell(i, j), engine.connectivity(src, dst))
        for i, src in enumerate(endpoints)
        for j, dst in enumerate(endpoints)
        if matrix.cell(i, j) != engine.connectivity(src, dst)
    ]
    assert not wrong, wrong[:5]


def test_generated_clusters_exercise_the_engine() -> None:
    """The equivalence above is only worth something if the clusters are not trivial:
    some pairs allowed, some denied, some partially (ports), and more than one class."""
    synth = _synth()
    engine = _engine(synth.generate(synth.Spec(pods=45, policies=25, seed=8)), "allow")
    endpoints = engine.endpoints(EXTERNALS)
    matrix = compute_matrix(engine, endpoints)
    cells = [
        matrix.cell(i, j) for i in range(len(endpoints)) for j in range(len(endpoints)) if i != j
    ]
    texts = {str(c) for c in cells if c is not None}
    assert "All" in texts
    assert "" in texts
    assert any(t not in ("All", "") for t in texts)
    assert len(set(matrix.src_class)) > 3
    assert len(set(matrix.dst_class)) > 3


def test_generator_is_deterministic() -> None:
    synth = _synth()
    spec = synth.Spec(pods=50, policies=12, seed=3)
    assert synth.generate(spec) == synth.generate(spec)
    assert synth.generate(spec) != synth.generate(synth.Spec(pods=50, policies=12, seed=4))


@pytest.mark.parametrize("self_traffic", ["allow", "evaluate"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_json_rows_equal_cells(seed: int, self_traffic: SelfTraffic) -> None:
    """``labkit matrix -o json`` splices rows by offset; each row must still be exactly
    ``json.dumps`` of the cells (``null`` between two ``ip:`` peers)."""
    synth = _synth()
    engine = _engine(synth.generate(synth.Spec(pods=40, policies=15, seed=seed)), self_traffic)
    endpoints = engine.endpoints(EXTERNALS)
    matrix = compute_matrix(engine, endpoints)
    n = len(endpoints)
    expected = [
        json.dumps([None if (c := matrix.cell(i, j)) is None else str(c) for j in range(n)])
        for i in range(n)
    ]
    assert list(ConnectivityTable(matrix).to_json_rows()) == expected
