"""labkit doctor's checks, with fake docker/kind/kubectl on PATH and fake /proc and cgroup
folders. They test how findings are read and reported, not a real host."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_tools import FakeTools

from labkit.cluster import doctor, host_network
from labkit.cluster.doctor import Check

DOCKER_INFO = {
    "ServerVersion": "28.2.2",
    "CgroupVersion": "2",
    "NCPU": 8,
    "MemTotal": 16 * 2**30,
    "SecurityOptions": ["name=seccomp,profile=builtin"],
    "OperatingSystem": "Ubuntu 24.04",
}
KUBECTL_136 = {"clientVersion": {"major": "1", "minor": "36", "gitVersion": "v1.36.1"}}


def host(
    tmp_path: Path,
    *,
    watches: int | None = 524288,
    instances: int | None = 512,
    mem_kib: int = 8 * 2**20,
    v2: bool = True,
) -> tuple[Path, Path]:
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    cgroup.mkdir()
    if v2:
        (cgroup / "cgroup.controllers").write_text("cpu memory pids\n")
    inotify = proc / "sys" / "fs" / "inotify"
    inotify.mkdir(parents=True)
    if watches is not None:
        (inotify / "max_user_watches").write_text(f"{watches}\n")
    if instances is not None:
        (inotify / "max_user_instances").write_text(f"{instances}\n")
    (proc / "meminfo").write_text(f"MemTotal: 99 kB\nMemAvailable: {mem_kib} kB\n")
    return proc, cgroup


def good_tools(
    fake: FakeTools,
    *,
    info: dict[str, object] | None = None,
    kind: str = "kind v0.32.0 go1.24.2 linux/amd64\n",
    kubectl: dict[str, object] | None = None,
) -> None:
    fake.add("docker", match=["info"], stdout=info or DOCKER_INFO)
    fake.add("kind", match=["version"], stdout=kind)
    fake.add("kubectl", match=["version"], stdout=kubectl or KUBECTL_136)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_healthy_host_passes_every_check(fake_tools: FakeTools, tmp_path: Path) -> None:
    good_tools(fake_tools)
    proc, cgroup = host(tmp_path)
    checks = doctor.run_checks(proc_root=proc, cgroup_root=cgroup)
    assert [c.name for c in checks if not c.ok] == []
    found = by_name(checks)
    assert found["kind"].detail == "v0.32.0"
    assert found["kubectl"].detail == "v1.36.1"
    assert "Docker 28.2.2" in found["container engine"].detail
    assert doctor.required_ok(checks)
    assert fake_tools.calls("docker")[0].argv == ["info", "--format", "{{json .}}"]
    assert fake_tools.calls("kubectl")[0].argv == ["version", "--client", "-o", "json"]


def test_docker_daemon_down_is_a_required_failure_and_makes_docker_unusable(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    fake_tools.add(
        "docker",
        match=["info"],
        exit=1,
        stderr=(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker "
            "daemon running?\n"
        ),
    )
    good_tools(fake_tools)
    proc, cgroup = host(tmp_path)
    engine = by_name(doctor.run_checks(proc_root=proc, cgroup_root=cgroup))["container engine"]
    assert (engine.ok, engine.required, engine.status) == (False, True, "FAIL")
    assert "Cannot connect to the Docker daemon" in engine.detail
    assert "systemctl start docker" in engine.fix
    usable, why = doctor.docker_usable()
    assert not usable
    assert "engine is not reachable" in why


def test_docker_server_errors_in_json_make_docker_unusable(fake_tools: FakeTools) -> None:
    fake_tools.add("docker", match=["info"], stdout={"ServerErrors": ["permission denied"]})
    assert doctor.docker_usable() == (
        False,
        "docker is installed but its engine is not reachable: permission denied",
    )


def test_docker_missing_makes_docker_unusable(fake_tools: FakeTools) -> None:
    usable, why = doctor.docker_usable()
    assert not usable
    assert "not installed" in why


def test_docker_info_timeout_is_reported(fake_tools: FakeTools) -> None:
    fake_tools.add("docker", match=["info"], sleep=30)
    usable, why = doctor.docker_usable(timeout=0.5)
    assert not usable
    assert "did not answer" in why


def test_reachable_docker_is_usable(fake_tools: FakeTools) -> None:
    fake_tools.add("docker", match=["info"], stdout=DOCKER_INFO)
    assert doctor.docker_usable() == (True, "Docker 28.2.2 is reachable")


def test_rootless_podman_is_refused(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "podman")
    fake_tools.add(
        "podman",
        match=["info"],
        stdout={
            "host": {"security": {"rootless": True}, "cgroupVersion": "v2"},
            "version": {"Version": "5.4.0"},
        },
    )
    usable, why = doctor.docker_usable()
    assert not usable and "rootless podman" in why
    fake_tools.add("kind", match=["version"], stdout="kind v0.32.0\n")
    fake_tools.add("kubectl", match=["version"], stdout=KUBECTL_136)
    proc, cgroup = host(tmp_path)
    rootless = by_name(doctor.run_checks(proc_root=proc, cgroup_root=cgroup))["rootless"]
    assert (rootless.ok, rootless.required) == (False, True)
    assert fake_tools.calls("podman")[0].argv == ["info", "--format", "json"]


@pytest.mark.parametrize(
    ("output", "ok"),
    [
        ("kind v0.32.0 go1.24.2 linux/amd64\n", True),
        ("kind v0.33.1 go1.25.0 linux/arm64\n", True),
        ("kind v1.0.0 go1.26.0 linux/amd64\n", True),
        ("kind v0.31.0 go1.24.1 linux/amd64\n", False),
        ("kind v0.20.0 go1.20 linux/amd64\n", False),
    ],
)
def test_kind_older_than_0_32_is_a_required_failure(
    fake_tools: FakeTools, output: str, ok: bool
) -> None:
    """kind 0.32's node images need kind >= 0.32 (`kind load`); `up` refuses older kind."""
    fake_tools.add("kind", match=["version"], stdout=output)
    check = doctor.check_kind(10)
    assert (check.ok, check.required) == (ok, True)
    if not ok:
        assert "older than v0.32" in check.detail and "v0.32.0" in check.fix


