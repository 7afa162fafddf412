"""A workshop learner on a REAL cluster, end to end through the official client: a JupyterHub
notebook pod (``KUBERNETES_SERVICE_HOST`` set, a service account token, no kubectl on PATH,
no subprocess at all) whose every API request goes through the ``kubernetes`` package to the
fake API server of tests/cluster/api_fakes.py (:class:`FakePool` + :class:`ObjectStore`), and
whose exec streams go to a fake ``kubernetes.stream.stream`` that answers labkit's in-pod
probe script (:mod:`labkit.cluster.live_probe`).

What is proved (labkit.cluster.workshop: session, identity, host.KubeHost, learner,
throttle), and only as far as these fakes can prove it (no real API server, RBAC or CNI):

1. discovery: ``find_learner()`` in a pod reads the hub's ``labkit-workshop`` ConfigMap and
   takes the learner from a SelfSubjectReview, never from ``LABKIT_LEARNER``;
2. reads: the learner's inventory has logical names only, nothing of another learner, and
   every request is namespaced (the learner's namespaces, kube-system) or a GET of one of the
   learner's namespaces by name: never a cluster-wide list;
3. writes: server-side apply, dry run first, to the learner's real namespace, labelled; a
   refused batch writes nothing; deletes and labels stay in the learner's namespaces;
4. probes: the live matrix equals the prediction, execs go to the learner's namespaces, at
   most 2 exec streams at once per learner, across runners too;
5. the live matrix is rate-limited per learner (20 s), predictions never wait.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3
from cluster.api_fakes import FakePool, ObjectStore, Request, Target, fake_server, fixture
from kubernetes import stream as kube_stream

from labkit.cluster import commands
from labkit.cluster.kube_api import ERROR_CHANNEL
from labkit.cluster.live_probe import MARK
from labkit.cluster.topology import LAB_NAMESPACES, LAB_PODS, kube_system_manifests
from labkit.cluster.topology import topology_manifests as topology
from labkit.cluster.waits import VirtualClock
from labkit.cluster.workshop import host as host_module
from labkit.cluster.workshop import identity, session
from labkit.cluster.workshop import learner as learner_module
from labkit.cluster.workshop.host import KubeHost
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.cluster.workshop.session import find_learner
from labkit.cluster.workshop.throttle import ExecLimiter, MatrixLimiter
from labkit.engine.evaluator import Engine
from labkit.errors import ClusterError, ValidationFailed
from labkit.model.inventory import Inventory
from labkit.model.objects import MANAGED_LABEL
from labkit.model.ports import Protocol
from labkit.model.workshop import (
    LEARNER_ENV,
    LEARNER_KINDS,
    LEARNER_LABEL,
    NAME_LABEL,
    WORKSHOP_CONFIGMAP,
    WORKSHOP_ENV,
    WORKSHOP_LABEL,
    Learner,
    LearnerSpace,
    Workshop,
)
from labkit.model.workshop_objects import workshop_objects
from labkit.probe.jobs import Job, Outcome, ProbeSpec
from labkit.probe.runner import EngineRunner

WS = Workshop("ws1", (Learner("alice"), Learner("bob")), LAB_NAMESPACES)
ALICE = WS.space("alice")
BOB = WS.space("bob")
HUB = WS.hub_namespace  # jhub
REVIEWS = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
TOKEN = "eyJhbGciOi.labkit-alice-token"
ALICE_USER = "system:serviceaccount:jhub:labkit-alice"
NP_PATH = "/apis/networking.k8s.io/v1/namespaces/ws1-alice-my-segment/networkpolicies/{}"


# -- the pod and its API server ---------------------------------------------------------------
def review(username: str) -> bytes:
    """A SelfSubjectReview as the API server answers it (201 Created)."""
    return json.dumps(
        {
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "status": {
                "userInfo": {
                    "username": username,
                    "groups": ["system:serviceaccounts", "system:authenticated"],
                }
            },
        }
    ).encode()


def running(item: dict[str, Any], address: str) -> dict[str, Any]:
    """A pod as the API lists it once it runs: on a node, Ready, with its address."""
    pod = copy.deepcopy(item)
    pod["spec"] = {**(pod.get("spec") or {}), "nodeName": "worker-1"}
    pod["status"] = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "podIP": address,
        "podIPs": [{"ip": address}],
    }
    return pod


def seed_learner(store: ObjectStore, space: LearnerSpace, subnet: int) -> None:
    """``space``'s six namespaces (labelled as ``workshop init`` labels them, plus the name
    label the API server sets) and the nine lab pods, translated and running."""
    for logical in space.logical_namespaces:
        real = space.real(logical)
        labels = {**space.namespace_labels(logical), NAME_LABEL: real}
        store.seed(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": real, "labels": labels},
                }
            ],
            "v1",
            "namespaces",
        )
    host = itertools.count(10)
    for raw in topology():
        if raw.kind != "Pod":
            continue
        translated = space.to_real_object(raw, allowed_kinds=LEARNER_KINDS)
        store.seed([running(translated.data, f"10.{subnet}.0.{next(host)}")], "v1", "pods")


def seed_cluster(store: ObjectStore) -> None:
    """The hub namespace with the workshop's ConfigMap, kube-system's CoreDNS pod, alice's
    lab and bob's lab."""
    store.seed(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": HUB}}], "v1", "namespaces"
    )
    config = next(
        d
        for d in workshop_objects(WS, hub_namespace_exists=True)
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == WORKSHOP_CONFIGMAP
    )
    store.seed([config], "v1", "configmaps")
    coredns = next(
        r for r in kube_system_manifests(coredns=True) if r.kind == "Pod" and r.namespace
    )
    store.seed([running(coredns.data, "10.96.5.2")], "v1", "pods")
    seed_learner(store, ALICE, 61)
    seed_learner(store, BOB, 62)


