"""The notebook facade as a learner of a simulated workshop: logical names only."""

from __future__ import annotations

import re

import pytest

import labkit.lab as lab
from labkit.cluster import lifecycle
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.cluster.workshop.session import find_learner
from labkit.errors import ClusterError

DENY_ALL = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: my-segment}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-trusted, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: frontend}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: trusted}}
"""
REAL = re.compile(r"ws1-(alice|bob)-")


def _no_real_names(text: str) -> None:
    assert not REAL.search(text), text


def test_find_learner(workshop, learner_env, lab_home) -> None:  # type: ignore[no-untyped-def]
    assert find_learner({}, home=lab_home) is None
    workshop(["alice", "bob"])
    found = find_learner({"LABKIT_WORKSHOP": "ws1", "LABKIT_LEARNER": "bob"}, home=lab_home)
    assert isinstance(found, LearnerCluster)
    assert found.learner == "bob" and found.workshop.id == "ws1"
    with pytest.raises(ClusterError, match="LABKIT_LEARNER=mallory"):
        find_learner({"LABKIT_WORKSHOP": "ws1", "LABKIT_LEARNER": "mallory"}, home=lab_home)
    with pytest.raises(ClusterError, match="workshop init --id ws9"):
        find_learner({"LABKIT_WORKSHOP": "ws9", "LABKIT_LEARNER": "bob"}, home=lab_home)
    with pytest.raises(ClusterError, match="LABKIT_LEARNER is not"):
        find_learner({"LABKIT_WORKSHOP": "ws1"}, home=lab_home)


def test_the_facade_as_a_learner_shows_logical_names(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    session = lab.up()
    assert isinstance(lab.cluster(), LearnerCluster)
    status = lab.status()
    assert status.backend == "workshop"
    assert status.ready
    assert ("workshop", "workshop ws1, learner alice") in status.details

    done = lab.apply(DENY_ALL)
    text = str(done)
    assert "NetworkPolicy my-segment/deny-all" in text
    _no_real_names(text)

    matrix = lab.probe_matrix()
    table = matrix.tables[0]
    assert table.peers[0] == "my-segment/frontend"
    assert all(not REAL.search(p) for p in table.peers)
    cells = dict(zip(table.peers, table.cells[table.peers.index("trusted/client")], strict=True))
    assert cells["my-segment/frontend"].value == "allowed"
    assert cells["my-segment/database"].value == "blocked"
    for row in table.details:
        for detail in row:
            _no_real_names(detail)
    predicted = lab.predicted_matrix().tables[0]
    assert predicted.cells == table.cells

    why = lab.explain("untrusted/client", "my-segment/frontend")
    _no_real_names(str(why))
    assert "from-trusted" in str(why)
    assert "untrusted/client" in str(why)

    audit = lab.audit()
    _no_real_names(str(audit))
    described = lab.describe("NetworkPolicy", "from-trusted", "my-segment")
    assert "from-trusted" in str(described)
    _no_real_names(str(described))
    _no_real_names(str(session.status.lines()))

    # bob sees none of it
    bob = find_learner({"LABKIT_WORKSHOP": "ws1", "LABKIT_LEARNER": "bob"})
    assert bob is not None and bob.policies() == []


def test_learners_cannot_stop_the_workshop(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    workshop(["alice"])
    learner_env("ws1", "alice")
    with pytest.raises(ClusterError, match="workshop teardown"):
        lifecycle.down()
    assert lifecycle.connect().learner == "alice"  # type: ignore[attr-defined]


def test_up_says_to_reset_when_lab_pods_are_missing(workshop, learner_env, caplog) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice"])
    LearnerCluster(host, ws, "alice").delete("Pod", "database", "my-segment")
    learner_env("ws1", "alice")
    cluster = lifecycle.up()
    assert isinstance(cluster, LearnerCluster)
    assert "lab.reset()" in caplog.text
    assert not lifecycle.status().ready
    lab.reset()
    assert lifecycle.status().ready
