"""What the cluster would look like if some manifests were applied: the current inventory
with the changed objects laid over it, nothing applied anywhere.

``kubectl apply`` identifies an object by kind, namespace and name and replaces it whole
(server-side: ``metadata.name`` within ``metadata.namespace``); :func:`overlay` does the same
on the evaluated objects, so the prediction of the overlaid inventory is what the engine
would say after the apply. A changed pod keeps the address it already has (a pod's address
never changes while it lives: ``status.podIP``); a new pod gets one from the lab's pools.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from typing import TypeVar

from labkit.model.inventory import Inventory, build_inventory, check_objects
from labkit.model.loader import RawObject

_T = TypeVar("_T")


def _merged(
    base: Sequence[_T], changes: Sequence[_T], key: Callable[[_T], Hashable]
) -> tuple[_T, ...]:
    """``base`` with each item of ``changes`` replacing the one of the same key, or added."""
    found = {key(item): item for item in base}
    found.update((key(item), item) for item in changes)
    return tuple(found[k] for k in sorted(found, key=str))


def overlay(base: Inventory, changes: Inventory) -> Inventory:
    """``base`` after applying every object of ``changes`` (replace by kind, namespace and
    name; add when new). Changed pods keep their addresses in ``base``."""
    existing = {pod.key: pod for pod in base.pods}
    pods = [
        replace(pod, ip=existing[pod.key].ip, ips=existing[pod.key].ips)
        if pod.key in existing
        else pod
        for pod in changes.pods
    ]
    known = {ns.name for ns in base.namespaces}
    namespaces = [ns for ns in changes.namespaces if not (ns.implicit and ns.name in known)]
    return Inventory(
        namespaces=_merged(base.namespaces, namespaces, lambda n: n.name),
        pods=_merged(base.pods, pods, lambda p: p.key),
        services=_merged(base.services, changes.services, lambda s: s.key),
        policies=_merged(base.policies, changes.policies, lambda p: (p.namespace, p.name)),
        warnings=base.warnings + changes.warnings,
        finished=base.finished,
        unevaluated=base.unevaluated + changes.unevaluated,
        walls=_merged(base.walls, changes.walls, lambda w: (w.kind, w.name)),
    )


def what_if_inventory(
    base: Inventory, objects: Sequence[RawObject], kubernetes_version: str | None = None
) -> Inventory:
    """Validate ``objects`` as an apply would (all or nothing), then lay them over ``base``."""
    check_objects(objects, kubernetes_version)
    extra = {ns.name for ns in base.namespaces}
    return overlay(base, build_inventory(objects, extra_namespaces=extra))
