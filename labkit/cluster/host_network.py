"""Does the host's own network, or kind's container network, collide with the lab's pod
CIDR? (`labkit doctor` checks, and a refusal in `labkit up`)"""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from labkit.model.ippools import LAB_POD_CIDR as POD_CIDR

LAB_POD_CIDR = IPv4Network(POD_CIDR)
"""kind's podSubnet and Calico's pools (the address plan, :mod:`labkit.model.ippools`)."""
_CLUSTER_IFACES = ("docker", "br-", "veth", "cali", "vxlan", "tunl", "kind", "cni", "flannel")


def host_networks_in_pod_cidr(proc_root: Path) -> list[tuple[str, IPv4Network]]:
    """Host routes (``/proc/net/route``) that overlap the lab's pod CIDR, skipping container
    and CNI interfaces: such a LAN (home routers often use 192.168.x.x) is unreachable from
    pods, because pod traffic to those addresses stays inside the cluster."""
    try:
        lines = (proc_root / "net" / "route").read_text().splitlines()[1:]
    except OSError:
        return []
    found: list[tuple[str, IPv4Network]] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 8 or fields[0].startswith(_CLUSTER_IFACES):
            continue
        try:
            dest = IPv4Address(bytes.fromhex(fields[1])[::-1])
            mask = IPv4Address(bytes.fromhex(fields[7])[::-1])
            network = IPv4Network(f"{dest}/{mask}", strict=False)
        except ValueError:
            continue
        if network.prefixlen > 0 and network.overlaps(LAB_POD_CIDR):
            found.append((fields[0], network))
    return found


KIND_NETWORK = "kind"
"""kind puts every node container on this engine network (created on first use, reused when
it exists: ``pkg/cluster/internal/providers/docker/network.go``, ``ensureNetwork``)."""


def parse_network_subnets(text: str) -> list[IPv4Network | IPv6Network]:
    """The subnets of ``docker network inspect`` (``IPAM.Config[].Subnet``) or ``podman
    network inspect`` (``subnets[].subnet``) output; ``[]`` when there are none."""
    try:
        data: Any = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    found: list[IPv4Network | IPv6Network] = []
    for net in data if isinstance(data, list) else [data]:
        if not isinstance(net, dict):
            continue
        entries = ((net.get("IPAM") or {}).get("Config") or []) + (net.get("subnets") or [])
        for entry in entries:
            raw = (entry or {}).get("Subnet") or (entry or {}).get("subnet")
            try:
                found.append(ip_network(str(raw), strict=False))
            except ValueError:
                continue
    return found


def overlapping_pod_cidr(
    subnets: list[IPv4Network | IPv6Network],
) -> list[IPv4Network | IPv6Network]:
    """The subnets that overlap the lab's pod CIDR: node addresses inside the pod CIDR break
    routing between nodes and pods (Calico's docs: pod CIDR and node network must not
    overlap)."""
    return [n for n in subnets if n.version == 4 and n.overlaps(LAB_POD_CIDR)]
