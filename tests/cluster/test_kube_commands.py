"""Command lines labkit sends to kubectl for the kind and existing backends, and how it
handles refusals (all-or-nothing apply), checked against a fake kubectl on PATH. These
check the requests; whether a real API server accepts them is for the live suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_tools import FakeTools

from labkit.cluster import kube as kube_module
from labkit.cluster.existing import ExistingCluster
from labkit.cluster.kube import KubeCluster, prepare
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.reads import KubectlReads
from labkit.errors import CommandFailed
from labkit.model.loader import RawObject, load_text

KUBECONFIG = Path("/tmp/labkit-test/kubeconfig")


class Kube(KubeCluster):
    def status(self) -> Any:  # abstract in LabCluster; these tests must never reach it
        raise AssertionError("status() is not part of what these tests exercise")


def cluster() -> Kube:
    """Reads through kubectl (the path without the ``kubernetes`` client); the client's reads
    are tested against recorded API responses in test_kube_api.py."""
    kubectl = Kubectl(KUBECONFIG, "kind-labkit")
    return Kube(kubectl, reads=KubectlReads(kubectl))


BATCH = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
"""


def listing(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items)}


def obj(kind: str, name: str, rv: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "resourceVersion": rv}
    if namespace:
        meta["namespace"] = namespace
    return {"kind": kind, "metadata": meta}


def test_every_kubectl_call_names_kubeconfig_and_context(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", stdout=listing())
    c = cluster()
    c.inventory()
    c._delete("Pod", "shop", "web")
    [first, second] = fake_tools.calls("kubectl")
    for call in (first, second):
        assert call.argv[:4] == ["--kubeconfig", str(KUBECONFIG), "--context", "kind-labkit"]
    assert first.argv[4:] == [
        "get",
        "namespaces,pods,services,networkpolicies.networking.k8s.io",
        "--all-namespaces",
        "-o",
        "json",
    ]


def test_apply_dry_runs_the_whole_batch_first_and_applies_nothing_when_refused(
    fake_tools: FakeTools,
) -> None:
    fake_tools.add(
        "kubectl",
        match=["get", "--ignore-not-found"],
        stdout=listing(obj("Namespace", "shop", "1")),
    )
    fake_tools.add(
        "kubectl",
        match=["--dry-run=server"],
        exit=1,
        stderr=('The NetworkPolicy "deny" is invalid: spec.podSelector: Invalid value\n'),
    )
    fake_tools.add("kubectl", match=["apply"], stdout=listing())
    with pytest.raises(CommandFailed) as err:
        cluster()._apply_objects(load_text(BATCH))
    assert "nothing was applied" in str(err.value)
    assert 'NetworkPolicy "deny" is invalid' in str(err.value)
    applies = [c for c in fake_tools.calls("kubectl") if "apply" in c.argv]
    assert len(applies) == 1 and "--dry-run=server" in applies[0].argv
    sent = json.loads(applies[0].stdin)
    assert [i["kind"] for i in sent["items"]] == ["Namespace", "NetworkPolicy"]


def test_apply_is_server_side_with_field_manager_labkit(fake_tools: FakeTools) -> None:
    fake_tools.add(
        "kubectl",
        match=["get", "--ignore-not-found"],
        stdout=listing(obj("Namespace", "shop", "1")),
    )
    fake_tools.add(
        "kubectl",
        match=["apply"],
        stdout=listing(obj("Namespace", "shop", "1"), obj("NetworkPolicy", "deny", "7", "shop")),
    )
    report = cluster()._apply_objects(load_text(BATCH))
    assert report.applied == ("NetworkPolicy shop/deny",)
    assert report.unchanged == ("Namespace shop",)
    dry, real = [c for c in fake_tools.calls("kubectl") if "apply" in c.argv]
    for call in (dry, real):
        assert {"--server-side", "--field-manager=labkit", "--force-conflicts", "-f", "-"} <= set(
            call.argv
        )
    assert "--dry-run=server" in dry.argv and "--dry-run=server" not in real.argv


def test_new_namespaces_are_created_first_and_removed_again_when_the_rest_is_refused(
    fake_tools: FakeTools,
) -> None:
    fake_tools.add("kubectl", match=["get", "--ignore-not-found"], stdout="")
    fake_tools.add(
        "kubectl",
        match=["--dry-run=server"],
        stdin=["NetworkPolicy"],
        exit=1,
        stderr="admission webhook denied the request\n",
    )
    fake_tools.add("kubectl", match=["apply"], stdout=listing(obj("Namespace", "shop", "3")))
    fake_tools.add("kubectl", match=["delete"], stdout="namespace/shop\n")
    with pytest.raises(CommandFailed, match="nothing was applied"):
        cluster()._apply_objects(load_text(BATCH))
    lines = [c.argv[4:] for c in fake_tools.calls("kubectl")]
    assert lines[1][:2] == ["apply", "--dry-run=server"]  # namespaces only
    assert lines[2][0] == "apply" and "--dry-run=server" not in lines[2]
    assert lines[3][:2] == ["apply", "--dry-run=server"]  # the namespaced rest: refused
    assert lines[4][:3] == ["delete", "namespaces", "shop"]
    assert len(lines) == 5


def test_prepare_labels_namespaces_and_strips_server_fields() -> None:
    raw = load_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  resourceVersion: '9'\n"
        "  labels: {app: web}\nspec: {}\nstatus: {podIP: 10.0.0.1}\n"
    )[0]
    data = prepare(raw)
    assert data["metadata"] == {
        "name": "web",
        "namespace": "default",
        "labels": {"app": "web", "labkit.dev/managed": "true"},
    }
    assert "status" not in data
    assert raw.data["metadata"]["labels"] == {"app": "web"}  # the input is not changed
    ns = prepare(
        RawObject({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}, "f")
    )
    assert "namespace" not in ns["metadata"]


