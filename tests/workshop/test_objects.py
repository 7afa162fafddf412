"""What a workshop creates on the shared cluster (labkit.model.workshop_objects): namespaces,
quotas, RBAC, the admission policy, the hub ConfigMap, and the IP pool room check."""

from __future__ import annotations

import json
from ipaddress import ip_network
from typing import Any

import pytest
import yaml
from goldens import check_golden

from labkit.cluster.topology import LAB_NAMESPACES, topology_manifests
from labkit.model.inventory import check_objects
from labkit.model.ippools import IPPool, lab_pools
from labkit.model.loader import RawObject
from labkit.model.objects import MANAGED_LABEL
from labkit.model.rbac import Policy, Request, Requester
from labkit.model.validation.names import is_dns1123_label, is_dns1123_subdomain
from labkit.model.validation.version import parse_version
from labkit.model.workshop import (
    LEARNER_KINDS,
    LEARNER_LABEL,
    LOGICAL_LABEL,
    NAME_LABEL,
    POOL_ANNOTATION,
    WORKSHOP_CONFIGMAP,
    WORKSHOP_LABEL,
    Learner,
    Workshop,
    WorkshopError,
)
from labkit.model.workshop_objects import (
    CONTAINER_REQUESTS,
    DOCTOR_PODS,
    LIMIT_RANGE_NAME,
    QUOTA_NAME,
    learner_objects,
    learner_role_kinds,
    pool_room,
    workshop_config,
    workshop_config_data,
    workshop_objects,
)

WS = Workshop("ws1", (Learner("alice"), Learner("bob", "bob@example.org")), LAB_NAMESPACES)
TOPOLOGY = topology_manifests()
NAMESPACES = [o for o in TOPOLOGY if o.kind == "Namespace"]
POOLS = {
    "branch-office": "labkit-branch",
    "backup-site": "labkit-backup",
    "legacy-dc": "labkit-legacy",
}


def alice() -> list[dict[str, Any]]:
    return learner_objects(WS, "alice", NAMESPACES)


def everything() -> list[dict[str, Any]]:
    out = workshop_objects(WS, hub_namespace_exists=False)
    for learner in WS.learners:
        out += learner_objects(WS, learner.name, NAMESPACES)
    return out


def labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("labels") or {})


def raw(objects: list[dict[str, Any]]) -> list[RawObject]:
    return [RawObject(obj, "<rendered>") for obj in objects]


def dump(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False, width=100)


# -- goldens ---------------------------------------------------------------------------------------
def test_learner_objects_golden(update_goldens: bool) -> None:
    check_golden("workshop/objects_learner.yaml", dump(alice()), update_goldens)


def test_workshop_objects_golden(update_goldens: bool) -> None:
    objects = workshop_objects(WS, hub_namespace_exists=False)
    check_golden("workshop/objects_workshop.yaml", dump(objects), update_goldens)


# -- labels and isolation --------------------------------------------------------------------------
def test_every_object_carries_the_workshop_and_managed_labels() -> None:
    for obj in everything():
        assert labels(obj)[WORKSHOP_LABEL] == "ws1", obj["metadata"]["name"]
        assert labels(obj)[MANAGED_LABEL] == "true", obj["metadata"]["name"]


def test_learner_objects_carry_the_learner_label_and_workshop_objects_do_not() -> None:
    for learner in ("alice", "bob"):
        for obj in learner_objects(WS, learner, NAMESPACES):
            assert labels(obj)[LEARNER_LABEL] == learner, obj["metadata"]["name"]
    for obj in workshop_objects(WS, hub_namespace_exists=False):
        assert LEARNER_LABEL not in labels(obj), obj["metadata"]["name"]


def test_no_learner_object_names_another_learners_namespace() -> None:
    text = json.dumps(alice())
    assert "ws1-alice-trusted" in text
    assert "bob" not in text
    text = json.dumps(learner_objects(WS, "bob", NAMESPACES))
    assert "alice" not in text


