"""The primitives every real cluster shares (kind and existing clusters).

Reads go through :attr:`KubeCluster.reads` (:mod:`labkit.cluster.reads`), writes through
:attr:`KubeCluster.writes` (:mod:`labkit.cluster.writes`): kubectl where it is installed and
a context was given, else the official client (a pod without kubectl).

``_apply_objects`` is all-or-nothing: the whole batch is applied as a dry run first
(``--dry-run=server``, or ``dryRun=All`` through the client: the API server validates and
admits every object without storing it), and only then for real. Namespaced objects
cannot be dry-run in a namespace that does not exist yet, so when the batch creates
namespaces they are created first and deleted again if the rest of the batch is refused. Every object gets the label ``labkit.dev/managed: "true"`` and an
explicit namespace (``default`` when the manifest has none, never the context's namespace).

``reset`` and ``delete_managed`` delete only what labkit created, as a shared cluster needs:
every delete command carries the label selector ``labkit.dev/managed=true``, and the
topology's own objects are kept out by field selectors on ``metadata.name`` and
``metadata.namespace`` (which every resource type supports: Kubernetes docs, "Field
Selectors"; ``ObjectMetaFieldsSet`` in k8s.io/apiserver/pkg/registry/generic/matcher.go).
The API server does the selecting: labkit never picks names to delete from a list it
filtered itself (the client lists with these selectors and deletes each object listed with
a uid precondition, as ``kubectl delete -l`` deletes each object it lists).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.cluster.backend import LAB_LABEL, ApplyReport, LabCluster, stray_labels
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.live_inventory import Snapshot, snapshot_from_items
from labkit.cluster.live_probe import ExecFn, LiveRunner
from labkit.cluster.reads import INVENTORY, Reads, default_reads
from labkit.cluster.writes import (
    CLUSTER_SCOPED,
    Deletion,
    Writes,
    default_writes,
    kubectl_writes_chosen,
    object_key,
    title,
    versions_of,
    write_resource,
)
from labkit.errors import ClusterError, CommandFailed
from labkit.model.inventory import Inventory
from labkit.model.loader import RawObject
from labkit.model.objects import Pod
from labkit.model.workshop import WORKSHOP_LABEL

log = logging.getLogger(__name__)

SERVER_FIELDS = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "managedFields",
    "generation",
    "selfLink",
    "deletionTimestamp",
)
MANAGED_SELECTOR = f"{LAB_LABEL}=true,!{WORKSHOP_LABEL}"
"""What a single-user lab's ``reset`` and ``down`` delete: labkit's objects, except a
workshop's (``labkit.dev/workshop``: only ``labkit workshop teardown`` removes those), so a
single-user lab on the cluster of a running workshop never touches the learners' labs."""
MANAGED_RESOURCES = {
    kind: write_resource(kind)
    for kind in (
        "NetworkPolicy",
        "Service",
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
    )
}
"""The kinds whose labelled objects ``reset`` and ``down`` delete (the kinds labkit models,
and the RBAC objects of the who-may-change-policies lesson); a labelled namespace goes with
everything in it."""
NAMESPACES = write_resource("Namespace")


def prepare(raw: RawObject) -> dict[str, Any]:
    """A copy of the object ready for server-side apply (labelled, namespaced, no status)."""
    data = copy.deepcopy(raw.data)
    data.pop("status", None)
    meta = data.get("metadata")
    meta = dict(meta) if isinstance(meta, dict) else {}
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    meta["labels"] = {**(meta.get("labels") or {}), LAB_LABEL: "true"}
    if raw.kind not in CLUSTER_SCOPED:
        meta["namespace"] = raw.namespace
    data["metadata"] = meta
    return data


def _not_in(field: str, values: set[str] | list[str]) -> str:
    """``field!=a,field!=b`` (the terms are ANDed), or nothing."""
    return ",".join(f"{field}!={v}" for v in sorted(values))


def reset_deletions(keep: Sequence[RawObject]) -> list[Deletion]:
    """The deletions of ``reset``: every object labelled ``labkit.dev/managed=true`` except
    the objects of ``keep`` (the topology). Namespaces first (a managed namespace outside
    ``keep`` goes with everything in it), then each kind of :data:`MANAGED_RESOURCES`:
    everywhere when ``keep`` has none of that kind, else outside the namespaces ``keep`` uses
    and, inside each of them, all but ``keep``'s names. kubectl and the client both run
    exactly these (:meth:`Deletion.kubectl_args`, :meth:`KubeApi.delete_selected`)."""
    sel = MANAGED_SELECTOR
    kept_namespaces = [o.name for o in keep if o.kind == "Namespace"]
    deletions = [Deletion((NAMESPACES,), None, sel, _not_in("metadata.name", kept_namespaces))]
    kept: dict[str, dict[str, set[str]]] = {}
    for raw in keep:
        if raw.kind in MANAGED_RESOURCES:
            kept.setdefault(raw.kind, {}).setdefault(raw.namespace, set()).add(raw.name)
    everywhere = tuple(res for kind, res in MANAGED_RESOURCES.items() if kind not in kept)
    if everywhere:
        deletions.append(Deletion(everywhere, None, sel))
    for kind, by_namespace in kept.items():
        resource = (MANAGED_RESOURCES[kind],)
        outside = _not_in("metadata.namespace", set(by_namespace))
        deletions.append(Deletion(resource, None, sel, outside))
        for namespace, names in sorted(by_namespace.items()):
            deletions.append(Deletion(resource, namespace, sel, _not_in("metadata.name", names)))
    return deletions


