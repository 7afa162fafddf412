"""What the instructor's dashboard reads of each learner: the learner's logical lab, the
health of its pods and its progress events (issue 10).

:func:`learner_states` reads the shared cluster **once** for the whole workshop, then gives
each learner's objects to a :class:`~labkit.cluster.workshop.learner.LearnerCluster` over a
read-only snapshot (:class:`SnapshotHost`), so each learner's inventory is exactly the one the
learner's own notebook sees (the same translation to logical names, the same snapshot code),
without 200 reads of the cluster:

* the simulated host: its store is read once (:meth:`SimulatedHost.entries`); the pods that
  workloads stand for are built once from the whole cluster's inventory;
* a real cluster (:class:`KubeHost`, the instructor's rights): one list per kind, the
  workshop's Namespaces by label selector (``labkit.dev/workshop=ID``), the pods, services
  and NetworkPolicies of every namespace, kept for the workshop's namespaces only (pods made
  by a learner's Deployment carry no workshop label), the pods and services of
  ``kube-system`` (and that Namespace, which the lesson checks' world has too), and the ``labkit-progress`` ConfigMaps by field selector
  (``metadata.name``, which every resource supports);
* any other host: per learner (``host.items(space)``), the slow path.

Pod health: a pod is ready when its ``Ready`` condition is ``True`` (kubelet's readiness, as
``kubectl get pods`` shows READY); otherwise the reason is the waiting container's
(``ImagePullBackOff``...) or the condition's (:func:`labkit.cluster.live_inventory.pod_not_ready`).
A topology pod the learner's lab lacks counts as not ready (``missing``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.cluster.workshop.progress_events import Event, events_from_data
from labkit.model.workshop import PROGRESS_CONFIGMAP, LearnerSpace, Workshop

if TYPE_CHECKING:
    from labkit.cluster.workshop.host import WorkshopHost
    from labkit.model.inventory import Inventory

log = logging.getLogger(__name__)

Obj = dict[str, Any]


@dataclass(frozen=True)
class LearnerState:
    """One learner, as the dashboard sees it: ``namespaces`` (real names), the logical
    ``inventory``, ``pods_ready``/``pods_total`` of the learner's lab pods with
    ``not_ready`` (``ns/pod: reason``, logical names), the progress ``events`` (oldest
    first) and ``last_activity`` (the newest event's time, ``None`` without events)."""

    learner: str
    namespaces: tuple[str, ...]
    inventory: Inventory
    pods_ready: int
    pods_total: int
    not_ready: tuple[str, ...]
    events: tuple[Event, ...]
    last_activity: datetime | None


@dataclass(frozen=True)
class HostSnapshot:
    """The shared cluster as read once: the workshop's Namespaces by name, the pods,
    services and NetworkPolicies by namespace, the system objects a learner may read, and
    the ``labkit-progress`` ConfigMaps' data by namespace."""

    namespaces: Mapping[str, Obj]
    by_namespace: Mapping[str, Sequence[Obj]]
    system: Sequence[Obj]
    progress: Mapping[str, Mapping[str, str]]


class SnapshotHost:
    """A read-only :class:`WorkshopHost` answering :meth:`items` from a
    :class:`HostSnapshot` (what a learner's ``host.items(space)`` would read)."""

    live = False

    def __init__(self, snapshot: HostSnapshot, name: str = "snapshot") -> None:
        self.snapshot = snapshot
        self.name = name

    def where(self) -> str:
        return f"a snapshot of the {self.name} workshop cluster"

    def stamp(self) -> object:
        return id(self.snapshot)  # never changes: a LearnerCluster builds its snapshot once

    def items(self, space: LearnerSpace) -> list[Obj]:
        snap = self.snapshot
        found = [snap.namespaces[n] for n in space.real_namespaces if n in snap.namespaces]
        for name in space.real_namespaces:
            found.extend(snap.by_namespace.get(name, ()))
        found.extend(snap.system)
        return found


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _data(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}


def _simulated_ready(obj: Obj) -> Obj:
    """A stored pod as the simulated cluster runs it: with no kubelet, a pod whose phase is
    Running (or unset) is Ready, as :func:`labkit.cluster.workshop.host._pod_item` lists the
    pods of workloads; a pod with a Ready condition or another phase is left as it is."""
    found = obj.get("status")
    status: dict[str, Any] = found if isinstance(found, dict) else {}
    conditions = status.get("conditions") or ()
    if any(isinstance(c, dict) and c.get("type") == "Ready" for c in conditions):
        return obj
    if status.get("phase") not in (None, "Running"):
        return obj
    ready = {**status, "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    return {**obj, "status": ready}


def simulated_snapshot(host: Any, workshop: Workshop) -> HostSnapshot:
    """One read of a :class:`SimulatedHost`'s store (see the module docstring)."""
    from labkit.cluster.sim_apply import key_of
    from labkit.cluster.workshop.host import READ_KINDS, SYSTEM_READS, _pod_item
    from labkit.model.workloads import WORKLOAD_KINDS

    mine = {n for space in workshop.spaces() for n in space.real_namespaces}
    namespaces: dict[str, Obj] = {}
    by_ns: dict[str, list[Obj]] = defaultdict(list)
    system: list[Obj] = []
    progress: dict[str, dict[str, str]] = {}
    workloads = False
    for entry in host.entries():
        obj = entry["object"]
        kind, namespace, name = key_of(obj)
        if kind == "ConfigMap" and name == PROGRESS_CONFIGMAP and namespace in mine:
            progress[namespace] = _data(obj)
        elif kind in WORKLOAD_KINDS and namespace in mine:
            workloads = True
        if kind not in READ_KINDS:
            continue
        if kind == "Pod":
            obj = _simulated_ready(obj)
        if kind == "Namespace":
            if name in mine:
                namespaces[name] = obj
            elif name in SYSTEM_READS:
                system.append(obj)
        elif namespace in mine:
            by_ns[namespace].append(obj)
        elif namespace in SYSTEM_READS and kind in ("Pod", "Service"):
            system.append(obj)
    if workloads:  # the pods workloads stand for, as host.items lists them
        stored = {(ns, _meta(o).get("name")) for ns, objs in by_ns.items() for o in objs}
        for pod in host.cluster.inventory().pods:
            if pod.workload and pod.namespace in mine and (pod.namespace, pod.name) not in stored:
                by_ns[pod.namespace].append(_pod_item(pod))
    return HostSnapshot(namespaces, dict(by_ns), system, progress)


def kube_snapshot(host: Any, workshop: Workshop) -> HostSnapshot:
    """One list per kind on a real cluster, with the instructor's rights (module docstring)."""
    reads = host.cluster.reads
    mine = {n for space in workshop.spaces() for n in space.real_namespaces}
    namespaces = {
        str(_meta(o).get("name")): o
        for o in reads.list("namespaces", label_selector=workshop.selector()).items
        if _meta(o).get("name") in mine
    }
    by_ns: dict[str, list[Obj]] = defaultdict(list)
    for plural in ("pods", "services", "networkpolicies"):
        for obj in reads.list(plural).items:
            namespace = str(_meta(obj).get("namespace", ""))
            if namespace in mine:
                by_ns[namespace].append(obj)
    system = [
        obj
        for plural in ("pods", "services")
        for obj in reads.list(plural, namespace="kube-system").items
    ]
    found = reads.get("namespaces", None, "kube-system")
    if found is not None:  # the instructor may read it; the lesson world has it
        system.append(found)
    progress = {
        str(_meta(o).get("namespace")): _data(o)
        for o in reads.list(
            "configmaps", field_selector=f"metadata.name={PROGRESS_CONFIGMAP}"
        ).items
        if _meta(o).get("namespace") in mine
    }
    return HostSnapshot(namespaces, dict(by_ns), system, progress)


def host_snapshot(host: WorkshopHost, workshop: Workshop) -> HostSnapshot | None:
    """The one-read snapshot of ``host``, or ``None`` for a host without a bulk read."""
    from labkit.cluster.workshop.host import KubeHost, SimulatedHost

    if isinstance(host, SimulatedHost):
        return simulated_snapshot(host, workshop)
    if isinstance(host, KubeHost):
        return kube_snapshot(host, workshop)
    return None


def learner_states(host: WorkshopHost, workshop: Workshop) -> list[LearnerState]:
    """Every learner's state, in the workshop's order, reading ``host`` once (module
    docstring)."""
    from labkit.cluster.workshop.progress_events import read_events

    snapshot = host_snapshot(host, workshop)
    view: Any = host if snapshot is None else SnapshotHost(snapshot, host.name)
    expected = topology_pods()
    states = []
    for learner in workshop.learners:
        space = workshop.space(learner.name)
        if snapshot is not None:
            events = events_from_data(
                snapshot.progress.get(space.home), who=f"learner {learner.name}"
            )
        else:
            events = read_events(host, space)
        states.append(learner_state(view, workshop, learner.name, events, expected))
    return states


def topology_pods() -> tuple[str, ...]:
    """The lab topology's pods (logical keys), read once per call of :func:`learner_states`
    (what :meth:`LearnerCluster.missing_pods` compares with, without parsing the topology's
    YAML again for each learner)."""
    from labkit.cluster.topology import topology_manifests

    return tuple(f"{o.namespace}/{o.name}" for o in topology_manifests() if o.kind == "Pod")


def learner_state(
    host: Any,
    workshop: Workshop,
    learner: str,
    events: Sequence[Event],
    expected: Sequence[str] | None = None,
) -> LearnerState:
    """One learner's state, its inventory through :class:`LearnerCluster` over ``host``;
    ``expected``: the topology's pods (:func:`topology_pods`)."""
    from labkit.cluster.workshop.learner import LearnerCluster

    cluster = LearnerCluster(host, workshop, learner)
    snap = cluster.snapshot()
    mine = set(cluster.space.logical_namespaces)
    pods = [p for p in snap.inventory.pods if p.namespace in mine]
    not_ready = [f"{p.key}: {snap.not_ready[p.key]}" for p in pods if p.key in snap.not_ready]
    have = {p.key for p in snap.inventory.pods}
    missing = [
        key
        for key in (topology_pods() if expected is None else expected)
        if key.partition("/")[0] in mine and key not in have
    ]
    ordered = tuple(sorted(events, key=lambda e: e.time))
    return LearnerState(
        learner=learner,
        namespaces=cluster.space.real_namespaces,
        inventory=snap.inventory,
        pods_ready=len(pods) - len(not_ready),
        pods_total=len(pods) + len(missing),
        not_ready=(*not_ready, *(f"{key}: missing" for key in missing)),
        events=ordered,
        last_activity=ordered[-1].time if ordered else None,
    )


def open_workshop(
    workshop_id: str, *, context: str | None = None, home: Path | None = None
) -> tuple[WorkshopHost, Workshop]:
    """The host and the :class:`Workshop` of ``workshop_id`` as the instructor's commands
    find them (:func:`labkit.cluster.workshop.ops.open_workshop`: ``context``, else what
    ``workshop init`` recorded in ``<lab folder>/workshops/ID/workshop.json``, else the
    simulated workshop of that id; the definition from its ``labkit-workshop`` ConfigMap)."""
    from labkit.cluster.workshop.ops import open_workshop as opened

    found = opened(workshop_id, context=context, home=home)
    return found.host, found.workshop


def lesson_requirement_files() -> list[Path]:
    """The lesson requirement files (``notebooks/requirements/<lesson>.yaml`` of the project
    checkout), sorted: the files ``lab.check_requirements`` reads; ``[]`` outside a checkout."""
    from labkit.cluster.labdir import find_project

    root = find_project()
    folder = None if root is None else root / "notebooks" / "requirements"
    if folder is None or not folder.is_dir():
        log.warning("no notebooks/requirements folder found: the dashboard shows no checks")
        return []
    return sorted(folder.glob("*.yaml"))
