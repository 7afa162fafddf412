"""Every LabCluster operation, on every backend (simulated always; kind with LABKIT_LIVE=1).

The same assertions hold on the simulated cluster and on kind + Calico: that is the contract
notebooks and the grader rely on.
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
from contract_helpers import add_foreign, probe_until

from labkit.cluster.backend import LabCluster
from labkit.cluster.topology import AGNHOST_IMAGE, LAB_NAMESPACES, LAB_PODS, lab_address_plan
from labkit.errors import LabkitError, ValidationFailed
from labkit.model.objects import MANAGED_LABEL, NAMESPACE_NAME_LABEL
from labkit.probe.jobs import Outcome, ProbeSpec


def netpol(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def ingress_from(
    name: str, target: dict[str, str], peer: dict[str, Any], namespace: str = "my-segment"
) -> dict[str, Any]:
    return netpol(
        name,
        namespace,
        {
            "podSelector": {"matchLabels": target},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer]}],
        },
    )


DENY_ALL_INGRESS = netpol("deny-all", "my-segment", {"podSelector": {}, "policyTypes": ["Ingress"]})
INVALID_ICMP = netpol(
    "bad-protocol",
    "my-segment",
    {"podSelector": {}, "ingress": [{"ports": [{"protocol": "ICMP", "port": 80}]}]},
)


# -- the topology ---------------------------------------------------------------------------------
def test_topology_is_there_with_addresses_from_its_pools(lab: LabCluster) -> None:
    pods = {p.key: p for p in lab.pods()}
    assert set(LAB_PODS) <= set(pods)
    pool_of = {ns: lab_address_plan().pool_for(ns) for ns in LAB_NAMESPACES}
    addresses = [pods[key].ip for key in LAB_PODS]
    assert len(set(addresses)) == len(LAB_PODS)
    for key in LAB_PODS:
        ip = pods[key].ip
        assert ip is not None and ip in pool_of[key.split("/")[0]], (key, ip)
        ports = {(p.name, p.port, p.protocol.value) for p in pods[key].ports}
        assert ports == {("http", 80, "TCP"), ("udp", 81, "UDP"), ("metrics", 9090, "TCP")}
        assert pods[key].label_map[MANAGED_LABEL] == "true"


def test_namespaces_carry_the_automatic_name_label_and_no_custom_name(lab: LabCluster) -> None:
    namespaces = {ns.name: ns.label_map for ns in lab.namespaces()}
    for name in LAB_NAMESPACES:
        assert namespaces[name][NAMESPACE_NAME_LABEL] == name
        assert "name" not in namespaces[name]


def test_default_peers_are_the_lab_pods(lab: LabCluster) -> None:
    peers = lab.peers()
    assert set(LAB_PODS) <= set(peers)
    assert not any(p.startswith("kube-system/") for p in peers)
    assert set(lab.peers(["trusted"])) == {"trusted/client"}


# -- apply, get, delete ---------------------------------------------------------------------------
def test_apply_then_get_then_apply_again_is_unchanged(lab: LabCluster) -> None:
    report = lab.apply(DENY_ALL_INGRESS)
    assert any("deny-all" in t for t in report.applied)
    assert [p.name for p in lab.policies("my-segment")] == ["deny-all"]
    assert lab.policy("deny-all", "my-segment").pod_selector.is_empty
    again = lab.apply(DENY_ALL_INGRESS)
    assert not again.applied and any("deny-all" in t for t in again.unchanged)


def test_an_invalid_object_in_a_batch_applies_nothing(lab: LabCluster) -> None:
    with pytest.raises(ValidationFailed) as caught:
        lab.apply([DENY_ALL_INGRESS, INVALID_ICMP])
    assert any("protocol" in issue.field for issue in caught.value.issues)
    assert lab.policies("my-segment") == []
    probe = lab.probe("trusted/client", "my-segment/frontend", 80)
    assert probe.outcome is Outcome.ALLOWED


def test_delete_removes_and_reports_absence(lab: LabCluster) -> None:
    lab.apply(DENY_ALL_INGRESS)
    assert (
        probe_until(
            lab, "trusted/client", "my-segment/frontend", 80, "TCP", Outcome.BLOCKED
        ).outcome
        is Outcome.BLOCKED
    )
    assert lab.delete("NetworkPolicy", "deny-all", "my-segment") is True
    assert lab.policies("my-segment") == []
    assert lab.delete("NetworkPolicy", "deny-all", "my-segment") is False
    assert (
        probe_until(
            lab, "trusted/client", "my-segment/frontend", 80, "TCP", Outcome.ALLOWED
        ).outcome
        is Outcome.ALLOWED
    )


def test_missing_policy_is_a_clear_error(lab: LabCluster) -> None:
    with pytest.raises(LabkitError, match="does not exist"):
        lab.policy("nope", "my-segment")


# -- selection, labels and reachability ------------------------------------------------------------
def test_selected_pods_follow_the_pod_selector(lab: LabCluster) -> None:
    lab.apply(
        ingress_from(
            "only-frontend",
            {"role": "database"},
            {"podSelector": {"matchLabels": {"role": "frontend"}}},
        )
    )
    assert [p.key for p in lab.selected_pods("only-frontend", "my-segment")] == [
        "my-segment/database"
    ]


def test_namespace_label_changes_reachability(lab: LabCluster) -> None:
    """The tutorial's mistake: namespaces have no ``name`` label until someone adds one."""
    lab.apply(
        ingress_from(
            "from-trusted",
            {"role": "critical-app"},
            {"namespaceSelector": {"matchLabels": {"name": "trusted"}}},
        )
    )
    src, dst = "trusted/client", "my-segment/critical-app"
    assert probe_until(lab, src, dst, 80, "TCP", Outcome.BLOCKED).outcome is Outcome.BLOCKED
    lab.label("Namespace", "trusted", {"name": "trusted"})
    assert probe_until(lab, src, dst, 80, "TCP", Outcome.ALLOWED).outcome is Outcome.ALLOWED
    lab.label("Namespace", "trusted", {"name": None})
    assert "name" not in {ns.name: ns.label_map for ns in lab.namespaces()}["trusted"]
    assert probe_until(lab, src, dst, 80, "TCP", Outcome.BLOCKED).outcome is Outcome.BLOCKED


