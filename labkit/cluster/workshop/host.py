"""The shared cluster of a workshop, as one learner's view and the instructor's tools use it.

:class:`WorkshopHost` is the small interface a learner's logical view
(:class:`labkit.cluster.workshop.learner.LearnerCluster`) and ``labkit workshop
init/doctor/status/reset/teardown`` are built on. Everything it takes and returns is in
**real** names (``ws1-alice-trusted``); translating to and from the learner's logical names is
the caller's job (:class:`labkit.model.workshop.LearnerSpace`).

* :meth:`WorkshopHost.items` reads one learner's objects as the API returns them (JSON shape,
  ``status`` included): the learner's Namespaces, the Pods, Services and NetworkPolicies in
  them, and the Pods and Services of ``kube-system`` (CoreDNS). Reads are namespaced, as the
  learner's RBAC Role allows (a learner may not list anything cluster-wide).
* :meth:`WorkshopHost.apply` applies an already translated batch, all or nothing (the
  simulated store checks the whole batch before writing; a real cluster gets a server-side
  dry run of every object first, as :meth:`labkit.cluster.kube.KubeCluster._apply_objects`).
* :meth:`WorkshopHost.provision` is :meth:`apply` for the instructor's objects (namespaces,
  RBAC, walls, the ``labkit-workshop`` ConfigMap): it may create namespaces and cluster-scoped
  objects.
* :meth:`WorkshopHost.selected` / :meth:`WorkshopHost.delete_selected`: what ``workshop
  status``, ``reset`` and ``teardown`` count and delete, chosen by a label selector (the API
  server selects, as ``kubectl delete -l`` does: never names picked from a list labkit
  filtered). Deleting a Namespace deletes everything in it.
* :meth:`WorkshopHost.runner` answers probe jobs in real names.

Two hosts:

* :class:`SimulatedHost`: a simulated cluster of its own in
  ``<lab folder>/workshops/<id>/simulated.json`` (:func:`workshop_state_path`), so the
  instructor's ``labkit workshop init --simulated`` and every learner's notebook (with
  ``LABKIT_WORKSHOP``/``LABKIT_LEARNER`` set) share one cluster. Its runner is the policy
  engine over the *whole* shared cluster, walls of every learner included, so a probe across
  learners is answered as Calico would answer it (blocked by the wall).
* :class:`KubeHost`: a real cluster through a :class:`labkit.cluster.kube.KubeCluster`'s reads
  and writes; a learner's reads go through
  :func:`labkit.cluster.workshop.reads.learner_items` and its execs through
  :class:`labkit.cluster.workshop.throttle.ExecLimiter` (at most 2 at a time: the API server's
  priority and fairness does not cover the exec streams).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from labkit.cluster.backend import ApplyReport
from labkit.cluster.labdir import lab_home
from labkit.cluster.sim_apply import (
    CLUSTER_SCOPED,
    canonical_kind,
    delete,
    is_managed,
    key_of,
    merge,
    to_raw,
)
from labkit.cluster.sim_store import Entry, FileStore
from labkit.cluster.workshop.throttle import ExecLimiter
from labkit.errors import ClusterError
from labkit.model.loader import RawObject
from labkit.model.objects import MANAGED_LABEL, Pod
from labkit.model.workshop import WORKSHOP_CONFIGMAP, WORKSHOP_LABEL, LearnerSpace
from labkit.probe.runner import Runner

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster
    from labkit.cluster.kube import KubeCluster
    from labkit.cluster.reads import Resource
    from labkit.cluster.simulated import SimulatedCluster

log = logging.getLogger(__name__)

WORKSHOPS_FOLDER = "workshops"
READ_KINDS = ("Namespace", "Pod", "Service", "NetworkPolicy")
"""The kinds of a learner's view (what the engine models)."""
SYSTEM_READS = ("kube-system",)
"""Namespaces whose Pods and Services a learner may read besides its own (CoreDNS)."""
Key = tuple[str, str, str]
Recorder = Callable[[Any, Sequence[Any]], None]
"""Called with the engine and the results of each batch of probes (flow records)."""


def workshop_folder(workshop_id: str, home: Path | None = None) -> Path:
    """``<lab folder>/workshops/<id>``: where a simulated workshop keeps its cluster."""
    return (home if home is not None else lab_home()) / WORKSHOPS_FOLDER / workshop_id


def workshop_state_path(workshop_id: str, home: Path | None = None) -> Path:
    """``<lab folder>/workshops/<id>/simulated.json``: the simulated shared cluster."""
    return workshop_folder(workshop_id, home) / "simulated.json"


