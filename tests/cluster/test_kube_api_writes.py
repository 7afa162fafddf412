"""Writes through the official client (labkit.cluster.kube_api.KubeApi as
labkit.cluster.writes.Writes) against recorded API responses and a small in-memory API
server (api_fakes.ObjectStore) behind the client's own urllib3 pool: the exact request
paths, query parameters (dryRun, fieldManager, force, labelSelector, fieldSelector) and
content types; all-or-nothing batches; reset and cleanup on a shared cluster; and `labkit up
--backend existing` in a pod with no kubectl, through in-cluster configuration."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import urllib3
from api_fakes import FakePool, ObjectStore, fake_api, fake_server, fixture

from labkit.cluster import deploy, kube_api, writes
from labkit.cluster.canary import CANARY_NAMESPACE, DENY_POLICY, CanarySettings, run_canary
from labkit.cluster.commands import Completed
from labkit.cluster.kube import KubeCluster, reset_deletions
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.topology import topology_manifests
from labkit.errors import ClusterError

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
SELECTOR = "labkit.dev/managed=true,!labkit.dev/workshop"


class Kube(KubeCluster):
    def status(self) -> Any:
        raise AssertionError("not used here")


def client_cluster(pool: FakePool) -> Kube:
    api = fake_api(pool)
    return Kube(Kubectl(None, None), reads=api, writes=api)


def policy(name: str, namespace: str = "shop", cidr: str = "10.0.0.0/8") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": cidr}}]}],
        },
    }


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def np_path(name: str, ns: str = "shop") -> str:
    return f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/{name}"


def patches(pool: FakePool) -> list[tuple[str, bool]]:
    """``(path, dry run)`` of every PATCH, in order."""
    return [(r.path, r.query.get("dryRun") == "All") for r in pool.requests if r.method == "PATCH"]


# -- server-side apply: paths, parameters, content type ---------------------------------------
@pytest.mark.parametrize(
    ("doc", "path"),
    [
        (namespace("lab"), "/api/v1/namespaces/lab"),
        (
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"}},
            "/api/v1/namespaces/shop/pods/web",
        ),
        (
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}},
            "/api/v1/namespaces/default/services/web",
        ),
        (policy("deny"), np_path("deny")),
        (
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
            "/apis/apps/v1/namespaces/default/deployments/d",
        ),
        (
            {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}},
            "/apis/batch/v1/namespaces/default/cronjobs/c",
        ),
        (
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "NetworkPolicy",
                "metadata": {"name": "p"},
            },
            "/apis/projectcalico.org/v3/namespaces/default/networkpolicies/p",
        ),
        (
            {
                "apiVersion": "crd.projectcalico.org/v1",
                "kind": "GlobalNetworkPolicy",
                "metadata": {"name": "g"},
            },
            "/apis/crd.projectcalico.org/v1/globalnetworkpolicies/g",
        ),
        (
            {
                "apiVersion": "policy.networking.k8s.io/v1alpha1",
                "kind": "AdminNetworkPolicy",
                "metadata": {"name": "a"},
            },
            "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies/a",
        ),
    ],
)
def test_server_side_apply_is_a_patch_of_the_objects_own_path(
    doc: dict[str, Any], path: str
) -> None:
    pool = FakePool()
    pool.add(path, b"{}")
    fake_api(pool).apply([doc], dry_run=True)
    [request] = pool.requests
    assert (request.method, request.path) == ("PATCH", path)
    assert request.query == {"dryRun": "All", "fieldManager": "labkit", "force": "true"}
    assert request.content_type == APPLY
    assert request.body == doc


@pytest.mark.parametrize(
    "res", [r for r in writes.WRITABLE.values() if r.method_name], ids=lambda r: r.kind
)
def test_every_built_in_kind_labkit_writes_has_its_generated_methods(res: Any) -> None:
    from kubernetes import client

    api = getattr(client, kube_api.TYPED_APIS[res.group])
    scope = "namespaced_" if res.namespaced else ""
    for verb in ("read", "patch", "delete"):
        assert callable(getattr(api, f"{verb}_{scope}{res.method_name}", None)), verb
    listing = f"list_{res.method_name}" + ("_for_all_namespaces" if res.namespaced else "")
    assert callable(getattr(api, listing, None))


def test_a_real_apply_sends_no_dry_run_and_returns_the_servers_answer() -> None:
    pool = FakePool()
    pool.add(np_path("a"), fixture("applied-networkpolicy.json"))
    [answer] = fake_api(pool).apply([policy("a")])
    assert pool.requests[0].query == {"fieldManager": "labkit", "force": "true"}
    assert answer["metadata"]["resourceVersion"] == "48301"
    assert answer["metadata"]["managedFields"][0]["manager"] == "labkit"


def test_a_kind_the_client_cannot_write_is_refused_before_any_request() -> None:
    pool = FakePool()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}
    with pytest.raises(ClusterError, match="cannot write Secret"):
        fake_api(pool).apply([policy("a"), secret], dry_run=True)
    assert pool.requests == []


# -- all or nothing ------------------------------------------------------------------------
def test_the_batch_is_dry_run_whole_then_applied() -> None:
    pool = FakePool()
    store = fake_server(pool)
    report = client_cluster(pool).apply([policy("a"), policy("b")])
    assert patches(pool) == [
        (np_path("a"), True),
        (np_path("b"), True),
        (np_path("a"), False),
        (np_path("b"), False),
    ]
    assert report.applied == ("NetworkPolicy shop/a", "NetworkPolicy shop/b")
    stored = store.find("NetworkPolicy", "a", "shop")
    assert stored is not None and stored["metadata"]["labels"] == {"labkit.dev/managed": "true"}
    pool.requests.clear()
    again = client_cluster(pool).apply([policy("a"), policy("b")])
    assert again.unchanged == ("NetworkPolicy shop/a", "NetworkPolicy shop/b")


def test_a_dry_run_refusal_of_the_second_object_applies_nothing() -> None:
    """A refusal labkit cannot foresee (RBAC: the notebook's service account may not write
    in that namespace) on the dry run of the 2nd object: nothing is applied for real."""
    pool = FakePool()
    store = fake_server(pool)
    store.seed([namespace("payments")], "v1", "namespaces")
    pool.add(
        np_path("b", "payments"),
        fixture("status-forbidden-patch.json"),
        status=403,
        method="PATCH",
    )
    with pytest.raises(ClusterError) as err:
        client_cluster(pool).apply([policy("a"), policy("b", "payments")])
    text = str(err.value)
    assert text.startswith(
        "apply NetworkPolicy payments/b (dry run): the API server answered 403: "
        'networkpolicies.networking.k8s.io "b" is forbidden: User '
        '"system:serviceaccount:jupyterhub:jupyter-ada" cannot patch'
    )
    assert "nothing was applied" in text
    assert patches(pool) == [(np_path("a"), True), (np_path("b", "payments"), True)]
    assert store.find("NetworkPolicy", "a", "shop") is None


def test_a_refusal_in_a_new_namespace_removes_the_namespace_again() -> None:
    """Namespaced objects cannot be dry-run in a namespace that does not exist yet (404), so
    the new namespace is applied first and deleted when the rest is refused."""
    pool = FakePool()
    store = fake_server(pool)
    store.refuse[np_path("b", "fresh")] = "spec.podSelector: Required value"
    with pytest.raises(ClusterError, match="nothing was applied"):
        client_cluster(pool).apply([namespace("fresh"), policy("a", "fresh"), policy("b", "fresh")])
    assert patches(pool) == [
        ("/api/v1/namespaces/fresh", True),
        ("/api/v1/namespaces/fresh", False),
        (np_path("a", "fresh"), True),
        (np_path("b", "fresh"), True),
    ]
    deletes = [r for r in pool.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == ["/api/v1/namespaces/fresh"]
    assert store.find("Namespace", "fresh") is None


def test_a_refusal_midway_through_the_real_apply_says_what_was_applied() -> None:
    pool = FakePool()
    store = fake_server(pool)
    store.refuse[np_path("b")] = 'admission webhook "policy.example.com" denied the request'
    with pytest.raises(ClusterError) as err:
        fake_api(pool).apply([policy("a"), policy("b"), policy("c")])
    lines = str(err.value).splitlines()
    assert lines[0] == (
        "apply NetworkPolicy shop/b: the API server answered 422: "
        'admission webhook "policy.example.com" denied the request'
    )
    assert lines[1].strip() == "applied before the refusal: NetworkPolicy shop/a"
    assert lines[2].strip() == "not applied: NetworkPolicy shop/b, NetworkPolicy shop/c"
    assert "nothing was applied" not in str(err.value)
    assert store.find("NetworkPolicy", "a", "shop") is not None
    assert store.find("NetworkPolicy", "c", "shop") is None


# -- delete and label ------------------------------------------------------------------------
def test_delete_by_name_is_a_background_delete_and_a_missing_object_is_false() -> None:
    pool = FakePool()
    store = fake_server(pool)
    api = fake_api(pool)
    api.apply([policy("a")])
    assert api.delete("NetworkPolicy", "shop", "a") is True
    assert api.delete("NetworkPolicy", "shop", "a") is False
    first = next(r for r in pool.requests if r.method == "DELETE")
    assert first.path == np_path("a")
    assert first.body == {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Background",
    }
    assert store.find("NetworkPolicy", "a", "shop") is None


def test_a_label_change_is_a_merge_patch_of_metadata_labels() -> None:
    pool = FakePool()
    store = fake_server(pool)
    fake_api(pool).set_labels("Namespace", "", "shop", {"team": "blue", "environment": None})
    [request] = pool.requests
    assert (request.method, request.path, request.content_type) == (
        "PATCH",
        "/api/v1/namespaces/shop",
        MERGE,
    )
    assert request.query == {"fieldManager": "labkit"}
    assert request.body == {"metadata": {"labels": {"team": "blue", "environment": None}}}
    labels = store.objects[next(t for t in store.objects if t.name == "shop")]["metadata"]
    assert labels["labels"]["team"] == "blue" and "environment" not in labels["labels"]


def foreign_and_managed(store: ObjectStore, api: kube_api.KubeApi) -> None:
    """Another team's namespace, pod and policy (no label), and labkit's own in a lab
    namespace and a namespace labkit made."""
    store.seed([namespace("other-team")], "v1", "namespaces")
    store.seed(
        [
            {
                **policy("their-deny", "other-team"),
                "metadata": {"name": "their-deny", "namespace": "other-team"},
            }
        ],
        "networking.k8s.io/v1",
        "networkpolicies",
    )
    store.seed(
        [{"kind": "Pod", "metadata": {"name": "their-api", "namespace": "other-team"}}],
        "v1",
        "pods",
    )
    docs = [namespace("scratch", **{"labkit.dev/managed": "true"})]
    mine = {"labkit.dev/managed": "true"}
    docs += [
        {
            **policy("mine", "shop"),
            "metadata": {"name": "mine", "namespace": "shop", "labels": mine},
        }
    ]
    api.apply(docs)


def test_cleanup_deletes_by_the_managed_selector_only() -> None:
    pool = FakePool()
    store = fake_server(pool)
    api = fake_api(pool)
    foreign_and_managed(store, api)
    pool.requests.clear()
    Kube(Kubectl(None, None), reads=api, writes=api).delete_managed()
    lists = [r for r in pool.requests if r.method == "GET"]
    assert {r.query.get("labelSelector") for r in lists} == {SELECTOR}
    assert "/apis/networking.k8s.io/v1/networkpolicies" in [r.path for r in lists]
    deleted = sorted(r.path for r in pool.requests if r.method == "DELETE")
    # shop is labkit's (labelled in the recording); other-team is not
    assert deleted == ["/api/v1/namespaces/scratch", "/api/v1/namespaces/shop", np_path("mine")]
    assert all(r.body["preconditions"]["uid"] for r in pool.requests if r.method == "DELETE")
    for kind, name, ns in [
        ("NetworkPolicy", "their-deny", "other-team"),
        ("Pod", "their-api", "other-team"),
    ]:
        assert any(t.name == name and t.namespace == ns for t in store.objects), (kind, name)


def test_reset_through_the_client_sends_the_selectors_kubectl_would() -> None:
    """The very deletions of kube.reset_deletions (one code path builds the selectors): each
    list carries the managed label selector and the same field selector as the kubectl
    command line; only labelled objects outside the topology go, and a label the topology
    does not give is removed by a merge patch."""
    pool = FakePool()
    store = fake_server(pool)
    api = fake_api(pool)
    cluster = Kube(Kubectl(None, None), reads=api, writes=api)
    foreign_and_managed(store, api)
    cluster._apply_objects(topology_manifests())
    api.set_labels("Namespace", "", "my-segment", {"stray": "x"})
    pool.requests.clear()
    cluster.reset()
    expected = [
        (res.plural, d.namespace, d.field_selector)
        for d in reset_deletions(topology_manifests())
        for res in d.resources
    ]
    sent = [
        (r.path, r.query.get("fieldSelector", ""))
        for r in pool.requests
        if r.method == "GET" and r.query.get("labelSelector") == SELECTOR
    ][: len(expected)]
    assert [field for _, field in sent] == [field for _, _, field in expected]
    for (path, _), (plural, ns, _) in zip(sent, expected, strict=True):
        scope = re.search(r"/namespaces/([^/]+)/", path)
        assert path.endswith(f"/{plural}") and (scope.group(1) if scope else None) == ns
    assert store.find("NetworkPolicy", "mine", "shop") is None
    assert store.find("Namespace", "scratch") is None
    assert any(t.name == "their-deny" and t.namespace == "other-team" for t in store.objects)
    assert any(t.name == "other-team" and t.plural == "namespaces" for t in store.objects)
    assert store.find("Namespace", "my-segment") is not None
    [unlabel] = [r for r in pool.requests if r.content_type == MERGE]
    assert (unlabel.path, unlabel.body) == (
        "/api/v1/namespaces/my-segment",
        {"metadata": {"labels": {"stray": None}}},
    )
    segment = store.find("Namespace", "my-segment")
    assert segment is not None and "stray" not in segment["metadata"]["labels"]


def test_kubectl_and_the_client_share_the_reset_selectors() -> None:
    """kubectl's command lines are rendered from the same Deletion values."""
    for deletion in reset_deletions(topology_manifests()):
        args = deletion.kubectl_args()
        assert args[args.index("-l") + 1] == deletion.label_selector == SELECTOR
        if deletion.field_selector:
            assert args[args.index("--field-selector") + 1] == deletion.field_selector


