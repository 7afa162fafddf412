"""Namespaces, pods and services: the things policies select and protect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from labkit.model.labels import LabelSelector
from labkit.model.ports import ContainerPort, Protocol

IPAddress = IPv4Address | IPv6Address

MANAGED_LABEL = "labkit.dev/managed"
"""Every object labkit creates carries ``labkit.dev/managed: "true"``; cleanup removes only
those, and audit treats namespaces without it as not the learner's."""

SYSTEM_NAMESPACES = frozenset(
    {
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "local-path-storage",
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
    }
)
"""Namespaces that belong to the cluster (Kubernetes, kind's storage, Calico), not to a lesson."""

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label the API server puts on every namespace (Kubernetes >= 1.21), set to its name."""


def frozen_labels(labels: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((labels or {}).items()))


@dataclass(frozen=True)
class Namespace:
    """A namespace with the labels a real cluster shows.

    The API server always sets ``kubernetes.io/metadata.name: <name>`` (it cannot be removed
    or changed); :func:`namespace_labels` applies that rule at parse time.
    """

    name: str
    labels: tuple[tuple[str, str], ...] = ()
    implicit: bool = False

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def namespace_labels(name: str, labels: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    merged = dict(labels or {})
    merged[NAMESPACE_NAME_LABEL] = name
    return frozen_labels(merged)


@dataclass(frozen=True)
class Pod:
    """A pod: where it lives, its labels, its address and its container ports."""

    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...] = ()
    ip: IPAddress | None = None
    ports: tuple[ContainerPort, ...] = ()
    workload: str = ""
    node: str = ""

    @property
    def key(self) -> str:
        """The peer name used throughout labkit: ``namespace/pod``."""
        return f"{self.namespace}/{self.name}"

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def named_port(self, name: str, protocol: Protocol) -> int | None:
        """Resolve a named port on this pod: same name and protocol, as kube-proxy and CNIs do."""
        for port in self.ports:
            if port.name == name and port.protocol is protocol:
                return port.port
        return None


@dataclass(frozen=True)
class ServicePort:
    """One ``spec.ports`` entry of a Service (``targetPort`` defaulted to ``port``)."""

    port: int
    target_port: int | str
    protocol: Protocol = Protocol.TCP
    name: str = ""


@dataclass(frozen=True)
class Service:
    """A Service: a selector over pods of its namespace and a port mapping.

    Policies never see the Service: traffic is DNATed to a backend pod and its container
    port before policy applies (conformance rule 13).
    """

    namespace: str
    name: str
    selector: LabelSelector | None = None
    ports: tuple[ServicePort, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"
