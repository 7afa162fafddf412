"""Every notebook under notebooks/ and exercises/ runs top to bottom on the simulated cluster,
and is committed without outputs.

Notebooks run in the ``python3`` kernel (``make install`` registers the venv's), with a fresh
lab folder (``LABKIT_HOME``) and ``LABKIT_BACKEND=simulated``, which ``labkit.lab.up()``
honours. A cell may fail on purpose only when tagged ``raises-exception`` (nbclient's rule).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("notebooks", "exercises")
CELL_TIMEOUT = 120


def notebooks() -> list[Path]:
    found: list[Path] = []
    for folder in NOTEBOOK_DIRS:
        found += [
            p
            for p in sorted((ROOT / folder).rglob("*.ipynb"))
            if ".ipynb_checkpoints" not in p.parts
        ]
    return found


NOTEBOOKS = notebooks()
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def test_the_first_notebook_is_found() -> None:
    assert ROOT / "notebooks" / "00-start-here.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        k
        for k, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them"


def _run(path: Path, home: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    env = {
        **os.environ,
        "LABKIT_HOME": str(home),
        "LABKIT_BACKEND": "simulated",
        "MPLBACKEND": "Agg",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=env)
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Run each notebook once per test module, in its own lab folder."""
    cache: dict[Path, nbformat.NotebookNode] = {}

    def get(path: Path) -> nbformat.NotebookNode:
        if path not in cache:
            cache[path] = _run(path, tmp_path_factory.mktemp(path.stem))
        return cache[path]

    yield get


def _outputs(nb: nbformat.NotebookNode) -> list[Any]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_without_errors(path: Path, executed: Any) -> None:
    nb = executed(path)
    errors = [
        f"cell {k}: {out.ename}: {out.evalue}"
        for k, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", [])
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors


def test_start_here_shows_each_step(executed: Any) -> None:
    """The first notebook ran on the simulated backend and showed what it promises."""
    nb = executed(ROOT / "notebooks" / "00-start-here.ipynb")
    html = [out.data["text/html"] for out in _outputs(nb) if "text/html" in out.get("data", {})]
    widgets = [
        out
        for out in _outputs(nb)
        if "application/vnd.jupyter.widget-view+json" in out.get("data", {})
    ]
    joined = "\n".join(html)
    assert "Lab backend: simulated" in joined
    assert "LABKIT_BACKEND=simulated" in joined  # why this backend
    assert "lab topology" in joined  # the map, as an image
    assert "data-probe='80/TCP'" in joined and "data-probe='81/UDP'" in joined
    assert joined.count("kubectl equivalent") >= 3
    assert "/agnhost connect" in joined
    assert "as you expected" in joined  # the live check agreed with the prediction
    assert len(widgets) >= 2  # the progress bar and the quiz
    plain = [str(out.get("data", {}).get("text/plain", "")) for out in _outputs(nb)]
    assert "'allowed'" in plain