class WorkshopHost(Protocol):
    """The shared cluster, in real names (see the module docstring)."""

    name: str
    """``simulated`` or the backend's name (``existing``, ``kind``)."""
    live: bool
    """Whether probes run on a real cluster (they are then rate-limited per learner)."""

    def where(self) -> str:
        """One line saying which cluster this is (state file, context)."""
        ...

    def items(self, space: LearnerSpace) -> list[dict[str, Any]]:
        """The learner's objects in real names, API JSON shape with ``status``."""
        ...

    def apply(self, objects: Sequence[RawObject]) -> ApplyReport:
        """Apply an already translated batch, all or nothing; titles in real names."""
        ...

    def provision(self, objects: Sequence[RawObject]) -> ApplyReport:
        """Apply the instructor's objects (namespaces, cluster-scoped ones), all or nothing."""
        ...

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete one object; ``False`` when it did not exist."""
        ...

    def set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        """Set (value) or remove (``None``) labels of one Namespace or Pod."""
        ...

    def selected(
        self,
        selector: str,
        kinds: Sequence[str],
        *,
        namespace: str | None = None,
        field_selector: str = "",
    ) -> list[Key]:
        """``(kind, namespace, name)`` of every object of ``kinds`` matching the label
        ``selector`` and the ``field_selector`` (``metadata.name!=a,metadata.name!=b``: the
        ``metadata.name``/``metadata.namespace`` terms every resource supports), in
        ``namespace`` or everywhere; cluster-scoped ones with namespace ``""``."""
        ...

    def delete_selected(
        self,
        selector: str,
        kinds: Sequence[str],
        *,
        namespace: str | None = None,
        field_selector: str = "",
    ) -> int:
        """Delete what :meth:`selected` lists (a Namespace with everything in it); returns
        how many objects that was."""
        ...

    def runner(
        self, space: LearnerSpace | None = None, *, record: Recorder | None = None
    ) -> Runner:
        """A runner answering jobs in real names (``space``: whose probes these are);
        ``record`` (simulated hosts) is called with the engine and each batch of results."""
        ...


# -- label selectors (equality-based, as `kubectl -l` takes them) -------------------------------
def selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` match an equality-based label selector: ``k=v``, ``k==v``,
    ``k!=v``, ``k`` (exists), ``!k`` (does not exist), comma-separated and ANDed (Kubernetes
    docs, "Labels and Selectors: equality-based requirement"); the empty selector matches all."""
    for term in (t.strip() for t in selector.split(",")):
        if not term:
            continue
        if "!=" in term:
            key, _, value = term.partition("!=")
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, _, value = term.replace("==", "=").partition("=")
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


