"""Grades (labkit.grading.score) and exercise folders (labkit.grading.exercise), on a small
exercise written here: ``lock-db`` in the world of grading_core_fixtures.

Points: web-reaches-db 2 (gated on client-blocked), client-blocked 2, hidden rest-unchanged 1
(gated on client-blocked), least privilege 3 (scope ``*`` -> ``a/db``, 6 triples, see
test_privilege) = 8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from grading_core_fixtures import from_pods, policy, ports, raw, world_objects, write_yaml

from labkit.errors import GradingError, RequirementsError
from labkit.grading import (
    Grader,
    Submission,
    check,
    check_summary,
    find_exercise,
    grade,
    list_exercises,
    read_submission,
    to_dict,
)
from labkit.grading.exercise import Exercise

BASE = raw(world_objects())
WEB_5432 = {"from": [from_pods("a", app="web")], "ports": ports((5432, "TCP"))}
SOLUTION = policy("a", "db-in", {"app": "db"}, ingress=[WEB_5432])
PUBLIC = {
    "requirements": [
        {
            "id": "web-reaches-db",
            "description": "web reaches db on 5432/TCP",
            "points": 2,
            "gate": ["client-blocked"],
            "allowed": [{"from": "a/web", "to": "a/db", "ports": "5432/TCP"}],
        },
        {
            "id": "client-blocked",
            "description": "b cannot reach db",
            "points": 2,
            "blocked": [{"from": "b/*", "to": "a/db", "ports": "any"}],
        },
    ]
}
HIDDEN_DESCRIPTION = "Traffic that does not enter db is unchanged"
HIDDEN = {
    "requirements": [
        {
            "id": "rest-unchanged",
            "description": HIDDEN_DESCRIPTION,
            "points": 1,
            "gate": ["client-blocked"],
            "unchanged": [{"from": "*", "to": "*", "except_to": "a/db"}],
        }
    ]
}
SPEC = {
    "id": "lock-db",
    "title": "Lock the database",
    "allowed": {"kinds": ["NetworkPolicy"], "namespaces": ["a"]},
    "least_privilege": {"points": 3, "scope": {"from": "*", "to": "a/db"}},
}


def _exercise(root: Path, **overrides: Any) -> Path:
    folder = root / "lock-db"
    write_yaml(folder / "exercise.yaml", {**SPEC, **overrides.get("spec", {})})
    write_yaml(folder / "requirements.yaml", overrides.get("public", PUBLIC))
    write_yaml(folder / "instructor" / "requirements.yaml", overrides.get("hidden", HIDDEN))
    write_yaml(
        folder / "instructor" / "solution" / "db.yaml", *overrides.get("solution", [SOLUTION])
    )
    return folder


@pytest.fixture
def exercise(tmp_path: Path) -> Exercise:
    _exercise(tmp_path / "exercises")
    return find_exercise("lock-db", tmp_path / "exercises")


def _submit(tmp_path: Path, *objects: dict[str, Any]) -> Submission:
    if not objects:
        return Submission()
    return read_submission(write_yaml(tmp_path / "answer" / "answer.yaml", *objects))


def _points(grade_: Any) -> dict[str, float]:
    return {r.id: r.points for r in grade_.requirements}


def test_solution_scores_full_marks(tmp_path: Path, exercise: Exercise) -> None:
    result = grade(exercise, _submit(tmp_path, SOLUTION), BASE)
    assert result.max_score == exercise.max_score == 8
    assert result.score == 8
    assert all(r.passed and r.feedback == "passed" for r in result.requirements)
    assert result.least_privilege.excess_flows == 0


def test_empty_submission_scores_nothing(exercise: Exercise) -> None:
    """Unchanged and "web still reaches db" pass when nothing is done: the gate stops them."""
    result = grade(exercise, Submission(), BASE)
    assert result.score == 0
    by_id = {r.id: r for r in result.requirements}
    assert by_id["web-reaches-db"].passed and by_id["web-reaches-db"].points == 0
    assert "client-blocked" in by_id["web-reaches-db"].feedback
    assert by_id["rest-unchanged"].passed and by_id["rest-unchanged"].points == 0
    assert result.least_privilege.score == 0
    assert result.least_privilege.excess_flows == 6


def test_looser_answer_loses_least_privilege_points(tmp_path: Path, exercise: Exercise) -> None:
    tcp_any = {"from": [from_pods("a", app="web")], "ports": ports((1, "TCP", 65535))}
    result = grade(
        exercise, _submit(tmp_path, policy("a", "db-in", {"app": "db"}, ingress=[tcp_any])), BASE
    )
    assert all(r.passed for r in result.requirements)
    assert result.least_privilege.excess_flows == 1
    assert result.least_privilege.score == 2.5  # 3 * (1 - 1/6)
    assert result.score == 7.5


def test_one_extra_source_fails_and_gates(tmp_path: Path, exercise: Exercise) -> None:
    client = {"from": [from_pods("b", app="client")], "ports": ports((6000, "TCP"))}
    wrong = policy("a", "db-in", {"app": "db"}, ingress=[WEB_5432, client])
    result = grade(exercise, _submit(tmp_path, wrong), BASE)
    assert result.score == 0
    assert _points(result) == {"web-reaches-db": 0, "client-blocked": 0, "rest-unchanged": 0}
    (miss,) = [r for r in result.requirements if not r.passed]
    assert miss.feedback.startswith("b/client -> a/db on 6000/TCP is allowed but must be blocked: ")


def test_hidden_feedback_names_no_pair_or_port(tmp_path: Path, exercise: Exercise) -> None:
    web_out = policy("a", "web-out", {"app": "web"}, egress=[{"to": [from_pods("a", app="db")]}])
    result = grade(exercise, _submit(tmp_path, SOLUTION, web_out), BASE)
    (hidden,) = [r for r in result.requirements if r.hidden]
    assert not hidden.passed
    assert hidden.feedback == f"a hidden check failed: {HIDDEN_DESCRIPTION}"
    assert result.score == 4  # the public points; least privilege is gated on every check
    # the self-check never lists it, and does not claim that everything passed
    checked = check(exercise, _submit(tmp_path, SOLUTION, web_out), BASE)
    assert [r.id for r in checked.requirements] == ["web-reaches-db", "client-blocked"]
    assert "rest-unchanged" not in str(to_dict(checked))
    assert checked.score == checked.max_score == 4
    assert check_summary(checked) == "2 of 2 public checks pass; hidden checks run only when graded"


def test_check_has_no_least_privilege(tmp_path: Path, exercise: Exercise) -> None:
    checked = check(exercise, Submission(), BASE)
    assert checked.least_privilege.max_score == 0
    assert check_summary(checked) == "1 of 2 public checks pass; hidden checks run only when graded"


def test_rejected_objects_have_no_effect(tmp_path: Path, exercise: Exercise) -> None:
    relabel = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "b", "labels": {"x": "y"}},
    }
    elsewhere = policy("b", "client-out", {}, egress=[])  # blocks b/client, but b is not ours
    result = grade(exercise, _submit(tmp_path, relabel, elsewhere), BASE)
    assert {r.object for r in result.rejected} == {"Namespace b", "NetworkPolicy b/client-out"}
    assert result.score == 0
    data = to_dict(result)
    assert {tuple(r) for r in data["rejected"]} == {("file", "object", "reason")}


def test_invalid_objects_are_errors_in_validate_form(tmp_path: Path, exercise: Exercise) -> None:
    bad = policy(
        "a", "bad", {"app": "db"}, ingress=[{"ports": [{"port": 5432, "protocol": "ICMP"}]}]
    )
    result = grade(exercise, _submit(tmp_path, SOLUTION, bad), BASE)
    assert result.errors and all(
        {"file", "object", "field", "message"} <= set(e) for e in result.errors
    )
    assert result.score == 8  # the valid rest is graded


def test_to_dict_is_the_issue_json(tmp_path: Path, exercise: Exercise) -> None:
    data = to_dict(grade(exercise, _submit(tmp_path, SOLUTION), BASE))
    assert list(data) == [
        "exercise",
        "score",
        "max_score",
        "requirements",
        "least_privilege",
        "rejected",
        "errors",
    ]
    assert data["exercise"] == "lock-db"
    assert [list(r) for r in data["requirements"]] == [
        ["id", "description", "hidden", "points", "max_points", "passed", "feedback"]
    ] * 3
    assert {"excess_flows", "score"} <= set(data["least_privilege"])


def test_grader_reused_over_a_batch_agrees_with_grade(tmp_path: Path, exercise: Exercise) -> None:
    grader = Grader(exercise, BASE)
    submissions = [Submission(), _submit(tmp_path, SOLUTION)]
    assert [grader.grade(s) for s in submissions] == [grade(exercise, s, BASE) for s in submissions]


def test_least_privilege_gate_can_be_named(tmp_path: Path) -> None:
    spec = {
        "least_privilege": {
            "points": 3,
            "scope": {"from": "*", "to": "a/db"},
            "gate": ["client-blocked"],
        }
    }
    exercise = find_exercise(_exercise(tmp_path, spec=spec))
    web_out = policy("a", "web-out", {"app": "web"}, egress=[{"to": [from_pods("a", app="db")]}])
    result = grade(exercise, _submit(tmp_path, SOLUTION, web_out), BASE)
    assert result.least_privilege.score == 3  # the hidden miss is not in its gate
    assert result.score == 7


def test_rejected_reference_solution_is_an_error(tmp_path: Path) -> None:
    exercise = find_exercise(_exercise(tmp_path, solution=[policy("b", "x", {}, ingress=[])]))
    with pytest.raises(GradingError, match="reference solution"):
        grade(exercise, Submission(), BASE)


def test_find_and_list_exercises(tmp_path: Path) -> None:
    root = tmp_path / "exercises"
    folder = _exercise(root)
    assert find_exercise("lock-db", root).path == folder
    assert find_exercise(folder).id == "lock-db"
    assert [e.id for e in list_exercises(root)] == ["lock-db"]
    with pytest.raises(GradingError, match=r"unknown exercise 'nope'.*lock-db"):
        find_exercise("nope", root)


def test_released_copy_has_no_hidden_requirements(tmp_path: Path) -> None:
    folder = _exercise(tmp_path)
    (folder / "instructor" / "requirements.yaml").unlink()
    exercise = find_exercise(folder)
    assert not any(r.hidden for r in exercise.requirements.requirements)
    assert check(exercise, Submission(), BASE).max_score == 4


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"spec": {"id": "other"}}, "differs from the folder name"),
        ({"spec": {"points": 3}}, "unknown key"),
        (
            {"spec": {"least_privilege": {"points": 1, "gate": ["typo"]}}},
            "no requirement has id 'typo'",
        ),
        (
            {"spec": {"least_privilege": {"points": 1, "scope": {"from": "*"}}}},
            "least_privilege.scope",
        ),
        (
            {
                "public": {
                    "requirements": [{**PUBLIC["requirements"][1], "gate": ["rest-unchanged"]}]
                }
            },
            "gated on hidden",
        ),
    ],
)
def test_bad_exercise_folders(tmp_path: Path, overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(RequirementsError, match=match):
        find_exercise(_exercise(tmp_path, **overrides))


def test_zero_point_requirements_never_gate_least_privilege(tmp_path: Path) -> None:
    never = {
        "id": "b-policy",
        "description": "a policy in b",
        "points": 0,
        "state": {"policy_in": "b"},
    }
    hidden = {"requirements": [*HIDDEN["requirements"], never]}
    exercise = find_exercise(_exercise(tmp_path, hidden=hidden))
    result = grade(exercise, _submit(tmp_path, SOLUTION), BASE)
    assert not {r.id: r.passed for r in result.requirements}["b-policy"]
    assert result.least_privilege.score == 3
    assert result.score == result.max_score == 8