def test_pod_label_changes_reachability(lab: LabCluster) -> None:
    lab.apply(
        ingress_from(
            "db-clients",
            {"role": "database"},
            {"podSelector": {"matchLabels": {"db-access": "yes"}}},
        )
    )
    src, dst = "my-segment/backend", "my-segment/database"
    assert probe_until(lab, src, dst, 80, "TCP", Outcome.BLOCKED).outcome is Outcome.BLOCKED
    lab.label("Pod", "backend", {"db-access": "yes"}, "my-segment")
    assert probe_until(lab, src, dst, 80, "TCP", Outcome.ALLOWED).outcome is Outcome.ALLOWED
    lab.label("Pod", "backend", {"db-access": None}, "my-segment")
    assert probe_until(lab, src, dst, 80, "TCP", Outcome.BLOCKED).outcome is Outcome.BLOCKED


def test_describe_shows_the_policy(lab: LabCluster) -> None:
    lab.apply(
        ingress_from(
            "from-trusted",
            {"role": "critical-app"},
            {"namespaceSelector": {"matchLabels": {"name": "trusted"}}},
        )
    )
    text = lab.describe_policy("from-trusted", "my-segment")
    assert "from-trusted" in text and "my-segment" in text and "role=critical-app" in text


# -- probes ---------------------------------------------------------------------------------------
def test_probe_matrix_matches_the_prediction(lab: LabCluster) -> None:
    lab.apply(
        [DENY_ALL_INGRESS, ingress_from("web", {"role": "frontend"}, {"namespaceSelector": {}})]
    )
    probes = [ProbeSpec(80), ProbeSpec(81, "UDP"), ProbeSpec(9090)]  # type: ignore[arg-type]
    peers = list(LAB_PODS)
    probe_until(lab, "trusted/client", "my-segment/backend", 80, "TCP", Outcome.BLOCKED)
    observed = lab.probe_matrix(probes, peers=peers)
    predicted = lab.predicted_matrix(probes, peers=peers)
    for seen, want in zip(observed, predicted, strict=True):
        assert seen.peers == tuple(peers)
        assert seen.disagreements(want) == []
    tcp = observed[0]
    assert tcp.outcome("trusted/client", "my-segment/frontend") is Outcome.ALLOWED
    assert tcp.outcome("trusted/client", "my-segment/backend") is Outcome.BLOCKED
    assert tcp.outcome("my-segment/backend", "trusted/client") is Outcome.ALLOWED


