"""Writing API objects to a real cluster, through kubectl or through the official client.

:class:`Writes` is what the kind and existing backends write with: server-side apply of a
batch (``dry_run`` first, by :meth:`labkit.cluster.kube.KubeCluster._apply_objects`, which
keeps the whole batch all-or-nothing), delete by name, delete by selectors
(:class:`Deletion`, built once by :func:`labkit.cluster.kube.reset_deletions`), and a label
patch. Two implementations, as :mod:`labkit.cluster.reads` has:

* :class:`KubectlWrites`: ``kubectl apply --server-side``, ``kubectl delete``, ``kubectl
  label``: what the learner would type, authenticated as the learner's own kubectl is;
* :class:`labkit.cluster.kube_api.KubeApi`: the same requests through the ``kubernetes``
  client (``PATCH`` with ``application/apply-patch+yaml``, ``DELETE``, a merge patch of
  ``metadata.labels``), for a pod without kubectl (a JupyterHub notebook: in-cluster
  configuration).

:func:`default_writes` picks kubectl when it is on ``PATH`` and labkit was given a kubeconfig
context (the learner's own setup), else the client when installed, else kubectl.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from labkit.cluster import commands
from labkit.cluster.kubectl import Kubectl, list_items, parse_json
from labkit.cluster.reads import RESOURCES, Resource, client_installed
from labkit.errors import ClusterError, PrerequisiteMissing

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str, str]

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
        "ClusterNetworkPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
)
"""Kinds without a namespace (``kubectl api-resources --namespaced=false``)."""

_CALICO = ("projectcalico.org/v3", "crd.projectcalico.org/v1")
WRITABLE: dict[tuple[str, str], Resource] = {
    (r.group, r.kind): r
    for r in (
        *(RESOURCES[p] for p in ("namespaces", "pods", "services", "networkpolicies")),
        *(RESOURCES[p] for p in ("deployments", "daemonsets", "ippools", "configmaps")),
        # workshop mode (labkit workshop init): accounts, quotas, the admission policy, tiers
        Resource("serviceaccounts", "ServiceAccount", "v1", True, "service_account"),
        Resource("resourcequotas", "ResourceQuota", "v1", True, "resource_quota"),
        Resource("limitranges", "LimitRange", "v1", True, "limit_range"),
        *(
            Resource(plural, kind, "admissionregistration.k8s.io/v1", False, method)
            for plural, kind, method in (
                (
                    "validatingadmissionpolicies",
                    "ValidatingAdmissionPolicy",
                    "validating_admission_policy",
                ),
                (
                    "validatingadmissionpolicybindings",
                    "ValidatingAdmissionPolicyBinding",
                    "validating_admission_policy_binding",
                ),
            )
        ),
        *(Resource("tiers", "Tier", v, False) for v in _CALICO),
        Resource("replicasets", "ReplicaSet", "apps/v1", True, "replica_set"),
        Resource("statefulsets", "StatefulSet", "apps/v1", True, "stateful_set"),
        Resource("jobs", "Job", "batch/v1", True, "job"),
        Resource("cronjobs", "CronJob", "batch/v1", True, "cron_job"),
        *(
            Resource(plural, kind, "rbac.authorization.k8s.io/v1", namespaced, method)
            for plural, kind, namespaced, method in (
                ("roles", "Role", True, "role"),
                ("rolebindings", "RoleBinding", True, "role_binding"),
                ("clusterroles", "ClusterRole", False, "cluster_role"),
                ("clusterrolebindings", "ClusterRoleBinding", False, "cluster_role_binding"),
            )
        ),
        *(Resource("networkpolicies", "NetworkPolicy", v) for v in _CALICO),
        *(Resource("globalnetworkpolicies", "GlobalNetworkPolicy", v, False) for v in _CALICO),
        *(Resource("networksets", "NetworkSet", v) for v in _CALICO),
        *(Resource("globalnetworksets", "GlobalNetworkSet", v, False) for v in _CALICO),
        Resource("ippools", "IPPool", "projectcalico.org/v3", False),
        *(
            Resource(plural, kind, "policy.networking.k8s.io/v1alpha1", False)
            for plural, kind in (
                ("adminnetworkpolicies", "AdminNetworkPolicy"),
                ("baselineadminnetworkpolicies", "BaselineAdminNetworkPolicy"),
                ("clusternetworkpolicies", "ClusterNetworkPolicy"),
            )
        ),
        Resource(
            "clusternetworkpolicies",
            "ClusterNetworkPolicy",
            "policy.networking.k8s.io/v1alpha2",
            False,
        ),
    )
}
"""``(API group, kind)`` -> the resource the client writes it to: the kinds labkit models
(:data:`labkit.model.inventory.KNOWN_KINDS`) and the policy kinds it reads but does not
evaluate (:data:`labkit.model.unevaluated.UNEVALUATED_KINDS`), and Calico's IP pools. Any
version of a group is written at the object's own ``apiVersion``."""


def write_resource(kind: str, api_version: str = "") -> Resource:
    """The resource of ``kind`` at ``api_version``; without one, the built-in kind (a bare
    ``NetworkPolicy`` is ``networking.k8s.io``'s, as for kubectl)."""
    group = api_version.rpartition("/")[0]
    if not api_version:
        found = [r for (_, k), r in WRITABLE.items() if k == kind and r.method_name]
        if found:
            return found[0]
    elif (group, kind) in WRITABLE:
        return replace(WRITABLE[(group, kind)], api_version=api_version)
    raise ClusterError(
        f"labkit cannot write {kind} ({api_version or 'no apiVersion'}) through the "
        "Kubernetes client\n    fix: install kubectl (`labkit doctor` says how), or leave "
        "this object out"
    )


