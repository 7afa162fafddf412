"""`reset` and `down` on a shared cluster delete only what labkit created (labelled
``labkit.dev/managed=true``), on every backend; `apply` gives every object that label and says
so. Another team's namespace, pod and NetworkPolicy (no label) are present in every test.

The kind and existing backends are checked against a fake kubectl: every delete command must
carry the exact label selector, keep the topology out by field selectors, and never name a
foreign object; labels are only ever removed from the topology's own objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_tools import FakeTools

from labkit.cluster import kube as kube_module
from labkit.cluster.backend import ApplyReport
from labkit.cluster.existing import ExistingCluster
from labkit.cluster.kind.cluster import KindCluster, KindOptions
from labkit.cluster.kube import KubeCluster
from labkit.cluster.reads import KubectlReads
from labkit.cluster.sim_apply import merge
from labkit.cluster.simulated import SimulatedCluster, plan_for
from labkit.cluster.topology import LAB_NAMESPACES, LAB_PODS, topology_manifests
from labkit.model.loader import RawObject
from labkit.model.objects import MANAGED_LABEL

SELECTOR = "labkit.dev/managed=true,!labkit.dev/workshop"
FLAGS = ["-l", SELECTOR, "--ignore-not-found", "--wait=false"]
FOREIGN_NAMES = ("other-team", "their-deny", "their-api", "their-sidecar")


RBAC = (
    "roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,"
    "clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io"
)
"""labkit's RBAC objects (the who-may-change-policies lesson) go with the rest."""


def meta(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        out["namespace"] = namespace
    return out


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, **labels)}


def pod(name: str, ns: str, ip: str = "", **labels: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, ns, **labels),
        "spec": {"containers": [{"name": "c", "image": "agnhost"}]},
    }
    if ip:
        obj["status"] = {"phase": "Running", "podIP": ip}
    return obj


def netpol(name: str, ns: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name, ns, **labels),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def foreign_objects() -> list[dict[str, Any]]:
    """Another team's objects: no managed label, one namespace of theirs and two objects in
    a lab namespace."""
    return [
        namespace("other-team"),
        pod("their-api", "other-team", "10.9.0.5", app="api"),
        netpol("their-deny", "other-team"),
        netpol("their-deny", "my-segment"),
        pod("their-sidecar", "my-segment", "192.168.200.9", app="sidecar"),
    ]


# -- apply labels what it applies ---------------------------------------------------------------
def test_apply_labels_every_object_and_says_so(tmp_path: Path) -> None:
    sim = SimulatedCluster.up(tmp_path)
    report = sim.apply([namespace("shop"), pod("web", "shop"), netpol("deny", "shop")])
    assert report.labelled == ("Namespace shop", "Pod shop/web", "NetworkPolicy shop/deny")
    assert report.label_note == (
        "labkit added label labkit.dev/managed=true to 3 objects so `labkit reset` can find them"
    )
    assert str(report).splitlines()[-1] == report.label_note
    inventory = sim.inventory()
    assert inventory.namespace("shop").label_map[MANAGED_LABEL] == "true"
    assert inventory.pod("shop/web").label_map == {MANAGED_LABEL: "true"}
    again = sim.apply(namespace("shop", **{MANAGED_LABEL: "true"}))
    assert again.labelled == () and again.label_note == ""
    assert str(again) == "Namespace shop unchanged"


def test_the_label_note_counts_one_object() -> None:
    note = ApplyReport(applied=("Namespace x",), labelled=("Namespace x",)).label_note
    assert note.endswith("to 1 object so `labkit reset` can find it")


# -- the simulated backend ------------------------------------------------------------------------
@pytest.fixture
def shared_sim(tmp_path: Path) -> SimulatedCluster:
    """The simulated lab with another team's objects stored as a cluster would hold them."""
    sim = SimulatedCluster.up(tmp_path)
    raws = [RawObject(o, "other-team.yaml") for o in foreign_objects()]
    sim.store.update(lambda entries: merge(entries, raws, plan_for))
    return sim


