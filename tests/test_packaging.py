"""Packaging and repository hygiene: the two entry commands, the conda environment mirroring
pyproject.toml, stripped notebooks, no print() in the library, small modules."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "labkit"
MAX_MODULE_LINES = 400

CONDA_NAMES = {"kubernetes": "python-kubernetes", "pyyaml": "pyyaml"}
"""PyPI name -> conda-forge name where they differ (others are the same, lowercased)."""
CONDA_ONLY = {"python", "pip", "kind", "kubernetes-client"}
"""conda packages with no PyPI dependency: the interpreter and the kind/kubectl binaries."""


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def lower_bound(req: Requirement) -> str | None:
    bounds = [s.version for s in req.specifier if s.operator == ">="]
    return bounds[0] if len(bounds) == 1 else None


def conda_environment() -> tuple[dict[str, str | None], list[str]]:
    """``({conda name: lower bound}, pip entries)`` of environment.yml."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    packages: dict[str, str | None] = {}
    pip: list[str] = []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry.get("pip", []))
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(?:>=\s*([\w.]+))?", str(entry).strip())
        assert match, f"environment.yml: cannot read dependency {entry!r} (write name>=version)"
        packages[match.group(1).lower()] = match.group(2)
    return packages, pip


# -- environment.yml mirrors pyproject.toml ------------------------------------------------
def test_environment_mirrors_pyproject() -> None:
    project = pyproject()["project"]
    wanted = {}
    for text in project["dependencies"]:
        req = Requirement(text)
        name = req.name.lower()
        wanted[CONDA_NAMES.get(name, name)] = lower_bound(req)
    packages, _ = conda_environment()
    runtime = {k: v for k, v in packages.items() if k not in CONDA_ONLY}
    assert runtime == wanted, (
        "environment.yml and pyproject.toml [project.dependencies] differ; keep the same "
        "packages (conda-forge names) with the same lower bounds"
    )


def test_environment_python_matches_requires_python() -> None:
    packages, _ = conda_environment()
    requires = pyproject()["project"]["requires-python"]
    assert requires.startswith(">=")
    assert packages["python"] == requires[2:]


def test_environment_has_cluster_tools_and_the_project() -> None:
    packages, pip = conda_environment()
    assert "kind" in packages and "kubernetes-client" in packages and "pip" in packages
    assert pip == ["-e ."]


def test_console_script_is_declared() -> None:
    data = pyproject()
    assert data["project"]["scripts"]["labkit"] == "labkit.cli.main:entry"
    from labkit.cli.main import main

    assert callable(main)


# -- the two commands ---------------------------------------------------------------------
def test_readme_first_code_block_is_make_lab_and_make_test() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert blocks, "README.md has no code block"
    commands = [
        line.split("#", 1)[0].strip()
        for line in blocks[0].splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert commands == ["make lab", "make test"]
    first_block = text.index("```")
    assert text[:first_block].count("\n\n") <= 1, "the two commands come right after the title"


def test_ci_runs_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines() if line.strip()]
    assert lines[0].startswith("#!")
    assert "make test" in [line.split("#", 1)[0].strip() for line in lines]
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111, ".ci/run must be executable"


@pytest.mark.parametrize("target", ["lab", "test"])
def test_makefile_targets(target: str) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), f"no `{target}:` target"
    phony = re.search(r"^\.PHONY:(.*)$", makefile, flags=re.MULTILINE)
    assert phony and target in phony.group(1).split()


def test_make_test_runs_the_suite() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_line = re.search(r"^test:(.*)$", makefile, flags=re.MULTILINE)
    assert test_line is not None
    assert "pytest" in test_line.group(1).split(), "`make test` must run the pytest target"


# -- notebooks are committed without outputs -----------------------------------------------
def committed_notebooks() -> list[Path]:
    found = []
    for folder in ("notebooks", "exercises"):
        base = ROOT / folder
        if base.is_dir():
            found += [p for p in base.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    return sorted(found)


def test_notebooks_have_no_outputs() -> None:
    notebooks = committed_notebooks()
    if not notebooks:
        pytest.skip("no notebooks under notebooks/ or exercises/ yet")
    dirty = []
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for index, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            if cell.get("outputs") or cell.get("execution_count") is not None:
                dirty.append(f"{path.relative_to(ROOT)} cell {index}")
    assert not dirty, "strip outputs before committing (jupyter nbconvert --clear-output): " + (
        ", ".join(dirty)
    )


# -- library hygiene ----------------------------------------------------------------------
def library_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_print_outside_cli() -> None:
    offenders = []
    for path in library_modules():
        if (PACKAGE / "cli") in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, "use logging, not print(), outside labkit/cli: " + ", ".join(offenders)


def test_modules_are_small() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in library_modules()
    }
    largest = max(sizes, key=lambda k: sizes[k])
    too_big = {k: v for k, v in sorted(sizes.items()) if v > MAX_MODULE_LINES}
    assert not too_big, (
        f"modules over {MAX_MODULE_LINES} lines (split them by what they hold): {too_big}; "
        f"largest is {largest} ({sizes[largest]})"
    )