@dataclass
class Pod:
    """The notebook pod: its API server (``pool`` records every request, ``store`` holds the
    objects) and the answer of the SelfSubjectReview."""

    pool: FakePool
    store: ObjectStore
    namespace_file: Path

    def review_says(self, username: str) -> None:
        self.pool.routes = [r for r in self.pool.routes if r[0] != REVIEWS]
        self.pool.add(REVIEWS, review(username), status=201, method="POST")

    def learner(self) -> LearnerCluster:
        found = find_learner()
        assert isinstance(found, LearnerCluster)
        return found

    def requests_since(self, start: int) -> list[Request]:
        return self.pool.requests[start:]


@pytest.fixture
def pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pod:
    """A JupyterHub notebook pod of learner alice: in-cluster configuration from a mounted
    token, the namespace file saying ``jhub``, no kubectl on PATH and no subprocess at all;
    the client's HTTP pool is the fake API server."""
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text(TOKEN)
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    namespace_file = tmp_path / "namespace"
    namespace_file.write_text(f"{HUB}\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setattr(identity, "NAMESPACE_FILE", namespace_file)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no kubectl
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    for name in ("KUBECONFIG", "LABKIT_BACKEND", WORKSHOP_ENV, LEARNER_ENV):
        monkeypatch.delenv(name, raising=False)

    def no_subprocess(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"no subprocess in a notebook pod without kubectl: {args}")

    monkeypatch.setattr(commands, "run", no_subprocess)
    pool = FakePool()
    pool.add("/version/", fixture("version.json"))
    store = fake_server(pool)
    seed_cluster(store)
    monkeypatch.setattr(urllib3, "PoolManager", lambda *a, **k: pool)
    # each test its own per-learner limiters (they are per process), on a virtual clock
    monkeypatch.setattr(host_module, "_EXEC_LIMITERS", {})
    monkeypatch.setattr(session, "_FOUND_IN_POD", {})  # each test's pod finds itself afresh
    monkeypatch.setattr(learner_module, "_LIMITERS", {})
    found = Pod(pool, store, namespace_file)
    found.review_says(ALICE_USER)
    return found


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """alice's live-matrix limiter on a virtual clock (a real one would sleep 20 s)."""
    virtual = VirtualClock()
    limiter = MatrixLimiter(clock=virtual, sleep=virtual.sleep, rng=random.Random(7))
    monkeypatch.setitem(learner_module._LIMITERS, ("ws1", "alice"), limiter)
    return virtual


# -- 1. discovery --------------------------------------------------------------------------------
def test_in_a_hub_pod_find_learner_is_alice_over_a_kube_host(pod: Pod) -> None:
    learner = pod.learner()
    assert isinstance(learner.host, KubeHost)
    assert learner.host.live is True
    assert learner.learner == "alice"
    assert learner.workshop == WS
    assert learner.space == ALICE
    assert learner.kubernetes_version == "1.36"
    # exactly: the ConfigMap by name in the pod's namespace, who am I, the server's version
    assert [(r.method, r.path) for r in pod.pool.requests] == [
        ("GET", f"/api/v1/namespaces/{HUB}/configmaps/{WORKSHOP_CONFIGMAP}"),
        ("POST", REVIEWS),
        ("GET", "/version/"),
    ]
    assert pod.pool.requests[1].body["kind"] == "SelfSubjectReview"
    # as the pod's service account: the mounted token on every request
    assert {r.authorization for r in pod.pool.requests} == {f"bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("username", "says"),
    [
        ("system:serviceaccount:jhub:default", "ServiceAccount jhub/default"),
        ("system:serviceaccount:other:labkit-alice", "of namespace other"),
        ("kubernetes-admin", "'kubernetes-admin', which is not a learner"),
    ],
)
def test_a_review_naming_another_account_is_an_error_naming_the_fix(
    pod: Pod, username: str, says: str
) -> None:
    pod.review_says(username)
    with pytest.raises(ClusterError, match=re.escape(says)) as caught:
        find_learner()
    message = str(caught.value)
    assert "\n    fix: " in message
    assert "pre_spawn_hook" in message and "labkit-<learner>" in message


def test_labkit_learner_in_the_environment_does_not_change_who_the_learner_is(
    pod: Pod, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEARNER_ENV, "bob")
    learner = pod.learner()
    assert learner.learner == "alice"
    assert learner.space.real_namespaces == ALICE.real_namespaces
    assert not any("bob" in r.path for r in pod.pool.requests)


def test_a_pod_whose_namespace_has_no_workshop_is_a_single_user_lab(pod: Pod) -> None:
    """The control: the same pod in a namespace without the ConfigMap is no learner."""
    pod.namespace_file.write_text("shop\n")
    assert find_learner() is None
    assert [(r.method, r.path) for r in pod.pool.requests] == [
        ("GET", f"/api/v1/namespaces/shop/configmaps/{WORKSHOP_CONFIGMAP}")
    ]


# -- 2. reads ------------------------------------------------------------------------------------
def learners_own_request(request: Request, space: LearnerSpace = ALICE) -> bool:
    """Namespaced in the learner's namespaces or kube-system, or addressed to one of the
    learner's Namespaces by name (a GET; a label change is a PATCH of it)."""
    target = Target.parse(request.path)
    assert target is not None, request.path
    if target.namespace:
        return target.namespace in (*space.real_namespaces, "kube-system")
    return target.plural == "namespaces" and target.name in space.real_namespaces


def test_the_inventory_is_logical_and_alices_alone(pod: Pod) -> None:
    learner = pod.learner()
    start = len(pod.pool.requests)
    inventory = learner.inventory()
    sent = pod.requests_since(start)

    assert sorted(p.key for p in inventory.pods) == sorted([*LAB_PODS, "kube-system/coredns-0"])
    names = {ns.name for ns in inventory.namespaces}
    assert set(LAB_NAMESPACES) <= names
    assert names <= set(LAB_NAMESPACES) | {
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
    }
    segment = inventory.namespace_map["my-segment"]
    assert segment.label_map[NAME_LABEL] == "my-segment"  # mapped back
    assert segment.label_map[LEARNER_LABEL] == "alice"
    # no real name, nothing of bob's, in the whole view
    text = repr(inventory)
    assert "ws1-alice" not in text and "bob" not in text and "ws1-bob" not in text
    alice_ips = {str(p.ip) for p in inventory.pods if p.namespace in LAB_NAMESPACES}
    assert all(ip.startswith("10.61.") for ip in alice_ips), alice_ips

    assert sent, "the inventory was read"
    assert all(r.method == "GET" for r in sent)
    strays = [f"{r.method} {r.path}" for r in sent if not learners_own_request(r)]
    assert not strays, strays
    paths = {r.path for r in sent}
    assert "/api/v1/pods" not in paths and "/api/v1/namespaces" not in paths


def test_the_learner_pods_are_ready_and_listed_by_namespace(pod: Pod) -> None:
    learner = pod.learner()
    snap = learner.snapshot()
    assert dict(snap.not_ready) == {}
    assert learner.status().ready is True
    listed = {
        Target.parse(r.path).namespace  # type: ignore[union-attr]
        for r in pod.pool.requests
        if r.path.endswith("/pods")
    }
    assert listed == {*ALICE.real_namespaces, "kube-system"}


# -- 3. writes -----------------------------------------------------------------------------------
def network_policy(name: str, namespace: str, spec: dict[str, Any] | None = None) -> str:
    body = spec or {"podSelector": {}, "policyTypes": ["Ingress"]}
    return json.dumps(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": body,
        }
    )


