"""The notebook helpers that are plain logic: kubectl strings, quiz grading, live checks,
progress state, and what the facade's views render."""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")

import pytest

from labkit.errors import LabkitError
from labkit.lab import kubectl as kc_module_attr  # the facade function, not the module
from labkit.lab.kubectl import (
    STEPS,
    apply,
    connect,
    describe,
    for_step,
    get,
    label,
)
from labkit.lab.progress import NotebookProgress, ProgressState
from labkit.lab.quiz import CheckResult, Question, compare, grade, parse_expectation, quiz
from labkit.lab.views import Matrices, outcome_counts
from labkit.probe.jobs import Job, Outcome, ProbeSpec, Result
from labkit.probe.table import TruthTable

# -- kubectl ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (apply("policies/deny.yaml"), "kubectl apply -f policies/deny.yaml"),
        (apply("my file.yaml"), "kubectl apply -f 'my file.yaml'"),
        (get("NetworkPolicy", namespace="my-segment"), "kubectl get networkpolicies -n my-segment"),
        (
            get("pods", all_namespaces=True, selector="labkit.dev/managed=true", output="wide"),
            "kubectl get pods -A -l labkit.dev/managed=true -o wide",
        ),
        (
            get("pod", "frontend", namespace="my-segment", all_namespaces=True),
            "kubectl get pod frontend -n my-segment",
        ),
        (
            describe("networkpolicy", "allow-specific-ingress", "my-segment"),
            "kubectl describe networkpolicy allow-specific-ingress -n my-segment",
        ),
        (
            label("Pod", "frontend", {"role": "frontend"}, "my-segment"),
            "kubectl label pod frontend -n my-segment role=frontend --overwrite",
        ),
        (
            label("Namespace", "trusted", {"name": None}),
            "kubectl label namespace trusted name-",
        ),
        (
            connect("trusted/client", "192.168.130.7", 80),
            "kubectl exec -n trusted client -c web -- /agnhost connect 192.168.130.7:80 "
            "--timeout=2s --protocol=tcp",
        ),
        (
            connect("legacy-dc/client", "192.168.1.9", 81, "udp", timeout="1s"),
            "kubectl exec -n legacy-dc client -c web -- /agnhost connect 192.168.1.9:81 "
            "--timeout=1s --protocol=udp",
        ),
        (
            connect("a/b", "fd00::5", 80),
            "kubectl exec -n a b -c web -- /agnhost connect '[fd00::5]:80' --timeout=2s "
            "--protocol=tcp",
        ),
    ],
)
def test_kubectl_lines(line: str, expected: str) -> None:
    assert line == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: get("deployment"), "not one the lab uses"),
        (lambda: label("pod", "x", {}), "at least one label"),
        (lambda: connect("client", "1.2.3.4", 80), "NAMESPACE/POD"),
        (lambda: connect("a/b", "1.2.3.4", 80, "icmp"), "TCP, UDP, SCTP"),
        (lambda: for_step("dance"), "no kubectl equivalent"),
    ],
)
def test_kubectl_errors_say_how_to_fix(call: object, message: str) -> None:
    with pytest.raises(LabkitError, match=message):
        call()  # type: ignore[operator]


def test_every_step_has_commands() -> None:
    for step in STEPS:
        commands = for_step(step)
        assert commands.lines and all(line.startswith("kubectl ") for line in commands.lines)
        assert "kubectl equivalent" in commands._repr_html_()


def test_facade_kubectl_is_the_function() -> None:
    commands = kc_module_attr("apply", "deny.yaml")
    assert commands.lines == ("kubectl apply -f deny.yaml",)


def test_probe_step_shows_the_agnhost_command() -> None:
    commands = for_step("probe", "untrusted/client", "192.168.128.9", 81, "UDP")
    assert commands.lines == (
        "kubectl exec -n untrusted client -c web -- /agnhost connect 192.168.128.9:81 "
        "--timeout=2s --protocol=udp",
    )


# -- quiz -------------------------------------------------------------------------------------

QUESTION = Question(
    "Which side must allow traffic?",
    ("only ingress", "egress of the source and ingress of the destination", "neither"),
    1,
    why="Both sides decide.",
    hints=("Egress counts too.", "", "Isolation exists."),
)


@pytest.mark.parametrize(
    ("choice", "correct", "text"),
    [
        (1, True, "Correct. Both sides decide."),
        (0, False, "Not quite. Egress counts too. Try another answer."),
        (2, False, "Not quite. Isolation exists. Try another answer."),
    ],
)
def test_grade(choice: int, correct: bool, text: str) -> None:
    feedback = grade(QUESTION, choice)
    assert feedback.correct is correct
    assert feedback.text == text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"choices": ("a",), "answer": 0}, "at least two choices"),
        ({"choices": ("a", "b"), "answer": 2}, "not the index of a choice"),
        ({"choices": ("a", "b"), "answer": 0, "hints": ("x",)}, "one hint per choice"),
    ],
)
def test_bad_questions_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(LabkitError, match=message):
        Question("q", **kwargs)  # type: ignore[arg-type]


def test_grade_rejects_missing_choice() -> None:
    with pytest.raises(LabkitError, match="does not exist"):
        grade(QUESTION, 3)


