"""``labkit workshop ...`` on the command line: exit codes (0 fine, 1 refused or failed, 2 a
usage error or a teardown without the matching ``--confirm``) and the JSON shapes of
``doctor -o json`` and ``status -o json``, on a simulated workshop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import learners_file

from labkit.cli.main import COMMANDS, main
from labkit.cluster.workshop.host import SimulatedHost

STATUS_KEYS = {"name", "namespaces", "ready", "checks_passed", "last_activity"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def initialised(
    lab_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    monkeypatch.chdir(tmp_path)
    path = learners_file(tmp_path, ["alice", "bob", "carol"])
    code, out, err = run(
        capsys, "workshop", "init", "--id", "ws1", "--learners", str(path), "--simulated"
    )
    assert code == 0, err
    assert "workshop ws1 ready" in out and "3 learners" in out
    assert "hub.extraConfig" in out and "[  ok] wall ws1-doctor-b-wall" in out
    assert (tmp_path / "labkit-workshop-ws1-hook.py").is_file()
    return lab_home


def test_workshop_is_a_registered_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert COMMANDS["workshop"] == "labkit.cli.cmd_workshop"
    assert main(["workshop"]) == 2
    assert "init" in capsys.readouterr().out


def test_init_needs_a_cluster_choice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["workshop", "init", "--id", "ws1", "--learners", "x"])
    assert caught.value.code == 2
    assert "--context" in capsys.readouterr().err


def test_a_bad_learners_file_exits_1_with_its_lines(
    lab_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = learners_file(tmp_path, ["alice", "Bob"])
    code, _, err = run(
        capsys, "workshop", "init", "--id", "ws1", "--learners", str(path), "--simulated"
    )
    assert code == 1
    assert f"{path}:3: learner 'Bob'" in err and "fix:" in err
    assert not lab_home.exists()


def test_dry_run_prints_counts_and_namespaces_and_changes_nothing(
    lab_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = learners_file(tmp_path, ["alice"])
    code, out, _ = run(
        capsys,
        "workshop",
        "init",
        "--id",
        "ws1",
        "--learners",
        str(path),
        "--simulated",
        "--dry-run",
    )
    assert code == 0
    assert "dry run, nothing was changed" in out and "ws1-alice-legacy-dc" in out
    assert "GlobalNetworkPolicy" in out and "would create 10 namespaces" in out
    assert not lab_home.exists() and not (tmp_path / "labkit-workshop-ws1-hook.py").exists()


def test_doctor_exit_codes_and_json(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "workshop", "doctor", "--id", "ws1")
    assert code == 0 and out.count("[  ok]") == 9
    code, out, _ = run(capsys, "workshop", "doctor", "--id", "ws1", "-o", "json")
    data = json.loads(out)
    assert code == 0 and data["workshop"] == "ws1" and data["ok"] is True
    assert all(set(c) == {"name", "status", "ok", "detail", "fix"} for c in data["checks"])
    SimulatedHost.open("ws1", initialised).delete("GlobalNetworkPolicy", "", "labkit-ws1-carol")
    code, out, err = run(capsys, "workshop", "doctor", "--id", "ws1")
    assert code == 1 and "[FAIL] walls" in out and "fix:" in out and "1 check failed" in err
    code, out, _ = run(capsys, "workshop", "doctor", "--id", "ws1", "-o", "json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    assert [c["name"] for c in data["checks"] if c["status"] == "FAIL"] == ["walls"]


def test_status_json_shape(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "workshop", "status", "--id", "ws1", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"workshop", "learners"} and data["workshop"] == "ws1"
    assert [x["name"] for x in data["learners"]] == ["alice", "bob", "carol"]
    assert all(set(x) == STATUS_KEYS for x in data["learners"])


def test_dashboard_runs(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "workshop", "dashboard", "--id", "ws1")
    assert code == 0, err
    assert "alice" in out


def test_an_unknown_workshop_says_how_to_make_it(
    lab_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "workshop", "doctor", "--id", "ws7")
    assert code == 1 and "no workshop 'ws7'" in err and "workshop init --id ws7" in err


def test_teardown_exit_codes(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "workshop", "teardown", "--id", "ws1")
    assert code == 2 and "--confirm ws1" in err
    code, _, err = run(capsys, "workshop", "teardown", "--id", "ws1", "--confirm", "ws2")
    assert code == 2 and "with --confirm ws2" in err
    assert SimulatedHost.open("ws1", initialised).selected(
        "labkit.dev/workshop=ws1", ("Namespace",)
    )
    code, out, _ = run(capsys, "workshop", "teardown", "--id", "ws1", "--confirm", "ws1")
    assert code == 0 and "labkit.dev/workshop=ws1" in out and "Namespace" in out
    # the hub namespace init created stays (emptied): JupyterHub may live there now
    assert SimulatedHost.open("ws1", initialised).selected(
        "labkit.dev/workshop=ws1", ("Namespace",)
    ) == [("Namespace", "", "jhub")]
