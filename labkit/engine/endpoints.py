"""Endpoints of traffic: a pod, or an address that is not a pod (``ip:<address>``)."""

from __future__ import annotations

from dataclasses import dataclass

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


Endpoint = Pod | External


def resolve_endpoint(inventory: Inventory, text: str) -> Endpoint:
    """``ns/pod``, ``ip:1.2.3.4`` or a bare address; a pod's own IP resolves to the pod."""
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
                if pod.ip == address:
                    return pod
            return External(address)
    return inventory.pod(raw)
