"""The learner's progress store (<lab folder>/progress.json), lab.progress() and
`labkit progress`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labkit.cluster import labdir
from labkit.cluster import learner_progress as store
from labkit.errors import LabkitError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "lab"
    monkeypatch.setenv("LABKIT_HOME", str(folder))
    monkeypatch.setenv("LABKIT_LEARNER", "ada")
    return folder


def test_checks_count_attempts_and_failures_since_the_last_pass(home: Path) -> None:
    store.record_check("02-first-ingress-policy:isolated", False)
    store.record_check("02-first-ingress-policy:isolated", False)
    entry = store.load().checks["02-first-ingress-policy:isolated"]
    assert (entry["passed"], entry["attempts"], entry["failures"]) == (False, 2, 2)
    store.record_check("02-first-ingress-policy:isolated", True)
    entry = store.load().checks["02-first-ingress-policy:isolated"]
    assert (entry["passed"], entry["attempts"], entry.get("failures", 0)) == (True, 3, 0)
    assert store.load().passed == ("02-first-ingress-policy:isolated",)
    saved = json.loads((home / "progress.json").read_text())
    assert saved["version"] == 1 and "ada" in saved["learners"]


def test_each_learner_has_their_own_record(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store.record_quiz("00-start-here:no-policy-yet", True)
    monkeypatch.setenv("LABKIT_LEARNER", "grace")
    assert store.load().quizzes == {}
    store.record_quiz("00-start-here:no-policy-yet", False)
    assert store.load("ada").quizzes["00-start-here:no-policy-yet"]["correct"] is True
    assert store.load("grace").quizzes["00-start-here:no-policy-yet"]["correct"] is False


def test_learner_defaults_to_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.delenv("LABKIT_LEARNER", raising=False)
    assert store.learner() == getpass.getuser()


def test_writes_go_through_the_atomic_writer(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[Path] = []
    real = labdir.write_json_atomic

    def spy(path: Path, data: Any) -> None:
        written.append(path)
        real(path, data)

    monkeypatch.setattr(labdir, "write_json_atomic", spy)
    store.record_prediction("dns", {"matrix": [[True]]})
    assert written == [home / "progress.json"]
    assert store.load().predictions["dns"]["matrix"] == [[True]]


def test_a_broken_file_is_an_error_naming_it(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "progress.json").write_text("{not json")
    with pytest.raises(LabkitError, match=r"progress\.json: cannot read the progress file"):
        store.load()


def test_recording_quietly_never_breaks_a_lesson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("LABKIT_HOME", str(blocker))
    store.record_quietly("check", "x:y", True)
    assert "progress not saved" in caplog.text


def test_cli_progress_text_and_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from labkit.cli.main import main

    store.record_check("prediction:dns", False)
    store.record_check("check:trusted/client->my-segment/database:80/TCP", True)
    store.record_quiz("00-start-here:no-policy-yet", True)
    assert main(["progress", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["learner"] == "ada"
    assert data["checks"]["prediction:dns"]["passed"] is False
    assert data["quizzes"]["00-start-here:no-policy-yet"]["correct"] is True
    assert main(["progress"]) == 0
    text = capsys.readouterr().out
    assert "checks: 1 passed, 1 failing" in text
    assert "FAIL  prediction:dns" in text and "quiz questions: 1 of 1" in text


def test_lab_check_is_recorded_and_lab_progress_shows_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labkit.lab as lab

    monkeypatch.setenv("LABKIT_BACKEND", "simulated")
    lab.up()
    lab.check("untrusted/client", "my-segment/database", "80/TCP", expect="blocked")
    mine = lab.progress()
    entry = mine.checks["check:untrusted/client->my-segment/database:80/TCP"]
    assert entry["passed"] is False  # no policy yet: allowed, not the blocked expected
    assert "FAIL  check:untrusted/client-&gt;my-segment/database:80/TCP" in mine._repr_html_()
