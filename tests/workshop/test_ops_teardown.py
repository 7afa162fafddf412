"""``labkit workshop teardown``: without ``--confirm ID`` no call reaches the cluster; with it,
exactly what carries ``labkit.dev/workshop=ID`` is deleted, by label selector (simulated, fake
kubectl, fake client), another workshop's objects survive, and the shared Calico tier goes
only with the last wall. ``reset`` touches one learner's objects only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import (
    FakeTools,
    ObjectStore,
    api_host,
    delete_calls,
    fake_tools,
    kubectl_host,
    learners_file,
    listing,
    obj,
    selector_of,
)

from labkit.cli.main import main
from labkit.cluster.workshop import ops
from labkit.cluster.workshop.host import SimulatedHost, workshop_folder
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.model.loader import RawObject
from labkit.model.objects import MANAGED_LABEL
from labkit.model.wall import WallFlavour, render_wall
from labkit.model.workshop import LEARNER_LABEL, WALL_LABEL, WORKSHOP_LABEL

__all__ = ["fake_tools"]  # the fixture

KINDS = (
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ServiceAccount",
    "ConfigMap",
    "GlobalNetworkPolicy",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "Tier",
    "Pod",
    "ResourceQuota",
    "LimitRange",
)


def init(home: Path, folder: Path, names: list[str]) -> None:
    path = learners_file(folder, names)
    ops.init_workshop(
        ops.InitOptions("ws1", path, simulated=True, home=home, hook_file=folder / "hook.py")
    )


def ws2_sentinels() -> list[RawObject]:
    """Another workshop's objects on the same cluster: they must survive ws1's teardown."""
    own = {WORKSHOP_LABEL: "ws2", MANAGED_LABEL: "true"}
    learner = {**own, LEARNER_LABEL: "zoe"}
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "ws2-zoe-trusted", "labels": learner},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "client", "namespace": "ws2-zoe-trusted", "labels": learner},
            "spec": {"containers": [{"name": "c", "image": "agnhost"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "labkit-workshop", "namespace": "kube-public", "labels": own},
            "data": {"workshop": "ws2"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "labkit-ws2-zoe-namespaces", "labels": learner},
            "rules": [],
        },
        render_wall("ws2", "zoe", WallFlavour.CALICO),
    ]
    return [RawObject(d, "<ws2>") for d in docs]


def everything(host: SimulatedHost, selector: str) -> list[tuple[str, str, str]]:
    return host.selected(selector, KINDS)


def test_teardown_deletes_exactly_the_workshop_and_keeps_ws2_and_the_tier(
    lab_home: Path, tmp_path: Path
) -> None:
    init(lab_home, tmp_path, ["alice", "bob"])
    host = SimulatedHost.open("ws1", lab_home)
    host.provision(ws2_sentinels())
    ws2_before = everything(host, f"{WORKSHOP_LABEL}=ws2")
    assert len(ws2_before) == 5
    result = ops.teardown_workshop("ws1", home=lab_home)
    assert result.selector == f"{WORKSHOP_LABEL}=ws1"
    # canary, doctor, learners; the hub namespace init created is emptied but kept
    assert result.counts["Namespace"] == 1 + 2 + 12
    assert result.counts["GlobalNetworkPolicy"] == 4 and result.counts["ServiceAccount"] == 2
    assert result.counts["ValidatingAdmissionPolicy"] == 1
    assert not result.tier_deleted and "1 walls of other workshops remain" in result.tier_kept
    # only the hub namespace init created is left (labelled, so a later init finds it)
    assert everything(host, f"{WORKSHOP_LABEL}=ws1") == [("Namespace", "", "jhub")]
    assert everything(host, f"{WORKSHOP_LABEL}=ws2") == ws2_before
    assert host.selected(f"{WALL_LABEL}=true", ("Tier",)), "ws2's wall still needs the tier"
    assert not (workshop_folder("ws1", lab_home) / "workshop.json").exists()


def test_the_last_workshop_takes_the_tier_along(lab_home: Path, tmp_path: Path) -> None:
    init(lab_home, tmp_path, ["alice"])
    host = SimulatedHost.open("ws1", lab_home)
    result = ops.teardown_workshop("ws1", home=lab_home)
    assert result.tier_deleted and result.counts["Tier"] == 1
    assert host.selected(f"{WALL_LABEL}=true", ("Tier", "GlobalNetworkPolicy")) == []
    left = {k for k in host.selected("", ("Namespace",))}
    assert left == {
        ("Namespace", "", n)
        for n in ("default", "kube-system", "kube-public", "kube-node-lease", "jhub")
    }
    assert host.selected(f"{WORKSHOP_LABEL}=ws1", ("ServiceAccount", "ConfigMap", "Role")) == []


@pytest.mark.parametrize("confirm", [[], ["--confirm", "ws2"], ["--confirm", ""]])
def test_teardown_without_the_matching_confirm_makes_no_call(
    fake_tools: FakeTools,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    confirm: list[str],
) -> None:
    """Exit 2 and not one call: no kubectl, no host, not even the lab folder's record."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("teardown reached for the cluster without --confirm")

    monkeypatch.setattr(ops, "attach", forbidden)
    monkeypatch.setattr(ops, "teardown_workshop", forbidden)
    monkeypatch.setattr(ops, "load_record", forbidden)
    monkeypatch.setattr(SimulatedHost, "open", forbidden)
    fake_tools.add("kubectl", stdout="")
    code = main(["workshop", "teardown", "--id", "ws1", "--context", "kind-x", *confirm])
    assert code == 2
    err = capsys.readouterr().err
    assert "nothing was read or deleted" in err and "--confirm ws1" in err
    assert fake_tools.calls() == []


