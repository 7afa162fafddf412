"""Who a learner's notebook is and which workshop it is in (labkit.cluster.workshop.identity),
and the client calls behind it (KubeApi.self_subject_review / get / served_resources, and the
kubectl equivalents), against recorded API answers served through the client's HTTP layer
(tests/cluster/api_fakes.py) and a fake kubectl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cluster.api_fakes import FakePool, failure, fake_api, fake_server
from cluster.fake_tools import FakeTools
from cluster.fake_tools import fake_tools as fake_tools  # the fixture

from labkit.cluster.kubectl import Kubectl
from labkit.cluster.reads import DISCOVERY_GROUPS, KubectlReads, Listing
from labkit.cluster.workshop.identity import (
    learner_identity,
    pod_namespace,
    read_workshop,
    username_to_learner,
    workshop_accounts,
)
from labkit.errors import ClusterError
from labkit.model.workshop import WORKSHOP_CONFIGMAP, Learner, Workshop

REVIEWS = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
ACCOUNTS = {"labkit-alice": "alice", "labkit-bob": "bob"}


def review(username: str) -> bytes:
    """A SelfSubjectReview as the API server answers it for a pod's service account token."""
    return json.dumps(
        {
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "status": {
                "userInfo": {
                    "username": username,
                    "uid": "2b8f1a0c-3d1e-4b9e-9a51-0f3c7d2e8a11",
                    "groups": [
                        "system:serviceaccounts",
                        "system:serviceaccounts:jhub",
                        "system:authenticated",
                    ],
                    "extra": {
                        "authentication.kubernetes.io/pod-name": ["jupyter-alice"],
                        "authentication.kubernetes.io/pod-uid": [
                            "7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
                        ],
                    },
                }
            },
        }
    ).encode()


# -- username -> learner ------------------------------------------------------------------------
def test_a_learners_service_account_is_that_learner() -> None:
    assert username_to_learner("system:serviceaccount:jhub:labkit-alice", "jhub", ACCOUNTS) == (
        "alice"
    )
    assert username_to_learner("system:serviceaccount:hub2:labkit-bob", "hub2", ACCOUNTS) == "bob"


@pytest.mark.parametrize(
    ("username", "says"),
    [
        ("kubernetes-admin", "as 'kubernetes-admin', which is not a learner"),
        ("system:serviceaccount:jhub:default", "ServiceAccount jhub/default, which is not a"),
        ("system:serviceaccount:other:labkit-alice", "of namespace other, not a learner"),
        ("system:serviceaccount:jhub:labkit-carol", "ServiceAccount jhub/labkit-carol"),
        ("system:serviceaccount:jhub", "is not a service account's"),
        ("system:serviceaccount:jhub:a:b", "is not a service account's"),
    ],
)
def test_anyone_else_is_told_what_to_check(username: str, says: str) -> None:
    with pytest.raises(ClusterError) as err:
        username_to_learner(username, "jhub", ACCOUNTS)
    text = str(err.value)
    assert says in text
    assert "\n    fix: " in text
    assert "labkit workshop init" in text and "pre_spawn_hook" in text
    assert "labkit-<learner>" in text and "namespace jhub" in text


def test_the_accounts_of_a_workshop_map_to_its_learners() -> None:
    workshop = Workshop("ws1", (Learner("alice"), Learner("bob", "bob@uni")), ("trusted",))
    assert workshop_accounts(workshop) == ACCOUNTS


# -- the pod's namespace ------------------------------------------------------------------------
def test_the_pods_namespace_comes_from_the_mounted_file(tmp_path: Path) -> None:
    path = tmp_path / "namespace"
    path.write_text("jhub")  # the kubelet writes it without a newline
    assert pod_namespace(path) == "jhub"
    path.write_text("jhub\n")
    assert pod_namespace(path) == "jhub"


def test_outside_a_pod_there_is_no_namespace(tmp_path: Path) -> None:
    assert pod_namespace(tmp_path / "missing") is None
    empty = tmp_path / "namespace"
    empty.write_text("")
    assert pod_namespace(empty) is None


# -- SelfSubjectReview through the client -------------------------------------------------------
def test_the_client_posts_a_self_subject_review_and_reads_the_username() -> None:
    pool = FakePool()
    pool.add(REVIEWS, review("system:serviceaccount:jhub:labkit-alice"), status=201)
    assert fake_api(pool).self_subject_review() == "system:serviceaccount:jhub:labkit-alice"
    [request] = pool.requests
    assert (request.method, request.path) == ("POST", REVIEWS)
    assert request.content_type == "application/json"
    assert request.body == {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}


def test_learner_identity_comes_from_the_api_server_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LABKIT_LEARNER", "bob")  # ignored on a real cluster
    pool = FakePool()
    pool.add(REVIEWS, review("system:serviceaccount:jhub:labkit-alice"), status=201)
    workshop = Workshop("ws1", (Learner("alice"), Learner("bob")), ("trusted",))
    assert learner_identity(fake_api(pool), workshop) == "alice"


