"""A live cluster's objects (``kubectl get ... -o json``) as an :class:`Inventory`.

Rules, as the API and CNIs behave:
* pods keep the address in ``status.podIP``; a pod without one (Pending) has no address
  (never an invented one);
* ``hostNetwork`` pods are left out: they use the node's address, and NetworkPolicy does
  not apply to them (the Kubernetes docs call the behaviour undefined);
* pods that ended (phase ``Succeeded``/``Failed``) are left out: they have no network;
* a pod owned by a ReplicaSet of a Deployment is labelled ``Deployment/<name>`` (the
  ReplicaSet name minus its ``pod-template-hash``), so ``ns/<deployment>`` finds it.
Readiness is returned beside the inventory: ``{pod key: why it is not Ready}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import RawObject
from labkit.model.objects import Pod
from labkit.model.policy import parse_address
from labkit.model.workloads import pods_from

INVENTORY_RESOURCES = "namespaces,pods,services,networkpolicies.networking.k8s.io"
"""Fully qualified: with Calico installed, ``networkpolicies`` alone is ambiguous."""


@dataclass(frozen=True)
class Snapshot:
    inventory: Inventory
    not_ready: Mapping[str, str] = field(default_factory=dict)
    managed: frozenset[str] = frozenset()
    """Keys of pods carrying ``labkit.dev/managed: "true"``."""


def _workload(meta: Mapping[str, Any]) -> str:
    for ref in meta.get("ownerReferences") or ():
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        if kind == "ReplicaSet":
            suffix = (meta.get("labels") or {}).get("pod-template-hash")
            if suffix and name.endswith(f"-{suffix}"):
                return f"Deployment/{name[: -len(suffix) - 1]}"
        if kind:
            return f"{kind}/{name}"
    return ""


def pod_not_ready(item: Mapping[str, Any]) -> str | None:
    """``None`` when the pod is Ready, else a short reason (``ImagePullBackOff``...)."""
    status = item.get("status") or {}
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return None
    for cs in status.get("containerStatuses") or ():
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return f"container {cs.get('name')}: {waiting.get('reason', 'waiting')}" + (
                f" ({waiting['message']})" if waiting.get("message") else ""
            )
    for cond in status.get("conditions") or ():
        if cond.get("status") != "True" and cond.get("reason"):
            return f"{cond.get('type')}: {cond['reason']}" + (
                f" ({cond['message']})" if cond.get("message") else ""
            )
    return f"phase {status.get('phase', 'Unknown')}"


def snapshot_from_items(items: Iterable[Mapping[str, Any]], managed_label: str) -> Snapshot:
    """Build the inventory and readiness from the items of a ``kubectl get -o json`` List."""
    others: list[RawObject] = []
    pods: list[Pod] = []
    not_ready: dict[str, str] = {}
    managed: set[str] = set()
    for item in items:
        raw = RawObject(dict(item), "<cluster>")
        if raw.kind != "Pod":
            others.append(raw)
            continue
        spec = item.get("spec") or {}
        status = item.get("status") or {}
        if spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
            continue
        draft = pods_from(RawObject({**item, "status": {}}, "<cluster>"))[0]
        ip_text = status.get("podIP")
        pod = Pod(
            draft.namespace,
            draft.name,
            draft.labels,
            parse_address(ip_text) if ip_text else None,
            draft.ports,
            _workload(raw.metadata),
            str(spec.get("nodeName") or ""),
        )
        pods.append(pod)
        reason = pod_not_ready(item)
        if reason is not None:
            not_ready[pod.key] = reason
        if (raw.metadata.get("labels") or {}).get(managed_label) == "true":
            managed.add(pod.key)
    base = build_inventory(others)
    inventory = Inventory(
        namespaces=base.namespaces,
        pods=tuple(sorted(pods, key=lambda p: (p.namespace, p.name))),
        services=base.services,
        policies=base.policies,
        warnings=base.warnings,
    )
    return Snapshot(inventory, not_ready, frozenset(managed))
