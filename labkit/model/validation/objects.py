"""Validation of one manifest object, by kind, in the API server's order.

Known kinds and the upstream functions followed (``pkg/apis/*/validation``):

============  =====================  ============================================================
kind          apiVersion             checks
============  =====================  ============================================================
NetworkPolicy networking.k8s.io/v1   everything (``ValidateNetworkPolicy``), see network_policy
Namespace     v1                     name (DNS label), labels, annotations
Pod           v1                     metadata (name: DNS subdomain), containers, container ports
Service       v1                     metadata (name: DNS-1035 label), ports, ``spec.selector``
Deployment,   apps/v1                metadata, ``spec.replicas``, ``spec.selector`` (required,
ReplicaSet                           valid, non-empty, matching the template labels), template
DaemonSet     apps/v1                metadata, selector (valid, non-empty, matching), template
StatefulSet   apps/v1                metadata (DNS label from 1.27), replicas, selector, template
                                     labels; pod-spec problems are *warnings*: the API server
                                     does not validate a StatefulSet's pod spec, its pods fail
Job           batch/v1               metadata, template labels and containers
Role, Cluster rbac.authorization.    metadata (path segment names), rules, roleRef, subjects
Role(Binding) k8s.io/v1              (see :mod:`.rbac`)
============  =====================  ============================================================

Before validation, as the API server decodes first: a wrong ``apiVersion`` for a known kind
(kubectl: "no matches for kind"), unknown top-level fields, values of the wrong type. Objects
without ``kind`` get "kind: Required value"; unknown kinds are not checked (the inventory
builder skips them with a warning).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from labkit.model.loader import RawObject
from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
    as_int32,
    as_int_or_string,
    as_list,
    as_mapping,
    as_string,
    as_string_map,
    check_fields,
    child,
    index,
    scalar_text,
)
from labkit.model.validation.labels import check_labels
from labkit.model.validation.messages import string_map
from labkit.model.validation.metadata import (
    SPEC_KEYS,
    NameCheck,
    check_meta,
    decode_meta,
    label_name,
    service_name,
    subdomain_name,
)
from labkit.model.validation.names import is_dns1123_label, is_valid_port_name, is_valid_port_num
from labkit.model.validation.network_policy import check_network_policy_kind, warn_cidrs
from labkit.model.validation.pods import (
    Template,
    check_pod_spec,
    check_template,
    decode_template,
)
from labkit.model.validation.rbac import TOP_FIELDS as RBAC_TOP_FIELDS
from labkit.model.validation.rbac import check_rbac_object
from labkit.model.validation.selectors import (
    Selector,
    check_selector,
    decode_selector,
    selector_converts,
)

API_VERSIONS = {
    "NetworkPolicy": "networking.k8s.io/v1",
    "Namespace": "v1",
    "Pod": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    **{kind: "rbac.authorization.k8s.io/v1" for kind in RBAC_TOP_FIELDS},
}
TOP_FIELDS = ("apiVersion", "kind", "metadata", "spec")
TOP_FIELDS_WITH_STATUS = (*TOP_FIELDS, "status")
"""Top-level fields; ``status`` of a NetworkPolicy is only known to 1.24 to 1.27."""
SERVICE_PORT_FIELDS = ("name", "protocol", "appProtocol", "port", "targetPort", "nodePort")
SERVICE_PROTOCOLS = ("SCTP", "TCP", "UDP")


def validate_object(col: Collector, raw: RawObject) -> None:
    """Decode and validate one object into ``col``."""
    data = raw.data
    kind_value = data.get("kind")
    kind = scalar_text(kind_value)
    if kind_value is not None and kind is None:
        col.wrong_type("kind", kind_value, "a string", "write the kind as text, e.g. kind: Pod")
        return
    if not kind:
        col.decode_required(
            "kind",
            "",
            "add kind at the top level of the object, e.g. "
            "kind: NetworkPolicy (and apiVersion: networking.k8s.io/v1)",
        )
        meta = decode_meta(col, data.get("metadata"))
        if not meta.name and not meta.generate_name:
            col.decode_required(
                "metadata.name",
                "name or generateName is required",
                "add metadata.name, e.g. name: web",
            )
        return
    if kind not in API_VERSIONS:
        return
    _check_api_version(col, kind, data.get("apiVersion"))
    if kind in RBAC_TOP_FIELDS:
        check_rbac_object(col, kind, data)
        return
    top: tuple[str, ...] = TOP_FIELDS
    if kind != "NetworkPolicy" or 24 <= col.version.minor < 28:
        top = TOP_FIELDS_WITH_STATUS
    check_fields(col, data, top, "", kind, _top_level_home)
    meta = decode_meta(col, data.get("metadata"))
    if kind == "NetworkPolicy":
        check_meta(col, meta, subdomain_name, namespaced=True, kind=kind)
        policy_spec = check_network_policy_kind(col, data)
        if not col.errors:
            warn_cidrs(col, policy_spec)
    elif kind == "Namespace":
        check_meta(col, meta, label_name, namespaced=False, kind=kind)
    elif kind == "Pod":
        check_meta(col, meta, subdomain_name, namespaced=True, kind=kind)
        check_pod_spec(col, as_mapping(col, data.get("spec"), "spec", "spec"), "spec")
    elif kind == "Service":
        check_meta(col, meta, service_name, namespaced=True, kind=kind)
        _check_service(col, as_mapping(col, data.get("spec"), "spec", "spec") or {})
    else:
        name_check: NameCheck = subdomain_name
        if kind == "StatefulSet" and col.version.at_least(27):
            name_check = label_name
        check_meta(col, meta, name_check, namespaced=True, kind=kind)
        _check_workload(col, kind, as_mapping(col, data.get("spec"), "spec", "spec") or {})


def _top_level_home(key: str) -> str:
    if key == "status":
        return "nothing: a NetworkPolicy has no status (remove it; kubectl get -o yaml adds it)"
    if key in SPEC_KEYS or key in ("type", "clusterIP"):
        return "spec"
    if key in ("name", "namespace", "labels", "annotations", "generateName"):
        return "metadata"
    return ""


def _check_api_version(col: Collector, kind: str, value: Any) -> None:
    if value is None:
        return
    text = scalar_text(value)
    want = API_VERSIONS[kind]
    if text is None:
        col.wrong_type("apiVersion", value, "a string", f"write apiVersion: {want}")
    elif text != want:
        col.decode_error(
            "apiVersion",
            text,
            f"kind {kind} is served as {want}",
            f"write apiVersion: {want} (kubectl says: no matches for kind "
            f'"{kind}" in version "{text}")',
        )


# Services -------------------------------------------------------------------------------------
def _check_service(col: Collector, spec: dict[str, Any]) -> None:
    """The port and selector parts of ``ValidateService``."""
    raw_ports = as_list(col, spec.get("ports"), "spec.ports", "ports")
    stype = scalar_text(spec.get("type")) or "ClusterIP"
    headless = scalar_text(spec.get("clusterIP")) == "None"
    if (spec.get("ports") is None or raw_ports == []) and not headless:
        if stype != "ExternalName":
            col.required(
                "spec.ports",
                "",
                "list the ports the Service exposes, e.g. ports: [{port: 80, targetPort: 8080}]",
            )
    ports = raw_ports or []
    names: set[str] = set()
    for i, raw in enumerate(ports):
        path = index("spec.ports", i)
        data = as_mapping(col, raw, path, "a Service port")
        if data is None:
            if raw is not None:
                continue
            data = {}
        check_fields(col, data, SERVICE_PORT_FIELDS, path, "ServicePort")
        name = as_string(col, data.get("name"), child(path, "name"))
        port = as_int32(col, data.get("port"), child(path, "port"))
        protocol = as_string(col, data.get("protocol"), child(path, "protocol")) or "TCP"
        target = data.get("targetPort")
        if name is None:
            continue
        if len(ports) > 1 and not name:
            col.required(
                child(path, "name"),
                "",
                "a Service with several ports must name each one, e.g. name: http",
            )
        elif name:
            for msg in is_dns1123_label(name, col.version):
                col.invalid(
                    child(path, "name"),
                    name,
                    msg,
                    "a Service port name is lower-case letters, digits and '-'",
                )
            if name in names:
                col.duplicate(child(path, "name"), name, "give each Service port its own name")
            names.add(name)
        number = port or 0
        for msg in is_valid_port_num(number):
            col.invalid(child(path, "port"), number, msg, "use a port number from 1 to 65535")
        if protocol not in SERVICE_PROTOCOLS:
            col.not_supported(
                child(path, "protocol"),
                protocol,
                SERVICE_PROTOCOLS,
                "use TCP, UDP or SCTP (upper case)",
            )
        _check_target_port(col, target, number, child(path, "targetPort"))
    selector = as_string_map(col, spec.get("selector"), "spec.selector", "selector")
    check_labels(col, selector, "spec.selector")


def _check_target_port(col: Collector, value: Any, port: int, path: str) -> None:
    """``ValidatePortNumOrName`` after ``targetPort`` defaulted to ``port`` (0 or "")."""
    target = as_int_or_string(col, value, path)
    if value is not None and target is None:
        return
    if target is None or target == 0 or target == "":
        target = port
    if isinstance(target, str):
        for msg in is_valid_port_name(target, col.version):
            col.invalid(
                path,
                target,
                msg,
                "targetPort is a container port number or the name of a container port",
            )
        return
    for msg in is_valid_port_num(target):
        col.invalid(path, target, msg, "use a port number from 1 to 65535")


# workloads ------------------------------------------------------------------------------------
def _check_workload(col: Collector, kind: str, spec: dict[str, Any]) -> None:
    """The selector and template parts of ``Validate<Kind>Spec`` (apps, batch)."""
    selector_raw = spec.get("selector")
    selector = decode_selector(col, selector_raw, "spec.selector")
    selector_broken = selector_raw is not None and selector is None
    template = decode_template(col, spec.get("template"), "spec.template")
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        replicas = as_int32(
            col, spec.get("replicas"), "spec.replicas", "replicas is a whole number, 0 or more"
        )
        if replicas is not None and replicas < 0:
            col.invalid(
                "spec.replicas",
                replicas,
                "must be greater than or equal to 0",
                "use 0 or more replicas",
            )
    if kind != "Job" and not selector_broken:
        if not _check_selector_and_labels(col, kind, selector, template.labels):
            return
    if kind == "StatefulSet":
        _check_statefulset_template(col, template)
    else:
        check_template(col, template, "spec.template")


def _check_selector_and_labels(
    col: Collector, kind: str, selector: Selector | None, labels: dict[str, str] | None
) -> bool:
    """The selector checks; ``False`` when upstream then skips the template (no selector)."""
    if kind == "DaemonSet":
        check_selector(col, selector, "spec.selector")
        if selector_converts(col.version, selector) and not _matches(selector, labels):
            _mismatch(col, labels)
        if selector is not None and selector.is_empty:
            _empty_selector(col, selector, "daemonset")
        return True
    if selector is None:
        col.required(
            "spec.selector",
            "",
            "apps/v1 needs spec.selector: add matchLabels with "
            "the labels of spec.template.metadata.labels",
        )
    else:
        check_selector(col, selector, "spec.selector")
        if selector.is_empty:
            _empty_selector(col, selector, "statefulset" if kind == "StatefulSet" else "deployment")
    if not selector_converts(col.version, selector):
        col.invalid_rendered(
            "spec.selector",
            (selector or Selector()).render(col.json_values),
            "" if kind == "StatefulSet" else "invalid label selector",
            "fix the selector errors reported before this one",
        )
        return False
    everything = selector is not None and selector.is_empty
    if not everything and not _matches(selector, labels):
        _mismatch(col, labels)
    return True


def _check_statefulset_template(col: Collector, template: Template) -> None:
    """``ValidatePodTemplateSpecForStatefulSet`` checks labels only; pod problems warn."""
    check_labels(col, template.labels, "spec.template.labels")
    pods = Collector(col.file, col.object, col.version)
    check_pod_spec(pods, template.spec, "spec.template.spec")
    col.decoding += pods.decoding
    for issue in pods.validation:
        col.warnings.append(
            replace(
                issue,
                severity="warning",
                hint="the API server accepts the StatefulSet but will reject its pods: "
                + issue.hint,
            )
        )


def _matches(selector: Selector | None, labels: dict[str, str] | None) -> bool:
    """``LabelSelectorAsSelector(...).Matches``: a nil selector matches nothing."""
    if selector is None:
        return False
    return selector.matches(labels or {})


def _mismatch(col: Collector, labels: dict[str, str] | None) -> None:
    col.invalid_rendered(
        "spec.template.metadata.labels",
        string_map(labels, col.json_values),
        "`selector` does not match template `labels`",
        "every label in spec.selector must also be set in spec.template.metadata.labels (with "
        "the same value)",
    )


def _empty_selector(col: Collector, selector: Selector, what: str) -> None:
    col.invalid_rendered(
        "spec.selector",
        selector.render(col.json_values),
        f"empty selector is invalid for {what}",
        "add matchLabels with the pod template's labels, e.g. matchLabels: {app: web}",
    )
