"""The primitives every real cluster shares (kind and existing clusters), through kubectl.

``_apply_objects`` is all-or-nothing: the whole batch is applied with ``--dry-run=server``
first (the API server validates and admits every object without storing it), and only then
for real. Namespaced objects cannot be dry-run in a namespace that does not exist yet, so
when the batch creates namespaces they are created first and deleted again if the rest of
the batch is refused. Every object gets the label ``labkit.dev/managed: "true"`` and an
explicit namespace (``default`` when the manifest has none, never the context's namespace).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.cluster.backend import LAB_LABEL, ApplyReport, LabCluster
from labkit.cluster.kubectl import Kubectl, list_items, parse_json
from labkit.cluster.live_inventory import INVENTORY_RESOURCES, Snapshot, snapshot_from_items
from labkit.cluster.live_probe import LiveRunner
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


def title(key: Key) -> str:
    kind, namespace, name = key
    return f"{kind} {name}" if not namespace else f"{kind} {namespace}/{name}"


class KubeCluster(LabCluster):
    """A cluster reached through kubectl (base of the kind and existing-cluster backends)."""

    name = "kube"

    def __init__(self, kubectl: Kubectl, *, probe_timeout_s: float = 2.0) -> None:
        self.kubectl = kubectl
        self.probe_timeout_s = probe_timeout_s

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Inventory, pod readiness and the lab's pods, from one ``kubectl get``."""
        items = self.kubectl.items(["get", INVENTORY_RESOURCES, "--all-namespaces"])
        return snapshot_from_items(items, LAB_LABEL)

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
            lambda ns, pod, argv, timeout: self.kubectl.exec(ns, pod, argv, timeout=timeout),
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
        selector = f"{LAB_LABEL}=true"
        self.kubectl.run(
            [
                "delete",
                "networkpolicies.networking.k8s.io,services,pods",
                "--all-namespaces",
                "-l",
                selector,
                "--ignore-not-found",
                "--wait=false",
            ],
            timeout=timeout,
        )
        self.kubectl.run(
            ["delete", "namespaces", "-l", selector, "--ignore-not-found", "--wait=false"],
            timeout=timeout,
        )
