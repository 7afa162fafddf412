"""Pods, and the workloads that create them, from manifests.

A Deployment, ReplicaSet, StatefulSet, DaemonSet or Job becomes ``replicas`` pods that carry
its pod template's labels and container ports (``min(parallelism, completions)`` for a Job,
one pod for a DaemonSet because offline there are no nodes to count). Generated pods are named
``<workload>-<index>``, a stable stand-in for the random suffix a cluster would add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.errors import ManifestError
from labkit.model.loader import RawObject
from labkit.model.objects import frozen_labels
from labkit.model.policy import parse_address
from labkit.model.ports import ContainerPort, Protocol

WORKLOAD_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"})
CALICO_IP_ANNOTATION = "cni.projectcalico.org/ipAddrs"
MAX_WORKLOAD_PODS = 10_000
"""Pods one workload may stand for offline (a typo such as ``replicas: 1000000000`` would
otherwise exhaust memory)."""


@dataclass(frozen=True)
class PodDraft:
    """A pod before address allocation."""

    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[ContainerPort, ...]
    ip: str | None
    workload: str
    source: str


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
    ports: list[ContainerPort] = []
    containers = spec.get("containers")
    if type(containers) is not list:
        containers = _list(raw, containers, f"{field}.containers")
    for ci, container in enumerate(containers):
        if type(container) is not dict:
            container = _dict(raw, container, f"{field}.containers[{ci}]")
        entries = container.get("ports")
        if type(entries) is not list:
            entries = _list(raw, entries, f"{field}.containers[{ci}].ports")
        for pi, port in enumerate(entries):
            if type(port) is not dict:
                port = _dict(raw, port, f"{field}.containers[{ci}].ports[{pi}]")
            number = port.get("containerPort")
            proto = port.get("protocol") or "TCP"
            name = port.get("name")
            key = (number, proto, name)
            plain = (
                type(number) is int and type(proto) is str and (name is None or type(name) is str)
            )
            built = _PORTS.get(key) if plain else None
            if built is None:
                built = _container_port(
                    raw, number, proto, name, f"{field}.containers[{ci}].ports[{pi}]"
                )
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


def _pod_ip(raw: RawObject, data: dict[str, Any], metadata: dict[str, Any]) -> str | None:
    status = data.get("status")
    if type(status) is not dict:
        status = _dict(raw, status, "status")
    ip = status.get("podIP")
    annotations = metadata.get("annotations")
    if type(annotations) is not dict:
        annotations = _dict(raw, annotations, "metadata.annotations")
    pinned = annotations.get(CALICO_IP_ANNOTATION)
    if not ip and isinstance(pinned, str):
        # '["192.168.1.10"]': Calico's fixed-address annotation, honoured offline too
        inner = pinned.strip().strip("[]").split(",")[0].strip().strip("'\"")
        ip = inner or None
    if ip is None:
        return None
    try:
        parse_address(str(ip))
    except ValueError as exc:
        raise _fail(raw, "status.podIP", str(exc)) from None
    return str(ip)


def pods_from(raw: RawObject) -> list[PodDraft]:
    """The pods a Pod or workload manifest stands for."""
    if raw.kind == "Pod":
        data = raw.data
        spec = data.get("spec")
        if type(spec) is not dict:
            spec = _dict(raw, spec, "spec")
        metadata = raw.metadata
        return [
            PodDraft(
                raw.namespace,
                raw.name or "pod",
                _labels(raw, metadata.get("labels"), "metadata.labels"),
                container_ports(raw, spec, "spec"),
                _pod_ip(raw, data, metadata),
                "",
                raw.location,
            )
        ]
    spec = _dict(raw, raw.data.get("spec"), "spec")
    template = _dict(raw, spec.get("template"), "spec.template")
    tmeta = _dict(raw, template.get("metadata"), "spec.template.metadata")
    tspec = _dict(raw, template.get("spec"), "spec.template.spec")
    if raw.kind == "Job":
        # a Job runs min(parallelism, completions) pods at once (parallelism defaults to 1)
        count = spec.get("parallelism", 1)
        field = "spec.parallelism"
        completions = spec.get("completions")
        if (
            isinstance(count, int)
            and isinstance(completions, int)
            and not isinstance(completions, bool)
            and 0 <= completions < count
        ):
            count = completions
    elif raw.kind == "DaemonSet":
        count, field = 1, "spec"
    else:
        count = spec.get("replicas", 1)
        field = "spec.replicas"
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
    labels = _labels(raw, tmeta.get("labels"), "spec.template.metadata.labels")
    ports = container_ports(raw, tspec, "spec.template.spec")
    name = raw.name or "workload"
    return [
        PodDraft(
            raw.namespace, f"{name}-{i}", labels, ports, None, f"{raw.kind}/{name}", raw.location
        )
        for i in range(count)
    ]