def writes(requests: Sequence[Request]) -> list[Request]:
    return [r for r in requests if r.method in ("PATCH", "DELETE", "POST", "PUT")]


def test_a_lab_apply_is_a_server_side_dry_run_then_the_apply_in_the_real_namespace(
    pod: Pod,
) -> None:
    learner = pod.learner()
    start = len(pod.pool.requests)
    report = learner.apply(network_policy("deny-all", "my-segment"))
    sent = pod.requests_since(start)

    assert report.applied == ("NetworkPolicy my-segment/deny-all",)
    patches = writes(sent)
    path = NP_PATH.format("deny-all")
    assert [(r.method, r.path, r.query.get("dryRun")) for r in patches] == [
        ("PATCH", path, "All"),
        ("PATCH", path, None),
    ]
    for request in patches:
        assert request.content_type == "application/apply-patch+yaml"
        assert request.query["fieldManager"] == "labkit"
        meta = request.body["metadata"]
        assert meta["namespace"] == "ws1-alice-my-segment"
        labels = meta["labels"]
        assert labels[WORKSHOP_LABEL] == "ws1"
        assert labels[LEARNER_LABEL] == "alice"
        assert labels[MANAGED_LABEL] == "true"
    stored = pod.store.find("NetworkPolicy", "deny-all", "ws1-alice-my-segment")
    assert stored is not None
    # every request of the apply (its checks' reads too) stays in alice's namespaces
    strays = [f"{r.method} {r.path}" for r in sent if not learners_own_request(r)]
    assert not strays, strays
    # and the learner sees it in logical names
    assert [p.key for p in learner.policies()] == ["my-segment/deny-all"]


