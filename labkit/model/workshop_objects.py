"""Everything a workshop creates on the shared cluster, as plain objects (besides the wall,
which :mod:`labkit.model.wall` renders), the JupyterHub spawn hook and the IP pool room check.

Pure data: nothing here talks to a cluster. Every object carries :meth:`Workshop.labels`
(``labkit.dev/workshop`` and the managed label); a learner's objects carry
:meth:`LearnerSpace.labels` too (``labkit.dev/learner``), so teardown and reset select exactly
what they own.

Per learner (:func:`learner_objects`):

* each lab namespace, under its real name, with the topology namespace's own labels and
  annotations (notably Calico's ``cni.projectcalico.org/ipv4pools``, which picks the IP pool the
  pods take addresses from) plus the workshop labels and ``labkit.dev/logical``;
* in each, a ResourceQuota ``labkit-quota`` and a LimitRange ``labkit-defaults``. A quota on
  ``requests.cpu``/``requests.memory`` makes the API server refuse a pod whose containers give
  no request for them (Kubernetes docs, "Resource Quotas": with a quota on compute resources,
  users must give requests or the quota system may reject the pod; the docs point to the
  LimitRanger admission controller for defaults). The LimitRange's ``defaultRequest`` fills one
  in (LimitRanger mutates before the quota admission checks), and its ``default`` limits bound
  a learner's container on the shared nodes;
* in each, a Role and RoleBinding ``labkit-learner`` for the learner's ServiceAccount:
  NetworkPolicies with every verb; pods, services, configmaps and deployments read and written;
  ``pods/exec`` (``create`` and ``get``: kubectl and the ``kubernetes`` client open the exec
  stream with either verb, depending on client and Kubernetes version) and ``pods/log``;
* read access to kube-system's pods and services and to the hub's ``labkit-workshop``
  ConfigMap (RoleBindings to the workshop's two shared Roles), and ``get``/``patch``/``update``
  on its own Namespaces only (a ClusterRole whose rule names them in ``resourceNames``; RBAC's
  ``ResourceNameMatches`` then refuses every other namespace and every list). Nothing else
  cluster-scoped.
* the ServiceAccount ``labkit-<learner>`` in the hub namespace (the notebook pod runs as it).

Per workshop (:func:`workshop_objects`): the hub namespace when it is missing, the canary
namespace, the two shared Roles, the ``labkit-workshop`` ConfigMap (read back by
:func:`workshop_config`) and a ValidatingAdmissionPolicy (``admissionregistration.k8s.io/v1``,
GA in Kubernetes 1.30) with its binding, which refuses a learner's UPDATE of a workshop
namespace that adds, removes or changes a ``labkit.dev/`` label or the pool annotation: the
learner may patch its own namespaces (lessons label them), and without this policy it could
relabel itself out of the wall.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_network
from typing import Any

from labkit.errors import LabkitError
from labkit.model.ipam import IPPlan
from labkit.model.ippools import IPPool, lab_pools
from labkit.model.loader import RawObject
from labkit.model.workshop import (
    DOCTOR_LEARNERS,
    HUB_LABEL,
    LABKIT_PREFIX,
    NAME_LABEL,
    POOL_ANNOTATION,
    WORKSHOP_CONFIGMAP,
    WORKSHOP_LABEL,
    Learner,
    Workshop,
    WorkshopError,
    check_workshop_id,
    learner_problem,
)

log = logging.getLogger(__name__)

QUOTA_NAME = "labkit-quota"
LIMIT_RANGE_NAME = "labkit-defaults"
LEARNER_ROLE = "labkit-learner"
SYSTEM_NAMESPACE = "kube-system"
ADMISSION_API_VERSION = "admissionregistration.k8s.io/v1"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"

CONTAINER_REQUESTS = {"cpu": "10m", "memory": "16Mi"}
"""What a container requests when it gives nothing (the lab's own pods say the same)."""
CONTAINER_LIMITS = {"cpu": "500m", "memory": "256Mi"}
"""The limit of a container that gives none: a learner's pod cannot take a shared node."""
QUOTA_HARD: dict[str, str] = {
    "pods": "20",
    "services": "10",
    "configmaps": "10",
    "count/networkpolicies.networking.k8s.io": "30",
    "count/deployments.apps": "5",
    "requests.cpu": "1",
    "requests.memory": "1Gi",
}
"""Per learner namespace. The lab puts at most 4 pods (2 containers of 10m/16Mi each) in one
namespace; 20 pods at the default requests need 400m and 640Mi. ``configmaps`` counts the
``kube-root-ca.crt`` every namespace gets and the learner's ``labkit-progress``."""

ALL_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
WRITE_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
READ_VERBS = ("get", "list", "watch")
NAMESPACE_VERBS = ("get", "patch", "update")

LEARNER_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ALL_VERBS},
    {"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": WRITE_VERBS},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": WRITE_VERBS},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ("create", "get")},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ("get",)},
)
"""The Role a learner has in each of its namespaces."""