def test_namespaces_are_the_learners_real_ones_in_logical_order() -> None:
    names = [o["metadata"]["name"] for o in alice() if o["kind"] == "Namespace"]
    assert names == [f"ws1-alice-{n}" for n in LAB_NAMESPACES]
    namespaced = {o["metadata"].get("namespace") for o in alice()} - {None}
    assert namespaced == {*names, "kube-system", "jhub"}


@pytest.mark.parametrize("logical", LAB_NAMESPACES)
def test_namespace_keeps_the_topology_metadata_and_gains_the_workshop_labels(logical: str) -> None:
    ns = next(o for o in alice() if o["metadata"]["name"] == f"ws1-alice-{logical}")
    assert labels(ns) == {
        MANAGED_LABEL: "true",
        WORKSHOP_LABEL: "ws1",
        LEARNER_LABEL: "alice",
        LOGICAL_LABEL: logical,
    }
    annotations = ns["metadata"].get("annotations", {})
    if logical in POOLS:
        assert annotations == {POOL_ANNOTATION: json.dumps([POOLS[logical]])}
    else:
        assert annotations == {}


def test_topology_labels_are_copied_but_the_name_label_is_not() -> None:
    given = RawObject(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": "trusted",
                "labels": {"zone": "inside", NAME_LABEL: "trusted", LEARNER_LABEL: "mallory"},
                "annotations": {"note": "x"},
            },
        },
        "t.yaml",
    )
    ns = learner_objects(WS, "alice", [given])[5]  # the second namespace: trusted
    assert ns["metadata"]["name"] == "ws1-alice-trusted"
    assert labels(ns)["zone"] == "inside"
    assert labels(ns)[LEARNER_LABEL] == "alice"
    assert NAME_LABEL not in labels(ns)
    assert ns["metadata"]["annotations"] == {"note": "x"}


@pytest.mark.parametrize("logical", LAB_NAMESPACES)
def test_every_learner_namespace_has_a_quota_and_defaults(logical: str) -> None:
    real = f"ws1-alice-{logical}"
    inside = {
        (o["kind"], o["metadata"]["name"]): o
        for o in alice()
        if o["metadata"].get("namespace") == real
    }
    quota = inside[("ResourceQuota", QUOTA_NAME)]["spec"]["hard"]
    for key in (
        "pods",
        "services",
        "configmaps",
        "count/networkpolicies.networking.k8s.io",
        "count/deployments.apps",
        "requests.cpu",
        "requests.memory",
    ):
        assert key in quota
    (limit,) = inside[("LimitRange", LIMIT_RANGE_NAME)]["spec"]["limits"]
    assert limit["type"] == "Container"
    assert limit["defaultRequest"] == {"cpu": "10m", "memory": "16Mi"}
    assert set(limit["default"]) == {"cpu", "memory"}
    assert ("Role", "labkit-learner") in inside
    assert ("RoleBinding", "labkit-learner") in inside


def test_the_lab_fits_in_one_namespace_quota() -> None:
    """The busiest lab namespace (my-segment, 4 pods of 2 containers) stays inside the quota."""
    quota = next(o for o in alice() if o["kind"] == "ResourceQuota")["spec"]["hard"]
    pods = [o for o in TOPOLOGY if o.kind == "Pod" and o.namespace == "my-segment"]
    containers = sum(len(o.data["spec"]["containers"]) for o in pods)
    assert len(pods) <= int(quota["pods"])
    assert containers * 10 <= int(quota["requests.cpu"]) * 1000  # millicores
    assert containers * 16 <= 1024 * int(quota["requests.memory"].removesuffix("Gi"))


@pytest.mark.parametrize("key", [f"{o.namespace}/{o.name}" for o in TOPOLOGY if o.kind == "Pod"])
def test_lab_pods_request_small_explicit_resources(key: str) -> None:
    pod = next(o for o in TOPOLOGY if f"{o.namespace}/{o.name}" == key)
    for container in pod.data["spec"]["containers"]:
        assert container["resources"] == {"requests": CONTAINER_REQUESTS}, container["name"]


# -- RBAC ------------------------------------------------------------------------------------------
def test_learner_kinds_are_what_the_role_grants() -> None:
    assert learner_role_kinds() == frozenset(LEARNER_KINDS)


