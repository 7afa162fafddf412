"""The container engine kind uses (docker or podman), detected as kind's CLI does, and every
image command going through it. Fake docker/podman/kind on PATH: these tests check the
command lines labkit runs, not a real engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_tools import FakeTools

from labkit.cluster import doctor
from labkit.cluster.kind import images, provider


class Quiet:
    def step(self, name: str, total: int | None = None) -> None: ...

    def advance(self, message: str = "") -> None: ...

    def finish(self, message: str = "") -> None: ...


@pytest.mark.parametrize(
    ("env", "tools", "docker_v", "engine"),
    [
        ("podman", ("docker", "podman"), "Docker version 28.2.2", "podman"),  # the variable wins
        ("docker", ("podman",), "", "docker"),
        ("", ("docker",), "Docker version 28.2.2", "docker"),
        ("", ("podman",), "", "podman"),  # no docker: kind falls to podman
        ("", ("docker", "podman"), "Docker version 28.2.2", "docker"),
        ("", ("docker", "podman"), "podman version 5.4.0", "podman"),  # podman-docker shim
        ("", (), "", "docker"),  # nothing: kind's fallback
    ],
)
def test_engine_is_detected_as_kind_detects_it(
    fake_tools: FakeTools,
    monkeypatch: pytest.MonkeyPatch,
    env: str,
    tools: tuple[str, ...],
    docker_v: str,
    engine: str,
) -> None:
    if env:
        monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", env)
    for tool in tools:
        fake_tools.add(tool, match=["-v"], stdout=docker_v + "\n" if tool == "docker" else "")
    assert provider.detect().tool == engine
    assert doctor.provider() == engine


def podman_only(fake_tools: FakeTools) -> None:
    fake_tools.add("podman", match=["info", "{{.Host.Arch}}"], stdout="arm64\n")
    fake_tools.add("podman", match=["image", "inspect", "missing"], exit=1, stderr="no image\n")
    fake_tools.add("podman", match=["image", "inspect"], stdout="0123abcd\n")
    fake_tools.add("podman", match=["pull"])
    fake_tools.add("podman", match=["save"])
    fake_tools.add("podman", match=["load"])
    fake_tools.add("kind", match=["load", "image-archive"])


def test_pull_inspect_and_platform_go_through_podman(fake_tools: FakeTools) -> None:
    podman_only(fake_tools)
    images.pull(["quay.io/calico/node:v3.32.1"], Quiet())
    assert images.image_id("quay.io/calico/node:v3.32.1") == "0123abcd"
    assert images.image_id("missing:1") is None
    argvs = [c.argv for c in fake_tools.calls("podman")]
    assert argvs[0] == ["info", "--format", "{{.Host.Arch}}"]
    assert argvs[1] == ["pull", "--platform", "linux/arm64", "quay.io/calico/node:v3.32.1"]
    assert argvs[2][:2] == ["image", "inspect"]
    assert fake_tools.calls("docker") == []


def test_podman_saves_several_images_in_one_multi_image_archive(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    podman_only(fake_tools)
    images.docker_save(tmp_path / "a.tar", ["a:1", "b:2"], "linux/amd64")
    images.docker_save(tmp_path / "b.tar", ["a:1"], "linux/amd64")
    saves = [c.argv for c in fake_tools.calls("podman")]
    assert saves == [
        ["save", "--multi-image-archive", "-o", str(tmp_path / "a.tar"), "a:1", "b:2"],
        ["save", "-o", str(tmp_path / "b.tar"), "a:1"],
    ]


def test_loading_into_kind_nodes_with_podman(fake_tools: FakeTools, tmp_path: Path) -> None:
    podman_only(fake_tools)
    loaded = images.load_into_cluster(["a:1", "missing:1"], "labkit", Quiet(), plat="linux/amd64")
    assert loaded == ["a:1"]
    assert [c.argv[0] for c in fake_tools.calls("podman")] == ["image", "image", "save"]
    kind = fake_tools.calls("kind")[0].argv
    assert kind[:2] == ["load", "image-archive"] and kind[-2:] == ["--name", "labkit"]


def test_archive_load_goes_through_podman(fake_tools: FakeTools, tmp_path: Path) -> None:
    from labkit.cluster.kind.pins import load_pins

    podman_only(fake_tools)
    archive = tmp_path / "labkit-images.tar"
    archive.write_bytes(b"tar")
    images.load(archive, load_pins().calico_release(), Quiet())
    assert fake_tools.calls("podman")[0].argv == ["load", "-i", str(archive)]
    assert fake_tools.calls("docker") == []


def test_docker_commands_stay_docker(fake_tools: FakeTools, tmp_path: Path) -> None:
    fake_tools.add("docker", match=["version", "{{.Server.Arch}}"], stdout="aarch64\n")
    fake_tools.add("docker", match=["save"])
    assert images.platform() == "linux/arm64"
    images.docker_save(tmp_path / "a.tar", ["a:1", "b:2"], "linux/arm64")
    assert fake_tools.calls("docker")[-1].argv == [
        "save",
        "--platform",
        "linux/arm64",
        "-o",
        str(tmp_path / "a.tar"),
        "a:1",
        "b:2",
    ]