RESOURCE_KINDS = {
    ("networking.k8s.io", "networkpolicies"): "NetworkPolicy",
    ("", "pods"): "Pod",
    ("", "services"): "Service",
    ("", "configmaps"): "ConfigMap",
    ("apps", "deployments"): "Deployment",
}

DOCTOR_PODS = 7
"""Pods ``labkit workshop doctor`` runs in the default pool: the canary's three and the wall
check's four (a server and a client for each of the two pseudo-learners)."""
LEARNER_USER_PREFIX = "system:serviceaccount:{hub}:labkit-"
"""How the API server names a learner (``serviceaccount.MakeUsername``)."""


# -- names ---------------------------------------------------------------------------------------
def system_reader_role(workshop: Workshop) -> str:
    return f"labkit-{workshop.id}-system-reader"


def workshop_reader_role(workshop: Workshop) -> str:
    return f"labkit-{workshop.id}-workshop-reader"


def namespaces_role(workshop: Workshop, learner: str) -> str:
    return f"labkit-{workshop.id}-{learner}-namespaces"


def admission_policy_name(workshop: Workshop) -> str:
    return f"labkit-{workshop.id}-protect-labels"


def learner_role_kinds() -> frozenset[str]:
    """The kinds the learner Role lets a learner create (must equal :data:`LEARNER_KINDS`)."""
    kinds: set[str] = set()
    for rule in LEARNER_RULES:
        if "create" not in rule["verbs"]:
            continue
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                kind = RESOURCE_KINDS.get((group, resource))
                if kind:
                    kinds.add(kind)
    return frozenset(kinds)