# -- a real cluster --------------------------------------------------------------------------------
WS1 = {WORKSHOP_LABEL: "ws1", MANAGED_LABEL: "true"}
WS2 = {WORKSHOP_LABEL: "ws2", MANAGED_LABEL: "true"}
RESOURCES = {
    # kubectl resource name -> (kind, ws1 objects (name, namespace))
    "clusterrolebindings.rbac.authorization.k8s.io": (
        "ClusterRoleBinding",
        [("labkit-ws1-a-namespaces", "")],
    ),
    "clusterroles.rbac.authorization.k8s.io": ("ClusterRole", [("labkit-ws1-a-namespaces", "")]),
    "rolebindings.rbac.authorization.k8s.io": ("RoleBinding", [("labkit-ws1-a", "kube-system")]),
    "roles.rbac.authorization.k8s.io": ("Role", [("labkit-ws1-system-reader", "kube-system")]),
    "serviceaccounts": ("ServiceAccount", [("labkit-a", "jhub")]),
    "configmaps": ("ConfigMap", [("labkit-workshop", "jhub")]),
    "globalnetworkpolicies.projectcalico.org": ("GlobalNetworkPolicy", [("labkit-ws1-a", "")]),
    "validatingadmissionpolicybindings": (
        "ValidatingAdmissionPolicyBinding",
        [("labkit-ws1-protect-labels", "")],
    ),
    "validatingadmissionpolicies": (
        "ValidatingAdmissionPolicy",
        [("labkit-ws1-protect-labels", "")],
    ),
    "namespaces": ("Namespace", [("ws1-a-trusted", ""), ("ws1-canary", "")]),
}


def record(home_env: Path, context: str = "kind-workshop") -> None:
    path = home_env / "workshops" / "ws1" / "workshop.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "id": "ws1",
                "simulated": False,
                "context": context,
                "hub_namespace": "jhub",
                "flavour": "projectcalico.org/v3",
            }
        )
    )


def kubectl_listings(tools: FakeTools, other_walls: list[dict[str, Any]]) -> None:
    """``kubectl get RES -l labkit.dev/workshop=ws1`` lists ws1's objects (the API server
    selects); the walls of every workshop are listed for the tier decision."""
    tools.add(
        "kubectl",
        match=["get", "globalnetworkpolicies.projectcalico.org", f"{WALL_LABEL}=true"],
        stdout=listing(other_walls),
    )
    for resource, (kind, items) in RESOURCES.items():  # most specific names first
        tools.add(
            "kubectl",
            match=["get", resource, f"{WORKSHOP_LABEL}=ws1"],
            stdout=listing([obj(kind, name, WS1, ns) for name, ns in items]),
        )
    tools.add("kubectl", match=["delete"], stdout="")