def field_matches(field_selector: str, key: Key) -> bool:
    """Whether ``(kind, namespace, name)`` matches a field selector of ``metadata.name`` and
    ``metadata.namespace`` terms (``=``, ``==``, ``!=``; ANDed), as every resource type
    supports them (Kubernetes docs, "Field Selectors")."""
    values = {"metadata.name": key[2], "metadata.namespace": key[1]}
    for term in (t.strip() for t in field_selector.split(",")):
        if not term:
            continue
        negate = "!=" in term
        field, _, value = term.replace("!=", "=").replace("==", "=").partition("=")
        if field.strip() not in values:
            raise ClusterError(
                f"field selector term {term!r}: labkit's simulated cluster selects on "
                "metadata.name and metadata.namespace only"
            )
        if (values[field.strip()] == value.strip()) == negate:
            return False
    return True


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _as_listed(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A stored object as the API lists it: a simulated pod that has its address is running
    and Ready (the simulated cluster starts pods at once)."""
    item = copy.deepcopy(dict(obj))
    status = item.get("status")
    if item.get("kind") == "Pod" and isinstance(status, dict) and status.get("podIP"):
        status.setdefault("conditions", [{"type": "Ready", "status": "True"}])
    return item


def _pod_item(pod: Pod) -> dict[str, Any]:
    """A workload's pod as the API would list it (the simulated cluster stores the Deployment,
    a real one lists the pods it made)."""
    ports = [
        {
            "containerPort": p.port,
            "protocol": p.protocol.value,
            **({"name": p.name} if p.name else {}),
        }
        for p in pod.ports
    ]
    ips = [str(ip) for ip in pod.addresses]
    status: dict[str, Any] = {
        "phase": pod.phase or "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    if ips:
        status |= {"podIP": ips[0], "podIPs": [{"ip": ip} for ip in ips]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": pod.label_map},
        "spec": {"containers": [{"name": "c", "image": "simulated", "ports": ports}]},
        "status": status,
    }


def _matching(
    entries: Sequence[Entry],
    selector: str,
    kinds: Sequence[str],
    namespace: str | None,
    field_selector: str,
) -> list[Key]:
    """The keys of the stored objects of ``kinds`` that the label ``selector`` and the
    ``field_selector`` select, in ``namespace`` or everywhere, as the API server lists them."""
    wanted = {canonical_kind(entries, k) for k in kinds}
    found: list[Key] = []
    for entry in entries:
        key = key_of(entry["object"])
        if key[0] not in wanted or not selector_matches(selector, _labels(entry["object"])):
            continue
        if namespace is not None and key[0] not in CLUSTER_SCOPED and key[1] != namespace:
            continue
        if field_matches(field_selector, key):
            found.append(key)
    return found


class _ClusterHost:
    """What both hosts do the same way: writes go through their lab cluster's own
    all-or-nothing apply, delete and labels (:class:`labkit.cluster.backend.LabCluster`)."""

    cluster: LabCluster

    def apply(self, objects: Sequence[RawObject]) -> ApplyReport:
        """The batch, validated and applied whole or not at all (the cluster's own rule)."""
        return self.cluster._apply_objects(objects)

    def provision(self, objects: Sequence[RawObject]) -> ApplyReport:
        """The instructor's objects, in one all-or-nothing batch (namespaces first)."""
        return self.cluster._apply_objects(sorted(objects, key=lambda o: o.kind != "Namespace"))

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        return self.cluster._delete(kind, namespace, name)

    def set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        self.cluster._set_labels(kind, namespace, name, changes)


class SimulatedHost(_ClusterHost):
    """A workshop's shared cluster, simulated (see the module docstring)."""

    cluster: SimulatedCluster
    name = "simulated"
    live = False

    def __init__(self, workshop_id: str, home: Path | None = None) -> None:
        from labkit.cluster.simulated import SimulatedCluster

        self.workshop_id = workshop_id
        self.home = home if home is not None else lab_home()
        self.state_path = workshop_state_path(workshop_id, self.home)
        self.cluster = SimulatedCluster(self.state_path.parent, store=FileStore(self.state_path))

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls, workshop_id: str, home: Path | None = None, *, fresh: bool = False
    ) -> SimulatedHost:
        """The shared cluster with the namespaces every cluster has and CoreDNS (two pods in
        ``kube-system``), and nothing of the lab: ``workshop init`` provisions the learners.
        An existing one is kept as it is (``fresh`` starts again from nothing)."""
        from labkit.cluster.simulated import plan_for
        from labkit.cluster.topology import kube_system_manifests

        host = cls(workshop_id, home)
        if host.exists() and not fresh:
            host.cluster.raw_objects()  # fails now, with a fix, when the file is damaged
            return host
        entries, _ = merge([], kube_system_manifests(coredns=True), plan_for)
        host.cluster.store.replace(entries)
        log.info("simulated workshop %s created at %s", workshop_id, host.state_path)
        return host

    @classmethod
    def open(cls, workshop_id: str, home: Path | None = None) -> SimulatedHost:
        """The simulated workshop that ``workshop init --simulated`` created; a
        :class:`ClusterError` saying how to create it when there is none."""
        host = cls(workshop_id, home)
        if not host.exists():
            raise ClusterError(
                f"there is no simulated workshop {workshop_id!r} (no {host.state_path})\n"
                f"    fix: the instructor runs `labkit workshop init --id {workshop_id} "
                "--learners FILE --simulated` (with the same LABKIT_HOME)"
            )
        return host

    def exists(self) -> bool:
        return self.cluster.exists()

    def destroy(self) -> bool:
        """Delete the simulated cluster's state; ``False`` when there was none."""
        return self.cluster.down()

    def where(self) -> str:
        return f"simulated shared cluster {self.state_path}"

    def stamp(self) -> object:
        """Changes whenever the shared cluster changes (a cache key for learners' views)."""
        return self.cluster.store.stamp()

    # -- reads -------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        return self.cluster.store.read()

    def items(self, space: LearnerSpace) -> list[dict[str, Any]]:
        mine = set(space.real_namespaces)
        found: list[dict[str, Any]] = []
        for entry in self.entries():
            obj = entry["object"]
            kind, namespace, name = key_of(obj)
            if kind not in READ_KINDS:
                continue
            if kind == "Namespace":
                if name in mine:
                    found.append(copy.deepcopy(obj))
            elif namespace in mine or (namespace in SYSTEM_READS and kind in ("Pod", "Service")):
                found.append(_as_listed(obj))
        stored = {
            (o["metadata"]["namespace"], o["metadata"]["name"])
            for o in found
            if o.get("kind") == "Pod"
        }
        for pod in self.cluster.inventory().pods:
            if pod.workload and pod.namespace in mine and (pod.namespace, pod.name) not in stored:
                found.append(_pod_item(pod))
        return found

    def configmap(self, name: str, workshop_id: str) -> tuple[str, dict[str, str]] | None:
        """``(namespace, data)`` of the ConfigMap ``name`` of workshop ``workshop_id`` (its
        workshop label), as ``kubectl get configmap`` in the hub namespace would read it."""
        for entry in self.entries():
            obj = entry["object"]
            kind, namespace, found = key_of(obj)
            if kind != "ConfigMap" or found != name:
                continue
            if _labels(obj).get(WORKSHOP_LABEL) not in (None, workshop_id):
                continue
            data = obj.get("data")
            return namespace, {str(k): str(v) for k, v in (data or {}).items()}
        return None

    def workshop_data(self) -> tuple[str, dict[str, str]] | None:
        """The ``labkit-workshop`` ConfigMap of this workshop: ``(hub namespace, data)``."""
        return self.configmap(WORKSHOP_CONFIGMAP, self.workshop_id)

    def selected(
        self,
        selector: str,
        kinds: Sequence[str],
        *,
        namespace: str | None = None,
        field_selector: str = "",
    ) -> list[Key]:
        return _matching(self.entries(), selector, kinds, namespace, field_selector)

    # -- writes (apply, provision, delete, set_labels: _ClusterHost) -----------------------------

    def delete_selected(
        self,
        selector: str,
        kinds: Sequence[str],
        *,
        namespace: str | None = None,
        field_selector: str = "",
    ) -> int:
        """One store update: every object listed by :meth:`selected` goes (a Namespace with
        everything in it, as the API server's namespace controller does)."""

        def change(entries: list[Entry]) -> tuple[list[Entry], int]:
            doomed = set(_matching(entries, selector, kinds, namespace, field_selector))
            result = entries
            for kind, ns, name in sorted(doomed, key=lambda k: k[0] != "Namespace"):
                result, _ = delete(result, kind, ns, name)
            return result, len(doomed)

        return self.cluster.store.update(change)

    # -- probes ------------------------------------------------------------------------------
    def runner(
        self, space: LearnerSpace | None = None, *, record: Recorder | None = None
    ) -> Runner:
        """The engine over the whole shared cluster (every learner's wall included);
        ``record`` gets every batch of results (the learner's flow records)."""
        from labkit.cluster.simulated import SimulatedRunner

        return SimulatedRunner(self.cluster.inventory(), record=record)

    def managed_count(self) -> int:
        """How many stored objects carry the managed label (for status lines)."""
        return sum(1 for e in self.entries() if is_managed(e["object"]))

    def raw_objects(self) -> list[RawObject]:
        return [to_raw(e) for e in self.entries()]


