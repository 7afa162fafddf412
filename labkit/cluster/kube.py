"""The primitives every real cluster shares (kind and existing clusters), through kubectl.

``_apply_objects`` is all-or-nothing: the whole batch is applied with ``--dry-run=server``
first (the API server validates and admits every object without storing it), and only then
for real. Namespaced objects cannot be dry-run in a namespace that does not exist yet, so
when the batch creates namespaces they are created first and deleted again if the rest of
the batch is refused. Every object gets the label ``labkit.dev/managed: "true"`` and an
explicit namespace (``default`` when the manifest has none, never the context's namespace).

``reset`` and ``delete_managed`` delete only what labkit created, as a shared cluster needs:
every delete command carries the label selector ``labkit.dev/managed=true``, and the
topology's own objects are kept out by field selectors on ``metadata.name`` and
``metadata.namespace`` (which every resource type supports: Kubernetes docs, "Field
Selectors"; ``ObjectMetaFieldsSet`` in k8s.io/apiserver/pkg/registry/generic/matcher.go).
Nothing is ever deleted by name from a list that was read first.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.cluster.backend import LAB_LABEL, ApplyReport, LabCluster
from labkit.cluster.kubectl import Kubectl, list_items, parse_json
from labkit.cluster.live_inventory import Snapshot, snapshot_from_items
from labkit.cluster.live_probe import ExecFn, LiveRunner
from labkit.cluster.reads import INVENTORY, Reads, default_reads
from labkit.errors import CommandFailed
from labkit.model.inventory import Inventory
from labkit.model.loader import RawObject
from labkit.model.objects import Pod

log = logging.getLogger(__name__)

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IPPool",
        "GlobalNetworkPolicy",
        "GlobalNetworkSet",
        "Tier",
        "StorageClass",
        "PersistentVolume",
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
    }
)
RESOURCES = {
    "NetworkPolicy": "networkpolicies.networking.k8s.io",
    "Namespace": "namespaces",
    "Pod": "pods",
    "Service": "services",
}
SERVER_FIELDS = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "managedFields",
    "generation",
    "selfLink",
    "deletionTimestamp",
)
Key = tuple[str, str, str]
MANAGED_SELECTOR = f"{LAB_LABEL}=true"
MANAGED_RESOURCES = {
    "NetworkPolicy": "networkpolicies.networking.k8s.io",
    "Service": "services",
    "Pod": "pods",
    "Deployment": "deployments.apps",
    "ReplicaSet": "replicasets.apps",
    "StatefulSet": "statefulsets.apps",
    "DaemonSet": "daemonsets.apps",
    "Job": "jobs.batch",
    "CronJob": "cronjobs.batch",
}
"""The namespaced kinds whose labelled objects ``reset`` and ``down`` delete (the kinds
labkit models); a labelled namespace goes with everything in it."""
DELETE_FLAGS = ("-l", MANAGED_SELECTOR, "--ignore-not-found", "--wait=false")


def resource_name(kind: str) -> str:
    return RESOURCES.get(kind, kind.lower())


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


def object_key(data: Mapping[str, Any]) -> Key:
    meta = data.get("metadata") or {}
    kind = str(data.get("kind", ""))
    namespace = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace") or "default")
    return kind, namespace, str(meta.get("name", ""))


def _not_in(field: str, values: set[str] | list[str]) -> list[str]:
    """``--field-selector field!=a,field!=b`` (the terms are ANDed), or nothing."""
    if not values:
        return []
    return ["--field-selector", ",".join(f"{field}!={v}" for v in sorted(values))]


def reset_deletions(keep: Sequence[RawObject]) -> list[list[str]]:
    """The ``kubectl delete`` commands of ``reset``: every object labelled
    ``labkit.dev/managed=true`` except the objects of ``keep`` (the topology). Namespaces
    first (a managed namespace outside ``keep`` goes with everything in it), then each kind
    of :data:`MANAGED_RESOURCES`: everywhere when ``keep`` has none of that kind, else
    outside the namespaces ``keep`` uses and, inside each of them, all but ``keep``'s names."""
    commands = [
        [
            "delete",
            "namespaces",
            *DELETE_FLAGS,
            *_not_in("metadata.name", [o.name for o in keep if o.kind == "Namespace"]),
        ]
    ]
    kept: dict[str, dict[str, set[str]]] = {}
    for raw in keep:
        if raw.kind in MANAGED_RESOURCES:
            kept.setdefault(raw.kind, {}).setdefault(raw.namespace, set()).add(raw.name)
    everywhere = [res for kind, res in MANAGED_RESOURCES.items() if kind not in kept]
    if everywhere:
        commands.append(["delete", ",".join(everywhere), "--all-namespaces", *DELETE_FLAGS])
    for kind, by_namespace in kept.items():
        resource = MANAGED_RESOURCES[kind]
        commands.append(
            [
                "delete",
                resource,
                "--all-namespaces",
                *DELETE_FLAGS,
                *_not_in("metadata.namespace", set(by_namespace)),
            ]
        )
        for namespace, names in sorted(by_namespace.items()):
            commands.append(
                [
                    "delete",
                    resource,
                    "-n",
                    namespace,
                    *DELETE_FLAGS,
                    *_not_in("metadata.name", names),
                ]
            )
    return commands


def title(key: Key) -> str:
    kind, namespace, name = key
    return f"{kind} {name}" if not namespace else f"{kind} {namespace}/{name}"


