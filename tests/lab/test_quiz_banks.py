"""Quiz banks as data (notebooks/quizzes/*.yaml): format, grading by salted digest,
feedback on every option, attempts recorded, widgets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from labkit.cluster import learner_progress as store
from labkit.errors import LabkitError
from labkit.lab import quiz_bank as qb
from labkit.lab.quiz_widgets import attempt, bank_widget
from labkit.lab.quizzes import bank

BANKS = sorted((Path(__file__).resolve().parents[2] / "notebooks" / "quizzes").glob("*.yaml"))
FIXED_FRONTEND = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate-frontend, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: frontend}}   # the pod's own label
  policyTypes: [Ingress]
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("LABKIT_LEARNER", "ada")
    return tmp_path / "lab"


@pytest.mark.parametrize("path", BANKS, ids=[p.stem for p in BANKS])
def test_every_bank_is_valid_with_digests_only(path: Path) -> None:
    loaded = qb.load_bank(path)
    assert len(loaded.questions) >= 5
    raw = yaml.safe_load(path.read_text())
    for question in raw["questions"]:
        assert re.fullmatch(r"[0-9a-f]{64}", question["answer"]), question["id"]
        assert not {"correct", "solution", "answer_index"} & set(question)
    for question in loaded.questions:
        assert all(o.feedback.strip() for o in question.options)
        if question.kind in ("matrix", "yaml"):
            assert question.correct_feedback and question.wrong_feedback


def test_the_start_here_questions_moved_to_a_bank() -> None:
    moved = bank("start-here")
    assert moved.name == "00-start-here"
    kinds = {q.kind for q in moved.questions}
    assert kinds == {"single", "multiple", "matrix", "yaml"}


@pytest.mark.parametrize(
    ("question_id", "right", "wrong"),
    [
        ("no-policy-yet", 1, 0),
        ("ingress-policy-effect", 0, 2),
        ("which-directions", [0], [0, 1]),
        ("no-policy-matrix", [[True, True], [True, True]], [[True, True], [False, True]]),
        ("fix-frontend-selector", FIXED_FRONTEND, None),
    ],
)
def test_answers_are_graded_and_recorded(question_id: str, right: Any, wrong: Any) -> None:
    moved = bank("00-start-here")
    question = next(q for q in moved.questions if q.id == question_id)
    if wrong is None:
        wrong = question.starter
    missed = attempt(moved, question_id, wrong)
    assert not missed.correct and missed.feedback.startswith("Not quite.")
    found = attempt(moved, question_id, right)
    assert found.correct and found.feedback.startswith("Correct.")
    entry = store.load().quizzes[f"00-start-here:{question_id}"]
    assert entry == {**entry, "correct": True, "attempts": 2}


def test_choice_feedback_is_the_chosen_options_own() -> None:
    moved = bank("00-start-here")
    question = moved.questions[0]
    for index, option in enumerate(question.options):
        assert option.feedback in qb.grade_choices(question, [index]).feedback


def test_the_digest_is_salted_per_bank_and_question() -> None:
    assert qb.digest("s1", "q", "1") != qb.digest("s2", "q", "1")
    assert qb.digest("s1", "q", "1") != qb.digest("s1", "r", "1")
    assert qb.canonical_choices([2, 0, 2]) == "0,2"
    assert qb.canonical_matrix([[True, False], [False, True]]) == "10/01"
    assert qb.canonical_yaml("b: 1\na: [x]\n") == qb.canonical_yaml("{a: [x], b: 1}")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answer": "1"}, "must be a sha256 hex digest"),
        ({"type": "essay"}, "type must be one of single, multiple, matrix, yaml"),
        ({"options": [{"text": "a", "feedback": "x"}, {"text": "b"}]}, r"options\[1\]\.feedback"),
    ],
)
def test_bad_banks_are_refused_with_where_and_how(change: dict[str, Any], message: str) -> None:
    question = {
        "id": "q",
        "type": "single",
        "prompt": "?",
        "options": [{"text": "a", "feedback": "x"}, {"text": "b", "feedback": "y"}],
        "answer": qb.digest("salt", "q", "1"),
        **change,
    }
    with pytest.raises(LabkitError, match=message) as caught:
        qb.parse_bank({"salt": "salt", "questions": [question]}, name="b", file="b.yaml")
    assert "b.yaml: questions[0]" in str(caught.value)


def test_author_command_makes_a_digest_the_bank_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.yaml"
    question = {"id": "q", "type": "matrix", "prompt": "?", "rows": ["a/x"], "columns": ["b/y"]}
    question |= {"feedback": {"correct": "yes", "wrong": "no"}, "answer": "0" * 64}
    path.write_text(yaml.safe_dump({"salt": "pepper", "questions": [question]}))
    assert qb.main(["digest", str(path), "q", "1"]) == 0
    question["answer"] = capsys.readouterr().out.strip()
    path.write_text(yaml.safe_dump({"salt": "pepper", "questions": [question]}))
    mine = qb.load_bank(path)
    assert attempt(mine, "q", [[True]]).correct
    assert not attempt(mine, "q", [[False]]).correct
    assert qb.main(["check", str(path)]) == 0


def test_unknown_bank_names_the_known_ones() -> None:
    with pytest.raises(LabkitError, match=r"no quiz bank 'nope'.*00-start-here"):
        bank("nope")


def test_widget_click_gives_feedback_and_records() -> None:
    import labkit.lab as lab

    box = lab.quiz("00-start-here")
    first = box.children[0]
    prompt, choices, feedback = first.children
    assert "No NetworkPolicy exists yet" in prompt.value
    choices.children[0].click()
    assert "Not quite." in feedback.value
    choices.children[1].click()
    assert "Correct." in feedback.value
    assert store.load().quizzes["00-start-here:no-policy-yet"]["attempts"] == 2
    assert len(bank_widget(bank("00-start-here")).children) == 5
