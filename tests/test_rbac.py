"""RBAC as the API server decides it (labkit.model.rbac), its validation, and can-i on the
simulated cluster. Upstream: plugin/pkg/auth/authorizer/rbac/rbac.go (RuleAllows),
pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches, APIGroupMatches, ResourceMatches,
ResourceNameMatches), pkg/registry/rbac/validation/rule.go (VisitRulesFor, appliesToUser),
pkg/apis/rbac/validation/validation.go, and the impersonation filter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from labkit.cluster.auth import Question, can_i
from labkit.cluster.simulated import SimulatedCluster, base_objects
from labkit.errors import LabkitError, ManifestError
from labkit.model.api_resources import parse_target
from labkit.model.loader import RawObject, load_paths
from labkit.model.rbac import (
    Policy,
    PolicyRule,
    Request,
    Requester,
    Subject,
    applies_to,
    resource_matches,
    rule_allows,
)
from labkit.model.validation import validate_objects

SAMPLE = Path(__file__).resolve().parents[1] / "clusters" / "rbac" / "team-policy-editor.yaml"
RBAC = "rbac.authorization.k8s.io/v1"


def role(name: str, namespace: str | None, *rules: dict[str, Any]) -> RawObject:
    kind = "Role" if namespace else "ClusterRole"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return RawObject(
        {"apiVersion": RBAC, "kind": kind, "metadata": meta, "rules": list(rules)}, "test"
    )


def binding(
    name: str, namespace: str | None, role_kind: str, role_name: str, *subjects: dict[str, str]
) -> RawObject:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return RawObject(
        {
            "apiVersion": RBAC,
            "kind": kind,
            "metadata": meta,
            "subjects": list(subjects),
            "roleRef": {"apiGroup": RBAC.split("/")[0], "kind": role_kind, "name": role_name},
        },
        "test",
    )


def user(name: str) -> dict[str, str]:
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def group(name: str) -> dict[str, str]:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def sa(name: str, namespace: str = "") -> dict[str, str]:
    return {
        "kind": "ServiceAccount",
        "name": name,
        **({"namespace": namespace} if namespace else {}),
    }


NETPOL_EDIT = {
    "apiGroups": ["networking.k8s.io"],
    "resources": ["networkpolicies"],
    "verbs": ["get", "list", "create", "update", "patch", "delete"],
}


# --- the matching helpers (evaluation_helpers.go) --------------------------------------------
@pytest.mark.parametrize(
    ("rule", "request_", "allowed"),
    [
        # VerbMatches: exact or "*"
        (PolicyRule(("get",), ("",), ("pods",)), Request("get", "pods"), True),
        (PolicyRule(("get",), ("",), ("pods",)), Request("list", "pods"), False),
        (PolicyRule(("*",), ("",), ("pods",)), Request("deletecollection", "pods"), True),
        # APIGroupMatches: "" is the core group only; "*" any group
        (
            PolicyRule(("get",), ("",), ("networkpolicies",)),
            Request("get", "networkpolicies", "networking.k8s.io"),
            False,
        ),
        (
            PolicyRule(("get",), ("*",), ("networkpolicies",)),
            Request("get", "networkpolicies", "networking.k8s.io"),
            True,
        ),
        (PolicyRule(("get",), ("networking.k8s.io",), ("pods",)), Request("get", "pods"), False),
        # ResourceMatches: pods does not cover pods/exec; pods/exec and */exec do; * does
        (
            PolicyRule(("create",), ("",), ("pods",)),
            Request("create", "pods", subresource="exec"),
            False,
        ),
        (
            PolicyRule(("create",), ("",), ("pods/exec",)),
            Request("create", "pods", subresource="exec"),
            True,
        ),
        (
            PolicyRule(("create",), ("",), ("*/exec",)),
            Request("create", "pods", subresource="exec"),
            True,
        ),
        (PolicyRule(("create",), ("",), ("*/exec",)), Request("create", "pods"), False),
        (PolicyRule(("create",), ("",), ("pods/exec",)), Request("create", "pods"), False),
        (
            PolicyRule(("create",), ("",), ("*",)),
            Request("create", "pods", subresource="exec"),
            True,
        ),
        # ResourceNameMatches: an empty list matches any name; else the name must be listed
        (
            PolicyRule(("patch",), ("",), ("namespaces",), ("team-a",)),
            Request("patch", "namespaces", name="team-a"),
            True,
        ),
        (
            PolicyRule(("patch",), ("",), ("namespaces",), ("team-a",)),
            Request("patch", "namespaces", name="team-b"),
            False,
        ),
        (
            PolicyRule(("list",), ("",), ("namespaces",), ("team-a",)),
            Request("list", "namespaces"),
            False,
        ),
        # NonResourceURLMatches: exact, "*", or a prefix*
        (
            PolicyRule(("get",), non_resource_urls=("/healthz",)),
            Request("get", path="/healthz"),
            True,
        ),
        (PolicyRule(("get",), non_resource_urls=("/api/*",)), Request("get", path="/api/v1"), True),
        (PolicyRule(("get",), non_resource_urls=("/api",)), Request("get", path="/apis"), False),
        (PolicyRule(("get",), ("",), ("pods",)), Request("get", path="/healthz"), False),
    ],
)
def test_rule_allows(rule: PolicyRule, request_: Request, allowed: bool) -> None:
    assert rule_allows(request_, rule) is allowed


def test_star_subresource_rule_needs_the_same_subresource() -> None:
    rule = PolicyRule(("get",), ("",), ("*/log",))
    assert resource_matches(rule, "pods/log", "log")
    assert not resource_matches(rule, "pods/exec", "exec")


# --- subjects (appliesToUser) and impersonation ----------------------------------------------
@pytest.mark.parametrize(
    ("requester", "subject", "binding_namespace", "applies"),
    [
        (Requester("alice"), Subject("User", "alice"), "", True),
        (Requester("alice"), Subject("User", "Alice"), "", False),  # names are case-sensitive
        (Requester("bob", ("team-a",)), Subject("Group", "team-a"), "", True),
        (Requester("team-a"), Subject("Group", "team-a"), "", False),  # a user is not a group
        # a RoleBinding's service account without namespace is the binding's namespace
        (
            Requester("system:serviceaccount:team-a:bot"),
            Subject("ServiceAccount", "bot"),
            "team-a",
            True,
        ),
        (
            Requester("system:serviceaccount:team-b:bot"),
            Subject("ServiceAccount", "bot"),
            "team-a",
            False,
        ),
        # ... and in a ClusterRoleBinding (no namespace) it applies to nobody
        (
            Requester("system:serviceaccount:team-a:bot"),
            Subject("ServiceAccount", "bot"),
            "",
            False,
        ),
        (
            Requester("system:serviceaccount:team-a:bot"),
            Subject("ServiceAccount", "bot", "team-a"),
            "",
            True,
        ),
        (Requester("bot"), Subject("ServiceAccount", "bot", "team-a"), "", False),
        (Requester("alice"), Subject("Robot", "alice"), "", False),
    ],
)
def test_applies_to(
    requester: Requester, subject: Subject, binding_namespace: str, applies: bool
) -> None:
    assert applies_to(requester, subject, binding_namespace) is applies


@pytest.mark.parametrize(
    ("user_name", "groups", "expected"),
    [
        ("alice", (), ("system:authenticated",)),
        ("alice", ("team-a",), ("team-a", "system:authenticated")),
        (
            "system:serviceaccount:team-a:bot",
            (),
            ("system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"),
        ),
        # groups given with --as-group replace the service account's groups
        ("system:serviceaccount:team-a:bot", ("ci",), ("ci", "system:authenticated")),
        ("system:anonymous", (), ("system:unauthenticated",)),
        ("alice", ("system:unauthenticated",), ("system:unauthenticated",)),
        ("alice", ("system:authenticated",), ("system:authenticated",)),
    ],
)
def test_impersonated_groups(
    user_name: str, groups: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert Requester.impersonated(user_name, groups).groups == expected


# --- the authorizer (rbac.go, rule.go) --------------------------------------------------------
CLUSTER_POLICY = Policy.from_objects(
    [
        role("netpol-editor", "team-a", NETPOL_EDIT),
        binding("team-a-editors", "team-a", "Role", "netpol-editor", group("team-a")),
        role("netpol-editor", "team-b", NETPOL_EDIT),
        # a RoleBinding to a ClusterRole grants its rules in the binding's namespace only
        role("pod-reader", None, {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}),
        binding("carol-reads", "team-b", "ClusterRole", "pod-reader", user("carol")),
        # a ClusterRoleBinding grants everywhere
        role("ns-viewer", None, {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}),
        binding("everyone-views", None, "ClusterRole", "ns-viewer", group("system:authenticated")),
        binding(
            "sa-reads",
            "team-b",
            "ClusterRole",
            "pod-reader",
            group("system:serviceaccounts:team-b"),
        ),
        # a binding to a role that does not exist grants nothing
        binding("dangling", "team-a", "Role", "missing", user("dave")),
        # a RoleBinding may only use a Role of its own namespace
        binding("cross", "team-b", "Role", "netpol-editor", user("erin")),
        role(
            "exec", "team-a", {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}
        ),
        binding("frank-exec", "team-a", "Role", "exec", user("frank")),
    ]
)


@pytest.mark.parametrize(
    ("who", "groups", "request_", "allowed", "by"),
    [
        (
            "alice",
            ("team-a",),
            Request("patch", "networkpolicies", "networking.k8s.io", namespace="team-a"),
            True,
            "RoleBinding team-a/team-a-editors",
        ),
        (
            "alice",
            ("team-a",),
            Request("patch", "networkpolicies", "networking.k8s.io", namespace="team-b"),
            False,
            None,
        ),
        (
            "alice",
            (),
            Request("patch", "networkpolicies", "networking.k8s.io", namespace="team-a"),
            False,
            None,
        ),  # deny by default: not in the group
        (
            "carol",
            (),
            Request("get", "pods", namespace="team-b"),
            True,
            "RoleBinding team-b/carol-reads",
        ),
        ("carol", (), Request("get", "pods", namespace="team-a"), False, None),
        ("carol", (), Request("get", "pods"), False, None),  # cluster-wide: no RoleBinding counts
        (
            "anyone",
            (),
            Request("get", "namespaces", name="team-a"),
            True,
            "ClusterRoleBinding everyone-views",
        ),
        ("anyone", (), Request("patch", "namespaces", name="team-a"), False, None),
        (
            "system:serviceaccount:team-b:ci",
            (),
            Request("get", "pods", namespace="team-b"),
            True,
            "RoleBinding team-b/sa-reads",
        ),
        (
            "system:serviceaccount:team-a:ci",
            (),
            Request("get", "pods", namespace="team-b"),
            False,
            None,
        ),
        ("dave", (), Request("get", "pods", namespace="team-a"), False, None),
        (
            "erin",
            (),
            Request("patch", "networkpolicies", "networking.k8s.io", namespace="team-b"),
            True,
            "RoleBinding team-b/cross",
        ),
        (
            "erin",
            (),
            Request("patch", "networkpolicies", "networking.k8s.io", namespace="team-a"),
            False,
            None,
        ),
        (
            "frank",
            (),
            Request("create", "pods", subresource="exec", namespace="team-a"),
            True,
            "RoleBinding team-a/frank-exec",
        ),
        ("frank", (), Request("create", "pods", namespace="team-a"), False, None),
    ],
)
def test_authorize(
    who: str, groups: tuple[str, ...], request_: Request, allowed: bool, by: str | None
) -> None:
    decision = CLUSTER_POLICY.authorize(Requester.impersonated(who, groups), request_)
    assert decision.allowed is allowed
    assert (decision.binding.title if decision.binding else None) == by
    if not allowed:
        assert "denies by default" in decision.reason


def test_missing_role_is_reported_and_grants_nothing() -> None:
    decision = CLUSTER_POLICY.authorize(
        Requester("dave"), Request("get", "pods", namespace="team-a")
    )
    assert not decision.allowed
    assert any("Role missing" in p and "does not exist" in p for p in decision.problems)


def test_later_object_of_the_same_name_replaces_the_earlier() -> None:
    policy = Policy.from_objects(
        [
            role("r", "team-a", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}),
            role("r", "team-a", {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}),
            binding("b", "team-a", "Role", "r", user("u")),
        ]
    )
    ask = Requester("u")
    assert not policy.authorize(ask, Request("get", "pods", namespace="team-a")).allowed
    assert policy.authorize(ask, Request("list", "pods", namespace="team-a")).allowed


def test_malformed_rules_raise_a_manifest_error_with_the_field() -> None:
    raw = RawObject(
        {
            "apiVersion": RBAC,
            "kind": "Role",
            "metadata": {"name": "r"},
            "rules": [{"verbs": "get"}],
        },
        "r.yaml",
    )
    with pytest.raises(ManifestError, match=r"rules\[0\]\.verbs"):
        Policy.from_objects([raw])


# --- kubectl's resource names ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "plural", "group", "name", "namespaced"),
    [
        ("networkpolicies", "networkpolicies", "networking.k8s.io", "", True),
        ("netpol", "networkpolicies", "networking.k8s.io", "", True),
        ("NetworkPolicy", "networkpolicies", "networking.k8s.io", "", True),
        ("networkpolicies.networking.k8s.io", "networkpolicies", "networking.k8s.io", "", True),
        ("ns/team-a", "namespaces", "", "team-a", False),
        ("pods/exec", "pods", "", "exec", True),  # kubectl: the pod named exec
        ("deploy", "deployments", "apps", "", True),
        ("widgets.example.com", "widgets", "example.com", "", True),
    ],
)
def test_parse_target(text: str, plural: str, group: str, name: str, namespaced: bool) -> None:
    target = parse_target(text)
    assert (target.resource.plural, target.resource.group, target.name) == (plural, group, name)
    assert target.resource.namespaced is namespaced


# --- validation (pkg/apis/rbac/validation) ------------------------------------------------------
def _errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    errors, _ = validate_objects([RawObject(data, "rbac.yaml")])
    return [(e.field, e.type) for e in errors]


GOOD_ROLE = {
    "apiVersion": RBAC,
    "kind": "Role",
    "metadata": {"name": "r", "namespace": "a"},
    "rules": [NETPOL_EDIT],
}
GOOD_BINDING = {
    "apiVersion": RBAC,
    "kind": "RoleBinding",
    "metadata": {"name": "b"},
    "subjects": [group("g")],
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (GOOD_ROLE, []),
        (GOOD_BINDING, []),
        (
            _with(GOOD_ROLE, rules=[{"apiGroups": [""], "resources": ["pods"]}]),
            [("rules[0].verbs", "Required value")],
        ),
        (
            _with(GOOD_ROLE, rules=[{"verbs": ["get"], "resources": ["pods"]}]),
            [("rules[0].apiGroups", "Required value")],
        ),
        (
            _with(GOOD_ROLE, rules=[{"verbs": ["get"], "apiGroups": [""]}]),
            [("rules[0].resources", "Required value")],
        ),
        (
            _with(GOOD_ROLE, rules=[{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]),
            [("rules[0].nonResourceURLs", "Invalid value")],
        ),
        (
            _with(GOOD_ROLE, rules=[{"verb": ["get"], "apiGroups": [""], "resources": ["pods"]}]),
            [("rules[0].verb", "Unknown field"), ("rules[0].verbs", "Required value")],
        ),
        (_with(GOOD_ROLE, spec={}), [("spec", "Unknown field")]),
        (_with(GOOD_ROLE, metadata={"name": "a/b"}), [("metadata.name", "Invalid value")]),
        (_with(GOOD_ROLE, apiVersion="v1"), [("apiVersion", "Invalid value")]),
        (_with(GOOD_BINDING, roleRef={"kind": "Role"}), [("roleRef.name", "Required value")]),
        (
            _with(GOOD_BINDING, roleRef={"kind": "Rol", "name": "r"}),
            [("roleRef.kind", "Unsupported value")],
        ),
        (
            _with(GOOD_BINDING, roleRef={"apiGroup": "rbac", "kind": "Role", "name": "r"}),
            [("roleRef.apiGroup", "Unsupported value")],
        ),
        (
            _with(GOOD_BINDING, subjects=[{"kind": "user", "name": "u"}]),
            [("subjects[0].kind", "Unsupported value")],
        ),
        (
            _with(GOOD_BINDING, subjects=[{"kind": "User"}]),
            [("subjects[0].name", "Required value")],
        ),
        (_with(GOOD_BINDING, subjects=[{"kind": "User", "name": "u"}]), []),  # apiGroup defaults
        (_with(GOOD_BINDING, subjects=[sa("Bot")]), [("subjects[0].name", "Invalid value")]),
        (
            _with(GOOD_BINDING, subjects=[{**sa("bot"), "apiGroup": "rbac.authorization.k8s.io"}]),
            [("subjects[0].apiGroup", "Unsupported value")],
        ),
        (
            _with(
                GOOD_BINDING,
                kind="ClusterRoleBinding",
                subjects=[sa("bot")],
                roleRef={"kind": "ClusterRole", "name": "c"},
            ),
            [("subjects[0].namespace", "Required value")],
        ),
        (_with(GOOD_BINDING, kind="ClusterRoleBinding"), [("roleRef.kind", "Unsupported value")]),
        (
            {
                "apiVersion": RBAC,
                "kind": "ClusterRole",
                "metadata": {"name": "c"},
                "aggregationRule": {"clusterRoleSelectors": []},
            },
            [("aggregationRule.clusterRoleSelectors", "Required value")],
        ),
    ],
)
def test_validation(data: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert _errors(data) == expected


def test_sample_manifest_is_valid() -> None:
    errors, warnings = validate_objects(load_paths([SAMPLE]))
    assert errors == [] and warnings == []


# --- the simulated cluster applies RBAC objects and answers can-i ------------------------------
@pytest.fixture
def lab() -> SimulatedCluster:
    cluster = SimulatedCluster.in_memory(base_objects())
    cluster.apply(SAMPLE)
    return cluster


def test_applied_rbac_objects_are_stored(lab: SimulatedCluster) -> None:
    kinds = {(r.kind, r.name) for r in lab.raw_objects()}
    assert {
        ("Role", "policy-editor"),
        ("ClusterRoleBinding", "segment-team-namespace-viewers"),
    } <= kinds


def test_invalid_rbac_object_is_not_applied(lab: SimulatedCluster) -> None:
    from labkit.errors import ValidationFailed

    bad = _with(GOOD_ROLE, metadata={"name": "x", "namespace": "my-segment"}, rules=[{}])
    with pytest.raises(ValidationFailed, match=r"rules\[0\]\.verbs"):
        lab.apply(bad)
    assert "x" not in {r.name for r in lab.raw_objects() if r.kind == "Role"}


@pytest.mark.parametrize(
    ("verb", "resource", "namespace", "who", "groups", "subresource", "allowed"),
    [
        ("patch", "networkpolicies", "my-segment", "alice", ("segment-team",), "", True),
        ("delete", "netpol", "my-segment", "alice", ("segment-team",), "", True),
        ("patch", "networkpolicies", "trusted", "alice", ("segment-team",), "", False),
        ("patch", "networkpolicies", None, "alice", ("segment-team",), "", False),  # default ns
        ("list", "namespaces", None, "alice", ("segment-team",), "", True),
        ("patch", "namespaces/my-segment", None, "alice", ("segment-team",), "", False),
        ("patch", "namespaces", "my-segment", "alice", ("segment-team",), "", False),
        ("create", "pods", "my-segment", "alice", ("segment-team",), "exec", False),
        ("get", "pods", "my-segment", "alice", ("segment-team",), "", True),
        ("patch", "networkpolicies", "my-segment", "alice", (), "", False),
        (
            "create",
            "networkpolicies",
            "my-segment",
            "system:serviceaccount:my-segment:policy-bot",
            (),
            "",
            True,
        ),
        (
            "create",
            "networkpolicies",
            "trusted",
            "system:serviceaccount:trusted:policy-bot",
            (),
            "",
            False,
        ),
    ],
)
def test_can_i_on_the_simulated_cluster(
    lab: SimulatedCluster,
    verb: str,
    resource: str,
    namespace: str | None,
    who: str,
    groups: tuple[str, ...],
    subresource: str,
    allowed: bool,
) -> None:
    answer = can_i(lab, Question(verb, resource, namespace, who, groups, subresource))
    assert answer.allowed is allowed
    assert answer.backend == "simulated"


def test_can_i_shows_the_kubectl_command() -> None:
    question = Question(
        "create", "pods", "team-a", "system:serviceaccount:team-a:ci", ("ci", "ops"), "exec"
    )
    assert question.kubectl_command == (
        "kubectl auth can-i create pods --subresource exec -n team-a --as "
        "system:serviceaccount:team-a:ci --as-group ci --as-group ops"
    )


def test_can_i_needs_a_user() -> None:
    with pytest.raises(LabkitError, match="--as USER"):
        Question("get", "pods", as_user="")


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (
            PolicyRule(("get", "patch"), ("networking.k8s.io",), ("networkpolicies",)),
            "resources [networkpolicies.networking.k8s.io] verbs [get patch]",
        ),
        (
            PolicyRule(("patch",), ("",), ("namespaces",), ("team-a",)),
            "resources [namespaces] resourceNames [team-a] verbs [patch]",
        ),
        (
            PolicyRule(("get",), non_resource_urls=("/healthz",)),
            "nonResourceURLs [/healthz] verbs [get]",
        ),
    ],
)
def test_rule_is_shown_as_kubectl_describe_lists_it(rule: PolicyRule, text: str) -> None:
    assert str(rule) == text