def test_kind_missing_is_a_required_failure(fake_tools: FakeTools) -> None:
    check = doctor.check_kind(10)
    assert (check.ok, check.required, check.detail) == (False, True, "not installed")
    assert "v0.32.0" in check.fix


def test_kind_with_unreadable_version_fails(fake_tools: FakeTools) -> None:
    fake_tools.add("kind", match=["version"], stdout="garbage\n")
    assert not doctor.check_kind(10).ok


@pytest.mark.parametrize(
    ("git_version", "minor", "ok"),
    [
        ("v1.36.1", 36, True),
        ("v1.35.0", 36, True),
        ("v1.37.2", 36, True),
        ("v1.34.9", 36, False),
        ("v1.32.4-dispatcher", 36, False),
        ("v1.33.0", 34, True),
    ],
)
def test_kubectl_version_skew_beyond_one_minor_is_a_warning(
    fake_tools: FakeTools, git_version: str, minor: int, ok: bool
) -> None:
    fake_tools.add(
        "kubectl", match=["version"], stdout={"clientVersion": {"gitVersion": git_version}}
    )
    check = doctor.check_kubectl(10, minor)
    assert check.ok is ok
    if not ok:
        assert not check.required and "one minor" in check.detail


def test_kubectl_missing_is_a_required_failure(fake_tools: FakeTools) -> None:
    check = doctor.check_kubectl(10)
    assert (check.ok, check.required) == (False, True)


