"""A cluster the user already has (``labkit up --context NAME``), or, with no context in a
pod (``KUBERNETES_SERVICE_HOST`` set), the pod's own cluster through its service account
(in-cluster configuration: a JupyterHub notebook pod with no kubectl and no kubeconfig).
Reads and writes then go through the official client (:mod:`labkit.cluster.reads`,
:mod:`labkit.cluster.writes`); with a context and kubectl installed, writes use kubectl.

labkit adds only its own objects, each labelled ``labkit.dev/managed: "true"``, and
``cleanup`` removes exactly those. It never creates IP pools or changes anything else: when
the cluster lacks the lab's Calico pools, namespaces are created without the pool
annotation (asking Calico for a pool that does not exist would keep the pods from starting)
and ipBlock lessons use the addresses the cluster gives. The enforcement canary runs before
the cluster is reported ready; a cluster that ignores NetworkPolicy is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from labkit.cluster.address_plan import AddressPlan, load_address_plan
from labkit.cluster.backend import ApplyReport, ClusterStatus
from labkit.cluster.canary import cluster_identity, load_cached
from labkit.cluster.deploy import (
    canary_cache,
    deploy_topology,
    ensure_enforced,
    strip_pool_annotations,
)
from labkit.cluster.kind.calico import pool_problems
from labkit.cluster.kind.pins import load_pins
from labkit.cluster.kind.readiness import nodes_ready
from labkit.cluster.kube import KubeCluster
from labkit.cluster.kube_api import uses_in_cluster_config
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.progress import LogProgress, Progress
from labkit.cluster.reads import client_installed
from labkit.errors import ClusterError, ClusterNotReady
from labkit.model.loader import RawObject

log = logging.getLogger(__name__)


IN_CLUSTER = "in-cluster"
"""How an existing cluster reached through the pod's service account is named (status,
canary cache)."""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def connection_problem(context: str | None, kubeconfig: Path | None) -> str | None:
    """Why labkit cannot reach an existing cluster from here, or ``None``: without a context
    it must run in a pod (in-cluster configuration), which needs the official client."""
    if context or kubeconfig is not None:
        return None
    if not uses_in_cluster_config(None, None):
        return (
            "the existing backend needs a kubeconfig context: labkit up --context NAME (see "
            "`kubectl config get-contexts`); only inside a pod (KUBERNETES_SERVICE_HOST set) "
            "does labkit use the pod's service account instead"
        )
    if not client_installed():
        return (
            "inside a pod labkit reaches the cluster through the kubernetes client, which "
            "is not installed\n    fix: pip install 'labkit[lab]'"
        )
    return None


class ExistingCluster(KubeCluster):
    name = "existing"

    def __init__(self, context: str | None, kubeconfig: Path | None = None) -> None:
        super().__init__(Kubectl(kubeconfig, context or None))
        self.context = context or None
        self.kubeconfig = kubeconfig
        self.uses_pools = False

    @property
    def in_cluster(self) -> bool:
        """Reached through the pod's service account (no context, in a pod)."""
        return uses_in_cluster_config(self.kubeconfig, self.context)

    @property
    def where(self) -> str:
        """``context NAME``, or ``in-cluster (the pod's service account)``."""
        if self.context:
            return f"context {self.context}"
        if self.in_cluster:
            return f"{IN_CLUSTER} (the pod's service account)"
        return "the current kubeconfig context"

    @property
    def cache_name(self) -> str:
        return _safe(self.context or IN_CLUSTER)

    def _server_minor(self) -> str:
        server = self.reads.server_version()
        minor = re.sub(r"\D", "", str(server.get("minor", "")))
        if not minor:
            check = f"kubectl --context {self.context} version" if self.context else "/version"
            raise ClusterNotReady(
                f"{self.where}: the API server did not report a version\n    fix: check `{check}`"
            )
        return f"{server.get('major', '1')}.{minor}"

    def _lab_pools(self) -> AddressPlan | None:
        """The address plan when the cluster has all of the lab's pools, else ``None``."""
        plan = load_address_plan()
        try:
            problems = pool_problems(self.reads.list("ippools").items, plan)
        except ClusterError:
            return None  # no Calico CRDs: not a Calico cluster
        return None if problems else plan

    @classmethod
    def attach(cls, context: str | None, kubeconfig: Path | None = None) -> ExistingCluster:
        """The cluster as it is (checks that it answers; changes nothing). Needs kubectl
        or the kubernetes client; without a context, a pod (in-cluster configuration)."""
        problem = connection_problem(context, kubeconfig)
        if problem is not None:
            raise ClusterError(problem)
        cluster = cls(context, kubeconfig)
        _ = cluster.writes  # kubectl or the client: PrerequisiteMissing when neither
        cluster.kubernetes_version = cluster._server_minor()
        cluster.uses_pools = cluster._lab_pools() is not None
        return cluster

    @classmethod
    def up(
        cls,
        context: str | None,
        progress: Progress | None = None,
        kubeconfig: Path | None = None,
    ) -> ExistingCluster:
        """Deploy the lab topology and prove enforcement on the cluster of ``context`` (no
        context: the pod's own cluster)."""
        progress = progress or LogProgress()
        cluster = cls.attach(context, kubeconfig)
        progress.step(f"existing cluster ({cluster.where})")
        plan = cluster._lab_pools()
        if plan is None:
            progress.advance(
                "the lab's Calico IP pools are not in this cluster: pods get the "
                "cluster's own addresses"
            )
        deploy_topology(cluster, progress, timeout=600, plan=plan)
        ensure_enforced(
            cluster,
            load_pins().agnhost_image,
            progress,
            canary_cache(cls.name, cluster.cache_name),
            rerun=True,
        )
        progress.finish(f"lab ready on {cluster.where}")
        return cluster

    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        """As :class:`KubeCluster`, but without Calico pool annotations when the cluster
        lacks the lab's pools (asking for a missing pool keeps pods from starting)."""
        if not self.uses_pools:
            objects = strip_pool_annotations(objects)
        return super()._apply_objects(objects)

    def cleanup(self) -> None:
        """Remove every object labelled ``labkit.dev/managed=true``, and nothing else."""
        self.delete_managed()
        canary_cache(self.name, self.cache_name).unlink(missing_ok=True)

    def down(self) -> None:
        """For an existing cluster, ``down`` is :meth:`cleanup`: the cluster stays."""
        self.cleanup()

    def _connection(self) -> tuple[str, str]:
        """The ``context`` line of ``status``: the context, or that labkit runs in-cluster
        through the pod's service account (and the client, when kubectl is not used)."""
        if self.context:
            return "context", self.context
        if self.in_cluster:
            return "context", (
                f"none: {IN_CLUSTER}, the pod's service account "
                "(KUBERNETES_SERVICE_HOST), through the kubernetes client"
            )
        return "context", "the current kubeconfig context"

    def status(self) -> ClusterStatus:
        try:
            nodes = self.reads.list("nodes").items
            nodes_ok, nodes_msg = nodes_ready(nodes)
            snap = self.snapshot()
            lab = [p for p in snap.inventory.pods if p.key in snap.managed]
            waiting = [p.key for p in lab if p.key in snap.not_ready]
            cached = load_cached(
                canary_cache(self.name, self.cache_name), cluster_identity(self.reads)
            )
        except ClusterError as exc:
            return ClusterStatus(self.name, False, details=(("error", str(exc).splitlines()[0]),))
        again = "labkit up --backend existing" if self.in_cluster else "labkit up --context ..."
        topology = (
            f"{len(lab) - len(waiting)}/{len(lab)} lab pods ready"
            if lab
            else f"not deployed ({again})"
        )
        return ClusterStatus(
            backend=self.name,
            ready=nodes_ok and bool(lab) and not waiting and cached is not None and cached.enforced,
            nodes=tuple(n["metadata"]["name"] for n in nodes),
            cni="lab IP pools present"
            if self.uses_pools
            else "no lab IP pools (cluster addresses)",
            topology=topology,
            canary=cached.line() if cached else f"not run ({again})",
            details=(self._connection(), ("nodes", nodes_msg)),
        )
