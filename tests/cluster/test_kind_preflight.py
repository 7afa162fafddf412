"""What `labkit up` checks before `kind create` (labkit.cluster.kind.preflight), with fake
docker/kind/kubectl on PATH and fake /proc and cgroup folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_tools import FakeTools
from test_doctor_checks import DOCKER_INFO, KUBECTL_136, host

from labkit.cluster.kind.options import KindOptions
from labkit.cluster.kind.preflight import preflight
from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError, PrerequisiteMissing


class Recorder:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, name: str, total: int | None = None) -> None:
        self.lines.append(name)

    def advance(self, message: str = "") -> None:
        self.lines.append(message)

    def finish(self, message: str = "") -> None:
        self.lines.append(message)


MANIFEST = KindOptions(calico_mode="manifest")


def tools(
    fake: FakeTools,
    *,
    kind: str = "kind v0.32.0 go1.24.2 linux/amd64\n",
    info: dict[str, object] | None = None,
    network: str = "172.18.0.0/16",
) -> None:
    fake.add("docker", match=["info"], stdout=info or DOCKER_INFO)
    fake.add(
        "docker",
        match=["network", "inspect", "kind"],
        stdout=[{"Name": "kind", "IPAM": {"Config": [{"Subnet": network}]}}],
    )
    fake.add("kind", match=["version"], stdout=kind)
    fake.add("kubectl", match=["version"], stdout=KUBECTL_136)


def test_a_healthy_host_passes(fake_tools: FakeTools, tmp_path: Path) -> None:
    tools(fake_tools)
    proc, cgroup = host(tmp_path)
    progress = Recorder()
    checks = preflight(MANIFEST, progress, proc_root=proc, cgroup_root=cgroup)
    assert all(c.ok for c in checks)
    assert progress.lines == []
    ran = [c.line for c in fake_tools.calls()]
    assert "kind version" in ran and "docker network inspect kind" in ran


def test_kind_older_than_0_32_stops_up(fake_tools: FakeTools, tmp_path: Path) -> None:
    tools(fake_tools, kind="kind v0.31.0 go1.24.1 linux/amd64\n")
    proc, cgroup = host(tmp_path)
    with pytest.raises(PrerequisiteMissing) as err:
        preflight(MANIFEST, Recorder(), proc_root=proc, cgroup_root=cgroup)
    text = str(err.value)
    assert "v0.31.0 is older than v0.32" in text and "install kind v0.32.0" in text
    assert "labkit doctor" in text


def test_kind_network_in_the_pod_cidr_stops_up_with_the_fix(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    tools(fake_tools, network="192.168.32.0/20")
    proc, cgroup = host(tmp_path)
    with pytest.raises(PrerequisiteMissing) as err:
        preflight(MANIFEST, Recorder(), proc_root=proc, cgroup_root=cgroup)
    assert "192.168.32.0/20" in str(err.value) and "docker network rm kind" in str(err.value)


@pytest.mark.parametrize(
    ("cpus", "mem_gib", "nodes", "suggested"),
    [(2, 16, 3, True), (8, 3, 3, True), (8, 16, 3, False), (2, 3, 1, False)],
)
def test_small_machines_are_told_about_one_node(
    fake_tools: FakeTools, tmp_path: Path, cpus: int, mem_gib: int, nodes: int, suggested: bool
) -> None:
    tools(fake_tools, info={**DOCKER_INFO, "NCPU": cpus})
    proc, cgroup = host(tmp_path, mem_kib=mem_gib * 2**20)
    progress = Recorder()
    options = KindOptions(calico_mode="manifest", nodes=nodes)
    preflight(options, progress, proc_root=proc, cgroup_root=cgroup)
    told = [line for line in progress.lines if "labkit up --nodes 1" in line]
    assert bool(told) is suggested


def test_a_calico_install_without_digests_is_refused_before_any_command(
    fake_tools: FakeTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clusters = tmp_path / "clusters"
    shutil.copytree(clusters_dir(), clusters)
    versions = clusters / "calico" / "versions.yaml"
    text = versions.read_text()
    assert "digest: sha256:7f874b3f" in text
    versions.write_text(text.replace("digest: sha256:7f874b3f", "digest: null #", 1))
    monkeypatch.setenv("LABKIT_CLUSTERS_DIR", str(clusters))
    tools(fake_tools)
    proc, cgroup = host(tmp_path)
    with pytest.raises(ClusterError, match=r"no digest pinned for .*quay.io/calico/node:v3.32.1"):
        preflight(MANIFEST, Recorder(), proc_root=proc, cgroup_root=cgroup)
    assert fake_tools.calls() == []
