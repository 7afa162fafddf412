"""The lab's address plan as the kind and existing-cluster backends set it up.

The plan itself is the model's (:mod:`labkit.model.ipam`, pools in
``labkit/model/data/lab-ippools.yaml``, namespaces choosing pools by the annotation
``cni.projectcalico.org/ipv4pools`` in the topology); this module only reads the files the
backends apply and checks they say the same: ``clusters/calico/installation.yaml`` declares the
default pool, ``clusters/calico/ippools.yaml`` the dedicated ones. Calico rules the plan follows
(Calico IPAM docs): every pool lies inside the Kubernetes pod CIDR (kube-proxy relies on it),
pools must not overlap, and a pool requested by annotation is used whatever its selectors
(``ipam.go: determinePools``); ``assignmentMode: Manual`` keeps other pods out of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, ip_network
from pathlib import Path
from typing import Any

import yaml

from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError
from labkit.model.inventory import Inventory
from labkit.model.ipam import IPPlan
from labkit.model.ippools import LAB_POD_CIDR, LAB_POOLS_FILE, POOLS_ANNOTATION, lab_pools
from labkit.model.loader import RawObject
from labkit.model.objects import Pod

POD_CIDR = LAB_POD_CIDR
POOL_ANNOTATION = POOLS_ANNOTATION

__all__ = [
    "POD_CIDR",
    "POOL_ANNOTATION",
    "AddressPlan",
    "Pool",
    "check_namespace_annotations",
    "check_pod_addresses",
    "lab_plan",
    "load_address_plan",
    "misplaced_pods",
]


@dataclass(frozen=True)
class Pool:
    name: str
    cidr: IPv4Network
    block_size: int = 26
    namespace: str | None = None
    """The topology namespace that asks for this pool; ``None`` for the default pool."""


@dataclass(frozen=True)
class AddressPlan:
    pod_cidr: IPv4Network
    default: Pool
    dedicated: tuple[Pool, ...]
    allocation: IPPlan = field(default_factory=IPPlan)
    """The model's plan for the topology (what every other path allocates from)."""

    @property
    def pools(self) -> tuple[Pool, ...]:
        return (self.default, *self.dedicated)

    def pool_for(self, namespace: str) -> Pool:
        for pool in self.dedicated:
            if pool.namespace == namespace:
                return pool
        return self.default

    def annotation_for(self, namespace: str) -> str | None:
        """The ``cni.projectcalico.org/ipv4pools`` value a namespace needs, if any."""
        pool = self.pool_for(namespace)
        return None if pool is self.default else json.dumps([pool.name])

    def ip_plan(self) -> IPPlan:
        return self.allocation

    def problems(self) -> list[str]:
        """Pools outside the pod CIDR or overlapping each other (empty when sound)."""
        out = [
            f"pool {p.name} ({p.cidr}) is not inside the pod CIDR {self.pod_cidr}"
            for p in self.pools
            if not p.cidr.subnet_of(self.pod_cidr)
        ]
        pools = self.pools
        for i, a in enumerate(pools):
            for b in pools[i + 1 :]:
                if a.cidr.overlaps(b.cidr):
                    out.append(f"pools {a.name} ({a.cidr}) and {b.name} ({b.cidr}) overlap")
        return out


def lab_plan() -> AddressPlan:
    """The model's lab pools, each dedicated pool with the topology namespace that asks for it."""
    from labkit.cluster.topology import lab_address_plan

    allocation = lab_address_plan()
    users: dict[str, str] = {}
    for namespace, _ in allocation.namespace_requests:
        users.setdefault(allocation.pools_for(namespace)[0].name, namespace)
    pools = []
    for p in lab_pools():
        if not isinstance(p.cidr, IPv4Network):
            raise ClusterError(f"{LAB_POOLS_FILE}: the lab plan is IPv4 only, got {p.cidr}")
        pools.append(Pool(p.name, p.cidr, p.block_size, None if p.automatic else users.get(p.name)))
    default = next(pool for pool, p in zip(pools, lab_pools(), strict=True) if p.automatic)
    dedicated = tuple(pool for pool in pools if pool is not default)
    return AddressPlan(ip_network(POD_CIDR), default, dedicated, allocation)  # type: ignore[arg-type]


