"""Findings of the policy audit, and the facts every audit check reads.

Severities, from the most to the least urgent:

* ``high``: traffic the author meant to allow or restrict is not (a rule that silently opens
  nothing because of a label no namespace carries, DNS cut off by egress isolation).
* ``medium``: a likely mistake or a gap with a real effect (no default-deny ingress, a policy
  or peer that selects nothing, an ipBlock that holds pod addresses, rules that are ignored).
* ``low``: worth a look (egress default-deny missing, broad rules, shadowed policies).
* ``info``: for the record (defaulted ``policyTypes``, namespaces labkit does not manage).

System namespaces (``kube-system`` and friends) and, when the inventory comes from a cluster
where labkit marks its own namespaces with ``labkit.dev/managed=true``, the namespaces without
that label are *unmanaged*: missing default-deny policies there are ``info`` and a policy
selecting nothing there is ``low``, because the lab does not own them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from labkit.engine.evaluator import Engine
from labkit.engine.pod_lookup import PodLookup
from labkit.model.inventory import Inventory
from labkit.model.objects import MANAGED_LABEL, SYSTEM_NAMESPACES, Pod
from labkit.model.policy import NetworkPolicy

SEVERITIES: tuple[str, ...] = ("high", "medium", "low", "info")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}


DNS_LABEL = ("k8s-app", "kube-dns")
"""The label of the cluster DNS pods (CoreDNS keeps kube-dns's label for compatibility)."""

CODES: dict[str, str] = {
    "missing-default-deny-ingress": "namespace has no policy that isolates every pod for ingress",
    "missing-default-deny-egress": "namespace has no policy that isolates every pod for egress",
    "policy-selects-nothing": "spec.podSelector matches no pod of the policy's namespace",
    "namespace-label-unknown": "namespaceSelector needs a label no namespace carries",
    "peer-matches-nothing": "a from/to selector matches no pod (or no namespace)",
    "rule-allows-all": "a rule with no peers and no ports: every source/destination, every port",
    "rule-any-peer": "a rule with no peers: every source/destination on its ports",
    "peer-all-namespaces": "namespaceSelector {}: every pod of every namespace",
    "broad-ipblock": "ipBlock 0.0.0.0/0, ::/0 or a prefix shorter than /8",
    "ipblock-matches-pods": "ipBlock contains pod addresses (ipBlock applies to pods too)",
    "named-port-unresolved": "a port name that no destination pod declares opens nothing",
    "egress-rules-ignored": "spec.egress rules while policyTypes lacks Egress",
    "ingress-rules-ignored": "spec.ingress rules while policyTypes lacks Ingress",
    "policy-types-defaulted": "policyTypes not set; the API server's default applies",
    "egress-without-dns": "egress-isolated pods with no rule allowing UDP 53 to the cluster DNS",
    "policy-shadowed": "everything the policy allows is allowed by others; removing it changes nothing",
}


@dataclass(frozen=True)
class Finding:
    """One audit finding: how bad, which check, where, what, and how to fix it."""

    severity: str
    code: str
    object: str
    message: str
    fix: str
    field: str = ""

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (SEVERITY_RANK[self.severity], self.code, self.object, self.field, self.message)

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "code": self.code,
            "object": self.object,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }

    def __str__(self) -> str:
        where = f"{self.object} {self.field}".strip()
        return f"{self.severity.upper()} {self.code}: {where}: {self.message}\n    fix: {self.fix}"


def policy_title(policy: NetworkPolicy) -> str:
    return f"NetworkPolicy {policy.key}"


class AuditContext:
    """The inventory, an engine over it, and lookups the checks share."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.engine = Engine(inventory)
        pods: dict[str, list[Pod]] = defaultdict(list)
        for pod in inventory.pods:
            pods[pod.namespace].append(pod)
        self.pods_by_namespace: dict[str, list[Pod]] = dict(pods)
        self.lookup = PodLookup(inventory.pods, self.engine.namespace_labels)

    @cached_property
    def namespace_label_keys(self) -> frozenset[str]:
        return frozenset(k for labels in self.engine.namespace_labels.values() for k in labels)

    @cached_property
    def lab_marks_namespaces(self) -> bool:
        """True when some namespace carries ``labkit.dev/managed`` (a cluster inventory)."""
        return any(MANAGED_LABEL in labels for labels in self.engine.namespace_labels.values())

    def managed(self, namespace: str) -> bool:
        """Is ``namespace`` the lab's own (not a system namespace, and marked when marks exist)?"""
        if namespace in SYSTEM_NAMESPACES:
            return False
        if not self.lab_marks_namespaces:
            return True
        return self.engine.namespace_labels.get(namespace, {}).get(MANAGED_LABEL) == "true"

    def pods_in(self, namespace: str) -> list[Pod]:
        return self.pods_by_namespace.get(namespace, [])

    def selected(self, policy: NetworkPolicy) -> list[Pod]:
        """Pods that ``spec.podSelector`` selects (its own namespace only)."""
        return self.lookup.selected(policy)

    @cached_property
    def dns_pods(self) -> list[Pod]:
        key, value = DNS_LABEL
        return [p for p in self.inventory.pods if p.label_map.get(key) == value]


def pod_list(pods: list[Pod], limit: int = 6) -> str:
    """``a/x, a/y`` with ``and N more`` past ``limit``."""
    keys = [p.key for p in pods]
    if len(keys) <= limit:
        return ", ".join(keys)
    return ", ".join(keys[:limit]) + f" and {len(keys) - limit} more"
