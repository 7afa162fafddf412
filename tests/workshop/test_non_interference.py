"""Learners of one workshop do not interfere: nothing one applies changes another's probes or
predictions, each learner sees what a single-user lab with the same policies shows, and the
wall blocks traffic between learners (``explain`` says so)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from labkit.cluster.simulated import SimulatedCluster, base_objects
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.engine.evaluator import Engine
from labkit.engine.explain import explain_by_name
from labkit.probe.jobs import Job, Outcome, ProbeSpec

PROBES = (ProbeSpec(80), ProbeSpec(53, "UDP"))  # type: ignore[arg-type]
POLICIES = {
    "alice": """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: my-segment}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
""",
    "bob": """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-from-trusted, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: frontend}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: trusted}}
    - ipBlock: {cidr: 192.168.1.0/24}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: untrusted-egress-dns-only, namespace: untrusted}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
    ports: [{port: 53, protocol: UDP}]
""",
    "carol": """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: named-tutorial-mistake, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: database}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {name: trusted}}}]
""",
}


def views(cluster):  # type: ignore[no-untyped-def]
    peers = cluster.peers()
    return (
        [(t.peers, t.cells) for t in cluster.probe_matrix(PROBES, peers=peers)],
        [(t.peers, t.cells) for t in cluster.predicted_matrix(PROBES, peers=peers)],
    )


def single_user(policy: str | None):  # type: ignore[no-untyped-def]
    lab = SimulatedCluster.in_memory(base_objects())
    if policy:
        lab.apply(policy)
    return views(lab)


def test_learners_do_not_interfere(workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob", "carol"])
    learners = {n: LearnerCluster(host, ws, n) for n in POLICIES}
    before = {n: views(c) for n, c in learners.items()}
    fresh = single_user(None)
    assert all(v == fresh for v in before.values())
    applied: set[str] = set()
    for name, policy in POLICIES.items():
        learners[name].apply(policy)
        applied.add(name)
        for other, cluster in learners.items():
            now = views(cluster)
            if other in applied:
                assert now == single_user(POLICIES[other]), other
            else:
                assert now == before[other], f"{name}'s policies changed {other}'s view"
    # the policies did change something: the test can tell learners apart
    assert views(learners["alice"]) != views(learners["carol"])


def test_a_cross_learner_probe_is_blocked_by_the_wall(workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob", "carol"])
    src, dst = "ws1-alice-trusted/client", "ws1-bob-my-segment/frontend"
    jobs = [
        Job(src, dst, ProbeSpec(80)),
        Job(dst, src, ProbeSpec(80)),
        Job(src, "ws1-alice-my-segment/frontend", ProbeSpec(80)),
        Job(src, "kube-system/coredns-0", ProbeSpec(53, "UDP")),  # type: ignore[arg-type]
    ]
    outcomes = [r.outcome for r in host.runner().run(jobs)]
    assert outcomes == [Outcome.BLOCKED, Outcome.BLOCKED, Outcome.ALLOWED, Outcome.ALLOWED]
    # even when bob's own policies allow everything in
    LearnerCluster(host, ws, "bob").apply(
        """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: my-segment}
spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{}]}
"""
    )
    assert host.runner().run(jobs[:1])[0].outcome is Outcome.BLOCKED
    why = str(explain_by_name(Engine(host.cluster.inventory()), src, dst, 80, "TCP"))
    assert "workshop wall" in why
    assert ": DENIED" in why.splitlines()[0]


def test_learner_probes_of_another_learners_pods_fail_or_stay_inside(workshop) -> None:  # type: ignore[no-untyped-def]
    """A learner's peers are logical: `my-segment/frontend` is always its own pod; a real
    name of another learner is no peer of its lab and is blocked by the wall."""
    host, ws = workshop(["alice", "bob"])
    alice = LearnerCluster(host, ws, "alice")
    result = alice.probe("trusted/client", "ws1-bob-my-segment/frontend")
    assert result.outcome in (Outcome.BLOCKED, Outcome.FAILED)
    assert alice.probe("trusted/client", "my-segment/frontend").outcome is Outcome.ALLOWED


@pytest.fixture(scope="module")
def big_workshop(tmp_path_factory: pytest.TempPathFactory, provision):  # type: ignore[no-untyped-def]
    names = [f"l{i:03d}" for i in range(200)]
    home: Path = tmp_path_factory.mktemp("lab")
    started = time.monotonic()
    host, ws = provision(home, names)
    return host, ws, names, time.monotonic() - started


@pytest.mark.slow
def test_200_learners_do_not_interfere(big_workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws, names, took = big_workshop
    assert took < 30, f"provisioning 200 learners took {took:.1f} s"
    inventory = host.cluster.inventory()
    assert len(inventory.walls) == 200
    first, middle, last = (LearnerCluster(host, ws, n) for n in (names[0], names[100], names[-1]))
    fresh = single_user(None)
    first.apply(POLICIES["alice"])
    middle.apply(POLICIES["bob"])
    assert views(first) == single_user(POLICIES["alice"])
    assert views(middle) == single_user(POLICIES["bob"])
    assert views(last) == fresh
    space_a, space_b = ws.space(names[0]), ws.space(names[-1])
    jobs = [
        Job(space_a.real("trusted") + "/client", space_b.real("my-segment") + "/frontend", p)
        for p in PROBES
    ]
    assert {r.outcome for r in host.runner().run(jobs)} == {Outcome.BLOCKED}
