"""Quiz banks (:mod:`labkit.lab.quiz_bank`) as ipywidgets, each attempt recorded.

:func:`attempt` grades one response and records it in the progress store under
``quizzes.<bank>:<question id>``; the widgets only call it, so grading and recording are
tested without a browser. Responses: an option index (single), a list of indices
(multiple), a matrix of booleans (matrix), YAML text (yaml).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from labkit.errors import LabkitError
from labkit.lab.quiz import Feedback, feedback_html
from labkit.lab.quiz_bank import (
    Bank,
    BankQuestion,
    Verdict,
    grade_choices,
    grade_matrix,
    grade_yaml,
)


def grade_response(question: BankQuestion, response: object) -> Verdict:
    if question.kind == "single" and isinstance(response, int):
        return grade_choices(question, [response])
    if question.kind == "multiple" and isinstance(response, Sequence):
        return grade_choices(question, [int(i) for i in response])
    if question.kind == "matrix" and isinstance(response, Sequence):
        return grade_matrix(question, [[bool(c) for c in row] for row in response])
    if question.kind == "yaml" and isinstance(response, str):
        return grade_yaml(question, response)
    raise LabkitError(f"question {question.id!r} ({question.kind}) cannot take {response!r}")


def attempt(bank: Bank, question_id: str, response: object) -> Verdict:
    """Grade ``response`` to a question of ``bank`` and record the attempt."""
    from labkit.lab.progress_store import record_quietly

    question = next((q for q in bank.questions if q.id == question_id), None)
    if question is None:
        raise LabkitError(f"quiz {bank.name!r} has no question {question_id!r}")
    verdict = grade_response(question, response)
    record_quietly(
        "quiz", f"{bank.name}:{question.id}", verdict.correct, detail=f"answer {response!r}"
    )
    return verdict


def bank_widget(bank: Bank) -> Any:
    import ipywidgets as widgets

    parts = [_question_box(bank, n, q) for n, q in enumerate(bank.questions, start=1)]
    box = widgets.VBox(parts)
    box.add_class("labkit-quiz")
    return box


def _question_box(bank: Bank, number: int, question: BankQuestion) -> Any:
    import ipywidgets as widgets

    feedback = widgets.HTML(value="")
    feedback.add_class("labkit-quiz-feedback")
    prompt = widgets.HTML(value=f"<b>{number}. {html.escape(question.prompt)}</b>")

    def show(response: object) -> None:
        verdict = attempt(bank, question.id, response)
        feedback.value = feedback_html(Feedback(verdict.correct, verdict.feedback))

    body = _BUILDERS[question.kind](question, show)
    return widgets.VBox([prompt, body, feedback])


Show = Callable[[object], None]


def _single(question: BankQuestion, show: Show) -> Any:
    import ipywidgets as widgets

    buttons = []
    for index, option in enumerate(question.options):
        button = widgets.Button(
            description=option.text, tooltip=option.text, layout=widgets.Layout(width="auto")
        )
        button.add_class("labkit-quiz-choice")
        button.on_click(lambda _b, i=index: show(i))
        buttons.append(button)
    return widgets.VBox(buttons)


def _multiple(question: BankQuestion, show: Show) -> Any:
    import ipywidgets as widgets

    boxes = [widgets.Checkbox(description=o.text, indent=False) for o in question.options]
    submit = _submit(lambda: show([i for i, box in enumerate(boxes) if box.value]))
    return widgets.VBox([*boxes, submit])


def _matrix(question: BankQuestion, show: Show) -> Any:
    import ipywidgets as widgets

    grid = [
        [
            widgets.ToggleButton(description="blocked", tooltip=f"{r} -> {c}")
            for c in question.columns
        ]
        for r in question.rows
    ]
    for row in grid:
        for toggle in row:
            toggle.observe(_relabel, names="value")
    header = widgets.HBox(
        [
            widgets.HTML(value="from \\ to"),
            *(widgets.HTML(value=html.escape(c)) for c in question.columns),
        ]
    )
    lines = [
        widgets.HBox([widgets.HTML(value=html.escape(r)), *grid[i]])
        for i, r in enumerate(question.rows)
    ]
    submit = _submit(lambda: show([[t.value for t in row] for row in grid]))
    return widgets.VBox([header, *lines, submit])


def _relabel(change: dict[str, Any]) -> None:
    change["owner"].description = "allowed" if change["new"] else "blocked"


def _yaml(question: BankQuestion, show: Show) -> Any:
    import ipywidgets as widgets

    lines = question.starter.count("\n") + 2
    area = widgets.Textarea(value=question.starter, rows=lines, layout=widgets.Layout(width="90%"))
    return widgets.VBox([area, _submit(lambda: show(area.value))])


def _submit(action: Callable[[], None]) -> Any:
    import ipywidgets as widgets

    button = widgets.Button(description="Check my answer")
    button.add_class("labkit-quiz-submit")
    button.on_click(lambda _b: action())
    return button


_BUILDERS: dict[str, Callable[[BankQuestion, Show], Any]] = {
    "single": _single,
    "multiple": _multiple,
    "matrix": _matrix,
    "yaml": _yaml,
}