def test_nothing_cluster_wide_but_the_learners_own_namespaces() -> None:
    objects = alice()
    clusterroles = [o for o in objects if o["kind"] == "ClusterRole"]
    assert len(clusterroles) == 1
    assert clusterroles[0]["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["namespaces"],
            "resourceNames": [f"ws1-alice-{n}" for n in LAB_NAMESPACES],
            "verbs": ["get", "patch", "update"],
        }
    ]
    bindings = [o for o in objects if o["kind"] == "ClusterRoleBinding"]
    assert [b["roleRef"]["name"] for b in bindings] == [clusterroles[0]["metadata"]["name"]]
    for binding in (o for o in objects if o["kind"] == "RoleBinding"):
        assert binding["roleRef"]["kind"] == "Role"  # never a ClusterRole's rules
    shared = workshop_objects(WS, hub_namespace_exists=True)
    assert not [o for o in shared if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


def alice_can(verb: str, resource: str, namespace: str = "", **kw: str) -> bool:
    policy = Policy.from_objects(raw(everything()))
    user = Requester.impersonated("system:serviceaccount:jhub:labkit-alice")
    return policy.authorize(user, Request(verb, resource, namespace=namespace, **kw)).allowed


@pytest.mark.parametrize(
    ("verb", "resource", "namespace", "extra", "allowed"),
    [
        (
            "create",
            "networkpolicies",
            "ws1-alice-trusted",
            {"api_group": "networking.k8s.io"},
            True,
        ),
        (
            "delete",
            "networkpolicies",
            "ws1-alice-legacy-dc",
            {"api_group": "networking.k8s.io"},
            True,
        ),
        ("create", "networkpolicies", "ws1-bob-trusted", {"api_group": "networking.k8s.io"}, False),
        ("create", "pods", "ws1-alice-my-segment", {}, True),
        ("create", "deployments", "ws1-alice-my-segment", {"api_group": "apps"}, True),
        ("create", "configmaps", "ws1-alice-my-segment", {}, True),
        ("create", "services", "ws1-alice-untrusted", {}, True),
        ("create", "pods", "ws1-alice-my-segment", {"subresource": "exec"}, True),
        ("get", "pods", "ws1-alice-my-segment", {"subresource": "exec"}, True),
        ("get", "pods", "ws1-alice-my-segment", {"subresource": "log"}, True),
        ("create", "pods", "ws1-bob-my-segment", {"subresource": "exec"}, False),
        ("list", "pods", "ws1-bob-my-segment", {}, False),
        ("create", "secrets", "ws1-alice-my-segment", {}, False),
        (
            "create",
            "roles",
            "ws1-alice-my-segment",
            {"api_group": "rbac.authorization.k8s.io"},
            False,
        ),
        ("list", "pods", "kube-system", {}, True),
        ("get", "services", "kube-system", {}, True),
        ("delete", "pods", "kube-system", {}, False),
        ("create", "pods", "kube-system", {"subresource": "exec"}, False),
        ("get", "configmaps", "jhub", {"name": WORKSHOP_CONFIGMAP}, True),
        ("get", "configmaps", "jhub", {"name": "hub-config"}, False),
        ("list", "configmaps", "jhub", {}, False),
        ("get", "namespaces", "", {"name": "ws1-alice-trusted"}, True),
        ("patch", "namespaces", "", {"name": "ws1-alice-trusted"}, True),
        ("delete", "namespaces", "", {"name": "ws1-alice-trusted"}, False),
        ("get", "namespaces", "", {"name": "ws1-bob-trusted"}, False),
        ("patch", "namespaces", "", {"name": "kube-system"}, False),
        ("list", "namespaces", "", {}, False),
        ("create", "namespaces", "", {}, False),
        ("list", "nodes", "", {}, False),
    ],
)
def test_what_a_learner_may_do(
    verb: str, resource: str, namespace: str, extra: dict[str, str], allowed: bool
) -> None:
    assert alice_can(verb, resource, namespace, **extra) is allowed


def test_the_service_account_lives_in_the_hub_namespace_and_mounts_its_token() -> None:
    (account,) = [o for o in alice() if o["kind"] == "ServiceAccount"]
    assert account["metadata"]["name"] == "labkit-alice"
    assert account["metadata"]["namespace"] == "jhub"
    assert account["automountServiceAccountToken"] is True


# -- validity --------------------------------------------------------------------------------------
def test_objects_are_valid_for_the_api_server() -> None:
    objects = raw(everything())
    check_objects(objects, "1.30")  # Namespaces and RBAC: labkit's validator knows them
    version = parse_version("1.30")
    for obj in objects:
        if obj.kind == "Namespace":
            assert is_dns1123_label(obj.name, version) == [], obj.title
        else:
            assert is_dns1123_subdomain(obj.name, version) == [], obj.title
        for key, value in labels(obj.data).items():
            assert len(value) <= 63, (obj.title, key)


def test_the_hub_namespace_is_created_only_when_missing() -> None:
    created = [
        o for o in workshop_objects(WS, hub_namespace_exists=False) if o["kind"] == "Namespace"
    ]
    assert [o["metadata"]["name"] for o in created] == ["jhub", "ws1-canary"]
    kept = [o for o in workshop_objects(WS, hub_namespace_exists=True) if o["kind"] == "Namespace"]
    assert [o["metadata"]["name"] for o in kept] == ["ws1-canary"]


def test_an_unusable_learner_name_is_refused() -> None:
    with pytest.raises(WorkshopError, match="fix:"):
        learner_objects(WS, "Alice_1", NAMESPACES)


def test_the_doctors_pseudo_learners_get_objects() -> None:
    names = [o["metadata"]["name"] for o in learner_objects(WS, "doctor-a", NAMESPACES)]
    assert "ws1-doctor-a-trusted" in names


# -- the admission policy --------------------------------------------------------------------------
def test_admission_policy_protects_the_workshop_namespaces_from_learners() -> None:
    objects = {o["kind"]: o for o in workshop_objects(WS, hub_namespace_exists=True)}
    policy = objects["ValidatingAdmissionPolicy"]
    binding = objects["ValidatingAdmissionPolicyBinding"]
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert policy["metadata"]["name"] == "labkit-ws1-protect-labels"
    assert binding["spec"]["policyName"] == "labkit-ws1-protect-labels"
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["matchResources"] == {
        "objectSelector": {"matchLabels": {WORKSHOP_LABEL: "ws1"}}
    }
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["resourceRules"] == [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["UPDATE"],
            "resources": ["namespaces"],
        }
    ]
    (condition,) = spec["matchConditions"]
    assert "'system:serviceaccount:jhub:labkit-'" in condition["expression"]
    messages = " ".join(v["message"] for v in spec["validations"])
    assert "labkit.dev/" in messages and POOL_ANNOTATION in messages and "wall" in messages