# -- which writes -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kubectl_on_path", "context", "kubectl_chosen"),
    [(True, "kind-labkit", True), (True, None, False), (False, "kind-labkit", False)],
)
def test_kubectl_writes_where_installed_and_a_context_is_given(
    monkeypatch: pytest.MonkeyPatch,
    kubectl_on_path: bool,
    context: str | None,
    kubectl_chosen: bool,
) -> None:
    from labkit.cluster import commands

    monkeypatch.setattr(
        commands, "which", lambda tool: "/usr/bin/kubectl" if kubectl_on_path else None
    )
    chosen = writes.default_writes(Kubectl(None, context))
    assert isinstance(chosen, writes.KubectlWrites) is kubectl_chosen
    assert isinstance(chosen, kube_api.KubeApi) is not kubectl_chosen


def test_reads_and_writes_share_one_client() -> None:
    api = fake_api(FakePool())
    cluster = Kube(Kubectl(None, None), reads=api)
    assert cluster.writes is api  # no context: the client, the one the reads use


# -- labkit up --backend existing in a pod with no kubectl --------------------------------------
FAST = CanarySettings(ready_s=10, baseline_s=10, block_s=10, restore_s=10, interval=0.01)
TOKEN = "eyJhbGciOi.pod-sa-token"


@pytest.fixture
def in_a_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FakePool, ObjectStore]:
    """A pod: service host and account, no kubectl (an empty PATH), the API server behind the
    client's pool; the canary's agnhost probes answered from the stored objects (no exec
    stream here); no subprocess may run."""
    from kubernetes.config import incluster_config

    from labkit.cluster import commands

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text(TOKEN)
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)

    def no_subprocess(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"no subprocess in a pod without kubectl: {args}")

    monkeypatch.setattr(commands, "run", no_subprocess)
    pool = FakePool()
    pool.add("/version/", fixture("version.json"))
    store = fake_server(pool)
    monkeypatch.setattr(urllib3, "PoolManager", lambda *a, **k: pool)

    def fake_exec(self: Any, ns: str, pod: str, argv: Sequence[str], **kwargs: Any) -> Completed:
        assert (ns, pod) == (CANARY_NAMESPACE, "client")
        server = store.find("Pod", "server", CANARY_NAMESPACE)
        server_ip = server["status"]["podIP"] if server else ""
        denied = store.find("NetworkPolicy", DENY_POLICY, CANARY_NAMESPACE) is not None
        lines = []
        for index, address in re.findall(r"^p (\d+) /agnhost connect (\S+) ", argv[-1], re.M):
            blocked = denied and address == f"{server_ip}:8080"
            lines.append(f"@@labkit {index} {1 if blocked else 0} {'TIMEOUT' if blocked else ''}")
        return Completed(("exec",), 0, "\n".join(lines) + "\n", "", 0.01)

    monkeypatch.setattr(kube_api.KubeApi, "exec", fake_exec)
    monkeypatch.setattr(deploy, "run_canary", lambda *a, **k: run_canary(*a, **k, settings=FAST))
    return pool, store


