"""The one address plan (``labkit.model.ipam``): Calico IP pools and pool annotations in the
input are honoured offline, with Calico's precedence (pod annotation, then namespace
annotation, then the automatic pools; ``cni-plugin/pkg/k8s/k8s.go: CmdAddK8s``)."""

from __future__ import annotations

import json
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from labkit.cli.main import main
from labkit.errors import ManifestError
from labkit.model.inventory import Inventory, inventory_from_text
from labkit.model.ipam import IPPlan
from labkit.model.ippools import lab_default_pool, lab_pools

POOL = """\
apiVersion: {api}
kind: IPPool
metadata: {{name: {name}}}
spec: {{cidr: {cidr}{extra}}}
"""
NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  annotations: {{cni.projectcalico.org/ipv4pools: '{pools}'}}
"""
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {namespace}
  annotations: {annotations}
spec: {{containers: [{{name: c, image: i}}]}}
"""


def pool(name: str, cidr: str, extra: str = "", api: str = "projectcalico.org/v3") -> str:
    return POOL.format(api=api, name=name, cidr=cidr, extra=extra)


def namespace(name: str, pools: str) -> str:
    return NAMESPACE.format(name=name, pools=pools)


def pod(name: str, ns: str, annotations: str = "{}") -> str:
    return POD.format(name=name, namespace=ns, annotations=annotations)


def build(*docs: str) -> Inventory:
    return inventory_from_text("---\n".join(docs))


def ip_of(inv: Inventory, key: str) -> str:
    return str(inv.pod(key).ip)


@pytest.mark.parametrize(
    ("docs", "key", "block"),
    [
        # an IPPool of the input, asked for by namespace annotation (by name)
        (
            [pool("team", "10.10.0.0/24"), namespace("a", '["team"]'), pod("p", "a")],
            "a/p",
            "10.10.0.0/24",
        ),
        # ... by CIDR (ResolvePools accepts names or CIDRs), in the v1 CRD spelling
        (
            [
                pool("team", "10.10.0.0/24", api="crd.projectcalico.org/v1"),
                namespace("a", '["10.10.0.0/24"]'),
                pod("p", "a"),
            ],
            "a/p",
            "10.10.0.0/24",
        ),
        # a lab pool by name, without passing it: the lab's pools are always known
        ([namespace("a", '["labkit-branch"]'), pod("p", "a")], "a/p", "192.168.1.0/24"),
        # the pod annotation beats the namespace annotation
        (
            [
                namespace("a", '["labkit-branch"]'),
                pod("p", "a", """{cni.projectcalico.org/ipv4pools: '["labkit-backup"]'}"""),
            ],
            "a/p",
            "192.168.2.0/24",
        ),
        # no annotation: the automatic pool (a Manual pool of the input is not used)
        (
            [pool("manual", "10.20.0.0/24", ", assignmentMode: Manual"), pod("p", "a")],
            "a/p",
            "192.168.128.0/17",
        ),
        # a pool for no node (nodeSelector: '!all()') serves only requests
        (
            [pool("ns-only", "10.30.0.0/24", ", nodeSelector: '!all()'"), pod("p", "a")],
            "a/p",
            "192.168.128.0/17",
        ),
        # the first requested pool with a free address
        (
            [namespace("a", '["labkit-legacy", "labkit-branch"]'), pod("p", "a")],
            "a/p",
            "192.168.10.0/24",
        ),
    ],
)
def test_pool_annotations_and_input_pools_are_honoured(
    docs: list[str], key: str, block: str
) -> None:
    inv = build(*docs)
    assert ip_address(ip_of(inv, key)) in ip_network(block)
    assert not [w for w in inv.warnings if "IPPool" in w], "IPPools are read, not skipped"


def test_a_namespace_declared_again_without_the_annotation_uses_the_default_pool() -> None:
    plain = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
    inv = build(namespace("a", '["labkit-branch"]'), plain, pod("p", "a"))
    assert inv.pod("a/p").ip in lab_default_pool().cidr