def test_probe_to_a_missing_pod_fails_and_is_never_blocked(lab: LabCluster) -> None:
    result = lab.probe("trusted/client", "my-segment/no-such-pod", 80)
    assert result.outcome is Outcome.FAILED
    assert "no-such-pod" in result.detail
    result = lab.probe("nowhere/ghost", "my-segment/frontend", 80)
    assert result.outcome is Outcome.FAILED


def test_dns_egress_to_kube_dns(lab: LabCluster) -> None:
    dns = [p for p in lab.pods("kube-system") if p.label_map.get("k8s-app") == "kube-dns"]
    assert dns, "the cluster has no CoreDNS pods labelled k8s-app=kube-dns"
    lab.apply(
        netpol(
            "dns-only",
            "trusted",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        )
    )
    assert (
        probe_until(lab, "trusted/client", dns[0].key, 53, "UDP", Outcome.ALLOWED).outcome
        is Outcome.ALLOWED
    )
    assert (
        probe_until(
            lab, "trusted/client", "my-segment/frontend", 80, "TCP", Outcome.BLOCKED
        ).outcome
        is Outcome.BLOCKED
    )


# -- the tutorial ---------------------------------------------------------------------------------
PRODUCTION_POLICY = netpol(
    "production-policy",
    "my-segment",
    {
        "podSelector": {"matchLabels": {"role": "critical-app"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"name": "trusted"}}}]}],
        "egress": [{"to": [{"ipBlock": {"cidr": "192.168.2.0/24"}}]}],
    },
)
FIXED_POLICY = netpol(
    "production-policy",
    "my-segment",
    {
        **PRODUCTION_POLICY["spec"],
        "ingress": [
            {"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "trusted"}}}]}
        ],
    },
)


@pytest.mark.parametrize(
    ("policy", "src", "dst", "want"),
    [
        (PRODUCTION_POLICY, "trusted/client", "my-segment/critical-app", Outcome.BLOCKED),
        (PRODUCTION_POLICY, "untrusted/client", "my-segment/critical-app", Outcome.BLOCKED),
        (FIXED_POLICY, "trusted/client", "my-segment/critical-app", Outcome.ALLOWED),
        (FIXED_POLICY, "untrusted/client", "my-segment/critical-app", Outcome.BLOCKED),
        (FIXED_POLICY, "my-segment/critical-app", "backup-site/server", Outcome.ALLOWED),
        (FIXED_POLICY, "my-segment/critical-app", "my-segment/frontend", Outcome.BLOCKED),
    ],
    ids=[
        "mistake-trusted",
        "mistake-untrusted",
        "fix-trusted",
        "fix-untrusted",
        "egress-backup-site",
        "egress-elsewhere",
    ],
)
def test_teach_the_mistake(
    lab: LabCluster, policy: dict[str, Any], src: str, dst: str, want: Outcome
) -> None:
    lab.apply(policy)
    assert probe_until(lab, src, dst, 80, "TCP", want).outcome is want


@pytest.mark.parametrize(
    ("cidr", "src", "want"),
    [
        ("192.168.1.0/24", "branch-office/client", Outcome.ALLOWED),
        ("192.168.1.0/24", "trusted/client", Outcome.BLOCKED),
        ("192.168.10.0/24", "legacy-dc/client", Outcome.ALLOWED),
        ("192.168.10.0/24", "branch-office/client", Outcome.BLOCKED),
    ],
)
def test_tutorial_ip_blocks_hold_the_lab_pods(
    lab: LabCluster, cidr: str, src: str, want: Outcome
) -> None:
    lab.apply(ingress_from("from-block", {"role": "frontend"}, {"ipBlock": {"cidr": cidr}}))
    assert probe_until(lab, src, "my-segment/frontend", 80, "TCP", want).outcome is want
    pod_ip = {p.key: p.ip for p in lab.pods()}[src]
    assert pod_ip is not None and (pod_ip in ip_network(cidr)) is (want is Outcome.ALLOWED)


# -- reset ----------------------------------------------------------------------------------------
def test_reset_restores_the_topology(lab: LabCluster) -> None:
    lab.apply([DENY_ALL_INGRESS, PRODUCTION_POLICY])
    lab.label("Namespace", "trusted", {"name": "trusted"})
    lab.label("Pod", "frontend", {"role": None, "extra": "x"}, "my-segment")
    before = {p.key: p.ip for p in lab.pods()}
    lab.reset()
    assert [p for p in lab.policies() if p.namespace in LAB_NAMESPACES] == []
    assert "name" not in {ns.name: ns.label_map for ns in lab.namespaces()}["trusted"]
    frontend = {p.key: p for p in lab.pods()}["my-segment/frontend"]
    assert frontend.label_map.get("role") == "frontend" and "extra" not in frontend.label_map
    assert (
        probe_until(
            lab, "untrusted/client", "my-segment/critical-app", 80, "TCP", Outcome.ALLOWED
        ).outcome
        is Outcome.ALLOWED
    )
    assert {p.key: p.ip for p in lab.pods()} == before


def test_reset_removes_what_labkit_applied_and_its_labels(lab: LabCluster) -> None:
    """Every object applied through labkit carries the managed label, so ``reset`` finds it."""
    report = lab.apply(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, PRODUCTION_POLICY]
    )
    assert report.labelled == ("Namespace shop", "NetworkPolicy my-segment/production-policy")
    assert {ns.name: ns.label_map for ns in lab.namespaces()}["shop"][MANAGED_LABEL] == "true"
    lab.label("Namespace", "trusted", {"name": "trusted"})
    lab.label("Pod", "client", {"app": None}, "untrusted")
    lab.reset()
    assert lab.policies("my-segment") == []
    labels = {ns.name: ns.label_map for ns in lab.namespaces()}
    assert "name" not in labels["trusted"]
    assert {p.key: p for p in lab.pods()}["untrusted/client"].label_map["app"] == "client"


def test_reset_keeps_what_labkit_did_not_create(lab: LabCluster) -> None:
    """Another team's namespace, pod and policies (no managed label) survive ``reset``."""
    foreign_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "their-api", "namespace": "other-team", "labels": {"app": "api"}},
        "spec": {"containers": [{"name": "c", "image": AGNHOST_IMAGE, "args": ["pause"]}]},
    }
    foreign = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other-team"}},
        foreign_pod,
        netpol("their-deny", "other-team", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        netpol("their-deny", "my-segment", {"podSelector": {}, "policyTypes": ["Ingress"]}),
    ]
    add_foreign(lab, foreign)
    try:
        lab.apply(DENY_ALL_INGRESS)
        lab.reset()
        policies = {(p.namespace, p.name) for p in lab.policies()}
        assert ("my-segment", "deny-all") not in policies
        assert {("other-team", "their-deny"), ("my-segment", "their-deny")} <= policies
        assert "other-team" in {ns.name for ns in lab.namespaces()}
        assert "other-team/their-api" in {p.key for p in lab.pods("other-team")}
    finally:
        lab.delete("NetworkPolicy", "their-deny", "my-segment")
        lab.delete("Namespace", "other-team")
