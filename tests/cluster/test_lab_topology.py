"""The fixed lab topology and its address plan."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from labkit.cluster import topology
from labkit.cluster.address_plan import check_namespace_annotations, load_address_plan
from labkit.cluster.topology import (
    AGNHOST_IMAGE,
    LAB_NAMESPACES,
    LAB_PODS,
    PACKAGED_TOPOLOGY,
    in_the_lab,
    kube_system_manifests,
    lab_address_plan,
    lesson_order,
    summarise,
    topology_manifests,
)
from labkit.errors import ClusterError
from labkit.model.inventory import build_inventory, check_objects
from labkit.model.ippools import LAB_POD_CIDR, lab_pools
from labkit.model.loader import load_text
from labkit.model.objects import MANAGED_LABEL

ROOT = Path(__file__).resolve().parents[2]


def test_packaged_topology_equals_the_clusters_copy() -> None:
    assert PACKAGED_TOPOLOGY.read_bytes() == (ROOT / "clusters/topology/topology.yaml").read_bytes()


def test_topology_names_match_the_constants() -> None:
    objects = topology_manifests()
    assert [o.name for o in objects if o.kind == "Namespace"] == list(LAB_NAMESPACES)
    assert [f"{o.namespace}/{o.name}" for o in objects if o.kind == "Pod"] == list(LAB_PODS)
    assert {o.kind for o in objects} == {"Namespace", "Pod"}
    first_pod = next(i for i, o in enumerate(objects) if o.kind == "Pod")
    assert all(o.kind == "Pod" for o in objects[first_pod:]), "namespaces must come first"


def test_topology_is_valid_for_the_api_server() -> None:
    check_objects(topology_manifests(), "1.36")
    check_objects(kube_system_manifests(), "1.36")


def test_every_object_is_managed_and_namespaces_have_no_name_label() -> None:
    for raw in topology_manifests():
        labels = raw.metadata["labels"]
        assert labels[MANAGED_LABEL] == "true", raw.title
        if raw.kind == "Namespace":
            assert "name" not in labels, raw.title


def test_lab_pods_run_the_pinned_agnhost_by_digest() -> None:
    from labkit.cluster.kind.pins import load_pins

    assert AGNHOST_IMAGE == load_pins().agnhost_image
    assert "@sha256:" in AGNHOST_IMAGE


@pytest.mark.parametrize("key", LAB_PODS)
def test_every_pod_runs_agnhost_web_and_metrics(key: str) -> None:
    raw = next(o for o in topology_manifests() if f"{o.namespace}/{o.name}" == key)
    containers = {c["name"]: c for c in raw.data["spec"]["containers"]}
    assert set(containers) == {"web", "metrics"}
    assert {c["image"] for c in containers.values()} == {AGNHOST_IMAGE}
    assert containers["web"]["args"] == ["netexec", "--http-port=80", "--udp-port=81"]
    assert containers["metrics"]["args"] == ["netexec", "--http-port=9090", "--udp-port=-1"]
    assert [(p["name"], p["containerPort"], p["protocol"]) for p in containers["web"]["ports"]] == [
        ("http", 80, "TCP"),
        ("udp", 81, "UDP"),
    ]
    assert [(p["name"], p["containerPort"]) for p in containers["metrics"]["ports"]] == [
        ("metrics", 9090)
    ]


@pytest.mark.parametrize(
    ("key", "labels"),
    [
        ("my-segment/frontend", {"role": "frontend"}),
        ("my-segment/critical-app", {"role": "critical-app"}),
        ("trusted/client", {"app": "client"}),
        ("untrusted/client", {"app": "client"}),
    ],
)
def test_pod_labels(key: str, labels: dict[str, str]) -> None:
    raw = next(o for o in topology_manifests() if f"{o.namespace}/{o.name}" == key)
    assert raw.metadata["labels"] == {**labels, MANAGED_LABEL: "true"}


def test_pools_lie_in_the_pod_cidr_and_do_not_overlap() -> None:
    cidr = ip_network(LAB_POD_CIDR)
    nets = [p.cidr for p in lab_pools()]
    assert [p.name for p in lab_pools()] == [
        "labkit-default",
        "labkit-branch",
        "labkit-backup",
        "labkit-legacy",
    ]
    assert all(n.subnet_of(cidr) for n in nets)  # type: ignore[arg-type]
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            assert not a.overlaps(b)


@pytest.mark.parametrize(
    ("namespace", "cidr"),
    [
        ("my-segment", "192.168.128.0/17"),
        ("trusted", "192.168.128.0/17"),
        ("branch-office", "192.168.1.0/24"),
        ("backup-site", "192.168.2.0/24"),
        ("legacy-dc", "192.168.10.0/24"),
        ("kube-system", "192.168.128.0/17"),
        ("anything-else", "192.168.128.0/17"),
    ],
)
def test_lab_address_plan_follows_the_topology_annotations(namespace: str, cidr: str) -> None:
    assert lab_address_plan().pool_for(namespace) == ip_network(cidr)


def test_kind_pools_in_clusters_are_the_model_plan() -> None:
    """The Calico pools kind installs (clusters/calico/) and the model's plan are one plan."""
    plan = load_address_plan(ROOT / "clusters")
    assert [(p.name, p.cidr) for p in plan.pools] == [(p.name, p.cidr) for p in lab_pools()]
    assert {(p.name, p.namespace) for p in plan.dedicated} == {
        ("labkit-branch", "branch-office"),
        ("labkit-backup", "backup-site"),
        ("labkit-legacy", "legacy-dc"),
    }
    assert check_namespace_annotations(plan, topology_manifests()) == []


