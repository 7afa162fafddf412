"""Pod specs and pod templates: the parts policies depend on (labels, containers, ports).

From ``pkg/apis/core/validation/validation.go`` (``ValidatePodTemplateSpec``,
``validateContainers``, ``validateContainerPorts``):

* a pod spec needs at least one container (``spec.containers: Required value``);
* per container: a port name, when given, is an IANA service name and unique within the
  container (``Duplicate value``); ``containerPort`` is required (0 or absent) and 1-65535;
  ``hostPort``, when non-zero, 1-65535; ``protocol`` is defaulted to TCP when empty
  (``SetDefaults_ContainerPort``), otherwise one of ``"SCTP", "TCP", "UDP"``;
* a pod template's labels are reported at ``<template>.labels`` (not ``.metadata.labels``):
  upstream passes the template path itself to ``ValidateLabels``;
* a port name used again by another container (init containers first, then containers, as
  ``pods.VisitContainersWithPath`` walks them) is only a *warning*
  (``warningsForPodSpecAndMeta`` in ``pkg/api/pod/warnings.go``, kubernetes PR #122170):
  ``<path>: duplicate port name "http" with <first path>, services and probes that select
  ports by name will use <first path>``. NetworkPolicy, as Calico enforces it, opens every
  port of that name (:meth:`labkit.model.objects.Pod.named_port_numbers`).

Only these checks are made; the rest of a pod spec (images, volumes, probes...) is the API
server's business and does not change what a policy selects.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
    INT32_MAX,
    INT32_MIN,
    as_int32,
    as_list,
    as_mapping,
    as_string,
    as_string_map,
    check_fields,
    child,
    index,
)
from labkit.model.validation.labels import check_labels
from labkit.model.validation.messages import go_quote
from labkit.model.validation.names import is_valid_port_name, is_valid_port_num

CONTAINER_PORT_FIELDS = ("name", "hostPort", "containerPort", "protocol", "hostIP")
PORT_PROTOCOLS_SORTED = ("SCTP", "TCP", "UDP")
"""``sets.List(supportedPortProtocols)``: sorted, unlike NetworkPolicy's list."""


class ContainerPortSpec(NamedTuple):
    """A decoded container port (``protocol`` defaulted to TCP)."""

    name: str
    container_port: int
    host_port: int
    protocol: str


class Template(NamedTuple):
    """A decoded pod template: labels (``None`` = unset) and the raw pod spec."""

    labels: dict[str, str] | None
    spec: dict[str, Any] | None


def decode_template(col: Collector, value: Any, path: str) -> Template:
    data = as_mapping(col, value, path, "the pod template") or {}
    meta = as_mapping(col, data.get("metadata"), child(path, "metadata"), "template metadata")
    labels = None
    if meta is not None:
        labels = as_string_map(col, meta.get("labels"), child(path, "metadata.labels"), "label")
    spec = as_mapping(col, data.get("spec"), child(path, "spec"), "the pod spec")
    return Template(labels, spec)


def check_template(col: Collector, template: Template, path: str) -> None:
    """``ValidatePodTemplateSpec`` (labels, then the pod spec's containers)."""
    check_labels(col, template.labels, child(path, "labels"))
    check_pod_spec(col, template.spec, child(path, "spec"))


def check_pod_spec(col: Collector, spec: dict[str, Any] | None, path: str) -> None:
    """Containers and their ports, as ``validateContainers`` reports them."""
    _warn_duplicate_port_names(col, spec or {}, path)
    containers_path = child(path, "containers")
    containers = (spec or {}).get("containers")
    if type(containers) is not list:
        containers = as_list(col, containers, containers_path, "containers")
    if not containers:
        if containers is not None or (spec or {}).get("containers") is None:
            col.required(
                containers_path,
                "",
                "add at least one container: containers: [{name: app, image: ...}]",
            )
        return
    for i, raw in enumerate(containers):
        cpath = index(containers_path, i)
        container = raw if type(raw) is dict else as_mapping(col, raw, cpath, "a container")
        if container is None:
            continue
        ports = container.get("ports")
        if ports is None:
            continue  # no ports: nothing to decode or check
        ports_path = child(cpath, "ports")
        if type(ports) is not list:
            ports = as_list(col, ports, ports_path, "ports") or []
        decoded = [_decode_port(col, p, ports_path, j) for j, p in enumerate(ports)]
        _check_ports(col, decoded, ports_path)


