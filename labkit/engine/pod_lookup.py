"""Which pods a selector or an ipBlock matches, answered from indexes (for the audit).

Pods of one namespace with the same labels are one *group*: a selector is evaluated once per
group, not once per pod. Addresses are kept sorted per IP family, so the pods inside a CIDR
are found by bisection and only they are checked against ``except``. The answers are those of
:func:`labkit.engine.compiled.peer_matches` (rule 4: ``podSelector`` alone means the policy's
namespace, ``namespaceSelector`` alone every pod of the matching namespaces, both is AND;
rule 8: ``ipBlock`` applies to pod addresses, every address of a dual-stack pod). A
``hostNetwork`` pod is in no group (selectors never match it) but its node's address is
indexed, as an ``ipBlock`` may hold it (see :mod:`labkit.engine.endpoints`).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence

from labkit.model.labels import EVERYTHING, LabelSelector
from labkit.model.objects import Pod
from labkit.model.policy import IPBlock, NetworkPolicy, Peer

Group = tuple[dict[str, str], list[Pod]]


class PodLookup:
    """Indexes over ``pods`` and the namespaces' labels, with cached answers."""

    def __init__(
        self, pods: Sequence[Pod], namespace_labels: Mapping[str, Mapping[str, str]]
    ) -> None:
        self.namespace_labels = namespace_labels
        grouped: dict[str, dict[tuple[tuple[str, str], ...], list[Pod]]] = defaultdict(dict)
        for pod in pods:
            if not pod.host_network:
                grouped[pod.namespace].setdefault(pod.labels, []).append(pod)
        self.groups: dict[str, list[Group]] = {
            ns: [(dict(labels), members) for labels, members in by_labels.items()]
            for ns, by_labels in grouped.items()
        }
        by_family: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for index, pod in enumerate(pods):
            for address in pod.addresses:
                by_family[address.version].append((int(address), index))
        self._pods = list(pods)
        self._sorted = {v: sorted(items) for v, items in by_family.items()}
        self._keys = {v: [a for a, _ in items] for v, items in self._sorted.items()}
        self._namespaces: dict[LabelSelector, list[str]] = {}
        self._peers: dict[tuple[Peer, str], list[Pod]] = {}

    def namespaces(self, selector: LabelSelector) -> list[str]:
        """Names of the namespaces whose labels ``selector`` matches, sorted."""
        found = self._namespaces.get(selector)
        if found is None:
            found = sorted(ns for ns, lab in self.namespace_labels.items() if selector.matches(lab))
            self._namespaces[selector] = found
        return found

    def in_namespaces(self, selector: LabelSelector, namespaces: Sequence[str]) -> list[Pod]:
        """Pods of ``namespaces`` whose labels ``selector`` matches, by namespace and name."""
        found = [
            pod
            for ns in namespaces
            for labels, members in self.groups.get(ns, [])
            if selector.matches(labels)
            for pod in members
        ]
        return sorted(found, key=lambda p: (p.namespace, p.name))

    def selected(self, policy: NetworkPolicy) -> list[Pod]:
        """Pods that ``spec.podSelector`` selects (its own namespace only)."""
        return self.in_namespaces(policy.pod_selector, [policy.namespace])

    def in_block(self, block: IPBlock) -> list[Pod]:
        """Pods whose address is in ``block`` (and in none of its ``except`` ranges)."""
        keys = self._keys.get(block.cidr.version)
        if keys is None:
            return []
        lo = bisect.bisect_left(keys, int(block.cidr.network_address))
        hi = bisect.bisect_right(keys, int(block.cidr.broadcast_address))
        indexes = {i for _, i in self._sorted[block.cidr.version][lo:hi]}
        found = [self._pods[i] for i in indexes]
        if block.excepts:
            found = [p for p in found if any(block.contains(a) for a in p.addresses)]
        return sorted(found, key=lambda p: (p.namespace, p.name))

    def matching(self, peer: Peer, policy_namespace: str) -> list[Pod]:
        """Pods that one ``from``/``to`` entry of a policy in ``policy_namespace`` matches."""
        key = (peer, policy_namespace)
        found = self._peers.get(key)
        if found is None:
            if peer.ip_block is not None:
                found = self.in_block(peer.ip_block)
            else:
                namespaces = (
                    [policy_namespace]
                    if peer.namespace_selector is None
                    else self.namespaces(peer.namespace_selector)
                )
                found = self.in_namespaces(peer.pod_selector or EVERYTHING, namespaces)
            self._peers[key] = found
        return found