def test_a_batch_with_an_object_in_default_writes_nothing(pod: Pod) -> None:
    learner = pod.learner()
    start = len(pod.pool.requests)
    batch = network_policy("ok", "my-segment") + "\n---\n" + network_policy("nope", "default")
    with pytest.raises(ValidationFailed) as caught:
        learner.apply(batch)
    assert "namespace 'default' is not one of yours" in str(caught.value)
    assert writes(pod.requests_since(start)) == []
    assert pod.store.find("NetworkPolicy", "ok", "ws1-alice-my-segment") is None
    strays = [r.path for r in pod.requests_since(start) if not learners_own_request(r)]
    assert not strays, strays


def test_a_batch_with_an_object_in_default_makes_no_request_at_all(pod: Pod) -> None:
    learner = pod.learner()
    start = len(pod.pool.requests)
    batch = network_policy("ok", "my-segment") + "\n---\n" + network_policy("nope", "default")
    with pytest.raises(ValidationFailed):
        learner.apply(batch)
    assert pod.requests_since(start) == []


def test_delete_and_label_stay_in_alices_namespaces(pod: Pod) -> None:
    learner = pod.learner()
    learner.apply(network_policy("deny-all", "my-segment"))
    start = len(pod.pool.requests)

    learner.label("Namespace", "trusted", {"env": "prod"})
    learner.label("Pod", "frontend", {"tier": "web"}, namespace="my-segment")
    assert learner.delete("NetworkPolicy", "deny-all", namespace="my-segment") is True
    assert learner.delete("NetworkPolicy", "never-was", namespace="my-segment") is False
    sent = writes(pod.requests_since(start))

    # a delete lists by the learner's labels and the name, then deletes what was listed:
    # what does not carry alice's labels (or does not exist) is never asked for by name
    assert [(r.method, r.path) for r in sent] == [
        ("PATCH", "/api/v1/namespaces/ws1-alice-trusted"),
        ("PATCH", "/api/v1/namespaces/ws1-alice-my-segment/pods/frontend"),
        ("DELETE", NP_PATH.format("deny-all")),
    ]
    lists = [
        r.query
        for r in pod.requests_since(start)
        if r.method == "GET" and r.path.endswith("/networkpolicies")
    ]
    assert {
        "labelSelector": "labkit.dev/workshop=ws1,labkit.dev/learner=alice",
        "fieldSelector": "metadata.name=never-was",
    }.items() <= lists[-1].items()
    assert sent[0].content_type == "application/merge-patch+json"
    assert sent[0].body == {"metadata": {"labels": {"env": "prod"}}}
    trusted = pod.store.find("Namespace", "ws1-alice-trusted")
    assert trusted is not None and trusted["metadata"]["labels"]["env"] == "prod"
    assert pod.store.find("NetworkPolicy", "deny-all", "ws1-alice-my-segment") is None
    bob_trusted = pod.store.find("Namespace", "ws1-bob-trusted")
    assert bob_trusted is not None and "env" not in bob_trusted["metadata"]["labels"]
    strays = [
        f"{r.method} {r.path}" for r in pod.requests_since(start) if not learners_own_request(r)
    ]
    assert not strays, strays


