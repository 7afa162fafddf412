"""NetworkPolicy, normalised and defaulted (``networking.k8s.io/v1``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_address

from labkit.model.labels import LabelSelector
from labkit.model.objects import IPAddress
from labkit.model.ports import PolicyPort

IPNetwork = IPv4Network | IPv6Network


class Direction(StrEnum):
    INGRESS = "Ingress"
    EGRESS = "Egress"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class IPBlock:
    """``ipBlock``: addresses in ``cidr`` but in none of ``excepts``.

    Kubernetes applies ipBlock to any address, pod IPs included (upstream e2e
    ``should allow egress access to server in CIDR block``; conformance rule 8). A CIDR with
    host bits set is masked (``10.0.0.5/24`` means ``10.0.0.0/24``) where the version accepts it.
    """

    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()
    raw: str = ""

    def contains(self, address: IPAddress) -> bool:
        if address.version != self.cidr.version or address not in self.cidr:
            return False
        return not any(address in ex for ex in self.excepts)

    def __str__(self) -> str:
        text = self.raw or str(self.cidr)
        if self.excepts:
            text += " except " + ", ".join(str(e) for e in self.excepts)
        return text


@dataclass(frozen=True)
class Peer:
    """One ``from``/``to`` entry.

    * ``pod_selector`` alone: pods of the policy's own namespace.
    * ``namespace_selector`` alone: every pod of the matching namespaces.
    * both: pods matching ``pod_selector`` in namespaces matching ``namespace_selector`` (AND).
    * ``ip_block``: addresses; never combined with a selector (the API server rejects it).
    """

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule.

    An empty ``peers`` tuple means every source/destination (``from``/``to`` omitted or
    empty), an empty ``ports`` tuple means every port and protocol (``ports`` omitted or
    empty): API reference, ``NetworkPolicyIngressRule``.
    """

    peers: tuple[Peer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True)
class NetworkPolicy:
    """A defaulted NetworkPolicy.

    ``policy_types`` already carries the API server's default (``SetDefaults_NetworkPolicy``):
    ``[Ingress]``, plus ``Egress`` when ``spec.egress`` has at least one rule; an explicit
    non-empty list is kept as written.
    """

    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: frozenset[Direction]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    policy_types_defaulted: bool = False
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def affects(self, direction: Direction) -> bool:
        return direction in self.policy_types

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress


_ADDRESSES: dict[str, IPAddress] = {}
"""Addresses parsed so far (they are immutable): building an inventory reads each pod's address
twice, once to check it and once to place the pod."""
_ADDRESSES_MAX = 16384


def parse_address(text: str) -> IPAddress:
    """Parse an IPv4 or IPv6 address; raises ``ValueError`` with the offending text."""
    known = _ADDRESSES.get(text)
    if known is not None:
        return known
    try:
        address = ip_address(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address (write it like 10.0.0.5)") from None
    if len(_ADDRESSES) >= _ADDRESSES_MAX:
        _ADDRESSES.clear()
    _ADDRESSES[text] = address
    return address
