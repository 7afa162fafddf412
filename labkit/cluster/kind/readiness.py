"""Waiting for a cluster to become ready, saying exactly what is not.

Each ``*_ready`` function reads API objects (as ``kubectl get -o json`` returns them) and
answers ``(ready, what is missing)``; :func:`wait_for` polls one of them with progress and a
timeout, and on timeout raises :class:`ClusterNotReady` naming what is still not ready and
how to fix it. Conditions used (Kubernetes / Calico API):
* Node: condition ``Ready`` is ``True``.
* TigeraStatus (operator install): condition ``Available`` is ``True`` (not ``Ready``);
  the objects appear only after the operator starts, so "none yet" is not ready.
* DaemonSet: ``numberReady == desiredNumberScheduled`` and ``updatedNumberScheduled`` too;
  Deployment: ``availableReplicas == replicas`` (``kubectl rollout status``'s test).
* Pod: condition ``Ready`` is ``True``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labkit.cluster.kubectl import Kubectl
from labkit.cluster.live_inventory import pod_not_ready
from labkit.cluster.progress import Progress
from labkit.errors import ClusterError, ClusterNotReady

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]
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


def wait_for(
    what: str,
    check: Check,
    *,
    timeout: float,
    progress: Progress,
    interval: float = 2.0,
    fix: str = "",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Poll ``check`` until it is ready; returns the seconds it took.

    Errors from the check (the API server not answering yet) count as "not ready" with
    their first line as the reason.
    """
    start = clock()
    last = ""
    while True:
        try:
            ok, message = check()
        except ClusterError as exc:
            ok, message = False, str(exc).splitlines()[0]
        elapsed = clock() - start
        if ok:
            log.info("%s ready after %.0f s", what, elapsed)
            return elapsed
        if message != last:
            progress.advance(f"{what}: {message}")
            last = message
        if elapsed >= timeout:
            text = f"{what} not ready after {timeout:.0f} s: {message}"
            raise ClusterNotReady(text + (f"\n    fix: {fix}" if fix else ""))
        sleep(min(interval, timeout - elapsed))


# -- checks bound to a cluster ---------------------------------------------------------------
def nodes_check(kube: Kubectl, expected: int) -> Check:
    return lambda: nodes_ready(kube.items(["get", "nodes"]), expected)


def tigerastatus_check(kube: Kubectl) -> Check:
    return lambda: tigerastatus_available(kube.items(["get", "tigerastatus"]))


def rollout_check(kube: Kubectl, resource: str, namespace: str, name: str) -> Check:
    return lambda: rollout_ready(kube.get_json(["get", resource, name, "-n", namespace]))


def pods_check(
    kube: Kubectl,
    namespaces: Iterable[str],
    expected: int | None = None,
    names: Iterable[str] | None = None,
) -> Check:
    """Pods of ``namespaces`` Ready; with ``names`` (``ns/pod`` keys) only those pods count,
    so a learner's own broken pod in a lab namespace never blocks ``labkit up``."""
    wanted = sorted(set(namespaces))
    only = set(names) if names is not None else None

    def check() -> tuple[bool, str]:
        items = []
        for p in kube.items(["get", "pods", "--all-namespaces"]):
            meta = p.get("metadata") or {}
            if meta.get("namespace") not in wanted:
                continue
            if only is not None and f"{meta.get('namespace')}/{meta.get('name')}" not in only:
                continue
            items.append(p)
        return pods_ready(items, expected)

    return check
