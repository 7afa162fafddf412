"""Pods, and the workloads that create them, from manifests.

A Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob becomes the pods a cluster
would run: ``replicas`` of them (``min(parallelism, completions)`` for a Job and the Job of a
CronJob, none for a suspended CronJob, one pod for a DaemonSet because offline there are no
nodes to count). Each pod carries its template's labels plus the labels its controller adds
(:func:`controller_labels`) and the template's container ports. Generated pods are named
``<workload>-<index>`` (a StatefulSet's ``<name>-<ordinal>`` is the real name), a stable
stand-in for the random suffix a cluster would add.

A workload whose pods (or ReplicaSets, or Jobs) are in the same input, linked by
``metadata.ownerReferences[].uid``, stands for nothing more: a cluster dump (``kubectl get
all -o yaml``) yields its real pods only. :func:`owner_uids` collects those links.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from labkit.errors import ManifestError
from labkit.model.loader import RawObject
from labkit.model.objects import FINISHED_PHASES, frozen_labels
from labkit.model.policy import parse_address
from labkit.model.ports import ContainerPort, Protocol

WORKLOAD_KINDS = frozenset(
    {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"}
)
CALICO_IP_ANNOTATION = "cni.projectcalico.org/ipAddrs"
MAX_WORKLOAD_PODS = 10_000
"""Pods one workload may stand for offline (a typo such as ``replicas: 1000000000`` would
otherwise exhaust memory)."""

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""``k8s.io/apimachinery/pkg/util/rand.SafeEncodeString``'s alphabet (no vowels, no 0/1/3)."""


@dataclass(frozen=True)
class PodDraft:
    """A pod before address allocation.

    ``ip`` is the primary address as written (``status.podIP``, a hostNetwork pod's
    ``status.hostIP``, or Calico's ``ipAddrs`` annotation), ``ips`` every address written
    (``status.podIPs``), the primary first.
    """

    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[ContainerPort, ...]
    ip: str | None
    workload: str
    source: str
    ips: tuple[str, ...] = ()
    host_network: bool = False
    phase: str = ""
    init_ports: tuple[ContainerPort, ...] = ()
    generated_name: bool = False
    """The manifest gave only ``metadata.generateName``: ``name`` is that prefix."""

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED_PHASES


def _fail(raw: RawObject, field: str, message: str, hint: str = "") -> ManifestError:
    return ManifestError(message, file=raw.location, object=raw.title, field=field, hint=hint)


