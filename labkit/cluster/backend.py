"""The one interface every lab cluster offers to notebooks, checks and the grader.

Backends implement a handful of primitives (``_apply_objects``, ``_delete``, ``_set_labels``,
``inventory``, ``runner``); everything users call is built here on top of them, so the
simulated, kind and existing-cluster backends behave alike. ``apply`` validates the whole
batch first and applies nothing when any object is invalid, and gives every object it applies
the label ``labkit.dev/managed: "true"`` (:data:`LAB_LABEL`), so that ``reset`` and ``down``
find what labkit created and leave everything else alone, as they must on a shared cluster.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from labkit.engine.evaluator import Engine
from labkit.errors import LabkitError, ValidationFailed
from labkit.model.inventory import Inventory, check_objects
from labkit.model.loader import RawObject, load_paths, load_text
from labkit.model.objects import MANAGED_LABEL, Namespace, Pod
from labkit.model.policy import NetworkPolicy
from labkit.model.ports import Protocol
from labkit.model.unevaluated import find_unevaluated, unevaluated_warning
from labkit.probe.jobs import Job, ProbeSpec, Result
from labkit.probe.runner import Runner
from labkit.probe.table import TruthTable

log = logging.getLogger(__name__)

LAB_LABEL = MANAGED_LABEL


@dataclass(frozen=True)
class ApplyReport:
    applied: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    labelled: tuple[str, ...] = ()
    """Objects that came without ``labkit.dev/managed: "true"`` and got it from labkit."""
    unevaluated: tuple[str, ...] = ()
    """Objects of policy kinds labkit applies but does not evaluate
    (:func:`labkit.model.unevaluated.find_unevaluated`)."""

    @property
    def label_note(self) -> str:
        """One sentence saying that labkit labelled objects, or ``""``."""
        count = len(self.labelled)
        if not count:
            return ""
        return (
            f"labkit added label {LAB_LABEL}=true to {count} object{'s' if count != 1 else ''} "
            f"so `labkit reset` can find {'it' if count == 1 else 'them'}"
        )

    def lines(self) -> list[str]:
        """One line per object, ``applied`` or ``unchanged``, as kubectl prints them."""
        return [f"{t} applied" for t in self.applied] + [f"{t} unchanged" for t in self.unchanged]

    def __str__(self) -> str:
        lines = self.lines() or ["nothing to apply"]
        if self.label_note:
            lines.append(self.label_note)
        warning = unevaluated_warning(self.unevaluated)
        if warning:
            lines.append(f"warning: {warning}")
        return "\n".join(lines)


def add_managed_label(objects: Sequence[RawObject]) -> tuple[list[RawObject], tuple[str, ...]]:
    """The objects, each labelled ``labkit.dev/managed: "true"`` (copies where a label was
    added), and the titles of those that lacked it."""
    out: list[RawObject] = []
    labelled: list[str] = []
    for raw in objects:
        labels = raw.metadata.get("labels")
        if isinstance(labels, Mapping) and labels.get(LAB_LABEL) == "true":
            out.append(raw)
            continue
        data = dict(raw.data)
        meta = dict(raw.metadata)
        meta["labels"] = {**(labels if isinstance(labels, Mapping) else {}), LAB_LABEL: "true"}
        data["metadata"] = meta
        out.append(replace(raw, data=data))
        labelled.append(raw.title)
    return out, tuple(labelled)


@dataclass(frozen=True)
class ClusterStatus:
    backend: str
    ready: bool
    nodes: tuple[str, ...] = ()
    cni: str = ""
    topology: str = ""
    canary: str = ""
    details: tuple[tuple[str, str], ...] = field(default=())

    def lines(self) -> list[str]:
        out = [f"backend:  {self.backend}", f"ready:    {'yes' if self.ready else 'no'}"]
        if self.nodes:
            out.append(f"nodes:    {', '.join(self.nodes)}")
        if self.cni:
            out.append(f"cni:      {self.cni}")
        if self.topology:
            out.append(f"topology: {self.topology}")
        if self.canary:
            out.append(f"canary:   {self.canary}")
        out += [f"{k + ':':<9} {v}" for k, v in self.details]
        return out


def read_manifests(
    source: str
    | Path
    | Sequence[str | Path]
    | Mapping[str, object]
    | Sequence[Mapping[str, object]],
) -> list[RawObject]:
    """Accept a path, several paths, YAML text, one object or a list of objects."""
    if isinstance(source, Mapping):
        return [RawObject(dict(source), "<object>")]  # type: ignore[arg-type]
    if isinstance(source, Path):
        return load_paths([source])
    if isinstance(source, str):
        if "\n" in source or source.lstrip().startswith(("apiVersion", "kind", "{", "---")):
            return load_text(source, "<text>")
        return load_paths([source])
    items = list(source)
    if items and all(isinstance(i, Mapping) for i in items):
        return [RawObject(dict(i), "<object>") for i in items]  # type: ignore[arg-type]
    return load_paths(items)  # type: ignore[arg-type]


class LabCluster(ABC):
    """Base of the three backends."""

    name: str = "abstract"
    kubernetes_version: str = "1.36"

    # -- primitives ------------------------------------------------------------------------
    @abstractmethod
    def inventory(self) -> Inventory:
        """The cluster's namespaces, pods, services and policies as they are now."""

    @abstractmethod
    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        """Apply an already validated batch."""

    @abstractmethod
    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete one object; ``False`` when it did not exist."""

    @abstractmethod
    def _set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        """Set (value) or remove (``None``) labels on a Namespace or Pod."""

    @abstractmethod
    def runner(self) -> Runner:
        """The probe runner of this backend."""

    @abstractmethod
    def status(self) -> ClusterStatus:
        """Backend, nodes, CNI, topology and canary state."""

    @abstractmethod
    def reset(self) -> ApplyReport:
        """Back to the lab topology with no NetworkPolicies: delete what labkit created
        (labelled ``labkit.dev/managed=true``) that is not the topology, apply the topology
        again and remove labels it does not give; objects labkit did not create stay."""

    # -- operations ------------------------------------------------------------------------
    def apply(
        self,
        source: str
        | Path
        | Sequence[str | Path]
        | Mapping[str, object]
        | Sequence[Mapping[str, object]],
    ) -> ApplyReport:
        """Validate every object, then apply them all, each labelled ``labkit.dev/managed:
        "true"``; nothing is applied if one is invalid. The report names the objects that
        got the label from labkit."""
        objects = read_manifests(source)
        check_objects(objects, self.kubernetes_version)
        labelled_objects, labelled = add_managed_label(objects)
        report = self._apply_objects(labelled_objects)
        return replace(report, labelled=labelled, unevaluated=find_unevaluated(objects))

    def delete(self, kind: str, name: str, namespace: str = "default") -> bool:
        return self._delete(kind, namespace, name)

    def label(
        self, kind: str, name: str, labels: Mapping[str, str | None], namespace: str = "default"
    ) -> None:
        """Set labels (``{"k": "v"}``) or remove them (``{"k": None}``) on a Namespace or Pod."""
        if kind not in ("Namespace", "Pod"):
            raise LabkitError(f"labkit labels Namespaces and Pods, not {kind}")
        from labkit.model.validation import validate_labels

        issues = validate_labels(
            {k: v for k, v in labels.items() if v is not None},
            "metadata.labels",
            file="<label>",
            object=f"{kind} {name}",
        )
        if issues:
            raise ValidationFailed(issues)
        self._set_labels(kind, namespace, name, labels)

    def namespaces(self) -> list[Namespace]:
        return list(self.inventory().namespaces)

    def pods(self, namespace: str | None = None) -> list[Pod]:
        return [p for p in self.inventory().pods if namespace is None or p.namespace == namespace]

    def policies(self, namespace: str | None = None) -> list[NetworkPolicy]:
        return [
            p for p in self.inventory().policies if namespace is None or p.namespace == namespace
        ]

    def policy(self, name: str, namespace: str = "default") -> NetworkPolicy:
        for pol in self.inventory().policies:
            if pol.namespace == namespace and pol.name == name:
                return pol
        raise LabkitError(
            f"NetworkPolicy {namespace}/{name} does not exist; policies in {namespace}: "
            + (", ".join(p.name for p in self.policies(namespace)) or "none")
        )

    def selected_pods(self, name: str, namespace: str = "default") -> list[Pod]:
        """The pods a policy's ``podSelector`` selects now."""
        pol = self.policy(name, namespace)
        return [p for p in self.pods(namespace) if pol.pod_selector.matches(p.label_map)]

    def describe_policy(self, name: str, namespace: str = "default") -> str:
        """The policy in ``kubectl describe networkpolicy`` form."""
        from labkit.engine.describe import describe_policy

        return describe_policy(self.policy(name, namespace))

    def engine(self) -> Engine:
        return Engine(self.inventory())

    def peers(self, namespaces: Iterable[str] | None = None) -> list[str]:
        """The peers a matrix shows by default: the pods of ``namespaces``, or without them
        the lab's own pods (:meth:`_lab_pods`); the topology's pods first, in lesson order."""
        from labkit.cluster.topology import lesson_order

        if namespaces:
            wanted = set(namespaces)
            return lesson_order(p.key for p in self.inventory().pods if p.namespace in wanted)
        return lesson_order(p.key for p in self._lab_pods())

    def _lab_pods(self) -> list[Pod]:
        """Pods that belong to the lab: every pod outside the cluster's own namespaces."""
        from labkit.cluster.topology import SYSTEM_NAMESPACES

        return [p for p in self.inventory().pods if p.namespace not in SYSTEM_NAMESPACES]

    def probe(
        self, src: str, dst: str, port: int = 80, protocol: Protocol | str = Protocol.TCP
    ) -> Result:
        job = Job(src, dst, ProbeSpec(port, Protocol(protocol)))
        return self.runner().run([job])[0]

    def probe_matrix(
        self,
        probes: Sequence[ProbeSpec] = (ProbeSpec(80),),
        namespaces: Iterable[str] | None = None,
        peers: Sequence[str] | None = None,
    ) -> list[TruthTable]:
        """Probe every ordered pair of ``peers`` (default: every pod) on each probe."""
        return self._tables(self.runner(), probes, namespaces, peers)

    def predicted_matrix(
        self,
        probes: Sequence[ProbeSpec] = (ProbeSpec(80),),
        namespaces: Iterable[str] | None = None,
        peers: Sequence[str] | None = None,
    ) -> list[TruthTable]:
        """What the engine predicts for the same jobs as :meth:`probe_matrix`."""
        from labkit.probe.runner import EngineRunner

        return self._tables(EngineRunner(self.engine()), probes, namespaces, peers)

    def _tables(
        self,
        runner: Runner,
        probes: Sequence[ProbeSpec],
        namespaces: Iterable[str] | None,
        peers: Sequence[str] | None,
    ) -> list[TruthTable]:
        chosen = list(peers) if peers else self.peers(namespaces)
        jobs = [Job(s, d, probe) for probe in probes for s in chosen for d in chosen]
        results = runner.run(jobs)
        return [TruthTable.from_results(chosen, probe, results) for probe in probes]


