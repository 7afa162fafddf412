"""can-i on a real cluster goes through ``kubectl auth can-i`` (a fake kubectl here: these tests
check what labkit asks and how it reads the answer, not what a cluster decides)."""

from __future__ import annotations

import json

import pytest
from fake_tools import FakeTools

from labkit.cli.main import main
from labkit.cluster.auth import Question, can_i, kubectl_can_i
from labkit.cluster.existing import ExistingCluster
from labkit.cluster.kubectl import Kubectl
from labkit.errors import CommandFailed

QUESTION = Question("patch", "networkpolicies", "my-segment", "alice", ("segment-team",))


@pytest.mark.parametrize(
    ("stdout", "exit_code", "allowed", "reason"),
    [
        ("yes\n", 0, True, ""),
        ("no\n", 1, False, ""),
        (
            'no - RBAC: role.rbac.authorization.k8s.io "x" not found\n',
            1,
            False,
            'RBAC: role.rbac.authorization.k8s.io "x" not found',
        ),
    ],
)
def test_kubectl_answer_is_read(
    fake_tools: FakeTools, stdout: str, exit_code: int, allowed: bool, reason: str
) -> None:
    fake_tools.add("kubectl", match=["auth", "can-i"], stdout=stdout, exit=exit_code)
    assert kubectl_can_i(Kubectl(None, "kind-labkit"), QUESTION) == (allowed, reason)
    (call,) = fake_tools.calls("kubectl")
    assert call.argv == [
        "--context",
        "kind-labkit",
        "auth",
        "can-i",
        "patch",
        "networkpolicies",
        "-n",
        "my-segment",
        "--as",
        "alice",
        "--as-group",
        "segment-team",
    ]


def test_kubectl_failure_raises_with_a_hint(fake_tools: FakeTools) -> None:
    fake_tools.add(
        "kubectl",
        match=["auth", "can-i"],
        stderr='Error from server (Forbidden): users "alice" is forbidden: User "me" cannot '
        'impersonate resource "users"\n',
        exit=1,
    )
    with pytest.raises(CommandFailed, match="impersonate"):
        kubectl_can_i(Kubectl(None, "ctx"), QUESTION)


def test_existing_cluster_asks_kubectl(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["auth", "can-i", "namespaces"], stdout="no\n", exit=1)
    answer = can_i(ExistingCluster("ctx"), Question("patch", "namespaces", None, "alice"))
    assert not answer.allowed and answer.backend == "existing" and answer.decision is None
    (call,) = fake_tools.calls("kubectl")
    assert "-n" not in call.argv and call.argv[-2:] == ["--as", "alice"]


def test_cli_can_i_on_an_existing_cluster(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_tools.add("kubectl", match=["auth", "can-i", "--subresource", "exec"], stdout="yes\n")
    monkeypatch.setattr(
        "labkit.cluster.lifecycle.connect", lambda: ExistingCluster("ctx"), raising=True
    )
    code = main(
        ["auth", "can-i", "create", "pods", "--subresource", "exec", "--as", "bob", "-o", "json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["allowed"] is True and data["backend"] == "existing" and data["rule"] is None
    assert data["kubectl"] == "kubectl auth can-i create pods --subresource exec --as bob"
