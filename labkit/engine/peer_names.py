"""Names a learner may write for a matrix's sources and destinations, turned into the keys
the engine and the probe runners use.

* ``NAMESPACE/POD`` (or a workload name, as :meth:`Inventory.pod` finds it) stays as it is;
* ``NAMESPACE/*`` is every running pod of that namespace;
* ``svc:NAMESPACE/NAME`` is a Service (a destination only: a Service never sends);
* a Service's DNS name ``NAME.NAMESPACE.svc`` or ``NAME.NAMESPACE.svc.cluster.local``
  (optionally with the final dot) is the same Service. Kubernetes DNS gives every Service
  the A record ``<service>.<ns>.svc.<zone>`` (DNS specification for Kubernetes, section
  2.3.1; ``cluster.local`` is kind's and kubeadm's default zone); the shorter ``NAME.NS``
  works only through a pod's search path, so it is not accepted here;
* ``ip:ADDRESS`` stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from labkit.engine.services import SERVICE_PREFIX
from labkit.errors import UnknownPeer
from labkit.model.inventory import Inventory

CLUSTER_ZONE = "cluster.local"
"""The cluster DNS zone of kind and kubeadm clusters (``--cluster-domain`` of the kubelet)."""
WILDCARD = "/*"


def service_from_dns_name(text: str) -> str | None:
    """``NAMESPACE/NAME`` for ``NAME.NAMESPACE.svc[.cluster.local][.]``; else ``None``."""
    name = text.strip().rstrip(".").lower()
    for suffix in (f".svc.{CLUSTER_ZONE}", ".svc"):
        if name.endswith(suffix):
            parts = name[: -len(suffix)].split(".")
            if len(parts) == 2 and all(parts):
                return f"{parts[1]}/{parts[0]}"
    return None


def destination_key(text: str) -> str:
    """A destination as the runners take it: a DNS name becomes ``svc:NAMESPACE/NAME``."""
    service = service_from_dns_name(text)
    return f"{SERVICE_PREFIX}{service}" if service is not None else text.strip()


def _namespace_pods(inventory: Inventory, namespace: str) -> list[str]:
    inventory.namespace(namespace)  # raises, listing the namespaces, when it does not exist
    return [p.key for p in inventory.pods if p.namespace == namespace]


def _check_service(inventory: Inventory, key: str) -> None:
    if inventory.service(key[len(SERVICE_PREFIX) :]) is None:
        known = ", ".join(f"svc:{s.key}" for s in inventory.services) or "none"
        raise UnknownPeer(f"service {key!r} does not exist; services: {known}")


def expand(
    inventory: Inventory,
    names: Sequence[str],
    *,
    destinations: bool,
    order: Callable[[Iterable[str]], list[str]] = sorted,
) -> list[str]:
    """The keys ``names`` stand for, in order, without repeats (the pods of ``NS/*`` in
    ``order``). Services (``svc:`` or a DNS name) are accepted only as ``destinations``."""
    keys: list[str] = []
    for written in names:
        key = destination_key(written)
        if key.endswith(WILDCARD):
            found = order(_namespace_pods(inventory, key[: -len(WILDCARD)]))
        elif key.startswith(SERVICE_PREFIX):
            if not destinations:
                raise UnknownPeer(
                    f"{written!r} is a Service, and a Service never sends: use it in "
                    "destinations=, and give pods (NAMESPACE/POD or NAMESPACE/*) as sources"
                )
            _check_service(inventory, key)
            found = [key]
        elif key.startswith("ip:"):
            found = [key]
        else:
            found = [inventory.pod(key).key]
        keys += [k for k in found if k not in keys]
    return keys
