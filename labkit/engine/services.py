"""Traffic sent to a Service, as the policies see it: a backend pod and its port.

Conformance rule 13: Service traffic is DNATed (kube-proxy, or the CNI's own service
handling) to a backend pod and the Service port's ``targetPort`` before NetworkPolicy is
applied, so policies see the backend pod's address and container port, never the ClusterIP or
the Service port. Hence an ``ipBlock`` holding a ClusterIP matches nothing, and a probe to
the ClusterIP (``--to 10.96.0.10``) is the same question as ``--to svc:NAMESPACE/NAME``
(:func:`service_destination`).
"""

from __future__ import annotations

import logging

from labkit.engine.endpoints import service_at
from labkit.errors import EvaluationError, UnknownPeer
from labkit.model.inventory import Inventory
from labkit.model.objects import Pod
from labkit.model.policy import parse_address
from labkit.model.ports import Protocol

log = logging.getLogger(__name__)

SERVICE_PREFIX = "svc:"


def service_destination(inventory: Inventory, text: str) -> str | None:
    """The ``namespace/name`` of the Service that ``text`` names: ``svc:NAMESPACE/NAME``, or
    one of its ClusterIPs (``10.96.0.10`` or ``ip:10.96.0.10``); ``None`` for anything else."""
    raw = text.strip()
    if raw.startswith(SERVICE_PREFIX):
        return raw[len(SERVICE_PREFIX) :]
    try:
        address = parse_address(raw.removeprefix("ip:"))
    except ValueError:
        return None
    return service_at(inventory, address)


def resolve_service_target(
    inventory: Inventory, service_key: str, port: int, protocol: Protocol
) -> list[tuple[Pod, int]]:
    """The ``(backend pod, destination port)`` pairs a probe to ``service_key`` on
    ``port``/``protocol`` can land on, sorted by pod (conformance rule 13).

    As Kubernetes builds a Service's endpoints (EndpointSlice controller, ``FindPort``):

    * backends are the running pods of the Service's namespace that its ``spec.selector``
      matches (finished pods are no endpoints: ``ShouldPodBeInEndpoints`` in
      ``pkg/controller/util/endpoint``; they are not in ``inventory.pods``); a Service
      without a selector (or with an empty one) gets no endpoints from Kubernetes, so it has
      none here;
    * the Service port is found by ``port`` and ``protocol``; its ``targetPort`` (defaulted to
      ``port``) is used as a number as written, and a named ``targetPort`` is resolved on each
      pod's container ports by name *and* protocol; a pod where it does not resolve is not an
      endpoint.

    Raises :class:`UnknownPeer` for a Service that does not exist and
    :class:`EvaluationError` for a port the Service does not declare.
    """
    service = inventory.service(service_key)
    if service is None:
        known = ", ".join(s.key for s in inventory.services) or "none"
        raise UnknownPeer(
            f"service {service_key!r} does not exist (write NAMESPACE/SERVICE); services: {known}"
        )
    for service_port in service.ports:
        if service_port.port == port and service_port.protocol == protocol:
            break
    else:
        declared = ", ".join(f"{p.port}/{p.protocol}" for p in service.ports) or "none"
        raise EvaluationError(
            f"service {service.key} has no port {port}/{protocol}; it declares: {declared}"
        )
    selector = service.selector
    if selector is None or selector.is_empty:
        log.info("service %s has no selector: Kubernetes keeps no endpoints for it", service.key)
        return []
    target = service_port.target_port
    found: list[tuple[Pod, int]] = []
    for pod in sorted(inventory.pods, key=lambda p: p.key):
        if pod.namespace != service.namespace or not selector.matches(pod.label_map):
            continue
        number = target if isinstance(target, int) else pod.named_port(target, protocol)
        if number is not None:
            found.append((pod, number))
    return found