def test_a_cluster_without_self_subject_review_says_which_version_is_needed() -> None:
    pool = FakePool()  # every path is a 404, as on Kubernetes 1.27 without the beta
    with pytest.raises(ClusterError) as err:
        fake_api(pool).self_subject_review()
    text = str(err.value)
    assert text.startswith("who am I (SelfSubjectReview): the API server answered 404")
    assert "Kubernetes 1.28 or newer" in text


def test_a_review_without_a_username_is_an_error() -> None:
    pool = FakePool()
    body = {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1", "status": {}}
    pool.add(REVIEWS, json.dumps(body).encode(), status=201)
    with pytest.raises(ClusterError, match="names no user"):
        fake_api(pool).self_subject_review()


def test_an_unauthenticated_review_is_an_api_error() -> None:
    pool = FakePool()
    pool.add(REVIEWS, failure(401, "Unauthorized", "Unauthorized")[1], status=401)
    with pytest.raises(ClusterError, match="answered 401: Unauthorized"):
        fake_api(pool).self_subject_review()


# -- get by name --------------------------------------------------------------------------------
def test_get_reads_one_object_by_name_and_sets_its_kind() -> None:
    pool = FakePool()
    fake_server(pool)
    api = fake_api(pool)
    ns = api.get("namespaces", None, "shop")
    assert ns is not None
    assert (ns["kind"], ns["apiVersion"], ns["metadata"]["name"]) == ("Namespace", "v1", "shop")
    assert api.get("namespaces", None, "ws1-alice-trusted") is None
    assert api.get("configmaps", "jhub", WORKSHOP_CONFIGMAP) is None
    assert [(r.method, r.path) for r in pool.requests] == [
        ("GET", "/api/v1/namespaces/shop"),
        ("GET", "/api/v1/namespaces/ws1-alice-trusted"),
        ("GET", f"/api/v1/namespaces/jhub/configmaps/{WORKSHOP_CONFIGMAP}"),
    ]


def test_get_of_a_forbidden_object_is_an_error_not_none() -> None:
    pool = FakePool()
    path = f"/api/v1/namespaces/jhub/configmaps/{WORKSHOP_CONFIGMAP}"
    message = (
        'configmaps "labkit-workshop" is forbidden: User '
        '"system:serviceaccount:jhub:labkit-alice" cannot get resource "configmaps" in API '
        'group "" in the namespace "jhub"'
    )
    pool.add(path, failure(403, "Forbidden", message)[1], status=403)
    with pytest.raises(ClusterError) as err:
        fake_api(pool).get("configmaps", "jhub", WORKSHOP_CONFIGMAP)
    assert str(err.value).startswith(
        "get ConfigMap jhub/labkit-workshop: the API server answered 403: configmaps "
    )


# -- the workshop ConfigMap ---------------------------------------------------------------------
def workshop_configmap() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": WORKSHOP_CONFIGMAP, "namespace": "jhub", "uid": "u1"},
        "data": {"workshop": "ws1", "learners": "alice\nbob\n"},
    }


def test_read_workshop_gets_the_configmap_by_name_through_the_client() -> None:
    pool = FakePool()
    store = fake_server(pool)
    api = fake_api(pool)
    assert read_workshop(api, "jhub") is None
    store.seed([workshop_configmap()], "v1", "configmaps")
    assert read_workshop(api, "jhub") == {"workshop": "ws1", "learners": "alice\nbob\n"}
    assert {r.path for r in pool.requests} == {
        f"/api/v1/namespaces/jhub/configmaps/{WORKSHOP_CONFIGMAP}"
    }


def test_read_workshop_through_kubectl(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["configmaps", "ws-hub"], stdout="")
    fake_tools.add("kubectl", match=["configmaps", "jhub"], stdout=workshop_configmap())
    reads = KubectlReads(Kubectl(None, "ctx"))
    assert read_workshop(reads, "jhub") == {"workshop": "ws1", "learners": "alice\nbob\n"}
    assert read_workshop(reads, "ws-hub") is None  # --ignore-not-found prints nothing
    asked = ["get", "configmaps", WORKSHOP_CONFIGMAP, "-n"]
    assert [c.argv for c in fake_tools.calls("kubectl")] == [
        ["--context", "ctx", *asked, ns, "--ignore-not-found", "-o", "json"]
        for ns in ("jhub", "ws-hub")
    ]


def test_a_configmap_without_data_is_an_empty_workshop_description() -> None:
    class Reads:
        def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any]:
            return {"kind": "ConfigMap", "metadata": {"name": name}}

        def list(self, *args: Any, **kwargs: Any) -> Listing:
            raise AssertionError("read_workshop must not list")

    assert read_workshop(Reads(), "jhub") == {}  # type: ignore[arg-type]


# -- kubectl: whoami and discovery --------------------------------------------------------------
def test_kubectl_asks_auth_whoami(fake_tools: FakeTools) -> None:
    answer = review("system:serviceaccount:jhub:labkit-bob").decode()
    fake_tools.add("kubectl", match=["auth", "whoami"], stdout=answer)
    reads = KubectlReads(Kubectl(None, "ctx"))
    assert reads.self_subject_review() == "system:serviceaccount:jhub:labkit-bob"
    [call] = fake_tools.calls("kubectl")
    assert call.argv == ["--context", "ctx", "auth", "whoami", "-o", "json"]