def kubectl_name(kind: str) -> str:
    """How kubectl names ``kind`` (fully qualified for the kinds labkit writes; any other
    kind as kubectl resolves it)."""
    try:
        return write_resource(kind).kubectl_name
    except ClusterError:
        return kind.lower()


def object_key(data: Mapping[str, Any]) -> Key:
    meta = data.get("metadata") or {}
    kind = str(data.get("kind", ""))
    namespace = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace") or "default")
    return kind, namespace, str(meta.get("name", ""))


def title(key: Key) -> str:
    kind, namespace, name = key
    return f"{kind} {name}" if not namespace else f"{kind} {namespace}/{name}"


def versions_of(found: Sequence[Mapping[str, Any]]) -> dict[Key, str]:
    """``{key: resourceVersion}`` of API objects."""
    return {object_key(o): str((o.get("metadata") or {}).get("resourceVersion", "")) for o in found}


@dataclass(frozen=True)
class Deletion:
    """Delete every object of ``resources`` that matches both selectors, in ``namespace``
    (``None``: every namespace, or cluster-scoped). The API server does the selecting;
    ``field_selector`` terms are ANDed (``metadata.name!=a,metadata.name!=b``)."""

    resources: tuple[Resource, ...]
    namespace: str | None
    label_selector: str
    field_selector: str = ""

    def kubectl_args(self) -> list[str]:
        """``kubectl delete NAMES [-n NS | --all-namespaces] -l SEL --ignore-not-found
        --wait=false [--field-selector FS]``."""
        scope: list[str] = []
        if self.namespace is not None:
            scope = ["-n", self.namespace]
        elif any(r.namespaced for r in self.resources):
            scope = ["--all-namespaces"]
        args = ["delete", ",".join(r.kubectl_name for r in self.resources), *scope]
        args += ["-l", self.label_selector, "--ignore-not-found", "--wait=false"]
        return args + (["--field-selector", self.field_selector] if self.field_selector else [])


class Writes(Protocol):
    """Write access to one cluster."""

    def versions(self, docs: Sequence[Obj]) -> dict[Key, str]:
        """``{key: resourceVersion}`` of the objects of ``docs`` that exist now."""
        ...

    def apply(self, docs: Sequence[Obj], *, dry_run: bool = False, hint: str = "") -> list[Obj]:
        """Server-side apply of ``docs`` (field manager ``labkit``); the objects as the API
        server answered. Raises :class:`ClusterError` naming the refused object (and, when
        not ``dry_run``, the objects applied before it); ``hint`` is the fix when nothing
        was applied."""
        ...

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete one object (without waiting); ``False`` when it did not exist."""
        ...

    def delete_selected(self, deletion: Deletion, *, timeout: float = 120.0) -> None: ...

    def set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        """Set (value) or remove (``None``) labels of one object."""
        ...


class KubectlWrites:
    """:class:`Writes` through kubectl."""

    def __init__(self, kubectl: Kubectl) -> None:
        self.kubectl = kubectl

    def versions(self, docs: Sequence[Obj]) -> dict[Key, str]:
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)})
        done = self.kubectl.run(["get", "-f", "-", "--ignore-not-found", "-o", "json"], input=body)
        return versions_of(list_items(parse_json(done.stdout, "get -f -")))

    def apply(self, docs: Sequence[Obj], *, dry_run: bool = False, hint: str = "") -> list[Obj]:
        return self.kubectl.apply(docs, dry_run=dry_run, hint=hint)

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        args = ["delete", kubectl_name(kind), name, "--ignore-not-found", "--wait=false"]
        args += ["-o", "name"]
        if kind not in CLUSTER_SCOPED:
            args += ["-n", namespace or "default"]
        return bool(self.kubectl.run(args).stdout.strip())

    def delete_selected(self, deletion: Deletion, *, timeout: float = 120.0) -> None:
        self.kubectl.run(deletion.kubectl_args(), timeout=timeout)

    def set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        args = ["label", kubectl_name(kind), name, "--overwrite"]
        if kind not in CLUSTER_SCOPED:
            args += ["-n", namespace or "default"]
        args += [f"{k}-" if v is None else f"{k}={v}" for k, v in changes.items()]
        self.kubectl.run(args)


def kubectl_writes_chosen(kubectl: Kubectl) -> bool:
    """kubectl where it is installed and labkit was given a kubeconfig context (what the
    learner would type), or where the client is not installed."""
    on_path = commands.which("kubectl") is not None
    return (on_path and bool(kubectl.context)) or not client_installed()


def default_writes(kubectl: Kubectl, reads: object = None) -> Writes:
    """:class:`KubectlWrites` when :func:`kubectl_writes_chosen`, else the official client
    for the same kubeconfig and context (in a pod without either: the pod's service
    account), the very client of ``reads`` when it is one; neither installed is
    :class:`PrerequisiteMissing`."""
    if kubectl_writes_chosen(kubectl):
        if commands.which("kubectl") is None:
            raise PrerequisiteMissing(
                "labkit needs kubectl or the kubernetes client (the `lab` extra) to change "
                "the cluster, and neither is installed\n    fix: "
                + commands.INSTALL_HINTS["kubectl"]
            )
        return KubectlWrites(kubectl)
    log.info("writing through the kubernetes client (no kubectl, or no kubeconfig context)")
    from labkit.cluster.kube_api import KubeApi

    if isinstance(reads, KubeApi):
        return reads
    return KubeApi(kubectl.kubeconfig, kubectl.context)