class KubeCluster(LabCluster):
    """A real cluster, read and written through kubectl or the official client (base of the
    kind and existing-cluster backends)."""

    name = "kube"

    def __init__(
        self,
        kubectl: Kubectl,
        *,
        probe_timeout_s: float = 2.0,
        reads: Reads | None = None,
        writes: Writes | None = None,
    ) -> None:
        self.kubectl = kubectl
        self.probe_timeout_s = probe_timeout_s
        self.reads = reads if reads is not None else default_reads(kubectl)
        """API reads: the official client when installed (:mod:`labkit.cluster.kube_api`),
        else kubectl."""
        self._writes = writes

    @property
    def writes(self) -> Writes:
        """API writes (:func:`labkit.cluster.writes.default_writes`, chosen on first use):
        kubectl where it is installed and a context was given, else the official client."""
        if self._writes is None:
            self._writes = default_writes(self.kubectl, self.reads)
        return self._writes

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Inventory, pod readiness and the lab's pods, read through :attr:`reads`."""
        return snapshot_from_items(self.reads.list_all(INVENTORY), LAB_LABEL)

    def exec_fn(self) -> ExecFn:
        """``kubectl exec`` by the rule of the writes (:func:`kubectl_writes_chosen`: kubectl
        installed and a context given, what a learner would type), else the client's exec
        stream (a pod without kubectl)."""
        if kubectl_writes_chosen(self.kubectl) or not hasattr(self.reads, "exec"):
            return lambda ns, pod, argv, timeout: self.kubectl.exec(ns, pod, argv, timeout=timeout)
        api: Any = self.reads
        return lambda ns, pod, argv, timeout: api.exec(ns, pod, argv, timeout=timeout)

    def inventory(self) -> Inventory:
        return self.snapshot().inventory

    def _lab_pods(self) -> list[Pod]:
        """On a real cluster the lab's pods are the ones labkit created (labelled
        ``labkit.dev/managed``), not kube-system's, Calico's or another team's."""
        from labkit.cluster.canary import CANARY_NAMESPACE

        snap = self.snapshot()
        return [
            p
            for p in snap.inventory.pods
            if p.key in snap.managed and p.namespace != CANARY_NAMESPACE
        ]

    def runner(self) -> LiveRunner:
        from labkit.engine.evaluator import Engine
        from labkit.probe.runner import EngineRunner

        snap = self.snapshot()
        return LiveRunner(
            snap,
            self.exec_fn(),
            predictor=EngineRunner(Engine(snap.inventory)),
            timeout_s=self.probe_timeout_s,
        )

    # -- writing -----------------------------------------------------------------------------
    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        docs = [prepare(raw) for raw in objects]
        if not docs:
            return ApplyReport()
        writes = self.writes
        before = writes.versions(docs)
        scoped = [d for d in docs if object_key(d)[0] in CLUSTER_SCOPED]
        namespaced = [d for d in docs if object_key(d)[0] not in CLUSTER_SCOPED]
        new_ns = {
            object_key(d)[2]
            for d in scoped
            if object_key(d)[0] == "Namespace" and object_key(d) not in before
        }
        refused = "nothing was applied; fix the objects named above and apply again"
        applied: list[dict[str, Any]] = []
        try:
            if new_ns and any(object_key(d)[1] in new_ns for d in namespaced):
                # namespaced objects cannot be dry-run in a namespace that does not exist yet
                writes.apply(scoped, dry_run=True, hint=refused)
                applied += writes.apply(scoped, hint=refused)
                try:
                    writes.apply(namespaced, dry_run=True, hint=refused)
                except ClusterError:
                    for name in sorted(new_ns):
                        writes.delete("Namespace", "", name)
                    raise
                applied += writes.apply(namespaced, hint=refused)
            else:
                writes.apply(docs, dry_run=True, hint=refused)
                applied += writes.apply(docs, hint=refused)
        except CommandFailed as exc:
            raise CommandFailed(
                exc.command, exc.returncode, exc.stderr, refused, timed_out=exc.timed_out
            ) from None
        after = versions_of(applied)
        changed: list[str] = []
        same: list[str] = []
        for doc in docs:
            key = object_key(doc)
            (same if key in before and before[key] == after.get(key) else changed).append(
                title(key)
            )
        return ApplyReport(applied=tuple(changed), unchanged=tuple(same))

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        return self.writes.delete(kind, namespace, name)

    def _set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        self.writes.set_labels(kind, namespace, name, changes)

    def delete_managed(self, *, timeout: float = 120.0) -> None:
        """Delete every object labelled ``labkit.dev/managed=true`` and nothing else."""
        managed = tuple(MANAGED_RESOURCES.values())
        self.writes.delete_selected(Deletion(managed, None, MANAGED_SELECTOR), timeout=timeout)
        self.writes.delete_selected(
            Deletion((NAMESPACES,), None, MANAGED_SELECTOR), timeout=timeout
        )

    def reset(self) -> ApplyReport:
        """Back to the lab topology (:meth:`LabCluster.reset`): the deletions of
        :func:`reset_deletions`, the topology applied again, then the labels it does not give
        removed from its namespaces and pods. Objects without the managed label are never
        touched, nor are other teams' namespaces and pods."""
        from labkit.cluster.topology import topology_manifests

        objects = list(topology_manifests())
        for deletion in reset_deletions(objects):
            self.writes.delete_selected(deletion, timeout=120.0)
        report = self._apply_objects(objects)
        self._remove_stray_labels(objects)
        return report

    def _remove_stray_labels(self, objects: Sequence[RawObject]) -> None:
        """Remove labels the topology does not give from its namespaces and pods (those
        labkit manages; ``kubernetes.io/`` labels of namespaces are the API server's)."""
        for kind, namespace, name, stray in stray_labels(self.inventory(), objects):
            self._set_labels(kind, namespace, name, stray)
