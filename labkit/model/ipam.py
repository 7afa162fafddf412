"""Deterministic pod addresses for pods that come without ``status.podIP``.

A pod's address is derived from a hash of ``namespace/name`` inside its pool, probing forward
past taken addresses, so the same manifests always give the same addresses and adding a pod
moves no other pod (unless the new pod hashes to an address already in use and sorts before its
holder: rare in a large pool, and no allocation that depends only on the set of pods can avoid
it). Pools follow Calico's model: a default pool (the pod CIDR) and optional
pools assigned to namespaces (``cni.projectcalico.org/ipv4pools``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network

from labkit.errors import ManifestError
from labkit.model.objects import IPAddress

DEFAULT_POD_CIDR = "10.244.0.0/16"
"""kind's default podSubnet; the lab's Calico cluster uses its own plan (``clusters/``)."""


@dataclass(frozen=True)
class IPPlan:
    """Where pod addresses come from: a default pool and per-namespace pools."""

    default_cidr: str = DEFAULT_POD_CIDR
    namespace_cidrs: tuple[tuple[str, str], ...] = ()

    def pool_for(self, namespace: str) -> IPv4Network | IPv6Network:
        cidr = dict(self.namespace_cidrs).get(namespace, self.default_cidr)
        try:
            return ip_network(cidr, strict=False)
        except ValueError:
            raise ManifestError(
                f"pod CIDR {cidr!r} is not a CIDR",
                hint="use a block such as 10.244.0.0/16 for --pod-cidr",
            ) from None

    def allocate(
        self, pods: Iterable[tuple[str, str]], taken: Iterable[IPAddress] = ()
    ) -> dict[tuple[str, str], IPAddress]:
        """Give each ``(namespace, name)`` an address, avoiding ``taken``."""
        out: dict[tuple[str, str], IPAddress] = {}
        wanted = sorted(set(pods))
        if not wanted:
            return out
        # imported here: loading OpenSSL costs ~2 ms, and pods with status.podIP never need it
        from hashlib import sha256

        used: set[IPAddress] = set(taken)
        for namespace, name in wanted:
            pool = self.pool_for(namespace)
            hosts = pool.num_addresses - 2 if pool.num_addresses > 2 else pool.num_addresses
            if hosts <= 0 or len(used) >= pool.num_addresses:
                raise ManifestError(
                    f"pool {pool} has no free address for pod {namespace}/{name}",
                    hint="use a larger --pod-cidr",
                )
            digest = int.from_bytes(sha256(f"{namespace}/{name}".encode()).digest()[:8])
            offset = digest % hosts
            first = 1 if pool.num_addresses > 2 else 0
            for step in range(hosts):
                candidate = pool.network_address + first + (offset + step) % hosts
                if candidate not in used:
                    used.add(candidate)
                    out[(namespace, name)] = candidate
                    break
            else:
                raise ManifestError(
                    f"pool {pool} is full; cannot place pod {namespace}/{name}",
                    hint="use a larger --pod-cidr",
                )
        return out