def test_quiz_widget_buttons_give_feedback() -> None:
    box = quiz([QUESTION])
    question_box = box.children[0]
    buttons = question_box.children[1].children
    feedback = question_box.children[2]
    assert [b.description for b in buttons] == list(QUESTION.choices)
    buttons[0].click()
    assert "Not quite" in feedback.value and buttons[0].button_style == "danger"
    buttons[1].click()
    assert "Correct." in feedback.value and buttons[1].button_style == "success"
    assert buttons[0].button_style == ""


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("allowed", Outcome.ALLOWED),
        ("Blocked", Outcome.BLOCKED),
        (True, Outcome.ALLOWED),
        (False, Outcome.BLOCKED),
        (Outcome.BLOCKED, Outcome.BLOCKED),
    ],
)
def test_parse_expectation(value: str | bool | Outcome, outcome: Outcome) -> None:
    assert parse_expectation(value) is outcome


@pytest.mark.parametrize("value", ["maybe", Outcome.FAILED, ""])
def test_parse_expectation_refuses(value: str | Outcome) -> None:
    with pytest.raises(LabkitError, match="allowed' or 'blocked"):
        parse_expectation(value)


def _result(outcome: Outcome, detail: str = "") -> Result:
    return Result(Job("trusted/client", "my-segment/frontend", ProbeSpec(80)), outcome, detail)


@pytest.mark.parametrize(
    ("expected", "observed", "matches", "words"),
    [
        ("allowed", Outcome.ALLOWED, True, "as you expected"),
        ("blocked", Outcome.ALLOWED, False, "but you expected blocked"),
        (False, Outcome.BLOCKED, True, "as you expected"),
        ("allowed", Outcome.FAILED, False, "probe itself failed"),
    ],
)
def test_compare(expected: str | bool, observed: Outcome, matches: bool, words: str) -> None:
    check = compare(expected, _result(observed, "exec timed out"))
    assert isinstance(check, CheckResult)
    assert check.matches is matches
    assert words in check.message
    assert "trusted/client -> my-segment/frontend on 80/TCP" in check.message
    assert words in check._repr_html_()


# -- progress ---------------------------------------------------------------------------------


def test_progress_state_sequence() -> None:
    state = ProgressState().step("create cluster", None)
    assert state.bar == (0, 1)
    state = state.step("wait for pods", 3).advance("frontend").advance("")
    assert state.bar == (2, 3)
    assert state.message == "frontend"
    assert state.done == ("create cluster",)
    assert "wait for pods</b> (2/3): frontend" in state.status_html()
    state = state.finish("lab ready")
    assert state.bar == (1, 1) and state.finished and not state.failed
    assert state.done == ("create cluster", "wait for pods")
    assert "✓ lab ready" in state.status_html()
    assert state.finish("broke", failed=True).status_html().endswith("<b>✗ broke</b></div>")


def test_progress_without_frontend_logs(caplog: pytest.LogCaptureFixture) -> None:
    progress = NotebookProgress()
    assert not progress.uses_widgets  # pytest is no Jupyter kernel
    with caplog.at_level(logging.INFO):
        progress.step("create pods", 2)
        progress.advance("frontend")
        progress.finish("ready")
    assert progress.widget is None
    assert ["create pods", "  frontend", "ready"] == [r.getMessage() for r in caplog.records]


def test_progress_widget_follows_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[object] = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    progress = NotebookProgress("Bringing the lab up", use_widgets=True)
    progress.step("wait for pods", 4)
    progress.advance("frontend ready")
    assert shown == [progress.widget]
    bar = progress._bar
    assert (bar.value, bar.max, bar.bar_style) == (1, 4, "info")
    progress.fail("pod frontend is not ready")
    assert (bar.value, bar.max, bar.bar_style) == (1, 1, "danger")
    assert "pod frontend is not ready" in progress._status.value
    assert len(shown) == 1


# -- views ------------------------------------------------------------------------------------

A, B = Outcome.ALLOWED, Outcome.BLOCKED


def test_matrices_index_and_render() -> None:
    tcp = TruthTable(ProbeSpec(80), ("a/x", "b/y"), ((A, B), (A, A)))
    udp = TruthTable(ProbeSpec.parse("81/UDP"), ("a/x", "b/y"), ((A, A), (B, A)))
    matrices = Matrices((tcp, udp), "probed", for_step("probe"))
    assert len(matrices) == 2 and matrices[1] is udp and list(matrices) == [tcp, udp]
    assert matrices.table("81/udp") is udp
    with pytest.raises(LabkitError, match="no table for probe 53/UDP"):
        matrices.table("53/UDP")
    assert outcome_counts(tcp)[B] == 1
    html = matrices._repr_html_()
    assert html.count("<svg") == 2 and "<img" not in html  # SVG: fast to redraw
    assert "data-probe='81/UDP'" in html and "/agnhost connect" in html


def test_audit_view_lists_findings_with_fixes() -> None:
    from labkit.engine.audit.model import Finding
    from labkit.lab.views import Audit

    finding = Finding(
        "high",
        "selects-nothing",
        "NetworkPolicy my-segment/x",
        "podSelector role=fronted selects no pod",
        "use role=frontend",
        "spec.podSelector",
    )
    view = Audit((finding,), for_step("audit"))
    assert len(view) == 1 and view[0] is finding
    html = view._repr_html_()
    assert "1 finding: 1 high" in html
    assert "selects-nothing" in html and "use role=frontend" in html
    assert "kubectl get networkpolicies -A -o yaml" in html
    assert "no findings" in Audit(())._repr_html_()


def test_named_quizzes() -> None:
    from labkit.lab.quizzes import bank

    start_here = bank("start-here")  # an alias of notebooks/quizzes/00-start-here.yaml
    assert start_here.name == "00-start-here" and len(start_here.questions) >= 5
    with pytest.raises(LabkitError, match="no quiz bank 'nope'"):
        bank("nope")