# -- a real cluster ----------------------------------------------------------------------------
def resource_of(kind: str) -> Resource:
    """The resource ``kubectl``/the client deletes ``kind`` through, from the kinds labkit
    writes (:data:`labkit.cluster.writes.WRITABLE`, the workshop's own kinds included): a
    built-in kind's typed API first; ``Kind.group`` (e.g.
    ``GlobalNetworkPolicy.crd.projectcalico.org``) picks the group of a kind served twice."""
    from labkit.cluster.writes import WRITABLE, write_resource

    name, _, group = kind.partition(".")
    found = [r for (g, k), r in WRITABLE.items() if k == name and (not group or g == group)]
    if not found:
        if group:
            raise ClusterError(f"labkit does not know {name} in API group {group}")
        return write_resource(name)  # its error names the kind and the fix
    typed = [r for r in found if r.method_name]
    return (typed or found)[0]


def delete_one_selected(
    host: WorkshopHost, selector: str, kind: str, namespace: str, name: str
) -> bool:
    """Delete one object only if it carries ``selector``: the API server selects by the label
    selector and ``metadata.name`` (``kubectl delete KIND -l SEL --field-selector
    metadata.name=NAME``), never by the name alone."""
    ns = None if kind == "Namespace" else namespace
    fields = f"metadata.name={name}"
    return host.delete_selected(selector, (kind,), namespace=ns, field_selector=fields) > 0


