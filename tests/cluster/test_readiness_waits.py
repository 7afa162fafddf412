"""Readiness rules over API objects (hand-written in the API's shapes) and the waiting loop's
timeouts and messages, with a fake clock. No cluster."""

from __future__ import annotations

from typing import Any

import pytest

from labkit.cluster import waits
from labkit.cluster.kind import readiness
from labkit.cluster.reads import Listing
from labkit.cluster.waits import VirtualClock
from labkit.errors import ClusterError, ClusterNotReady, CommandFailed


def node(name: str, status: str, message: str = "") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {
            "conditions": [
                {"type": "Ready", "status": status, "reason": "KubeletNotReady", "message": message}
            ]
        },
    }


@pytest.mark.parametrize(
    ("nodes", "expected", "ok", "says"),
    [
        ([node("cp", "True"), node("w1", "True"), node("w2", "True")], 3, True, "3 node(s) Ready"),
        (
            [node("cp", "True"), node("w1", "False", "cni plugin not initialized")],
            2,
            False,
            "node w1 NotReady (cni plugin not initialized)",
        ),
        ([node("cp", "True")], 3, False, "1 of 3 nodes registered"),
        ([], None, False, "no nodes yet"),
        ([{"metadata": {"name": "x"}, "status": {}}], 1, False, "no Ready condition"),
    ],
)
def test_nodes_ready(
    nodes: list[dict[str, Any]], expected: int | None, ok: bool, says: str
) -> None:
    found, message = readiness.nodes_ready(nodes, expected)
    assert found is ok
    assert says in message


def tigera(name: str, available: str, degraded: str = "") -> dict[str, Any]:
    conds = [{"type": "Available", "status": available}]
    if degraded:
        conds.append({"type": "Degraded", "status": "True", "message": degraded})
    return {"metadata": {"name": name}, "status": {"conditions": conds}}


@pytest.mark.parametrize(
    ("items", "ok", "says"),
    [
        ([tigera("calico", "True"), tigera("apiserver", "True")], True, "Available"),
        (
            [
                tigera("calico", "True"),
                tigera("apiserver", "False", "Waiting for calico-apiserver"),
            ],
            False,
            "tigerastatus apiserver: Waiting for calico-apiserver",
        ),
        ([], False, "no tigerastatus objects yet"),
        (
            [
                {
                    "metadata": {"name": "ippools"},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                }
            ],
            False,
            "not Available",
        ),
    ],
)
def test_tigerastatus_needs_available_not_ready(
    items: list[dict[str, Any]], ok: bool, says: str
) -> None:
    found, message = readiness.tigerastatus_available(items)
    assert found is ok and says in message


@pytest.mark.parametrize(
    ("obj", "ok"),
    [
        (
            {
                "kind": "DaemonSet",
                "metadata": {"name": "calico-node"},
                "status": {
                    "desiredNumberScheduled": 3,
                    "numberReady": 3,
                    "updatedNumberScheduled": 3,
                },
            },
            True,
        ),
        (
            {
                "kind": "DaemonSet",
                "metadata": {"name": "calico-node"},
                "status": {
                    "desiredNumberScheduled": 3,
                    "numberReady": 2,
                    "updatedNumberScheduled": 3,
                },
            },
            False,
        ),
        ({"kind": "DaemonSet", "metadata": {"name": "calico-node"}, "status": {}}, False),
        (
            {
                "kind": "Deployment",
                "metadata": {"name": "coredns"},
                "spec": {"replicas": 2},
                "status": {"availableReplicas": 2},
            },
            True,
        ),
        (
            {
                "kind": "Deployment",
                "metadata": {"name": "coredns"},
                "spec": {"replicas": 2},
                "status": {"availableReplicas": 1},
            },
            False,
        ),
    ],
)
def test_rollout_ready(obj: dict[str, Any], ok: bool) -> None:
    assert readiness.rollout_ready(obj)[0] is ok


