"""The enforcement canary on clusters that enforce policy and on one that does not."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.cluster.enforcement_check import CANARY_NAMESPACE, check_enforcement
from labkit.cluster.simulated import SimulatedCluster
from labkit.engine.evaluator import Engine
from labkit.model.inventory import Inventory
from labkit.probe.jobs import Job, Outcome, Result
from labkit.probe.runner import Runner


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class IgnoresPolicies:
    """A CNI without policy support: everything between pods gets through."""

    def __init__(self, inventory: Inventory) -> None:
        self.engine = Engine(Inventory(inventory.namespaces, inventory.pods, inventory.services))

    def run(self, jobs: Sequence[Job]) -> list[Result]:
        return [
            Result(
                j,
                Outcome.ALLOWED
                if self.engine.allowed_by_name(j.src, j.dst, j.probe.port, j.probe.protocol)
                else Outcome.BLOCKED,
            )
            for j in jobs
        ]


class NonEnforcing(SimulatedCluster):
    def runner(self) -> Runner:
        return IgnoresPolicies(self.inventory())


class Lagging(SimulatedCluster):
    """Policies take effect only after a few probes, as on a real CNI."""

    def __init__(self, lag: int) -> None:
        other = SimulatedCluster.in_memory()
        super().__init__(other.home, store=other.store)
        self.lag = lag
        self.calls = 0
        self.last_policies = 0

    def runner(self) -> Runner:
        inventory = self.inventory()
        if len(inventory.policies) != self.last_policies:
            self.last_policies, self.calls = len(inventory.policies), 0
        self.calls += 1
        if self.calls <= self.lag:
            return IgnoresPolicies(inventory) if inventory.policies else super().runner()
        return super().runner()


def test_the_simulated_cluster_passes_and_is_cleaned_up() -> None:
    cluster = SimulatedCluster.in_memory()
    result = check_enforcement(cluster)
    assert result.passed, result.message
    assert [s.split(": ")[1] for s in result.steps] == ["allowed", "blocked", "allowed"]
    assert CANARY_NAMESPACE not in {n.name for n in cluster.namespaces()}


def test_a_cluster_that_ignores_policies_fails_after_the_timeout() -> None:
    clock = FakeClock()
    cluster = NonEnforcing(store=SimulatedCluster.in_memory().store)
    result = check_enforcement(cluster, timeout=10, interval=1, sleep=clock.sleep, clock=clock)
    assert not result.passed
    assert "does NOT enforce NetworkPolicy" in result.message
    assert clock.now >= 10 and len(clock.sleeps) == 10


def test_asynchronous_programming_is_waited_for() -> None:
    clock = FakeClock()
    cluster = Lagging(lag=3)
    result = check_enforcement(cluster, timeout=10, interval=1, sleep=clock.sleep, clock=clock)
    assert result.passed, result.message
    assert 0 < clock.now < 10


def test_same_namespace_as_the_kind_canary() -> None:
    import pytest

    canary = pytest.importorskip("labkit.cluster.canary")
    assert canary.CANARY_NAMESPACE == CANARY_NAMESPACE