def _meta(
    name: str, labels: Mapping[str, str], namespace: str | None = None, **extra: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(labels)
    meta.update(extra)
    return meta


def _rules(rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{key: list(value) for key, value in rule.items()} for rule in rules]


# -- per learner ---------------------------------------------------------------------------------
def learner_objects(
    workshop: Workshop, learner: str, topology_namespaces: Sequence[RawObject]
) -> list[dict[str, Any]]:
    """Every object learner ``learner`` needs, in apply order: per logical namespace (in
    ``workshop.logical_namespaces`` order) the Namespace, ResourceQuota, LimitRange, Role and
    RoleBinding; then the RoleBindings in kube-system and the hub namespace, the ClusterRole
    and ClusterRoleBinding on its own Namespaces, and its ServiceAccount.

    ``topology_namespaces`` are the lab's Namespace objects (other kinds are ignored); their
    labels and annotations are copied onto the learner's namespaces. Raises
    :class:`WorkshopError` for a learner name that cannot name namespaces.
    """
    if learner not in DOCTOR_LEARNERS:
        problem = learner_problem(learner, workshop.id, workshop.logical_namespaces)
        if problem:
            raise WorkshopError(
                f"learner {learner!r} of workshop {workshop.id}: {problem}\n    fix: rename "
                "the learner in the learners file"
            )
    space = workshop.space(learner)
    labels = space.labels()
    account = workshop.service_account(learner)
    subject = {"kind": "ServiceAccount", "name": account, "namespace": workshop.hub_namespace}
    given = {raw.name: raw for raw in topology_namespaces if raw.kind == "Namespace"}
    objects: list[dict[str, Any]] = []
    for logical in workshop.logical_namespaces:
        real = space.real(logical)
        objects.append(
            _learner_namespace(real, space.namespace_labels(logical), given.get(logical))
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": _meta(QUOTA_NAME, labels, real),
                "spec": {"hard": dict(QUOTA_HARD)},
            }
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "LimitRange",
                "metadata": _meta(LIMIT_RANGE_NAME, labels, real),
                "spec": {
                    "limits": [
                        {
                            "type": "Container",
                            "defaultRequest": dict(CONTAINER_REQUESTS),
                            "default": dict(CONTAINER_LIMITS),
                        }
                    ]
                },
            }
        )
        objects.append(
            {
                "apiVersion": RBAC_API_VERSION,
                "kind": "Role",
                "metadata": _meta(LEARNER_ROLE, labels, real),
                "rules": _rules(LEARNER_RULES),
            }
        )
        objects.append(_binding("RoleBinding", LEARNER_ROLE, labels, real, "Role", subject))
    objects.append(
        _binding(
            "RoleBinding",
            f"labkit-{workshop.id}-{learner}",
            labels,
            SYSTEM_NAMESPACE,
            "Role",
            subject,
            role=system_reader_role(workshop),
        )
    )
    objects.append(
        _binding(
            "RoleBinding",
            f"labkit-{workshop.id}-{learner}-workshop",
            labels,
            workshop.hub_namespace,
            "Role",
            subject,
            role=workshop_reader_role(workshop),
        )
    )
    cluster_name = namespaces_role(workshop, learner)
    objects.append(
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "ClusterRole",
            "metadata": _meta(cluster_name, labels),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["namespaces"],
                    "resourceNames": list(space.real_namespaces),
                    "verbs": list(NAMESPACE_VERBS),
                }
            ],
        }
    )
    objects.append(
        _binding("ClusterRoleBinding", cluster_name, labels, None, "ClusterRole", subject)
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(account, labels, workshop.hub_namespace),
            "automountServiceAccountToken": True,
        }
    )
    return objects


def _learner_namespace(
    real: str, labels: Mapping[str, str], topology: RawObject | None
) -> dict[str, Any]:
    """The Namespace ``real``: the topology namespace's labels (less the name label, which the
    API server sets) and annotations, then the workshop's labels over them."""
    merged: dict[str, str] = {}
    annotations: dict[str, str] = {}
    if topology is not None:
        given = topology.metadata.get("labels")
        if isinstance(given, dict):
            merged.update({str(k): str(v) for k, v in given.items() if k != NAME_LABEL})
        notes = topology.metadata.get("annotations")
        if isinstance(notes, dict):
            annotations = {str(k): str(v) for k, v in notes.items()}
    merged.update(labels)
    meta = _meta(real, merged)
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _binding(
    kind: str,
    name: str,
    labels: Mapping[str, str],
    namespace: str | None,
    role_kind: str,
    subject: Mapping[str, str],
    *,
    role: str = "",
) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_API_VERSION,
        "kind": kind,
        "metadata": _meta(name, labels, namespace),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role_kind,
            "name": role or name,
        },
        "subjects": [dict(subject)],
    }


# -- per workshop --------------------------------------------------------------------------------
def workshop_objects(workshop: Workshop, *, hub_namespace_exists: bool) -> list[dict[str, Any]]:
    """The workshop's shared objects, in apply order: the hub Namespace (only when it does not
    exist: an existing JupyterHub namespace is never relabelled), the canary Namespace, the
    shared Roles, the ``labkit-workshop`` ConfigMap and the admission policy and binding."""
    labels = workshop.labels()
    objects: list[dict[str, Any]] = []
    if not hub_namespace_exists:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": _meta(workshop.hub_namespace, {**labels, HUB_LABEL: "true"}),
            }
        )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": _meta(workshop.canary_namespace, labels),
        }
    )
    objects.append(
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "Role",
            "metadata": _meta(system_reader_role(workshop), labels, SYSTEM_NAMESPACE),
            "rules": [
                {"apiGroups": [""], "resources": ["pods", "services"], "verbs": list(READ_VERBS)}
            ],
        }
    )
    objects.append(
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "Role",
            "metadata": _meta(workshop_reader_role(workshop), labels, workshop.hub_namespace),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "resourceNames": [WORKSHOP_CONFIGMAP],
                    "verbs": ["get"],
                }
            ],
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(WORKSHOP_CONFIGMAP, labels, workshop.hub_namespace),
            "data": workshop_config_data(workshop),
        }
    )
    objects += admission_objects(workshop)
    return objects