def test_deleting_or_labelling_outside_alices_namespaces_sends_nothing(pod: Pod) -> None:
    learner = pod.learner()
    start = len(pod.pool.requests)
    with pytest.raises(ValidationFailed):
        learner.delete("NetworkPolicy", "x", namespace="default")
    with pytest.raises(ValidationFailed):
        learner.label("Namespace", "kube-system", {"env": "prod"})
    with pytest.raises(ValidationFailed):
        learner.delete("Namespace", "trusted")
    assert pod.requests_since(start) == []


# -- 4. probes -----------------------------------------------------------------------------------
PROBE_LINE = re.compile(r"^p (\d+) /agnhost connect (\S+):(\d+) \S+ --protocol=(\w+)", re.M)


class Finished:
    """What ``stream.stream(..., _preload_content=False)`` returns, already finished."""

    def __init__(self, stdout: str) -> None:
        self.stdout = stdout

    def run_forever(self, timeout: float | None = None) -> None:
        pass

    def is_open(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def read_stdout(self) -> str:
        return self.stdout

    def read_stderr(self) -> str:
        return ""

    def read_channel(self, channel: int) -> str:
        assert channel == ERROR_CHANNEL
        return '{"metadata":{},"status":"Success"}'


@dataclass
class FakeExec:
    """Stands in for ``kubernetes.stream.stream``: answers labkit's probe script as the
    engine predicts for the learner's logical inventory (0 ``connected`` when allowed, 1
    ``TIMEOUT`` when blocked), holds each stream open ``hold_s`` and counts how many are
    open at once."""

    space: LearnerSpace
    inventory: Inventory
    hold_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    open: int = 0
    peak: int = 0
    calls: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = EngineRunner(Engine(self.inventory))
        self.by_address = {str(p.ip): p.key for p in self.inventory.pods if p.ip is not None}

    def outcome(self, src: str, address: str, port: int, protocol: str) -> Outcome:
        job = Job(src, self.by_address[address], ProbeSpec(port, Protocol(protocol.upper())))
        return self.engine.run([job])[0].outcome

    def __call__(self, method: Any, pod: str, namespace: str, **kwargs: Any) -> Finished:
        assert method.__name__ == "connect_get_namespaced_pod_exec"
        with self.lock:
            self.open += 1
            self.peak = max(self.peak, self.open)
            self.calls.append((namespace, pod))
        try:
            if self.hold_s:
                time.sleep(self.hold_s)
            argv = kwargs["command"]
            assert argv[:2] == ["/bin/sh", "-c"], argv
            src = f"{self.space.to_logical(namespace)}/{pod}"
            lines = []
            for index, address, port, protocol in PROBE_LINE.findall(argv[-1]):
                verdict = self.outcome(src, address, int(port), protocol)
                if verdict is Outcome.BLOCKED:
                    lines.append(f"{MARK} {index} 1 TIMEOUT")
                else:
                    lines.append(f"{MARK} {index} 0 connected")
            assert lines, "a probe script without targets"
            return Finished("\n".join(lines) + "\n")
        finally:
            with self.lock:
                self.open -= 1


DENY_SEGMENT = {
    "podSelector": {},
    "policyTypes": ["Ingress"],
    "ingress": [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {NAME_LABEL: "trusted"}}},
                {"podSelector": {"matchLabels": {"app": "frontend"}}},
            ]
        }
    ],
}


