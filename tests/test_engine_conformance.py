"""The engine against every upstream conformance case (``../shared/conformance``).

Both evaluation paths are checked on every asserted tuple: the per-pair evaluator and the
class-based full matrix.
"""

from __future__ import annotations

from typing import Any

import pytest
from conformance_data import case_manifests, external_peers, netpol_cases, require_shared

from labkit.engine.evaluator import Engine
from labkit.engine.matrix import compute_matrix
from labkit.model.inventory import build_inventory
from labkit.model.loader import RawObject
from labkit.model.ports import Protocol

CASES = netpol_cases()


def _engine(case: dict[str, Any]) -> Engine:
    raws = [RawObject(obj, f"conformance:{case['id']}") for obj in case_manifests(case)]
    return Engine(build_inventory(raws))


def test_conformance_cases_are_present() -> None:
    require_shared()
    assert len(CASES) >= 56


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    require_shared()
    engine = _engine(case)
    matrix = compute_matrix(engine, engine.endpoints(external_peers(case)))
    wrong = []
    checked = 0
    for bucket, want in (("allowed", True), ("denied", False)):
        for src, dst, port, proto in case["expected"][bucket]:
            checked += 1
            single = engine.allowed_by_name(src, dst, port, proto)
            full = matrix.get(src, dst)
            in_matrix = None if full is None else full.contains(port, Protocol(proto))
            if single is not want or in_matrix is not want:
                wrong.append(
                    f"{src} -> {dst} {port}/{proto}: expected {want}, "
                    f"evaluator {single}, matrix {in_matrix}"
                )
    assert checked > 0
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matrix_equals_pairwise_evaluation(case: dict[str, Any]) -> None:
    """The class-based matrix and the per-pair evaluator agree on every ordered pair."""
    require_shared()
    for self_traffic in ("allow", "evaluate"):
        raws = [RawObject(obj, case["id"]) for obj in case_manifests(case)]
        engine = Engine(build_inventory(raws), self_traffic=self_traffic)  # type: ignore[arg-type]
        endpoints = engine.endpoints(external_peers(case))
        matrix = compute_matrix(engine, endpoints)
        for i, src in enumerate(endpoints):
            for j, dst in enumerate(endpoints):
                assert matrix.cell(i, j) == engine.connectivity(src, dst), (src.key, dst.key)