def workshop_config_data(workshop: Workshop) -> dict[str, str]:
    """The ``labkit-workshop`` ConfigMap's data: what a learner's notebook reads to find its
    workshop, its namespaces and (by its ServiceAccount) which learner it is. Every learner
    can read it, so it holds no JupyterHub user names (often e-mail addresses): those stay in
    the spawn hook and the instructor's own record (``<lab folder>/workshops/ID``)."""
    learners = {
        learner.name: {
            "serviceAccount": workshop.service_account(learner.name),
            "namespaces": dict(workshop.space(learner.name).to_real_map),
        }
        for learner in workshop.learners
    }
    return {
        "workshop": workshop.id,
        "hubNamespace": workshop.hub_namespace,
        "logicalNamespaces": json.dumps(list(workshop.logical_namespaces)),
        "learners": json.dumps(learners),
    }


_CONFIG_KEYS = ("workshop", "hubNamespace", "logicalNamespaces", "learners")


def workshop_config(data: Mapping[str, str]) -> Workshop:
    """The :class:`Workshop` a ``labkit-workshop`` ConfigMap's ``data`` describes (the inverse
    of :func:`workshop_config_data`). :class:`WorkshopError` names the key that is missing or
    wrong. ``hubUser`` is optional (written by labkit before 2026-12; now kept out of the
    ConfigMap); one equal to the learner's name reads back as the default."""
    where = f"ConfigMap {WORKSHOP_CONFIGMAP}"
    fix = "\n    fix: re-run `labkit workshop init` for this workshop (it rewrites the ConfigMap)"

    def fail(key: str, problem: str) -> WorkshopError:
        return WorkshopError(f"{where}, key {key!r}: {problem}{fix}")

    if not isinstance(data, Mapping):
        raise WorkshopError(f"{where} has no data{fix}")
    for key in _CONFIG_KEYS:
        if not isinstance(data.get(key), str) or not data[key]:
            raise fail(key, "missing or empty")
    try:
        workshop_id = check_workshop_id(data["workshop"])
    except WorkshopError as error:
        raise fail("workshop", str(error).split("\n", 1)[0]) from None
    hub = data["hubNamespace"]
    if not _is_dns_label(hub):
        raise fail("hubNamespace", f"{hub!r} is not a namespace name")
    logical = _json(data, "logicalNamespaces", fail)
    if (
        not isinstance(logical, list)
        or not logical
        or not all(isinstance(n, str) and _is_dns_label(n) for n in logical)
        or len(set(logical)) != len(logical)
    ):
        raise fail("logicalNamespaces", "expected a JSON list of distinct namespace names")
    names = tuple(logical)
    entries = _json(data, "learners", fail)
    if not isinstance(entries, dict) or not entries:
        raise fail("learners", "expected a JSON object: learner name -> its entry")
    learners: list[Learner] = []
    users: set[str] = set()
    for name, entry in entries.items():
        problem = learner_problem(name, workshop_id, names)
        if problem:
            raise fail("learners", f"learner {name!r}: {problem}")
        if not isinstance(entry, dict) or not isinstance(entry.get("hubUser", ""), str):
            raise fail("learners", f"learner {name!r}: expected an object (hubUser a string)")
        user = entry.get("hubUser") or name
        if user in users:
            raise fail("learners", f"hub user {user!r} is mapped to two learners")
        users.add(user)
        learners.append(Learner(name, "" if user == name else user))
    workshop = Workshop(workshop_id, tuple(learners), names, hub)
    for learner in workshop.learners:
        entry = entries[learner.name]
        account = workshop.service_account(learner.name)
        if entry.get("serviceAccount") != account:
            raise fail(
                "learners",
                f"learner {learner.name!r}: serviceAccount {entry.get('serviceAccount')!r}, "
                f"expected {account!r}",
            )
        expected = workshop.space(learner.name).to_real_map
        if entry.get("namespaces") != expected:
            raise fail(
                "learners",
                f"learner {learner.name!r}: namespaces {entry.get('namespaces')!r}, expected "
                f"{expected!r}",
            )
    return workshop


