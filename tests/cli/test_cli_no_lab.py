"""After `labkit down` (or before any `labkit up`) the commands that need a lab say that no lab
is up and how to start one; none of them creates a cluster. `labkit apply` labels what it
applies and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cli.main import main

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
NEEDS_A_LAB = [
    ["get", "pods"],
    ["get", "ns"],
    ["probe"],
    ["probe", "--from", "trusted/client", "--to", "my-segment/frontend"],
    ["explain", "--from", "trusted/client", "--to", "my-segment/frontend", "--port", "80"],
    ["audit"],
    ["apply", "-f", "NAMESPACE"],
    ["delete", "pod", "frontend", "-n", "my-segment"],
    ["label", "namespace", "trusted", "a=b"],
    ["describe", "networkpolicy", "x"],
    ["reset"],
]


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LABKIT_HOME", str(home))
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # no kind: nothing to find
    (tmp_path / "namespace.yaml").write_text(NAMESPACE)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("after_down", [True, False], ids=["after-down", "never-up"])
@pytest.mark.parametrize("command", NEEDS_A_LAB, ids=lambda c: " ".join(c[:2]))
def test_commands_say_no_lab_is_up_and_create_nothing(
    lab: Path, capsys: pytest.CaptureFixture[str], command: list[str], after_down: bool
) -> None:
    if after_down:
        assert run(capsys, "up", "--backend", "simulated")[0] == 0
        assert run(capsys, "down")[0] == 0
    argv = [str(lab / "namespace.yaml") if a == "NAMESPACE" else a for a in command]
    code, out, err = run(capsys, *argv)
    assert code == 1, (out, err)
    assert "error: no lab is up" in err and "start one with `labkit up`" in err
    home = lab / "home"
    assert not (home / "simulated.json").exists() and not (home / "cluster.json").exists()


def test_up_after_down_creates_the_lab_again(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "up", "--backend", "simulated")
    run(capsys, "down")
    code, out, _ = run(capsys, "up", "--backend", "simulated")
    assert code == 0 and "backend:  simulated" in out
    assert run(capsys, "get", "pods", "-A")[0] == 0


def test_apply_labels_the_tutorials_namespace_and_says_so(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "up", "--backend", "simulated")
    code, out, err = run(capsys, "apply", "-f", str(lab / "namespace.yaml"))
    assert code == 0 and out.strip() == "Namespace shop applied"
    assert (
        "info: labkit added label labkit.dev/managed=true to 1 object so `labkit reset` can find it"
    ) in err
    code, out, _ = run(capsys, "get", "ns", "shop", "--show-labels")
    assert "labkit.dev/managed=true" in out
    code, out, err = run(capsys, "apply", "-f", str(lab / "namespace.yaml"), "-o", "json")
    assert json.loads(out)["labelled"] == ["Namespace shop"]
    code, out, _ = run(capsys, "reset")
    assert code == 0
    code, _, err = run(capsys, "get", "ns", "shop")
    assert code == 1 and 'namespaces "shop" not found' in err


def test_the_notebook_facade_does_not_create_a_lab_either(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import labkit.lab as facade
    from labkit.errors import LabNotUp

    for call in (
        facade.cluster,
        facade.audit,
        lambda: facade.probe_matrix(),
        lambda: facade.apply(NAMESPACE),
    ):
        with pytest.raises(LabNotUp, match=r"lab\.up\(\)"):
            call()
    assert not (lab / "home").exists()


def test_an_unknown_labkit_backend_names_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.cluster import lifecycle
    from labkit.errors import ClusterError

    with pytest.raises(ClusterError) as err:
        lifecycle.chosen_backend("auto", {"LABKIT_BACKEND": "kinnd"})
    assert "LABKIT_BACKEND='kinnd'" in str(err.value)
    assert "auto, kind, existing, simulated" in str(err.value)


@pytest.mark.parametrize(
    ("value", "code", "said"),
    [
        ("bogus", 1, "LABKIT_BACKEND='bogus' names no backend"),
        ("simulated", 0, "LABKIT_BACKEND=simulated is set in the environment"),
    ],
)
def test_labkit_up_reads_labkit_backend_as_the_notebooks_do(
    lab: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: str,
    code: int,
    said: str,
) -> None:
    monkeypatch.setenv("LABKIT_BACKEND", value)
    assert main(["up"]) == code
    out = capsys.readouterr()
    assert said in out.out + out.err
