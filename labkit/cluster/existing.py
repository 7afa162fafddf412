"""A cluster the user already has (``labkit up --context NAME``).

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

from labkit.cluster import commands
from labkit.cluster.address_plan import AddressPlan, load_address_plan
from labkit.cluster.backend import ApplyReport, ClusterStatus
from labkit.cluster.canary import cluster_identity, load_cached
from labkit.cluster.deploy import (
    canary_cache,
    deploy_topology,
    ensure_enforced,
    strip_pool_annotations,
)
from labkit.cluster.kind import calico
from labkit.cluster.kind.pins import load_pins
from labkit.cluster.kind.readiness import nodes_ready
from labkit.cluster.kube import KubeCluster
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.progress import LogProgress, Progress
from labkit.errors import ClusterError, ClusterNotReady, PrerequisiteMissing
from labkit.model.loader import RawObject

log = logging.getLogger(__name__)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


class ExistingCluster(KubeCluster):
    name = "existing"

    def __init__(self, context: str, kubeconfig: Path | None = None) -> None:
        super().__init__(Kubectl(kubeconfig, context))
        self.context = context
        self.kubeconfig = kubeconfig
        self.uses_pools = False

    def _server_minor(self) -> str:
        data = self.kubectl.get_json(["version"], timeout=30)
        server = data.get("serverVersion") or {}
        minor = re.sub(r"\D", "", str(server.get("minor", "")))
        if not minor:
            raise ClusterNotReady(
                f"context {self.context}: the API server did not report a "
                "version\n    fix: check `kubectl --context "
                f"{self.context} version`"
            )
        return f"{server.get('major', '1')}.{minor}"

    def _lab_pools(self) -> AddressPlan | None:
        """The address plan when the cluster has all of the lab's pools, else ``None``."""
        plan = load_address_plan()
        try:
            problems = calico.verify_pools(self.kubectl, plan)
        except ClusterError:
            return None  # no Calico CRDs: not a Calico cluster
        return None if problems else plan

    @classmethod
    def attach(cls, context: str, kubeconfig: Path | None = None) -> ExistingCluster:
        """The cluster as it is (checks that it answers; changes nothing)."""
        if commands.which("kubectl") is None:
            raise PrerequisiteMissing(
                "`kubectl` is not installed\n    fix: " + commands.INSTALL_HINTS["kubectl"]
            )
        cluster = cls(context, kubeconfig)
        cluster.kubernetes_version = cluster._server_minor()
        cluster.uses_pools = cluster._lab_pools() is not None
        return cluster

    @classmethod
    def up(
        cls, context: str, progress: Progress | None = None, kubeconfig: Path | None = None
    ) -> ExistingCluster:
        """Deploy the lab topology and prove enforcement on the cluster of ``context``."""
        progress = progress or LogProgress()
        progress.step(f"existing cluster (context {context})")
        cluster = cls.attach(context, kubeconfig)
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
            canary_cache(cls.name, _safe(context)),
            rerun=True,
        )
        progress.finish(f"lab ready on context {context}")
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
        canary_cache(self.name, _safe(self.context)).unlink(missing_ok=True)

    def down(self) -> None:
        """For an existing cluster, ``down`` is :meth:`cleanup`: the cluster stays."""
        self.cleanup()

    def status(self) -> ClusterStatus:
        try:
            nodes = self.reads.list("nodes").items
            nodes_ok, nodes_msg = nodes_ready(nodes)
            snap = self.snapshot()
            lab = [p for p in snap.inventory.pods if p.key in snap.managed]
            waiting = [p.key for p in lab if p.key in snap.not_ready]
            cached = load_cached(
                canary_cache(self.name, _safe(self.context)), cluster_identity(self.reads)
            )
        except ClusterError as exc:
            return ClusterStatus(self.name, False, details=(("error", str(exc).splitlines()[0]),))
        topology = (
            f"{len(lab) - len(waiting)}/{len(lab)} lab pods ready"
            if lab
            else "not deployed (labkit up --context ...)"
        )
        return ClusterStatus(
            backend=self.name,
            ready=nodes_ok and bool(lab) and not waiting and cached is not None and cached.enforced,
            nodes=tuple(n["metadata"]["name"] for n in nodes),
            cni="lab IP pools present"
            if self.uses_pools
            else "no lab IP pools (cluster addresses)",
            topology=topology,
            canary=cached.line() if cached else "not run (labkit up --context ...)",
            details=(("context", self.context), ("nodes", nodes_msg)),
        )