def _dict(raw: RawObject, value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(raw, field, f"must be a mapping, got {type(value).__name__}")
    return value


def _list(raw: RawObject, value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(raw, field, f"must be a list, got {type(value).__name__}")
    return value


def _labels(raw: RawObject, value: Any, field: str) -> tuple[tuple[str, str], ...]:
    data = value if type(value) is dict else _dict(raw, value, field)
    for key, text in data.items():
        if type(key) is not str or type(text) is not str:
            return frozen_labels({str(k): "" if v is None else str(v) for k, v in data.items()})
    return frozen_labels(data)  # all strings already


_PORTS: dict[tuple[int, str, str | None], ContainerPort] = {}
"""Container ports already built, by their written ``(containerPort, protocol, name)``: they are
immutable, and the same few repeat on every pod."""


def container_ports(raw: RawObject, spec: dict[str, Any], field: str) -> tuple[ContainerPort, ...]:
    """The ports of ``spec.containers``, then those of sidecar init containers.

    Kubernetes resolves a Service's named ``targetPort`` on the containers first, then on
    sidecars: init containers with ``restartPolicy: Always``, which run beside the app
    (``FindPort`` in ``pkg/api/v1/pod/util.go``, kubernetes PR #127976).
    """
    containers = spec.get("containers")
    if type(containers) is not list:
        containers = _list(raw, containers, f"{field}.containers")
    ports = _ports_of(raw, containers, f"{field}.containers")
    if spec.get("initContainers") is None:
        return ports
    sidecars, _ = init_container_ports(raw, spec, field)
    return ports + sidecars


def init_container_ports(
    raw: RawObject, spec: dict[str, Any], field: str
) -> tuple[tuple[ContainerPort, ...], tuple[ContainerPort, ...]]:
    """``(ports of sidecar init containers, ports of the other init containers)``.

    Calico maps the ports of every init container into the workload endpoint
    (``appendEndpointPorts(..., pod.Spec.InitContainers)`` in
    ``libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go``), so a policy's
    named port resolves on both kinds.
    """
    path = f"{field}.initContainers"
    init = _list(raw, spec.get("initContainers"), path)
    sidecars: tuple[ContainerPort, ...] = ()
    others: tuple[ContainerPort, ...] = ()
    for ci, container in enumerate(init):
        container = _dict(raw, container, f"{path}[{ci}]")
        ports = _ports_of(raw, [container], path, first=ci)
        if container.get("restartPolicy") == "Always":
            sidecars += ports
        else:
            others += ports
    return sidecars, others


def _ports_of(
    raw: RawObject, containers: list[Any], path: str, first: int = 0
) -> tuple[ContainerPort, ...]:
    ports: list[ContainerPort] = []
    for ci, container in enumerate(containers, start=first):
        if type(container) is not dict:
            container = _dict(raw, container, f"{path}[{ci}]")
        entries = container.get("ports")
        if type(entries) is not list:
            entries = _list(raw, entries, f"{path}[{ci}].ports")
        for pi, port in enumerate(entries):
            if type(port) is not dict:
                port = _dict(raw, port, f"{path}[{ci}].ports[{pi}]")
            number = port.get("containerPort")
            proto = port.get("protocol") or "TCP"
            name = port.get("name")
            key = (number, proto, name)
            plain = (
                type(number) is int and type(proto) is str and (name is None or type(name) is str)
            )
            built = _PORTS.get(key) if plain else None
            if built is None:
                built = _container_port(raw, number, proto, name, f"{path}[{ci}].ports[{pi}]")
                if plain:
                    if len(_PORTS) >= 1024:
                        _PORTS.clear()
                    _PORTS[key] = built
            ports.append(built)
    return tuple(ports)


def _container_port(
    raw: RawObject, number: Any, proto: Any, name: Any, ppath: str
) -> ContainerPort:
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
        raise _fail(
            raw,
            f"{ppath}.containerPort",
            f"invalid value {number!r}",
            "containerPort must be a number from 1 to 65535",
        )
    try:
        protocol = Protocol(proto)
    except ValueError:
        raise _fail(
            raw, f"{ppath}.protocol", f"unsupported value {proto!r}", "use TCP, UDP or SCTP"
        ) from None
    return ContainerPort(number, protocol, str(name or ""))


def _status_ips(raw: RawObject, status: dict[str, Any], one: str, many: str) -> list[str]:
    """``status.<one>`` then the addresses of ``status.<many>[].ip`` not already listed."""
    found: list[str] = []
    primary = status.get(one)
    if primary:
        found.append(_checked_ip(raw, primary, f"status.{one}"))
    for i, entry in enumerate(_list(raw, status.get(many), f"status.{many}")):
        text = _dict(raw, entry, f"status.{many}[{i}]").get("ip")
        if text and str(text) not in found:
            found.append(_checked_ip(raw, text, f"status.{many}[{i}].ip"))
    return found


def _checked_ip(raw: RawObject, value: Any, field: str) -> str:
    try:
        parse_address(str(value))
    except ValueError as exc:
        raise _fail(raw, field, str(exc)) from None
    return str(value)


def _calico_ips(raw: RawObject, metadata: dict[str, Any]) -> list[str]:
    """Calico's fixed-address annotation (``'["192.168.1.10", "fd00::10"]'``), honoured
    offline too; one address per IP family."""
    annotations = metadata.get("annotations")
    if type(annotations) is not dict:
        annotations = _dict(raw, annotations, "metadata.annotations")
    pinned = annotations.get(CALICO_IP_ANNOTATION)
    if not isinstance(pinned, str):
        return []
    field = f"metadata.annotations[{CALICO_IP_ANNOTATION}]"
    try:
        items = json.loads(pinned)
    except ValueError:
        items = [part.strip().strip("'\"") for part in pinned.strip().strip("[]").split(",")]
    if not isinstance(items, list):
        items = [items]
    return [_checked_ip(raw, item, field) for item in items if item]


def pod_addresses(
    raw: RawObject, data: dict[str, Any], metadata: dict[str, Any], host_network: bool
) -> list[str]:
    """The addresses a pod manifest gives, primary first.

    * ``status.podIP`` and ``status.podIPs`` (dual-stack: one address per family, the
      primary first; the pod owns them all);
    * a ``hostNetwork`` pod's addresses are its node's: ``status.podIPs`` equal
      ``status.hostIPs`` (kubelet sets them so), so ``hostIP``/``hostIPs`` stand in for them;
      it never gets a pod-network address;
    * otherwise Calico's ``cni.projectcalico.org/ipAddrs`` annotation.
    """
    status = data.get("status")
    if type(status) is not dict:
        status = _dict(raw, status, "status")
    found = _status_ips(raw, status, "podIP", "podIPs")
    if found:
        return found
    if host_network:
        return _status_ips(raw, status, "hostIP", "hostIPs")
    return _calico_ips(raw, metadata)


def _template_hash(template: dict[str, Any]) -> str:
    """A stand-in for ``controller.ComputeHash``: FNV-1a (32 bits) of the pod template,
    written with ``rand.SafeEncodeString`` as Kubernetes writes ``pod-template-hash`` and
    ``controller-revision-hash`` (same alphabet and form; Kubernetes hashes the Go struct
    dump, which labkit cannot reproduce, so the value itself differs from a cluster's)."""
    digest = 0x811C9DC5
    for byte in json.dumps(template, sort_keys=True, default=str).encode():
        digest = ((digest ^ byte) * 0x01000193) & 0xFFFFFFFF
    # SafeEncodeString maps each character's code point, so digits become 4-9 and b, c, d, f
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in str(digest))


def _uid(raw: RawObject, kind: str, name: str) -> str:
    """``metadata.uid`` as written, else a stable stand-in (UUID 5 of kind/namespace/name)."""
    written = raw.metadata.get("uid")
    if isinstance(written, str) and written:
        return written
    import uuid  # on demand: only Jobs and CronJobs without a written uid need one

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"labkit:{kind}/{raw.namespace}/{name}"))


