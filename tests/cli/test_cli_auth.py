"""``labkit auth can-i`` and ``lab.can_i`` on the simulated cluster (labkit's RBAC evaluation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cli.main import COMMANDS, main
from labkit.cluster.simulated import SimulatedCluster

SAMPLE = Path(__file__).resolve().parents[2] / "clusters" / "rbac" / "team-policy-editor.yaml"


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimulatedCluster:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    cluster = SimulatedCluster.up(tmp_path)
    cluster.apply(SAMPLE)
    return cluster


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_auth_is_registered_lazily() -> None:
    assert COMMANDS["auth"] == "labkit.cli.cmd_auth"


def test_yes_names_the_binding_role_and_rule(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(
        capsys,
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
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "yes"
    assert "  binding: RoleBinding my-segment/segment-team-policy-editors" in lines
    assert "  role: Role my-segment/policy-editor" in lines
    assert lines[-1] == (
        "  kubectl: kubectl auth can-i patch networkpolicies -n my-segment --as alice "
        "--as-group segment-team"
    )


@pytest.mark.parametrize(
    "argv",
    [
        (
            "patch",
            "networkpolicies",
            "-n",
            "trusted",
            "--as",
            "alice",
            "--as-group",
            "segment-team",
        ),
        ("patch", "namespaces", "--as", "alice", "--as-group", "segment-team"),
        ("patch", "namespaces/trusted", "--as", "alice", "--as-group", "segment-team"),
        ("patch", "networkpolicies", "-n", "my-segment", "--as", "alice"),
    ],
)
def test_no_exits_1_with_the_reason(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, out = run(capsys, "auth", "can-i", *argv, "-o", "json")
    data = json.loads(out)
    assert code == 1
    assert data["allowed"] is False and data["answer"] == "no"
    assert data["backend"] == "simulated" and data["binding"] is None
    assert "denies by default" in data["reason"]
    assert data["kubectl"].startswith(f"kubectl auth can-i {argv[0]} {argv[1]}")


def test_json_of_an_allowed_answer(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(
        capsys,
        "auth",
        "can-i",
        "list",
        "ns",
        "--as",
        "bob",
        "--as-group",
        "segment-team",
        "-o",
        "json",
    )
    data = json.loads(out)
    assert code == 0 and data["allowed"] is True
    assert data["binding"] == "ClusterRoleBinding segment-team-namespace-viewers"
    assert data["role"] == "ClusterRole namespace-viewer"
    assert "namespaces" in data["rule"]


def test_as_is_required(sim: SimulatedCluster, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["auth", "can-i", "get", "pods"])
    assert exc.value.code == 2
    assert "--as" in capsys.readouterr().err


def test_removed_binding_takes_the_permission_away(
    sim: SimulatedCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = (
        "auth",
        "can-i",
        "get",
        "pods",
        "-n",
        "my-segment",
        "--as",
        "alice",
        "--as-group",
        "segment-team",
    )
    assert run(capsys, *argv)[0] == 0
    assert sim.delete("RoleBinding", "segment-team-policy-editors", "my-segment")
    assert run(capsys, *argv)[0] == 1


def test_lab_can_i(sim: SimulatedCluster) -> None:
    import labkit.lab as lab

    yes = lab.can_i(
        "create",
        "networkpolicies",
        namespace="my-segment",
        as_user="system:serviceaccount:my-segment:policy-bot",
    )
    assert yes and yes.answer == "yes"
    assert yes.binding == "RoleBinding my-segment/segment-team-policy-editors"
    assert str(yes.commands) == (
        "kubectl auth can-i create networkpolicies -n my-segment --as "
        "system:serviceaccount:my-segment:policy-bot"
    )
    html = yes._repr_html_()
    assert "yes" in html and "kubectl auth can-i" in html
    no = lab.can_i(
        "create",
        "pods",
        namespace="my-segment",
        as_user="alice",
        as_groups=["segment-team"],
        subresource="exec",
    )
    assert not no and no.rule is None and "pods/exec" in no.reason
    assert "why: " in str(no)


def test_binding_to_a_missing_cluster_role_is_noted(sim: SimulatedCluster) -> None:
    import labkit.lab as lab

    sim.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "editors", "namespace": "trusted"},
            "subjects": [{"kind": "User", "name": "zoe"}],
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "edit",
            },
        }
    )
    answer = lab.can_i("get", "pods", namespace="trusted", as_user="zoe")
    assert not answer
    assert answer.notes == (
        "RoleBinding trusted/editors refers to ClusterRole edit, which does not exist: it "
        "grants nothing",
    )
    assert "note: RoleBinding trusted/editors" in str(answer)
