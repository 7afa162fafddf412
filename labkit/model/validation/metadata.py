"""``metadata`` of every object: name, generateName, namespace, labels, annotations.

``ValidateObjectMetaAccessor`` (``k8s.io/apimachinery/pkg/api/validation/objectmeta.go``), in its
order: ``generateName`` (checked as a prefix), ``name`` (Required "name or generateName is
required" when both are empty), ``namespace`` (a DNS-1123 label), ``generation`` (not
negative), ``labels``, ``annotations`` (keys are label keys, compared in lower case; at most
``TotalAnnotationSizeLimitB`` = 256 KiB of keys and values together, ``ValidateAnnotations``),
``ownerReferences`` and ``finalizers`` (:mod:`labkit.model.validation.ownership`).
``managedFields`` (written by the API server, never by hand) are decoded but not checked.

What kubectl and the API server do first, and labkit therefore does too:

* a namespaced object without ``metadata.namespace`` goes to the current namespace
  (``default``): no error;
* a cluster-scoped object (Namespace) has its ``metadata.namespace`` cleared silently;
* ``generateName`` without ``name`` (``kubectl create``) gets a random five-character suffix
  before validation; that generated name is not checked here because it is not known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
    as_int32,
    as_mapping,
    as_string,
    as_string_map,
    check_fields,
)
from labkit.model.validation.labels import check_labels, is_label_key, key_hint
from labkit.model.validation.messages import go_len
from labkit.model.validation.names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    mask_trailing_dash,
    suggest_name,
)
from labkit.model.validation.ownership import (
    OwnerReference,
    check_finalizers,
    check_owner_references,
    decode_finalizers,
    decode_owner_references,
)
from labkit.model.validation.version import KubeVersion

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * (1 << 10)
"""``TotalAnnotationSizeLimitB``: bytes of every annotation key and value together."""

META_FIELDS = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)

NameCheck = Callable[[str, KubeVersion], list[str]]


def subdomain_name(name: str, version: KubeVersion) -> list[str]:
    """``NameIsDNSSubdomain`` (most kinds)."""
    return is_dns1123_subdomain(name, version)


def label_name(name: str, version: KubeVersion) -> list[str]:
    """``NameIsDNSLabel`` (Namespaces, StatefulSets from 1.27)."""
    return is_dns1123_label(name, version)


def service_name(name: str, version: KubeVersion) -> list[str]:
    """``NameIsDNS1035Label`` (Services)."""
    return is_dns1035_label(name, version)


class ObjectMeta(NamedTuple):
    """The decoded metadata fields that validation reads."""

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    generation: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: tuple[OwnerReference, ...] = ()
    finalizers: tuple[str, ...] = ()


def decode_meta(col: Collector, value: Any) -> ObjectMeta:
    # strings are taken as they are; anything else goes through the .decode helpers
    data = value if type(value) is dict else as_mapping(col, value, "metadata", "metadata")
    if data is None:
        return ObjectMeta()
    check_fields(col, data, META_FIELDS, "metadata", "ObjectMeta", _meta_home)
    name = data.get("name")
    if type(name) is not str:
        name = as_string(col, name, "metadata.name", "quote the name")
    generate = data.get("generateName")
    if type(generate) is not str:
        generate = as_string(col, generate, "metadata.generateName")
    namespace = data.get("namespace")
    if type(namespace) is not str:
        namespace = as_string(col, namespace, "metadata.namespace", "quote the namespace")
    generation = data.get("generation")
    if generation is not None:
        generation = as_int32(col, generation, "metadata.generation")
    labels = data.get("labels")
    if labels is not None:
        labels = as_string_map(col, labels, "metadata.labels", "label")
    annotations = data.get("annotations")
    if annotations is not None:
        annotations = as_string_map(col, annotations, "metadata.annotations", "annotation")
    owners = data.get("ownerReferences")
    finalizers = data.get("finalizers")
    return ObjectMeta(
        name or "",
        generate or "",
        namespace or "",
        generation,
        labels,
        annotations,
        decode_owner_references(col, owners) if owners is not None else (),
        decode_finalizers(col, finalizers) if finalizers is not None else (),
    )


SPEC_KEYS = frozenset(
    {
        "podSelector",
        "ingress",
        "egress",
        "policyTypes",
        "containers",
        "selector",
        "ports",
        "template",
        "replicas",
    }
)
"""Fields that belong under ``spec`` and that learners misplace (under metadata, or at the top)."""


def _meta_home(key: str) -> str:
    if key in SPEC_KEYS:
        return "spec (a sibling of metadata, not inside it)"
    return ""


def check_meta(
    col: Collector, meta: ObjectMeta, name_check: NameCheck, *, namespaced: bool, kind: str
) -> None:
    """``ValidateObjectMeta`` for a create request."""
    version = col.version
    if meta.generate_name:
        for msg in name_check(mask_trailing_dash(meta.generate_name), version):
            col.invalid(
                "metadata.generateName",
                meta.generate_name,
                msg,
                _name_hint(kind, meta.generate_name, name_check, prefix=True),
            )
    if not meta.name:
        if not meta.generate_name:
            col.required(
                "metadata.name",
                "name or generateName is required",
                f"give the {kind} a name under metadata, e.g. name: "
                f"{_example_name(kind)} (lower-case letters, digits and '-')",
            )
    else:
        for msg in name_check(meta.name, version):
            col.invalid(
                "metadata.name",
                meta.name,
                msg,
                _name_hint(kind, meta.name, name_check, prefix=False),
            )
    if namespaced and meta.namespace:
        for msg in is_dns1123_label(meta.namespace, version):
            col.invalid("metadata.namespace", meta.namespace, msg, _namespace_hint(meta.namespace))
    if meta.generation is not None and meta.generation < 0:
        col.invalid(
            "metadata.generation",
            meta.generation,
            "must be greater than or equal to 0",
            "remove metadata.generation: the API server sets it",
        )
    check_labels(col, meta.labels, "metadata.labels")
    for key in meta.annotations or {}:
        for msg in is_label_key(key.lower(), version):
            col.invalid(
                "metadata.annotations",
                key,
                msg,
                "annotation keys follow the label key rules (case aside): " + key_hint(key),
            )
    if meta.annotations:
        check_annotations_size(col, meta.annotations)
    if meta.owner_references:
        check_owner_references(col, meta.owner_references)
    if meta.finalizers:
        check_finalizers(col, meta.finalizers)


def check_annotations_size(col: Collector, annotations: dict[str, str]) -> None:
    """``ValidateAnnotationsSize``: keys and values together, in bytes, at most 256 KiB
    (``field.TooLong``: "must have at most N bytes" until 1.31, "may not be more than N
    bytes" from 1.32)."""
    total = sum(go_len(key) + go_len(value) for key, value in annotations.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        limit = TOTAL_ANNOTATION_SIZE_LIMIT
        detail = (
            f"may not be more than {limit} bytes"
            if col.version.at_least(32)
            else f"must have at most {limit} bytes"
        )
        col.too_long(
            "metadata.annotations",
            detail,
            f"the annotations hold {total} bytes of keys and values: keep large data in a "
            "ConfigMap (or a file) and annotate with a reference to it",
        )


def _example_name(kind: str) -> str:
    return {
        "NetworkPolicy": "allow-web",
        "Namespace": "team-a",
        "Pod": "web",
        "Service": "web",
        "Deployment": "web",
    }.get(kind, "web")


def _name_hint(kind: str, value: str, name_check: NameCheck, *, prefix: bool) -> str:
    what = "generateName" if prefix else "name"
    if name_check is service_name:
        rule = (
            "a Service name is at most 63 lower-case letters, digits and '-', starting "
            "with a letter and ending with a letter or digit"
        )
        suggestion = suggest_name(value, label=True)
        if suggestion and not suggestion[0].isalpha():
            suggestion = ""
    elif name_check is label_name:
        rule = (
            f"a {kind} {what} is at most 63 lower-case letters, digits and '-', starting "
            "and ending with a letter or digit (no dots)"
        )
        suggestion = suggest_name(value, label=True)
    else:
        rule = (
            f"a {kind} {what} is at most 253 lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
        suggestion = suggest_name(value)
    if prefix:
        return rule + " (a trailing '-' is allowed)"
    return f"{rule}: rename it, e.g. to {suggestion}" if suggestion else rule


def _namespace_hint(value: str) -> str:
    suggestion = suggest_name(value, label=True)
    rule = (
        "a namespace name is at most 63 lower-case letters, digits and '-', starting and "
        "ending with a letter or digit (no dots, no upper case)"
    )
    return f"{rule}: e.g. {suggestion}" if suggestion else rule
