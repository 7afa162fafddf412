"""The layer rules are enforced by import-linter (contracts in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.skip(f"{LINT_IMPORTS} is not installed (make install adds import-linter)")
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(project / "pyproject.toml"), "--no-cache"],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_are_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "message"),
    [
        (
            "labkit/engine/_violation.py",
            "import subprocess\n",
            "labkit.engine is not allowed to import subprocess",
        ),
        (
            "labkit/probe/_violation.py",
            "import kubernetes\n",
            "labkit.probe is not allowed to import kubernetes",
        ),
        (
            "labkit/model/_violation.py",
            "import labkit.engine.evaluator\n",
            "labkit.model is not allowed to import labkit.engine",
        ),
        (
            "labkit/engine/_violation.py",
            "import labkit.cluster.backend\n",
            "labkit.engine is not allowed to import labkit.cluster",
        ),
    ],
)
def test_contracts_catch_a_violation(tmp_path: Path, module: str, line: str, message: str) -> None:
    """A copy of the project with one forbidden import must fail the check."""
    shutil.copytree(
        ROOT / "labkit", tmp_path / "labkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(line)
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout


def test_public_api_names_resolve() -> None:
    """Every name the curated ``labkit`` namespace promises can be imported."""
    import labkit

    for name in labkit.__all__:
        assert getattr(labkit, name) is not None, name
