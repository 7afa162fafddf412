"""Multiple-choice questions, and live checks of a learner's expectation against a probe.

Grading is a pure function (:func:`grade`, :func:`compare`); the widgets only call it, so the
answers are tested without a browser. ipywidgets is imported when a quiz is shown.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labkit.errors import LabkitError
from labkit.probe.jobs import Outcome, Result


@dataclass(frozen=True)
class Question:
    """A question with ``choices``; ``answer`` is the index of the right one; ``why`` is
    shown once it is found, ``hints[i]`` (optional) when choice ``i`` is picked wrongly."""

    prompt: str
    choices: tuple[str, ...]
    answer: int
    why: str = ""
    hints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.choices) < 2:
            raise LabkitError(f"question {self.prompt!r} needs at least two choices")
        if not 0 <= self.answer < len(self.choices):
            raise LabkitError(
                f"question {self.prompt!r}: answer {self.answer} is not the index of a choice "
                f"(0 to {len(self.choices) - 1})"
            )
        if self.hints and len(self.hints) != len(self.choices):
            raise LabkitError(
                f"question {self.prompt!r}: give one hint per choice ({len(self.choices)}), "
                f"not {len(self.hints)}"
            )


@dataclass(frozen=True)
class Feedback:
    correct: bool
    text: str


def grade(question: Question, choice: int) -> Feedback:
    """Feedback for picking ``choice`` (an index into ``question.choices``)."""
    if not 0 <= choice < len(question.choices):
        raise LabkitError(f"choice {choice} does not exist; pick 0 to {len(question.choices) - 1}")
    if choice == question.answer:
        return Feedback(True, "Correct." + (f" {question.why}" if question.why else ""))
    hint = question.hints[choice] if question.hints else ""
    return Feedback(False, "Not quite." + (f" {hint}" if hint else "") + " Try another answer.")


def feedback_html(feedback: Feedback) -> str:
    colour = "#2e7d32" if feedback.correct else "#c62828"
    return (
        f"<span class='labkit-quiz-verdict' style='color:{colour};font-weight:bold'>"
        f"{html.escape(feedback.text)}</span>"
    )


def quiz(questions: Sequence[Question]) -> Any:
    """An ipywidgets box: each question with one button per choice and a feedback line."""
    import ipywidgets as widgets

    parts: list[Any] = []
    for number, question in enumerate(questions, start=1):
        feedback = widgets.HTML(value="")
        feedback.add_class("labkit-quiz-feedback")
        buttons: list[Any] = []
        for index, choice in enumerate(question.choices):
            button = widgets.Button(
                description=choice,
                tooltip=choice,
                layout=widgets.Layout(width="auto", height="auto"),
            )
            button.add_class("labkit-quiz-choice")
            button.on_click(_on_choice(question, index, feedback, buttons))
            buttons.append(button)
        prompt = widgets.HTML(value=f"<b>{number}. {html.escape(question.prompt)}</b>")
        parts.append(widgets.VBox([prompt, widgets.VBox(buttons), feedback]))
    box = widgets.VBox(parts)
    box.add_class("labkit-quiz")
    return box


def _on_choice(question: Question, index: int, feedback: Any, buttons: list[Any]) -> Any:
    def handle(_button: Any) -> None:
        result = grade(question, index)
        feedback.value = feedback_html(result)
        for k, button in enumerate(buttons):
            if k == index:
                button.button_style = "success" if result.correct else "danger"
            elif result.correct:
                button.button_style = ""

    return handle


# -- live checks ------------------------------------------------------------------------------

_EXPECTATIONS = {
    "allowed": Outcome.ALLOWED,
    "allow": Outcome.ALLOWED,
    "open": Outcome.ALLOWED,
    "yes": Outcome.ALLOWED,
    "blocked": Outcome.BLOCKED,
    "block": Outcome.BLOCKED,
    "denied": Outcome.BLOCKED,
    "no": Outcome.BLOCKED,
}


def parse_expectation(value: str | bool | Outcome) -> Outcome:
    """``"allowed"``/``True`` or ``"blocked"``/``False`` as an :class:`Outcome`."""
    if isinstance(value, Outcome):
        if value not in (Outcome.ALLOWED, Outcome.BLOCKED):
            raise LabkitError(f"expect 'allowed' or 'blocked', not {value.value!r}")
        return value
    if isinstance(value, bool):
        return Outcome.ALLOWED if value else Outcome.BLOCKED
    found = _EXPECTATIONS.get(str(value).strip().lower())
    if found is None:
        raise LabkitError(f"expect 'allowed' or 'blocked' (or True/False), not {value!r}")
    return found


@dataclass(frozen=True)
class CheckResult:
    """A learner's expectation beside what the probe saw."""

    src: str
    dst: str
    probe: str
    expected: Outcome
    observed: Outcome
    detail: str = ""
    command: str = ""

    @property
    def matches(self) -> bool:
        return self.expected is self.observed

    @property
    def message(self) -> str:
        seen = f"{self.src} -> {self.dst} on {self.probe}: {self.observed.value}"
        if self.observed is Outcome.FAILED:
            return (
                f"{seen}. The probe itself failed ({self.detail or 'no detail'}), so it says "
                "nothing about policy: fix the lab (labkit status) and check again."
            )
        if self.matches:
            return f"{seen}, as you expected."
        return f"{seen}, but you expected {self.expected.value}. Find the rule that decides it."

    def __str__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        mark, colour = ("✓", "#2e7d32") if self.matches else ("✗", "#c62828")
        if self.observed is Outcome.FAILED:
            mark, colour = ("?", "#f9a825")
        body = (
            f"<div class='labkit-check' style='color:{colour}'><b>{mark}</b> "
            f"{html.escape(self.message)}</div>"
        )
        if self.command:
            body += (
                "<div style='font-size:85%'>kubectl equivalent: "
                f"<code>{html.escape(self.command)}</code></div>"
            )
        return body


def compare(expected: str | bool | Outcome, result: Result, command: str = "") -> CheckResult:
    """Compare an expectation with a probe :class:`Result` (``command``: the kubectl line
    that runs the same probe, shown with the result)."""
    return CheckResult(
        result.job.src,
        result.job.dst,
        str(result.job.probe),
        parse_expectation(expected),
        result.outcome,
        result.detail,
        command,
    )