@pytest.fixture
def probing(
    pod: Pod, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LearnerCluster, FakeExec]]:
    """alice with a policy in my-segment (some cells blocked, some allowed) and the fake
    exec stream answering as the engine predicts."""
    learner = pod.learner()
    learner.apply(network_policy("only-trusted", "my-segment", DENY_SEGMENT))
    fake = FakeExec(ALICE, learner.inventory())
    monkeypatch.setattr(kube_stream, "stream", fake)
    yield learner, fake


def cells(tables: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(t.probe, t.peers, t.cells) for t in tables]


def test_the_live_matrix_equals_the_prediction(
    probing: tuple[LearnerCluster, FakeExec], pod: Pod
) -> None:
    learner, fake = probing
    predicted = learner.predicted_matrix()
    start = len(pod.pool.requests)
    live = learner.probe_matrix()
    assert cells(live) == cells(predicted)
    outcomes = {c for t in live for row in t.cells for c in row}
    assert {Outcome.ALLOWED, Outcome.BLOCKED} <= outcomes  # the policy blocks some cells
    assert list(live[0].peers) == list(LAB_PODS)
    # logical names in what the learner sees
    assert not any("ws1-alice" in d for t in live for row in t.details for d in row)
    # one exec per source pod, all in alice's namespaces
    assert len(fake.calls) == len(LAB_PODS)
    assert {ns for ns, _ in fake.calls} <= set(ALICE.real_namespaces)
    assert sorted(f"{ALICE.to_logical(ns)}/{p}" for ns, p in fake.calls) == sorted(LAB_PODS)
    strays = [
        f"{r.method} {r.path}" for r in pod.requests_since(start) if not learners_own_request(r)
    ]
    assert not strays, strays


def test_a_blocked_cell_is_reported_blocked(
    probing: tuple[LearnerCluster, FakeExec],
) -> None:
    learner, _ = probing
    blocked = learner.probe("untrusted/client", "my-segment/backend")
    allowed = learner.probe("trusted/client", "my-segment/backend")
    assert (blocked.outcome, allowed.outcome) == (Outcome.BLOCKED, Outcome.ALLOWED)
    assert blocked.job.src == "untrusted/client"  # the job as asked, logical


def test_at_most_two_exec_streams_at_once_across_two_runners(
    probing: tuple[LearnerCluster, FakeExec], pod: Pod
) -> None:
    """Two runners made one after the other (two KubeHosts even: the facade reconnects on
    every call) share alice's two exec slots."""
    learner, fake = probing
    fake.hold_s = 0.03
    other = pod.learner()
    assert other.host is not learner.host
    runners = [learner.host.runner(ALICE), other.host.runner(ALICE)]
    jobs = [Job(s, d, ProbeSpec(80)) for s in LAB_PODS for d in LAB_PODS]
    real = [Job(ALICE.peer_to_real(j.src), ALICE.peer_to_real(j.dst), j.probe) for j in jobs]
    results = run_together([lambda r=r: r.run(real) for r in runners])  # type: ignore[misc]
    assert fake.peak == 2
    assert len(fake.calls) == 2 * len(LAB_PODS)
    assert all(res.outcome in (Outcome.ALLOWED, Outcome.BLOCKED) for rs in results for res in rs)