_EXEC_LIMITERS: dict[tuple[str, str], ExecLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


class KubeHost(_ClusterHost):
    """A workshop's shared cluster, real (see the module docstring). Thin: reads, writes and
    execs are those of ``cluster`` (:class:`labkit.cluster.kube.KubeCluster`)."""

    cluster: KubeCluster
    live = True

    def __init__(self, cluster: KubeCluster, *, max_execs: int = 2) -> None:
        self.cluster = cluster
        self.name = cluster.name
        self.max_execs = max_execs

    def _limiter(self, space: LearnerSpace | None) -> ExecLimiter:
        """One exec limiter per learner for the whole process: two runners alive at once
        (a matrix and a check) still share the learner's :attr:`max_execs` slots."""
        key = (space.workshop, space.learner) if space is not None else ("", "")
        with _LIMITERS_LOCK:
            found = _EXEC_LIMITERS.get(key)
            if found is None:
                found = _EXEC_LIMITERS[key] = ExecLimiter(max_concurrent=self.max_execs)
            return found

    def where(self) -> str:
        where = getattr(self.cluster, "where", "")
        return f"{self.name} cluster ({where})" if where else f"{self.name} cluster"

    def items(self, space: LearnerSpace) -> list[dict[str, Any]]:
        from labkit.cluster.workshop.reads import learner_items

        return list(learner_items(self.cluster.reads, space))

    def selected(
        self,
        selector: str,
        kinds: Sequence[str],
        *,
        namespace: str | None = None,
        field_selector: str = "",
    ) -> list[Key]:
        """Listed by the API server with the label selector: ``kubectl get -l`` where labkit
        writes with kubectl, else the official client's list with the same selectors (a
        learner's notebook pod has no kubectl)."""
        from labkit.cluster.writes import kubectl_writes_chosen

        found: list[Key] = []
        lister = getattr(self.cluster.reads, "list_resource", None)
        for kind in kinds:
            res = resource_of(kind)
            if lister is not None and not kubectl_writes_chosen(self.cluster.kubectl):
                listing = lister(
                    res,
                    namespace if res.namespaced else None,
                    label_selector=selector,
                    field_selector=field_selector or None,
                )
                found += [
                    (
                        res.kind,
                        str((i.get("metadata") or {}).get("namespace") or "")
                        if res.namespaced
                        else "",
                        str((i.get("metadata") or {}).get("name", "")),
                    )
                    for i in listing.items
                ]
                continue
            args = ["get", res.kubectl_name, "-l", selector, "--ignore-not-found"]
            args += ["--field-selector", field_selector] if field_selector else []
            if res.namespaced:
                args += ["-n", namespace] if namespace else ["--all-namespaces"]
            for item in self.cluster.kubectl.items(args):
                meta = item.get("metadata") or {}
                found.append(
                    (
                        res.kind,
                        str(meta.get("namespace") or "") if res.namespaced else "",
                        str(meta.get("name", "")),
                    )
                )
        return found

    def delete_selected(
        self,
        selector: str,
        kinds: Sequence[str],
        *,
        namespace: str | None = None,
        field_selector: str = "",
    ) -> int:
        """Counted with :meth:`selected`, then deleted by the API server's selection
        (:class:`labkit.cluster.writes.Deletion`, ``kubectl delete -l SEL``)."""
        from labkit.cluster.writes import Deletion

        count = len(
            self.selected(selector, kinds, namespace=namespace, field_selector=field_selector)
        )
        resources = tuple(resource_of(k) for k in kinds)
        namespaced = tuple(r for r in resources if r.namespaced)
        scoped = tuple(r for r in resources if not r.namespaced)
        for group in (namespaced, scoped):
            if group:
                self.cluster.writes.delete_selected(
                    Deletion(
                        group,
                        namespace if group is namespaced else None,
                        selector,
                        field_selector if group is namespaced else "",
                    )
                )
        return count

    def runner(
        self, space: LearnerSpace | None = None, *, record: Recorder | None = None
    ) -> Runner:
        """``LiveRunner`` over the learner's own objects (``space``), execs limited to
        :attr:`max_execs` at a time; without a space, over what labkit manages. ``record``
        is not used: a real cluster's flows are Calico's, and cluster-wide."""
        from labkit.cluster.live_inventory import snapshot_from_items
        from labkit.cluster.live_probe import LiveRunner
        from labkit.engine.evaluator import Engine
        from labkit.probe.runner import EngineRunner

        snap = (
            snapshot_from_items(self.items(space), MANAGED_LABEL)
            if space is not None
            else self.cluster.snapshot()
        )
        exec_fn = self._limiter(space).wrap(self.cluster.exec_fn())
        return LiveRunner(
            snap,
            exec_fn,
            predictor=EngineRunner(Engine(snap.inventory)),
            timeout_s=self.cluster.probe_timeout_s,
            workers=self.max_execs,
        )
