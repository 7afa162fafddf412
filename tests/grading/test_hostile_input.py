"""Hostile submissions (issue 8, "Hostile input, each tested"): each gets a clear message and
no credit it did not earn.

Graded with the fixture exercise (tests/fixtures/exercises/fixture-isolate): its reference
solution scores 9 of 9, an empty submission 0. "No unearned credit" is checked as: the
hostile submission scores what the same submission scores without the hostile part.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest
from grading_inputs import (
    BAD_PROTOCOL,
    ISOLATE,
    OPEN_TO_ALL,
    answer_cell,
    lab_world,
    objects,
    write,
    write_notebook,
)
from nbformat import v4

from labkit.grading import Grade, Submission, load_exercise, read_submission
from labkit.grading.score import Grader
from labkit.grading.submission import MAX_DEPTH, MAX_ENTRIES
from labkit.grading.world import AllowedChanges, build_world
from labkit.model.inventory import build_inventory
from labkit.model.loader import MAX_FILE_BYTES

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "exercises" / "fixture-isolate"
SOLUTION = FIXTURE / "instructor" / "solution" / "policy.yaml"


@cache
def grader() -> Grader:
    return Grader(load_exercise(FIXTURE), lab_world())


def graded(path: Path) -> Grade:
    return grader().grade(read_submission(path))


def empty_score() -> float:
    return grader().grade(Submission()).score


def reasons(submission: Submission) -> dict[str, str]:
    return {Path(r.file).name: r.reason for r in submission.rejected}


def test_the_fixture_separates_full_marks_from_none(tmp_path: Path) -> None:
    solved = graded(write(tmp_path / "answer.yaml", SOLUTION.read_text()))
    assert solved.score == solved.max_score == 9
    assert empty_score() == 0


def test_invalid_yaml_is_a_syntax_error_with_its_line_and_earns_nothing(tmp_path: Path) -> None:
    broken = SOLUTION.read_text().replace("podSelector: {}\n  policyTypes", "podSelector: {\n  x")
    grade = graded(write(tmp_path / "answer.yaml", broken))
    (error,) = grade.errors
    assert error["type"] == "Syntax error"
    assert error["file"].startswith(f"{tmp_path / 'answer.yaml'}:")
    assert grade.score == empty_score()


def test_an_invalid_policy_gives_validates_error_and_zero_for_what_it_would_do(
    tmp_path: Path,
) -> None:
    invalid = SOLUTION.read_text().replace(
        "- podSelector: {}", "- podSelector: {}\n      ports: [{protocol: tcp}]"
    )
    grade = graded(write(tmp_path / "answer.yaml", invalid))
    (error,) = grade.errors
    assert error["message"] == (
        'spec.ingress[0].ports[0].protocol: Unsupported value: "tcp": supported values: '
        '"TCP", "UDP", "SCTP"'
    )
    assert error["object"] == "NetworkPolicy my-segment/isolate"
    assert grade.score == empty_score()


def test_the_valid_rest_of_a_submission_is_still_graded(tmp_path: Path) -> None:
    write(tmp_path / "bad.yaml", BAD_PROTOCOL)
    write(tmp_path / "good.yaml", SOLUTION.read_text())
    grade = graded(tmp_path)
    assert len(grade.errors) == 1
    assert grade.score == 9


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "requirements.yaml",
            "requirements:\n- {id: trusted-blocked, description: x, points: 3, state: "
            "{policy_in: my-segment}}\n",
        ),
        ("grade.json", json.dumps({"exercise": "fixture-isolate", "score": 9, "max_score": 9})),
        ("scores.yml", "score: 9\n"),
    ],
)
def test_a_file_claiming_requirements_or_a_grade_is_never_read(
    tmp_path: Path, name: str, text: str
) -> None:
    write(tmp_path / name, text)
    grade = graded(tmp_path)
    assert reasons(read_submission(tmp_path))[name].startswith(
        f"{name} claims to be requirements or a grade: requirements come only from the "
        "instructor's exercise folder"
    )
    assert grade.score == empty_score() and grade.max_score == 9
    assert [r.id for r in grade.requirements] == list(grader().requirements.ids())


def test_a_document_claiming_a_grade_inside_a_manifest_file_is_not_used(tmp_path: Path) -> None:
    claim = "score: 9\nmax_score: 9\npassed: true\n"
    path = write(tmp_path / "answer.yaml", f"{claim}---\n{BAD_PROTOCOL}")
    submission = read_submission(path)
    (rejected,) = submission.rejected
    assert rejected.reason.startswith(
        "claims to be requirements or a grade (max_score, passed, score)"
    )
    assert graded(path).score == empty_score()


def test_python_files_are_never_imported_or_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')\nscore = 9\n"
    for name in ("conftest.py", "sitecustomize.py", "grade.py", "answer.py"):
        write(tmp_path / "submission" / name, code)
    grade = graded(tmp_path / "submission")
    assert not marker.exists()
    assert {r["reason"].split(":")[0] for r in [r.as_dict() for r in grade.rejected]} == {
        "not a manifest file"
    }
    assert all("never imports or runs" in r.reason for r in grade.rejected)
    assert grade.score == empty_score()


def test_python_in_a_notebook_answer_cell_is_data_and_an_error(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write_notebook(
        tmp_path / "nb.ipynb",
        [answer_cell(f"import os; os.system('touch {marker}')", cell_type="code")],
    )
    grade = graded(path)
    assert not marker.exists()
    (error,) = grade.errors
    assert "document 1 is a string, not a mapping" in error["message"]
    assert grade.score == empty_score()


@pytest.mark.parametrize("kind", ["answer.yaml", "nb.ipynb"])
def test_yaml_tags_that_would_build_python_objects_are_refused(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "ran"
    text = f'metadata: !!python/object/apply:os.system ["touch {marker}"]\n'
    if kind == "nb.ipynb":
        path = write_notebook(tmp_path / kind, [answer_cell(text)])
    else:
        path = write(tmp_path / kind, text)
    grade = graded(path)
    assert not marker.exists()
    (error,) = grade.errors
    assert "could not determine a constructor for the tag" in error["message"]
    assert grade.score == empty_score()


def test_notebook_outputs_and_metadata_claiming_a_score_are_ignored(tmp_path: Path) -> None:
    claims = v4.new_code_cell(
        "grade()",
        metadata={"tags": ["answer-check"], "nbgrader": {"grade": True, "points": 9}},
        outputs=[
            v4.new_output("stream", name="stdout", text="All tests passed. Score: 9/9\n"),
            v4.new_output("execute_result", data={"text/plain": SOLUTION.read_text()}),
        ],
    )
    answer = answer_cell("# my answer: nothing yet\n", cell_type="code")
    answer.outputs = [v4.new_output("execute_result", data={"text/plain": SOLUTION.read_text()})]
    path = write_notebook(
        tmp_path / "nb.ipynb", [claims, answer], metadata={"grade": {"score": 9, "max_score": 9}}
    )
    submission = read_submission(path)
    assert submission == Submission()
    grade = grader().grade(submission)
    assert grade.score == empty_score()
    assert all(r.points == 0 for r in grade.requirements)


@pytest.mark.parametrize("target", ["file", "folder", "root", "root/"])
def test_a_symlink_to_the_instructors_solution_is_never_followed(
    tmp_path: Path, target: str
) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    link = {
        "file": submission / "answer.yaml",
        "folder": submission / "sol",
        "root": tmp_path / "r",
        "root/": tmp_path / "r",
    }
    link[target].symlink_to(SOLUTION if target == "file" else SOLUTION.parent)
    path = (
        f"{link[target]}/"
        if target == "root/"
        else link["root"]
        if target == "root"
        else submission
    )
    read = read_submission(path)
    (rejected,) = read.rejected
    assert rejected.file == str(link[target])
    assert rejected.reason.startswith(
        f"symbolic link (to {os.readlink(link[target])}): the grader never follows links"
    )
    assert read.objects == ()
    assert grader().grade(read).score == empty_score()


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "answer.yaml"
    with path.open("w") as handle:
        handle.write(SOLUTION.read_text() + "---\n")
        handle.truncate(MAX_FILE_BYTES + 1)
    grade = graded(path)
    (error,) = grade.errors
    assert error["type"] == "Too large"
    assert "file too large: 10.0 MiB (labkit reads files of up to 10 MiB)" in error["message"]
    assert grade.score == empty_score()


def test_a_notebook_too_large_says_to_clear_its_outputs(tmp_path: Path) -> None:
    answer = answer_cell(SOLUTION.read_text())
    plot = v4.new_code_cell(
        "plot()", outputs=[v4.new_output("display_data", data={"image/png": "A" * MAX_FILE_BYTES})]
    )
    path = write_notebook(tmp_path / "nb.ipynb", [answer, plot])
    submission = read_submission(path)
    (error,) = submission.errors
    assert error["type"] == "Too large" and error["message"].startswith("Too large: file too large")
    assert error["hint"].startswith("clear the notebook's outputs")
    assert grader().grade(submission).score == empty_score()


def test_one_budget_bounds_the_whole_submission(tmp_path: Path) -> None:
    """Each file alone is within bounds (9 MiB of comments); together they pass the 16 MiB
    one submission may read, so the second is refused before it is read."""
    comments = ("#" + "x" * 99 + "\n") * (9 * 1024 * 1024 // 100)
    write(tmp_path / "a.yaml", f"{ISOLATE}{comments}")
    write(tmp_path / "b.yaml", f"{SOLUTION.read_text()}{comments}")
    write(tmp_path / "c.yaml", OPEN_TO_ALL)
    submission = read_submission(tmp_path)
    (error,) = submission.errors
    assert error["file"] == str(tmp_path / "b.yaml")
    assert "too much input: this file (9.1 MiB) takes the run past 16 MiB" in error["message"]
    assert [raw.title for raw in submission.objects] == [
        "NetworkPolicy my-segment/isolate",
        "NetworkPolicy my-segment/open",
    ]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("deep.yaml", "[" * 5_000 + "]" * 5_000, "exceeded maximum nesting depth"),
        ("deep.json", "[" * 200_000 + "]" * 200_000, "JSON syntax error"),
        (
            "deep.ipynb",
            '{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}",
            "not a Jupyter notebook",
        ),
    ],
)
def test_deep_nesting_is_a_clear_error(tmp_path: Path, name: str, text: str, expected: str) -> None:
    write(tmp_path / name, text)
    write(tmp_path / "policy.yaml", ISOLATE)
    submission = read_submission(tmp_path)
    (error,) = submission.errors
    assert error["file"].startswith(str(tmp_path / name))
    assert expected in error["message"]
    assert [raw.title for raw in submission.objects] == ["NetworkPolicy my-segment/isolate"]


def test_deeply_nested_folders_are_not_read(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d"] * (MAX_DEPTH + 2))
    write(deep / "answer.yaml", SOLUTION.read_text())
    submission = read_submission(tmp_path)
    (rejected,) = submission.rejected
    assert rejected.reason == f"folders nested more than {MAX_DEPTH} deep: not read"
    assert grader().grade(submission).score == empty_score()


def test_too_many_files_are_not_read(tmp_path: Path) -> None:
    write(tmp_path / "a" / "answer.yaml", ISOLATE)
    for index in range(MAX_ENTRIES):
        (tmp_path / "b" / f"f{index:05}.txt").parent.mkdir(exist_ok=True)
        (tmp_path / "b" / f"f{index:05}.txt").touch()
    write(tmp_path / "c" / "answer.yaml", SOLUTION.read_text())
    submission = read_submission(tmp_path)
    (rejected,) = submission.rejected
    assert rejected.file == str(tmp_path / "b")
    assert rejected.reason.startswith(f"more than {MAX_ENTRIES} files and folders in the")
    assert [raw.file for raw in submission.objects] == [str(tmp_path / "a" / "answer.yaml")]


RELABELS = {
    "namespace labels": (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: untrusted\n"
        "  labels: {kubernetes.io/metadata.name: trusted, labkit.dev/managed: 'true'}\n",
        "changes the labels of Namespace untrusted",
    ),
    "pod labels": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: client\n  namespace: untrusted\n"
        "  labels: {app: client, role: trusted}\nspec: {containers: [{name: c, image: x}]}\n",
        "changes the labels of Pod untrusted/client",
    ),
}


@pytest.mark.parametrize("what", sorted(RELABELS))
@pytest.mark.parametrize("kinds", [("NetworkPolicy",), ("NetworkPolicy", "Namespace", "Pod")])
def test_relabelling_namespaces_or_pods_is_rejected_with_no_effect(
    what: str, kinds: tuple[str, ...]
) -> None:
    text, expected = RELABELS[what]
    allowed = AllowedChanges(frozenset(kinds), frozenset({"*"}))
    world = build_world(lab_world(), [], Submission(tuple(objects(text))), allowed)
    (rejected,) = world.rejected
    assert rejected.reason.startswith(expected)
    assert "labels are part of the exercise's world and may not be changed" in rejected.reason
    assert world.inventory == build_inventory(list(lab_world()))


def test_changing_a_namespaces_address_pool_is_rejected() -> None:
    """The pool annotation decides pod addresses, and so what an ipBlock matches."""
    (namespace,) = [o for o in lab_world() if o.title == "Namespace branch-office"]
    data = json.loads(json.dumps(namespace.data))
    data["metadata"]["annotations"] = {"cni.projectcalico.org/ipv4pools": '["labkit-default"]'}
    allowed = AllowedChanges(frozenset({"Namespace"}), frozenset({"*"}))
    world = build_world(lab_world(), [], Submission(tuple(objects(json.dumps(data)))), allowed)
    (rejected,) = world.rejected
    assert rejected.reason.startswith("changes Namespace branch-office, which is part of")
    assert world.inventory == build_inventory(list(lab_world()))


def test_a_relabel_beside_a_policy_earns_what_the_policy_alone_earns(tmp_path: Path) -> None:
    """A policy admitting only namespaces labelled ``seg: in``, plus a relabel of
    my-segment to ``seg: in``: graded as the policy alone."""
    policy = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: isolate, namespace: my-segment}\n"
        "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
        "  ingress: [{from: [{namespaceSelector: {matchLabels: {seg: in}}}]}]\n"
    )
    relabel = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: my-segment\n  labels: {seg: in}\n"
    )
    alone = graded(write(tmp_path / "alone" / "answer.yaml", policy))
    hostile = graded(write(tmp_path / "hostile" / "answer.yaml", f"{policy}---\n{relabel}"))
    (rejected,) = hostile.rejected
    assert rejected.reason.startswith("changes the labels of Namespace my-segment")
    assert hostile.score == alone.score
    assert [r.passed for r in hostile.requirements] == [r.passed for r in alone.requirements]
