"""Calico pins (clusters/calico/versions.yaml), manifest verification, the manifest-mode pool
patch and the pool comparison. Local files only: nothing is downloaded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from labkit.cluster.address_plan import load_address_plan
from labkit.cluster.kind import calico
from labkit.cluster.kind.pins import SHA256, ManifestPin, load_pins
from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError

PINS = load_pins()
MANIFESTS = [(rel.version, pin) for rel in PINS.calico for pin in rel.manifests]


def test_default_release_is_pinned_and_tested_on_the_node_images() -> None:
    release = PINS.calico_release()
    assert release.version == "v3.32.1"
    assert release.operator_image == "quay.io/tigera/operator:v1.42.3"
    assert PINS.node_image.kubernetes in release.tested_kubernetes
    assert PINS.node_image_cgroup_v1.kubernetes in release.tested_kubernetes


@pytest.mark.parametrize(("version", "pin"), MANIFESTS, ids=[f"{v}-{p.role}" for v, p in MANIFESTS])
def test_manifest_pins_have_sha256_size_and_a_url_at_their_tag(
    version: str, pin: ManifestPin
) -> None:
    assert SHA256.match(pin.sha256)
    assert pin.size > 0
    assert pin.url.startswith("https://raw.githubusercontent.com/projectcalico/calico/")
    assert f"/{version}/manifests/" in pin.url


def test_design_doc_sums_for_v3_32_1() -> None:
    release = PINS.calico_release("v3.32.1")
    assert {p.file_name: (p.size, p.sha256) for p in release.manifests} == {
        "calico.yaml": (349572, "a1df919d9721cf667accdc3e72848911b0cb25cfab7d2478ad0c996302c95744"),
        "tigera-operator.yaml": (
            19660,
            "f18e073794207d372606bc3ea6f8fd73972f86d6828f4ba666dfe0d4aa8ab07f",
        ),
        "custom-resources.yaml": (
            1046,
            "4fb598a7fce1ad1f8bbfb9004f5efcdb835082e92e06323cb7b8ce60260ed891",
        ),
        "v1_crd_projectcalico_org.yaml": (
            3046956,
            "192f8b2d934ef24b62e86b7e1a6e1762d1c8af26a916f78057bc13fa5ed60f71",
        ),
    }


@pytest.mark.parametrize("release", PINS.calico, ids=[r.version for r in PINS.calico])
def test_image_lists_use_the_release_tag(release: calico.CalicoRelease) -> None:
    assert release.operator_image in release.operator_images
    for image in release.images("operator") + release.images("manifest"):
        if image.startswith("quay.io/calico/"):
            assert image.endswith(f":{release.version}"), image
    assert {"quay.io/calico/node", "quay.io/calico/cni"} <= {
        i.rsplit(":", 1)[0] for i in release.images("manifest")
    }


def pin_for(path: Path) -> ManifestPin:
    data = path.read_bytes()
    return ManifestPin(
        "test",
        "https://example.invalid/v0/manifests/" + path.name,
        len(data),
        hashlib.sha256(data).hexdigest(),
    )


def test_verification_accepts_the_pinned_file(tmp_path: Path) -> None:
    f = tmp_path / "calico.yaml"
    f.write_text("kind: List\n")
    calico.verify_manifest(f, pin_for(f))


def test_verification_rejects_a_wrong_sum(tmp_path: Path) -> None:
    f = tmp_path / "calico.yaml"
    f.write_text("kind: List\n")
    pin = pin_for(f)
    f.write_text("kind: Lisp\n")  # same size, other bytes
    with pytest.raises(ClusterError, match="does not match the pinned") as err:
        calico.verify_manifest(f, pin)
    assert pin.sha256 in str(err.value)
    assert "will not apply it" in str(err.value)


def test_verification_rejects_a_wrong_size(tmp_path: Path) -> None:
    f = tmp_path / "calico.yaml"
    f.write_text("kind: List\n")
    pin = pin_for(f)
    f.write_text("kind: List\n# cut")
    with pytest.raises(ClusterError, match="bytes, but"):
        calico.verify_manifest(f, pin)


def test_fetch_downloads_once_then_uses_the_verified_cache(tmp_path: Path) -> None:
    source = tmp_path / "source.yaml"
    source.write_text("kind: List\nitems: []\n")
    pin = pin_for(source)
    calls: list[str] = []

    def download(url: str, dest: Path, timeout: float) -> None:
        calls.append(url)
        dest.write_bytes(source.read_bytes())

    cache = tmp_path / "cache"
    first = calico.fetch_manifest(pin, cache, download=download)
    second = calico.fetch_manifest(pin, cache, download=download)
    assert first == second == cache / "source.yaml"
    assert calls == [pin.url]


def test_fetch_refuses_a_corrupted_download_and_leaves_no_file(tmp_path: Path) -> None:
    source = tmp_path / "source.yaml"
    source.write_text("kind: List\n")
    pin = pin_for(source)

    def download(url: str, dest: Path, timeout: float) -> None:
        dest.write_text("kind: Lisp\n")

    cache = tmp_path / "cache"
    with pytest.raises(ClusterError, match="does not match"):
        calico.fetch_manifest(pin, cache, download=download)
    assert list(cache.iterdir()) == []


def test_fetch_replaces_a_tampered_cached_file(tmp_path: Path) -> None:
    source = tmp_path / "source.yaml"
    source.write_text("kind: List\n")
    pin = pin_for(source)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "source.yaml").write_text("tampered\n")
    calico.fetch_manifest(pin, cache, download=lambda u, d, t: d.write_bytes(source.read_bytes()))
    assert (cache / "source.yaml").read_bytes() == source.read_bytes()


def test_fetch_network_error_says_how_to_work_offline(tmp_path: Path) -> None:
    source = tmp_path / "s.yaml"
    source.write_text("x")

    def download(url: str, dest: Path, timeout: float) -> None:
        raise OSError("Name or service not known")

    with pytest.raises(ClusterError, match="labkit images pull"):
        calico.fetch_manifest(pin_for(source), tmp_path / "c", download=download)


CALICO_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: calico-config, namespace: kube-system}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec:
  template:
    spec:
      initContainers: [{name: install-cni, env: [{name: CNI_CONF_NAME, value: x}]}]
      containers:
        - name: calico-node
          env:
            - {name: CALICO_IPV4POOL_IPIP, value: Always}
            - {name: CALICO_IPV4POOL_VXLAN, value: Never}
            - {name: IP, value: autodetect}
"""