# -- the hub ConfigMap -----------------------------------------------------------------------------
def test_the_workshop_configmap_round_trips() -> None:
    (config,) = [
        o for o in workshop_objects(WS, hub_namespace_exists=True) if o["kind"] == "ConfigMap"
    ]
    assert config["metadata"]["name"] == WORKSHOP_CONFIGMAP
    assert config["metadata"]["namespace"] == "jhub"
    data = config["data"]
    assert set(data) == {"workshop", "hubNamespace", "logicalNamespaces", "learners"}
    assert json.loads(data["logicalNamespaces"]) == list(LAB_NAMESPACES)
    # every learner reads this ConfigMap: no JupyterHub user names (often e-mail addresses)
    assert json.loads(data["learners"])["bob"] == {
        "serviceAccount": "labkit-bob",
        "namespaces": {n: f"ws1-bob-{n}" for n in LAB_NAMESPACES},
    }
    assert "bob@example.org" not in json.dumps(data)
    assert workshop_config(data) == Workshop(
        WS.id, tuple(Learner(x.name) for x in WS.learners), WS.logical_namespaces, WS.hub_namespace
    )
    # a ConfigMap an older labkit wrote (with hub users) still reads
    old = json.loads(data["learners"])
    old["bob"]["hubUser"] = "bob@example.org"
    assert workshop_config({**data, "learners": json.dumps(old)}) == WS
    other = Workshop("ws2", (Learner("carol"),), ("a", "b"), "hub")
    assert workshop_config(workshop_config_data(other)) == other


