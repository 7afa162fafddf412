"""Error handling and command lines of labkit.cluster.commands, with fake programs on PATH.
These tests check how failures are reported; they say nothing about a real cluster."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fake_tools import FakeTools

from labkit.cluster import commands
from labkit.errors import ClusterError, CommandFailed, PrerequisiteMissing


@pytest.mark.parametrize(
    ("tool", "hint"),
    [
        ("kind", "kind.sigs.k8s.io"),
        ("kubectl", "kubernetes.io/docs/tasks/tools"),
        ("docker", "docs.docker.com"),
        ("nosuchtool", "install nosuchtool"),
    ],
)
def test_missing_binary_raises_prerequisite_missing_with_install_hint(
    fake_tools: FakeTools, tool: str, hint: str
) -> None:
    with pytest.raises(PrerequisiteMissing) as err:
        commands.run([tool, "version"], timeout=5)
    text = str(err.value)
    assert f"`{tool}` is not installed" in text
    assert hint in text
    assert isinstance(err.value, ClusterError)


def test_nonzero_exit_raises_command_failed_with_command_status_stderr_and_hint(
    fake_tools: FakeTools,
) -> None:
    fake_tools.add(
        "kubectl", match=["get"], stderr="line one\nError from server (NotFound)\n", exit=1
    )
    with pytest.raises(CommandFailed) as err:
        commands.run(["kubectl", "get", "pods"], timeout=10, hint="check the namespace")
    exc = err.value
    assert exc.command == ("kubectl", "get", "pods")
    assert exc.returncode == 1
    assert "NotFound" in exc.stderr
    assert not exc.timed_out
    text = str(exc)
    assert "`kubectl get pods` failed with exit status 1" in text
    assert "Error from server (NotFound)" in text
    assert "fix: check the namespace" in text


def test_nonzero_exit_without_check_returns_the_status(fake_tools: FakeTools) -> None:
    fake_tools.add("kind", match=["get"], stdout="out\n", stderr="err\n", exit=3)
    done = commands.run(["kind", "get", "clusters"], timeout=10, check=False)
    assert (done.returncode, done.stdout, done.stderr, done.ok) == (3, "out\n", "err\n", False)
    assert done.command == ("kind", "get", "clusters")


def test_stderr_falls_back_to_stdout_in_the_error_message(fake_tools: FakeTools) -> None:
    fake_tools.add("docker", stdout="only stdout explains\n", exit=2)
    with pytest.raises(CommandFailed, match="only stdout explains"):
        commands.run(["docker", "info"], timeout=10)


def test_timeout_kills_the_command_and_raises_timed_out(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["wait"], sleep=30)
    started = time.monotonic()
    with pytest.raises(CommandFailed) as err:
        commands.run(["kubectl", "wait", "x"], timeout=0.5, hint="the cluster is slow")
    assert time.monotonic() - started < 10
    assert err.value.timed_out
    assert err.value.returncode is None
    assert "timed out" in str(err.value)
    assert "fix: the cluster is slow" in str(err.value)


def test_timeout_without_hint_says_how_long_it_waited(fake_tools: FakeTools) -> None:
    fake_tools.add("kind", sleep=30)
    with pytest.raises(CommandFailed, match=r"within 1 s"):
        commands.run(["kind", "create", "cluster"], timeout=0.6)


def test_input_is_passed_on_stdin_and_stdin_is_closed_otherwise(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl")
    commands.run(["kubectl", "apply", "-f", "-"], timeout=10, input='{"kind": "List"}')
    commands.run(["kubectl", "get", "nodes"], timeout=10)  # would hang if stdin stayed open
    first, second = fake_tools.calls("kubectl")
    assert first.stdin == '{"kind": "List"}'
    assert second.stdin == ""


def test_env_adds_to_the_environment(fake_tools: FakeTools, tmp_path: Path) -> None:
    script = fake_tools.bin / "printenv-fake"
    script.write_text('#!/bin/sh\necho "$LABKIT_TEST_VAR:$PATH"\n')
    script.chmod(0o755)
    done = commands.run(["printenv-fake"], timeout=10, env={"LABKIT_TEST_VAR": "x"})
    assert done.stdout.strip() == f"x:{fake_tools.bin}"


def test_program_that_cannot_be_executed_raises_prerequisite_missing(fake_tools: FakeTools) -> None:
    broken = fake_tools.bin / "kind"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    with pytest.raises(PrerequisiteMissing, match="cannot be run"):
        commands.run(["kind", "version"], timeout=5)


def test_which_finds_only_programs_on_path(fake_tools: FakeTools) -> None:
    fake_tools.add("kind")
    assert commands.which("kind") == str(fake_tools.bin / "kind")
    assert commands.which("kubectl") is None


def test_empty_command_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        commands.run([], timeout=1)


PULL_FAILURES = [
    # docker pull behind a proxy that refuses the connection
    'Error response from daemon: Get "https://registry-1.docker.io/v2/": proxyconnect tcp: '
    "dial tcp 10.0.0.1:3128: connect: connection refused",
    # no route to the registry (a firewall)
    'Error response from daemon: Get "https://quay.io/v2/": net/http: request canceled while '
    "waiting for connection (Client.Timeout exceeded while awaiting headers)",
    # kind create pulling the node image
    'ERROR: failed to create cluster: failed to pull image "kindest/node:v1.36.1@sha256:..."',
    # Docker Hub rate limit
    "toomanyrequests: You have reached your pull rate limit.",
]


@pytest.mark.parametrize("stderr", PULL_FAILURES)
def test_a_failed_pull_points_to_labkit_images(fake_tools: FakeTools, stderr: str) -> None:
    fake_tools.add("docker", match=["pull"], stderr=stderr + "\n", exit=1)
    with pytest.raises(CommandFailed) as err:
        commands.run(["docker", "pull", "quay.io/calico/node:v3.32.1"], timeout=10, hint="h")
    text = str(err.value)
    assert "fix: h; " in text
    for step in ("labkit images pull", "labkit images save", "labkit images load"):
        assert step in text
    assert "HTTPS_PROXY" in text


def test_other_failures_get_no_pull_advice(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["get"], stderr="Error from server (NotFound)\n", exit=1)
    with pytest.raises(CommandFailed) as err:
        commands.run(["kubectl", "get", "pods"], timeout=10, hint="h")
    assert "labkit images" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "pull"),
    [
        ("container agnhost: ImagePullBackOff (Back-off pulling image ...)", True),
        ("container agnhost: ErrImagePull (rpc error: ... i/o timeout)", True),
        ("container agnhost: ErrImageNeverPull", False),  # no network fixes this one
        ("container agnhost: CrashLoopBackOff", False),
        ("node labkit-worker NotReady (container runtime network not ready)", False),
    ],
)
def test_pod_pull_reasons_are_recognised(text: str, pull: bool) -> None:
    from labkit.cluster import image_pull

    assert image_pull.is_pull_failure(text) is pull
    assert (image_pull.pull_hint(text) == image_pull.FIX) is pull


def test_pods_whose_pull_failed_are_listed() -> None:
    from labkit.cluster import image_pull

    def pod(name: str, reason: str, init: bool = False) -> dict[str, object]:
        key = "initContainerStatuses" if init else "containerStatuses"
        state = {"waiting": {"reason": reason, "message": "Back-off pulling image"}}
        return {
            "metadata": {"namespace": "calico-system", "name": name},
            "status": {key: [{"name": "c", "state": state}]},
        }

    pods = [
        pod("calico-node-1", "ImagePullBackOff", init=True),
        pod("typha-1", "ErrImagePull"),
        pod("calico-node-2", "ContainerCreating"),
        {"metadata": {"name": "bare"}},
    ]
    assert image_pull.pull_failures(pods) == [
        "calico-system/calico-node-1: container c: ImagePullBackOff (Back-off pulling image)",
        "calico-system/typha-1: container c: ErrImagePull (Back-off pulling image)",
    ]
