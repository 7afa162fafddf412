"""Backend selection and the lab cluster's lifecycle (no Docker needed)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from labkit.cluster import lifecycle
from labkit.cluster.simulated import SimulatedCluster
from labkit.cluster.topology import LAB_PODS
from labkit.errors import ClusterError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    return tmp_path


def fake_docker(monkeypatch: pytest.MonkeyPatch, usable: bool, detail: str = "") -> None:
    doctor = pytest.importorskip("labkit.cluster.doctor")
    monkeypatch.setattr(doctor, "docker_usable", lambda *a, **k: (usable, detail))


def fake_tools(monkeypatch: pytest.MonkeyPatch, present: set[str]) -> None:
    monkeypatch.setattr(
        lifecycle.shutil, "which", lambda tool: f"/usr/bin/{tool}" if tool in present else None
    )


@pytest.mark.parametrize(
    ("usable", "tools", "backend", "words"),
    [
        (False, {"kind", "kubectl"}, "simulated", "Docker is not usable here (no engine)"),
        (True, {"kubectl"}, "simulated", "kind is not on PATH"),
        (True, set(), "simulated", "kind and kubectl are not on PATH"),
        (True, {"kind", "kubectl"}, "kind", "Docker, kind and kubectl are usable"),
    ],
)
def test_auto_choice(
    monkeypatch: pytest.MonkeyPatch, usable: bool, tools: set[str], backend: str, words: str
) -> None:
    fake_docker(monkeypatch, usable, "no engine")
    fake_tools(monkeypatch, tools)
    chosen, why = lifecycle.auto_choice()
    assert chosen == backend
    assert words in why
    assert why.count(". ") == 0 and why.endswith("."), "one sentence"


def test_auto_falls_back_to_simulated_and_says_why(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_docker(monkeypatch, False, "Cannot connect to the Docker daemon")
    with caplog.at_level(logging.WARNING, logger="labkit.cluster.lifecycle"):
        cluster = lifecycle.up("auto")
    assert isinstance(cluster, SimulatedCluster)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "Cannot connect to the Docker daemon" in warned[0]
    record = json.loads((home / "cluster.json").read_text())
    assert record["backend"] == "simulated" and record["why"] == warned[0]
    status = lifecycle.status()
    assert status.backend == "simulated" and status.ready
    assert dict(status.details)["why"] == warned[0]


def test_connect_finds_the_recorded_cluster(home: Path) -> None:
    lifecycle.up("simulated")
    cluster = lifecycle.connect()
    assert isinstance(cluster, SimulatedCluster)
    assert set(LAB_PODS) <= set(cluster.peers())


def test_connect_without_a_cluster(home: Path) -> None:
    with pytest.raises(ClusterError, match="labkit up"):
        lifecycle.connect(create=False)
    assert lifecycle.status().backend == "none"
    cluster = lifecycle.connect()
    assert isinstance(cluster, SimulatedCluster) and cluster.exists()
    assert json.loads((home / "cluster.json").read_text())["backend"] == "simulated"


def test_down_forgets_the_cluster(home: Path) -> None:
    lifecycle.up("simulated")
    assert lifecycle.down() == "deleted the simulated cluster"
    assert not (home / "cluster.json").exists() and not (home / "simulated.json").exists()
    assert lifecycle.status().ready is False


def test_reset_goes_back_to_the_topology(home: Path) -> None:
    cluster = lifecycle.up("simulated")
    assert not isinstance(cluster, str)
    cluster.apply(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "x", "namespace": "my-segment"},
            "spec": {"podSelector": {}},
        }
    )
    assert lifecycle.reset().policies() == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "nope"}, "unknown backend"),
        ({"backend": "simulated", "context": "ctx"}, "means an existing cluster"),
        ({"backend": "existing"}, "needs a kubeconfig context"),
        ({"backend": "simulated", "nodes": 2}, "nodes must be 1 or 3"),
    ],
)
def test_bad_requests_are_refused(home: Path, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ClusterError, match=match):
        lifecycle.up(**kwargs)  # type: ignore[arg-type]


def test_dry_run_changes_nothing(home: Path) -> None:
    plan = lifecycle.up("simulated", dry_run=True)
    assert isinstance(plan, str)
    assert "would create a simulated cluster" in plan and "Pod my-segment/frontend" in plan
    assert not (home / "simulated.json").exists() and not (home / "cluster.json").exists()


def test_a_missing_backend_module_is_a_clear_error() -> None:
    with pytest.raises(ClusterError, match="not part of this labkit installation"):
        lifecycle._optional("labkit.cluster.no_such_backend", "X", "test backend")


def test_lab_home_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.cluster import labdir

    monkeypatch.delenv("LABKIT_HOME", raising=False)
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "labkit"\n')
    monkeypatch.chdir(project / "sub")
    assert labdir.lab_home() == project.resolve() / ".labkit"
    (project / "pyproject.toml").write_text('[project]\nname = "other"\n')
    monkeypatch.setattr(labdir, "PACKAGE_DIR", tmp_path / "x" / "y")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert labdir.lab_home() == tmp_path / "h" / ".labkit"
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "explicit"))
    assert labdir.lab_home() == tmp_path / "explicit"