@pytest.mark.parametrize(
    ("watches", "instances", "failing"),
    [
        (524288, 512, []),
        (8192, 512, ["inotify max_user_watches"]),
        (524288, 128, ["inotify max_user_instances"]),
        (None, 128, ["inotify max_user_watches", "inotify max_user_instances"]),
    ],
)
def test_inotify_limits_below_kind_minimum_warn_with_sysctl_fix(
    tmp_path: Path, watches: int | None, instances: int, failing: list[str]
) -> None:
    proc, cgroup = host(tmp_path, watches=watches, instances=instances)
    checks = doctor.check_host(None, proc, cgroup, 3)
    bad = [c for c in checks if not c.ok]
    assert [c.name for c in bad] == failing
    assert all(not c.required and "sysctl fs.inotify.max_user_watches=524288" in c.fix for c in bad)


def test_no_proc_inotify_is_not_a_linux_host(tmp_path: Path) -> None:
    checks = doctor.check_host(None, tmp_path / "absent", tmp_path, 3)
    inotify = by_name(checks)["inotify limits"]
    assert inotify.ok and "not a Linux host" in inotify.detail


@pytest.mark.parametrize(
    ("info", "v2_file", "version"),
    [
        ({"CgroupVersion": "2"}, False, 2),
        ({"CgroupVersion": "1"}, True, 1),
        (None, True, 2),
        (None, False, 1),
        ({"host": {"cgroupVersion": "v2"}}, False, 2),
    ],
)
def test_cgroup_version_prefers_the_engine_then_the_host_file(
    tmp_path: Path, info: dict[str, object] | None, v2_file: bool, version: int
) -> None:
    proc, cgroup = host(tmp_path, v2=v2_file)
    check = by_name(doctor.check_host(info, proc, cgroup, 3))["cgroup v2"]
    assert check.ok is (version == 2)
    assert not check.required
    if version == 1:
        assert "v1.34 node image" in check.detail


@pytest.mark.parametrize(
    ("mem_gib", "nodes", "ok"), [(8, 3, True), (3, 3, False), (3, 1, True), (1, 1, False)]
)
def test_low_memory_warns(tmp_path: Path, mem_gib: int, nodes: int, ok: bool) -> None:
    proc, cgroup = host(tmp_path, mem_kib=mem_gib * 2**20)
    check = by_name(doctor.check_host(None, proc, cgroup, nodes))["memory"]
    assert (check.ok, check.required) == (ok, False)


def test_check_line_shows_status_and_fix() -> None:
    assert Check("kind", True, "v0.32.0").line() == "[  ok] kind: v0.32.0"
    bad = Check("kind", False, "not installed", "install it")
    assert bad.line() == "[FAIL] kind: not installed\n       fix: install it"
    assert Check("memory", False, "low", "close", required=False).status == "warn"


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("kind v0.32.0 go1.24.2 linux/amd64", (0, 32, 0)),
        ("v1.36.1", (1, 36, 1)),
        ("Client Version: v1.32.4-dispatcher", (1, 32, 4)),
        ("no version here", None),
    ],
)
def test_parse_version(text: str, version: tuple[int, int, int] | None) -> None:
    assert doctor.parse_version(text) == version


ROUTES_HEADER = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
)


def _routes(tmp_path: Path, *rows: str) -> Path:
    (tmp_path / "net").mkdir(parents=True, exist_ok=True)
    (tmp_path / "net" / "route").write_text(ROUTES_HEADER + "".join(rows))
    return tmp_path


def test_a_home_lan_inside_the_pod_cidr_is_reported(tmp_path: Path) -> None:
    from labkit.cluster.doctor import check_pod_cidr

    # default route via 192.168.1.1, LAN 192.168.1.0/24 on wlan0 (little-endian hex)
    proc = _routes(
        tmp_path,
        "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n",
        "wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\n",
        "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n",
    )
    check = check_pod_cidr(proc)
    assert not check.ok and not check.required
    assert "192.168.1.0/24 on wlan0" in check.detail


