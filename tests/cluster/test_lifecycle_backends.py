"""Backend selection and the lab cluster's lifecycle (no Docker needed)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import pytest

from labkit.cluster import lifecycle
from labkit.cluster.simulated import SimulatedCluster
from labkit.cluster.topology import LAB_PODS
from labkit.errors import ClusterError, ClusterNotReady, CommandFailed, LabNotUp


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    return tmp_path


def fake_docker(monkeypatch: pytest.MonkeyPatch, usable: bool, detail: str = "") -> None:
    from labkit.cluster import doctor

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


def test_connect_without_a_cluster_never_creates_one(home: Path) -> None:
    with pytest.raises(LabNotUp, match=r"no lab is up.*`labkit up`"):
        lifecycle.connect()
    assert lifecycle.status().backend == "none"
    assert sorted(p.name for p in home.iterdir()) == []


def test_after_down_nothing_is_recreated(home: Path) -> None:
    lifecycle.up("simulated")
    lifecycle.down()
    for _ in range(2):
        with pytest.raises(LabNotUp):
            lifecycle.connect()
        with pytest.raises(LabNotUp):
            lifecycle.reset()
    assert not (home / "simulated.json").exists() and not (home / "cluster.json").exists()


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


# -- the kind backend's record and options (a fake KindCluster: no Docker here) ----------------
class FakeKind:
    """Records what the lifecycle asks of the kind backend; ``up`` runs ``before_create`` and
    then fails when ``fail`` is set, as an interrupted ``kind create`` would."""

    calls: ClassVar[list[tuple[str, Any]]] = []
    fail = False

    def __init__(self, options: Any) -> None:
        self.options = options

    @classmethod
    def up(cls, options: Any, progress: Any, **kwargs: Any) -> Any:
        cls.calls.append(("up", (options, kwargs)))
        if kwargs["before_create"] is not None:
            kwargs["before_create"]()
        if cls.fail:
            raise CommandFailed(["kind", "create", "cluster"], None, "", timed_out=True)
        return SimulatedCluster.in_memory()

    @classmethod
    def attach(cls, options: Any) -> Any:
        raise ClusterNotReady(f"there is no kind cluster named {options.name}")

    @staticmethod
    def plan(options: Any) -> str:
        return f"plan for {options.nodes} node(s), {options.calico_mode}"

    def down(self) -> None:
        FakeKind.calls.append(("down", self.options))


@pytest.fixture
def fake_kind(home: Path, monkeypatch: pytest.MonkeyPatch) -> type[FakeKind]:
    from labkit.cluster.kind import options as kind_options
    from labkit.cluster.kind.cluster import KindOptions

    FakeKind.calls = []
    FakeKind.fail = False
    monkeypatch.setattr(lifecycle, "_kind", lambda: (KindOptions, FakeKind))
    monkeypatch.setattr(kind_options, "kind_clusters", lambda: ["labkit"])
    monkeypatch.setattr("labkit.cluster.lifecycle.shutil.which", lambda tool: f"/usr/bin/{tool}")
    return FakeKind


def test_an_interrupted_kind_up_is_recorded_and_found_by_status_and_down(
    home: Path, fake_kind: type[FakeKind]
) -> None:
    fake_kind.fail = True
    with pytest.raises(CommandFailed):
        lifecycle.up("kind", nodes=1)
    record = json.loads((home / "cluster.json").read_text())
    assert record["backend"] == "kind" and record["state"] == "creating"
    assert record["options"]["nodes"] == 1
    status = lifecycle.status()
    details = dict(status.details)
    assert status.backend == "kind" and not status.ready
    assert "did not finish" in details["state"] and "labkit down" in details["fix"]
    assert lifecycle.down() == "deleted the kind cluster labkit"
    assert fake_kind.calls[-1][0] == "down" and fake_kind.calls[-1][1].nodes == 1
    assert not (home / "cluster.json").exists()


def test_up_reuses_the_recorded_options_and_passes_recreate(
    home: Path, fake_kind: type[FakeKind]
) -> None:
    lifecycle.up("kind", nodes=1, calico_mode="manifest")
    assert json.loads((home / "cluster.json").read_text())["state"] == "ready"
    said: list[str] = []

    class Steps:
        def step(self, name: str, total: int | None = None) -> None:
            said.append(name)

        def advance(self, message: str = "") -> None: ...

        def finish(self, message: str = "") -> None: ...

    lifecycle.up("kind", progress=Steps())
    options, kwargs = fake_kind.calls[-1][1]
    assert (options.nodes, options.calico_mode) == (1, "manifest")
    assert said == [
        "kind cluster labkit: using the recorded --nodes 1 --calico manifest "
        "(give the option to change it)"
    ]
    assert kwargs["recreate"] is False and kwargs["interrupted"] is False
    lifecycle.up("kind", nodes=3, recreate=True)
    options, kwargs = fake_kind.calls[-1][1]
    assert (options.nodes, options.calico_mode) == (3, "manifest")
    assert kwargs["recreate"] is True
    assert lifecycle.up("kind", dry_run=True) == "backend: kind. You asked for the kind " + (
        "backend.\nplan for 3 node(s), manifest"
    )


def test_up_after_an_interrupted_create_says_so_to_the_backend(
    home: Path, fake_kind: type[FakeKind]
) -> None:
    fake_kind.fail = True
    with pytest.raises(CommandFailed):
        lifecycle.up("kind")
    fake_kind.fail = False
    lifecycle.up("kind")
    assert fake_kind.calls[-1][1][1]["interrupted"] is True


def test_without_a_record_status_and_down_find_a_labkit_kind_cluster(
    home: Path, fake_kind: type[FakeKind]
) -> None:
    status = lifecycle.status()
    assert status.backend == "kind" and "no record" in dict(status.details)["found"]
    assert lifecycle.down() == "deleted the kind cluster labkit"
    assert fake_kind.calls == [("down", fake_kind.calls[0][1])]


def test_existing_clusters_are_never_recreated(home: Path) -> None:
    with pytest.raises(ClusterError, match="never deletes an existing cluster"):
        lifecycle.up(context="prod", recreate=True)