def _json(data: Mapping[str, str], key: str, fail: Any) -> Any:
    try:
        return json.loads(data[key])
    except json.JSONDecodeError as error:
        raise fail(key, f"not JSON ({error.msg} at character {error.pos})") from None


def _is_dns_label(value: str) -> bool:
    from labkit.model.validation.names import is_dns1123_label
    from labkit.model.validation.version import parse_version

    return not is_dns1123_label(value, parse_version(None))


# -- admission policy ----------------------------------------------------------------------------
def _cel_str(text: str) -> str:
    """``text`` as a CEL string literal (single-quoted; the names here hold no quote)."""
    if "'" in text or "\\" in text:
        raise LabkitError(f"cannot quote {text!r} for CEL")  # never for labkit's own names
    return f"'{text}'"


def admission_variables() -> list[dict[str, str]]:
    """The policy's ``spec.variables``: both label and annotation maps, empty when absent."""
    out = []
    for name, side in (("old", "oldObject"), ("new", "object")):
        for field, key in (("Labels", "labels"), ("Annotations", "annotations")):
            out.append(
                {
                    "name": f"{name}{field}",
                    "expression": f"has({side}.metadata.{key}) ? {side}.metadata.{key} : {{}}",
                }
            )
    return out


def admission_validations(workshop: Workshop) -> list[dict[str, str]]:
    """The policy's ``spec.validations``: CEL that Kubernetes 1.30 accepts (``has``, map
    ``all`` over keys, ``in``, ``startsWith``; no optional types, no two-variable macros)."""
    prefix = _cel_str(LABKIT_PREFIX)
    pool = _cel_str(POOL_ANNOTATION)
    labels = (
        f"variables.oldLabels.all(k, !k.startsWith({prefix}) || "
        "(k in variables.newLabels && variables.newLabels[k] == variables.oldLabels[k])) && "
        f"variables.newLabels.all(k, !k.startsWith({prefix}) || k in variables.oldLabels)"
    )
    annotation = (
        f"({pool} in variables.oldAnnotations) == ({pool} in variables.newAnnotations) && "
        f"(!({pool} in variables.oldAnnotations) || "
        f"variables.oldAnnotations[{pool}] == variables.newAnnotations[{pool}])"
    )
    who = f"labkit workshop {workshop.id}: a learner may not"
    return [
        {
            "expression": labels,
            "reason": "Forbidden",
            "message": (
                f"{who} add, remove or change {LABKIT_PREFIX} labels on a workshop namespace: "
                "the wall between learners selects namespaces by these labels (and the "
                "instructor's dashboard, reset and teardown find them by them); ask the "
                "instructor"
            ),
        },
        {
            "expression": annotation,
            "reason": "Forbidden",
            "message": (
                f"{who} add, remove or change the annotation {POOL_ANNOTATION} on a workshop "
                "namespace: it picks the Calico IP pool the lab's pods take addresses from, "
                "which the lessons' ipBlock rules depend on; ask the instructor"
            ),
        },
    ]


def admission_match_condition(workshop: Workshop) -> str:
    """The CEL that limits the policy to requests made by the workshop's learners."""
    user = LEARNER_USER_PREFIX.format(hub=workshop.hub_namespace)
    return f"request.userInfo.username.startsWith({_cel_str(user)})"


