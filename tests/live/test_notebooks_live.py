"""Every notebook runs top to bottom against the kind lab cluster (marked ``live``).

The cluster is started before pytest (``labkit up --backend kind``, as ``make live`` and the
live workflow do); the notebooks run with ``LABKIT_BACKEND=kind`` in the same lab folder, so
``labkit.lab.up()`` reattaches to that cluster instead of the simulated one the offline
notebook tests use (tests/test_notebooks.py). Cells get more time than offline: probes are
real connections.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.live, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
CELL_TIMEOUT = 600
NOTEBOOKS = sorted(
    p
    for folder in ("notebooks", "exercises")
    for p in (ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)


def test_there_are_notebooks_to_run() -> None:
    assert ROOT / "notebooks" / "00-start-here.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_notebook_runs_against_kind(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "LABKIT_BACKEND": "kind", "MPLBACKEND": "Agg"}
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=env)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", [])
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert errors == []
