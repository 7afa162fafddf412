"""Lesson 4 in a real JupyterLab, driven by headless Chromium: quiz, prediction, verification.

Serves a temporary copy of ``notebooks/04-egress-and-dns.ipynb`` (so autosave never writes
outputs into the repository; the quiz banks are found in the project checkout), runs every
cell, answers a quiz question wrongly then rightly and reads the feedback the kernel sends back
through the widgets, then fills the prediction by clicking its matrix, one cell wrong on
purpose, and runs ``lab.verify(prediction)`` again: the three heatmaps (prediction, observation,
difference) appear, the difference marks exactly the wrong cell and explains it; after fixing
that cell every cell is right. Screenshots of each step are saved in a temporary folder (the
path is printed). Same browser set-up as :mod:`test_notebook_browser` (Debian's Chromium
through playwright's ``executable_path``); skipped with the reason when either is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from browser_support import BROWSER_MARKS, jupyterlab, launch, open_notebook

from labkit.lab.quiz_bank import grade_choices, load_bank

ROOT = Path(__file__).resolve().parents[1]
LESSON = "04-egress-and-dns"
NOTEBOOK = f"{LESSON}.ipynb"
PREDICTION_KEY = "04-advanced-policy"

pytestmark = BROWSER_MARKS


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab on a temporary copy of the lesson (the learner's prediction starts empty:
    no reference answers in its environment); yields its URL with the token."""
    notebook = ROOT / "notebooks" / NOTEBOOK
    with jupyterlab(notebook, tmp_path, drop_env=["LABKIT_LESSON_ANSWERS"]) as url:
        yield url


RUN_CELL_WITH = """(needle) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets;
  const index = cells.findIndex(c => c.model.sharedModel.getSource().includes(needle));
  panel.content.activeCellIndex = index;
  window.jupyterapp.commands.execute('notebook:run-cell');
  return index;
}"""


def reference_prediction() -> list[list[bool]]:
    """The lesson's reference prediction (``notebooks/solutions/<lesson>.yaml``)."""
    path = ROOT / "notebooks" / "solutions" / f"{LESSON}.yaml"
    matrix = yaml.safe_load(path.read_text(encoding="utf-8"))[f"prediction:{PREDICTION_KEY}"]
    return [[bool(cell) for cell in row] for row in matrix]


def clicks_for(value: bool) -> int:
    """A prediction cell starts unset; a click makes it allowed, the next one blocked."""
    return 1 if value else 2


def exact(text: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def answer_quiz(page: Any, shots: Path) -> None:
    from playwright.sync_api import expect

    bank = load_bank(LESSON)
    number, question = next((n, q) for n, q in enumerate(bank.questions) if q.kind == "single")
    picks = range(len(question.options))
    right = next(k for k in picks if grade_choices(question, [k]).correct)
    wrong = next(k for k in picks if k != right)
    feedback = page.locator(".labkit-quiz-feedback").nth(number)
    choices = page.locator(".labkit-quiz-choice")

    choices.filter(has_text=exact(question.options[wrong].text)).click()
    expect(feedback).to_contain_text("Not quite", timeout=15_000)
    expect(feedback).to_contain_text(question.options[wrong].feedback[:40])
    choices.filter(has_text=exact(question.options[right].text)).click()
    expect(feedback).to_contain_text("Correct.", timeout=15_000)
    feedback.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "2-quiz-feedback.png"))


def fill_prediction(page: Any, matrix: list[list[bool]], wrong: tuple[int, int]) -> None:
    """Click the prediction grid to ``matrix``, except the ``wrong`` cell set the other way."""
    from playwright.sync_api import expect

    cells = page.locator(".labkit-predict .labkit-predict-cell")
    columns = len(matrix[0])
    expect(cells).to_have_count(len(matrix) * columns, timeout=30_000)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            target = value != ((i, j) == wrong)
            button = cells.nth(i * columns + j)
            for _ in range(clicks_for(target)):
                button.click()
            expect(button).to_contain_text("allowed" if target else "blocked", timeout=15_000)


def verify_again(page: Any) -> Any:
    page.evaluate(RUN_CELL_WITH, "lab.verify(prediction)")
    return page.locator(".labkit-verify")


def test_lesson_4_quiz_and_prediction_in_jupyterlab(
    jupyter: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path_factory.mktemp("lesson-browser-screenshots")
    print(f"screenshots: {shots}")
    matrix = reference_prediction()
    cells = len(matrix) * len(matrix[0])
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = open_notebook(browser, jupyter)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            expect(page.locator(".labkit-quiz-choice").first).to_be_visible(timeout=90_000)
            expect(page.locator(".labkit-verify")).to_be_visible(timeout=90_000)
            page.screenshot(path=str(shots / "1-ran.png"))

            answer_quiz(page, shots)

            fill_prediction(page, matrix, wrong=(0, 0))
            verify = verify_again(page)
            expect(verify).to_contain_text(f"{cells - 1} of {cells} cells right", timeout=30_000)
            panels = verify.locator(".labkit-verify-panel")
            expect(panels).to_have_count(3)
            for k, title in enumerate(("Your prediction", "Observed now", "Difference")):
                expect(panels.nth(k)).to_contain_text(title)
                expect(panels.nth(k).locator("svg.labkit-heatmap")).to_have_count(1)
                expect(panels.nth(k).locator("g.labkit-cell")).to_have_count(cells)
            marked = panels.nth(2).locator("g.labkit-cell[data-changed='1']")
            expect(marked).to_have_count(1)
            expect(verify.locator(".labkit-verify-wrong li")).to_have_count(1)
            verify.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "3-prediction-one-wrong.png"))

            page.locator(".labkit-predict .labkit-predict-cell").first.click()  # fix it
            verify = verify_again(page)
            expect(verify).to_contain_text(f"{cells} of {cells} cells right", timeout=30_000)
            expect(verify.locator("g.labkit-cell[data-changed='1']")).to_have_count(0)
            expect(verify.locator(".labkit-verify-wrong li")).to_have_count(0)
            page.screenshot(path=str(shots / "4-prediction-right.png"))
        finally:
            if "page" in locals():  # the last state, for a failure's post-mortem
                page.screenshot(path=str(shots / "last.png"), full_page=True)
            browser.close()
    assert sorted(p.name for p in shots.glob("*.png"))[:4] == [
        "1-ran.png",
        "2-quiz-feedback.png",
        "3-prediction-one-wrong.png",
        "4-prediction-right.png",
    ]
