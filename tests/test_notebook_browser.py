"""The first notebook in a real JupyterLab, driven by headless Chromium.

Starts ``jupyter lab`` on a free localhost port with a random token, serving a temporary copy
of ``notebooks/00-start-here.ipynb`` (so autosave never writes outputs into the repository),
runs every cell, then clicks quiz answers and reads the feedback the kernel sends back through
the widgets. Needs Debian's Chromium (``apt-get install chromium``) and the ``playwright``
Python package, which drives that Chromium through ``executable_path`` (its own browser
download cannot work offline); skipped with the reason when either is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import BROWSER_MARKS, jupyterlab, launch, open_notebook

from labkit.lab.quiz_bank import grade_choices
from labkit.lab.quizzes import bank

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00-start-here.ipynb"

pytestmark = BROWSER_MARKS


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab on a temporary copy of the notebook; yields its URL with the token."""
    with jupyterlab(NOTEBOOK, tmp_path) as url:
        yield url


def test_start_here_runs_and_quiz_answers_in_jupyterlab(jupyter: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = open_notebook(browser, jupyter)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

            choices = page.locator(".labkit-quiz-choice")
            expect(choices.first).to_be_visible(timeout=90_000)
            # every step left its output: the progress bar, the session, the heatmaps
            expect(page.locator(".labkit-progress")).to_be_visible()
            expect(page.locator(".labkit-session")).to_contain_text("simulated")
            expect(page.locator("svg[aria-label^='probe 80/TCP']")).to_have_count(1)
            # 81/UDP: the matrix, then the prediction check's three panels (prediction,
            # observation, difference)
            expect(page.locator("svg[aria-label^='probe 81/UDP']")).to_have_count(4)

            feedback = page.locator(".labkit-quiz-feedback").first
            first = bank("start-here").questions[0]
            answer = next(k for k in range(len(first.options)) if grade_choices(first, [k]).correct)
            wrong = next(k for k in range(len(first.options)) if k != answer)
            choices.nth(wrong).click()
            expect(feedback).to_contain_text("Not quite", timeout=15_000)
            choices.nth(answer).click()
            expect(feedback).to_contain_text("Correct.", timeout=15_000)
            assert not page.locator(".jp-OutputArea-output[data-mime-type*='error']").count()
        finally:
            if "page" in locals():  # left beside the server log, for a failure's post-mortem
                page.screenshot(path=str(tmp_path / "jupyterlab.png"), full_page=True)
            browser.close()
