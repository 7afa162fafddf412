"""A learner's writes: refused batches apply nothing, and every write carries the labels."""

from __future__ import annotations

import pytest

from labkit.cluster.workshop.learner import LearnerCluster
from labkit.errors import LabkitError, ValidationFailed
from labkit.model.objects import MANAGED_LABEL
from labkit.model.workshop import LEARNER_LABEL, LOGICAL_LABEL, WORKSHOP_LABEL

GOOD = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: good, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: database}}
  policyTypes: [Ingress]
"""

BAD = {
    "default": """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: elsewhere, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress]}
""",
    "globalpolicy": """
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: power}
spec: {selector: all(), types: [Ingress]}
""",
    "role-elsewhere": """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: power, namespace: default}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
""",
    "namespace": """
apiVersion: v1
kind: Namespace
metadata: {name: my-own-place}
""",
    "clusterrole": """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: power}
rules: [{apiGroups: [""], resources: [namespaces], verbs: [patch]}]
""",
}
FIELDS = {
    "default": "metadata.namespace",
    "globalpolicy": "kind",
    "role-elsewhere": "kind",  # the backend (labkit apply) writes no RBAC at all
    "namespace": "metadata.name",
    "clusterrole": "kind",
}
OBJECTS = {
    "default": "NetworkPolicy default/elsewhere",
    "globalpolicy": "GlobalNetworkPolicy",
    "role-elsewhere": "Role default/power",
    "namespace": "Namespace my-own-place",
    "clusterrole": "ClusterRole power",
}


def _stored(host):  # type: ignore[no-untyped-def]
    return [e["object"] for e in host.entries()]


@pytest.mark.parametrize("bad", sorted(BAD))
def test_a_batch_with_one_refused_object_applies_nothing(workshop, tmp_path, bad: str) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    alice = LearnerCluster(host, ws, "alice")
    before = _stored(host)
    path = tmp_path / "batch.yaml"
    path.write_text(GOOD + "---" + BAD[bad], encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        alice.apply(path)
    assert _stored(host) == before  # nothing at all was written
    issues = caught.value.issues
    assert len(issues) == 1
    issue = issues[0]
    assert issue.file.startswith(str(path))  # file (and line)
    assert OBJECTS[bad] in issue.object
    assert issue.field == FIELDS[bad]
    assert issue.type == "Forbidden"
    assert "good" not in {p.name for p in alice.policies()}
    assert alice.rbac_objects() == []  # nor into the learner's RBAC sandbox


def test_every_object_written_by_a_learner_carries_the_labels(workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    alice = LearnerCluster(host, ws, "alice")
    alice.apply(GOOD)
    alice.apply(
        """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: trusted}
spec: {selector: {app: client}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: trusted, labels: {env: prod}}
"""
    )
    written = [
        o
        for o in _stored(host)
        if (o["kind"], o["metadata"]["name"]) in {("NetworkPolicy", "good"), ("Service", "web")}
        or o["metadata"].get("name") == "ws1-alice-trusted"
    ]
    assert len(written) == 3
    for obj in written:
        labels = obj["metadata"]["labels"]
        assert labels[WORKSHOP_LABEL] == "ws1"
        assert labels[LEARNER_LABEL] == "alice"
        assert labels[MANAGED_LABEL] == "true"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"].startswith("ws1-alice-")
    namespace = next(o for o in written if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"][LOGICAL_LABEL] == "trusted"
    assert namespace["metadata"]["labels"]["env"] == "prod"
    # the pool the workshop gave stays (a learner cannot change it)
    assert alice.inventory().namespace("trusted").label_map["env"] == "prod"


def test_deletes_and_labels_stay_inside_the_learners_namespaces(workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    alice = LearnerCluster(host, ws, "alice")
    bob = LearnerCluster(host, ws, "bob")
    bob.apply(GOOD)
    with pytest.raises(ValidationFailed) as caught:
        alice.delete("NetworkPolicy", "good", "default")
    assert caught.value.issues[0].field == "metadata.namespace"
    with pytest.raises(ValidationFailed):
        alice.delete("Namespace", "trusted")
    with pytest.raises(ValidationFailed):
        alice.delete("NetworkPolicy", "good", "ws1-bob-my-segment")
    assert alice.delete("NetworkPolicy", "good", "my-segment") is False  # alice has none
    assert [p.name for p in bob.policies()] == ["good"]
    with pytest.raises(LabkitError, match="belong to the workshop"):
        alice.label("Namespace", "trusted", {LEARNER_LABEL: "bob"})
    with pytest.raises(LabkitError, match="belong to the workshop"):
        alice.label("Pod", "client", {"labkit.dev/wall": "true"}, namespace="trusted")
    with pytest.raises(ValidationFailed):
        alice.label("Namespace", "kube-system", {"env": "x"})
    alice.label("Pod", "client", {"env": "x"}, namespace="trusted")
    assert alice.inventory().pod("trusted/client").label_map["env"] == "x"
    assert "env" not in bob.inventory().pod("trusted/client").label_map


def test_reset_removes_only_what_the_learner_added(workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    alice = LearnerCluster(host, ws, "alice")
    bob = LearnerCluster(host, ws, "bob")
    for learner in (alice, bob):
        learner.apply(GOOD)
        learner.label("Namespace", "trusted", {"env": "prod"})
        learner.label("Pod", "frontend", {"extra": "yes"}, namespace="my-segment")
        learner.delete("Pod", "database", "my-segment")
    report = alice.reset()
    assert "Pod my-segment/database applied" in report.lines()
    assert alice.policies() == []
    assert "env" not in alice.inventory().namespace("trusted").label_map
    assert "extra" not in alice.inventory().pod("my-segment/frontend").label_map
    assert len(alice._lab_pods()) == 9
    # bob's lab is untouched
    assert [p.name for p in bob.policies()] == ["good"]
    assert bob.inventory().namespace("trusted").label_map["env"] == "prod"
    assert len(bob._lab_pods()) == 8
    # the workshop's own objects in alice's namespaces survive (quota, roles, progress)
    kinds = {
        o["kind"] for o in _stored(host) if o["metadata"].get("namespace") == "ws1-alice-trusted"
    }
    assert {"ResourceQuota", "LimitRange", "Role", "RoleBinding"} <= kinds


def test_the_backend_refuses_rbac_and_points_lessons_to_the_sandbox(workshop, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``labkit apply`` (the backend) never writes RBAC for a learner, cluster-scoped or not;
    the notebook facade's sandbox is an explicit opt-in (with_rbac_sandbox)."""
    host, ws = workshop(["alice"])
    alice = LearnerCluster(host, ws, "alice")
    with pytest.raises(ValidationFailed) as caught:
        alice.apply(BAD["clusterrole"])
    issue = caught.value.issues[0]
    assert "cluster-scoped" in issue.detail and "RBAC sandbox" in issue.hint
    assert alice.rbac_objects() == []
    report = alice.with_rbac_sandbox().apply(BAD["clusterrole"])
    assert any("private RBAC sandbox" in w for w in report.warnings)
    assert [o.kind for o in alice.rbac_objects()] == ["ClusterRole"]
