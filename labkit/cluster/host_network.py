"""Does the host's own network collide with the lab's pod CIDR? (a `labkit doctor` check)"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

LAB_POD_CIDR = IPv4Network("192.168.0.0/16")
"""kind's podSubnet and Calico's pools (clusters/kind/*.yaml)."""
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
