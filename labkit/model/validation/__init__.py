"""Validation with Kubernetes API-server parity.

``validate_objects`` answers "would ``kubectl create -f`` accept these objects?" the way the
API server of a given Kubernetes version (default 1.36, the lab's pin) would: each finding is an
:class:`~labkit.errors.Issue` whose ``message`` is the API server's own text
(``spec.ingress[0].ports[0].protocol: Unsupported value: "tcp": supported values: "TCP",
"UDP", "SCTP"``), in the API server's order, plus a ``hint`` saying how to fix it.

Modules: :mod:`.version` (version splits), :mod:`.names`, :mod:`.labels`, :mod:`.selectors`,
:mod:`.cidr`, :mod:`.network_policy`, :mod:`.pods`, :mod:`.rbac`, :mod:`.metadata`,
:mod:`.objects`;
:mod:`.decode`, :mod:`.collector` and :mod:`.rendered` hold the shared plumbing. No input makes
these functions raise anything but :class:`~labkit.errors.LabkitError` (for an unparseable
``kubernetes_version``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labkit.errors import Issue
from labkit.model.loader import RawObject
from labkit.model.unevaluated import unevaluated_kind
from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import as_string_map
from labkit.model.validation.labels import check_labels
from labkit.model.validation.objects import API_VERSIONS, validate_object
from labkit.model.validation.policy_decode import default_network_policy, default_policy_spec
from labkit.model.validation.version import (
    DEFAULT_KUBERNETES_VERSION,
    KubeVersion,
    parse_version,
)

__all__ = [
    "API_VERSIONS",
    "DEFAULT_KUBERNETES_VERSION",
    "KubeVersion",
    "default_network_policy",
    "default_policy_spec",
    "parse_version",
    "validate_labels",
    "validate_object_issues",
    "validate_objects",
    "validate_policy",
]


def validate_object_issues(raw: RawObject, version: KubeVersion) -> tuple[list[Issue], list[Issue]]:
    """``(errors, warnings)`` for one object."""
    data: Any = raw.data
    if isinstance(data, dict):
        col = Collector.for_object(raw, version)
        validate_object(col, raw)
        return col.errors, col.warnings
    col = Collector(raw.location, raw.title, version)
    col.wrong_type(
        "",
        data,
        "a mapping",
        "each document must be a mapping with apiVersion, kind and metadata",
    )
    return col.errors, col.warnings


def validate_objects(
    objects: Sequence[RawObject], *, kubernetes_version: str | None = None
) -> tuple[list[Issue], list[Issue]]:
    """Validate every object as the API server of ``kubernetes_version`` would on create.

    Returns ``(errors, warnings)``: objects in input order, each object's errors in the API
    server's order. Warnings are the API server's (non-standard CIDR values of an accepted
    policy; from 1.36 only non-canonical IPv6) and labkit's (a StatefulSet whose pods would be
    rejected, ``endPort`` dropped by 1.21).
    """
    version = parse_version(kubernetes_version)
    errors: list[Issue] = []
    warnings: list[Issue] = []
    for raw in objects:
        if unevaluated_kind(raw) is not None:
            continue  # Calico's or the admin policy API: not labkit's to validate or evaluate
        found, warned = validate_object_issues(raw, version)
        errors += found
        warnings += warned
    return errors, warnings


def validate_policy(
    policy: Mapping[str, Any],
    *,
    kubernetes_version: str | None = DEFAULT_KUBERNETES_VERSION,
    file: str = "",
    object: str = "",
) -> list[Issue]:
    """The errors of one NetworkPolicy object (a dict as written in a manifest).

    The object is validated as a NetworkPolicy whatever its ``kind`` says; warnings are not
    returned (see :func:`validate_objects`).
    """
    version = parse_version(kubernetes_version)
    data = dict(policy) if isinstance(policy, Mapping) else {}
    data["kind"] = "NetworkPolicy"
    raw = RawObject(data, file)
    col = Collector(file, object or raw.title, version)
    if not isinstance(policy, Mapping):
        col.wrong_type("", policy, "a mapping", "pass the NetworkPolicy as a dict")
        return col.errors
    validate_object(col, raw)
    return col.errors


def validate_labels(
    labels: Mapping[str, str],
    field: str,
    *,
    file: str,
    object: str,
    kubernetes_version: str | None = None,
) -> list[Issue]:
    """``ValidateLabels`` for a label map (e.g. labels set with ``LabCluster.label``)."""
    col = Collector(file, object, parse_version(kubernetes_version))
    decoded = as_string_map(
        col, dict(labels) if isinstance(labels, Mapping) else labels, field, "label"
    )
    check_labels(col, decoded, field)
    return col.errors
