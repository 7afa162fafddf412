"""The simulated cluster behaves like an API server where learners can tell."""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from labkit.cluster.simulated import SimulatedCluster
from labkit.cluster.topology import LAB_PODS, lab_address_plan
from labkit.errors import ClusterError, LabkitError, ValidationFailed
from labkit.probe.jobs import Outcome


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimulatedCluster:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    return SimulatedCluster.up(tmp_path)


def pod(
    name: str, namespace: str = "my-segment", labels: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
        "spec": {
            "containers": [
                {"name": "c", "image": "agnhost", "ports": [{"name": "http", "containerPort": 80}]}
            ]
        },
    }
    obj.update(extra)
    return obj


def test_state_is_a_file_shared_by_every_instance(sim: SimulatedCluster, tmp_path: Path) -> None:
    sim.apply(pod("extra"))
    other = SimulatedCluster(tmp_path)
    assert "my-segment/extra" in {p.key for p in other.pods()}
    data = json.loads((tmp_path / "simulated.json").read_text())
    assert data["format"] == 2
    stored = [e["object"] for e in data["objects"] if e["object"]["kind"] == "Pod"]
    assert all(o["status"]["podIP"] for o in stored), "the cluster records pod addresses"


def test_addresses_are_stable_when_pods_are_added(sim: SimulatedCluster) -> None:
    before = {p.key: p.ip for p in sim.pods()}
    sim.apply([pod(f"extra-{i}") for i in range(40)])
    after = {p.key: p.ip for p in sim.pods()}
    assert {k: after[k] for k in before} == before
    assert len(set(after.values())) == len(after)
    for key, ip in after.items():
        assert ip in lab_address_plan().pool_for(key.split("/")[0])


def test_a_pod_keeps_its_address_when_its_labels_change(sim: SimulatedCluster) -> None:
    sim.apply(pod("web"))
    first = {p.key: p.ip for p in sim.pods()}["my-segment/web"]
    sim.apply(pod("web", labels={"app": "web", "tier": "front"}))
    again = {p.key: p for p in sim.pods()}["my-segment/web"]
    assert again.ip == first and again.label_map["tier"] == "front"


@pytest.mark.parametrize("how", ["status", "annotation"])
def test_requested_addresses_are_honoured_and_unique(sim: SimulatedCluster, how: str) -> None:
    extra = {"status": {"podIP": "192.168.1.77"}} if how == "status" else {}
    obj = pod("pinned", "branch-office", **extra)
    if how == "annotation":
        obj["metadata"]["annotations"] = {"cni.projectcalico.org/ipAddrs": '["192.168.1.77"]'}
    sim.apply(obj)
    assert {p.key: p.ip for p in sim.pods()}["branch-office/pinned"] == ip_address("192.168.1.77")
    with pytest.raises(ClusterError, match="already used by Pod branch-office/pinned"):
        sim.apply(pod("twin", "branch-office", status={"podIP": "192.168.1.77"}))
    assert "branch-office/twin" not in {p.key for p in sim.pods()}


def test_pod_spec_is_immutable(sim: SimulatedCluster) -> None:
    sim.apply(pod("web"))
    changed = pod("web")
    changed["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080
    with pytest.raises(ClusterError, match="Forbidden: pod updates may not change"):
        sim.apply(changed)
    image_only = pod("web")
    image_only["spec"]["containers"][0]["image"] = "agnhost:2"
    assert sim.apply(image_only).applied == ("Pod my-segment/web",)


def test_objects_need_their_namespace(sim: SimulatedCluster) -> None:
    with pytest.raises(ClusterError, match='namespaces "shop" not found'):
        sim.apply(pod("web", "shop"))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    report = sim.apply([pod("web", "shop"), namespace])
    assert set(report.applied) == {"Pod shop/web", "Namespace shop"}


def test_batch_with_a_rejected_object_changes_nothing(sim: SimulatedCluster) -> None:
    before = sim.object_keys()
    with pytest.raises(ClusterError):
        sim.apply([pod("fine"), pod("lost", "no-such-namespace")])
    assert sim.object_keys() == before


def test_deleting_a_namespace_deletes_its_objects(sim: SimulatedCluster) -> None:
    assert sim.delete("Namespace", "trusted") is True
    assert not [p for p in sim.pods() if p.namespace == "trusted"]
    assert "trusted" not in {n.name for n in sim.namespaces()}
    assert sim.delete("namespace", "trusted") is False


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public", "kube-node-lease"])
def test_system_namespaces_cannot_be_deleted(sim: SimulatedCluster, name: str) -> None:
    with pytest.raises(ClusterError, match="may not be deleted"):
        sim.delete("Namespace", name)


def test_the_namespace_name_label_cannot_be_removed(sim: SimulatedCluster) -> None:
    sim.label("Namespace", "trusted", {"kubernetes.io/metadata.name": None, "team": "a"})
    labels = {n.name: n.label_map for n in sim.namespaces()}["trusted"]
    assert labels["kubernetes.io/metadata.name"] == "trusted" and labels["team"] == "a"


def test_labelling_a_missing_object_says_so(sim: SimulatedCluster) -> None:
    with pytest.raises(ClusterError, match='pods "ghost" in namespace "trusted" not found'):
        sim.label("Pod", "ghost", {"a": "b"}, "trusted")
    with pytest.raises(LabkitError, match="labels Namespaces and Pods"):
        sim.label("NetworkPolicy", "x", {"a": "b"}, "trusted")


def test_workload_pods_say_where_their_labels_come_from(sim: SimulatedCluster) -> None:
    sim.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "my-segment"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        }
    )
    assert {"my-segment/web-0", "my-segment/web-1"} <= {p.key for p in sim.pods()}
    with pytest.raises(ClusterError, match="belongs to Deployment/web"):
        sim.label("Pod", "web-0", {"a": "b"}, "my-segment")