def test_other_networks_and_container_bridges_are_not_a_clash(tmp_path: Path) -> None:
    from labkit.cluster.doctor import check_pod_cidr

    proc = _routes(
        tmp_path,
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
        "br-1a2b\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n",
    )
    assert check_pod_cidr(proc).ok
    assert check_pod_cidr(tmp_path / "missing").ok


KIND_NET_DOCKER = [
    {
        "Name": "kind",
        "IPAM": {
            "Config": [
                {"Subnet": "fc00:f853:ccd:e793::/64"},
                {"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"},
            ]
        },
    }
]
KIND_NET_PODMAN = [
    {"name": "kind", "subnets": [{"subnet": "10.89.0.0/24", "gateway": "10.89.0.1"}]}
]


@pytest.mark.parametrize(
    ("network", "clash"),
    [
        (KIND_NET_DOCKER, []),
        (KIND_NET_PODMAN, []),
        (
            [{"Name": "kind", "IPAM": {"Config": [{"Subnet": "192.168.49.0/24"}]}}],
            ["192.168.49.0/24"],
        ),
        ([{"name": "kind", "subnets": [{"subnet": "192.0.0.0/8"}]}], ["192.0.0.0/8"]),
    ],
)
def test_kind_network_subnets_are_compared_with_the_pod_cidr(
    network: list[dict[str, object]], clash: list[str]
) -> None:
    import json

    subnets = host_network.parse_network_subnets(json.dumps(network))
    assert subnets
    assert [str(n) for n in host_network.overlapping_pod_cidr(subnets)] == clash


def test_kind_network_inside_the_pod_cidr_is_a_required_failure_with_the_fix(
    fake_tools: FakeTools,
) -> None:
    fake_tools.add(
        "docker",
        match=["network", "inspect", "kind"],
        stdout=[{"Name": "kind", "IPAM": {"Config": [{"Subnet": "192.168.0.0/20"}]}}],
    )
    check = doctor.check_kind_network(10)
    assert (check.ok, check.required) == (False, True)
    assert "192.168.0.0/20" in check.detail and "192.168.0.0/16" in check.detail
    assert "docker network rm kind" in check.fix
    assert "docker network create kind --subnet 172.30.0.0/16" in check.fix
    assert fake_tools.calls("docker")[0].argv == ["network", "inspect", "kind"]


def test_no_kind_network_yet_is_fine(fake_tools: FakeTools) -> None:
    fake_tools.add(
        "docker", match=["network", "inspect"], exit=1, stderr="Error: No such network: kind\n"
    )
    check = doctor.check_kind_network(10)
    assert check.ok and "kind creates it" in check.detail


def test_kind_network_is_inspected_with_podman_when_kind_uses_podman(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "podman")
    fake_tools.add(
        "podman",
        match=["network", "inspect", "kind"],
        stdout=[{"name": "kind", "subnets": [{"subnet": "192.168.100.0/24"}]}],
    )
    check = doctor.check_kind_network(10)
    assert not check.ok and "podman network rm kind" in check.fix
    assert fake_tools.calls("docker") == []


@pytest.mark.parametrize(
    ("cpus", "nodes", "ok", "suggests_one_node"),
    [
        (8, 3, True, False),
        (4, 3, True, False),
        (2, 3, False, True),
        (2, 1, True, False),
        (1, 1, False, False),
    ],
)
def test_few_cpus_suggest_one_node(
    cpus: int, nodes: int, ok: bool, suggests_one_node: bool
) -> None:
    check = doctor.check_cpus({"NCPU": cpus}, nodes)
    assert (check.ok, check.required) == (ok, False)
    assert ("--nodes 1" in check.fix) is suggests_one_node
    assert doctor.small_machine([check]) is suggests_one_node


def test_podman_reports_cpus_under_host() -> None:
    assert doctor.check_cpus({"host": {"cpus": 2}}, 3).detail.startswith("2;")
