"""The one enforcement canary (labkit.cluster.canary), on every backend: what it concludes
from each sequence of agnhost answers (read by labkit.cluster.agnhost, as in a real probe),
that REFUSED is not a block, that a failing control proves nothing, that client and servers
are spread over nodes when there are several, and that it always cleans up. On the kube
path the reads are recorded API responses and exec is scripted; whether a real CNI enforces
policy is only shown by the live suite."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from api_fakes import FakePool, fake_api, fixture

from labkit.cluster import canary
from labkit.cluster.agnhost import classify
from labkit.cluster.backend import ApplyReport
from labkit.cluster.commands import Completed
from labkit.cluster.kube import KubeCluster
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.simulated import SimulatedCluster
from labkit.cluster.waits import VirtualClock
from labkit.engine.evaluator import Engine
from labkit.errors import ClusterNotReady
from labkit.model.inventory import build_inventory
from labkit.model.loader import RawObject
from labkit.probe.jobs import Job, Result
from labkit.probe.runner import Runner

FAST = canary.CanarySettings(baseline_s=10, block_s=20, restore_s=10)
Answer = tuple[str, str]
"""What agnhost printed for (client -> server, client -> control): "" is a connection."""


class Scripted(SimulatedCluster):
    """A simulated cluster whose probes answer from a script: ``before`` the deny exists,
    ``denied`` (one answer per probe, the last repeats) while it exists, ``after`` it."""

    def __init__(self, before: Answer, denied: Sequence[Answer], after: Answer) -> None:
        other = SimulatedCluster.in_memory()
        super().__init__(other.home, store=other.store)
        self.before, self.denied, self.after = before, list(denied), after
        self.deny_deleted = False
        self.applied: list[list[str]] = []

    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        self.applied.append([o.kind for o in objects])
        return super()._apply_objects(objects)

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        self.deny_deleted |= name == canary.DENY_POLICY
        return super()._delete(kind, namespace, name)

    def answer(self) -> Answer:
        if self.deny_deleted:
            return self.after
        if any(p.name == canary.DENY_POLICY for p in self.inventory().policies):
            return self.denied.pop(0) if len(self.denied) > 1 else self.denied[0]
        return self.before

    def runner(self) -> Runner:
        return ScriptedRunner(self)


class ScriptedRunner:
    def __init__(self, cluster: Scripted) -> None:
        self.cluster = cluster

    def run(self, jobs: Sequence[Job]) -> list[Result]:
        server, control = self.cluster.answer()
        out = []
        for job in jobs:
            text = server if job.dst.endswith("/server") else control
            obs = classify(0 if text == "" else 1, text)
            out.append(Result(job, obs.outcome, obs.detail()))
        return out


def run(cluster: SimulatedCluster) -> tuple[canary.CanaryResult, VirtualClock]:
    clock = VirtualClock()
    result = canary.run_canary(
        cluster, "agnhost:test", identity="id-1", settings=FAST, clock=clock, sleep=clock.sleep
    )
    return result, clock


def canary_gone(cluster: SimulatedCluster) -> bool:
    return canary.CANARY_NAMESPACE not in {n.name for n in cluster.namespaces()}


def test_the_simulated_cluster_is_enforced_and_the_canary_cleaned_up() -> None:
    cluster = SimulatedCluster.in_memory()
    result, _ = run(cluster)
    assert result.enforced, result.detail
    assert result.identity == "id-1" and result.line().startswith("enforced")
    assert canary_gone(cluster)
    assert cluster.status().canary.startswith("enforced")


OK, TIMEOUT, REFUSED = "", "TIMEOUT\n", "REFUSED\n"


@pytest.mark.parametrize(
    ("denied", "enforced", "probes_under_deny"),
    [
        ([(TIMEOUT, OK)], True, 3),
        # programming takes a while: two connections, then the block holds
        ([(OK, OK), (OK, OK), (TIMEOUT, OK)], True, 5),
        # a streak broken by a connection starts again
        ([(TIMEOUT, OK), (OK, OK), (TIMEOUT, OK)], True, 5),
        # REFUSED reached the pod: no block (agnhost connect.go: ECONNREFUSED -> REFUSED)
        ([(REFUSED, OK)], False, 21),
        ([(TIMEOUT, OK), (REFUSED, OK)], False, 21),
        # a cluster that ignores policy
        ([(OK, OK)], False, 21),
    ],
)
def test_only_consecutive_timeouts_with_the_control_reachable_prove_enforcement(
    denied: list[Answer], enforced: bool, probes_under_deny: int
) -> None:
    cluster = Scripted((OK, OK), denied, (OK, OK))
    clock = VirtualClock()
    calls = 0
    original = cluster.answer

    def counting() -> Answer:
        nonlocal calls
        if any(p.name == canary.DENY_POLICY for p in cluster.inventory().policies):
            calls += 1
        return original()

    cluster.answer = counting  # type: ignore[method-assign]
    result = canary.run_canary(
        cluster, "img", identity="x", settings=FAST, clock=clock, sleep=clock.sleep
    )
    assert result.enforced is enforced, result.detail
    assert calls == probes_under_deny
    assert canary_gone(cluster)
    if not enforced:
        assert "does not enforce NetworkPolicy" in result.detail
        with pytest.raises(ClusterNotReady, match="does not enforce NetworkPolicy"):
            canary.require_enforced(result)


def test_a_refused_server_is_named_in_the_verdict() -> None:
    result, _ = run(Scripted((OK, OK), [(REFUSED, OK)], (OK, OK)))
    assert not result.enforced
    assert "refused: nothing listens" in result.detail


def test_the_time_to_take_effect_is_until_the_first_timeout_of_the_streak() -> None:
    result, _ = run(Scripted((OK, OK), [(OK, OK), (OK, OK), (TIMEOUT, OK)], (OK, OK)))
    assert result.enforced
    assert result.block_s == pytest.approx(2 * FAST.interval)


def test_a_control_that_fails_too_proves_nothing() -> None:
    cluster = Scripted((OK, OK), [(TIMEOUT, TIMEOUT)], (OK, OK))
    with pytest.raises(ClusterNotReady, match=r"control server.*became unreachable"):
        run(cluster)
    assert canary_gone(cluster)


def test_a_broken_pod_network_is_not_mistaken_for_enforcement() -> None:
    cluster = Scripted(("DNS: lookup server: no such host\n", OK), [(TIMEOUT, OK)], (OK, OK))
    with pytest.raises(ClusterNotReady, match=r"cannot reach its servers.*before any policy"):
        run(cluster)
    assert "NetworkPolicy" not in {k for batch in cluster.applied for k in batch}
    assert canary_gone(cluster)


def test_policy_removal_that_never_takes_effect_is_an_error() -> None:
    cluster = Scripted((OK, OK), [(TIMEOUT, OK)], (TIMEOUT, OK))
    with pytest.raises(ClusterNotReady, match="did not flow again"):
        run(cluster)
    assert canary_gone(cluster)


def test_the_deny_selects_the_server_only_so_the_control_stays_reachable() -> None:
    objects = [RawObject(o, "<canary>") for o in canary.canary_objects("img")]
    engine = Engine(build_inventory([*objects, RawObject(canary.deny_policy(), "<canary>")]))
    client = f"{canary.CANARY_NAMESPACE}/client"
    from labkit.model.ports import Protocol

    assert not engine.allowed_by_name(
        client, f"{canary.CANARY_NAMESPACE}/server", 8080, Protocol.TCP
    )
    assert engine.allowed_by_name(client, f"{canary.CANARY_NAMESPACE}/control", 8080, Protocol.TCP)


def test_with_several_nodes_the_client_keeps_off_both_servers_nodes() -> None:
    spread = {o["metadata"]["name"]: o for o in canary.canary_objects("img", spread=True)}
    rule = spread["client"]["spec"]["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert rule == [
        {
            "labelSelector": {
                "matchExpressions": [
                    {"key": "app", "operator": "In", "values": ["canary-server", "canary-control"]}
                ]
            },
            "topologyKey": "kubernetes.io/hostname",
        }
    ]
    assert spread["server"]["metadata"]["labels"]["app"] == "canary-server"
    assert spread["control"]["metadata"]["labels"]["app"] == "canary-control"
    alone = {o["metadata"]["name"]: o for o in canary.canary_objects("img")}
    assert "affinity" not in alone["client"]["spec"]
    assert all(o["metadata"]["labels"]["labkit.dev/managed"] == "true" for o in alone.values())


def node(name: str, *, ready: bool = True, taint: str = "", cordoned: bool = False) -> Any:
    spec: dict[str, Any] = {"unschedulable": True} if cordoned else {}
    if taint:
        spec["taints"] = [{"key": "k", "effect": taint}]
    cond = {"type": "Ready", "status": "True" if ready else "False"}
    return {"metadata": {"name": name}, "spec": spec, "status": {"conditions": [cond]}}


@pytest.mark.parametrize(
    ("nodes", "names"),
    [
        ([node("a"), node("b")], ["a", "b"]),
        ([node("cp", taint="NoSchedule"), node("w")], ["w"]),
        ([node("a", taint="NoExecute"), node("b", taint="PreferNoSchedule")], ["b"]),
        ([node("a", cordoned=True), node("b", ready=False), node("c")], ["c"]),
    ],
)
def test_schedulable_nodes(nodes: list[Any], names: list[str]) -> None:
    assert canary.schedulable_nodes(nodes) == names


def test_a_kind_cluster_with_a_tainted_control_plane_has_two_schedulable_workers() -> None:
    nodes = json.loads(fixture("nodes.json"))["items"]
    assert canary.schedulable_nodes(nodes) == ["labkit-worker", "labkit-worker2"]


def test_cached_result_is_used_only_for_the_same_cluster_identity(tmp_path: Path) -> None:
    path = tmp_path / "canary.json"
    result = canary.CanaryResult(True, "ok", 3.0, 1.0, "uid;node=t1", 1.0, "client on a")
    canary.save_cached(path, result)
    assert canary.load_cached(path, "uid;node=t1") == result
    assert canary.load_cached(path, "uid;node=t2") is None
    path.write_text("{broken")
    assert canary.load_cached(path, "uid;node=t1") is None


def test_cluster_identity_from_the_api() -> None:
    pool = FakePool()
    pool.add("/api/v1/namespaces", fixture("namespaces.json"))
    pool.add("/api/v1/nodes", fixture("nodes.json"))
    identity = canary.cluster_identity(fake_api(pool))
    assert identity == (
        "labkit-control-plane=2026-12-01T19:59:41Z;labkit-worker2=2026-12-01T19:59:57Z;"
        "labkit-worker=2026-12-01T19:59:55Z;9a4c1f3e-2b7d-4e0a-8c55-6a1d2e3f4b50"
    )
    assert pool.requests[0].query == {"fieldSelector": "metadata.name=kube-system"}


# -- the kube path: recorded API reads, apply/delete recorded, exec scripted ------------------
def ready_canary_pods() -> bytes:
    data = json.loads(fixture("canary-pods.json"))
    server = data["items"][2]
    server["status"] = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "podIP": "10.244.2.5",
        "podIPs": [{"ip": "10.244.2.5"}],
    }
    return json.dumps(data).encode()


class FakeKube(KubeCluster):
    """Reads from recorded API responses; applies and deletes are recorded and update those
    responses; exec answers the probe script from whether the deny exists."""

    def __init__(self, pool: FakePool, under_deny: str) -> None:
        super().__init__(Kubectl(None, "ctx"), reads=fake_api(pool))
        self.pool = pool
        self.under_deny = under_deny
        self.deny = False
        self.applied: list[dict[str, Any]] = []
        self.deleted: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        empty = b'{"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}'
        pool.add("/api/v1/nodes", fixture("nodes.json"))
        pool.add("/api/v1/namespaces", fixture("namespaces.json"))
        pool.add("/api/v1/namespaces/labkit-canary/pods", ready_canary_pods())
        pool.add("/api/v1/pods", ready_canary_pods())
        pool.add("/api/v1/services", empty)
        pool.add("/apis/networking.k8s.io/v1/networkpolicies", empty)

    def status(self) -> Any:
        raise AssertionError("not used")

    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        self.applied += [o.data for o in objects]
        self.deny |= any(o.kind == "NetworkPolicy" for o in objects)
        return ApplyReport()

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        self.deleted.append((kind, namespace, name))
        self.deny &= name != canary.DENY_POLICY
        return True

    def exec_fn(self) -> Any:
        def fake(ns: str, pod: str, argv: Sequence[str], timeout: float) -> Completed:
            assert (ns, pod) == (canary.CANARY_NAMESPACE, "client")
            script = argv[-1]
            self.scripts.append(script)
            lines = []
            for index, address in re.findall(r"^p (\d+) /agnhost connect (\S+) ", script, re.M):
                blocked = self.deny and address == "10.244.2.5:8080"
                text = self.under_deny if blocked else ""
                lines.append(f"@@labkit {index} {0 if text == '' else 1} {text}")
            return Completed(("kubectl", "exec"), 0, "\n".join(lines) + "\n", "", 0.1)

        return fake


@pytest.mark.parametrize(("under_deny", "enforced"), [("TIMEOUT", True), ("REFUSED", False)])
def test_on_a_real_cluster_the_canary_spreads_probes_and_cleans_up(
    under_deny: str, enforced: bool
) -> None:
    cluster = FakeKube(FakePool(), under_deny)
    clock = VirtualClock()
    result = canary.run_canary(
        cluster, "agnhost@sha256:1", settings=FAST, clock=clock, sleep=clock.sleep
    )
    assert result.enforced is enforced
    assert result.placement == "client on labkit-worker, server on labkit-worker2"
    client = next(o for o in cluster.applied if o["metadata"]["name"] == "client")
    assert "podAntiAffinity" in client["spec"]["affinity"]  # two schedulable workers
    assert "10.244.2.5:8080" in cluster.scripts[0] and "10.244.2.4:8080" in cluster.scripts[0]
    assert cluster.deleted[-1] == ("Namespace", "default", canary.CANARY_NAMESPACE)
    pod_lists = [r for r in cluster.pool.requests if r.path.endswith("/labkit-canary/pods")]
    assert pod_lists, "the canary pods are waited for in their own namespace"


def test_ensure_enforced_uses_the_cache_for_the_same_cluster_and_refuses_a_non_enforcing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.cluster import deploy

    cache = tmp_path / "canary-kind-labkit.json"
    enforcing = FakeKube(FakePool(), "TIMEOUT")
    monkeypatch.setattr(deploy, "run_canary", _instant(canary.run_canary))
    first = deploy.ensure_enforced(enforcing, "img", Quiet(), cache)
    assert first.enforced and canary.load_cached(cache, first.identity) == first
    applied = len(enforcing.applied)
    again = deploy.ensure_enforced(enforcing, "img", Quiet(), cache)
    assert again == first and len(enforcing.applied) == applied  # cached: nothing ran
    deploy.ensure_enforced(enforcing, "img", Quiet(), cache, rerun=True)
    assert len(enforcing.applied) > applied
    ignoring = FakeKube(FakePool(), "")
    with pytest.raises(ClusterNotReady, match="does not enforce NetworkPolicy"):
        deploy.ensure_enforced(ignoring, "img", Quiet(), cache, rerun=True)
    saved = json.loads(cache.read_text())
    assert saved["enforced"] is False


class Quiet:
    def step(self, name: str, total: int | None = None) -> None: ...

    def advance(self, message: str = "") -> None: ...

    def finish(self, message: str = "") -> None: ...


def _instant(run_canary: Any) -> Any:
    """The canary with a virtual clock and short limits (the probes here answer at once)."""

    def run(*args: Any, **kwargs: Any) -> canary.CanaryResult:
        clock = VirtualClock()
        return run_canary(*args, **kwargs, settings=FAST, clock=clock, sleep=clock.sleep)

    return run