def _broken(key: str, value: str | None) -> dict[str, str]:
    data = workshop_config_data(WS)
    if value is None:
        del data[key]
    else:
        data[key] = value
    return data


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("workshop", None, "missing"),
        ("workshop", "WS 1", "not usable"),
        ("hubNamespace", "Hub_NS", "not a namespace name"),
        ("logicalNamespaces", "[", "not JSON"),
        ("logicalNamespaces", '{"a": 1}', "JSON list"),
        ("logicalNamespaces", '["a", "a"]', "distinct"),
        ("learners", "[]", "JSON object"),
        ("learners", '{"Bad Name": {"hubUser": "x"}}', "Bad Name"),
        ("learners", '{"alice": "x"}', "expected an object"),
        ("learners", '{"a": {"hubUser": "u"}, "b": {"hubUser": "u"}}', "mapped to two"),
    ],
)
def test_bad_configmap_data_names_the_key(key: str, value: str | None, match: str) -> None:
    with pytest.raises(WorkshopError, match=match) as error:
        workshop_config(_broken(key, value))
    assert f"key {key!r}" in str(error.value)
    assert "fix:" in str(error.value)


def test_configmap_learner_entries_must_match_the_names() -> None:
    entries = json.loads(workshop_config_data(WS)["learners"])
    entries["alice"]["namespaces"]["trusted"] = "ws1-bob-trusted"
    with pytest.raises(WorkshopError, match="learner 'alice': namespaces"):
        workshop_config(_broken("learners", json.dumps(entries)))
    entries = json.loads(workshop_config_data(WS)["learners"])
    entries["bob"]["serviceAccount"] = "default"
    with pytest.raises(WorkshopError, match="serviceAccount 'default'"):
        workshop_config(_broken("learners", json.dumps(entries)))


# -- IP pool room ----------------------------------------------------------------------------------
def crowd(count: int) -> Workshop:
    return Workshop("ws1", tuple(Learner(f"l{i}") for i in range(count)), LAB_NAMESPACES)


def test_the_lab_pools_hold_a_200_learner_workshop() -> None:
    assert pool_room(WS, TOPOLOGY) == []
    assert pool_room(crowd(200), TOPOLOGY) == []
    assert pool_room(crowd(254), TOPOLOGY, lab_pools()) == []  # a /24 has 254 usable addresses


def test_a_pool_too_small_is_named_with_the_numbers_and_the_fix() -> None:
    problems = pool_room(crowd(255), TOPOLOGY)
    assert len(problems) == 3  # the three dedicated /24 pools; the default /17 has room
    branch = next(p for p in problems if "labkit-branch" in p)
    assert "192.168.1.0/24" in branch
    assert "needs 255 addresses" in branch and "has 254" in branch
    assert "branch-office/client" in branch
    assert "at most 254 learners" in branch
    assert "a /23" in branch
    assert "\n    fix:" in branch


def test_the_default_pool_counts_the_doctor_pods() -> None:
    small = IPPool("labkit-default", ip_network("192.168.128.0/26"))  # 62 usable
    pools = [small, *lab_pools()[1:]]
    per_learner = 6  # my-segment x4, trusted, untrusted
    fits = (62 - DOCTOR_PODS) // per_learner
    assert pool_room(crowd(fits), TOPOLOGY, pools) == []
    (problem,) = pool_room(crowd(fits + 1), TOPOLOGY, pools)
    assert "labkit-default" in problem
    assert f"needs {(fits + 1) * per_learner + DOCTOR_PODS} addresses" in problem
    assert f"{DOCTOR_PODS} for the doctor and the canary" in problem
    assert f"at most {fits} learners" in problem


def test_a_missing_pool_is_reported() -> None:
    lonely = RawObject(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "trusted", "annotations": {POOL_ANNOTATION: '["nowhere"]'}},
        },
        "t.yaml",
    )
    pod = RawObject(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "trusted"}},
        "t.yaml",
    )
    (problem,) = pool_room(WS, [lonely, pod])
    assert "nowhere" in problem and "fix:" in problem
