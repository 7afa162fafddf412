"""A workshop learner's RBAC: kept in the learner's private sandbox, never on the shared
cluster, and what ``lab.can_i`` / ``labkit auth can-i`` answer from (lesson 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

import labkit.lab as lab
from labkit.cli.main import main
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.errors import ValidationFailed
from labkit.model.rbac import RBAC_KINDS

ROOT = Path(__file__).resolve().parents[2]
TEAM_RBAC = ROOT / "clusters" / "rbac" / "team-policy-editor.yaml"
POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: lock, namespace: my-segment}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""
TEAM = {"as_user": "alice", "as_groups": ["segment-team"]}


def _kinds(host) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["object"]["kind"] for e in host.entries()]


def test_rbac_goes_to_the_sandbox_and_the_rest_to_the_cluster(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    lab.up()
    rbac_before = sum(1 for k in _kinds(host) if k in RBAC_KINDS)
    done = lab.apply([TEAM_RBAC, _write(host.home, POLICY)])
    text = str(done)
    # the shared cluster got the policy and no RBAC object at all
    assert sum(1 for k in _kinds(host) if k in RBAC_KINDS) == rbac_before
    alice = LearnerCluster(host, ws, "alice").with_rbac_sandbox()
    assert "lock" in {p.name for p in alice.policies()}
    # the sandbox holds the four, in logical names, and the report says so in one line
    kept = alice.rbac_objects()
    assert sorted(o.kind for o in kept) == sorted(
        ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    )
    assert {o.namespace for o in kept if o.kind == "Role"} == {"my-segment"}
    notes = [line for line in text.splitlines() if "private RBAC sandbox" in line]
    assert len(notes) == 1 and "workshop: 4 RBAC objects kept" in notes[0]
    assert "Role my-segment/policy-editor applied" in text

    own = lab.can_i("create", "networkpolicies", namespace="my-segment", **TEAM)
    assert own.allowed and own.role == "Role my-segment/policy-editor"
    assert "private RBAC sandbox" in str(own)
    assert not lab.can_i("delete", "networkpolicies", namespace="trusted", **TEAM).allowed
    assert not lab.can_i("patch", "namespaces", **TEAM).allowed
    assert lab.can_i("list", "namespaces", **TEAM).allowed

    # bob's sandbox is his own: alice's roles grant nothing there
    learner_env("ws1", "bob")
    assert not lab.can_i("create", "networkpolicies", namespace="my-segment", **TEAM).allowed


def test_a_refused_object_keeps_the_whole_batch_out(workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    alice = LearnerCluster(host, ws, "alice").with_rbac_sandbox()
    before = [e["object"] for e in host.entries()]
    bad = POLICY.replace("namespace: my-segment", "namespace: default")
    with pytest.raises(ValidationFailed):
        alice.apply(TEAM_RBAC.read_text(encoding="utf-8") + "\n---\n" + bad)
    assert alice.rbac_objects() == []
    assert [e["object"] for e in host.entries()] == before
    role_elsewhere = """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sneaky, namespace: ws1-bob-my-segment}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: admin, apiGroup: rbac.authorization.k8s.io}
"""
    with pytest.raises(ValidationFailed) as caught:
        alice.apply(POLICY + "---" + role_elsewhere)
    assert caught.value.issues[0].field == "metadata.namespace"
    assert alice.rbac_objects() == [] and "lock" not in {p.name for p in alice.policies()}


def test_reset_and_delete_empty_the_sandbox(workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    alice = LearnerCluster(host, ws, "alice").with_rbac_sandbox()
    report = alice.apply(TEAM_RBAC)
    assert report.applied and not report.unchanged
    again = alice.apply(TEAM_RBAC)
    assert len(again.unchanged) == 4 and not again.applied
    assert alice.delete("ClusterRole", "namespace-viewer")
    assert not alice.delete("ClusterRole", "namespace-viewer")
    assert len(alice.rbac_objects()) == 3
    alice.reset()
    assert alice.rbac_objects() == []


def test_the_cli_says_where_the_answer_comes_from(workshop, learner_env, capsys) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    LearnerCluster(host, ws, "alice").with_rbac_sandbox().apply(TEAM_RBAC)
    learner_env("ws1", "alice")
    args = ["auth", "can-i", "patch", "networkpolicies", "-n", "my-segment"]
    code = main([*args, "--as", "alice", "--as-group", "segment-team"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("yes")
    assert "decided by: labkit's RBAC evaluation of your private RBAC sandbox" in out
    code = main(["auth", "can-i", "patch", "namespaces", "--as", "alice", "--as-group", "x"])
    assert code == 1 and capsys.readouterr().out.startswith("no")


def _write(folder: Path, text: str) -> Path:
    path = folder / "lock.yaml"
    path.write_text(text, encoding="utf-8")
    return path
