"""``lab.check_requirements``: the notebook self-check reads the same requirement files as
``labkit check``, from a path, YAML text, objects, or what was applied to the lab cluster,
and shows public results only."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat import v4

import labkit.lab as lab

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exercises"
EXERCISE = FIXTURES / "fixture-isolate"
SOLUTION = EXERCISE / "instructor" / "solution" / "policy.yaml"
WRONG = EXERCISE / "instructor" / "wrong" / "open-to-all" / "policy.yaml"
HIDDEN = ("untrusted-blocked-hidden", "egress-unchanged-hidden", "Pods in untrusted")


@pytest.fixture(autouse=True)
def fixture_exercises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LABKIT_EXERCISES_DIR", str(FIXTURES))
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("LABKIT_BACKEND", "simulated")


def shows_public_only(text: str) -> bool:
    return not any(secret in text for secret in HIDDEN) and "all tests passed" not in text.lower()


def test_a_path_is_checked_on_public_requirements() -> None:
    result = lab.check_requirements("fixture-isolate", SOLUTION)
    assert result.passed
    assert {r.id for r in result.grade.requirements} == {"inside-still-talks", "trusted-blocked"}
    text = str(result)
    assert text.endswith("2 of 2 public checks pass; hidden checks run only when graded")
    assert shows_public_only(text) and shows_public_only(result._repr_html_())


def test_yaml_text_gets_feedback_for_a_miss() -> None:
    result = lab.check_requirements(str(EXERCISE), WRONG.read_text())
    assert not result.passed
    text = str(result)
    assert "[MISS] trusted-blocked" in text and "is allowed but must be blocked" in text
    assert "1 of 2 public checks pass" in text
    assert 'class="labkit-selfcheck"' in result._repr_html_()
    assert shows_public_only(text)


def test_a_notebook_answer_cell_is_read_as_data(tmp_path: Path) -> None:
    notebook = v4.new_notebook()
    answer = v4.new_raw_cell(SOLUTION.read_text())
    answer.metadata["tags"] = ["answer"]
    notebook.cells = [v4.new_code_cell("import os; os.system('touch pwned')"), answer]
    path = tmp_path / "fixture-isolate.ipynb"
    nbformat.write(notebook, str(path))
    result = lab.check_requirements("fixture-isolate", str(path))
    assert result.passed
    assert not (tmp_path / "pwned").exists()


def test_no_submission_checks_what_was_applied_to_the_lab() -> None:
    lab.up()
    assert not lab.check_requirements("fixture-isolate").passed
    lab.apply(SOLUTION)
    result = lab.check_requirements("fixture-isolate")
    assert result.passed
    assert result.source == "the simulated lab cluster"
    assert result.grade.rejected == ()
    lab.label("Namespace", "trusted", {"team": "ops"})
    relabelled = lab.check_requirements("fixture-isolate")
    assert [r.object for r in relabelled.grade.rejected] == ["Namespace trusted"]
