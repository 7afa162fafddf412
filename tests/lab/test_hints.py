"""Lesson requirement files with escalating hints (lab.check_requirements on a lesson)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.cluster import learner_progress as store
from labkit.errors import RequirementsError
from labkit.grading.requirements import parse_requirements
from labkit.lab import exercise_check, lesson_check

HINTS = [
    "Which pods does your policy's podSelector pick?",
    "The database pod is labelled role=database.",
    "Select role=database and allow ingress from role=backend only.",
]
LESSON = f"""
requirements:
  - id: database-from-backend-only
    description: only my-segment/backend reaches my-segment/database on 80/TCP
    points: 1
    hints: {HINTS!r}
    allowed:
      - {{from: "my-segment/backend", to: "my-segment/database", ports: "80/TCP"}}
    blocked:
      - {{from: "trusted/client", to: "my-segment/database", ports: "80/TCP"}}
"""
WRONG = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: database-from-backend, namespace: my-segment}
spec:
  podSelector: {matchLabels: {app: database}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {role: backend}}}]}]
"""
RIGHT = WRONG.replace("app: database", "role: database")


@pytest.fixture
def lesson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    folder = tmp_path / "requirements"
    folder.mkdir()
    (folder / "02-demo.yaml").write_text(LESSON)
    monkeypatch.setattr(lesson_check, "requirements_dir", lambda: folder)
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("LABKIT_LEARNER", "ada")
    return "02-demo"


def test_hints_are_parsed_and_grading_ignores_them() -> None:
    import yaml

    parsed = parse_requirements(yaml.safe_load(LESSON), file="x.yaml")
    assert parsed.requirements[0].hints == tuple(HINTS)
    plain = yaml.safe_load(LESSON)
    del plain["requirements"][0]["hints"]
    without = parse_requirements(plain, file="x.yaml").requirements[0]
    assert without.hints == () and without.allowed == parsed.requirements[0].allowed


def test_bad_hints_say_where() -> None:
    import yaml

    data = yaml.safe_load(LESSON)
    data["requirements"][0]["hints"] = "just one string"
    with pytest.raises(RequirementsError, match=r"requirements\[0\]\.hints"):
        parse_requirements(data, file="x.yaml")


def test_each_retry_shows_the_next_hint_never_the_last_first(lesson: str) -> None:
    shown = []
    for _ in range(4):
        result = exercise_check.check_requirements(lesson, WRONG)
        assert not result.passed
        (rid, hint), *_ = result.hints
        assert rid == "database-from-backend-only"
        shown.append(hint)
        assert f"hint for {rid}: {hint}" in str(result)
    assert shown == [*HINTS, HINTS[-1]]
    entry = store.load().checks[f"{lesson}:database-from-backend-only"]
    assert (entry["passed"], entry["attempts"], entry["failures"]) == (False, 4, 4)


def test_a_pass_records_and_shows_no_hint_and_resets_the_ladder(lesson: str) -> None:
    exercise_check.check_requirements(lesson, WRONG)
    exercise_check.check_requirements(lesson, WRONG)
    passed = exercise_check.check_requirements(lesson, RIGHT)
    assert passed.passed and passed.hints == ()
    assert store.load().checks[f"{lesson}:database-from-backend-only"]["passed"] is True
    again = exercise_check.check_requirements(lesson, WRONG)
    assert again.hints[0][1] == HINTS[0]


def test_hint_level_asks_for_a_given_hint(lesson: str) -> None:
    result = exercise_check.check_requirements(lesson, WRONG, hint_level=1)
    assert result.hints == (("database-from-backend-only", HINTS[1]),)
    assert "labkit-hint" in result._repr_html_()


def test_the_facade_takes_a_lesson_name(lesson: str) -> None:
    import labkit.lab as lab

    assert lab.check_requirements(lesson, RIGHT).passed
    assert lesson_check.lesson_file("no-such-lesson") is None


def test_exercises_are_still_found_and_recorded(lesson: str) -> None:
    from labkit.grading import list_exercises

    first = list_exercises()[0]
    result = exercise_check.check_requirements(first.id, WRONG)
    assert any(k.startswith(f"{first.id}:") for k in store.load().checks)
    assert result.grade.exercise == first.id


TENANT_LESSON = """
requirements:
  - id: only-trusted-namespace
    description: pods of namespaces labelled name=trusted reach my-segment/database on 80/TCP
    points: 1
    allowed:
      - {from: "trusted/client", to: "my-segment/database", ports: "80/TCP"}
    blocked:
      - {from: "untrusted/client", to: "my-segment/database", ports: "80/TCP"}
"""
FROM_NAME_TRUSTED = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: database-from-trusted, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: database}}
  policyTypes: [Ingress]
  ingress: [{from: [{namespaceSelector: {matchLabels: {name: trusted}}}]}]
"""


def test_a_lesson_checks_the_live_lab_with_its_relabelled_namespaces(
    lesson: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labkit.lab as lab

    (tmp_path / "requirements" / "05-demo.yaml").write_text(TENANT_LESSON)
    monkeypatch.setenv("LABKIT_BACKEND", "simulated")
    lab.up()
    lab.apply(FROM_NAME_TRUSTED)
    assert not lab.check_requirements("05-demo").passed  # no namespace carries name=trusted
    lab.label("Namespace", "trusted", {"name": "trusted"})
    result = lab.check_requirements("05-demo")
    assert result.passed, str(result)
    assert store.load().checks["05-demo:only-trusted-namespace"]["passed"] is True
