"""lab.predict / lab.verify against the simulated cluster, in-process (no front end)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import labkit.lab as lab
from labkit.cluster import learner_progress as store
from labkit.errors import LabkitError
from labkit.probe.jobs import Outcome

DENY_DATABASE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: database-from-backend, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: database}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: backend}}}]
"""
SOURCES = ["trusted/client", "my-segment/backend"]
DESTINATIONS = ["my-segment/database"]


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[lab.LabSession]:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("LABKIT_BACKEND", "simulated")
    monkeypatch.setenv("LABKIT_LEARNER", "ada")
    monkeypatch.delenv("LABKIT_LESSON_ANSWERS", raising=False)
    yield lab.up()


def _predict(key: str = "db") -> lab.Prediction:
    return lab.predict("80/TCP", sources=SOURCES, destinations=DESTINATIONS, key=key)


def test_a_prediction_starts_empty_and_cycles_on_clicks(session: lab.LabSession) -> None:
    prediction = _predict()
    assert prediction.value == ((None,), (None,))
    grid = prediction.widget()
    cell = grid.children[1].children[1]  # row trusted/client, column database
    assert cell.description == "?"
    cell.click()
    assert prediction.value[0] == (True,) and "allowed" in cell.description
    cell.click()
    assert prediction.value[0] == (False,) and "blocked" in cell.description
    saved = store.load().predictions["db"]
    assert saved["matrix"] == [[False], [None]] and saved["rows"] == SOURCES


def test_default_rows_and_columns_are_the_lab_pods(session: lab.LabSession) -> None:
    prediction = lab.predict(key="all")
    assert prediction.sources == prediction.destinations
    assert "my-segment/database" in prediction.sources
    assert len(prediction.value) == len(prediction.sources)


def test_a_right_prediction_verifies_and_is_recorded(session: lab.LabSession) -> None:
    prediction = _predict().set([[True], [True]])
    result = lab.verify(prediction)
    assert result.passed and result.wrong == ()
    assert "2 of 2 cells right" in str(result)
    assert store.load().checks["prediction:db"]["passed"] is True


def test_wrong_cells_are_explained_side_by_side(session: lab.LabSession) -> None:
    lab.apply(DENY_DATABASE)
    prediction = _predict().set([[True], [False]])  # both wrong now
    result = lab.verify(prediction)
    assert not result.passed
    wrong = {(w.source, w.observed) for w in result.wrong}
    assert wrong == {("trusted/client", Outcome.BLOCKED), ("my-segment/backend", Outcome.ALLOWED)}
    for cell in result.wrong:
        expected = lab.explain(cell.source, cell.destination, "80/TCP")
        assert cell.why == expected.summary and cell.why
    html = result._repr_html_()
    for panel in ("Your prediction", "Observed now", "Difference"):
        assert panel in html
    assert html.count("<svg") == 3 and "Δ" in html
    assert "you said allowed, observed blocked" in html
    assert store.load().checks["prediction:db"]["passed"] is False


def test_an_unfilled_prediction_does_not_pass(session: lab.LabSession) -> None:
    result = lab.verify(_predict())
    assert not result.passed and len(result.wrong) == 2
    assert "you said nothing" in str(result)


def test_headless_runs_take_the_solutions_value(
    session: lab.LabSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = tmp_path / "solutions.yaml"
    answers.write_text(yaml.safe_dump({"prediction:db": [[False], [True]], "other": "x"}))
    monkeypatch.setenv("LABKIT_LESSON_ANSWERS", str(answers))
    assert _predict().value == ((False,), (True,))
    assert _predict("not-in-the-file").value == ((None,), (None,))
    answers.write_text(yaml.safe_dump({"prediction:db": [[1], [0]]}))
    with pytest.raises(LabkitError, match="prediction:db must be a list of rows of true/false"):
        _predict()


def test_set_refuses_a_wrong_shape(session: lab.LabSession) -> None:
    with pytest.raises(LabkitError, match="is 2 rows x 1 columns"):
        _predict().set([[True, False]])
    with pytest.raises(LabkitError, match="needs a key"):
        lab.predict(key=" ")


def test_before_after_panel_marks_the_cells_the_change_flipped(session: lab.LabSession) -> None:
    before = lab.probe_matrix("80/TCP")
    lab.apply(DENY_DATABASE)
    result = lab.verify(_predict().set([[False], [True]]), before=before)
    assert result.passed
    assert result.changed == {("trusted/client", "my-segment/database"): Outcome.ALLOWED}
    html = result._repr_html_()
    assert "Before/after" in html and html.count("<svg") == 4
    assert "Before/after" not in lab.verify(_predict().set([[False], [True]]))._repr_html_()
