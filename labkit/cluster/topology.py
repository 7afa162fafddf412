"""The fixed lab topology, shared by every backend.

Six namespaces and nine bare pods (``clusters/topology/topology.yaml``): the tutorial's
``my-segment`` with ``frontend``, ``backend``, ``database`` and ``critical-app``, a ``client`` in
``trusted`` and in ``untrusted``, and one pod each in ``branch-office``, ``backup-site`` and
``legacy-dc`` whose addresses fall in the tutorial's ``ipBlock`` ranges.

Addresses follow the one address plan (:mod:`labkit.model.ipam`): the lab's Calico IP pools
(package data) and the ``cni.projectcalico.org/ipv4pools`` annotations the topology's
namespaces carry, so a pod gets an address from the same block offline, in the simulated
cluster and on kind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from labkit.errors import ClusterError
from labkit.model.ipam import IPPlan
from labkit.model.loader import RawObject, load_paths
from labkit.model.objects import SYSTEM_NAMESPACES as CLUSTER_NAMESPACES

log = logging.getLogger(__name__)

#: The lab pods' image, by digest; equal to ``agnhost.image`` in ``clusters/calico/versions.yaml``
#: (tests/cluster/test_lab_topology.py holds the two together).
AGNHOST_IMAGE = (
    "registry.k8s.io/e2e-test-images/agnhost:2.66.1"
    "@sha256:6e2eef87d0dc77e070a7549bc5fdfa290c0fefe3359eb33c2ad1eda692fe66a4"
)

DATA_DIR = Path(__file__).resolve().parent / "data"
PACKAGED_TOPOLOGY = DATA_DIR / "topology.yaml"
SYSTEM_MANIFEST = DATA_DIR / "kube-system.yaml"

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
    from labkit.cluster.labdir import project_clusters_dir  # tempfile, tomllib: on demand

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


def in_the_lab(objects: Sequence[RawObject]) -> list[RawObject]:
    """``objects`` as the lab would hold them once applied.

    When the input declares the lab topology (its six namespaces), the lab's own cluster
    objects are added, as ``labkit up`` creates them: the namespaces every cluster has and the
    two CoreDNS pods (:func:`kube_system_manifests`), unless the input declares them itself.
    So ``labkit audit -f clusters/topology/topology.yaml -f POLICY`` finds what ``labkit
    audit`` finds on the lab (DNS cut off, system namespaces left open). Other inputs are
    returned as given.
    """
    declared = {o.name for o in objects if o.kind == "Namespace"}
    if not declared.issuperset(LAB_NAMESPACES):
        return list(objects)
    given = {_object_key(o) for o in objects}
    added = [o for o in kube_system_manifests() if _object_key(o) not in given]
    if added:
        log.info("input holds the lab topology: adding the lab's %d system objects", len(added))
    return [*added, *objects]


def _object_key(raw: RawObject) -> tuple[str, str, str]:
    return raw.kind, "" if raw.kind == "Namespace" else raw.namespace, raw.name


def lab_address_plan() -> IPPlan:
    """The address plan of the lab topology: which pool each lab namespace's pods use."""
    return IPPlan().including(topology_manifests())


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