def test_labkit_up_existing_in_a_pod_without_kubectl_reaches_ready(
    in_a_pod: tuple[FakePool, ObjectStore], capsys: pytest.CaptureFixture[str]
) -> None:
    from labkit.cli.main import main
    from labkit.cluster import lifecycle

    pool, store = in_a_pod
    assert main(["up", "--backend", "existing"]) == 0
    out = capsys.readouterr().out
    assert "in-cluster" in out and "the pod's service account" in out
    assert "ready" in out.lower()
    for raw in topology_manifests():
        ns = "" if raw.kind == "Namespace" else raw.namespace
        assert store.find(raw.kind, raw.name, ns) is not None, raw.title
    assert store.find("Namespace", CANARY_NAMESPACE) is None  # the canary cleaned up
    assert {r.authorization for r in pool.requests} == {f"bearer {TOKEN}"}
    applies = [r for r in pool.requests if r.content_type == APPLY]
    assert applies and all(r.query["fieldManager"] == "labkit" for r in applies)
    assert [r.query.get("dryRun") for r in applies][:1] == ["All"]

    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert re.search(r"context:\s+none: in-cluster, the pod's service account", status)
    record = lifecycle.read_record()
    assert record is not None
    assert (record["backend"], record["context"], record["state"]) == ("existing", None, "ready")

    assert main(["down"]) == 0
    assert "the cluster itself is untouched" in capsys.readouterr().out
    assert all(
        store.find(o.kind, o.name) is None for o in topology_manifests() if o.kind == "Namespace"
    )
    assert any(t.name == "kube-system" for t in store.objects)
    assert lifecycle.read_record() is None