def controller_labels(
    raw: RawObject,
    kind: str,
    name: str,
    template: dict[str, Any],
    spec: dict[str, Any],
    pods: list[tuple[str, int]],
) -> list[dict[str, str]]:
    """The labels a controller adds to each pod it creates, one mapping per pod index.

    * Deployment: ``pod-template-hash`` (``DefaultDeploymentUniqueLabelKey``, added to the
      ReplicaSet's template in ``pkg/controller/deployment/sync.go`` ``getNewReplicaSet``);
    * StatefulSet: ``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/pod-index``
      (Kubernetes >= 1.28) and ``controller-revision-hash: <name>-<hash>``
      (``pkg/controller/statefulset/stateful_set_utils.go`` ``initIdentity``,
      ``newVersionedStatefulSetPod``); ordinals start at ``spec.ordinals.start``;
    * DaemonSet: ``controller-revision-hash`` and ``pod-template-generation``
      (``pkg/controller/daemon/util/daemonset_util.go`` ``CreatePodTemplate``);
    * Job (and a CronJob's Job): ``batch.kubernetes.io/controller-uid``, ``controller-uid``,
      ``batch.kubernetes.io/job-name`` and ``job-name`` (``pkg/registry/batch/job/strategy.go``
      ``generateSelector``), plus ``batch.kubernetes.io/job-completion-index`` for an Indexed
      Job (``pkg/controller/job/indexed_job_utils.go``);
    * ReplicaSet: none of its own.

    Controller labels win over template labels of the same key, as the controllers set them.
    """
    count = len(pods)
    if kind == "Deployment":
        return [{"pod-template-hash": _template_hash(template)}] * count
    if kind == "StatefulSet":
        revision = f"{name}-{_template_hash(template)}"
        return [
            {
                "controller-revision-hash": revision,
                "statefulset.kubernetes.io/pod-name": pod,
                "apps.kubernetes.io/pod-index": str(ordinal),
            }
            for pod, ordinal in pods
        ]
    if kind == "DaemonSet":
        generation = raw.metadata.get("generation") or 1
        return [
            {
                "controller-revision-hash": _template_hash(template),
                "pod-template-generation": str(generation),
            }
        ] * count
    if kind == "Job":
        uid = _uid(raw, kind, name)
        base = {
            "batch.kubernetes.io/controller-uid": uid,
            "controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "job-name": name,
        }
        if spec.get("completionMode") == "Indexed":
            return [
                {**base, "batch.kubernetes.io/job-completion-index": str(i)} for i in range(count)
            ]
        return [base] * count
    return [{}] * count


