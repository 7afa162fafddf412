"""A learner's lab in a workshop: the learner's logical view of the shared cluster.

:class:`LearnerCluster` is a :class:`labkit.cluster.backend.LabCluster` like the simulated,
kind and existing backends, so every facade call and CLI command works for a learner
unchanged, in the lab's logical names (``trusted``, ``my-segment/frontend``). Underneath, it
reads and writes the learner's real namespaces (``ws1-alice-trusted``) through a
:class:`labkit.cluster.workshop.host.WorkshopHost`, translating with the learner's
:class:`labkit.model.workshop.LearnerSpace`:

* reads: the host's items of the learner, each mapped with
  :meth:`LearnerSpace.to_logical_object`, built into an inventory exactly as a live cluster's
  items are (:func:`labkit.cluster.live_inventory.snapshot_from_items`). A real namespace
  whose name is one of the learner's logical names (``kube-system`` when a workshop's lab
  calls one of its namespaces that) is shadowed by the learner's own;
* writes: the whole batch is checked first (:meth:`LearnerSpace.refusals`: the kinds of
  :data:`labkit.model.workshop.LEARNER_KINDS`, in the learner's namespaces only, in
  ``validate``'s error form) and nothing is applied when one object is refused, as the API
  server would refuse it (the learner's Role grants nothing else); then each object is
  mapped with :meth:`LearnerSpace.to_real_object` (which adds the workshop, learner and
  managed labels) and applied through the host, all or nothing;
* probes: jobs are mapped to real names (:meth:`LearnerSpace.peer_to_real`) and the results
  come back as the jobs asked, details in logical names. On a live cluster every run passes a
  per-learner :class:`labkit.cluster.workshop.throttle.MatrixLimiter` first (one live
  matrix per 20 s, with jitter); predictions never wait.

What a learner's view adds, and keeps to the learner:

* the namespaces every cluster has (``default``, ``kube-system``, ``kube-public``,
  ``kube-node-lease``), as Namespace objects carrying only the automatic
  ``kubernetes.io/metadata.name`` label: a learner may not read cluster-scoped Namespaces it
  does not own, but they exist on every cluster (Kubernetes creates them), so a
  ``namespaceSelector`` on ``kube-system`` (DNS egress) and a grader's world name them as in a
  single-user lab;
* a **private RBAC sandbox** (:class:`RbacSandbox`, ``<learner folder>/rbac.json``): a learner
  may not write RBAC on the shared cluster (its Role grants no ``rbac.authorization.k8s.io``
  verbs, and escalation rules would stop it anyway), so the Roles, RoleBindings, ClusterRoles
  and ClusterRoleBindings of a learner's ``apply`` are kept there, in logical names, and
  ``lab.can_i``/``labkit auth can-i`` evaluate them (:mod:`labkit.model.rbac`). The batch is
  checked whole first: nothing goes anywhere when one object is refused;
* on a simulated host, the learner's probes as flow records in logical names
  (``<learner folder>/flows.jsonl``, :mod:`labkit.cluster.flows`).

The learner folder is ``<lab folder>/workshops/<id>/learners/<learner>``
(:func:`learner_folder`); it also holds a private simulated lab when the learner asks for one
(``lab.up("simulated", ...)``, :mod:`labkit.cluster.lifecycle`).

Labels under ``labkit.dev/`` belong to the workshop: the cluster's ValidatingAdmissionPolicy
refuses a learner's change to them, and so does :meth:`LearnerCluster.label`, before asking.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from labkit.cluster.backend import (
    LAB_LABEL,
    ApplyReport,
    ClusterStatus,
    LabCluster,
    stray_labels,
)
from labkit.cluster.labdir import lab_home, write_json_atomic
from labkit.cluster.live_inventory import Snapshot, snapshot_from_items
from labkit.cluster.workshop.host import WorkshopHost, delete_one_selected, workshop_folder
from labkit.errors import ClusterError, Issue, LabkitError, ValidationFailed
from labkit.model.inventory import Inventory
from labkit.model.loader import RawObject
from labkit.model.objects import Pod
from labkit.model.rbac import RBAC_KINDS, is_rbac
from labkit.model.workshop import (
    LABKIT_PREFIX,
    LEARNER_KINDS,
    NAME_LABEL,
    POOL_ANNOTATION,
    PROGRESS_CONFIGMAP,
    LearnerSpace,
    Workshop,
)
from labkit.probe.jobs import Job, Result
from labkit.probe.runner import Runner

log = logging.getLogger(__name__)

NAME = "workshop"
LEARNERS_FOLDER = "learners"
RBAC_FILE = "rbac.json"
RESET_KINDS = ("NetworkPolicy", "Service", "Deployment", "ConfigMap", "Pod")
"""What :meth:`LearnerCluster.reset` deletes (labelled with the learner's labels, in the
learner's namespaces, beyond the topology): the kinds a learner may create."""

_LIMITERS: dict[tuple[str, str], Any] = {}
_LIMITERS_LOCK = threading.Lock()


def matrix_limiter(workshop: str, learner: str) -> Any:
    """This process's :class:`MatrixLimiter` of one learner (the facade reconnects on every
    call, so the limiter outlives each :class:`LearnerCluster`)."""
    from labkit.cluster.workshop.throttle import MatrixLimiter

    with _LIMITERS_LOCK:
        found = _LIMITERS.get((workshop, learner))
        if found is None:
            found = _LIMITERS[(workshop, learner)] = MatrixLimiter()
        return found


def learner_folder(workshop_id: str, learner: str, home: Path | None = None) -> Path:
    """``<lab folder>/workshops/<id>/learners/<learner>``: what is the learner's alone (the
    RBAC sandbox, flow records, a private simulated lab and its record)."""
    return workshop_folder(workshop_id, home) / LEARNERS_FOLDER / learner


def _rbac_title(raw: RawObject) -> str:
    return (
        f"{raw.kind} {raw.namespace}/{raw.name}"
        if raw.kind in ("Role", "RoleBinding")
        else (f"{raw.kind} {raw.name}")
    )


class RbacSandbox:
    """A learner's private RBAC objects (logical names), ``<learner folder>/rbac.json``: a
    JSON list of the objects as applied, one per kind, namespace and name (a later apply
    replaces an earlier one, as ``kubectl apply`` does)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / RBAC_FILE

    def items(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ClusterError(
                f"your RBAC sandbox {self.path} cannot be read ({exc})\n    fix: delete the "
                "file (lab.reset() empties it) and apply your RBAC objects again"
            ) from None
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def objects(self) -> list[RawObject]:
        return [RawObject(d, str(self.path)) for d in self.items()]

    def planned(self, objects: Sequence[RawObject]) -> tuple[list[dict[str, Any]], ApplyReport]:
        """The sandbox after applying ``objects`` (not written yet) and the report."""
        kept = self.items()

        def key(d: Mapping[str, Any]) -> tuple[str, str, str]:
            meta = d.get("metadata") or {}
            return str(d.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name"))

        index = {key(d): n for n, d in enumerate(kept)}
        applied: list[str] = []
        unchanged: list[str] = []
        for raw in objects:
            doc = copy.deepcopy(dict(raw.data))
            if raw.kind in ("ClusterRole", "ClusterRoleBinding"):
                doc.get("metadata", {}).pop("namespace", None)
            found = index.get(key(doc))
            if found is None:
                index[key(doc)] = len(kept)
                kept.append(doc)
                applied.append(_rbac_title(raw))
            elif kept[found] == doc:
                unchanged.append(_rbac_title(raw))
            else:
                kept[found] = doc
                applied.append(_rbac_title(raw))
        return kept, ApplyReport(applied=tuple(applied), unchanged=tuple(unchanged))

    def save(self, items: Sequence[Mapping[str, Any]]) -> None:
        write_json_atomic(self.path, list(items))

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        kept = self.items()
        left = [
            d
            for d in kept
            if not (
                d.get("kind") == kind
                and (d.get("metadata") or {}).get("name") == name
                and str((d.get("metadata") or {}).get("namespace") or "")
                == (namespace if kind in ("Role", "RoleBinding") else "")
            )
        ]
        if len(left) == len(kept):
            return False
        self.save(left)
        return True

    def clear(self) -> int:
        count = len(self.items())
        self.path.unlink(missing_ok=True)
        return count


class LogicalRunner:
    """Runs jobs given in a learner's logical names on a runner that takes real names."""

    def __init__(self, inner: Runner, space: LearnerSpace, limiter: Any = None) -> None:
        self.inner = inner
        self.space = space
        self.limiter = limiter

    def run(self, jobs: Sequence[Job]) -> list[Result]:
        if not jobs:
            return []
        if self.limiter is not None:
            self.limiter.acquire()
        real = [
            Job(self.space.peer_to_real(j.src), self.space.peer_to_real(j.dst), j.probe)
            for j in jobs
        ]
        results = self.inner.run(real)
        return [
            replace(result, job=job, detail=self.space.logical_text(result.detail))
            for job, result in zip(jobs, results, strict=True)
        ]


def _sandbox_hint(issue: Issue) -> Issue:
    """A refused RBAC kind's issue, with where a lesson can try it instead."""
    if issue.field != "kind" or not any(issue.object.startswith(f"{kind} ") for kind in RBAC_KINDS):
        return issue
    return replace(
        issue,
        hint=f"{issue.hint}; in a notebook, lab.apply keeps RBAC objects in your private RBAC "
        "sandbox, where lab.can_i evaluates them",
    )


def _refusal(obj: str, field: str, detail: str, hint: str, value: str | None = None) -> Issue:
    return Issue("<workshop>", obj, field, "Forbidden", detail, value=value, hint=hint)


class LearnerCluster(LabCluster):
    """One learner's lab: the logical view of the learner's namespaces on the shared cluster."""

    name = NAME

    def __init__(self, host: WorkshopHost, workshop: Workshop, learner: str) -> None:
        workshop.learner(learner)  # WorkshopError when not a learner of the workshop
        self.host = host
        self.workshop = workshop
        self.learner = learner
        self.space = workshop.space(learner)
        self.kubernetes_version = str(
            getattr(getattr(host, "cluster", None), "kubernetes_version", "")
            or LabCluster.kubernetes_version
        )
        self._cached: tuple[object, Snapshot] | None = None
        self.sandbox_rbac = False
        """Off: RBAC kinds are refused like every kind a learner may not write (cluster-scoped
        ones included), as ``labkit apply`` does. On (:meth:`with_rbac_sandbox`, what the
        notebook facade uses so the who-may-change-policies lesson runs in a workshop): they
        go to the learner's private RBAC sandbox instead, and the report says so."""

    def with_rbac_sandbox(self) -> LearnerCluster:
        """This learner's cluster, RBAC objects kept in the private sandbox (see
        :attr:`sandbox_rbac`)."""
        found = copy.copy(self)
        found.sandbox_rbac = True
        return found

    def _sandboxed(self, raw: RawObject) -> bool:
        return self.sandbox_rbac and is_rbac(raw)

    @property
    def folder(self) -> Path:
        """The learner's own folder (:func:`learner_folder`) in the host's lab folder."""
        home = getattr(self.host, "home", None)
        return learner_folder(
            self.workshop.id, self.learner, home if isinstance(home, Path) else lab_home()
        )

    @property
    def rbac_sandbox(self) -> RbacSandbox:
        return RbacSandbox(self.folder)

    def rbac_objects(self) -> list[RawObject]:
        """The RBAC objects the learner applied (logical names), for ``can-i``."""
        return self.rbac_sandbox.objects()

    # -- reads -------------------------------------------------------------------------------
    def logical_items(self) -> list[dict[str, Any]]:
        """The learner's objects as the host reads them, in logical names."""
        mine = set(self.space.logical_namespaces)
        out: list[dict[str, Any]] = []
        for item in self.host.items(self.space):
            meta = item.get("metadata") or {}
            real = str(meta.get("name" if item.get("kind") == "Namespace" else "namespace", ""))
            if real in mine:  # a real namespace named like one of the learner's: shadowed
                continue
            out.append(self.space.to_logical_object(item))
        return out + self._cluster_namespaces(out)

    def _cluster_namespaces(self, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The namespaces every cluster has, as the learner's view shows them (see the
        module docstring); never one the learner's own logical names shadow."""
        from labkit.cluster.topology import kube_system_manifests

        have = {
            str((i.get("metadata") or {}).get("name"))
            for i in items
            if i.get("kind") == "Namespace"
        }
        mine = set(self.space.logical_namespaces)
        return [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": raw.name, "labels": {NAME_LABEL: raw.name}},
                "status": {"phase": "Active"},
            }
            for raw in kube_system_manifests(coredns=False)
            if raw.kind == "Namespace" and raw.name not in have and raw.name not in mine
        ]

    def snapshot(self) -> Snapshot:
        """Inventory (logical names), readiness and the managed pods."""
        stamp_fn = getattr(self.host, "stamp", None)
        stamp = stamp_fn() if callable(stamp_fn) else None
        if stamp is not None and self._cached is not None and self._cached[0] == stamp:
            return self._cached[1]
        snap = snapshot_from_items(self.logical_items(), LAB_LABEL)
        if stamp is not None:
            self._cached = (stamp, snap)
        return snap

    def inventory(self) -> Inventory:
        return self.snapshot().inventory

    def _lab_pods(self) -> list[Pod]:
        """The pods of the learner's lab namespaces (logical keys; CoreDNS is not a lab pod)."""
        mine = set(self.space.logical_namespaces)
        return [p for p in self.inventory().pods if p.namespace in mine]

    # -- writes ------------------------------------------------------------------------------
    def _check_batch(self, objects: Sequence[RawObject]) -> None:
        """Every refusal of the batch at once (nothing is applied when there is one). RBAC
        objects go to the sandbox: a Role or RoleBinding must be in one of the learner's
        namespaces there too."""
        rbac = [o for o in objects if self._sandboxed(o)]
        objects = [o for o in objects if not self._sandboxed(o)]
        issues = self.space.refusals(objects, allowed_kinds=LEARNER_KINDS)
        if not self.sandbox_rbac:
            issues = [_sandbox_hint(issue) for issue in issues]
        mine = self.space.logical_namespaces
        for raw in rbac:
            if raw.kind in ("Role", "RoleBinding") and raw.namespace not in mine:
                issues.append(
                    Issue(
                        raw.location,
                        raw.title,
                        "metadata.namespace",
                        "Forbidden",
                        f"namespace {raw.namespace!r} is not one of yours ({', '.join(mine)})",
                        value=raw.namespace,
                        hint="set metadata.namespace to one of your lab namespaces (RBAC "
                        "objects go to your private RBAC sandbox)",
                    )
                )
        # only Namespaces need the cluster's state (their pool annotation): a batch without
        # one is checked, and a refused one refused, without a request to the cluster
        current: dict[str, Any] = {}
        pools: dict[str, str] = {}
        if any(o.kind == "Namespace" for o in objects):
            current = {ns.name: ns for ns in self.inventory().namespaces}
            pools = self._pools()
        for raw in objects:
            if raw.kind != "Namespace" or raw.name not in current:
                continue
            wanted = (raw.metadata.get("annotations") or {}).get(POOL_ANNOTATION)
            if wanted is not None and wanted != pools.get(raw.name):
                issues.append(
                    _refusal(
                        f"Namespace {raw.name}",
                        f"metadata.annotations[{POOL_ANNOTATION}]",
                        "the workshop sets each namespace's Calico IP pool; learners cannot "
                        "change it (the cluster's admission policy refuses it too)",
                        "remove the annotation from your manifest",
                        str(wanted),
                    )
                )
        if issues:
            raise ValidationFailed(issues)

    def _pools(self) -> dict[str, str]:
        """``{logical namespace: its pool annotation}`` as the cluster has them."""
        found: dict[str, str] = {}
        for item in self.logical_items():
            if item.get("kind") != "Namespace":
                continue
            meta = item.get("metadata") or {}
            value = (meta.get("annotations") or {}).get(POOL_ANNOTATION)
            if value is not None:
                found[str(meta.get("name"))] = str(value)
        return found

    def to_real(self, objects: Sequence[RawObject]) -> list[RawObject]:
        """The batch in real names, labelled; namespaces keep the pool the workshop gave."""
        pools = self._pools() if any(o.kind == "Namespace" for o in objects) else {}
        out: list[RawObject] = []
        for raw in objects:
            real = self.space.to_real_object(raw, allowed_kinds=LEARNER_KINDS)
            if raw.kind == "Namespace" and raw.name in pools:
                meta = dict(real.metadata)
                meta["annotations"] = {
                    **(meta.get("annotations") or {}),
                    POOL_ANNOTATION: pools[raw.name],
                }
                real = replace(real, data={**real.data, "metadata": meta})
            out.append(real)
        return out

    def _logical_report(self, report: ApplyReport) -> ApplyReport:
        text = self.space.logical_text
        return replace(
            report,
            applied=tuple(map(text, report.applied)),
            unchanged=tuple(map(text, report.unchanged)),
            warnings=tuple(map(text, report.warnings)),
        )

    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        """Checked whole first; the RBAC objects go to the learner's private sandbox, the
        rest to the shared cluster (all or nothing); the sandbox is written only once the
        cluster took its part."""
        self._check_batch(objects)
        rbac = [o for o in objects if self._sandboxed(o)]
        rest = [o for o in objects if not self._sandboxed(o)]
        sandbox = self.rbac_sandbox
        planned, kept = sandbox.planned(rbac) if rbac else ([], ApplyReport())
        report = ApplyReport()
        if rest:
            try:
                report = self._logical_report(self.host.apply(self.to_real(rest)))
            except ClusterError as exc:
                raise type(exc)(self.space.logical_text(str(exc))) from None
        if not rbac:
            return report
        sandbox.save(planned)
        note = (
            f"workshop: {len(rbac)} RBAC object{'s' if len(rbac) != 1 else ''} kept in your "
            f"private RBAC sandbox ({sandbox.path}), not on the shared cluster (learners may "
            "not write RBAC there); lab.can_i and `labkit auth can-i` answer from it"
        )
        return replace(
            report,
            applied=(*report.applied, *kept.applied),
            unchanged=(*report.unchanged, *kept.unchanged),
            warnings=(*report.warnings, note),
        )

    def _where(self, kind: str, namespace: str, name: str, doing: str) -> tuple[str, str]:
        """``(real kind, real namespace)`` of an object the learner may ``doing``; a
        :class:`ValidationFailed` in ``validate``'s form otherwise."""
        known = {k.lower(): k for k in (*LEARNER_KINDS, "Namespace")}
        found = known.get(kind.lower(), kind)
        mine = ", ".join(self.space.logical_namespaces)
        if found == "Namespace":
            if doing == "delete":
                raise ValidationFailed(
                    [
                        _refusal(
                            f"Namespace {name}",
                            "metadata.name",
                            "a workshop learner cannot delete namespaces (the instructor "
                            "manages them)",
                            "lab.reset() restores your lab; to remove what is in a namespace, "
                            "delete those objects",
                        )
                    ]
                )
            if name not in self.space.logical_namespaces:
                raise ValidationFailed(
                    [
                        _refusal(
                            f"Namespace {name}",
                            "metadata.name",
                            f"namespace {name!r} is not one of yours ({mine})",
                            "use one of your lab namespaces",
                            name,
                        )
                    ]
                )
            return found, ""
        if found not in LEARNER_KINDS:
            raise ValidationFailed(
                [
                    _refusal(
                        f"{kind} {namespace}/{name}",
                        "kind",
                        f"a workshop learner may {doing} {', '.join(sorted(LEARNER_KINDS))}; "
                        f"{kind} is not among them",
                        "ask the instructor",
                    )
                ]
            )
        if namespace not in self.space.logical_namespaces:
            raise ValidationFailed(
                [
                    _refusal(
                        f"{found} {namespace}/{name}",
                        "metadata.namespace",
                        f"namespace {namespace!r} is not one of yours ({mine})",
                        "give one of your lab namespaces (namespace=...)",
                        namespace,
                    )
                ]
            )
        return found, self.space.to_real(namespace)

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        rbac = {k.lower(): k for k in RBAC_KINDS}.get(kind.lower())
        if rbac is not None:
            return self.rbac_sandbox.delete(rbac, namespace, name)
        found, real = self._where(kind, namespace, name, "delete")
        # by the learner's label selector and the name: only what carries this learner's
        # labels can go, whatever the name says
        deleted = delete_one_selected(self.host, self.space.selector(), found, real, name)
        self._cached = None
        return deleted

    def label(
        self, kind: str, name: str, labels: Mapping[str, str | None], namespace: str = "default"
    ) -> None:
        """As :meth:`LabCluster.label`, refusing ``labkit.dev/*`` keys: the workshop's labels
        decide which wall and namespaces are the learner's (the admission policy refuses a
        learner's change to them as well)."""
        theirs = sorted(k for k in labels if k.startswith(LABKIT_PREFIX))
        if theirs:
            raise LabkitError(
                f"{kind} {name}: labels {', '.join(theirs)} belong to the workshop: they say "
                "whose lab this is and which wall protects it, so learners cannot change them "
                "(the cluster's admission policy refuses it too)\n    fix: use labels of your "
                "own (for example env=prod)"
            )
        if kind == "Namespace" and NAME_LABEL in labels:
            # The API server keeps kubernetes.io/metadata.name equal to the namespace's name
            # whatever is asked (NamespaceDefaultLabelName), as the simulated cluster does.
            log.warning(
                "namespace %s: the API server keeps %s=%s on every namespace; that label "
                "cannot be removed or changed",
                name,
                NAME_LABEL,
                name,
            )
            labels = {k: v for k, v in labels.items() if k != NAME_LABEL}
            if not labels:
                return
        super().label(kind, name, labels, namespace)

    def _set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        found, real_ns = self._where(kind, namespace, name, "label")
        real_name = self.space.to_real(name) if found == "Namespace" else name
        try:
            self.host.set_labels(found, real_ns, real_name, changes)
        except ClusterError as exc:
            raise type(exc)(self.space.logical_text(str(exc))) from None

    # -- probes ------------------------------------------------------------------------------
    def runner(self) -> Runner:
        """The host's runner behind the logical names; on a simulated host every probe is
        recorded as a flow in the learner's folder, in logical names."""
        limiter = matrix_limiter(self.workshop.id, self.learner) if self.host.live else None
        if self.host.live:
            return LogicalRunner(self.host.runner(self.space), self.space, limiter)
        return LogicalRunner(
            self.host.runner(self.space, record=self._flow_recorder()), self.space, limiter
        )

    def _flow_recorder(self) -> Callable[[Any, Sequence[Result]], None]:
        from labkit.cluster.flows import logical_recorder

        return logical_recorder(self.folder, self.space.peer_to_logical, self.space.logical_text)

    # -- lifecycle ---------------------------------------------------------------------------
    def topology(self) -> list[RawObject]:
        """The lab topology's objects in the learner's logical namespaces (namespaces, pods)."""
        from labkit.cluster.topology import topology_manifests

        mine = set(self.space.logical_namespaces)
        return [
            o
            for o in topology_manifests()
            if (o.name if o.kind == "Namespace" else o.namespace) in mine
        ]

    def reset(self) -> ApplyReport:
        """Back to the lab topology: in each of the learner's namespaces, every object of
        :data:`RESET_KINDS` carrying the learner's labels goes except the topology's pods
        and the progress ConfigMap (the host selects by label and name, as ``kubectl delete
        -l SEL --field-selector metadata.name!=...`` does); the topology's pods are applied
        again (translated), and labels the topology does not give are removed from the
        learner's namespaces and pods (``labkit.dev/*`` and ``kubernetes.io/*`` stay)."""
        objects = self.topology()
        pods = [o for o in objects if o.kind == "Pod"]
        keep: dict[str, list[str]] = {}
        for pod in pods:
            keep.setdefault(pod.namespace, []).append(pod.name)
        for logical in self.space.logical_namespaces:
            real = self.space.to_real(logical)
            for kind in RESET_KINDS:
                names = keep.get(logical, []) if kind == "Pod" else []
                if kind == "ConfigMap":
                    names = [PROGRESS_CONFIGMAP]
                fields = ",".join(f"metadata.name!={n}" for n in sorted(names))
                self.host.delete_selected(
                    self.space.selector(), (kind,), namespace=real, field_selector=fields
                )
        report = self.host.apply(self.to_real(pods)) if pods else ApplyReport()
        self.rbac_sandbox.clear()
        self._remove_stray_labels(objects)
        self._cached = None
        return self._logical_report(report)

    def _remove_stray_labels(self, objects: Sequence[RawObject]) -> None:
        """As a single-user lab's reset does (:func:`labkit.cluster.backend.stray_labels`),
        keeping the workshop's ``labkit.dev/*`` labels, in the learner's real names."""
        found = stray_labels(self.inventory(), objects, kept_prefixes=(LABKIT_PREFIX,))
        for kind, namespace, name, stray in found:
            real = self.space.to_real(name if kind == "Namespace" else namespace)
            if kind == "Namespace":
                self.host.set_labels(kind, "", real, stray)
            else:
                self.host.set_labels(kind, real, name, stray)

    def missing_pods(self) -> list[str]:
        """The topology's pods (logical keys) that the learner's lab lacks now."""
        have = {p.key for p in self.inventory().pods}
        return [
            f"{o.namespace}/{o.name}"
            for o in self.topology()
            if o.kind == "Pod" and f"{o.namespace}/{o.name}" not in have
        ]

    def status(self) -> ClusterStatus:
        from labkit.cluster.topology import summarise

        who = f"workshop {self.workshop.id}, learner {self.learner}"
        try:
            snap = self.snapshot()
        except ClusterError as exc:
            return ClusterStatus(
                NAME,
                False,
                details=(
                    ("workshop", who),
                    ("host", self.host.where()),
                    ("error", str(exc).splitlines()[0]),
                ),
            )
        missing = self.missing_pods()
        lab = [p for p in self._lab_pods()]
        waiting = sorted(p.key for p in lab if p.key in snap.not_ready)
        topology = summarise((p.key for p in snap.inventory.pods), len(snap.inventory.policies))
        if missing:
            topology = (
                f"{len(lab)} lab pods; missing {', '.join(missing)} (run lab.reset() or "
                "`labkit reset` to restore them)"
            )
        details: list[tuple[str, str]] = [("workshop", who), ("host", self.host.where())]
        if waiting:
            details.append(("waiting", ", ".join(waiting)))
        return ClusterStatus(
            backend=NAME,
            ready=bool(lab) and not missing and not waiting,
            nodes=(self.host.where(),),
            cni="the workshop's (each learner's lab walled off from the others)",
            topology=topology,
            details=tuple(details),
        )

    def down(self) -> None:
        """Learners never delete the workshop."""
        raise ClusterError(
            f"you are learner {self.learner} of workshop {self.workshop.id}: the instructor "
            "deletes the workshop\n    fix: lab.reset() (or `labkit reset`) restores your "
            f"lab; the instructor runs `labkit workshop teardown --id {self.workshop.id} "
            f"--confirm {self.workshop.id}`"
        )
