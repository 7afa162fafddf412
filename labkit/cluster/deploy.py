"""Putting the lab on a real cluster: the topology, its readiness, its addresses, and the
enforcement canary (:mod:`labkit.cluster.canary`). Shared by the kind and existing-cluster
backends; every wait goes through :mod:`labkit.cluster.waits` (a watch where the client is
installed)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path

from labkit.cluster.address_plan import (
    POOL_ANNOTATION,
    AddressPlan,
    check_namespace_annotations,
    check_pod_addresses,
    misplaced_pods,
)
from labkit.cluster.canary import (
    CanaryResult,
    cluster_identity,
    load_cached,
    require_enforced,
    run_canary,
    save_cached,
)
from labkit.cluster.kind.readiness import gone_wait, pods_wait, wait
from labkit.cluster.kube import KubeCluster
from labkit.cluster.paths import lab_home
from labkit.cluster.progress import Progress
from labkit.errors import ClusterError, ClusterNotReady
from labkit.model.loader import RawObject
from labkit.model.objects import MANAGED_LABEL

log = logging.getLogger(__name__)


def canary_cache(backend: str, name: str) -> Path:
    return lab_home() / f"canary-{backend}-{name}.json"


def strip_pool_annotations(objects: Sequence[RawObject]) -> list[RawObject]:
    """The objects without Calico pool annotations (for clusters without the lab's pools)."""
    out = []
    for raw in objects:
        annotations = raw.metadata.get("annotations") or {}
        if raw.kind == "Namespace" and POOL_ANNOTATION in annotations:
            data = copy.deepcopy(raw.data)
            del data["metadata"]["annotations"][POOL_ANNOTATION]
            raw = RawObject(data, raw.file, raw.line, raw.document, raw.list_index)
        out.append(raw)
    return out


def lab_pod_keys(objects: Sequence[RawObject]) -> list[str]:
    return sorted(f"{o.namespace}/{o.name}" for o in objects if o.kind == "Pod")


def lab_namespaces(objects: Sequence[RawObject]) -> list[str]:
    names = {o.name for o in objects if o.kind == "Namespace"}
    names |= {o.namespace for o in objects if o.kind != "Namespace"}
    return sorted(names)


def deploy_topology(
    cluster: KubeCluster, progress: Progress, *, timeout: float, plan: AddressPlan | None
) -> list[str]:
    """Apply the lab topology, wait for its pods, check their addresses (when ``plan`` is
    given: the cluster has the lab's pools). Returns the lab's namespaces."""
    from labkit.cluster.topology import topology_manifests

    objects = list(topology_manifests())
    if plan is not None:
        problems = check_namespace_annotations(plan, objects)
        if problems:
            raise ClusterError(
                "the lab topology disagrees with the address plan:\n    " + "\n    ".join(problems)
            )
    else:
        objects = strip_pool_annotations(objects)
    namespaces = lab_namespaces(objects)
    pods = sum(1 for o in objects if o.kind == "Pod")
    progress.step(f"lab topology: {len(namespaces)} namespaces, {pods} pods", total=3)
    for attempt in (1, 2):
        # validated by the topology's own tests; applied all-or-nothing
        report = cluster._apply_objects(objects)
        progress.advance(f"{len(report.applied)} applied, {len(report.unchanged)} unchanged")
        wait(
            "lab pods",
            pods_wait(
                cluster.reads, namespaces, pods, lab_pod_keys(objects), f"{MANAGED_LABEL}=true"
            ),
            timeout=timeout,
            progress=progress,
            fix="`kubectl get pods -A -l labkit.dev/managed=true` "
            "shows which pod waits and why (image pull, CNI)",
        )
        if plan is None:
            break
        inventory = cluster.inventory()
        wrong = misplaced_pods(plan, inventory, namespaces)
        if not wrong:
            break
        if attempt == 2:
            raise ClusterNotReady(
                "lab pods are outside their IP pools after a re-create:\n    "
                + "\n    ".join(check_pod_addresses(plan, inventory, namespaces))
                + "\n    fix: check the pools (`kubectl get ippools.crd.projectcalico.org`)"
            )
        progress.advance(
            f"{len(wrong)} pod(s) got addresses before their pool existed; re-creating them"
        )
        for pod in wrong:
            cluster._delete("Pod", pod.namespace, pod.name)
        for namespace in sorted({pod.namespace for pod in wrong}):
            wait(
                f"re-created pods leaving {namespace}",
                gone_wait(
                    cluster.reads,
                    "pods",
                    [p.name for p in wrong if p.namespace == namespace],
                    namespace,
                ),
                timeout=90,
                progress=progress,
            )
    progress.finish("lab topology ready")
    return namespaces


def ensure_enforced(
    cluster: KubeCluster,
    agnhost_image: str,
    progress: Progress,
    cache: Path,
    *,
    rerun: bool = False,
) -> CanaryResult:
    """The cached canary result for this cluster identity, or a fresh run; raises
    :class:`ClusterNotReady` when the cluster does not enforce policy."""
    identity = cluster_identity(cluster.reads)
    cached = None if rerun else load_cached(cache, identity)
    if cached is not None and cached.enforced:
        log.info("canary: cached result for this cluster: %s", cached.line())
        return cached
    result = run_canary(cluster, agnhost_image, progress, identity=identity)
    save_cached(cache, result)
    require_enforced(result)
    return result
