"""Namespaces, pods and policies as ``kubectl get`` shows them: tables and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labkit.model.labels import LabelSelector
from labkit.model.objects import Namespace, Pod
from labkit.model.policy import Direction, NetworkPolicy, Peer, Rule
from labkit.model.ports import PolicyPort


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns separated by three spaces, left aligned, as kubectl prints them."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        "   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines)


def labels_text(labels: Sequence[tuple[str, str]]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels) or "<none>"


def namespace_rows(namespaces: Sequence[Namespace], show_labels: bool) -> str:
    headers = ["NAME", *(["LABELS"] if show_labels else [])]
    rows = [[ns.name, *([labels_text(ns.labels)] if show_labels else [])] for ns in namespaces]
    return table(headers, rows)


def pod_rows(pods: Sequence[Pod], *, all_namespaces: bool, wide: bool, show_labels: bool) -> str:
    headers = [*(["NAMESPACE"] if all_namespaces else []), "NAME", "IP"]
    if wide:
        headers += ["NODE", "PORTS"]
    if show_labels:
        headers.append("LABELS")
    rows = []
    for pod in pods:
        row = [
            *([pod.namespace] if all_namespaces else []),
            pod.name,
            str(pod.ip) if pod.ip else "<none>",
        ]
        if wide:
            ports = ",".join(
                f"{p.port}/{p.protocol.value}" + (f"({p.name})" if p.name else "")
                for p in pod.ports
            )
            row += [pod.node or "<none>", ports or "<none>"]
        if show_labels:
            row.append(labels_text(pod.labels))
        rows.append(row)
    return table(headers, rows)


def policy_rows(policies: Sequence[NetworkPolicy], *, all_namespaces: bool, wide: bool) -> str:
    """``NAME POD-SELECTOR`` (kubectl's columns, without AGE); wide adds the policy types."""
    headers = [*(["NAMESPACE"] if all_namespaces else []), "NAME", "POD-SELECTOR"]
    if wide:
        headers.append("POLICY-TYPES")
    rows = []
    for pol in policies:
        row = [*([pol.namespace] if all_namespaces else []), pol.name, str(pol.pod_selector)]
        if wide:
            row.append(
                ",".join(
                    d.value for d in (Direction.INGRESS, Direction.EGRESS) if d in pol.policy_types
                )
            )
        rows.append(row)
    return table(headers, rows)


# -- JSON ----------------------------------------------------------------------------------------
def selector_json(selector: LabelSelector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if selector.match_labels:
        out["matchLabels"] = dict(selector.match_labels)
    if selector.match_expressions:
        out["matchExpressions"] = [
            {
                "key": r.key,
                "operator": r.operator.value,
                **({"values": sorted(r.values)} if r.values else {}),
            }
            for r in selector.match_expressions
        ]
    return out


def _peer_json(peer: Peer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if peer.pod_selector is not None:
        out["podSelector"] = selector_json(peer.pod_selector)
    if peer.namespace_selector is not None:
        out["namespaceSelector"] = selector_json(peer.namespace_selector)
    if peer.ip_block is not None:
        block: dict[str, Any] = {"cidr": peer.ip_block.raw or str(peer.ip_block.cidr)}
        if peer.ip_block.excepts:
            block["except"] = [str(e) for e in peer.ip_block.excepts]
        out["ipBlock"] = block
    return out


def _port_json(port: PolicyPort) -> dict[str, Any]:
    out: dict[str, Any] = {"protocol": port.protocol.value}
    if port.port is not None:
        out["port"] = port.port
    if port.end_port is not None:
        out["endPort"] = port.end_port
    return out


def _rule_json(rule: Rule, peer_key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.peers:
        out[peer_key] = [_peer_json(p) for p in rule.peers]
    if rule.ports:
        out["ports"] = [_port_json(p) for p in rule.ports]
    return out


def policy_json(policy: NetworkPolicy) -> dict[str, Any]:
    """The policy as the API server returns it: defaults filled in (``policyTypes``,
    ``protocol``), so applying this object gives the same policy."""
    spec: dict[str, Any] = {"podSelector": selector_json(policy.pod_selector)}
    if Direction.INGRESS in policy.policy_types:
        spec["ingress"] = [_rule_json(r, "from") for r in policy.ingress]
    if Direction.EGRESS in policy.policy_types:
        spec["egress"] = [_rule_json(r, "to") for r in policy.egress]
    spec["policyTypes"] = [
        d.value for d in (Direction.INGRESS, Direction.EGRESS) if d in policy.policy_types
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": policy.name, "namespace": policy.namespace},
        "spec": spec,
    }


def namespace_json(ns: Namespace) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns.name, "labels": dict(ns.labels)},
    }


def pod_json(pod: Pod) -> dict[str, Any]:
    """The pod's Kubernetes fields labkit knows (name, labels, node, address); its container
    ports and owning workload under ``labkit`` (not a Kubernetes field)."""
    extra: dict[str, Any] = {
        "containerPorts": [
            {
                **({"name": p.name} if p.name else {}),
                "containerPort": p.port,
                "protocol": p.protocol.value,
            }
            for p in pod.ports
        ]
    }
    if pod.workload:
        extra["workload"] = pod.workload
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": dict(pod.labels)},
        **({"spec": {"nodeName": pod.node}} if pod.node else {}),
        "status": {"podIP": str(pod.ip) if pod.ip else None},
        "labkit": extra,
    }


def list_json(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items)}
