"""An exercise notebook in a real JupyterLab, driven by headless Chromium: the self-check.

Serves a temporary copy of ``exercises/isolate-namespace/isolate-namespace.ipynb`` (so autosave
never writes into the repository), runs every cell with the empty answer and sees the
self-check's feedback (misses, never "all tests passed"), then writes the reference solution
into the cell tagged ``answer``, saves, runs the self-check again and sees every public check
pass. Same browser set-up as :mod:`test_notebook_browser` (Debian's Chromium through
playwright's ``executable_path``); skipped with the reason when either is missing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_notebook_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _skip_reason

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = ROOT / "exercises" / "isolate-namespace"
NOTEBOOK = "isolate-namespace.ipynb"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab on a temporary copy of the exercise notebook; yields its URL."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(EXERCISE / NOTEBOOK, served / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "LABKIT_HOME": str(tmp_path / "lab"),
        "LABKIT_BACKEND": "simulated",
        "LABKIT_EXERCISES_DIR": str(ROOT / "exercises"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    log = (tmp_path / "jupyter.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={served}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "jupyter lab did not start:\n"
                        + (tmp_path / "jupyter.log").read_text()[-3000:]
                    )
                time.sleep(0.3)
        yield f"{base}/lab/tree/{NOTEBOOK}?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


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
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(jupyter)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel",
                timeout=60_000,
            )
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
