"""Policies normalised once into small matchers (target, peer, port).

The shape follows cyclonus' ``pkg/matcher``: a policy becomes a target (which pods it
isolates, per direction) and rules; a rule becomes peer matchers and a port matcher. Each
matcher answers one question and cites the Kubernetes rule it implements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from labkit.engine.endpoints import Endpoint, on_pod_network
from labkit.engine.portset import ALL, NOTHING, PortSet
from labkit.model.labels import LabelSelector
from labkit.model.objects import Pod
from labkit.model.policy import Direction, NetworkPolicy, Peer, Rule
from labkit.model.ports import MAX_PORT, MIN_PORT, PolicyPort, Protocol

NamespaceLabels = Mapping[str, Mapping[str, str]]


def peer_matches(
    peer: Peer, endpoint: Endpoint, policy_namespace: str, ns_labels: NamespaceLabels
) -> bool:
    """Does one ``from``/``to`` entry match ``endpoint``?

    Kubernetes (API reference, ``NetworkPolicyPeer``): ``ipBlock`` matches any address in
    ``cidr`` outside every ``except``, pod IPs included; ``podSelector`` alone selects pods in
    the policy's namespace; ``namespaceSelector`` alone selects every pod of the matching
    namespaces; both together select matching pods in matching namespaces. Selectors never
    match an address that is not a pod, nor a ``hostNetwork`` pod (its traffic is its node's:
    see :mod:`labkit.engine.endpoints`). A pod with several addresses (``status.podIPs``,
    dual-stack) matches an ``ipBlock`` holding any of them: it can send and receive from each.
    """
    if peer.ip_block is not None:
        block = peer.ip_block
        return any(block.contains(address) for address in endpoint.addresses)
    if not on_pod_network(endpoint):
        return False
    if peer.namespace_selector is None:
        if endpoint.namespace != policy_namespace:
            return False
    elif not peer.namespace_selector.matches(ns_labels.get(endpoint.namespace, {})):
        return False
    return peer.pod_selector is None or peer.pod_selector.matches(endpoint.label_map)


def port_entry_set(entry: PolicyPort, destination: Endpoint) -> PortSet:
    """The ports one ``ports[]`` entry opens towards ``destination``.

    * no ``port``: every port of ``protocol`` (conformance rule 7);
    * a number, with ``endPort`` an inclusive range (rule 11);
    * a name: resolved on the destination pod's container ports by name and protocol, for
      ingress and egress alike; an unresolved name opens nothing (rule 6). A name declared
      on several containers (sidecar and other init containers included) opens every number
      it names, as Calico does (:meth:`Pod.named_port_numbers`); an address or a
      ``hostNetwork`` pod has no named ports (Calico maps them from workload endpoints only).
    """
    port = entry.port
    if port is None:
        return PortSet.of(entry.protocol)
    if isinstance(port, int):
        return PortSet.of(entry.protocol, port, entry.end_port if entry.end_port else port)
    if not on_pod_network(destination):
        return NOTHING
    result = NOTHING
    for number in destination.named_port_numbers(port, entry.protocol):
        result = result | PortSet.of(entry.protocol, number, number)
    return result


def rule_ports(rule: Rule, destination: Endpoint) -> PortSet:
    """An empty ``ports`` list opens every port and protocol."""
    if not rule.ports:
        return ALL
    result = NOTHING
    for entry in rule.ports:
        result = result | port_entry_set(entry, destination)
    return result


def rule_named_ports(rule: Rule) -> frozenset[tuple[str, Protocol]]:
    return frozenset((p.port, p.protocol) for p in rule.ports if isinstance(p.port, str))


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its policy and index, the unit of evidence."""

    policy: NetworkPolicy
    direction: Direction
    index: int
    rule: Rule

    @property
    def allows_all_peers(self) -> bool:
        return not self.rule.peers

    @property
    def ref(self) -> str:
        field = "ingress" if self.direction is Direction.INGRESS else "egress"
        return f"{self.policy.key} {field}[{self.index}]"

    def peer_matches(self, endpoint: Endpoint, ns_labels: NamespaceLabels) -> bool:
        if not self.rule.peers:
            return True
        return any(
            peer_matches(peer, endpoint, self.policy.namespace, ns_labels)
            for peer in self.rule.peers
        )


@dataclass(frozen=True)
class CompiledPolicy:
    policy: NetworkPolicy
    ingress: tuple[CompiledRule, ...]
    egress: tuple[CompiledRule, ...]

    def selects(self, pod: Pod) -> bool:
        """``spec.podSelector`` selects pods of the policy's own namespace only, and never a
        ``hostNetwork`` pod (see :mod:`labkit.engine.endpoints`)."""
        return (
            pod.namespace == self.policy.namespace
            and not pod.host_network
            and self.policy.pod_selector.matches(pod.label_map)
        )

    def rules(self, direction: Direction) -> tuple[CompiledRule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress


def compile_policy(policy: NetworkPolicy) -> CompiledPolicy:
    """Rules count only for the directions in ``policyTypes`` (an ``egress`` section of a
    policy whose ``policyTypes`` is ``[Ingress]`` is ignored, as the API documents)."""
    ingress = (
        tuple(CompiledRule(policy, Direction.INGRESS, i, r) for i, r in enumerate(policy.ingress))
        if Direction.INGRESS in policy.policy_types
        else ()
    )
    egress = (
        tuple(CompiledRule(policy, Direction.EGRESS, i, r) for i, r in enumerate(policy.egress))
        if Direction.EGRESS in policy.policy_types
        else ()
    )
    return CompiledPolicy(policy, ingress, egress)


def selector_is_everything(selector: LabelSelector | None) -> bool:
    return selector is not None and selector.is_empty


FULL_RANGE = (MIN_PORT, MAX_PORT)