def test_kinds_labkit_does_not_model_are_stored_but_not_shown(sim: SimulatedCluster) -> None:
    sim.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "my-segment"},
            "data": {"a": "b"},
        }
    )
    assert ("ConfigMap", "my-segment", "cfg") in sim.object_keys()
    assert sim.inventory().warnings == ()


def test_probes_from_a_missing_pod_fail(sim: SimulatedCluster) -> None:
    result = sim.probe("trusted/ghost", "my-segment/frontend")
    assert result.outcome is Outcome.FAILED and "source trusted/ghost" in result.detail
    result = sim.probe("trusted/client", "ip:192.0.2.1")
    assert result.outcome is Outcome.ALLOWED


def test_status_runs_the_canary_on_a_copy(sim: SimulatedCluster) -> None:
    before = sim.object_keys()
    status = sim.status()
    assert status.ready and status.backend == "simulated"
    assert status.canary.startswith("enforced")
    assert status.nodes == ("simulated (no nodes)",)
    assert "Calico" in status.cni
    assert status.topology == "9/9 lab pods, 0 NetworkPolicies"
    assert sim.object_keys() == before


def test_status_reports_a_damaged_topology(sim: SimulatedCluster) -> None:
    sim.delete("Pod", "frontend", "my-segment")
    assert "missing my-segment/frontend" in sim.status().topology


def test_reset_and_empty_and_down(sim: SimulatedCluster, tmp_path: Path) -> None:
    sim.apply(pod("extra"))
    sim.reset()
    assert {p.key for p in sim.pods() if not p.namespace.startswith("kube")} == set(LAB_PODS)
    sim.reset(topology=False)
    assert sim.pods() == []
    assert {n.name for n in sim.namespaces()} == {
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
    }
    assert sim.down() is True
    assert not (tmp_path / "simulated.json").exists()
    with pytest.raises(ClusterError, match="labkit up"):
        sim.pods()


def test_up_keeps_an_existing_cluster(tmp_path: Path) -> None:
    first = SimulatedCluster.up(tmp_path)
    first.apply(pod("kept"))
    again = SimulatedCluster.up(tmp_path)
    assert "my-segment/kept" in {p.key for p in again.pods()}
    fresh = SimulatedCluster.up(tmp_path, fresh=True)
    assert "my-segment/kept" not in {p.key for p in fresh.pods()}


def test_a_damaged_state_file_says_how_to_recover(tmp_path: Path) -> None:
    (tmp_path / "simulated.json").write_text("{not json")
    cluster = SimulatedCluster(tmp_path)
    with pytest.raises(ClusterError, match=r"damaged.*labkit reset"):
        cluster.pods()
    cluster.reset()
    assert len(cluster.peers()) == len(LAB_PODS)


def test_validation_happens_before_anything_is_stored(sim: SimulatedCluster) -> None:
    bad = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "bad", "namespace": "my-segment"},
        "spec": {"podSelector": {}, "ingress": [{"ports": [{"protocol": "ICMP"}]}]},
    }
    before = sim.object_keys()
    with pytest.raises(ValidationFailed):
        sim.apply([pod("fine"), bad])
    assert sim.object_keys() == before