def test_simulated_reset_keeps_foreign_objects(shared_sim: SimulatedCluster) -> None:
    before = {p.key: p.ip for p in shared_sim.pods()}
    shared_sim.apply(
        [
            namespace("shop"),
            pod("web", "shop"),
            netpol("deny", "my-segment"),
            pod("mine", "my-segment"),
            netpol("theirs-too", "other-team"),
        ]
    )
    shared_sim.label("Pod", "frontend", {"extra": "x", "role": None}, "my-segment")
    shared_sim.label("Namespace", "trusted", {"name": "trusted"})
    shared_sim.reset()
    inventory = shared_sim.inventory()
    assert {n.name for n in inventory.namespaces} >= {"other-team", *LAB_NAMESPACES}
    assert "shop" not in {n.name for n in inventory.namespaces}
    assert {(p.namespace, p.name) for p in inventory.policies} == {
        ("other-team", "their-deny"),
        ("my-segment", "their-deny"),
    }
    pods = {p.key: p for p in inventory.pods}
    assert {"other-team/their-api", "my-segment/their-sidecar", *LAB_PODS} <= set(pods)
    assert "my-segment/mine" not in pods and "shop/web" not in pods
    assert {k: p.ip for k, p in pods.items()} == before  # everybody keeps an address
    assert pods["my-segment/frontend"].label_map.get("role") == "frontend"
    assert "extra" not in pods["my-segment/frontend"].label_map
    assert "name" not in inventory.namespace("trusted").label_map


def test_simulated_reset_deletes_a_managed_namespace_with_what_is_in_it(
    shared_sim: SimulatedCluster,
) -> None:
    shared_sim.apply(namespace("shop"))
    unlabelled = RawObject(pod("stray", "shop", "10.9.9.9"), "x.yaml")
    shared_sim.store.update(lambda entries: merge(entries, [unlabelled], plan_for))
    shared_sim.reset()
    keys = {p.key for p in shared_sim.pods()}
    assert "shop/stray" not in keys and "other-team/their-api" in keys


def test_simulated_reset_recreates_a_topology_pod_whose_spec_changed(tmp_path: Path) -> None:
    sim = SimulatedCluster.up(tmp_path)
    sim.delete("Pod", "frontend", "my-segment")
    sim.apply(pod("frontend", "my-segment", app="mine"))
    sim.reset()
    frontend = sim.inventory().pod("my-segment/frontend")
    assert frontend.label_map.get("role") == "frontend" and "app" not in frontend.label_map


# -- kind and existing clusters through a fake kubectl ----------------------------------------------
def listing(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items)}


def live_objects() -> list[dict[str, Any]]:
    """What the cluster holds: the topology (labelled; frontend with a label added since) and
    another team's objects (unlabelled)."""
    items: list[dict[str, Any]] = []
    for raw in topology_manifests():
        obj = json.loads(json.dumps(raw.data))
        if raw.kind == "Namespace":
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = raw.name
        if raw.kind == "Pod":
            obj["status"] = {"phase": "Running", "podIP": "192.168.130.1"}
            if raw.name == "frontend":
                obj["metadata"]["labels"]["extra"] = "x"
        items.append(obj)
    return items + foreign_objects()


def kube_backends() -> list[Any]:
    return [
        pytest.param(lambda: KindCluster(KindOptions()), id="kind"),
        pytest.param(lambda: ExistingCluster("shared-prod"), id="existing"),
    ]


@pytest.fixture
def fake_cluster(fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch) -> FakeTools:
    monkeypatch.setattr(kube_module, "default_reads", KubectlReads)
    fake_tools.add("kubectl", match=["get", "--ignore-not-found"], stdout="")
    fake_tools.add("kubectl", match=["get"], stdout=listing(*live_objects()))
    fake_tools.add("kubectl", match=["apply"], stdout=listing())
    fake_tools.add("kubectl", match=["delete"])
    fake_tools.add("kubectl", match=["label"])
    return fake_tools


def verbs(tools: FakeTools, verb: str) -> list[list[str]]:
    """The kubectl calls of ``verb``, without --kubeconfig/--context."""
    out = []
    for call in tools.calls("kubectl"):
        argv = list(call.argv)
        for flag in ("--kubeconfig", "--context"):
            if flag in argv:
                at = argv.index(flag)
                del argv[at : at + 2]
        if argv and argv[0] == verb:
            out.append(argv)
    return out


def not_in(field: str, *values: str) -> list[str]:
    return ["--field-selector", ",".join(f"{field}!={v}" for v in sorted(values))]