def _docs(path: Path) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterError(f"{path}: cannot read: {exc}") from exc


def _declared(path: Path, name: object, cidr: object, block: object) -> tuple[str, str, int]:
    try:
        return str(name), str(ip_network(str(cidr))), int(str(block or 26))
    except ValueError:
        raise ClusterError(f"{path}: pool {name}: {cidr!r} is not a CIDR") from None


def _file_pools(base: Path) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """``(name, cidr, blockSize)`` of the default pool(s) and the dedicated pools in the files."""
    inst, extra = base / "installation.yaml", base / "ippools.yaml"
    default = [
        _declared(inst, p.get("name"), p.get("cidr"), p.get("blockSize"))
        for doc in _docs(inst)
        if doc.get("kind") == "Installation"
        for p in (doc.get("spec") or {}).get("calicoNetwork", {}).get("ipPools") or []
    ]
    dedicated = [
        _declared(
            extra,
            (d.get("metadata") or {}).get("name"),
            (d.get("spec") or {}).get("cidr"),
            (d.get("spec") or {}).get("blockSize"),
        )
        for d in _docs(extra)
        if d.get("kind") == "IPPool"
    ]
    return default, dedicated


def load_address_plan(root: Path | None = None) -> AddressPlan:
    """The lab plan, after checking that ``clusters/calico/`` creates exactly its pools;
    raises :class:`ClusterError` when the files disagree or the plan is unsound."""
    base = (root or clusters_dir()) / "calico"
    plan = lab_plan()
    default, dedicated = _file_pools(base)

    def spelled(pools: Iterable[Pool]) -> list[tuple[str, str, int]]:
        return sorted((p.name, str(p.cidr), p.block_size) for p in pools)

    if default != spelled([plan.default]) or sorted(dedicated) != spelled(plan.dedicated):
        raise ClusterError(
            f"{base}: the pools of installation.yaml ({default}) and ippools.yaml "
            f"({sorted(dedicated)}) differ from the lab's address plan {LAB_POOLS_FILE} "
            f"(default {spelled([plan.default])}, dedicated {spelled(plan.dedicated)}); "
            "change both together"
        )
    problems = plan.problems()
    if problems:
        raise ClusterError(f"{LAB_POOLS_FILE}: the address plan is unsound: " + "; ".join(problems))
    return plan


def check_namespace_annotations(plan: AddressPlan, objects: Sequence[RawObject]) -> list[str]:
    """Namespaces of ``objects`` whose pool annotation disagrees with the plan."""
    out: list[str] = []
    for raw in objects:
        if raw.kind != "Namespace":
            continue
        want = plan.annotation_for(raw.name)
        have = (raw.metadata.get("annotations") or {}).get(POOL_ANNOTATION)
        if want is None and have is not None:
            out.append(
                f"{raw.location}: {raw.title} asks for pool {have} but the plan puts it "
                f"in the default pool {plan.default.name}"
            )
        elif want is not None and (have is None or _pool_names(have) != _pool_names(want)):
            out.append(
                f"{raw.location}: {raw.title}: metadata.annotations.{POOL_ANNOTATION} "
                f"must be '{want}' (found {have!r})"
            )
    return out


def _pool_names(text: str) -> list[str] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return [str(v) for v in value] if isinstance(value, list) else None


def misplaced_pods(plan: AddressPlan, inventory: Inventory, namespaces: Iterable[str]) -> list[Pod]:
    """Pods of ``namespaces`` whose address is outside the pool the plan gives them."""
    wanted = set(namespaces)
    return [
        pod
        for pod in inventory.pods
        if pod.namespace in wanted
        and pod.ip is not None
        and pod.ip not in plan.pool_for(pod.namespace).cidr
    ]


def check_pod_addresses(
    plan: AddressPlan, inventory: Inventory, namespaces: Iterable[str]
) -> list[str]:
    """:func:`misplaced_pods` as sentences."""
    out = []
    for pod in misplaced_pods(plan, inventory, namespaces):
        pool = plan.pool_for(pod.namespace)
        out.append(f"pod {pod.key} has {pod.ip}, outside pool {pool.name} ({pool.cidr})")
    return out
