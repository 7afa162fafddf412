"""The first notebook in a real JupyterLab, driven by headless Chromium.

Starts ``jupyter lab`` on a free localhost port with a random token, serving a temporary copy
of ``notebooks/00-start-here.ipynb`` (so autosave never writes outputs into the repository),
runs every cell, then clicks quiz answers and reads the feedback the kernel sends back through
the widgets. Needs Debian's Chromium (``apt-get install chromium``) and the ``playwright``
Python package, which drives that Chromium through ``executable_path`` (its own browser
download cannot work offline); skipped with the reason when either is missing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.lab.quiz_bank import grade_choices
from labkit.lab.quizzes import bank

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "00-start-here.ipynb"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"browser test: {CHROMIUM} is absent (install Debian's package: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser test: the playwright package is not installed (pip install playwright)"
    return None


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab on a temporary copy of the notebook; yields its base URL with the token."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, served / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "LABKIT_HOME": str(tmp_path / "lab"),
        "LABKIT_BACKEND": "simulated",
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


def test_start_here_runs_and_quiz_answers_in_jupyterlab(jupyter: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

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
