"""What the browser tests share: Debian's Chromium for Playwright, and a JupyterLab serving a
temporary copy of one notebook (so autosave never writes outputs into the repository).

Playwright drives Debian's Chromium through ``executable_path`` (its own browser download
cannot work offline); a test module marks itself with :data:`BROWSER_MARKS`, which skip with
the reason when either is missing.
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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"browser test: {CHROMIUM} is absent (install Debian's package: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser test: the playwright package is not installed (pip install playwright)"
    return None


BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(proc: subprocess.Popen[bytes], status_url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(status_url, timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("jupyter lab did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.3)


@contextmanager
def jupyterlab(
    notebook: Path,
    tmp_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    drop_env: Sequence[str] = (),
) -> Iterator[str]:
    """JupyterLab on a temporary copy of ``notebook`` against the simulated lab; yields the
    notebook's URL with the token, and stops the server afterwards."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(notebook, served / notebook.name)
    port, token = free_port(), secrets.token_hex(16)
    environ = {
        **os.environ,
        "LABKIT_HOME": str(tmp_path / "lab"),
        "LABKIT_BACKEND": "simulated",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        **(env or {}),
    }
    for name in drop_env:
        environ.pop(name, None)
    log_path = tmp_path / "jupyter.log"
    with log_path.open("w") as log:
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
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_serving(proc, f"{base}/api/status?token={token}", log_path)
            yield f"{base}/lab/tree/{notebook.name}?token={token}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def launch(playwright: Any) -> Any:
    """Debian's headless Chromium, through Playwright."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def open_notebook(browser: Any, url: str) -> Any:
    """A page on ``url`` once JupyterLab shows the notebook and its kernel has started."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel",
        timeout=60_000,
    )
    return page