def pod(name: str, ready: bool, waiting: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": "Running" if ready else "Pending",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if waiting:
        status["containerStatuses"] = [
            {
                "name": "web",
                "state": {"waiting": {"reason": waiting, "message": "Back-off pulling image"}},
            }
        ]
    return {"metadata": {"name": name, "namespace": "shop"}, "status": status}


def test_pods_ready_names_the_waiting_pod_and_why() -> None:
    ok, message = readiness.pods_ready([pod("a", True), pod("b", False, "ImagePullBackOff")], 2)
    assert not ok
    assert message == "pod shop/b: container web: ImagePullBackOff (Back-off pulling image)"
    assert readiness.pods_ready([pod("a", True)], 2) == (False, "1 of 2 pods created")
    assert readiness.pods_ready([pod("a", True)], 1) == (True, "1 pod(s) Ready")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def step(self, name: str, total: int | None = None) -> None: ...

    def advance(self, message: str = "") -> None:
        self.messages.append(message)

    def finish(self, message: str = "") -> None: ...


def test_wait_for_returns_when_ready_and_reports_each_new_message_once() -> None:
    clock, progress = Clock(), Recorder()
    answers = iter([(False, "0/3"), (False, "0/3"), (False, "2/3"), (True, "3/3")])
    took = readiness.wait_for(
        "calico-node",
        lambda: next(answers),
        timeout=60,
        progress=progress,
        interval=2,
        clock=clock,
        sleep=clock.sleep,
    )
    assert took == 6
    assert progress.messages == ["calico-node: 0/3", "calico-node: 2/3"]


def test_wait_for_timeout_names_what_is_not_ready_and_the_fix() -> None:
    clock = Clock()
    with pytest.raises(ClusterNotReady) as err:
        readiness.wait_for(
            "Calico (tigerastatus)",
            lambda: (False, "tigerastatus calico: Waiting for typha"),
            timeout=10,
            progress=Recorder(),
            interval=3,
            fix="kubectl get tigerastatus",
            clock=clock,
            sleep=clock.sleep,
        )
    text = str(err.value)
    assert text.startswith(
        "Calico (tigerastatus) not ready after 10 s: tigerastatus calico: Waiting for typha"
    )
    assert "fix: kubectl get tigerastatus" in text
    assert clock.now == 10  # the last sleep is cut to the deadline


def test_wait_for_treats_command_errors_as_not_ready_yet() -> None:
    clock = Clock()
    calls = iter([CommandFailed(["kubectl", "get", "nodes"], 1, "connection refused"), (True, "")])

    def check() -> tuple[bool, str]:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert (
        readiness.wait_for(
            "API", check, timeout=30, progress=Recorder(), clock=clock, sleep=clock.sleep
        )
        == 2
    )


class ListsOnly:
    """Reads without a watch (as kubectl): records each list request."""

    watches = False

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.asked: list[tuple[str, str | None, str | None]] = []

    def list(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing:
        self.asked.append((plural, namespace, label_selector))
        return Listing(self.items, "7")


def test_a_learners_broken_pod_does_not_block_the_lab_pods_wait() -> None:
    lab = pod("web", True)
    broken = pod("mine", False, "ErrImagePull")
    other_ns = {**pod("x", False), "metadata": {"name": "x", "namespace": "other"}}
    reads = ListsOnly([lab, broken, other_ns])
    only_lab = readiness.pods_wait(reads, ["shop"], 1, ["shop/web"])  # type: ignore[arg-type]
    every_pod = readiness.pods_wait(reads, ["shop"], 1)  # type: ignore[arg-type]
    assert only_lab.check() == (True, "1 pod(s) Ready")
    assert every_pod.check()[0] is False and "shop/mine" in every_pod.check()[1]
    assert reads.asked[0] == ("pods", "shop", None)  # one namespace: listed alone


def test_pods_of_several_namespaces_are_listed_by_label_across_namespaces() -> None:
    reads = ListsOnly([pod("web", True)])
    wait = readiness.pods_wait(  # type: ignore[arg-type]
        reads, ["shop", "db"], 1, None, "labkit.dev/managed=true"
    )
    assert wait.check() == (True, "1 pod(s) Ready")
    assert reads.asked == [("pods", None, "labkit.dev/managed=true")]
    assert wait.pause is None  # no watch: the wait polls


def test_rollout_and_gone_waits() -> None:
    ds = {
        "kind": "DaemonSet",
        "metadata": {"name": "calico-node"},
        "status": {"desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 3},
    }
    reads = ListsOnly([ds])
    assert readiness.rollout_wait(reads, "daemonsets", "kube-system", "calico-node").check()[0]  # type: ignore[arg-type]
    missing = readiness.rollout_wait(reads, "deployments", "kube-system", "coredns").check()  # type: ignore[arg-type]
    assert missing == (False, "deployment kube-system/coredns does not exist yet")
    gone = readiness.gone_wait(reads, "daemonsets", ["calico-node", "other"])  # type: ignore[arg-type]
    assert gone.check() == (False, "1 still terminating: calico-node")
    assert readiness.gone_wait(reads, "daemonsets", ["other"]).check() == (True, "")  # type: ignore[arg-type]


def test_polling_backs_off_up_to_the_longest_interval_and_stops_at_the_deadline() -> None:
    clock = VirtualClock()
    done = waits.poll_until(
        "x",
        lambda: (False, "no"),
        timeout=30,
        interval=1,
        backoff=2,
        max_interval=8,
        clock=clock,
        sleep=clock.sleep,
    )
    assert not done.ok and done.message == "no"
    assert clock.sleeps == [1, 2, 4, 8, 8, 7]


def test_a_failing_watch_falls_back_to_polling() -> None:
    clock = VirtualClock()
    answers = iter([(False, "a"), (False, "b"), (True, "c")])
    pauses: list[float] = []

    def broken_watch(seconds: float) -> None:
        pauses.append(seconds)
        raise ClusterError("watch pods: the API server answered 500")

    took = waits.wait_for(
        "x",
        lambda: next(answers),
        timeout=30,
        interval=2,
        pause=broken_watch,
        clock=clock,
        sleep=clock.sleep,
    )
    assert pauses == [30] and clock.sleeps == [2, 2] and took == 4
