"""The fixed lab topology and its address plan, shared by every backend.

Six namespaces and nine bare pods (``clusters/topology/topology.yaml``): the tutorial's
``my-segment`` with ``frontend``, ``backend``, ``database`` and ``critical-app``, a ``client`` in
``trusted`` and in ``untrusted``, and one pod each in ``branch-office``, ``backup-site`` and
``legacy-dc`` whose addresses fall in the tutorial's ``ipBlock`` ranges.

Addresses follow Calico's model (docs: "Assign IP addresses based on namespace"): the pod CIDR
``192.168.0.0/16`` is split into IP pools and a namespace picks its pool with the annotation
``cni.projectcalico.org/ipv4pools: '["<pool>"]'``. :data:`IP_PLAN` is the same plan for the
simulated cluster, so a pod gets an address from the same block on every backend.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from labkit.cluster.labdir import PACKAGE_DIR, project_clusters_dir
from labkit.errors import ClusterError
from labkit.model.ipam import IPPlan
from labkit.model.loader import RawObject, load_paths
from labkit.model.objects import SYSTEM_NAMESPACES as CLUSTER_NAMESPACES

log = logging.getLogger(__name__)

AGNHOST_IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.66.1"
POOL_ANNOTATION = "cni.projectcalico.org/ipv4pools"
POD_CIDR = "192.168.0.0/16"
"""kind's ``networking.podSubnet`` and the Calico pod CIDR: every pool lies inside it."""

DATA_DIR = PACKAGE_DIR / "data"
PACKAGED_TOPOLOGY = DATA_DIR / "topology.yaml"
SYSTEM_MANIFEST = DATA_DIR / "kube-system.yaml"


@dataclass(frozen=True)
class IPPool:
    """A Calico IP pool of the lab: ``namespaces`` request it by annotation; the default pool
    serves every other namespace."""

    name: str
    cidr: str
    namespaces: tuple[str, ...] = ()
    default: bool = False


POOLS: tuple[IPPool, ...] = (
    IPPool("labkit-default", "192.168.128.0/17", ("my-segment", "trusted", "untrusted"), True),
    IPPool("labkit-branch", "192.168.1.0/24", ("branch-office",)),
    IPPool("labkit-backup", "192.168.2.0/24", ("backup-site",)),
    IPPool("labkit-legacy", "192.168.10.0/24", ("legacy-dc",)),
)
DEFAULT_POOL = next(p for p in POOLS if p.default)
POOLS_BY_NAME: dict[str, IPPool] = {p.name: p for p in POOLS}

IP_PLAN = IPPlan(
    default_cidr=DEFAULT_POOL.cidr,
    namespace_cidrs=tuple((ns, p.cidr) for p in POOLS if not p.default for ns in p.namespaces),
)
"""Where pod addresses come from: the same blocks as kind's Calico pools."""

LAB_NAMESPACES: tuple[str, ...] = (
    "my-segment",
    "trusted",
    "untrusted",
    "branch-office",
    "backup-site",
    "legacy-dc",
)
LAB_PODS: tuple[str, ...] = (
    "my-segment/frontend",
    "my-segment/backend",
    "my-segment/database",
    "my-segment/critical-app",
    "trusted/client",
    "untrusted/client",
    "branch-office/client",
    "backup-site/server",
    "legacy-dc/client",
)
"""The nine lab pods, in the order probe matrices show them."""

SYSTEM_NAMESPACES = CLUSTER_NAMESPACES | {"labkit-canary"}
"""Namespaces that are the cluster's own (and labkit's canary), left out of default probe
matrices and resets."""


def topology_dir() -> Path:
    """``clusters/topology`` of the checkout when there is one, else the packaged copy."""
    found = project_clusters_dir()
    if found is not None and (found / "topology").is_dir():
        return found / "topology"
    return DATA_DIR


def topology_manifests() -> list[RawObject]:
    """The topology's namespaces and pods as raw objects, in apply order (namespaces first)."""
    folder = topology_dir()
    objects = load_paths([folder / "topology.yaml"] if folder == DATA_DIR else [folder])
    if not objects:
        raise ClusterError(
            f"{folder} holds no topology objects; restore clusters/topology/topology.yaml "
            f"from {PACKAGED_TOPOLOGY}"
        )
    return sorted(objects, key=lambda o: o.kind != "Namespace")


def kube_system_manifests(*, coredns: bool = True) -> list[RawObject]:
    """What the simulated cluster adds besides the topology: ``default``, ``kube-system``,
    ``kube-public``, ``kube-node-lease`` and (``coredns``) two CoreDNS pods labelled
    ``k8s-app: kube-dns`` serving ``dns`` 53/UDP and ``dns-tcp`` 53/TCP."""
    objects = _load_cached(str(SYSTEM_MANIFEST))
    return [o for o in objects if coredns or o.kind == "Namespace"]


@cache
def _load_cached(path: str) -> list[RawObject]:
    return load_paths([path])


def pool_of(namespace: str, annotations: Mapping[str, Any] | None) -> IPPool | None:
    """The pool a namespace's ``cni.projectcalico.org/ipv4pools`` annotation names, if it names
    one of the lab's pools (Calico takes the first pool of the list that has room)."""
    raw = (annotations or {}).get(POOL_ANNOTATION)
    if not isinstance(raw, str):
        return None
    try:
        names = json.loads(raw)
    except json.JSONDecodeError:
        log.warning(
            "namespace %s: %s is not a JSON list (%r); the default pool applies",
            namespace,
            POOL_ANNOTATION,
            raw,
        )
        return None
    if not isinstance(names, list):
        return None
    for name in names:
        if isinstance(name, str) and name in POOLS_BY_NAME:
            return POOLS_BY_NAME[name]
    log.warning(
        "namespace %s asks for pools %s, none of which the lab defines (%s); the default "
        "pool applies",
        namespace,
        names,
        ", ".join(POOLS_BY_NAME),
    )
    return None


def ip_plan_for(namespaces: Iterable[tuple[str, Mapping[str, Any] | None]]) -> IPPlan:
    """The plan for a cluster whose namespaces carry these annotations, as Calico would
    allocate: an annotated namespace uses its pool, every other one the default pool."""
    cidrs = []
    for name, notes in namespaces:
        pool = pool_of(name, notes)
        if pool is not None and not pool.default:
            cidrs.append((name, pool.cidr))
    return IPPlan(default_cidr=DEFAULT_POOL.cidr, namespace_cidrs=tuple(sorted(cidrs)))


def lesson_order(peers: Iterable[str]) -> list[str]:
    """The lab pods in :data:`LAB_PODS` order, then every other peer sorted."""
    given = list(dict.fromkeys(peers))
    present = set(given)
    return [p for p in LAB_PODS if p in present] + sorted(p for p in given if p not in LAB_PODS)


def summarise(pods: Iterable[str], policy_count: int) -> str:
    """One line on how much of the topology is present: ``9/9 lab pods, 2 NetworkPolicies``
    or which pods are missing and how to restore them."""
    present = {p for p in pods if p.partition("/")[0] not in SYSTEM_NAMESPACES}
    missing = [p for p in LAB_PODS if p not in present]
    extra = len(present - set(LAB_PODS))
    text = f"{len(LAB_PODS) - len(missing)}/{len(LAB_PODS)} lab pods"
    if extra:
        text += f" (+{extra} other)"
    text += f", {policy_count} NetworkPolic{'y' if policy_count == 1 else 'ies'}"
    if missing:
        text += f"; missing {', '.join(missing)} (run `labkit reset` to restore)"
    return text
