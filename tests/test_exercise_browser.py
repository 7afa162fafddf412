"""An exercise notebook in a real JupyterLab, driven by headless Chromium: the self-check.

Serves a temporary copy of ``exercises/isolate-namespace/isolate-namespace.ipynb`` (so autosave
never writes into the repository), runs every cell with the empty answer and sees the
self-check's feedback (misses, never "all tests passed"), then writes the reference solution
into the cell tagged ``answer``, saves, runs the self-check again and sees every public check
pass. Same browser set-up as :mod:`test_notebook_browser` (Debian's Chromium through
playwright's ``executable_path``); skipped with the reason when either is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from browser_support import BROWSER_MARKS, jupyterlab, launch, open_notebook

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = ROOT / "exercises" / "isolate-namespace"
NOTEBOOK = "isolate-namespace.ipynb"

pytestmark = BROWSER_MARKS


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab on a temporary copy of the exercise notebook; yields its URL."""
    env = {"LABKIT_EXERCISES_DIR": str(ROOT / "exercises")}
    with jupyterlab(EXERCISE / NOTEBOOK, tmp_path, env=env) as url:
        yield url


SET_ANSWER = """(text) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets;
  const answer = cells.find(c => (c.model.getMetadata('tags') || []).includes('answer'));
  answer.model.sharedModel.setSource(text);
  return cells.indexOf(answer);
}"""


def public_count() -> int:
    data = yaml.safe_load((EXERCISE / "requirements.yaml").read_text(encoding="utf-8"))
    return len(data["requirements"])


def solution_text() -> str:
    files = sorted((EXERCISE / "instructor" / "solution").glob("*.y*ml"))
    return "\n---\n".join(p.read_text(encoding="utf-8") for p in files)


def test_exercise_self_check_shows_feedback_in_jupyterlab(jupyter: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    total = public_count()
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = open_notebook(browser, jupyter)
            run_all = "window.jupyterapp.commands.execute('notebook:run-all-cells')"
            page.evaluate(run_all)
            check = page.locator(".labkit-selfcheck")
            expect(check).to_be_visible(timeout=90_000)
            expect(check).to_contain_text("hidden checks run only when graded")
            expect(check.locator(".miss").first).to_be_visible()
            expect(check).not_to_contain_text(f"{total} of {total} public checks pass")

            page.evaluate(SET_ANSWER, solution_text())
            page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
            page.wait_for_timeout(1_000)
            page.evaluate(run_all)
            expect(check).to_contain_text(
                f"{total} of {total} public checks pass; hidden checks run only when graded",
                timeout=90_000,
            )
            expect(check.locator(".miss")).to_have_count(0)
            assert "all tests passed" not in check.inner_text().lower()
            assert not page.locator(".jp-OutputArea-output[data-mime-type*='error']").count()
        finally:
            if "page" in locals():
                page.screenshot(path=str(tmp_path / "jupyterlab.png"), full_page=True)
            browser.close()