def _pod(raw: RawObject) -> PodDraft:
    data = raw.data
    spec = data.get("spec")
    if type(spec) is not dict:
        spec = _dict(raw, spec, "spec")
    metadata = raw.metadata
    host_network = spec.get("hostNetwork") is True
    ips = pod_addresses(raw, data, metadata, host_network)
    status = data.get("status")
    phase = status.get("phase") if type(status) is dict else None
    generated = not raw.name and isinstance(metadata.get("generateName"), str)
    init_ports: tuple[ContainerPort, ...] = ()
    if spec.get("initContainers") is not None:
        _, init_ports = init_container_ports(raw, spec, "spec")
    return PodDraft(
        raw.namespace,
        raw.name or (str(metadata["generateName"]) if generated else "pod"),
        _labels(raw, metadata.get("labels"), "metadata.labels"),
        container_ports(raw, spec, "spec"),
        ips[0] if ips else None,
        owner_workload(metadata),
        raw.location,
        tuple(ips),
        host_network,
        phase if isinstance(phase, str) else "",
        init_ports,
        generated,
    )


CRONJOB_JOB_SUFFIX = "0"
"""A CronJob's Job is named ``<cronjob>-<scheduled time in minutes>``; offline labkit stands
for one Job, named ``<cronjob>-0``."""


def pods_from(raw: RawObject) -> list[PodDraft]:
    """The pods a Pod or workload manifest stands for."""
    if raw.kind == "Pod":
        return [_pod(raw)]
    spec = _dict(raw, raw.data.get("spec"), "spec")
    name = raw.name or "workload"
    if raw.kind != "CronJob":
        return _workload_pods(raw, raw.kind, name, spec, "spec", f"{raw.kind}/{name}")
    # CronJob -> Job (spec.jobTemplate) -> pods; a suspended CronJob starts no Job
    if spec.get("suspend") is True:
        return []
    job = _dict(raw, spec.get("jobTemplate"), "spec.jobTemplate")
    job_spec = _dict(raw, job.get("spec"), "spec.jobTemplate.spec")
    return _workload_pods(
        raw,
        "Job",
        f"{name}-{CRONJOB_JOB_SUFFIX}",
        job_spec,
        "spec.jobTemplate.spec",
        f"CronJob/{name}",
    )


def _pod_count(raw: RawObject, kind: str, spec: dict[str, Any], path: str) -> int:
    if kind == "Job":
        # a Job runs min(parallelism, completions) pods at once (parallelism defaults to 1)
        count = spec.get("parallelism", 1)
        field = f"{path}.parallelism"
        completions = spec.get("completions")
        if (
            isinstance(count, int)
            and isinstance(completions, int)
            and not isinstance(completions, bool)
            and 0 <= completions < count
        ):
            count = completions
    elif kind == "DaemonSet":
        count, field = 1, path
    else:
        count = spec.get("replicas", 1)
        field = f"{path}.replicas"
    if count is None:
        count = 1
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise _fail(raw, field, f"invalid value {count!r}", "use a whole number, 0 or more")
    if count > MAX_WORKLOAD_PODS:
        raise _fail(
            raw,
            field,
            f"{count} pods is more than labkit models for one workload ({MAX_WORKLOAD_PODS})",
            "use fewer replicas: a few pods per workload show the same connectivity",
        )
    return count


