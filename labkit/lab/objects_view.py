"""``lab.get``, ``lab.describe``, ``lab.delete`` and ``lab.reset``: the lab's objects as
kubectl shows them, each with the kubectl command beside it."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.errors import LabkitError
from labkit.lab.kubectl import MANAGED_SELECTOR, Commands, command, resource
from labkit.lab.kubectl import describe as describe_command
from labkit.lab.kubectl import get as get_command
from labkit.lab.render import beside

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster
    from labkit.model.inventory import Inventory
    from labkit.model.objects import Namespace, Pod, Service

KINDS = {
    "namespace": "Namespace",
    "pod": "Pod",
    "service": "Service",
    "networkpolicy": "NetworkPolicy",
}
"""kubectl's resource name of each kind the lab evaluates, to the kind."""


def kind_of(text: str) -> str:
    """``Pod`` for ``pods``, ``po``, ``Pod`` ...; raises naming the kinds the lab knows."""
    kind = KINDS.get(resource(text))
    if kind is None:
        raise LabkitError(f"the lab shows {', '.join(KINDS.values())}, not {text!r}")
    return kind


@dataclass(frozen=True)
class Objects:
    """A ``kubectl get`` style listing, with the command beside it."""

    text: str
    commands: Commands

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return beside(f"<pre>{html.escape(self.text)}</pre>", self.commands)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    return "\n".join(
        "   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    )


def _labels(labels: Sequence[tuple[str, str]]) -> str:
    return ",".join(f"{key}={value}" for key, value in labels) or "<none>"


def listing(inventory: Inventory, kind: str, namespace: str | None) -> str:
    """The rows of ``kubectl get KIND [-n NS | -A] --show-labels``, as text."""
    every = namespace is None
    scope: list[str] = ["NAMESPACE"] if every else []

    def where(ns: str) -> list[str]:
        return [ns] if every else []

    def wanted(ns: str) -> bool:
        return every or ns == namespace

    if kind == "Namespace":
        rows = [[n.name, _labels(n.labels)] for n in inventory.namespaces]
        return _table(["NAME", "LABELS"], rows)
    if kind == "Pod":
        rows = [
            [*where(p.namespace), p.name, str(p.ip or "<none>"), _labels(p.labels)]
            for p in inventory.pods
            if wanted(p.namespace)
        ]
        return _table([*scope, "NAME", "IP", "LABELS"], rows)
    if kind == "Service":
        rows = [
            [*where(s.namespace), s.name, ",".join(map(str, s.cluster_ips)) or "None", _ports(s)]
            for s in inventory.services
            if wanted(s.namespace)
        ]
        return _table([*scope, "NAME", "CLUSTER-IP", "PORT(S)"], rows)
    rows = [
        [*where(p.namespace), p.name, str(p.pod_selector)]
        for p in inventory.policies
        if wanted(p.namespace)
    ]
    return _table([*scope, "NAME", "POD-SELECTOR"], rows)


def _ports(service: Service) -> str:
    return ",".join(f"{p.port}/{p.protocol}" for p in service.ports) or "<none>"


def get(lab: LabCluster, kind: str, namespace: str | None) -> Objects:
    found = kind_of(kind)
    scoped = None if found == "Namespace" else namespace
    line = get_command(
        found,
        namespace=scoped,
        all_namespaces=scoped is None and found != "Namespace",
        show_labels=found in ("Namespace", "Pod"),
    )
    note = f"{found} objects" + (f" in {scoped}" if scoped else "")
    return Objects(listing(lab.inventory(), found, scoped), Commands("get", (line,), note))


def _describe_namespace(ns: Namespace) -> str:
    return f"Name:         {ns.name}\nLabels:       {_labels(ns.labels)}\n"


def _describe_pod(pod: Pod) -> str:
    ports = ", ".join(f"{p.port}/{p.protocol.value}" for p in pod.ports) or "<none>"
    return (
        f"Name:         {pod.name}\nNamespace:    {pod.namespace}\n"
        f"Labels:       {_labels(pod.labels)}\nIP:           {pod.ip or '<none>'}\n"
        f"Node:         {pod.node or '<none>'}\nPorts:        {ports}\n"
    )


def _describe_service(svc: Service) -> str:
    selector = _labels(tuple(sorted(svc.selector.match_labels))) if svc.selector else "<none>"
    return (
        f"Name:         {svc.name}\nNamespace:    {svc.namespace}\n"
        f"Selector:     {selector}\nIP:           {','.join(map(str, svc.cluster_ips))}\n"
        f"Port(s):      {_ports(svc)}\n"
    )


def describe(lab: LabCluster, kind: str, name: str, namespace: str) -> Objects:
    found = kind_of(kind)
    inventory = lab.inventory()
    if found == "NetworkPolicy":
        text = lab.describe_policy(name, namespace)
    elif found == "Namespace":
        text = _describe_namespace(inventory.namespace(name))
    elif found == "Pod":
        text = _describe_pod(inventory.pod(f"{namespace}/{name}"))
    else:
        service = inventory.service(f"{namespace}/{name}")
        if service is None:
            raise LabkitError(f"Service {namespace}/{name} does not exist")
        text = _describe_service(service)
    scoped = None if found == "Namespace" else namespace
    line = describe_command(found, name, scoped)
    return Objects(text, Commands("describe", (line,), f"{found} {name}"))


def delete_command(kind: str, name: str, namespace: str | None) -> Commands:
    args = ["delete", resource(kind), name, *(["-n", namespace] if namespace else [])]
    return Commands("delete", (command(*args),), f"delete {kind} {name}")


def reset_commands() -> Commands:
    """What ``reset`` does by hand: delete every object labkit created (policies first)."""
    lines = (
        command("delete", "networkpolicies", "-A", "-l", MANAGED_SELECTOR),
        "labkit reset   # then re-applies the topology and drops labels it does not give",
    )
    return Commands("reset", lines, "objects labkit did not create stay")