def test_manifest_mode_sets_calico_node_default_pool_to_the_lab_default_pool() -> None:
    plan = load_address_plan()
    docs = list(yaml.safe_load_all(calico.patch_manifest_pool(CALICO_YAML, plan)))
    env = {
        e["name"]: e["value"] for e in docs[1]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env == {
        "IP": "autodetect",
        "CALICO_IPV4POOL_CIDR": "192.168.128.0/17",
        "CALICO_IPV4POOL_BLOCK_SIZE": "26",
        "CALICO_IPV4POOL_IPIP": "Never",
        "CALICO_IPV4POOL_VXLAN": "CrossSubnet",
    }
    assert docs[0]["kind"] == "ConfigMap"


def test_manifest_patch_refuses_a_file_without_calico_node() -> None:
    with pytest.raises(ClusterError, match="no calico-node DaemonSet"):
        calico.patch_manifest_pool("kind: ConfigMap\nmetadata: {name: x}\n", load_address_plan())


@pytest.mark.parametrize(
    ("mode", "api"),
    [("operator", "projectcalico.org/v3"), ("manifest", "crd.projectcalico.org/v1")],
)
def test_dedicated_pools_use_the_api_each_install_serves(mode: str, api: str) -> None:
    docs = calico.ippool_docs(mode)
    assert {d["apiVersion"] for d in docs} == {api}
    assert {d["spec"]["assignmentMode"] for d in docs} == {"Manual"}
    # crd.projectcalico.org/v1 objects get no API-server defaulting: spell the defaults out
    assert {d["spec"]["nodeSelector"] for d in docs} == {"all()"}
    assert {tuple(d["spec"]["allowedUses"]) for d in docs} == {("Workload",)}
    assert all(d["metadata"]["labels"]["labkit.dev/managed"] == "true" for d in docs)


def test_installation_resource_has_the_lab_trims() -> None:
    docs = list(yaml.safe_load_all((clusters_dir() / "calico" / "installation.yaml").read_text()))
    inst = next(d for d in docs if d["kind"] == "Installation")
    assert {d["kind"] for d in docs} == {"Installation", "APIServer"}
    spec = inst["spec"]
    assert spec["controlPlaneReplicas"] == 1
    assert spec["calicoNetwork"]["linuxPolicySetupTimeoutSeconds"] == 5
    assert spec["calicoNetwork"]["ipPools"] == [
        {
            "name": "labkit-default",
            "cidr": "192.168.128.0/17",
            "blockSize": 26,
            "encapsulation": "VXLANCrossSubnet",
            "natOutgoing": "Enabled",
            "nodeSelector": "all()",
        }
    ]


def pool(name: str, cidr: str, **spec: object) -> dict[str, object]:
    return {"metadata": {"name": name}, "spec": {"cidr": cidr, **spec}}


LAB_POOLS = [
    pool("labkit-default", "192.168.128.0/17"),
    pool("labkit-branch", "192.168.1.0/24"),
    pool("labkit-backup", "192.168.2.0/24"),
    pool("labkit-legacy", "192.168.10.0/24"),
]


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        (LAB_POOLS, None),
        (LAB_POOLS[:3], "labkit-legacy (192.168.10.0/24) is missing"),
        (
            [*LAB_POOLS[:3], pool("labkit-legacy", "192.168.11.0/24")],
            "the plan says 192.168.10.0/24",
        ),
        ([*LAB_POOLS, pool("default-ipv4-ippool", "192.168.0.0/16")], "default-ipv4-ippool"),
        ([*LAB_POOLS, pool("default-ipv4-ippool", "192.168.0.0/16", disabled=True)], None),
        ([*LAB_POOLS, pool("elsewhere", "10.10.0.0/16")], None),
        # manifest install: calico-node names the default pool default-ipv4-ippool
        ([pool("default-ipv4-ippool", "192.168.128.0/17"), *LAB_POOLS[1:]], None),
        (
            [pool("default-ipv4-ippool", "192.168.128.0/17", disabled=True), *LAB_POOLS[1:]],
            "labkit-default (192.168.128.0/17) is missing",
        ),
    ],
)
def test_cluster_pools_are_compared_with_the_plan(
    items: list[dict[str, object]], problem: str | None
) -> None:
    found = calico.pool_problems(items, load_address_plan())  # type: ignore[arg-type]
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0]