def test_the_notebook_facade_applies_and_labels_in_a_pod(
    in_a_pod: tuple[FakePool, ObjectStore],
) -> None:
    from labkit import lab

    pool, store = in_a_pod
    session = lab.up("existing")
    assert session.status.ready
    assert dict(session.status.details)["context"].startswith("none: in-cluster")
    lab.apply(policy("deny-all", "my-segment"))
    stored = store.find("NetworkPolicy", "deny-all", "my-segment")
    assert stored is not None and stored["metadata"]["labels"]["labkit.dev/managed"] == "true"
    lab.label("Namespace", "my-segment", {"tier": "gold"})
    segment = store.find("Namespace", "my-segment")
    assert segment is not None and segment["metadata"]["labels"]["tier"] == "gold"
    patches = [r for r in pool.requests if r.method == "PATCH"]
    assert patches[-1].content_type == MERGE  # the label change: a merge patch


def test_outside_a_pod_the_existing_backend_still_needs_a_context(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from labkit.cluster import lifecycle

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    with pytest.raises(ClusterError, match="needs a kubeconfig context"):
        lifecycle.up("existing")


def test_a_dry_run_in_a_pod_names_the_pods_own_cluster_and_sends_nothing(
    in_a_pod: tuple[FakePool, ObjectStore],
) -> None:
    from labkit.cluster import lifecycle

    pool, _ = in_a_pod
    plan = lifecycle.up("existing", dry_run=True)
    assert isinstance(plan, str)
    assert "would use the pod's own cluster" in plan and "service account" in plan
    assert pool.requests == []


def test_in_a_pod_without_the_client_up_says_to_install_it(
    in_a_pod: tuple[FakePool, ObjectStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.cluster import existing, lifecycle

    monkeypatch.setattr(existing, "client_installed", lambda: False)
    with pytest.raises(ClusterError, match=r"pip install 'labkit\[lab\]'"):
        lifecycle.up("existing")


def test_with_a_context_but_neither_kubectl_nor_the_client_attach_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from labkit.cluster import reads
    from labkit.cluster.existing import ExistingCluster
    from labkit.errors import PrerequisiteMissing

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(reads, "client_installed", lambda: False)
    monkeypatch.setattr(writes, "client_installed", lambda: False)
    with pytest.raises(PrerequisiteMissing, match="neither is installed"):
        ExistingCluster.attach("prod-eu")
