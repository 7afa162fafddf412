"""Validation of Role, ClusterRole, RoleBinding and ClusterRoleBinding.

Follows ``pkg/apis/rbac/validation/validation.go`` after the v1 defaults
(``pkg/apis/rbac/v1/defaults.go``: a binding's ``roleRef.apiGroup`` and a User or Group
subject's ``apiGroup`` default to ``rbac.authorization.k8s.io``):

* names: ``ValidateRBACName`` (``path.IsValidPathSegmentName``: not ``.`` or ``..``, no ``/``
  or ``%``);
* ``ValidatePolicyRule``: ``verbs`` required; a rule with ``nonResourceURLs`` may not be in
  a Role nor name resources; a resource rule needs ``apiGroups`` and ``resources``;
* ``ValidateRoleBinding``/``ValidateClusterRoleBinding``: ``roleRef.apiGroup`` is the RBAC
  group, ``roleRef.kind`` Role or ClusterRole (a ClusterRoleBinding: ClusterRole only),
  ``roleRef.name`` required;
* ``ValidateRoleBindingSubject``: ``name`` required; ServiceAccount names are DNS subdomains,
  have no ``apiGroup`` and, in a ClusterRoleBinding, need ``namespace``; User and Group have
  the RBAC ``apiGroup``; no other kind.
* ClusterRole ``aggregationRule.clusterRoleSelectors`` needs at least one selector.
"""

from __future__ import annotations

from typing import Any

from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
    as_list,
    as_mapping,
    as_string,
    as_string_list,
    check_fields,
    child,
    index,
)
from labkit.model.validation.metadata import check_meta, decode_meta
from labkit.model.validation.names import is_dns1123_subdomain
from labkit.model.validation.version import KubeVersion

