"""Endpoints of traffic: a pod, or an address that is not a pod (``ip:<address>``).

A ``hostNetwork`` pod is a pod by name but not on the pod network: Calico makes no workload
endpoint for it (``Converter.IsValidCalicoWorkloadEndpoint`` in
``libcalico-go/lib/backend/k8s/conversion/conversion.go``: "Pod is host networked") and the
Kubernetes docs leave NetworkPolicy for such pods undefined, "in the most common case"
ignored by ``podSelector``; its traffic is its node's. So, like an ``ip:`` address, it has
no policy side of its own and only an ``ipBlock`` holding its node's address can match it
(:func:`on_pod_network` tells the two kinds of pods apart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from labkit.errors import UnknownPeer
from labkit.model.inventory import Inventory
from labkit.model.objects import IPAddress, Pod
from labkit.model.policy import parse_address


@dataclass(frozen=True)
class External:
    """An address outside the pod network: it has no ingress or egress side of its own."""

    ip: IPAddress

    @property
    def key(self) -> str:
        return f"ip:{self.ip}"

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        return (self.ip,)


Endpoint = Pod | External


def on_pod_network(endpoint: Endpoint) -> TypeGuard[Pod]:
    """A pod that NetworkPolicy selectors can select: not an address, not ``hostNetwork``."""
    return isinstance(endpoint, Pod) and not endpoint.host_network


def host_network_text(pod: Pod) -> str:
    """What ``explain`` says about a ``hostNetwork`` pod (see the module docstring)."""
    where = f" ({pod.ip})" if pod.ip is not None else ""
    return (
        f"{pod.key} uses the host network: no NetworkPolicy selects it; its traffic is the "
        f"node's{where}"
    )


def service_at(inventory: Inventory, address: IPAddress) -> str | None:
    """The ``namespace/name`` of the Service whose ClusterIP is ``address``, if any."""
    for service in inventory.services:
        if address in service.cluster_ips:
            return service.key
    return None


def resolve_endpoint(inventory: Inventory, text: str) -> Endpoint:
    """``ns/pod``, ``ip:1.2.3.4`` or a bare address; any address a pod on the pod network
    owns (``status.podIPs``) resolves to the pod.

    A Service's ClusterIP is no endpoint: traffic to it is rewritten to a backend pod before
    policy applies (conformance rule 13), so it raises :class:`UnknownPeer` naming the
    Service (write ``svc:NAMESPACE/NAME``, see :mod:`labkit.engine.services`).
    """
    raw = text.strip()
    candidate = raw[3:] if raw.startswith("ip:") else raw
    if raw.startswith("ip:") or all(c.isdigit() or c in ".:abcdefABCDEF" for c in raw):
        try:
            address = parse_address(candidate)
        except ValueError as exc:
            if raw.startswith("ip:"):
                raise UnknownPeer(str(exc)) from None
        else:
            for pod in inventory.pods:
                if address in pod.addresses and not pod.host_network:
                    return pod
            service = service_at(inventory, address)
            if service is not None:
                raise UnknownPeer(
                    f"{address} is the ClusterIP of service {service}: traffic to it is judged "
                    f"on the Service's backend pods, so write svc:{service}"
                )
            return External(address)
    return inventory.pod(raw)
