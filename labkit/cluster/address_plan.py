"""The lab's address plan: the pod CIDR and the Calico IP pools, read from ``clusters/``.

``clusters/calico/installation.yaml`` declares the default pool (every namespace without an
annotation), ``clusters/calico/ippools.yaml`` the dedicated pools, each naming its namespace
in the annotation ``labkit.dev/namespace``. Calico rules this plan must follow (Calico IPAM
docs): every pool lies inside the Kubernetes pod CIDR (kube-proxy relies on it), pools must
not overlap, and a namespace picks a pool with ``cni.projectcalico.org/ipv4pools:
'["<pool name>"]'``. A pool requested that way is used whatever its selectors
(``ipam.go: determinePools``); ``assignmentMode: Manual`` keeps other pods out of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, ip_network
from pathlib import Path
from typing import Any

import yaml

from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError
from labkit.model.inventory import Inventory
from labkit.model.ipam import IPPlan
from labkit.model.loader import RawObject
from labkit.model.objects import Pod

POD_CIDR = "192.168.0.0/16"
POOL_ANNOTATION = "cni.projectcalico.org/ipv4pools"
POOL_NAMESPACE_ANNOTATION = "labkit.dev/namespace"


@dataclass(frozen=True)
class Pool:
    name: str
    cidr: IPv4Network
    block_size: int = 26
    namespace: str | None = None
    """The namespace that asks for this pool; ``None`` for the default pool."""


@dataclass(frozen=True)
class AddressPlan:
    pod_cidr: IPv4Network
    default: Pool
    dedicated: tuple[Pool, ...]

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
        """The same plan for the offline address allocator."""
        return IPPlan(
            default_cidr=str(self.default.cidr),
            namespace_cidrs=tuple(
                (p.namespace, str(p.cidr)) for p in self.dedicated if p.namespace
            ),
        )

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


def _docs(path: Path) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterError(f"{path}: cannot read: {exc}") from exc


def _network(path: Path, where: str, value: object) -> IPv4Network:
    try:
        net = ip_network(str(value))
    except ValueError:
        raise ClusterError(f"{path}: {where}: {value!r} is not a CIDR") from None
    if not isinstance(net, IPv4Network):
        raise ClusterError(f"{path}: {where}: the lab plan is IPv4 only, got {net}")
    return net


def load_address_plan(root: Path | None = None) -> AddressPlan:
    """Read the plan from ``clusters/calico/``; raises :class:`ClusterError` when unsound."""
    base = (root or clusters_dir()) / "calico"
    inst_path, pools_path = base / "installation.yaml", base / "ippools.yaml"
    default: Pool | None = None
    for doc in _docs(inst_path):
        if doc.get("kind") != "Installation":
            continue
        pools = (doc.get("spec") or {}).get("calicoNetwork", {}).get("ipPools") or []
        if len(pools) != 1:
            raise ClusterError(
                f"{inst_path}: spec.calicoNetwork.ipPools must hold exactly the default pool"
            )
        p = pools[0]
        default = Pool(
            str(p.get("name")),
            _network(inst_path, "ipPools[0].cidr", p.get("cidr")),
            int(p.get("blockSize", 26)),
        )
    if default is None:
        raise ClusterError(f"{inst_path}: no Installation with the default IP pool")
    dedicated: list[Pool] = []
    for i, doc in enumerate(_docs(pools_path)):
        if doc.get("kind") != "IPPool":
            continue
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        namespace = (meta.get("annotations") or {}).get(POOL_NAMESPACE_ANNOTATION)
        if not namespace:
            raise ClusterError(
                f"{pools_path}: IPPool {meta.get('name')}: metadata.annotations."
                f"{POOL_NAMESPACE_ANNOTATION} must name its namespace"
            )
        dedicated.append(
            Pool(
                str(meta.get("name")),
                _network(pools_path, f"document {i + 1} spec.cidr", spec.get("cidr")),
                int(spec.get("blockSize", 26)),
                str(namespace),
            )
        )
    plan = AddressPlan(ip_network(POD_CIDR), default, tuple(dedicated))  # type: ignore[arg-type]
    problems = plan.problems()
    if problems:
        raise ClusterError(f"{base}: the address plan is unsound: " + "; ".join(problems))
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
