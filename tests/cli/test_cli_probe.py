"""``labkit probe`` on the simulated cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cli.main import main
from labkit.cluster.simulated import SimulatedCluster
from labkit.cluster.topology import LAB_PODS
from labkit.probe.jobs import Job, Outcome, Result
from labkit.probe.runner import Runner

DENY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny", "namespace": "my-segment"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimulatedCluster:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    cluster = SimulatedCluster.up(tmp_path)
    cluster.apply(DENY)
    return cluster


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_matrix_json_covers_the_lab_pods(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "probe", "--probe", "80/TCP", "--probe", "81/udp", "-o", "json")
    data = json.loads(out)
    assert code == 0 and data["backend"] == "simulated"
    assert data["peers"] == list(LAB_PODS)
    tcp, udp = data["probes"]
    assert (udp["port"], udp["protocol"]) == (81, "UDP")
    i, j = LAB_PODS.index("trusted/client"), LAB_PODS.index("my-segment/frontend")
    assert tcp["observed"][i][j] == "blocked" and tcp["observed"][j][i] == "allowed"
    assert "predicted" not in tcp


def test_namespace_filter_and_table(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "probe", "-n", "trusted", "-n", "untrusted")
    assert code == 0
    assert "trusted/client" in out and "my-segment/frontend" not in out
    code, _, err = run(capsys, "probe", "-n", "nowhere")
    assert code == 1 and "namespace nowhere does not exist" in err


def test_compare_agrees_on_the_simulated_cluster(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "probe", "--compare")
    assert code == 0 and "cluster and prediction agree on every cell" in out
    code, out, _ = run(capsys, "probe", "--compare", "-o", "json")
    assert json.loads(out)["probes"][0]["disagreements"] == []


class Flaky(SimulatedCluster):
    """Observes one cell wrongly, as a cluster that disagrees with the prediction would."""

    def runner(self) -> Runner:
        inner = super().runner()

        class Wrong:
            def run(self, jobs: list[Job]) -> list[Result]:
                out = inner.run(jobs)
                return [
                    Result(r.job, Outcome.ALLOWED, "seen")
                    if r.job.src == "trusted/client" and r.job.dst == "my-segment/database"
                    else r
                    for r in out
                ]

        return Wrong()  # type: ignore[return-value]


def test_compare_lists_disagreements(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.cluster import lifecycle

    monkeypatch.setattr(lifecycle, "connect", lambda **k: Flaky(sim.home))
    code, out, _ = run(capsys, "probe", "--compare")
    assert code == 1
    assert "1 cell disagrees:" in out
    assert "trusted/client -> my-segment/database: observed allowed, predicted blocked" in out


def test_one_cell_and_a_missing_pod(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "probe",
        "--from",
        "my-segment/frontend",
        "--to",
        "trusted/client",
        "--probe",
        "80",
        "--probe",
        "9090",
    )
    assert code == 0 and out.count(": allowed") == 2
    code, out, _ = run(capsys, "probe", "--from", "trusted/ghost", "--to", "trusted/client")
    assert code == 1 and ": failed" in out and "trusted/ghost does not exist" in out
    code, _, err = run(capsys, "probe", "--from", "trusted/client")
    assert code == 1 and "--from and --to go together" in err
    code, _, err = run(capsys, "probe", "--probe", "80/ICMP")
    assert code == 1 and "--probe" in err
