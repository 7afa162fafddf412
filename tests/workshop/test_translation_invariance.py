"""Mapping names is invisible to the engine: a policy set gives the same verdicts in a
learner's space of a shared workshop cluster (walls of every learner in force) as on its own.

1. Every upstream conformance case (``../shared/conformance/netpol-cases.json``), moved into a
   learner's space (the learner's logical namespaces are the case's namespaces), gives the
   verdicts the case gives through the engine, pair by pair (probe and prediction) and as
   matrices.
2. Random lab policies (hypothesis): a learner's probed and predicted matrices equal a
   single-user simulated lab's, while another learner of the workshop has a deny-all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conformance_data import case_manifests, external_peers, netpol_cases, require_shared
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import policy_of, selectors

from labkit.cluster.simulated import SimulatedCluster, base_objects
from labkit.cluster.topology import LAB_NAMESPACES
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.engine.evaluator import Engine
from labkit.model.inventory import build_inventory
from labkit.model.loader import RawObject
from labkit.model.ports import Protocol
from labkit.probe.jobs import Outcome, ProbeSpec
from labkit.probe.runner import EngineRunner

CASES = netpol_cases()


def _case_learner(provision: Any, home: Path, case: dict[str, Any]) -> LearnerCluster:
    """A workshop of two learners whose logical namespaces are the case's; the case applied
    by learner ``c`` through its logical view (learner ``d`` has the case's
    pods too, without its policies, when the case gives no fixed addresses)."""
    manifests = case_manifests(case)
    raws = [RawObject(obj, f"conformance:{case['id']}") for obj in manifests]
    namespaces = [r for r in raws if r.kind == "Namespace"]
    logical = [r.name for r in namespaces]
    host, ws = provision(home, ["c", "d"], logical=logical, namespaces=namespaces, pods=[])
    learner = LearnerCluster(host, ws, "c")
    learner.kubernetes_version = "1.35"  # cases may write CIDRs with host bits (rule 8)
    learner.apply(manifests)
    if not any(p.get("ip") for p in case["pods"]):  # fixed addresses cannot be shared
        other = LearnerCluster(host, ws, "d")
        other.kubernetes_version = "1.35"
        other.apply([m for m in manifests if m["kind"] != "NetworkPolicy"])
    return learner


def _outcome(allowed: bool | None) -> Outcome:
    if allowed is None:
        return Outcome.NOT_APPLICABLE
    return Outcome.ALLOWED if allowed else Outcome.BLOCKED


def test_cases_are_present() -> None:
    require_shared()
    assert len(CASES) >= 56


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_in_a_learners_space(case: dict[str, Any], tmp_path: Path, provision: Any) -> None:
    require_shared()
    engine = Engine(build_inventory([RawObject(o, case["id"]) for o in case_manifests(case)]))
    learner = _case_learner(provision, tmp_path / "lab", case)
    predicted = learner.engine()
    wrong: list[str] = []
    probes: set[tuple[int, str]] = set()
    for bucket in ("allowed", "denied"):
        for src, dst, port, proto in case["expected"][bucket]:
            probes.add((port, proto))
            want = _outcome(engine.allowed_by_name(src, dst, port, proto))
            probed = learner.probe(src, dst, port, proto).outcome
            guess = _outcome(predicted.allowed_by_name(src, dst, port, proto))
            if probed is not want or guess is not want:
                wrong.append(
                    f"{src} -> {dst} {port}/{proto}: {want}, probed {probed}, predicted {guess}"
                )
    assert not wrong, "\n".join(wrong)
    peers = [f"{p['namespace']}/{p['name']}" for p in case["pods"]] + external_peers(case)
    specs = [ProbeSpec(port, Protocol(proto)) for port, proto in sorted(probes)]
    reference = [t.cells for t in learner._tables(EngineRunner(engine), specs, None, peers)]
    assert [t.cells for t in learner.probe_matrix(specs, peers=peers)] == reference
    assert [t.cells for t in learner.predicted_matrix(specs, peers=peers)] == reference


# -- random lab policies ------------------------------------------------------------------------
LAB_VOCAB = {
    "role": ("frontend", "backend", "database", "critical-app"),
    "app": ("client", "server"),
}
NAME_KEY = "kubernetes.io/metadata.name"
NAMESPACE_NAMES = (*LAB_NAMESPACES, "kube-system", "default")


def _namespace_selectors() -> st.SearchStrategy[dict[str, Any]]:
    by_name = st.sampled_from(NAMESPACE_NAMES).map(lambda n: {"matchLabels": {NAME_KEY: n}})
    expression = st.builds(
        lambda op, values: {
            "matchExpressions": [{"key": NAME_KEY, "operator": op, "values": sorted(values)}]
        },
        st.sampled_from(["In", "NotIn"]),
        st.sets(st.sampled_from(NAMESPACE_NAMES), min_size=1, max_size=3),
    )
    custom = st.sampled_from(LAB_NAMESPACES).map(lambda n: {"matchLabels": {"name": n}})
    return st.one_of(by_name, expression, custom, st.just({}))


POOL_BLOCKS = (
    {"cidr": "192.168.1.0/24"},
    {"cidr": "192.168.2.0/24"},
    {"cidr": "192.168.10.0/24"},
    {"cidr": "192.168.128.0/17"},
    {"cidr": "0.0.0.0/0", "except": ["192.168.1.0/24"]},
)
lab_peer = st.one_of(
    st.builds(lambda s: {"podSelector": s}, selectors(LAB_VOCAB)),
    st.builds(lambda s: {"namespaceSelector": s}, _namespace_selectors()),
    st.builds(
        lambda n, p: {"namespaceSelector": n, "podSelector": p},
        _namespace_selectors(),
        selectors(LAB_VOCAB),
    ),
    st.sampled_from(POOL_BLOCKS).map(lambda b: {"ipBlock": dict(b)}),
)


def lab_policy(index: int) -> st.SearchStrategy[dict[str, Any]]:
    return policy_of(index, LAB_NAMESPACES, selectors(LAB_VOCAB), lab_peer)


lab_policies = st.integers(1, 3).flatmap(lambda n: st.tuples(*(lab_policy(i) for i in range(n))))
LAB_PROBES = (ProbeSpec(80), ProbeSpec(81, Protocol.UDP), ProbeSpec(53, Protocol.UDP))
DENY_ALL = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny-all", "namespace": "my-segment"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory, provision: Any
) -> tuple[LearnerCluster, SimulatedCluster]:
    host, ws = provision(tmp_path_factory.mktemp("lab"), ["alice", "bob"])
    LearnerCluster(host, ws, "bob").apply([DENY_ALL])
    return LearnerCluster(host, ws, "alice"), SimulatedCluster.in_memory(base_objects())


def _matrices(cluster: Any) -> tuple[Any, Any]:
    peers = cluster.peers()
    return (
        [(t.peers, t.cells) for t in cluster.probe_matrix(LAB_PROBES, peers=peers)],
        [(t.peers, t.cells) for t in cluster.predicted_matrix(LAB_PROBES, peers=peers)],
    )


@settings(max_examples=40)
@given(lab_policies)
def test_random_lab_policies_in_a_learners_space(
    shared: tuple[LearnerCluster, SimulatedCluster], policies: tuple[dict[str, Any], ...]
) -> None:
    learner, single = shared
    try:
        learner.apply(list(policies))
        single.apply(list(policies))
        assert _matrices(learner) == _matrices(single)
    finally:
        for policy in policies:
            meta = policy["metadata"]
            learner.delete("NetworkPolicy", meta["name"], meta["namespace"])
            single.delete("NetworkPolicy", meta["name"], meta["namespace"])