def test_kind_pools_that_disagree_with_the_model_are_refused(tmp_path: Path) -> None:
    calico = tmp_path / "calico"
    calico.mkdir()
    (calico / "installation.yaml").write_text(
        (ROOT / "clusters/calico/installation.yaml").read_text()
    )
    text = (ROOT / "clusters/calico/ippools.yaml").read_text()
    (calico / "ippools.yaml").write_text(text.replace("192.168.2.0/24", "192.168.3.0/24"))
    with pytest.raises(ClusterError, match="differ from the lab's address plan"):
        load_address_plan(tmp_path)


def test_topology_addresses_fall_in_their_pools() -> None:
    inventory = build_inventory(topology_manifests())
    plan = lab_address_plan()
    for pod in inventory.pods:
        assert pod.ip in plan.pool_for(pod.namespace)


def test_packaged_copy_is_used_outside_a_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("labkit.cluster.labdir.project_clusters_dir", lambda: None)
    assert topology.topology_dir() == topology.DATA_DIR
    assert [o.name for o in topology_manifests() if o.kind == "Pod"] == [
        k.split("/")[1] for k in LAB_PODS
    ]


def test_kube_system_has_coredns_serving_dns() -> None:
    pods = [o for o in kube_system_manifests() if o.kind == "Pod"]
    assert len(pods) == 2
    for raw in pods:
        assert raw.namespace == "kube-system"
        assert raw.metadata["labels"] == {"k8s-app": "kube-dns"}
        ports = {
            (p["name"], p["containerPort"], p["protocol"])
            for p in raw.data["spec"]["containers"][0]["ports"]
        }
        assert {("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")} <= ports
    assert not [o for o in kube_system_manifests(coredns=False) if o.kind == "Pod"]


def test_lesson_order_and_summary() -> None:
    assert lesson_order(["zz/x", "trusted/client", "my-segment/frontend"]) == [
        "my-segment/frontend",
        "trusted/client",
        "zz/x",
    ]
    assert summarise(LAB_PODS, 1) == "9/9 lab pods, 1 NetworkPolicy"
    text = summarise([*LAB_PODS[1:], "kube-system/coredns-0", "shop/web"], 0)
    assert text.startswith(
        "8/9 lab pods (+1 other), 0 NetworkPolicies; missing my-segment/frontend"
    )
    assert "labkit reset" in text


def test_the_lab_topology_is_evaluated_in_the_lab_cluster() -> None:
    """With the topology's six namespaces, offline inputs gain the lab's own objects (system
    namespaces, CoreDNS) as ``labkit up`` creates them; the input's own declarations win."""
    objects = topology_manifests()
    system = kube_system_manifests()
    keys = [(o.kind, o.namespace, o.name) for o in in_the_lab(objects)]
    assert keys[: len(system)] == [(o.kind, o.namespace, o.name) for o in system]
    assert len(keys) == len(system) + len(objects)
    partial = [o for o in objects if o.name != "legacy-dc"]
    assert in_the_lab(partial) == partial
    own_dns = load_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: coredns-0, namespace: kube-system}\n"
        "spec: {containers: [{name: c, image: i}]}\n"
    )
    merged = in_the_lab([*objects, *own_dns])
    assert [o for o in merged if o.name == "coredns-0"] == own_dns