@pytest.mark.parametrize("make", kube_backends())
def test_real_cluster_reset_deletes_by_the_managed_label_only(
    fake_cluster: FakeTools, make: Any
) -> None:
    cluster: KubeCluster = make()
    cluster.reset()
    deletes = verbs(fake_cluster, "delete")
    for argv in deletes:
        assert argv[argv.index("-l") + 1] == SELECTOR, argv
        assert not any(name in arg for name in FOREIGN_NAMES for arg in argv), argv
    assert deletes[0] == ["delete", "namespaces", *FLAGS, *not_in("metadata.name", *LAB_NAMESPACES)]
    assert deletes[1] == [
        "delete",
        "networkpolicies.networking.k8s.io,services,deployments.apps,replicasets.apps,"
        "statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch," + RBAC,
        "--all-namespaces",
        *FLAGS,
    ]
    assert deletes[2] == [
        "delete",
        "pods",
        "--all-namespaces",
        *FLAGS,
        *not_in("metadata.namespace", *LAB_NAMESPACES),
    ]
    assert [
        "delete",
        "pods",
        "-n",
        "my-segment",
        *FLAGS,
        *not_in("metadata.name", "frontend", "backend", "database", "critical-app"),
    ] in deletes
    assert len(deletes) == 3 + len(LAB_NAMESPACES)


@pytest.mark.parametrize("make", kube_backends())
def test_real_cluster_reset_relabels_only_the_topology(fake_cluster: FakeTools, make: Any) -> None:
    cluster: KubeCluster = make()
    cluster.reset()
    labels = verbs(fake_cluster, "label")
    assert labels == [["label", "pods", "frontend", "--overwrite", "-n", "my-segment", "extra-"]]
    applies = [
        c
        for c in fake_cluster.calls("kubectl")
        if "apply" in c.argv and "--dry-run=server" not in c.argv
    ]
    sent = [i for c in applies for i in json.loads(c.stdin)["items"]]
    assert {(i["kind"], i["metadata"]["name"]) for i in sent} == {
        (o.kind, o.name) for o in topology_manifests()
    }
    assert all(i["metadata"]["labels"][MANAGED_LABEL] == "true" for i in sent)


def test_existing_cluster_down_deletes_by_the_managed_label_only(fake_cluster: FakeTools) -> None:
    ExistingCluster("shared-prod").cleanup()
    assert verbs(fake_cluster, "delete") == [
        [
            "delete",
            "networkpolicies.networking.k8s.io,services,pods,deployments.apps,replicasets.apps,"
            "statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch," + RBAC,
            "--all-namespaces",
            *FLAGS,
        ],
        ["delete", "namespaces", *FLAGS],
    ]


def test_lifecycle_reset_uses_the_backend_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.cluster import lifecycle

    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    assert not hasattr(lifecycle, "reset_lab")  # the unsafe generic fallback is gone
    lifecycle.up("simulated")
    cluster = lifecycle.connect()
    assert isinstance(cluster, SimulatedCluster)
    raws = [RawObject(o, "other-team.yaml") for o in foreign_objects()]
    cluster.store.update(lambda entries: merge(entries, raws, plan_for))
    cluster.apply(netpol("mine", "my-segment"))
    reset = lifecycle.reset()
    assert {(p.namespace, p.name) for p in reset.policies()} == {
        ("other-team", "their-deny"),
        ("my-segment", "their-deny"),
    }


def test_a_state_file_from_before_the_label_is_reset_as_before(tmp_path: Path) -> None:
    """Format 1 files hold only what labkit applied (it did not label then): reset still
    removes the learner's objects, and keeps the system ones."""
    sim = SimulatedCluster.up(tmp_path)
    sim.apply([netpol("old", "my-segment"), pod("old", "default")])
    path = tmp_path / "simulated.json"
    data = json.loads(path.read_text())
    for entry in data["objects"]:
        entry["object"]["metadata"].get("labels", {}).pop(MANAGED_LABEL, None)
    data["format"] = 1
    path.write_text(json.dumps(data))
    sim.reset()
    assert sim.policies() == []
    assert "default/old" not in {p.key for p in sim.pods()}
    assert "kube-system/coredns-0" in {p.key for p in sim.pods()}
    assert MANAGED_LABEL not in sim.inventory().namespace("kube-system").label_map
    assert json.loads(path.read_text())["format"] == 2


@pytest.mark.parametrize("make", kube_backends())
def test_real_cluster_apply_labels_the_tutorials_namespace_and_says_so(
    fake_cluster: FakeTools, make: Any
) -> None:
    cluster: KubeCluster = make()
    report = cluster.apply(namespace("shop"))
    assert report.labelled == ("Namespace shop",)
    assert "labkit added label labkit.dev/managed=true to 1 object" in str(report)
    applies = [c for c in fake_cluster.calls("kubectl") if "apply" in c.argv]
    assert applies and all(
        json.loads(c.stdin)["items"][0]["metadata"]["labels"] == {MANAGED_LABEL: "true"}
        for c in applies
    )
