"""Calico pins (clusters/calico/versions.yaml), manifest verification, the manifest-mode pool
patch and the pool comparison. Local files only: nothing is downloaded."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
import yaml
from fake_tools import FakeTools

from labkit.cluster.address_plan import load_address_plan
from labkit.cluster.kind import calico
from labkit.cluster.kind.pins import DIGEST, DIGEST_REF, SHA256, ManifestPin, load_pins
from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError

PINS = load_pins()
ROOT = Path(__file__).resolve().parents[2]


class Quiet:
    def step(self, name: str, total: int | None = None) -> None: ...

    def advance(self, message: str = "") -> None: ...

    def finish(self, message: str = "") -> None: ...


OPERATOR_YAML = """\
apiVersion: v1
kind: Namespace
metadata: {name: tigera-operator}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tigera-operator, namespace: tigera-operator}
spec:
  template:
    spec:
      containers:
        - name: tigera-operator
          image: quay.io/tigera/operator:v1.42.3
"""
CALICO_YAML_IMAGES = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec:
  template:
    spec:
      initContainers:
        - {name: install-cni, image: quay.io/calico/cni:v3.32.1}
        - {name: mount-bpffs, image: quay.io/calico/node:v3.32.1}
      containers:
        - {name: calico-node, image: quay.io/calico/node:v3.32.1, env: []}
"""
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
def test_image_pins_use_the_release_tag(release: calico.CalicoRelease) -> None:
    assert release.pin_for(release.operator_image) in release.pins("operator")
    for pin in release.image_pins:
        if pin.tag_ref.startswith("quay.io/calico/"):
            assert pin.tag_ref.endswith(f":{release.version}"), pin.tag_ref
        assert pin.digest is None or DIGEST.match(pin.digest)
    manifest = {p.repository for p in release.pins("manifest")}
    assert manifest == {
        "quay.io/calico/node",
        "quay.io/calico/cni",
        "quay.io/calico/kube-controllers",
    }
    # an image pulled by digest keeps its tag for people: name:tag@sha256:...
    for pin in release.image_pins:
        assert pin.ref == (f"{pin.tag_ref}@{pin.digest}" if pin.digest else pin.tag_ref)


def test_v3_32_1_manifest_images_and_agnhost_are_pinned_by_digest() -> None:
    release = PINS.calico_release("v3.32.1")
    assert all(DIGEST_REF.match(ref) for ref in release.images("manifest"))
    assert DIGEST_REF.match(PINS.agnhost_image)
    assert PINS.agnhost_tag == "registry.k8s.io/e2e-test-images/agnhost:2.66.1"


def test_pins_without_a_digest_are_marked_unverified() -> None:
    """A digest nobody could check against the registry is never marked verified."""
    for release in PINS.calico:
        for pin in release.image_pins:
            if pin.digest is None:
                assert not pin.verified, pin.tag_ref


def test_a_missing_digest_stops_the_install_and_says_how_to_fill_it() -> None:
    release = PINS.calico_release("v3.32.1")
    first, *rest = release.image_pins
    release = dataclasses.replace(
        release, image_pins=(dataclasses.replace(first, digest=None), *rest)
    )
    unpinned = [p for p in release.pins("operator") if p.digest is None]
    with pytest.raises(ClusterError) as err:
        release.require_digests("operator")
    text = str(err.value)
    assert unpinned and all(p.tag_ref in text for p in unpinned)
    assert "by digest only" in text and "docker buildx imagetools inspect" in text


def with_digests(release: calico.CalicoRelease) -> calico.CalicoRelease:
    filled = tuple(
        dataclasses.replace(p, digest=p.digest or "sha256:" + f"{i:064x}")
        for i, p in enumerate(release.image_pins)
    )
    return dataclasses.replace(release, image_pins=filled)


def test_image_set_lists_every_operator_image_by_digest() -> None:
    """tigera/operator: the ImageSet is named calico-<release> (imageset.getSetName), each
    image is the name without registry or tag (the CRD's spec.images[].image), each digest
    starts with sha256: (ValidateImageSet); the operator image itself is not in the set."""
    release = with_digests(PINS.calico_release("v3.32.1"))
    doc = calico.image_set(release)
    assert doc["apiVersion"] == "operator.tigera.io/v1" and doc["kind"] == "ImageSet"
    assert doc["metadata"]["name"] == "calico-v3.32.1"
    listed = {i["image"]: i["digest"] for i in doc["spec"]["images"]}
    assert set(listed) == {
        "calico/node",
        "calico/cni",
        "calico/kube-controllers",
        "calico/typha",
        "calico/pod2daemon-flexvol",
        "calico/apiserver",
        "calico/csi",
        "calico/node-driver-registrar",
        "calico/webhooks",
        "calico/key-cert-provisioner",
        "calico/goldmane",  # the flow logs installation.yaml enables (lesson 10)
        "calico/whisker",
        "calico/whisker-backend",
    }
    assert all(DIGEST.match(d) for d in listed.values())
    assert listed["calico/node"] == release.pin_for("quay.io/calico/node:v3.32.1").digest  # type: ignore[union-attr]


def test_operator_manifest_runs_the_operator_by_digest(tmp_path: Path) -> None:
    release = with_digests(PINS.calico_release("v3.32.1"))
    source = tmp_path / "tigera-operator.yaml"
    source.write_text(OPERATOR_YAML)
    out = calico.pinned_operator_manifest(source, release, tmp_path / "out.yaml")
    docs = list(yaml.safe_load_all(out.read_text()))
    image = docs[1]["spec"]["template"]["spec"]["containers"][0]["image"]
    pin = release.pin_for(release.operator_image)
    assert pin is not None and image == f"{release.operator_image}@{pin.digest}"


