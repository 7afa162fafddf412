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


FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
"""Pod phases after which a pod has no network: its address is freed (Calico
``conversion.IsFinished``: a finished pod "no longer owns its IP(s)"), the EndpointSlice
controller drops it (``endpointslice`` ``ShouldPodBeInEndpoints``: terminal pods are no
endpoints), and a new pod may get the same address."""


@dataclass(frozen=True)
class Pod:
    """A pod: where it lives, its labels, its addresses and its container ports.

    * ``ip`` is the primary address (``status.podIP``), ``ips`` every address the pod owns
      (``status.podIPs``: one per IP family on a dual-stack cluster), the primary first;
    * ``ports`` are the ports of ``spec.containers`` followed by those of sidecar init
      containers (``restartPolicy: Always``), the order in which Kubernetes resolves a
      Service's named ``targetPort`` (``FindPort`` in ``pkg/api/v1/pod/util.go``);
      ``init_ports`` the ports of the other init containers, which Calico also maps
      (``appendEndpointPorts`` over ``pod.Spec.InitContainers`` in
      ``libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go``);
    * ``host_network``: the pod uses its node's network namespace and address; Calico makes
      no workload endpoint for it (``Converter.IsValidCalicoWorkloadEndpoint``: "Pod is host
      networked"), so no NetworkPolicy selects it and its traffic is the node's;
    * ``phase``: ``status.phase`` as written ("" when absent: a pod labkit treats as running).
    """

    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...] = ()
    ip: IPAddress | None = None
    ports: tuple[ContainerPort, ...] = ()
    workload: str = ""
    node: str = ""
    ips: tuple[IPAddress, ...] = ()
    host_network: bool = False
    phase: str = ""
    init_ports: tuple[ContainerPort, ...] = ()

    @property
    def key(self) -> str:
        """The peer name used throughout labkit: ``namespace/pod``."""
        return f"{self.namespace}/{self.name}"

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        """Every address of the pod, the primary first (``ips``, else ``ip`` alone)."""
        if self.ips:
            return self.ips
        return () if self.ip is None else (self.ip,)

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED_PHASES

    def named_port(self, name: str, protocol: Protocol) -> int | None:
        """The number a Service's named ``targetPort`` resolves to: the first container port
        with that name and protocol, containers before sidecars (``FindPort``)."""
        for port in self.ports:
            if port.name == name and port.protocol is protocol:
                return port.port
        return None

    def named_port_numbers(self, name: str, protocol: Protocol) -> tuple[int, ...]:
        """Every number a NetworkPolicy's named port opens on this pod, sorted.

        Calico matches a named port against every endpoint port of that name and protocol
        (the named-port IP sets Felix builds from the workload endpoint's ``Ports``, which
        hold every container and init container port), so a name declared on two
        containers opens both numbers; the API server only warns about the duplicate.
        """
        return tuple(
            sorted(
                {
                    port.port
                    for port in (*self.ports, *self.init_ports)
                    if port.name == name and port.protocol is protocol
                }
            )
        )


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
    port before policy applies (conformance rule 13). ``cluster_ips`` are
    ``spec.clusterIPs`` (else ``spec.clusterIP``) as written; a headless Service
    (``clusterIP: None``) and a manifest that leaves them to the API server have none.
    """

    namespace: str
    name: str
    selector: LabelSelector | None = None
    ports: tuple[ServicePort, ...] = field(default=())
    cluster_ips: tuple[IPAddress, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"
