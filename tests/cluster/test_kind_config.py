"""The kind configs, node image pins and the address plan read from clusters/ (files only;
no cluster)."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest
import yaml

from labkit.cluster.address_plan import (
    POD_CIDR,
    AddressPlan,
    Pool,
    check_namespace_annotations,
    load_address_plan,
)
from labkit.cluster.kind.config import check_config, config_path, load_config
from labkit.cluster.kind.pins import DIGEST_REF, load_pins
from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError
from labkit.model.loader import load_text


@pytest.mark.parametrize(
    ("nodes", "roles"),
    [
        (1, ["control-plane"]),
        (3, ["control-plane", "worker", "worker"]),
    ],
)
def test_configs_render_with_calico_ready_networking(nodes: int, roles: list[str]) -> None:
    path, text = load_config(nodes)
    assert path == config_path(nodes)
    data = yaml.safe_load(text)
    assert data["networking"] == {"disableDefaultCNI": True, "podSubnet": "192.168.0.0/16"}
    assert [n["role"] for n in data["nodes"]] == roles
    assert set(data) == {"kind", "apiVersion", "networking", "nodes"}


def good() -> dict[str, object]:
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "networking": {"disableDefaultCNI": True, "podSubnet": POD_CIDR},
        "nodes": [{"role": "control-plane"}],
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"networking": {"podSubnet": POD_CIDR}}, "networking.disableDefaultCNI"),
        (
            {"networking": {"disableDefaultCNI": True, "podSubnet": "10.244.0.0/16"}},
            "networking.podSubnet",
        ),
        ({"kubeadmConfigPatches": ["x"]}, "kubeadmConfigPatches"),
        ({"nodes": [{"role": "control-plane"}, {"role": "control-plane"}]}, "nodes"),
        ({"nodes": []}, "nodes"),
        ({"apiVersion": "kind.x-k8s.io/v1alpha3"}, "kind/apiVersion"),
    ],
)
def test_config_check_names_the_bad_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ClusterError, match=field.replace(".", r"\.")):
        check_config({**good(), **change}, 1, "test.yaml")


def test_node_count_other_than_1_or_3_is_refused() -> None:
    with pytest.raises(ClusterError, match="1 or 3 nodes"):
        config_path(2)


def test_node_images_are_pinned_by_digest_with_a_cgroup_v1_fallback() -> None:
    pins = load_pins()
    for image in (pins.node_image, pins.node_image_cgroup_v1):
        assert DIGEST_REF.match(image.image), image.image
        assert image.image.startswith(f"kindest/node:v{image.kubernetes}.")
    assert pins.node_image.cgroup == "v2" and pins.node_image_cgroup_v1.cgroup == "v1"
    assert int(pins.node_image_cgroup_v1.kubernetes.split(".")[1]) < 35
    assert pins.kind_min_version == "v0.32.0"


def test_undigested_node_image_is_rejected(tmp_path: Path) -> None:
    text = (clusters_dir() / "calico" / "versions.yaml").read_text()
    pinned = load_pins().node_image.image
    bad = tmp_path / "versions.yaml"
    bad.write_text(text.replace(pinned, pinned.split("@")[0]))
    with pytest.raises(ClusterError, match=r"node_images\.default\.image must be pinned by digest"):
        load_pins(bad)


def test_pod_subnet_contains_every_pool_and_pools_do_not_overlap() -> None:
    plan = load_address_plan()
    pod_cidr = ip_network(yaml.safe_load(load_config(3)[1])["networking"]["podSubnet"])
    assert plan.pod_cidr == pod_cidr
    assert plan.problems() == []
    for pool in plan.pools:
        assert pool.cidr.subnet_of(pod_cidr), pool
    pools = plan.pools
    assert not any(a.cidr.overlaps(b.cidr) for i, a in enumerate(pools) for b in pools[i + 1 :])


def test_address_plan_is_the_brief_plan() -> None:
    plan = load_address_plan()
    assert (plan.default.name, str(plan.default.cidr)) == ("labkit-default", "192.168.128.0/17")
    assert {(p.name, str(p.cidr), p.namespace) for p in plan.dedicated} == {
        ("labkit-branch", "192.168.1.0/24", "branch-office"),
        ("labkit-backup", "192.168.2.0/24", "backup-site"),
        ("labkit-legacy", "192.168.10.0/24", "legacy-dc"),
    }
    assert plan.annotation_for("branch-office") == '["labkit-branch"]'
    assert plan.annotation_for("my-segment") is None
    assert str(plan.ip_plan().pool_for("legacy-dc")) == "192.168.10.0/24"


@pytest.mark.parametrize(
    ("pools", "problem"),
    [
        (
            (Pool("a", ip_network("192.168.1.0/24")), Pool("b", ip_network("192.168.1.128/25"))),
            "overlap",
        ),
        ((Pool("a", ip_network("10.0.0.0/24")),), "not inside the pod CIDR"),
    ],
)
def test_unsound_plans_are_reported(pools: tuple[Pool, ...], problem: str) -> None:
    plan = AddressPlan(
        ip_network(POD_CIDR),
        Pool("d", ip_network("192.168.128.0/17")),  # type: ignore[arg-type]
        pools,
    )
    assert any(problem in p for p in plan.problems())


def test_topology_namespaces_carry_the_pool_annotations_of_the_plan() -> None:
    from labkit.cluster.topology import topology_manifests
    from labkit.model.ippools import lab_pools

    plan = load_address_plan()
    assert check_namespace_annotations(plan, topology_manifests()) == []
    # the files kind applies create exactly the model's pools
    assert {p.name: p.cidr for p in plan.pools} == {p.name: p.cidr for p in lab_pools()}


@pytest.mark.parametrize(
    ("annotation", "ok"),
    [
        ('["labkit-branch"]', True),
        (None, False),
        ('["labkit-backup"]', False),
        ("not json", False),
    ],
)
def test_namespace_annotation_check(annotation: str | None, ok: bool) -> None:
    meta = (
        f"  annotations: {{cni.projectcalico.org/ipv4pools: '{annotation}'}}\n"
        if annotation
        else ""
    )
    objects = load_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: branch-office\n{meta}", "ns.yaml"
    )
    assert (check_namespace_annotations(load_address_plan(), objects) == []) is ok


def test_default_pool_namespace_must_not_ask_for_a_pool() -> None:
    objects = load_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: trusted\n"
        "  annotations: {cni.projectcalico.org/ipv4pools: '[\"labkit-branch\"]'}\n"
    )
    assert "default pool" in check_namespace_annotations(load_address_plan(), objects)[0]
