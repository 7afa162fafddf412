"""RBAC as the Kubernetes API server decides it: who may do what, and which rule says so.

Pure data and evaluation over raw ``rbac.authorization.k8s.io/v1`` objects (Role, ClusterRole,
RoleBinding, ClusterRoleBinding). The upstream behaviour followed, file by file:

* ``plugin/pkg/auth/authorizer/rbac/rbac.go``: ``RBACAuthorizer.Authorize`` visits every rule
  that applies to the user and allows on the first rule ``RuleAllows`` accepts; nothing else
  allows (deny by default: RBAC has no deny rules, it answers "no opinion" and the request is
  forbidden). ``RuleAllows`` combines the request's resource and subresource as
  ``resource/subresource`` and needs the verb, API group, resource and resource name to match.
* ``pkg/apis/rbac/v1/evaluation_helpers.go``: ``VerbMatches``, ``APIGroupMatches``,
  ``ResourceMatches`` (``*``, an exact ``resource/subresource``, or ``*/subresource``),
  ``ResourceNameMatches`` (an empty list matches every name), ``NonResourceURLMatches``.
* ``pkg/registry/rbac/validation/rule.go``: ``VisitRulesFor`` visits ClusterRoleBindings
  first, then the RoleBindings of the request's namespace (none for a cluster-scoped
  request); ``GetRoleReferenceRules`` resolves a binding's ``roleRef`` (a RoleBinding may
  refer to a ClusterRole: its rules then apply only in the binding's namespace); a missing
  role grants nothing. ``appliesToUser``: User by name, Group by membership, ServiceAccount
  as ``system:serviceaccount:NS:NAME`` (a RoleBinding's subject without a namespace means the
  binding's namespace).
* ``staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go`` (``--as``,
  ``--as-group``): an impersonated service account gets ``system:serviceaccounts`` and
  ``system:serviceaccounts:NS`` when no group is given; every user but
  ``system:anonymous`` gets ``system:authenticated`` (unless ``system:unauthenticated`` was
  given), and ``system:anonymous`` gets ``system:unauthenticated``.

ClusterRole aggregation (``aggregationRule``) is not evaluated: the API server's controller
fills the aggregated role's rules; an aggregated role read here has the rules it was given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import ManifestError
from labkit.model.loader import RawObject

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = f"{RBAC_GROUP}/v1"
ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
RBAC_KINDS = (*ROLE_KINDS, *BINDING_KINDS)
ALL = "*"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
AUTHENTICATED_GROUP = "system:authenticated"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
ANONYMOUS_USER = "system:anonymous"


@dataclass(frozen=True)
class PolicyRule:
    """One ``rules[i]`` of a Role or ClusterRole."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def __str__(self) -> str:
        """As ``kubectl describe role`` lists a rule: resources qualified by their group."""
        verbs = f"verbs [{' '.join(self.verbs)}]"
        if self.non_resource_urls:
            return f"nonResourceURLs [{' '.join(self.non_resource_urls)}] {verbs}"
        resources = [
            f"{resource}.{group}" if group else resource
            for group in self.api_groups
            for resource in self.resources
        ]
        text = f"resources [{' '.join(resources)}]"
        if self.resource_names:
            text += f" resourceNames [{' '.join(self.resource_names)}]"
        return f"{text} {verbs}"


def _title(kind: str, namespace: str, name: str) -> str:
    """``Role ns/name`` for a namespaced object, ``ClusterRole name`` for a cluster one."""
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