def admission_objects(workshop: Workshop) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy and its binding (Kubernetes docs, "Validating Admission
    Policy": ``matchConstraints`` chooses the requests, ``matchConditions`` filter them by CEL
    on ``request``, ``variables`` are reachable as ``variables.NAME``, each validation that
    evaluates to false refuses the request with its ``message``; the binding's
    ``objectSelector`` matches when the old or the new object's labels match)."""
    name = admission_policy_name(workshop)
    labels = workshop.labels()
    policy = {
        "apiVersion": ADMISSION_API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(name, labels),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["UPDATE"],
                        "resources": ["namespaces"],
                    }
                ]
            },
            "matchConditions": [
                {"name": "workshop-learner", "expression": admission_match_condition(workshop)}
            ],
            "variables": admission_variables(),
            "validations": admission_validations(workshop),
        },
    }
    binding = {
        "apiVersion": ADMISSION_API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(name, labels),
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"objectSelector": {"matchLabels": {WORKSHOP_LABEL: workshop.id}}},
        },
    }
    return [policy, binding]


# -- the spawn hook ------------------------------------------------------------------------------
def spawn_hook(workshop: Workshop) -> str:
    """A Python file for JupyterHub's configuration (Zero to JupyterHub ``hub.extraConfig``,
    or appended to ``jupyterhub_config.py``) that gives each learner's notebook pod its
    ServiceAccount.

    JupyterHub calls ``Spawner.pre_spawn_hook(spawner)`` before each spawn; KubeSpawner's
    ``service_account`` names the account of the user pod (it must exist in the pod's
    namespace, KubeSpawner's ``namespace``) and ``automount_service_account_token`` mounts its
    token, which the ``kubernetes`` client's in-cluster configuration reads. A hub user who is
    not a learner is refused (the spawn fails with the message).
    """
    accounts = {
        learner.user: workshop.service_account(learner.name) for learner in workshop.learners
    }
    mapping = "".join(f"    {user!r}: {account!r},\n" for user, account in accounts.items())
    return f'''\
# labkit workshop {workshop.id}: attach each learner's ServiceAccount to their notebook pod.
# Generated by `labkit workshop init --id {workshop.id}`; re-run it rather than editing this.
# Zero to JupyterHub: put this text under hub.extraConfig (key labkit-{workshop.id}); otherwise
# append it to jupyterhub_config.py. Notebook pods must run in namespace {workshop.hub_namespace!r}
# (KubeSpawner's `namespace`), where the accounts live.

LABKIT_WORKSHOP = {workshop.id!r}
LABKIT_HUB_NAMESPACE = {workshop.hub_namespace!r}
LABKIT_SERVICE_ACCOUNTS = {{
{mapping}}}


def labkit_pre_spawn_hook(spawner):
    """Run the notebook pod of a learner as the learner's ServiceAccount."""
    user = spawner.user.name
    account = LABKIT_SERVICE_ACCOUNTS.get(user)
    if account is None:
        raise Exception(
            f"JupyterHub user {{user!r}} is not a learner of labkit workshop "
            f"{{LABKIT_WORKSHOP}}, so no lab is set up for them; ask the instructor to add "
            "them to the learners file and re-run `labkit workshop init`"
        )
    namespace = getattr(spawner, "namespace", LABKIT_HUB_NAMESPACE)
    if namespace != LABKIT_HUB_NAMESPACE:
        raise Exception(
            f"labkit workshop {{LABKIT_WORKSHOP}}: the notebook pod of {{user!r}} would run in "
            f"namespace {{namespace!r}}, but the learners' ServiceAccounts are in "
            f"{{LABKIT_HUB_NAMESPACE!r}}; set KubeSpawner's namespace to it, or re-run "
            "`labkit workshop init --hub-namespace` with the spawner's namespace"
        )
    spawner.service_account = account
    spawner.automount_service_account_token = True


if "c" in globals():
    c.KubeSpawner.pre_spawn_hook = labkit_pre_spawn_hook  # noqa: F821
'''