def stray_labels(
    inventory: Inventory, objects: Sequence[RawObject], *, kept_prefixes: tuple[str, ...] = ()
) -> list[tuple[str, str, str, dict[str, str | None]]]:
    """``(kind, namespace, name, {label: None})`` for each of ``objects``' namespaces and pods
    (those labkit manages) that carries labels ``objects`` do not give: what ``reset`` removes.
    Kept: labels under ``kept_prefixes``, and a namespace's ``kubernetes.io/`` labels (the API
    server's own, ``kubernetes.io/metadata.name``)."""
    found: list[tuple[str, str, str, dict[str, str | None]]] = []
    for raw in objects:
        have = _labels_now(inventory, raw)
        if have is None or have.get(LAB_LABEL) != "true":
            continue
        wanted = raw.metadata.get("labels") or {}
        kept = (*kept_prefixes, *(("kubernetes.io/",) if raw.kind == "Namespace" else ()))
        stray: dict[str, str | None] = {
            k: None for k in have if k not in wanted and not k.startswith(kept)
        }
        if stray:
            found.append((raw.kind, raw.namespace if raw.kind == "Pod" else "", raw.name, stray))
    return found


def _labels_now(inventory: Inventory, raw: RawObject) -> Mapping[str, str] | None:
    """The labels the cluster's namespace or pod named like ``raw`` has now, or ``None``."""
    if raw.kind == "Namespace":
        namespace = inventory.namespace_map.get(raw.name)
        return namespace.label_map if namespace is not None else None
    if raw.kind == "Pod":
        pod = inventory.pod_map.get(f"{raw.namespace}/{raw.name}")
        return pod.label_map if pod is not None else None
    return None
