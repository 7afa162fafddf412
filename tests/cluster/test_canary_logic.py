"""The kubectl-level enforcement canary's decisions, with a scripted fake kubectl object:
what it concludes from each sequence of probe answers, and that it always cleans up. Whether
a real CNI enforces policy is only shown by the live suite."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from labkit.cluster import canary
from labkit.cluster.commands import Completed
from labkit.cluster.kubectl import Kubectl
from labkit.errors import ClusterNotReady


class ScriptedKubectl(Kubectl):
    """Records requests; ``connect`` answers ``before``/``denied``/``after`` depending on
    whether the deny policy is applied or was deleted."""

    def __init__(self, before: str, denied: str, after: str) -> None:
        super().__init__(None, "ctx")
        self.answers = {"before": before, "denied": denied, "after": after}
        self.state = "before"
        self.log: list[str] = []

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        hint: str = "",
        check: bool = True,
    ) -> Completed:
        self.log.append(" ".join(args))
        if args[0] == "delete" and canary.DENY_POLICY in args:
            self.state = "after"
        return Completed(tuple(args), 0, "", "", 0.0)

    def apply(
        self,
        docs: Sequence[dict[str, Any]],
        *,
        dry_run: bool = False,
        timeout: float | None = None,
        hint: str = "",
    ) -> list[dict[str, Any]]:
        kinds = [d["kind"] for d in docs]
        self.log.append("apply " + ",".join(kinds))
        if "NetworkPolicy" in kinds:
            self.state = "denied"
        return list(docs)

    def items(self, args: Sequence[str], *, timeout: float | None = None) -> list[dict[str, Any]]:
        ready = {"type": "Ready", "status": "True"}
        return [
            {
                "metadata": {"name": n, "namespace": canary.CANARY_NAMESPACE},
                "status": {"conditions": [ready]},
            }
            for n in ("client", "server")
        ]

    def exec(
        self,
        namespace: str,
        pod: str,
        argv: Sequence[str],
        *,
        timeout: float,
        container: str | None = None,
    ) -> Completed:
        assert (namespace, pod) == (canary.CANARY_NAMESPACE, "client")
        assert list(argv) == [
            "/agnhost",
            "connect",
            "server:8080",
            "--timeout=2s",
            "--protocol=tcp",
        ]
        answer = self.answers[self.state]
        code = 0 if answer == "" else 1
        return Completed(("kubectl", "exec"), code, "", answer, 0.0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


class Quiet:
    def step(self, name: str, total: int | None = None) -> None: ...

    def advance(self, message: str = "") -> None: ...

    def finish(self, message: str = "") -> None: ...


def run(kube: ScriptedKubectl) -> canary.CanaryResult:
    clock = Clock()
    return canary.run_canary(
        kube, "agnhost:test", Quiet(), identity="id-1", clock=clock, sleep=clock.sleep
    )


@pytest.mark.parametrize("denied", ["TIMEOUT\n", "REFUSED\n"])
def test_enforcing_cluster_is_reported_enforced(denied: str) -> None:
    kube = ScriptedKubectl("", denied, "")
    result = run(kube)
    assert result.enforced and result.identity == "id-1"
    assert result.line().startswith("enforced")
    assert kube.log[-1].startswith("delete namespace labkit-canary")


def test_cluster_that_ignores_policy_is_reported_and_refused() -> None:
    kube = ScriptedKubectl("", "", "")
    result = run(kube)
    assert not result.enforced
    assert "does not enforce NetworkPolicy" in result.detail
    with pytest.raises(ClusterNotReady, match="does not enforce NetworkPolicy"):
        canary.require_enforced(result)
    assert kube.log[-1].startswith("delete namespace labkit-canary")


def test_broken_pod_network_is_not_mistaken_for_enforcement() -> None:
    kube = ScriptedKubectl("DNS: lookup server: no such host\n", "TIMEOUT\n", "")
    with pytest.raises(ClusterNotReady, match="cannot reach server:8080 before any policy"):
        run(kube)
    assert kube.log[-1].startswith("delete namespace labkit-canary")
    assert not any("NetworkPolicy" in line for line in kube.log)


def test_policy_removal_that_never_takes_effect_is_an_error() -> None:
    kube = ScriptedKubectl("", "TIMEOUT\n", "TIMEOUT\n")
    with pytest.raises(ClusterNotReady, match="did not flow again"):
        run(kube)


def test_canary_objects_follow_the_design() -> None:
    objs = {(o["kind"], o["metadata"]["name"]): o for o in canary.canary_objects("img")}
    server = objs[("Pod", "server")]["spec"]["containers"][0]
    client = objs[("Pod", "client")]["spec"]["containers"][0]
    assert server["args"] == ["netexec", "--http-port=8080"]
    assert client["args"] == ["pause"]
    assert objs[("Service", "server")]["spec"]["ports"][0]["port"] == 8080
    assert all(o["metadata"]["labels"]["labkit.dev/managed"] == "true" for o in objs.values())
    deny = canary.deny_policy()["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_cached_result_is_used_only_for_the_same_cluster_identity(tmp_path: Path) -> None:
    path = tmp_path / "canary.json"
    result = canary.CanaryResult(True, "ok", 3.0, 1.0, "uid;node=t1", 1.0)
    canary.save_cached(path, result)
    assert canary.load_cached(path, "uid;node=t1") == result
    assert canary.load_cached(path, "uid;node=t2") is None
    path.write_text("{broken")
    assert canary.load_cached(path, "uid;node=t1") is None