GROUPS = {
    "kind": "APIGroupList",
    "apiVersion": "v1",
    "groups": [
        {
            "name": "apps",
            "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
        },
        {
            "name": "admissionregistration.k8s.io",
            "versions": [{"groupVersion": "admissionregistration.k8s.io/v1", "version": "v1"}],
            "preferredVersion": {
                "groupVersion": "admissionregistration.k8s.io/v1",
                "version": "v1",
            },
        },
        {
            "name": "crd.projectcalico.org",
            "versions": [{"groupVersion": "crd.projectcalico.org/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "crd.projectcalico.org/v1", "version": "v1"},
        },
        {
            "name": "projectcalico.org",
            "versions": [{"groupVersion": "projectcalico.org/v3", "version": "v3"}],
            "preferredVersion": {"groupVersion": "projectcalico.org/v3", "version": "v3"},
        },
    ],
}


def resource_list(group_version: str, names: list[tuple[str, str, bool]]) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": name,
                "singularName": "" if "/" in name else kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["get", "patch", "update"] if "/" in name else ["create", "get", "list"],
            }
            for name, kind, namespaced in names
        ],
    }


ADMISSION = resource_list(
    "admissionregistration.k8s.io/v1",
    [
        ("validatingadmissionpolicies", "ValidatingAdmissionPolicy", False),
        ("validatingadmissionpolicies/status", "ValidatingAdmissionPolicy", False),
        ("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", False),
    ],
)
CALICO_CRDS = resource_list(
    "crd.projectcalico.org/v1",
    [
        ("globalnetworkpolicies", "GlobalNetworkPolicy", False),
        ("tiers", "Tier", False),
        ("ippools", "IPPool", False),
    ],
)
EXPECTED = {
    "admissionregistration.k8s.io/v1/validatingadmissionpolicies",
    "admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
    "crd.projectcalico.org/v1/globalnetworkpolicies",
    "crd.projectcalico.org/v1/tiers",
    "crd.projectcalico.org/v1/ippools",
}


def test_discovery_probes_only_the_groups_it_needs(caplog: pytest.LogCaptureFixture) -> None:
    """Calico's API server (projectcalico.org/v3, an aggregated API) is down: its group is
    listed but its discovery answers 503, so it counts as not served."""
    pool = FakePool()
    pool.add("/apis/", json.dumps(GROUPS).encode())
    pool.add("/apis/admissionregistration.k8s.io/v1", json.dumps(ADMISSION).encode())
    pool.add("/apis/crd.projectcalico.org/v1", json.dumps(CALICO_CRDS).encode())
    code, body = failure(503, "ServiceUnavailable", "the server is currently unable to handle")
    pool.add("/apis/projectcalico.org/v3", body, status=code)
    assert fake_api(pool).served_resources() == EXPECTED
    assert sorted(r.path for r in pool.requests) == [
        "/apis/",
        "/apis/admissionregistration.k8s.io/v1",
        "/apis/crd.projectcalico.org/v1",
        "/apis/projectcalico.org/v3",
    ]
    assert "discover projectcalico.org/v3: the API server answered 503" in caplog.text
    assert "policy.networking.k8s.io" in DISCOVERY_GROUPS  # asked for, not served here


def test_discovery_of_chosen_groups_only() -> None:
    pool = FakePool()
    pool.add("/apis/", json.dumps(GROUPS).encode())
    pool.add("/apis/crd.projectcalico.org/v1", json.dumps(CALICO_CRDS).encode())
    assert fake_api(pool).served_resources(["crd.projectcalico.org"]) == {
        r for r in EXPECTED if r.startswith("crd.")
    }
    assert [r.path for r in pool.requests] == ["/apis/", "/apis/crd.projectcalico.org/v1"]


def test_discovery_through_kubectl_reads_raw_paths(fake_tools: FakeTools) -> None:
    unavailable = (
        "Error from server (ServiceUnavailable): the server is currently unable to handle "
        "the request"
    )
    fake_tools.add("kubectl", match=["/apis/admissionregistration.k8s.io/v1"], stdout=ADMISSION)
    fake_tools.add("kubectl", match=["/apis/crd.projectcalico.org/v1"], stdout=CALICO_CRDS)
    fake_tools.add("kubectl", match=["/apis/projectcalico.org/v3"], exit=1, stderr=unavailable)
    fake_tools.add("kubectl", match=["--raw", "/apis"], stdout=GROUPS)
    reads = KubectlReads(Kubectl(None, "ctx"))
    assert reads.served_resources() == EXPECTED
    argv = [c.argv for c in fake_tools.calls("kubectl")]
    assert argv[0] == ["--context", "ctx", "get", "--raw", "/apis"]
    assert sorted(a[-1] for a in argv[1:]) == [
        "/apis/admissionregistration.k8s.io/v1",
        "/apis/crd.projectcalico.org/v1",
        "/apis/projectcalico.org/v3",
    ]
    assert all("-o" not in a for a in argv)  # kubectl refuses --raw with --output
