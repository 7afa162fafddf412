"""Pod specs and pod templates: the parts policies depend on (labels, containers, ports).

From ``pkg/apis/core/validation/validation.go`` (``ValidatePodTemplateSpec``,
``validateContainers``, ``validateContainerPorts``):

* a pod spec needs at least one container (``spec.containers: Required value``);
* per container: a port name, when given, is an IANA service name and unique within the
  container (``Duplicate value``); ``containerPort`` is required (0 or absent) and 1-65535;
  ``hostPort``, when non-zero, 1-65535; ``protocol`` is defaulted to TCP when empty
  (``SetDefaults_ContainerPort``), otherwise one of ``"SCTP", "TCP", "UDP"``;
* a pod template's labels are reported at ``<template>.labels`` (not ``.metadata.labels``):
  upstream passes the template path itself to ``ValidateLabels``.

Only these checks are made; the rest of a pod spec (images, volumes, probes...) is the API
server's business and does not change what a policy selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
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
from labkit.model.validation.names import is_valid_port_name, is_valid_port_num

CONTAINER_PORT_FIELDS = ("name", "hostPort", "containerPort", "protocol", "hostIP")
PORT_PROTOCOLS_SORTED = ("SCTP", "TCP", "UDP")
"""``sets.List(supportedPortProtocols)``: sorted, unlike NetworkPolicy's list."""


@dataclass(frozen=True)
class ContainerPortSpec:
    name: str
    container_port: int
    host_port: int
    protocol: str


@dataclass(frozen=True)
class Template:
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
    containers_path = child(path, "containers")
    containers = as_list(col, (spec or {}).get("containers"), containers_path, "containers")
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
        container = as_mapping(col, raw, cpath, "a container")
        if container is None:
            continue
        ports_path = child(cpath, "ports")
        ports = as_list(col, container.get("ports"), ports_path, "ports") or []
        decoded = [_decode_port(col, p, index(ports_path, j)) for j, p in enumerate(ports)]
        _check_ports(col, decoded, ports_path)


def _decode_port(col: Collector, value: Any, path: str) -> ContainerPortSpec | None:
    data = as_mapping(col, value, path, "a container port")
    if data is None:
        return None if value is not None else ContainerPortSpec("", 0, 0, "TCP")
    check_fields(col, data, CONTAINER_PORT_FIELDS, path, "ContainerPort")
    name = as_string(col, data.get("name"), child(path, "name"), "write the port name as text")
    number = as_int32(
        col,
        data.get("containerPort"),
        child(path, "containerPort"),
        "containerPort is a number from 1 to 65535",
    )
    host = as_int32(col, data.get("hostPort"), child(path, "hostPort"))
    protocol = as_string(col, data.get("protocol"), child(path, "protocol"))
    if name is None or protocol is None:
        return None
    if data.get("containerPort") is not None and number is None:
        return None
    return ContainerPortSpec(name, number or 0, host or 0, protocol or "TCP")


def _check_ports(col: Collector, ports: list[ContainerPortSpec | None], path: str) -> None:
    """``validateContainerPorts``."""
    names: set[str] = set()
    for i, port in enumerate(ports):
        if port is None:
            continue
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
