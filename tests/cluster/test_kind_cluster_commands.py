"""Command lines of the kind backend and its error handling (missing Docker, missing kind,
no such cluster), with fake docker/kind/kubectl on PATH. They test what labkit asks for and
how it reports failure; creating a real cluster is for tests/live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_tools import FakeTools

from labkit.cluster.kind import images
from labkit.cluster.kind.cluster import (
    KindCluster,
    KindOptions,
    create_command,
    effective_node_image,
    kind_clusters,
)
from labkit.cluster.kind.pins import load_pins
from labkit.cluster.paths import default_kubeconfig, lab_home
from labkit.errors import ClusterNotReady, CommandFailed, PrerequisiteMissing

PINS = load_pins()


class Quiet:
    def step(self, name: str, total: int | None = None) -> None: ...

    def advance(self, message: str = "") -> None: ...

    def finish(self, message: str = "") -> None: ...


def test_create_command_uses_own_kubeconfig_pinned_image_and_no_wait(tmp_path: Path) -> None:
    options = KindOptions(kubeconfig=tmp_path / "kc")
    cmd = create_command(options, Path("/c/labkit-3nodes.yaml"), PINS.node_image.image)
    assert cmd == [
        "kind",
        "create",
        "cluster",
        "--name",
        "labkit",
        "--config",
        "/c/labkit-3nodes.yaml",
        "--image",
        PINS.node_image.image,
        "--kubeconfig",
        str(tmp_path / "kc"),
    ]
    assert not any(a.startswith("--wait") for a in cmd)


def test_up_budget_covers_a_cold_calico_install() -> None:
    # kind create (node image pull) and Calico share one budget; Calico's own CI allows
    # 10-20 minutes for a cold install, so 10 minutes in all fails on a slow network
    assert KindOptions().timeout_s >= 20 * 60


@pytest.mark.parametrize(
    ("image", "v2", "expected"),
    [
        (PINS.node_image.image, True, PINS.node_image.image),
        (PINS.node_image.image, False, PINS.node_image_cgroup_v1.image),
        (
            "kindest/node:v1.35.5@sha256:" + "a" * 64,
            False,
            "kindest/node:v1.35.5@sha256:" + "a" * 64,
        ),
    ],
)
def test_cgroup_v1_hosts_get_the_fallback_pin_only_for_the_default_image(
    image: str, v2: bool, expected: str
) -> None:
    assert effective_node_image(KindOptions(node_image=image), PINS, v2)[0] == expected


def test_up_without_docker_raises_prerequisite_missing_and_runs_no_kind(
    fake_tools: FakeTools,
) -> None:
    fake_tools.add(
        "docker",
        match=["info"],
        exit=1,
        stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n",
    )
    fake_tools.add("kind")
    with pytest.raises(PrerequisiteMissing) as err:
        KindCluster.up(KindOptions(), Quiet())
    assert "Cannot connect to the Docker daemon" in str(err.value)
    assert "simulated" in str(err.value)
    assert fake_tools.calls("kind") == []


def test_up_without_kind_raises_prerequisite_missing(fake_tools: FakeTools) -> None:
    fake_tools.add("docker", match=["info"], stdout={"ServerVersion": "28.2.2"})
    fake_tools.add("kubectl")
    with pytest.raises(PrerequisiteMissing, match="`kind` is not installed"):
        KindCluster.up(KindOptions(), Quiet())


def test_kind_get_clusters_is_parsed(fake_tools: FakeTools) -> None:
    fake_tools.add("kind", match=["get", "clusters"], stdout="labkit\nother\n")
    assert kind_clusters() == ["labkit", "other"]


def test_no_kind_clusters_is_an_empty_list(fake_tools: FakeTools) -> None:
    fake_tools.add("kind", match=["get", "clusters"], stderr="No kind clusters found.\n")
    assert kind_clusters() == []


def test_kind_failure_reports_command_and_hint(fake_tools: FakeTools) -> None:
    fake_tools.add(
        "kind",
        match=["get", "clusters"],
        exit=1,
        stderr='ERROR: failed to list clusters: command "docker ps" failed\n',
    )
    with pytest.raises(CommandFailed) as err:
        kind_clusters()
    assert "failed to list clusters" in str(err.value)
    assert "docker info" in str(err.value)


def test_attach_to_a_missing_cluster_says_to_run_up(fake_tools: FakeTools) -> None:
    fake_tools.add("kind", match=["get", "clusters"], stdout="other\n")
    with pytest.raises(ClusterNotReady, match="no kind cluster named labkit"):
        KindCluster.attach(KindOptions())


def test_attach_exports_only_the_labkit_kubeconfig(fake_tools: FakeTools) -> None:
    fake_tools.add("kind", match=["get", "clusters"], stdout="labkit\n")
    fake_tools.add("kind", match=["export", "kubeconfig"])
    options = KindOptions()
    cluster = KindCluster.attach(options)
    assert cluster.kubectl.command(["get", "nodes"])[:5] == [
        "kubectl",
        "--kubeconfig",
        str(default_kubeconfig()),
        "--context",
        "kind-labkit",
    ]
    export = fake_tools.calls("kind")[1].argv
    assert export == [
        "export",
        "kubeconfig",
        "--name",
        "labkit",
        "--kubeconfig",
        str(default_kubeconfig()),
    ]


def test_down_deletes_the_cluster_and_labkit_files_only(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    fake_tools.add("kind", match=["delete", "cluster"])
    home = lab_home()
    home.mkdir(parents=True)
    default_kubeconfig().write_text("apiVersion: v1\n")
    (home / "canary-kind-labkit.json").write_text("{}")
    (home / "cluster.json").write_text("{}")
    KindCluster(KindOptions()).down()
    assert fake_tools.calls("kind")[0].argv == [
        "delete",
        "cluster",
        "--name",
        "labkit",
        "--kubeconfig",
        str(default_kubeconfig()),
    ]
    assert not default_kubeconfig().exists()
    assert not (home / "canary-kind-labkit.json").exists()
    assert (home / "cluster.json").exists()  # the lifecycle's record is not ours to remove


def test_down_leaves_a_user_chosen_kubeconfig_file(fake_tools: FakeTools, tmp_path: Path) -> None:
    fake_tools.add("kind", match=["delete", "cluster"])
    mine = tmp_path / "my-kubeconfig"
    mine.write_text("apiVersion: v1\n")
    KindCluster(KindOptions(kubeconfig=mine)).down()
    assert mine.exists()


@pytest.mark.parametrize(
    ("mode", "manifest_sha256"),
    [
        ("manifest", "a1df919d9721cf667accdc3e72848911b0cb25cfab7d2478ad0c996302c95744"),
        ("operator", "192f8b2d934ef24b62e86b7e1a6e1762d1c8af26a916f78057bc13fa5ed60f71"),
    ],
)
def test_plan_lists_commands_pins_and_images_without_running_anything(
    fake_tools: FakeTools, mode: str, manifest_sha256: str
) -> None:
    text = KindCluster.plan(KindOptions(nodes=1, calico_mode=mode))
    assert "labkit-1node.yaml" in text
    assert "--wait" not in text
    assert f"sha256 {manifest_sha256}" in text
    assert "--context kind-labkit" in text and "--kubeconfig" in text
    assert "registry.k8s.io/e2e-test-images/agnhost:2.66.1" in text
    assert fake_tools.calls() == [] or all(c.argv[:1] == ["info"] for c in fake_tools.calls())


def test_lab_images_are_node_calico_and_agnhost_without_repeats() -> None:
    release = PINS.calico_release()
    found = images.lab_images(PINS, release, "manifest", PINS.node_image.image)
    assert found == [PINS.node_image.image, *release.manifest_images, PINS.agnhost_image]
    assert images.tag_of(PINS.node_image.image) == "kindest/node:v1.36.1"


def test_loading_images_into_nodes_goes_through_one_platform_archive(fake_tools: FakeTools) -> None:
    fake_tools.add(
        "docker", match=["image", "inspect", "quay.io/calico/node:v3.32.1"], stdout="sha256:aaa\n"
    )
    fake_tools.add("docker", match=["image", "inspect"], exit=1, stderr="No such image\n")
    fake_tools.add("docker", match=["save"])
    fake_tools.add("kind", match=["load", "image-archive"])
    loaded = images.load_into_cluster(
        ["quay.io/calico/node:v3.32.1", "quay.io/calico/cni:v3.32.1"],
        "labkit",
        Quiet(),
        plat="linux/arm64",
    )
    assert loaded == ["quay.io/calico/node:v3.32.1"]
    save = next(c.argv for c in fake_tools.calls("docker") if c.argv[0] == "save")
    assert save[:4] == ["save", "--platform", "linux/arm64", "-o"]
    assert save[5:] == ["quay.io/calico/node:v3.32.1"]
    load = fake_tools.calls("kind")[0].argv
    assert load[:2] == ["load", "image-archive"] and load[3:] == ["--name", "labkit"]
    assert load[2] == save[4]


def test_node_image_loaded_from_an_archive_is_matched_by_image_id(fake_tools: FakeTools) -> None:
    ref = PINS.node_image.image
    tag = images.tag_of(ref)
    fake_tools.add("docker", match=["image", "inspect", ref], exit=1, stderr="No such image\n")
    fake_tools.add("docker", match=["image", "inspect", tag], stdout="sha256:nodeid\n")
    record = lab_home() / "images-loaded.json"
    record.parent.mkdir(parents=True)
    record.write_text(
        json.dumps({"images": {tag: "sha256:nodeid"}, "node_image": {"ref": ref, "tag": tag}})
    )
    assert images.resolve_node_image(ref) == tag
    record.write_text(
        json.dumps({"images": {tag: "sha256:other"}, "node_image": {"ref": ref, "tag": tag}})
    )
    assert images.resolve_node_image(ref) == ref


def test_pull_uses_one_platform_and_reports_registry_failures(fake_tools: FakeTools) -> None:
    fake_tools.add(
        "docker",
        match=["pull"],
        exit=1,
        stderr="toomanyrequests: You have reached your pull rate limit.\n",
    )
    with pytest.raises(CommandFailed) as err:
        images.pull(["kindest/node:v1.36.1"], Quiet(), plat="linux/amd64")
    assert fake_tools.calls("docker")[0].argv == [
        "pull",
        "--platform",
        "linux/amd64",
        "kindest/node:v1.36.1",
    ]
    assert "rate limit" in str(err.value) and "docker login" in str(err.value)


def test_old_docker_without_save_platform_falls_back_to_a_whole_save(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    fake_tools.add(
        "docker", match=["save", "--platform"], exit=125, stderr="unknown flag: --platform\n"
    )
    fake_tools.add("docker", match=["save"])
    images.docker_save(tmp_path / "a.tar", ["agnhost:2.66.1"], "linux/amd64")
    assert [c.argv for c in fake_tools.calls("docker")] == [
        ["save", "--platform", "linux/amd64", "-o", str(tmp_path / "a.tar"), "agnhost:2.66.1"],
        ["save", "-o", str(tmp_path / "a.tar"), "agnhost:2.66.1"],
    ]


def test_other_save_failures_are_not_retried(fake_tools: FakeTools, tmp_path: Path) -> None:
    fake_tools.add("docker", match=["save"], exit=1, stderr="no space left on device\n")
    with pytest.raises(CommandFailed, match="no space left"):
        images.docker_save(tmp_path / "a.tar", ["agnhost:2.66.1"], "linux/amd64")
    assert len(fake_tools.calls("docker")) == 1


# -- reuse, repair or re-create: a cluster is deleted only when asked --------------------------
class Steps(Quiet):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, name: str, total: int | None = None) -> None:
        self.lines.append(name)

    def advance(self, message: str = "") -> None:
        self.lines.append(message)


@pytest.fixture
def found_cluster(fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch) -> FakeTools:
    """A kind cluster named labkit exists (until `kind delete cluster` runs); the host checks
    pass; `kind create` fails, so a test ends where the new cluster would be installed."""
    from labkit.cluster import doctor
    from labkit.cluster import kube as kube_module
    from labkit.cluster.kind import cluster as cluster_module
    from labkit.cluster.reads import KubectlReads

    def clusters() -> list[str]:
        deleted = any(c.argv[:2] == ["delete", "cluster"] for c in fake_tools.calls("kind"))
        return [] if deleted else ["labkit"]

    monkeypatch.setattr(cluster_module, "kind_clusters", clusters)
    monkeypatch.setattr(cluster_module, "preflight", lambda *a, **k: [])
    monkeypatch.setattr(doctor, "docker_usable", lambda *a, **k: (True, "fake engine"))
    monkeypatch.setattr(kube_module, "default_reads", KubectlReads)
    fake_tools.add("docker", exit=1, stderr="Error: No such image\n")
    # the fake matches substrings, and test folder names hold "delete" and "recreate":
    # only `kind create` has --config and --image
    fake_tools.add(
        "kind", match=["create", "--config", "--image"], exit=1, stderr="stopped by the test\n"
    )
    fake_tools.add("kind", match=["delete", "cluster"])
    fake_tools.add("kubectl", exit=1, stderr="no cluster\n")
    return fake_tools


def kind_verbs(tools: FakeTools) -> list[str]:
    return [" ".join(c.argv[:2]) for c in tools.calls("kind")]


def test_an_interrupted_create_without_kubeconfig_is_recreated_with_a_message(
    found_cluster: FakeTools,
) -> None:
    found_cluster.add(
        "kind",
        match=["export", "kubeconfig"],
        exit=1,
        stderr="ERROR: could not locate any control plane nodes\n",
    )
    steps, recorded = Steps(), []
    with pytest.raises(CommandFailed, match="stopped by the test"):
        KindCluster.up(
            KindOptions(),
            steps,
            interrupted=True,
            before_create=lambda: recorded.append(kind_verbs(found_cluster)),
        )
    assert kind_verbs(found_cluster) == ["export kubeconfig", "delete cluster", "create cluster"]
    assert recorded == [["export kubeconfig", "delete cluster"]]  # recorded before create
    said = "\n".join(steps.lines)
    assert "an interrupted `labkit up` left it half-made" in said
    assert "kubeconfig cannot be exported" in said and "control plane nodes" in said


def test_an_unusable_cluster_is_not_deleted_unless_asked(found_cluster: FakeTools) -> None:
    found_cluster.add("kind", match=["export", "kubeconfig"], exit=1, stderr="ERROR: boom\n")
    with pytest.raises(ClusterNotReady) as err:
        KindCluster.up(KindOptions(), Quiet())
    assert "cannot be reused" in str(err.value) and "labkit up --recreate" in str(err.value)
    assert "delete cluster" not in kind_verbs(found_cluster)


def test_recreate_deletes_the_cluster_first(found_cluster: FakeTools) -> None:
    with pytest.raises(CommandFailed, match="stopped by the test"):
        KindCluster.up(KindOptions(), Quiet(), recreate=True)
    assert kind_verbs(found_cluster) == ["delete cluster", "create cluster"]


def test_a_slow_api_server_is_waited_for_then_the_advice_is_to_retry(
    found_cluster: FakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.cluster.kind import cluster as cluster_module

    monkeypatch.setattr(cluster_module, "API_RESUME_WAIT_S", 0.2)
    found_cluster.add("kind", match=["export", "kubeconfig"])
    found_cluster.add(
        "kubectl",
        match=["get", "nodes"],
        exit=1,
        stderr="The connection to the server 127.0.0.1:40123 was refused\n",
    )
    steps = Steps()
    with pytest.raises(ClusterNotReady) as err:
        KindCluster.up(KindOptions(), steps)
    said = "\n".join(steps.lines)
    assert "does not answer yet" in said and "after a laptop resumes" in said
    assert "run `labkit up` again in a minute" in str(err.value)
    assert "labkit up --recreate" in str(err.value)
    assert "delete cluster" not in kind_verbs(found_cluster)
    assert len([c for c in found_cluster.calls("kubectl") if "nodes" in c.argv]) >= 2