def _pod_names(
    raw: RawObject, kind: str, name: str, spec: dict[str, Any], path: str, count: int
) -> list[tuple[str, int]]:
    """``(pod name, ordinal)``; a StatefulSet's ordinals start at ``spec.ordinals.start``."""
    start = 0
    if kind == "StatefulSet":
        ordinals = _dict(raw, spec.get("ordinals"), f"{path}.ordinals")
        value = ordinals.get("start", 0)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            start = value
    return [(f"{name}-{start + i}", start + i) for i in range(count)]


def _workload_pods(
    raw: RawObject, kind: str, name: str, spec: dict[str, Any], path: str, workload: str
) -> list[PodDraft]:
    template = _dict(raw, spec.get("template"), f"{path}.template")
    tmeta = _dict(raw, template.get("metadata"), f"{path}.template.metadata")
    tspec = _dict(raw, template.get("spec"), f"{path}.template.spec")
    count = _pod_count(raw, kind, spec, path)
    labels = dict(_labels(raw, tmeta.get("labels"), f"{path}.template.metadata.labels"))
    ports = container_ports(raw, tspec, f"{path}.template.spec")
    init_ports: tuple[ContainerPort, ...] = ()
    if tspec.get("initContainers") is not None:
        _, init_ports = init_container_ports(raw, tspec, f"{path}.template.spec")
    host_network = tspec.get("hostNetwork") is True
    names = _pod_names(raw, kind, name, spec, path, count)
    added = controller_labels(raw, kind, name, template, spec, names)
    return [
        PodDraft(
            raw.namespace,
            pod_name,
            frozen_labels({**labels, **extra}),
            ports,
            None,
            workload,
            raw.location,
            host_network=host_network,
            init_ports=init_ports,
        )
        for (pod_name, _), extra in zip(names, added, strict=True)
    ]


def owner_workload(metadata: dict[str, Any]) -> str:
    """``Kind/name`` of the workload a pod of a cluster dump belongs to, from its controller's
    ``ownerReferences`` entry; a ReplicaSet named ``<deployment>-<pod-template-hash>`` is its
    Deployment's (so ``NAMESPACE/<deployment>`` finds the pod, as for generated pods)."""
    refs = metadata.get("ownerReferences")
    if type(refs) is not list:
        return ""
    for ref in refs:
        if type(ref) is not dict or not ref.get("kind") or not ref.get("name"):
            continue
        kind, name = str(ref["kind"]), str(ref["name"])
        labels = metadata.get("labels")
        suffix = labels.get("pod-template-hash") if type(labels) is dict else None
        if kind == "ReplicaSet" and suffix and name.endswith(f"-{suffix}"):
            return f"Deployment/{name[: -len(suffix) - 1]}"
        return f"{kind}/{name}"
    return ""


def owner_uids(objects: Iterable[RawObject]) -> frozenset[str]:
    """The uids named by ``metadata.ownerReferences`` of ``objects``: the workloads whose
    children (ReplicaSets, Jobs, pods) are in the input. The garbage collector links
    children to owners by uid only (``OwnerReference.uid`` is required), so kind and name
    alone link nothing."""
    found: set[str] = set()
    for raw in objects:
        refs = raw.metadata.get("ownerReferences")
        if type(refs) is not list:
            continue
        for ref in refs:
            if type(ref) is dict and isinstance(ref.get("uid"), str) and ref["uid"]:
                found.add(ref["uid"])
    return frozenset(found)


def has_children(raw: RawObject, owners: frozenset[str]) -> bool:
    """Does ``raw`` (a workload) have children in the input (see :func:`owner_uids`)?"""
    uid = raw.metadata.get("uid")
    return isinstance(uid, str) and uid in owners