def test_teardown_through_kubectl_deletes_by_selector_only(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    record(Path(os.environ["LABKIT_HOME"]))
    ws2_wall = obj("GlobalNetworkPolicy", "labkit-ws2-zoe", {**WS2, WALL_LABEL: "true"})
    kubectl_listings(fake_tools, [ws2_wall])
    monkeypatch.setattr(ops, "attach", lambda context: kubectl_host(fake_tools, context))
    code = main(["workshop", "teardown", "--id", "ws1", "--confirm", "ws1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Namespace" in out and "the shared Calico tier stays" in out
    deletes = delete_calls(fake_tools.calls("kubectl"))
    assert len(deletes) == len(RESOURCES)
    names = {name for _, items in RESOURCES.values() for name, _ in items}
    for argv in deletes:
        wanted = f"{WORKSHOP_LABEL}=ws1" + (",!labkit.dev/hub" if "namespaces" in argv else "")
        assert selector_of(argv) == wanted, argv
        assert not names & set(argv), f"a delete named objects: {argv}"
        assert "--field-selector" not in argv and not any("ws2" in a for a in argv)
    order = [next(r for r in RESOURCES if r in a) for a in (" ".join(d) for d in deletes)]
    assert order[0] == "namespaces" and order[-1] == "validatingadmissionpolicies"
    assert not any("tiers" in " ".join(d) for d in deletes)


def test_teardown_through_kubectl_removes_the_tier_after_the_last_wall(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    record(Path(os.environ["LABKIT_HOME"]))
    fake_tools.add(
        "kubectl",
        match=["get", "tiers.projectcalico.org", f"{WALL_LABEL}=true"],
        stdout=listing(
            [obj("Tier", "labkit-workshop", {WALL_LABEL: "true", MANAGED_LABEL: "true"})]
        ),
    )
    kubectl_listings(fake_tools, [])
    monkeypatch.setattr(ops, "attach", lambda context: kubectl_host(fake_tools, context))
    result = ops.teardown_workshop("ws1")
    assert result.tier_deleted
    tier = [d for d in delete_calls(fake_tools.calls("kubectl")) if "tiers.projectcalico.org" in d]
    assert len(tier) == 1 and selector_of(tier[0]) == f"{WALL_LABEL}=true"


def test_teardown_through_the_client_leaves_another_workshop_alone(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes through the ``kubernetes`` client: each deletion lists with the workshop's
    label selector (the API server selects) and deletes what it listed, uid-guarded."""
    import os

    record(Path(os.environ["LABKIT_HOME"]))

    def seed(store: ObjectStore) -> None:
        for labels, ns, cm in (
            (WS1, "ws1-a-trusted", "jhub"),
            (WS2, "ws2-z-trusted", "kube-public"),
        ):
            store.seed([obj("Namespace", ns, labels)], "v1", "namespaces")
            store.seed([obj("ConfigMap", "labkit-workshop", labels, cm)], "v1", "configmaps")
            sa = obj("ServiceAccount", f"labkit-{ns[:5]}", labels, "jhub")
            store.seed([sa], "v1", "serviceaccounts")
            role = obj("ClusterRole", f"labkit-{ns}", labels)
            store.seed([role], "rbac.authorization.k8s.io/v1", "clusterroles")
        for ns in ("jhub", "kube-public"):
            store.seed([obj("Namespace", ns, {})], "v1", "namespaces")

    host, pool, store = api_host(fake_tools, seed)
    kubectl_listings(
        fake_tools, [obj("GlobalNetworkPolicy", "labkit-ws2-z", {**WS2, WALL_LABEL: "true"})]
    )
    monkeypatch.setattr(ops, "attach", lambda context: host)
    ops.teardown_workshop("ws1")
    left = sorted((t.plural, t.namespace, t.name) for t in store.objects)
    assert ("namespaces", "", "ws2-z-trusted") in left
    assert ("configmaps", "kube-public", "labkit-workshop") in left
    assert ("clusterroles", "", "labkit-ws2-z-trusted") in left
    assert ("serviceaccounts", "jhub", "labkit-ws2-z") in left
    assert (
        not [x for x in left if "ws1" in x[2]]
        and ("configmaps", "jhub", "labkit-workshop") not in left
    )
    lists = [r for r in pool.requests if r.method == "GET"]
    assert lists and all(
        r.query.get("labelSelector", "").startswith(f"{WORKSHOP_LABEL}=ws1") for r in lists
    )
    deleted = [r for r in pool.requests if r.method == "DELETE"]
    assert deleted and all("ws2" not in r.path for r in deleted)
    assert all((r.body or {}).get("preconditions", {}).get("uid") for r in deleted)


# -- reset ---------------------------------------------------------------------------------------
POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny", "namespace": "my-segment"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


def test_reset_touches_one_learner_only(
    lab_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(lab_home, tmp_path, ["alice", "bob"])
    host = SimulatedHost.open("ws1", lab_home)
    workshop = ops.open_workshop("ws1", home=lab_home).workshop
    for name in ("alice", "bob"):
        LearnerCluster(host, workshop, name).apply(POLICY)
    alice_before = [
        e for e in host.entries() if "ws1-alice-" in json.dumps(e["object"]["metadata"])
    ]
    assert main(["workshop", "reset", "--id", "ws1", "--learner", "bob"]) == 0
    assert "bob's lab is back to the topology" in capsys.readouterr().out
    bob = LearnerCluster(host, workshop, "bob")
    alice = LearnerCluster(host, workshop, "alice")
    assert [p.name for p in bob.policies()] == []
    assert [p.name for p in alice.policies()] == ["deny"]
    alice_after = [e for e in host.entries() if "ws1-alice-" in json.dumps(e["object"]["metadata"])]
    assert alice_after == alice_before
    assert main(["workshop", "reset", "--id", "ws1", "--learner", "mallory"]) == 1
    assert "not a learner of workshop ws1" in capsys.readouterr().err