def test_workload_template_annotation_places_every_replica() -> None:
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {cni.projectcalico.org/ipv4pools: '["labkit-backup"]'}
    spec: {containers: [{name: c, image: i}]}
"""
    inv = build(deployment)
    assert len(inv.pods) == 3
    assert all(p.ip in ip_network("192.168.2.0/24") for p in inv.pods)


@pytest.mark.parametrize(
    "annotations",
    [
        "{cni.projectcalico.org/ipAddrs: '[\"10.99.0.7\"]'}",
        "{cni.projectcalico.org/ipAddrs: '[\"10.99.0.7\"]', cni.projectcalico.org/ipv4pools: "
        "'[\"labkit-branch\"]'}",
    ],
)
def test_a_fixed_address_beats_every_pool(annotations: str) -> None:
    inv = build(namespace("a", '["labkit-backup"]'), pod("p", "a", annotations))
    assert ip_of(inv, "a/p") == "10.99.0.7"


def test_status_pod_ip_is_kept() -> None:
    text = pod("p", "a").replace("spec:", "status: {podIP: 10.1.2.3}\nspec:")
    assert ip_of(build(namespace("a", '["labkit-branch"]'), text), "a/p") == "10.1.2.3"


@pytest.mark.parametrize(
    ("docs", "match"),
    [
        ([namespace("a", '["nowhere"]'), pod("p", "a")], "asks for IP pool 'nowhere'"),
        ([namespace("a", "labkit-branch"), pod("p", "a")], "not a JSON list"),
        (
            [
                pool("off", "10.40.0.0/24", ", disabled: true"),
                namespace("a", '["off"]'),
                pod("p", "a"),
            ],
            "does not exist or is disabled",
        ),
        ([pool("wide", "192.168.0.0/16"), pod("p", "a")], r"IPPool\(wide\) CIDR overlaps"),
        ([pool("bad", "not-a-cidr"), pod("p", "a")], "not a CIDR"),
    ],
)
def test_pool_mistakes_are_clear_errors(docs: list[str], match: str) -> None:
    with pytest.raises(ManifestError, match=match):
        build(*docs)


def test_an_input_pool_replaces_the_lab_pool_of_the_same_name() -> None:
    inv = build(
        pool("labkit-branch", "10.50.0.0/24"), namespace("a", '["labkit-branch"]'), pod("p", "a")
    )
    assert ip_address(ip_of(inv, "a/p")) in ip_network("10.50.0.0/24")


def test_pod_cidr_replaces_only_the_automatic_pools() -> None:
    plan = IPPlan("10.244.0.0/16")
    text = "---\n".join([namespace("a", '["labkit-branch"]'), pod("p", "a"), pod("q", "b")])
    inv = inventory_from_text(text, ip_plan=plan)
    assert inv.pod("a/p").ip in ip_network("192.168.1.0/24")
    assert inv.pod("b/q").ip in ip_network("10.244.0.0/16")


def test_the_lab_pools_are_package_data() -> None:
    assert lab_default_pool().name == "labkit-default"
    assert [p.automatic for p in lab_pools()] == [True, False, False, False]


def test_ippool_and_namespace_annotation_in_the_input_are_honoured_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An IPPool and a namespace annotation in the files decide an ipBlock verdict offline."""
    files = tmp_path / "in.yaml"
    policy = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-partner, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{from: [{ipBlock: {cidr: 10.60.0.0/24}}]}]
"""
    files.write_text(
        "---\n".join(
            [
                pool("partner", "10.60.0.0/24", ", assignmentMode: Manual"),
                namespace("partner", '["partner"]'),
                pod("client", "partner"),
                pod("client", "other"),
                pod("web", "shop"),
                policy,
            ]
        )
    )
    verdicts = {}
    for source in ("partner/client", "other/client"):
        capsys.readouterr()
        argv = ["explain", "-f", str(files), "-o", "json", "--from", source, "--to", "shop/web"]
        assert main([*argv, "--port", "80"]) == 0
        verdicts[source] = json.loads(capsys.readouterr().out)["verdict"]
    assert verdicts == {"partner/client": "ALLOWED", "other/client": "DENIED"}
