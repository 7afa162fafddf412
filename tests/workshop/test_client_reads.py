"""A learner's view read with namespaced and name-addressed requests only
(labkit.cluster.workshop.reads.learner_items): first with a fake Reads that refuses any
cluster-wide call, then through the official client against recorded API answers
(tests/cluster/api_fakes.py), checking the exact request paths."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from cluster.api_fakes import FakePool, fake_api, fake_server, fixture

from labkit.cluster.reads import RESOURCES, Listing, Obj
from labkit.cluster.workshop.reads import learner_items
from labkit.model.workshop import LearnerSpace

LOGICAL = ("my-segment", "trusted", "untrusted")
ALICE = LearnerSpace("ws1", "alice", LOGICAL)
BOB = LearnerSpace("ws1", "bob", LOGICAL)


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def obj(plural: str, ns: str, name: str) -> Obj:
    res = RESOURCES[plural]
    return {
        "apiVersion": res.api_version,
        "kind": res.kind,
        "metadata": {"name": name, "namespace": ns},
    }


@dataclass
class RecordingReads:
    """A :class:`labkit.cluster.reads.Reads` over a fixed set of objects that records every
    call and fails the test on any cluster-wide one (a list without a namespace, a list of
    a cluster-scoped resource, a read of everything)."""

    objects: list[Obj]
    calls: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    watches = False

    def list(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing:
        self.calls.append(("list", plural, namespace, ""))
        assert namespace, f"a cluster-wide list of {plural}"
        assert RESOURCES[plural].namespaced, f"a list of cluster-scoped {plural}"
        kind = RESOURCES[plural].kind
        return Listing(
            [
                o
                for o in self.objects
                if o["kind"] == kind and o["metadata"].get("namespace") == namespace
            ],
            "1",
        )

    def get(self, plural: str, namespace: str | None, name: str) -> Obj | None:
        self.calls.append(("get", plural, namespace, name))
        assert name, f"a get of {plural} without a name"
        kind = RESOURCES[plural].kind
        for o in self.objects:
            meta = o["metadata"]
            if o["kind"] == kind and meta["name"] == name:
                if not RESOURCES[plural].namespaced or meta.get("namespace") == namespace:
                    return o
        return None

    def list_all(self, plurals: Sequence[str]) -> list[Obj]:
        raise AssertionError(f"a cluster-wide read of {', '.join(plurals)}")

    def watch(self, *args: Any, **kwargs: Any) -> bool:
        raise AssertionError("a learner's view does not watch")

    def self_subject_review(self) -> str:
        raise AssertionError("not needed for the view")

    def served_resources(self, groups: Sequence[str] = ()) -> set[str]:
        raise AssertionError("not needed for the view")

    def server_version(self) -> Obj:
        raise AssertionError("not needed for the view")


def cluster_objects() -> list[Obj]:
    """Two learners' labs (alice has no untrusted namespace yet), kube-system, and another
    namespace nobody of the workshop owns."""
    objects: list[Obj] = []
    for space, missing in ((ALICE, "untrusted"), (BOB, "")):
        for logical in LOGICAL:
            if logical == missing:
                continue
            real = space.real(logical)
            objects += [
                namespace(real),
                obj("pods", real, "web"),
                obj("services", real, "web"),
                obj("networkpolicies", real, "default-deny"),
            ]
    objects += [
        namespace("kube-system"),
        obj("pods", "kube-system", "coredns-1"),
        obj("services", "kube-system", "kube-dns"),
        obj("networkpolicies", "kube-system", "system-policy"),
        obj("configmaps", "kube-system", "coredns"),
        namespace("shop"),
        obj("pods", "shop", "checkout"),
    ]
    return objects


def keys(items: list[Obj]) -> list[str]:
    return [
        f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}".replace(
            " /", " "
        )
        for o in items
    ]


def test_a_learner_reads_only_their_namespaces_and_the_system_ones() -> None:
    reads = RecordingReads(cluster_objects())
    items = learner_items(reads, ALICE)  # type: ignore[arg-type]
    assert keys(items) == [
        "Namespace ws1-alice-my-segment",
        "Namespace ws1-alice-trusted",
        "Pod ws1-alice-my-segment/web",
        "Service ws1-alice-my-segment/web",
        "NetworkPolicy ws1-alice-my-segment/default-deny",
        "Pod ws1-alice-trusted/web",
        "Service ws1-alice-trusted/web",
        "NetworkPolicy ws1-alice-trusted/default-deny",
        "Pod kube-system/coredns-1",
        "Service kube-system/kube-dns",
    ]
    assert all(o["kind"] and o["apiVersion"] for o in items)
    # every namespace by name (the missing one too), then lists in the ones that exist only
    assert reads.calls == [
        ("get", "namespaces", None, "ws1-alice-my-segment"),
        ("get", "namespaces", None, "ws1-alice-trusted"),
        ("get", "namespaces", None, "ws1-alice-untrusted"),
        *(
            ("list", plural, ns, "")
            for ns in ("ws1-alice-my-segment", "ws1-alice-trusted")
            for plural in ("pods", "services", "networkpolicies")
        ),
        ("list", "pods", "kube-system", ""),
        ("list", "services", "kube-system", ""),
    ]
    assert not any("bob" in str(call) or "shop" in str(call) for call in reads.calls)


def test_the_system_namespaces_can_be_chosen() -> None:
    reads = RecordingReads(cluster_objects())
    items = learner_items(reads, BOB, system_namespaces=())  # type: ignore[arg-type]
    assert not any("kube-system" in k for k in keys(items))
    assert len([o for o in items if o["kind"] == "Namespace"]) == 3
    with pytest.raises(ValueError, match="lists everywhere"):
        learner_items(reads, BOB, system_namespaces=("",))  # type: ignore[arg-type]


def test_through_the_client_every_request_is_namespaced_or_by_name() -> None:
    """The official client against a small recorded API server: the exact paths."""
    pool = FakePool()
    store = fake_server(pool)  # kube-system and shop, as recorded
    pods = json.loads(fixture("pods.json"))["items"]
    store.seed([p for p in pods if p["metadata"]["namespace"] == "kube-system"], "v1", "pods")
    store.seed([p for p in pods if p["metadata"]["namespace"] == "shop"], "v1", "pods")
    store.seed(json.loads(fixture("services.json"))["items"], "v1", "services")
    for space in (ALICE, BOB):
        for logical in ("my-segment", "trusted"):
            real = space.real(logical)
            store.seed([namespace(real)], "v1", "namespaces")
            store.seed([obj("pods", real, "web")], "v1", "pods")
            store.seed([obj("services", real, "web")], "v1", "services")
            store.seed(
                [obj("networkpolicies", real, "default-deny")],
                "networking.k8s.io/v1",
                "networkpolicies",
            )
    items = learner_items(fake_api(pool), ALICE)
    assert [(r.method, r.path) for r in pool.requests] == [
        ("GET", "/api/v1/namespaces/ws1-alice-my-segment"),
        ("GET", "/api/v1/namespaces/ws1-alice-trusted"),
        ("GET", "/api/v1/namespaces/ws1-alice-untrusted"),
        ("GET", "/api/v1/namespaces/ws1-alice-my-segment/pods"),
        ("GET", "/api/v1/namespaces/ws1-alice-my-segment/services"),
        ("GET", "/apis/networking.k8s.io/v1/namespaces/ws1-alice-my-segment/networkpolicies"),
        ("GET", "/api/v1/namespaces/ws1-alice-trusted/pods"),
        ("GET", "/api/v1/namespaces/ws1-alice-trusted/services"),
        ("GET", "/apis/networking.k8s.io/v1/namespaces/ws1-alice-trusted/networkpolicies"),
        ("GET", "/api/v1/namespaces/kube-system/pods"),
        ("GET", "/api/v1/namespaces/kube-system/services"),
    ]
    assert all(not r.query for r in pool.requests)
    assert keys(items) == [
        "Namespace ws1-alice-my-segment",
        "Namespace ws1-alice-trusted",
        "Pod ws1-alice-my-segment/web",
        "Service ws1-alice-my-segment/web",
        "NetworkPolicy ws1-alice-my-segment/default-deny",
        "Pod ws1-alice-trusted/web",
        "Service ws1-alice-trusted/web",
        "NetworkPolicy ws1-alice-trusted/default-deny",
        "Pod kube-system/coredns-7db6d8ff4d-2xk9p",
        "Pod kube-system/kube-proxy-8hz2q",
    ]
    # list items come back with kind and apiVersion, as Reads.list gives them
    assert {(o["kind"], o["apiVersion"]) for o in items} == {
        ("Namespace", "v1"),
        ("Pod", "v1"),
        ("Service", "v1"),
        ("NetworkPolicy", "networking.k8s.io/v1"),
    }


def test_the_view_maps_back_to_logical_names() -> None:
    """What the learner facade does with it: real names out, logical names in."""
    items = learner_items(RecordingReads(cluster_objects()), ALICE)  # type: ignore[arg-type]
    logical = [ALICE.to_logical_object(o) for o in items]
    assert keys(logical)[:3] == ["Namespace my-segment", "Namespace trusted", "Pod my-segment/web"]
    assert "Pod kube-system/coredns-1" in keys(logical)