@dataclass(frozen=True)
class Role:
    """A Role (``namespace`` set) or a ClusterRole (``namespace == ""``)."""

    kind: str
    name: str
    namespace: str
    rules: tuple[PolicyRule, ...]

    @property
    def title(self) -> str:
        return _title(self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class Subject:
    kind: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class Binding:
    """A RoleBinding (``namespace`` set) or a ClusterRoleBinding (``namespace == ""``)."""

    kind: str
    name: str
    namespace: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]

    @property
    def title(self) -> str:
        return _title(self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class Requester:
    """The user a request is made as: a name and groups (as the authenticator gives them)."""

    user: str
    groups: tuple[str, ...] = ()

    @classmethod
    def impersonated(cls, user: str, groups: Sequence[str] = ()) -> Requester:
        """The user ``kubectl --as USER --as-group G`` makes (``impersonation.go``)."""
        found = list(dict.fromkeys(groups))
        account = split_service_account(user)
        if account is not None and not found:
            found = [SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{account[0]}"]
        if user != ANONYMOUS_USER:
            if AUTHENTICATED_GROUP not in found and UNAUTHENTICATED_GROUP not in found:
                found.append(AUTHENTICATED_GROUP)
        elif UNAUTHENTICATED_GROUP not in found:
            found.append(UNAUTHENTICATED_GROUP)
        return cls(user, tuple(found))


@dataclass(frozen=True)
class Request:
    """What is asked: a verb on a resource (``api_group``, ``resource``, ``subresource``,
    ``name``) in ``namespace`` (``""``: cluster-scoped), or on a non-resource ``path``."""

    verb: str
    resource: str = ""
    api_group: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""

    @property
    def is_resource_request(self) -> bool:
        return not self.path

    @property
    def combined_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


@dataclass(frozen=True)
class Decision:
    """The answer: ``allowed``, and when allowed the binding, role and rule that allowed it;
    ``reason`` in words either way; ``problems`` lists bindings whose role does not exist."""

    allowed: bool
    reason: str
    binding: Binding | None = None
    role: Role | None = None
    rule: PolicyRule | None = None
    problems: tuple[str, ...] = ()


def split_service_account(user: str) -> tuple[str, str] | None:
    """``system:serviceaccount:NS:NAME`` -> ``(NS, NAME)`` (``serviceaccount.SplitUsername``)."""
    if not user.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = user[len(SERVICE_ACCOUNT_PREFIX) :].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


# matching (evaluation_helpers.go) -------------------------------------------------------------
def verb_matches(rule: PolicyRule, verb: str) -> bool:
    """``VerbMatches``."""
    return any(v in (ALL, verb) for v in rule.verbs)


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    """``APIGroupMatches``: ``""`` is the core group, ``*`` every group."""
    return any(g in (ALL, group) for g in rule.api_groups)


def resource_matches(rule: PolicyRule, combined: str, subresource: str) -> bool:
    """``ResourceMatches``: ``*``, the exact ``resource[/subresource]``, or ``*/subresource``.
    ``pods`` does not cover ``pods/exec``: a subresource must be named."""
    for granted in rule.resources:
        if granted in (ALL, combined):
            return True
        if subresource and granted == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    """``ResourceNameMatches``: no ``resourceNames`` means every name; else the request must
    name one of them (so a list or a create, which carry no name, is not allowed)."""
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    """``NonResourceURLMatches``: ``*``, the exact path, or a ``prefix*``."""
    for url in rule.non_resource_urls:
        if url in (ALL, path) or (url.endswith("*") and path.startswith(url.rstrip("*"))):
            return True
    return False


def rule_allows(request: Request, rule: PolicyRule) -> bool:
    """``RuleAllows`` (``rbac.go``)."""
    if request.is_resource_request:
        return (
            verb_matches(rule, request.verb)
            and api_group_matches(rule, request.api_group)
            and resource_matches(rule, request.combined_resource, request.subresource)
            and resource_name_matches(rule, request.name)
        )
    return verb_matches(rule, request.verb) and non_resource_url_matches(rule, request.path)


def applies_to(requester: Requester, subject: Subject, namespace: str) -> bool:
    """``appliesToUser``: ``namespace`` is the binding's (``""`` for a ClusterRoleBinding)."""
    if subject.kind == "User":
        return requester.user == subject.name
    if subject.kind == "Group":
        return subject.name in requester.groups
    if subject.kind == "ServiceAccount":
        account_namespace = subject.namespace or namespace
        if not account_namespace:
            return False
        return requester.user == f"{SERVICE_ACCOUNT_PREFIX}{account_namespace}:{subject.name}"
    return False


# the policy -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    """Every Role, ClusterRole and binding of a cluster."""

    roles: tuple[Role, ...] = ()
    bindings: tuple[Binding, ...] = ()
    _roles_by_key: Mapping[tuple[str, str, str], Role] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def from_objects(cls, objects: Iterable[RawObject]) -> Policy:
        """The RBAC objects among ``objects`` (other kinds are ignored); a later object of
        the same kind, namespace and name replaces an earlier one."""
        roles: dict[tuple[str, str, str], Role] = {}
        bindings: dict[tuple[str, str, str], Binding] = {}
        for raw in objects:
            if not is_rbac(raw):
                continue
            if raw.kind in ROLE_KINDS:
                role = parse_role(raw)
                roles[(role.kind, role.namespace, role.name)] = role
            else:
                binding = parse_binding(raw)
                bindings[(binding.kind, binding.namespace, binding.name)] = binding
        return cls(tuple(roles.values()), tuple(bindings.values()), roles)

    def role_for(self, binding: Binding) -> Role | None:
        """``GetRoleReferenceRules``: a Role in the binding's namespace, or a ClusterRole."""
        namespace = binding.namespace if binding.role_kind == "Role" else ""
        return self._roles_by_key.get((binding.role_kind, namespace, binding.role_name))

    def bindings_for(self, namespace: str) -> list[Binding]:
        """``VisitRulesFor``'s order: ClusterRoleBindings, then the namespace's RoleBindings."""
        cluster = [b for b in self.bindings if b.kind == "ClusterRoleBinding"]
        local = [b for b in self.bindings if b.kind == "RoleBinding" and b.namespace == namespace]
        return cluster + (local if namespace else [])

    def authorize(self, requester: Requester, request: Request) -> Decision:
        """``RBACAuthorizer.Authorize``: allowed by the first rule that allows, else denied."""
        problems: list[str] = []
        for binding in self.bindings_for(request.namespace):
            if not any(applies_to(requester, s, binding.namespace) for s in binding.subjects):
                continue
            role = self.role_for(binding)
            if role is None:
                problems.append(
                    f"{binding.title} refers to {binding.role_kind} {binding.role_name}, "
                    "which does not exist: it grants nothing"
                )
                continue
            for rule in role.rules:
                if rule_allows(request, rule):
                    return Decision(
                        True,
                        f"allowed by {binding.title} of {role.title}: rule {rule}",
                        binding,
                        role,
                        rule,
                        tuple(problems),
                    )
        where = f' in namespace "{request.namespace}"' if request.namespace else ""
        reason = (
            f"no rule of a role bound to user {requester.user!r} (groups "
            f"{list(requester.groups)}) allows {request.verb} on "
            f"{describe_target(request)}{where}: RBAC denies by default"
        )
        return Decision(False, reason, problems=tuple(problems))


def describe_target(request: Request) -> str:
    if not request.is_resource_request:
        return request.path
    group = f".{request.api_group}" if request.api_group else ""
    text = (
        f"{request.combined_resource}{group}"
        if not request.subresource
        else (f"{request.resource}{group}/{request.subresource}")
    )
    return f"{text} named {request.name!r}" if request.name else text


# parsing --------------------------------------------------------------------------------------
def is_rbac(raw: RawObject) -> bool:
    return raw.kind in RBAC_KINDS and raw.api_version.startswith(f"{RBAC_GROUP}/")


def parse_role(raw: RawObject) -> Role:
    namespace = raw.namespace if raw.kind == "Role" else ""
    rules = _list(raw, raw.data.get("rules"), "rules")
    return Role(
        raw.kind,
        raw.name,
        namespace,
        tuple(_rule(raw, item, f"rules[{i}]") for i, item in enumerate(rules)),
    )


def parse_binding(raw: RawObject) -> Binding:
    namespace = raw.namespace if raw.kind == "RoleBinding" else ""
    ref = _mapping(raw, raw.data.get("roleRef"), "roleRef")
    subjects = _list(raw, raw.data.get("subjects"), "subjects")
    return Binding(
        raw.kind,
        raw.name,
        namespace,
        str(ref.get("kind") or ""),
        str(ref.get("name") or ""),
        tuple(_subject(raw, item, f"subjects[{i}]") for i, item in enumerate(subjects)),
    )


def _rule(raw: RawObject, value: Any, path: str) -> PolicyRule:
    data = _mapping(raw, value, path)
    return PolicyRule(
        verbs=_strings(raw, data.get("verbs"), f"{path}.verbs"),
        api_groups=_strings(raw, data.get("apiGroups"), f"{path}.apiGroups"),
        resources=_strings(raw, data.get("resources"), f"{path}.resources"),
        resource_names=_strings(raw, data.get("resourceNames"), f"{path}.resourceNames"),
        non_resource_urls=_strings(raw, data.get("nonResourceURLs"), f"{path}.nonResourceURLs"),
    )


def _subject(raw: RawObject, value: Any, path: str) -> Subject:
    data = _mapping(raw, value, path)
    return Subject(
        str(data.get("kind") or ""), str(data.get("name") or ""), str(data.get("namespace") or "")
    )


def _mapping(raw: RawObject, value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _shape_error(raw, path, "a mapping")
    return value


def _list(raw: RawObject, value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _shape_error(raw, path, "a list")
    return value


def _strings(raw: RawObject, value: Any, path: str) -> tuple[str, ...]:
    items = _list(raw, value, path)
    if not all(isinstance(item, str) for item in items):
        raise _shape_error(raw, path, "a list of strings")
    return tuple(items)


def _shape_error(raw: RawObject, path: str, expected: str) -> ManifestError:
    return ManifestError(
        f"must be {expected}",
        file=raw.location,
        object=raw.title,
        field=path,
        hint="see `kubectl explain role.rules` and `kubectl explain rolebinding.subjects`",
    )
