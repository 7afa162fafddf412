"""Waiting for a cluster to become ready, saying exactly what is not.

Each ``*_ready`` function reads API objects (as ``kubectl get -o json`` returns them) and
answers ``(ready, what is missing)``; the ``*_wait`` functions bind one to a list of a
cluster's objects (:class:`labkit.cluster.reads.ObjectWait`) and :func:`wait` waits on it
with :func:`labkit.cluster.waits.wait_for` (a watch through the official client, else
polling), which on timeout raises :class:`ClusterNotReady` naming what is still not ready
and how to fix it. Conditions used (Kubernetes / Calico API):
* Node: condition ``Ready`` is ``True``.
* TigeraStatus (operator install): condition ``Available`` is ``True`` (not ``Ready``);
  the objects appear only after the operator starts, so "none yet" is not ready.
* DaemonSet: ``numberReady == desiredNumberScheduled`` and ``updatedNumberScheduled`` too;
  Deployment: ``availableReplicas == replicas`` (``kubectl rollout status``'s test).
* Pod: condition ``Ready`` is ``True``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from labkit.cluster.live_inventory import pod_not_ready
from labkit.cluster.progress import Progress
from labkit.cluster.reads import ObjectWait, Reads
from labkit.cluster.waits import Check, wait_for

__all__ = ["Check", "wait_for"]

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]


def _condition(obj: Obj, kind: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            return dict(cond)
    return None


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", "?"))


def nodes_ready(items: Iterable[Obj], expected: int | None = None) -> tuple[bool, str]:
    nodes = list(items)
    if expected is not None and len(nodes) < expected:
        return False, f"{len(nodes)} of {expected} nodes registered"
    waiting = []
    for node in nodes:
        cond = _condition(node, "Ready")
        if cond is None or cond.get("status") != "True":
            why = (cond or {}).get("message") or (cond or {}).get("reason") or "no Ready condition"
            waiting.append(f"node {_name(node)} NotReady ({why})")
    if not nodes:
        return False, "no nodes yet"
    return (not waiting), "; ".join(waiting) or f"{len(nodes)} node(s) Ready"


def tigerastatus_available(items: Iterable[Obj]) -> tuple[bool, str]:
    statuses = list(items)
    if not statuses:
        return False, "no tigerastatus objects yet (the operator is starting)"
    waiting = []
    for st in statuses:
        cond = _condition(st, "Available")
        if cond is None or cond.get("status") != "True":
            degraded = _condition(st, "Degraded")
            progressing = _condition(st, "Progressing")
            why = (
                next(
                    (
                        c.get("message") or c.get("reason")
                        for c in (degraded, progressing)
                        if c and c.get("status") == "True"
                    ),
                    "",
                )
                or "not Available"
            )
            waiting.append(f"tigerastatus {_name(st)}: {why}")
    return (not waiting), "; ".join(waiting) or "Calico components Available"


def rollout_ready(obj: Obj) -> tuple[bool, str]:
    """DaemonSet or Deployment rolled out (``kubectl rollout status``'s test)."""
    kind, name = str(obj.get("kind", "")), _name(obj)
    status = obj.get("status") or {}
    if kind == "DaemonSet":
        want = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        ok = want > 0 and ready == want and updated == want
        return ok, f"daemonset {name}: {ready}/{want} ready, {updated}/{want} updated"
    want = int((obj.get("spec") or {}).get("replicas", 1) or 0)
    available = int(status.get("availableReplicas") or 0)
    return available >= want and want > 0, f"deployment {name}: {available}/{want} available"


def pods_ready(items: Iterable[Obj], expected: int | None = None) -> tuple[bool, str]:
    pods = list(items)
    if expected is not None and len(pods) < expected:
        return False, f"{len(pods)} of {expected} pods created"
    waiting = []
    for pod in pods:
        why = pod_not_ready(pod)
        if why is not None:
            ns = (pod.get("metadata") or {}).get("namespace", "")
            waiting.append(f"pod {ns}/{_name(pod)}: {why}")
    if not pods:
        return False, "no pods yet"
    shown = "; ".join(waiting[:4]) + (f"; and {len(waiting) - 4} more" if len(waiting) > 4 else "")
    return (not waiting), shown or f"{len(pods)} pod(s) Ready"


def wait(
    what: str,
    on: ObjectWait,
    *,
    timeout: float,
    progress: Progress | None = None,
    fix: str = "",
) -> float:
    """Wait until ``on`` is ready: through a watch when the reads can watch, else polling."""
    return wait_for(what, on.check, timeout=timeout, progress=progress, pause=on.pause, fix=fix)


# -- waits bound to a cluster ----------------------------------------------------------------
def nodes_wait(reads: Reads, expected: int | None = None) -> ObjectWait:
    return ObjectWait(reads, "nodes", lambda items: nodes_ready(items, expected))


def tigerastatus_wait(reads: Reads) -> ObjectWait:
    return ObjectWait(reads, "tigerastatuses", tigerastatus_available)


def rollout_wait(reads: Reads, plural: str, namespace: str, name: str) -> ObjectWait:
    """A DaemonSet or Deployment (``plural`` ``daemonsets`` or ``deployments``) rolled out."""

    def judge(items: list[dict[str, Any]]) -> tuple[bool, str]:
        for obj in items:
            if _name(obj) == name:
                return rollout_ready(obj)
        return False, f"{plural[:-1]} {namespace}/{name} does not exist yet"

    return ObjectWait(reads, plural, judge, namespace=namespace)


def pods_wait(
    reads: Reads,
    namespaces: Iterable[str],
    expected: int | None = None,
    names: Iterable[str] | None = None,
    label_selector: str | None = None,
) -> ObjectWait:
    """Pods of ``namespaces`` Ready; with ``names`` (``ns/pod`` keys) only those pods count,
    so a learner's own broken pod in a lab namespace never blocks ``labkit up``. One
    namespace is listed (and watched) alone; several, across namespaces by
    ``label_selector``."""
    wanted = sorted(set(namespaces))
    only = set(names) if names is not None else None

    def judge(items: list[dict[str, Any]]) -> tuple[bool, str]:
        chosen = []
        for p in items:
            meta = p.get("metadata") or {}
            if meta.get("namespace") not in wanted:
                continue
            if only is not None and f"{meta.get('namespace')}/{meta.get('name')}" not in only:
                continue
            chosen.append(p)
        return pods_ready(chosen, expected)

    namespace = wanted[0] if len(wanted) == 1 else None
    return ObjectWait(reads, "pods", judge, namespace=namespace, label_selector=label_selector)


def gone_wait(
    reads: Reads, plural: str, names: Iterable[str], namespace: str | None = None
) -> ObjectWait:
    """The objects ``names`` of ``plural`` no longer exist (deleted, finalizers done)."""
    wanted = set(names)

    def judge(items: list[dict[str, Any]]) -> tuple[bool, str]:
        left = sorted(wanted & {_name(o) for o in items})
        return not left, f"{len(left)} still terminating: {', '.join(left[:4])}" if left else ""

    return ObjectWait(reads, plural, judge, namespace=namespace)
