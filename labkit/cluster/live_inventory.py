"""A live cluster's objects (``kubectl get ... -o json``, or the API) as an :class:`Inventory`.

Pods are read by the same model code as manifests (:func:`labkit.model.workloads.pods_from`),
so a live pod and the same pod in a file mean the same thing (issue: offline equals the lab):
* addresses are ``status.podIPs`` (every family on a dual-stack cluster), else
  ``status.podIP``; a pod without one (Pending) has no address, never an invented one;
* ``hostNetwork`` pods are kept with ``host_network=True`` and their node's address: no
  NetworkPolicy selects them and their traffic is the node's (Calico makes no workload
  endpoint for them, ``Converter.IsValidCalicoWorkloadEndpoint``);
* finished pods (phase ``Succeeded``/``Failed``) go to ``Inventory.finished``: they own no
  address and are no peer (Calico ``IsFinished``);
* a pod owned by a ReplicaSet of a Deployment is labelled ``Deployment/<name>``
  (:func:`labkit.model.workloads.owner_workload`), so ``ns/<deployment>`` finds it.
Readiness is returned beside the inventory: ``{pod key: why it is not Ready}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from labkit.model.inventory import Inventory, build_inventory, pod_from_draft
from labkit.model.loader import RawObject
from labkit.model.objects import FINISHED_PHASES, Pod
from labkit.model.policy import parse_address
from labkit.model.workloads import pods_from


@dataclass(frozen=True)
class Snapshot:
    inventory: Inventory
    not_ready: Mapping[str, str] = field(default_factory=dict)
    managed: frozenset[str] = frozenset()
    """Keys of pods carrying ``labkit.dev/managed: "true"``."""


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


def _live_pod(raw: RawObject) -> Pod:
    """The pod as read from the cluster: its own addresses only, and the node it runs on."""
    draft = pods_from(raw)[0]
    texts = draft.ips or ((draft.ip,) if draft.ip else ())
    pod = pod_from_draft(draft, None if draft.finished else tuple(map(parse_address, texts)))
    node = (raw.data.get("spec") or {}).get("nodeName")
    return replace(pod, node=str(node or ""))


def snapshot_from_items(items: Iterable[Mapping[str, Any]], managed_label: str) -> Snapshot:
    """Build the inventory and readiness from the items of a ``kubectl get -o json`` List."""
    others: list[RawObject] = []
    pods: list[Pod] = []
    finished: list[Pod] = []
    not_ready: dict[str, str] = {}
    managed: set[str] = set()
    for item in items:
        raw = RawObject(dict(item), "<cluster>")
        if raw.kind != "Pod":
            others.append(raw)
            continue
        pod = _live_pod(raw)
        if pod.phase in FINISHED_PHASES:
            finished.append(pod)
            continue
        pods.append(pod)
        reason = pod_not_ready(item)
        if reason is not None:
            not_ready[pod.key] = reason
        if (raw.metadata.get("labels") or {}).get(managed_label) == "true":
            managed.add(pod.key)
    base = build_inventory(others)
    inventory = replace(
        base,
        pods=tuple(sorted(pods, key=lambda p: (p.namespace, p.name))),
        finished=tuple(sorted(finished, key=lambda p: (p.namespace, p.name))),
    )
    return Snapshot(inventory, not_ready, frozenset(managed))
