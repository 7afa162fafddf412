"""The fixed lab topology and its address plan."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from labkit.cluster import topology
from labkit.cluster.topology import (
    AGNHOST_IMAGE,
    IP_PLAN,
    LAB_NAMESPACES,
    LAB_PODS,
    PACKAGED_TOPOLOGY,
    POD_CIDR,
    POOL_ANNOTATION,
    POOLS,
    ip_plan_for,
    kube_system_manifests,
    lesson_order,
    pool_of,
    summarise,
    topology_manifests,
)
from labkit.model.inventory import build_inventory, check_objects
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
    cidr = ip_network(POD_CIDR)
    nets = [ip_network(p.cidr) for p in POOLS]
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
def test_ip_plan(namespace: str, cidr: str) -> None:
    assert IP_PLAN.pool_for(namespace) == ip_network(cidr)


def test_ip_plan_follows_the_namespace_annotations() -> None:
    namespaces = [
        (o.name, o.metadata.get("annotations"))
        for o in topology_manifests()
        if o.kind == "Namespace"
    ]
    plan = ip_plan_for(namespaces)
    assert plan.default_cidr == IP_PLAN.default_cidr
    assert dict(plan.namespace_cidrs) == dict(IP_PLAN.namespace_cidrs)
    assert pool_of("x", {POOL_ANNOTATION: '["labkit-backup"]'}) == POOLS[2]
    assert pool_of("x", {POOL_ANNOTATION: '["someone-elses"]'}) is None
    assert pool_of("x", {POOL_ANNOTATION: "not json"}) is None


def test_plan_agrees_with_the_calico_pools_in_clusters() -> None:
    """The simulated plan and the Calico pools kind installs are one plan."""
    address_plan = pytest.importorskip("labkit.cluster.address_plan")
    plan = address_plan.load_address_plan(ROOT / "clusters")
    assert str(plan.default.cidr) == topology.DEFAULT_POOL.cidr
    assert {(p.name, str(p.cidr), p.namespace) for p in plan.dedicated} == {
        (p.name, p.cidr, ns) for p in POOLS if not p.default for ns in p.namespaces
    }
    assert plan.ip_plan().default_cidr == IP_PLAN.default_cidr
    assert dict(plan.ip_plan().namespace_cidrs) == dict(IP_PLAN.namespace_cidrs)
    assert address_plan.check_namespace_annotations(plan, topology_manifests()) == []


def test_topology_addresses_fall_in_their_pools() -> None:
    inventory = build_inventory(topology_manifests(), ip_plan=IP_PLAN)
    for pod in inventory.pods:
        assert pod.ip in IP_PLAN.pool_for(pod.namespace)


def test_packaged_copy_is_used_outside_a_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topology, "project_clusters_dir", lambda: None)
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