@pytest.mark.parametrize(
    ("kind", "ns", "expected"),
    [
        (
            "NetworkPolicy",
            "shop",
            [
                "delete",
                "networkpolicies.networking.k8s.io",
                "deny",
                "--ignore-not-found",
                "--wait=false",
                "-o",
                "name",
                "-n",
                "shop",
            ],
        ),
        (
            "Namespace",
            "",
            ["delete", "namespaces", "deny", "--ignore-not-found", "--wait=false", "-o", "name"],
        ),
    ],
)
def test_delete_command_lines(
    fake_tools: FakeTools, kind: str, ns: str, expected: list[str]
) -> None:
    fake_tools.add("kubectl", match=["delete"], stdout="")
    assert cluster()._delete(kind, ns, "deny") is False
    assert fake_tools.calls("kubectl")[0].argv[4:] == expected


def test_delete_reports_an_existing_object(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["delete"], stdout="pod/web\n")
    assert cluster()._delete("Pod", "shop", "web") is True


def test_label_command_sets_and_removes(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["label"])
    cluster()._set_labels("Namespace", "", "shop", {"env": "prod", "old": None})
    cluster()._set_labels("Pod", "shop", "web", {"role": "db"})
    first, second = (c.argv[4:] for c in fake_tools.calls("kubectl"))
    assert first == ["label", "namespaces", "shop", "--overwrite", "env=prod", "old-"]
    assert second == ["label", "pods", "web", "--overwrite", "-n", "shop", "role=db"]


def test_default_peers_are_the_lab_pods_without_the_canary(fake_tools: FakeTools) -> None:
    def pod(ns: str, name: str, managed: bool) -> dict[str, Any]:
        labels = {"labkit.dev/managed": "true"} if managed else {}
        return {
            "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": []},
            "status": {"podIP": "192.168.1.1"},
        }

    fake_tools.add(
        "kubectl",
        stdout=listing(
            pod("shop", "web", True),
            pod("kube-system", "coredns", False),
            pod("labkit-canary", "client", True),
        ),
    )
    c = cluster()
    assert c.peers() == ["shop/web"]
    assert c.peers(["kube-system"]) == ["kube-system/coredns"]


def test_kubectl_failure_carries_its_stderr_and_a_hint(fake_tools: FakeTools) -> None:
    fake_tools.add(
        "kubectl", exit=1, stderr="The connection to the server 127.0.0.1:6443 was refused\n"
    )
    with pytest.raises(CommandFailed) as err:
        cluster().inventory()
    assert "connection to the server" in str(err.value)
    assert "labkit up" in str(err.value)


def test_existing_cluster_cleanup_deletes_only_labelled_objects(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["delete"])
    ExistingCluster("prod-eu", None).cleanup()
    calls = [c.argv for c in fake_tools.calls("kubectl")]
    assert len(calls) == 2
    for argv in calls:
        assert argv[:2] == ["--context", "prod-eu"]  # no --kubeconfig: the user's own
        assert (
            "-l" in argv
            and argv[argv.index("-l") + 1] == "labkit.dev/managed=true,!labkit.dev/workshop"
        )
    assert calls[0][3].startswith("networkpolicies.networking.k8s.io,services,pods,")
    assert calls[1][3] == "namespaces"


def test_existing_cluster_attach_reads_the_server_version_and_pools(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through kubectl (reads without the client); the client's path is in
    test_kube_api_writes.py."""
    monkeypatch.setattr(kube_module, "default_reads", KubectlReads)
    fake_tools.add(
        "kubectl",
        match=["version"],
        stdout={"serverVersion": {"major": "1", "minor": "35+", "gitVersion": "v1.35.2-eks"}},
    )
    fake_tools.add(
        "kubectl",
        match=["ippools.crd.projectcalico.org"],
        exit=1,
        stderr=('error: the server doesn\'t have a resource type "ippools"\n'),
    )
    found = ExistingCluster.attach("prod-eu")
    assert found.kubernetes_version == "1.35"
    assert found.uses_pools is False
    assert all(
        "apply" not in c.argv and "delete" not in c.argv for c in fake_tools.calls("kubectl")
    )


def test_existing_cluster_without_pools_strips_pool_annotations(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["get", "--ignore-not-found"], stdout="")
    fake_tools.add("kubectl", match=["apply"], stdout=listing())
    c = ExistingCluster("prod-eu")
    c._apply_objects(
        load_text(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: branch-office\n  annotations:\n"
            "    cni.projectcalico.org/ipv4pools: '[\"labkit-branch\"]'\n    keep: 'yes'\n"
        )
    )
    sent = json.loads(next(c for c in fake_tools.calls("kubectl") if "apply" in c.argv).stdin)
    assert sent["items"][0]["metadata"]["annotations"] == {"keep": "yes"}