def _decode_port(col: Collector, value: Any, ports_path: str, j: int) -> ContainerPortSpec | None:
    """Decode ``ports[j]``; values of the expected JSON type are taken as they are, anything
    else goes through the :mod:`.decode` helpers (which report it)."""
    if type(value) is not dict:
        data = as_mapping(col, value, index(ports_path, j), "a container port")
        if data is None:
            return None if value is not None else ContainerPortSpec("", 0, 0, "TCP")
    else:
        data = value
    for key in data:  # the path is only built when there is something to report
        if key not in CONTAINER_PORT_FIELDS:
            check_fields(col, data, CONTAINER_PORT_FIELDS, index(ports_path, j), "ContainerPort")
            break
    name = data.get("name")
    if type(name) is not str:
        name = as_string(
            col, name, child(index(ports_path, j), "name"), "write the port name as text"
        )
    number_raw = data.get("containerPort")
    number = number_raw
    if type(number) is not int or not INT32_MIN <= number <= INT32_MAX:
        number = as_int32(
            col,
            number_raw,
            child(index(ports_path, j), "containerPort"),
            "containerPort is a number from 1 to 65535",
        )
    host = data.get("hostPort")
    if host is not None and (type(host) is not int or not INT32_MIN <= host <= INT32_MAX):
        host = as_int32(col, host, child(index(ports_path, j), "hostPort"))
    protocol = data.get("protocol")
    if type(protocol) is not str:
        protocol = as_string(col, protocol, child(index(ports_path, j), "protocol"))
    if name is None or protocol is None:
        return None
    if number_raw is not None and number is None:
        return None
    return ContainerPortSpec(name, number or 0, host or 0, protocol or "TCP")


def _check_ports(col: Collector, ports: list[ContainerPortSpec | None], path: str) -> None:
    """``validateContainerPorts``."""
    names: set[str] = set()
    for i, port in enumerate(ports):
        if port is None:
            continue
        name, number, host, protocol = port
        if (
            name not in names
            and 0 < number <= 65535
            and (host == 0 or 0 < host <= 65535)
            and protocol in PORT_PROTOCOLS_SORTED
            and (not name or not is_valid_port_name(name, col.version))
        ):
            if name:
                names.add(name)
            continue  # nothing to report
        ppath = index(path, i)
        if port.name:
            msgs = is_valid_port_name(port.name, col.version)
            for msg in msgs:
                col.invalid(
                    child(ppath, "name"),
                    port.name,
                    msg,
                    "a port name is at most 15 lower-case letters, digits and single "
                    "'-', with at least one letter (e.g. http); policies refer to it",
                )
            if not msgs:
                if port.name in names:
                    col.duplicate(
                        child(ppath, "name"),
                        port.name,
                        "give each port of a container a different name",
                    )
                names.add(port.name)
        if port.container_port == 0:
            col.required(
                child(ppath, "containerPort"),
                "",
                "set containerPort to the port the container listens on, e.g. 8080",
            )
        else:
            for msg in is_valid_port_num(port.container_port):
                col.invalid(
                    child(ppath, "containerPort"),
                    port.container_port,
                    msg,
                    "containerPort is a number from 1 to 65535",
                )
        if port.host_port != 0:
            for msg in is_valid_port_num(port.host_port):
                col.invalid(
                    child(ppath, "hostPort"),
                    port.host_port,
                    msg,
                    "hostPort is a number from 1 to 65535 (or leave it out)",
                )
        if port.protocol not in PORT_PROTOCOLS_SORTED:
            upper = port.protocol.upper()
            col.not_supported(
                child(ppath, "protocol"),
                port.protocol,
                PORT_PROTOCOLS_SORTED,
                f"protocol names are upper case: write {upper}"
                if upper in PORT_PROTOCOLS_SORTED
                else "use TCP, UDP or SCTP",
            )


def _warn_duplicate_port_names(col: Collector, spec: dict[str, Any], path: str) -> None:
    """The API server's warning for a port name that another container already uses (see the
    module docstring); a name repeated inside one container is an error reported above."""
    first: dict[str, tuple[str, str]] = {}  # name -> (container path, port path)
    for key in ("initContainers", "containers"):
        containers = spec.get(key)
        if type(containers) is not list:
            continue
        for i, container in enumerate(containers):
            ports = container.get("ports") if type(container) is dict else None
            if type(ports) is not list:
                continue
            cpath = index(child(path, key), i)
            for j, port in enumerate(ports):
                name = port.get("name") if type(port) is dict else None
                if type(name) is not str or not name:
                    continue
                here = index(child(cpath, "ports"), j)
                seen = first.get(name)
                if seen is None:
                    first[name] = (cpath, here)
                elif seen[0] != cpath:
                    col.warn(
                        here,
                        f"duplicate port name {go_quote(name)} with {seen[1]}, services and "
                        f"probes that select ports by name will use {seen[1]}",
                        "give each container's port its own name (e.g. http and metrics); "
                        "a NetworkPolicy naming it opens the port on every container that "
                        "uses the name",
                    )
