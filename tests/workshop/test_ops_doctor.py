"""``labkit workshop doctor`` on a simulated workshop: every check passes after init, and each
fails, saying how to fix it, when what it checks is broken (a wall deleted, the doctor's walls
gone, a learner's RoleBinding gone, CoreDNS gone, a CNI that ignores policy). The canary is the
one of labkit.cluster.canary, run in ID-canary."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeTools, fake_tools, kubectl_host, learners_file, listing, obj

from labkit.cluster import canary
from labkit.cluster.simulated import SimulatedCluster, SimulatedRunner
from labkit.cluster.waits import VirtualClock
from labkit.cluster.workshop import ops
from labkit.cluster.workshop.doctor import ScopedSimulated, right_cases
from labkit.cluster.workshop.host import SimulatedHost
from labkit.model.objects import MANAGED_LABEL
from labkit.model.workshop import WORKSHOP_LABEL

__all__ = ["fake_tools"]  # the fixture

NAMES = [
    "canary in ws1-canary",
    "walls",
    "wall ws1-doctor-a-wall -> ws1-doctor-a-wall:8080",
    "wall ws1-doctor-b-wall -> ws1-doctor-a-wall:8080",
    "wall ws1-doctor-a-wall -> ws1-doctor-b-wall:8080",
    "can-i alice: what a learner needs",
    "can-i alice: what a learner must not do",
    "pool room",
    "DNS",
]


@pytest.fixture
def host(lab_home: Path, tmp_path: Path) -> SimulatedHost:
    path = learners_file(tmp_path, ["alice", "bob", "carol"])
    ops.init_workshop(
        ops.InitOptions("ws1", path, simulated=True, home=lab_home, hook_file=tmp_path / "h.py")
    )
    return SimulatedHost.open("ws1", lab_home)


def doctor(home: Path) -> dict[str, tuple[bool, str, str]]:
    report = ops.doctor_workshop("ws1", home=home)
    return {c.name: (c.ok, c.detail, c.fix) for c in report.checks}


def test_the_doctor_passes_on_a_fresh_workshop(host: SimulatedHost, lab_home: Path) -> None:
    report = ops.doctor_workshop("ws1", home=lab_home)
    assert [c.name for c in report.checks] == NAMES
    assert report.ok, "\n".join(c.line() for c in report.checks)
    assert report.as_dict()["ok"] is True
    stored = {(o.kind, o.metadata.get("namespace", ""), o.name) for o in host.raw_objects()}
    assert ("Namespace", "", "ws1-canary") in stored  # the workshop's canary namespace stays
    assert not [k for k in stored if k[1] == "ws1-canary"]  # ... without the canary's pods
    assert not [k for k in stored if "labkit-canary" in k]  # never the single-user canary


def test_a_deleted_wall_fails_naming_the_learner(host: SimulatedHost, lab_home: Path) -> None:
    assert host.delete("GlobalNetworkPolicy", "", "labkit-ws1-bob")
    found = doctor(lab_home)
    ok, detail, fix = found["walls"]
    assert not ok and "1 of 5 walls are missing" in detail and "bob" in detail
    assert "workshop init" in fix
    assert not ops.doctor_workshop("ws1", home=lab_home).ok


def test_without_the_doctors_walls_the_wall_probes_fail(
    host: SimulatedHost, lab_home: Path
) -> None:
    for learner in ("doctor-a", "doctor-b"):
        assert host.delete("GlobalNetworkPolicy", "", f"labkit-ws1-{learner}")
    found = doctor(lab_home)
    assert found["wall ws1-doctor-a-wall -> ws1-doctor-a-wall:8080"][0]  # own traffic: open
    for name in NAMES[3:5]:
        ok, detail, fix = found[name]
        assert not ok and "expected blocked, got allowed" in detail and "walls" in fix


def test_a_missing_rolebinding_fails_can_i(host: SimulatedHost, lab_home: Path) -> None:
    assert host.delete("RoleBinding", "ws1-alice-my-segment", "labkit-learner")
    ok, detail, _ = doctor(lab_home)["can-i alice: what a learner needs"]
    assert not ok and "kubectl auth can-i create networkpolicies -n ws1-alice-my-segment" in detail
    assert "--as system:serviceaccount:jhub:labkit-alice" in detail
    assert doctor(lab_home)["can-i alice: what a learner must not do"][0]


def test_the_rights_asked_cover_needs_and_limits(host: SimulatedHost, lab_home: Path) -> None:
    workshop = ops.open_workshop("ws1", home=lab_home).workshop
    cases = right_cases(workshop, "alice")
    assert {c.expected for c in cases} == {True, False}
    assert any(c.subresource == "exec" and c.expected for c in cases)
    assert any(c.namespace == "ws1-bob-my-segment" and not c.expected for c in cases)


def test_no_coredns_fails_dns(host: SimulatedHost, lab_home: Path) -> None:
    for pod in [p for p in host.cluster.inventory().pods if p.namespace == "kube-system"]:
        host.delete("Pod", "kube-system", pod.name)
    ok, detail, _ = doctor(lab_home)["DNS"]
    assert not ok and "no CoreDNS pods" in detail


def test_a_cni_that_ignores_policy_fails_the_canary(
    host: SimulatedHost, lab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ScopedSimulated, "runner", lambda self: SimulatedRunner(self.inventory(), enforce=False)
    )
    ok, detail, fix = doctor(lab_home)["canary in ws1-canary"]
    assert not ok and detail.startswith("NOT enforced") and "enforces NetworkPolicy" in fix


# -- the canary, parametrised by namespace ---------------------------------------------------------
def test_the_canary_runs_in_any_namespace_with_extra_labels() -> None:
    labels = {WORKSHOP_LABEL: "ws9", MANAGED_LABEL: "true"}
    objects = [*canary.canary_objects("img", namespace="ws9-canary", labels=labels)]
    objects.append(canary.deny_policy("ws9-canary", labels))
    assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in objects} == {
        "ws9-canary"
    }
    assert all(o["metadata"]["labels"][WORKSHOP_LABEL] == "ws9" for o in objects)
    pods = [o for o in objects if o["kind"] == "Pod"]
    assert sorted(p["metadata"]["labels"]["app"] for p in pods) == [
        "canary-client",
        "canary-control",
        "canary-server",
    ]
    cluster = SimulatedCluster.in_memory()
    clock = VirtualClock()
    result = canary.run_canary(
        cluster, "img", clock=clock, sleep=clock.sleep, namespace="ws9-canary", labels=labels
    )
    assert result.enforced
    names = {n.name for n in cluster.namespaces()}
    assert "ws9-canary" not in names and canary.CANARY_NAMESPACE not in names


def test_keep_namespace_deletes_only_the_canarys_pods() -> None:
    cluster = SimulatedCluster.in_memory()
    clock = VirtualClock()
    result = canary.run_canary(
        cluster, "img", clock=clock, sleep=clock.sleep, namespace="ws9-canary", keep_namespace=True
    )
    assert result.enforced
    assert "ws9-canary" in {n.name for n in cluster.namespaces()}
    assert cluster.pods("ws9-canary") == [] and cluster.policies("ws9-canary") == []


# -- a real cluster: can-i and DNS through the fake kubectl -------------------------------------
def test_can_i_and_dns_ask_kubectl_as_the_learners_service_account(fake_tools: FakeTools) -> None:
    from labkit.cluster.workshop.doctor import check_can_i, check_dns
    from labkit.model.workshop import Learner, Workshop

    workshop = Workshop("ws1", (Learner("alice"), Learner("bob")), ("my-segment", "trusted"))
    fake_tools.add("kubectl", match=["auth", "can-i", "secrets"], stdout="yes\n")  # too much
    fake_tools.add("kubectl", match=["auth", "can-i"], stdout="no\n", exit=1)
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    fake_tools.add(
        "kubectl",
        match=["get", "pods", "kube-system", "k8s-app=kube-dns"],
        stdout=listing([{**obj("Pod", "coredns-1", {}, "kube-system"), **ready}]),
    )
    host = kubectl_host(fake_tools)
    needs, limits = check_can_i(host, workshop)
    assert not needs.ok and "10 of 10 answers are wrong" in needs.detail
    assert (
        not limits.ok and "kubectl auth can-i list secrets -n ws1-alice-my-segment" in limits.detail
    )
    asked = [c.argv for c in fake_tools.calls("kubectl") if "can-i" in c.argv]
    assert len(asked) == len(right_cases(workshop, "alice"))
    assert all(a[a.index("--as") + 1] == "system:serviceaccount:jhub:labkit-alice" for a in asked)
    assert any("ws1-bob-my-segment" in a for a in asked)
    dns = check_dns(host)
    assert dns.ok and dns.detail == "1/1 CoreDNS pods ready in kube-system"