def test_operator_install_with_a_missing_digest_applies_nothing(fake_tools: FakeTools) -> None:
    from labkit.cluster.kubectl import Kubectl

    release = PINS.calico_release("v3.32.1")
    release = dataclasses.replace(
        release, image_pins=tuple(dataclasses.replace(p, digest=None) for p in release.image_pins)
    )
    fake_tools.add("kubectl")
    with pytest.raises(ClusterError, match="no digest pinned"):
        calico.install(
            Kubectl(None, "kind-labkit"), release, "operator", load_address_plan(), Quiet()
        )
    assert fake_tools.calls() == []


def test_manifest_mode_runs_every_calico_image_by_its_pinned_digest() -> None:
    release = PINS.calico_release("v3.32.1")
    text = calico.manifest_for_lab(CALICO_YAML_IMAGES, load_address_plan(), release)
    docs = list(yaml.safe_load_all(text))
    spec = docs[0]["spec"]["template"]["spec"]
    found = [c["image"] for c in spec["initContainers"] + spec["containers"]]
    node = release.pin_for("quay.io/calico/node:v3.32.1")
    cni = release.pin_for("quay.io/calico/cni:v3.32.1")
    assert node is not None and cni is not None
    assert found == [cni.ref, node.ref, node.ref]
    assert all("@sha256:" in i for i in found)


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("quay.io/calico/flannel-migration:v3.32.1", "has no pinned digest"),
        ("quay.io/calico/node:v3.32.1@sha256:" + "0" * 64, "has no pinned digest"),
        ("docker.io/calico/node:v3.32.1", None),
        ("calico/node:v3.32.1", None),
    ],
)
def test_image_rewrite_is_fail_closed(image: str, problem: str | None) -> None:
    release = PINS.calico_release("v3.32.1")
    docs = [
        {
            "kind": "DaemonSet",
            "metadata": {"name": "calico-node"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
        }
    ]
    pins = release.require_digests("manifest")
    if problem is None:
        assert calico.pin_image_refs(docs, pins, "calico.yaml") == 1
        node = release.pin_for("quay.io/calico/node:v3.32.1")
        assert node is not None
        assert docs[0]["spec"]["template"]["spec"]["containers"][0]["image"] == node.ref
    else:
        with pytest.raises(ClusterError, match=problem) as err:
            calico.pin_image_refs(docs, pins, "calico.yaml")
        assert "DaemonSet calico-node" in str(err.value)


VERSIONS = clusters_dir() / "calico" / "versions.yaml"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "agnhost:2.66.1@sha256:6e2eef87d0dc77e070a7549bc5fdfa290c0fefe3359eb33c2ad1eda692fe66a4",
            "agnhost:2.66.1",
            "agnhost.image must be pinned by digest",
        ),
        (
            "digest: sha256:7f874b3f0b540c2b523aea9961ef5e2f43b0af9056a47874c916d6cf348168d3",
            "digest: 7f874b3f0b540c2b523aea9961ef5e2f43b0af9056a47874c916d6cf348168d3",
            "quay.io/calico/node:v3.32.1.digest must be sha256:",
        ),
        ("modes: [operator, manifest]", "modes: [operator, manifests]", ".modes must list"),
        (
            "quay.io/calico/typha:v3.32.1:",
            "quay.io/calico/typha@sha256:" + "1" * 64 + ":",
            "the key must be registry/name:tag",
        ),
    ],
)
def test_bad_pins_are_refused_naming_the_field(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    text = VERSIONS.read_text()
    assert old in text
    bad = tmp_path / "versions.yaml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(ClusterError, match=re.escape(problem)) as err:
        load_pins(bad)
    assert str(bad) in str(err.value)


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
    assert {d["kind"] for d in docs} == {"Installation", "APIServer", "Goldmane", "Whisker"}
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


def test_fetch_removes_what_a_killed_download_left_behind(tmp_path: Path) -> None:
    source = tmp_path / "source.yaml"
    source.write_text("kind: List\n")
    pin = pin_for(source)
    cache = tmp_path / "cache"
    cache.mkdir()
    dead_pid = 2**22 + 12345  # above pid_max: no such process
    left = cache / f".source.yaml.{dead_pid}.abc.tmp"
    left.write_text("half a download")
    calico.fetch_manifest(pin, cache, download=lambda u, d, t: d.write_bytes(source.read_bytes()))
    assert sorted(p.name for p in cache.iterdir()) == ["source.yaml"]


def test_operator_install_enables_calicos_flow_logs() -> None:
    """Lesson 10 reads Calico's own flow logs: the operator install applies the Goldmane and
    Whisker resources (operator.tigera.io/v1, name default), and their images are pinned."""
    docs = list(yaml.safe_load_all((ROOT / "clusters/calico/installation.yaml").read_text()))
    kinds = {(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("operator.tigera.io/v1", "Goldmane", "default") in kinds
    assert ("operator.tigera.io/v1", "Whisker", "default") in kinds
    operator_images = {p.path for p in PINS.calico_release("v3.32.1").pins("operator")}
    assert {"calico/goldmane", "calico/whisker", "calico/whisker-backend"} <= operator_images