class KubeCluster(LabCluster):
    """A cluster reached through kubectl (base of the kind and existing-cluster backends)."""

    name = "kube"

    def __init__(
        self, kubectl: Kubectl, *, probe_timeout_s: float = 2.0, reads: Reads | None = None
    ) -> None:
        self.kubectl = kubectl
        self.probe_timeout_s = probe_timeout_s
        self.reads = reads if reads is not None else default_reads(kubectl)
        """API reads: the official client when installed (:mod:`labkit.cluster.kube_api`),
        else kubectl."""

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Inventory, pod readiness and the lab's pods, read through :attr:`reads`."""
        return snapshot_from_items(self.reads.list_all(INVENTORY), LAB_LABEL)

    def exec_fn(self) -> ExecFn:
        """``kubectl exec`` where kubectl is installed (what a learner would type), else the
        client's exec stream (a pod without kubectl)."""
        from labkit.cluster.commands import which

        if which("kubectl") is not None or not hasattr(self.reads, "exec"):
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
    def _existing(self, docs: Sequence[dict[str, Any]]) -> dict[Key, str]:
        """``{key: resourceVersion}`` of the objects of ``docs`` that exist now."""
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)})
        done = self.kubectl.run(["get", "-f", "-", "--ignore-not-found", "-o", "json"], input=body)
        found = list_items(parse_json(done.stdout, "get -f -"))
        return {
            object_key(o): str((o.get("metadata") or {}).get("resourceVersion", "")) for o in found
        }

    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        docs = [prepare(raw) for raw in objects]
        if not docs:
            return ApplyReport()
        before = self._existing(docs)
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
                self.kubectl.apply(scoped, dry_run=True, hint=refused)
                applied += self.kubectl.apply(scoped, hint=refused)
                try:
                    self.kubectl.apply(namespaced, dry_run=True, hint=refused)
                except CommandFailed:
                    for name in sorted(new_ns):
                        self._delete("Namespace", "", name)
                    raise
                applied += self.kubectl.apply(namespaced, hint=refused)
            else:
                self.kubectl.apply(docs, dry_run=True, hint=refused)
                applied += self.kubectl.apply(docs, hint=refused)
        except CommandFailed as exc:
            raise CommandFailed(
                exc.command, exc.returncode, exc.stderr, refused, timed_out=exc.timed_out
            ) from None
        after = {
            object_key(o): str((o.get("metadata") or {}).get("resourceVersion", ""))
            for o in applied
        }
        changed: list[str] = []
        same: list[str] = []
        for doc in docs:
            key = object_key(doc)
            (same if key in before and before[key] == after.get(key) else changed).append(
                title(key)
            )
        return ApplyReport(applied=tuple(changed), unchanged=tuple(same))

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        args = [
            "delete",
            resource_name(kind),
            name,
            "--ignore-not-found",
            "--wait=false",
            "-o",
            "name",
        ]
        if kind not in CLUSTER_SCOPED:
            args += ["-n", namespace or "default"]
        return bool(self.kubectl.run(args).stdout.strip())

    def _set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        args = ["label", resource_name(kind), name, "--overwrite"]
        if kind not in CLUSTER_SCOPED:
            args += ["-n", namespace or "default"]
        args += [f"{k}-" if v is None else f"{k}={v}" for k, v in changes.items()]
        self.kubectl.run(args)

    def delete_managed(self, *, timeout: float = 120.0) -> None:
        """Delete every object labelled ``labkit.dev/managed=true`` and nothing else."""
        self.kubectl.run(
            ["delete", ",".join(MANAGED_RESOURCES.values()), "--all-namespaces", *DELETE_FLAGS],
            timeout=timeout,
        )
        self.kubectl.run(["delete", "namespaces", *DELETE_FLAGS], timeout=timeout)

    def reset(self) -> ApplyReport:
        """Back to the lab topology (:meth:`LabCluster.reset`): the deletions of
        :func:`reset_deletions`, the topology applied again, then the labels it does not give
        removed from its namespaces and pods. Objects without the managed label are never
        touched, nor are other teams' namespaces and pods."""
        from labkit.cluster.topology import topology_manifests

        objects = list(topology_manifests())
        for args in reset_deletions(objects):
            self.kubectl.run(args, timeout=120.0)
        report = self._apply_objects(objects)
        self._remove_stray_labels(objects)
        return report

    def _remove_stray_labels(self, objects: Sequence[RawObject]) -> None:
        """Remove labels the topology does not give from its namespaces and pods (those
        labkit manages; ``kubernetes.io/`` labels of namespaces are the API server's)."""
        inventory = self.inventory()
        for raw in objects:
            have = _labels_now(inventory, raw)
            if have is None or have.get(LAB_LABEL) != "true":
                continue
            wanted = raw.metadata.get("labels") or {}
            system = "kubernetes.io/" if raw.kind == "Namespace" else None
            stray: dict[str, str | None] = {
                k: None for k in have if k not in wanted and not (system and k.startswith(system))
            }
            if stray:
                namespace = raw.namespace if raw.kind == "Pod" else ""
                self._set_labels(raw.kind, namespace, raw.name, stray)


def _labels_now(inventory: Inventory, raw: RawObject) -> Mapping[str, str] | None:
    """The labels the cluster's namespace or pod named like ``raw`` has now, or ``None``."""
    if raw.kind == "Namespace":
        namespace = inventory.namespace_map.get(raw.name)
        return namespace.label_map if namespace is not None else None
    if raw.kind == "Pod":
        pod = inventory.pod_map.get(f"{raw.namespace}/{raw.name}")
        return pod.label_map if pod is not None else None
    return None