def test_the_control_a_limiter_per_runner_lets_streams_pile_up(
    probing: tuple[LearnerCluster, FakeExec], pod: Pod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proves the test above can fail: with one limiter per runner (no per-learner sharing)
    the same two runners open more than two streams at once."""
    learner, fake = probing
    fake.hold_s = 0.03
    monkeypatch.setattr(KubeHost, "_limiter", lambda self, space: ExecLimiter(self.max_execs))
    runners = [learner.host.runner(ALICE), pod.learner().host.runner(ALICE)]
    real = [
        Job(ALICE.peer_to_real(s), ALICE.peer_to_real(d), ProbeSpec(80))
        for s in LAB_PODS
        for d in LAB_PODS
    ]
    run_together([lambda r=r: r.run(real) for r in runners])  # type: ignore[misc]
    assert fake.peak > 2


def run_together(targets: Sequence[Callable[[], Any]]) -> list[Any]:
    results: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            results[i] = targets[i]()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


# -- 5. rate limit -------------------------------------------------------------------------------
def test_the_second_live_matrix_within_20_s_waits_and_says_why(
    probing: tuple[LearnerCluster, FakeExec],
    clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    learner, _ = probing
    caplog.set_level(logging.INFO, logger="labkit.cluster.workshop.throttle")
    learner.probe_matrix()
    assert clock.sleeps == []
    clock.now += 5.0
    learner.probe_matrix()
    assert len(clock.sleeps) == 1
    assert 15.0 <= clock.sleeps[0] <= 18.0  # the rest of the 20 s, plus up to 3 s of jitter
    waits = [r for r in caplog.records if "the live matrix waits" in r.getMessage()]
    assert len(waits) == 1 and waits[0].levelno == logging.INFO
    assert "one live matrix per learner every 20 s" in waits[0].getMessage()
    # a matrix after the interval goes at once
    clock.now += 25.0
    learner.probe_matrix()
    assert len(clock.sleeps) == 1


def test_the_limit_holds_across_learner_clusters_of_the_process(
    probing: tuple[LearnerCluster, FakeExec], clock: VirtualClock, pod: Pod
) -> None:
    learner, _ = probing
    learner.probe_matrix()
    pod.learner().probe_matrix()  # the facade reconnects: a new LearnerCluster
    assert len(clock.sleeps) == 1


def test_predictions_never_wait(
    probing: tuple[LearnerCluster, FakeExec],
    clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    learner, fake = probing
    caplog.set_level(logging.INFO)
    learner.probe_matrix()
    before = len(fake.calls)
    for _ in range(3):
        learner.predicted_matrix()
    assert clock.sleeps == []
    assert len(fake.calls) == before  # no exec for a prediction
    assert not any("the live matrix waits" in r.getMessage() for r in caplog.records)


def test_reset_in_a_pod_deletes_by_the_learners_selector_through_the_client(pod: Pod) -> None:
    """``lab.reset()`` in a notebook pod (no kubectl): alice's extra policy goes, listed and
    deleted by her label selector in her own namespaces; bob's lab is not asked about."""
    learner = pod.learner()
    learner.apply(network_policy("deny-all", "my-segment"))
    start = len(pod.pool.requests)
    learner.reset()
    sent = pod.requests_since(start)
    assert pod.store.find("NetworkPolicy", "deny-all", "ws1-alice-my-segment") is None
    assert [(r.method, r.path) for r in writes(sent) if r.method == "DELETE"] == [
        ("DELETE", NP_PATH.format("deny-all"))
    ]
    listed = [r for r in sent if r.method == "GET" and "labelSelector" in r.query]
    assert listed and all(
        r.query["labelSelector"] == "labkit.dev/workshop=ws1,labkit.dev/learner=alice"
        and "/namespaces/ws1-alice-" in r.path
        for r in listed
    )
    strays = [r.path for r in sent if not learners_own_request(r)]
    assert not strays, strays


def test_a_pod_finds_its_workshop_and_learner_once(pod: Pod) -> None:
    """Three requests the first time (ConfigMap, SelfSubjectReview, version), none after: a
    notebook's every lab call must not ask the API server who it is again."""
    first = session.find_learner()
    assert first is not None and first.learner == "alice"
    start = len(pod.pool.requests)
    again = session.find_learner()
    assert again is not None and again.learner == "alice"
    assert pod.requests_since(start) == []
    session.forget_pod_identity()
    assert session.find_learner() is not None
    assert len(pod.requests_since(start)) == 3