RBAC_GROUP = "rbac.authorization.k8s.io"
TOP_FIELDS = {
    "Role": ("apiVersion", "kind", "metadata", "rules"),
    "ClusterRole": ("apiVersion", "kind", "metadata", "rules", "aggregationRule"),
    "RoleBinding": ("apiVersion", "kind", "metadata", "subjects", "roleRef"),
    "ClusterRoleBinding": ("apiVersion", "kind", "metadata", "subjects", "roleRef"),
}
RULE_FIELDS = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")
SUBJECT_FIELDS = ("kind", "apiGroup", "name", "namespace")
ROLE_REF_FIELDS = ("apiGroup", "kind", "name")
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def rbac_name(name: str, version: KubeVersion) -> list[str]:
    """``path.IsValidPathSegmentName``."""
    for illegal in (".", ".."):
        if name == illegal:
            return [f"may not be '{illegal}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def check_rbac_object(col: Collector, kind: str, data: dict[str, Any]) -> None:
    """Decode and validate one RBAC object (``kind`` is one of :data:`TOP_FIELDS`)."""
    check_fields(col, data, TOP_FIELDS[kind], "", kind, _home)
    meta = decode_meta(col, data.get("metadata"))
    namespaced = kind in ("Role", "RoleBinding")
    check_meta(col, meta, rbac_name, namespaced=namespaced, kind=kind)
    if kind in ("Role", "ClusterRole"):
        rules = as_list(col, data.get("rules"), "rules", "rules") or []
        for i, raw in enumerate(rules):
            _check_rule(col, raw, index("rules", i), namespaced)
        if kind == "ClusterRole" and data.get("aggregationRule") is not None:
            _check_aggregation(col, data.get("aggregationRule"))
        return
    _check_role_ref(col, kind, data.get("roleRef"))
    subjects = as_list(col, data.get("subjects"), "subjects", "subjects") or []
    for i, raw in enumerate(subjects):
        _check_subject(col, raw, index("subjects", i), namespaced)


def _home(key: str) -> str:
    if key in RULE_FIELDS:
        return "rules[] (a list of rules, each with verbs, apiGroups and resources)"
    if key in ("name", "namespace", "labels", "annotations"):
        return "metadata"
    return ""


def _strings(col: Collector, value: Any, path: str) -> list[str]:
    return [s for s in as_string_list(col, value, path, path) or [] if s is not None]


def _check_rule(col: Collector, raw: Any, path: str, namespaced: bool) -> None:
    data = as_mapping(col, raw, path, "a policy rule") or {}
    check_fields(col, data, RULE_FIELDS, path, "PolicyRule")
    verbs = _strings(col, data.get("verbs"), child(path, "verbs"))
    groups = _strings(col, data.get("apiGroups"), child(path, "apiGroups"))
    resources = _strings(col, data.get("resources"), child(path, "resources"))
    names = _strings(col, data.get("resourceNames"), child(path, "resourceNames"))
    urls = _strings(col, data.get("nonResourceURLs"), child(path, "nonResourceURLs"))
    if not verbs:
        col.required(
            child(path, "verbs"),
            "verbs must contain at least one value",
            'list what the rule allows, e.g. verbs: ["get", "list", "watch"]',
        )
    if urls:
        shown = "[" + " ".join(urls) + "]"
        if namespaced:
            col.invalid_rendered(
                child(path, "nonResourceURLs"),
                shown,
                "namespaced rules cannot apply to non-resource URLs",
                "non-resource URLs (like /healthz) belong in a ClusterRole",
            )
        if groups or resources or names:
            col.invalid_rendered(
                child(path, "nonResourceURLs"),
                shown,
                "rules cannot apply to both regular resources and non-resource URLs",
                "split this into two rules: one with resources, one with nonResourceURLs",
            )
        return
    if not groups:
        col.required(
            child(path, "apiGroups"),
            "resource rules must supply at least one api group",
            'name the API group of the resources: "" for pods and namespaces, '
            '"networking.k8s.io" for networkpolicies (kubectl api-resources lists them)',
        )
    if not resources:
        col.required(
            child(path, "resources"),
            "resource rules must supply at least one resource",
            "name the resources in plural, e.g. resources: [networkpolicies] (a subresource as "
            "pods/exec)",
        )


def _check_aggregation(col: Collector, raw: Any) -> None:
    data = as_mapping(col, raw, "aggregationRule", "an aggregation rule") or {}
    check_fields(col, data, ("clusterRoleSelectors",), "aggregationRule", "AggregationRule")
    selectors = as_list(col, data.get("clusterRoleSelectors"), "aggregationRule", "") or []
    if not selectors:
        col.required(
            "aggregationRule.clusterRoleSelectors",
            "at least one clusterRoleSelector required if aggregationRule is non-nil",
            "add a selector, e.g. clusterRoleSelectors: [{matchLabels: {team: a}}], "
            "or remove aggregationRule",
        )


def _check_role_ref(col: Collector, kind: str, raw: Any) -> None:
    data = as_mapping(col, raw, "roleRef", "a role reference") or {}
    check_fields(col, data, ROLE_REF_FIELDS, "roleRef", "RoleRef")
    group = as_string(col, data.get("apiGroup"), "roleRef.apiGroup") or RBAC_GROUP
    ref_kind = as_string(col, data.get("kind"), "roleRef.kind") or ""
    name = as_string(col, data.get("name"), "roleRef.name") or ""
    if group != RBAC_GROUP:
        col.not_supported(
            "roleRef.apiGroup", group, (RBAC_GROUP,), f"write roleRef.apiGroup: {RBAC_GROUP}"
        )
    kinds = ("Role", "ClusterRole") if kind == "RoleBinding" else ("ClusterRole",)
    if ref_kind not in kinds:
        col.not_supported(
            "roleRef.kind",
            ref_kind,
            kinds,
            "a RoleBinding refers to a Role of its namespace or a ClusterRole; a "
            "ClusterRoleBinding only to a ClusterRole",
        )
    if not name:
        col.required("roleRef.name", "", "name the role this binding grants")
    for msg in rbac_name(name, col.version) if name else []:
        col.invalid("roleRef.name", name, msg, "use the role's metadata.name")


def _check_subject(col: Collector, raw: Any, path: str, namespaced: bool) -> None:
    data = as_mapping(col, raw, path, "a subject") or {}
    check_fields(col, data, SUBJECT_FIELDS, path, "Subject")
    kind = as_string(col, data.get("kind"), child(path, "kind")) or ""
    name = as_string(col, data.get("name"), child(path, "name")) or ""
    group = as_string(col, data.get("apiGroup"), child(path, "apiGroup")) or ""
    namespace = as_string(col, data.get("namespace"), child(path, "namespace")) or ""
    if not name:
        col.required(child(path, "name"), "", "name the user, group or service account")
    if kind == "ServiceAccount":
        for msg in is_dns1123_subdomain(name, col.version) if name else []:
            col.invalid(child(path, "name"), name, msg, "use the ServiceAccount's metadata.name")
        if group:
            col.not_supported(
                child(path, "apiGroup"),
                group,
                ("",),
                "a ServiceAccount subject has no apiGroup: remove it",
            )
        if not namespaced and not namespace:
            col.required(
                child(path, "namespace"),
                "",
                "a ClusterRoleBinding must say the ServiceAccount's namespace",
            )
    elif kind in ("User", "Group"):
        if (group or RBAC_GROUP) != RBAC_GROUP:
            col.not_supported(
                child(path, "apiGroup"),
                group,
                (RBAC_GROUP,),
                f"write apiGroup: {RBAC_GROUP} (or leave it out)",
            )
    else:
        col.not_supported(
            child(path, "kind"),
            kind,
            SUBJECT_KINDS,
            "a subject is a User, a Group or a ServiceAccount (capitalised)",
        )
