"""The simulated CNI that enforces nothing: probes all get through, the engine's
predictions stay Calico's, the one canary reports it, and the choice is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cli.main import main
from labkit.cluster import lifecycle
from labkit.cluster.labdir import cluster_record_path
from labkit.cluster.simulated import SimulatedCluster
from labkit.errors import ClusterError
from labkit.probe.jobs import Outcome, ProbeSpec

DENY_DATABASE = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny-database", "namespace": "my-segment"},
    "spec": {"podSelector": {"matchLabels": {"role": "database"}}, "policyTypes": ["Ingress"]},
}
PAIR = ("untrusted/client", "my-segment/database")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("cni", "observed"), [("none", Outcome.ALLOWED), ("calico", Outcome.BLOCKED)]
)
def test_probe_follows_the_cni_and_prediction_stays_calicos(
    home: Path, cni: str, observed: Outcome
) -> None:
    lifecycle.up("simulated", cni=cni)
    lab = lifecycle.connect()
    lab.apply(DENY_DATABASE)
    assert lab.probe(*PAIR).outcome is observed
    predicted = lab.predicted_matrix([ProbeSpec(80)], peers=list(PAIR))[0]
    assert predicted.outcome(*PAIR) is Outcome.BLOCKED


def test_record_and_status_say_the_cni(home: Path) -> None:
    lifecycle.up("simulated", cni="none")
    record = json.loads(cluster_record_path(home).read_text(encoding="utf-8"))
    assert record["cni"] == "none"
    status = lifecycle.status()
    assert status.cni.startswith("none")
    assert not status.ready
    assert "does not enforce NetworkPolicy" in status.canary
    lifecycle.up("simulated", cni="calico")
    status = lifecycle.status()
    assert status.ready and status.canary.startswith("enforced")


def test_cli_up_cni_none(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--backend", "simulated", "--cni", "none"]) == 1  # not ready: not enforced
    out = capsys.readouterr().out
    assert "cni:      none" in out and "NOT enforced" in out


@pytest.mark.parametrize("backend", ["kind", "existing"])
def test_cni_none_is_simulated_only(home: Path, backend: str) -> None:
    with pytest.raises(ClusterError, match="--backend simulated"):
        lifecycle.up(backend, cni="none")


def test_unknown_cni_is_refused(home: Path) -> None:
    with pytest.raises(ClusterError, match="unknown"):
        SimulatedCluster.in_memory(cni="flannel")