# -- IP pool room --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolNeed:
    """What a workshop puts in one pool (or one set of pools a pod may take)."""

    pools: tuple[IPPool, ...]
    per_learner: tuple[str, ...]
    """The lab pods (``namespace/name``) each learner puts here."""
    fixed: int
    """Pods that do not scale with the learners (the doctor's and the canary's)."""

    @property
    def available(self) -> int:
        return sum(usable_addresses(pool) for pool in self.pools)

    def needed(self, learners: int) -> int:
        return learners * len(self.per_learner) + self.fixed

    @property
    def name(self) -> str:
        text = ", ".join(f"{p.name} ({p.cidr})" for p in self.pools)
        return f"IP pool{'s' if len(self.pools) > 1 else ''} {text}"


def usable_addresses(pool: IPPool) -> int:
    """The addresses a pool gives pods: all but the network and broadcast address (as
    :class:`labkit.model.ipam.IPPlan` allocates; Calico may also hand out those two, so this
    errs on the safe side)."""
    size = pool.cidr.num_addresses
    return size - 2 if size > 2 else size


def pool_needs(
    workshop: Workshop, topology: Sequence[RawObject], pools: Sequence[IPPool] | None = None
) -> list[PoolNeed]:
    """Where the workshop's pods take addresses: every lab pod of the topology once per
    learner (in the pools its namespace or pod annotation asks for, else the automatic ones,
    as :meth:`IPPlan.pools_for` decides), plus :data:`DOCTOR_PODS` in the automatic pools."""
    plan = IPPlan(input_pools=tuple(pools if pools is not None else lab_pools())).including(
        topology
    )
    logical = set(workshop.logical_namespaces)
    groups: dict[tuple[str, ...], tuple[tuple[IPPool, ...], list[str]]] = {}
    for raw in topology:
        if raw.kind != "Pod" or raw.namespace not in logical:
            continue
        chosen = plan.pools_for(raw.namespace, raw.name)
        key = tuple(p.name for p in chosen)
        groups.setdefault(key, (chosen, []))[1].append(f"{raw.namespace}/{raw.name}")
    default = plan.pools_for(workshop.canary_namespace)
    default_key = tuple(p.name for p in default)
    groups.setdefault(default_key, (default, []))
    return [
        PoolNeed(chosen, tuple(pods), DOCTOR_PODS if key == default_key else 0)
        for key, (chosen, pods) in groups.items()
    ]


def pool_room(
    workshop: Workshop, topology: Sequence[RawObject], pools: Sequence[IPPool] | None = None
) -> list[str]:
    """One sentence per IP pool too small for the workshop (empty: every pod fits).

    ``pools`` are the cluster's Calico pools (default: the lab's,
    :func:`labkit.model.ippools.lab_pools`); ``topology`` the lab's namespaces and pods. A
    pool that a namespace asks for but that does not exist or is disabled is reported too."""
    try:
        needs = pool_needs(workshop, topology, pools)
    except LabkitError as error:
        return [f"{error}\n    fix: create the IP pool the topology names, or fix the annotation"]
    count = len(workshop.learners)
    problems: list[str] = []
    for need in needs:
        needed = need.needed(count)
        available = need.available
        if needed <= available:
            continue
        per = len(need.per_learner)
        fits = max(0, (available - need.fixed) // per) if per else 0
        what = [f"{count} learners x {per} lab pod{'s' if per != 1 else ''}"] if per else []
        if need.fixed:
            what.append(f"{need.fixed} for the doctor and the canary")
        bits = (needed + 1).bit_length()  # the smallest block with `needed` usable addresses
        prefix = need.pools[0].cidr.max_prefixlen - bits
        room = usable_addresses(
            IPPool("", ip_network(f"{need.pools[0].cidr.network_address}/{prefix}", strict=False))
        )
        pods = f" ({', '.join(need.per_learner)})" if need.per_learner else ""
        problems.append(
            f"{need.name} is too small for workshop {workshop.id}: it needs {needed} addresses "
            f"({' + '.join(what)}{pods}), the pool has {available}\n    fix: run the workshop "
            f"with at most {fits} learners, or give the pool a larger block (a /{prefix} holds "
            f"{room})"
        )
    return problems
