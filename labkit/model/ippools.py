"""Calico IP pools: the lab's own (package data) and those the input declares.

An IP pool (``projectcalico.org/v3`` or ``crd.projectcalico.org/v1`` ``IPPool``) is a block
pods get addresses from. Fields read, with Calico's defaults (``api/pkg/apis/projectcalico/v3/
ippool.go``; ``libcalico-go/lib/clientv3/ippool.go: validateAndSetDefaults``):

* ``spec.cidr`` (required); two pools never overlap (Calico refuses the second one:
  ``IPPool(b) CIDR overlaps with IPPool(a) CIDR ...``).
* ``spec.blockSize`` (26 for IPv4, 122 for IPv6), ``spec.disabled`` (false),
  ``spec.assignmentMode`` (``Automatic``; ``Manual`` pools serve only pods that ask for them),
  ``spec.nodeSelector`` (``all()``; ``!all()`` selects no node, so only requests use the pool),
  ``spec.allowedUses`` (``[Workload, Tunnel]``; without ``Workload`` no pod gets an address).

The lab's pools ship in ``labkit/model/data/lab-ippools.yaml`` and are known on every path
without being passed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from labkit.errors import ManifestError
from labkit.model.loader import RawObject, load_paths

LAB_POD_CIDR = "192.168.0.0/16"
"""kind's ``networking.podSubnet`` for the lab; every lab pool lies inside it."""
POOLS_ANNOTATION = "cni.projectcalico.org/ipv4pools"
"""On a namespace or pod: the IPv4 pools (names or CIDRs, a JSON list) its pods take."""
IPPOOL_API_VERSIONS = frozenset({"projectcalico.org/v3", "crd.projectcalico.org/v1"})
LAB_POOLS_FILE = Path(__file__).resolve().parent / "data" / "lab-ippools.yaml"

Network = IPv4Network | IPv6Network


@dataclass(frozen=True)
class IPPool:
    """One Calico IP pool."""

    name: str
    cidr: Network
    block_size: int = 26
    disabled: bool = False
    manual: bool = False
    """``assignmentMode: Manual``: only pods that request the pool get its addresses."""
    node_selector: str = "all()"
    workloads: bool = True
    """``allowedUses`` includes ``Workload``."""
    source: str = ""

    @property
    def automatic(self) -> bool:
        """Calico gives its addresses to pods that request no pool: enabled, ``Automatic``,
        for workloads, and selecting some node (``ipam.go: determinePools``)."""
        return (
            not self.disabled
            and not self.manual
            and self.workloads
            and self.node_selector.replace(" ", "") != "!all()"
        )


def is_ippool(raw: RawObject) -> bool:
    return raw.kind == "IPPool" and raw.api_version in IPPOOL_API_VERSIONS


def _fail(raw: RawObject, field: str, message: str, hint: str) -> ManifestError:
    return ManifestError(
        message, file=raw.location, object=f"IPPool {raw.name}", field=field, hint=hint
    )


def parse_ippool(raw: RawObject) -> IPPool:
    """An ``IPPool`` object as an :class:`IPPool`; :class:`ManifestError` naming the field."""
    spec: Any = raw.data.get("spec")
    if not isinstance(spec, dict):
        raise _fail(raw, "spec", "must be a mapping", "give the pool a spec with its cidr")
    try:
        cidr = ip_network(str(spec.get("cidr")), strict=False)
    except ValueError:
        raise _fail(
            raw,
            "spec.cidr",
            f"{spec.get('cidr')!r} is not a CIDR",
            "write a block such as 192.168.1.0/24",
        ) from None
    block = spec.get("blockSize", 26 if cidr.version == 4 else 122)
    if not isinstance(block, int) or isinstance(block, bool) or not 0 < block <= cidr.max_prefixlen:
        raise _fail(raw, "spec.blockSize", f"invalid value {block!r}", "use 26 (IPv4) or 122")
    mode = spec.get("assignmentMode") or "Automatic"
    if mode not in ("Automatic", "Manual"):
        raise _fail(raw, "spec.assignmentMode", f"invalid value {mode!r}", "Automatic or Manual")
    uses = spec.get("allowedUses") or ["Workload", "Tunnel"]
    return IPPool(
        name=raw.name,
        cidr=cidr,
        block_size=block,
        disabled=spec.get("disabled") is True,
        manual=mode == "Manual",
        node_selector=str(spec.get("nodeSelector") or "all()"),
        workloads="Workload" in uses,
        source=raw.location,
    )


@cache
def lab_pools() -> tuple[IPPool, ...]:
    """The lab's Calico IP pools (package data), default pool first."""
    return tuple(parse_ippool(raw) for raw in load_paths([LAB_POOLS_FILE]) if is_ippool(raw))


def lab_default_pool() -> IPPool:
    """The lab's one automatic pool: where pods that ask for no pool get addresses."""
    return next(p for p in lab_pools() if p.automatic)


def parse_pool_list(text: object, where: str, field: str) -> tuple[str, ...]:
    """The entries of a ``cni.projectcalico.org/ipv4pools`` annotation: a JSON list of pool
    names or CIDRs. Calico's CNI plugin ``json.Unmarshal``\\ s it and fails the pod otherwise
    (``cni-plugin/pkg/k8s/k8s.go: CmdAddK8s``)."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(
            f"{text!r} is not a JSON list of IP pool names; Calico would fail to start the pods",
            file=where,
            field=field,
            hint="""write it as '["pool-name"]' (names or CIDRs of IPPools)""",
        )
    return tuple(value)
