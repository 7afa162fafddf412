"""Packaging and repository hygiene: the two entry commands, the dependency split (PyYAML for
the engine and CLI, the ``lab`` extra for the notebooks), the conda environment mirroring
pyproject.toml, exact versions of the linters and test tools, stripped notebooks, no print()
in the library, short functions."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "labkit"
RUFF = Path(sys.executable).with_name("ruff")

CONDA_NAMES = {"kubernetes": "python-kubernetes"}
"""PyPI name -> conda-forge name where they differ (others are the same, lowercased)."""
CONDA_ONLY = {"python", "pip", "kind", "kubernetes-client"}
"""conda packages with no PyPI dependency: the interpreter and the kind/kubectl binaries."""
CONDA_EXTRAS = ("lab",)
"""Extras whose packages environment.yml takes from conda-forge (the rest come through pip)."""
PINNED_EXTRAS = ("test", "browser")
"""Extras of linters and test tools, pinned to exact versions by constraints.txt."""
LAB_PACKAGES = {"jupyterlab", "ipywidgets", "matplotlib", "pandas", "kubernetes"}


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def lower_bound(req: Requirement) -> str | None:
    bounds = [s.version for s in req.specifier if s.operator == ">="]
    return bounds[0] if len(bounds) == 1 else None


class CondaSpec(NamedTuple):
    operator: str | None
    """``>=`` (a lower bound, as in pyproject.toml), ``=`` (conda: that version prefix, e.g.
    ``kind=0.32`` is any 0.32.x), ``==`` (exactly) or ``None`` (any version)."""
    version: str | None


class CondaEnvironment(NamedTuple):
    packages: dict[str, CondaSpec]
    pip: list[str]


def conda_environment(text: str | None = None) -> CondaEnvironment:
    """The conda packages and pip entries of environment.yml (or of ``text``)."""
    if text is None:
        text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    env = yaml.safe_load(text)
    assert env["channels"] == ["conda-forge"]
    packages: dict[str, CondaSpec] = {}
    pip: list[str] = []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry.get("pip", []))
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(?:(>=|==|=)\s*([\w.]+))?", str(entry).strip())
        assert match, f"environment.yml: cannot read {entry!r} (write name>=version or name=X.Y)"
        packages[match.group(1).lower()] = CondaSpec(match.group(2), match.group(3))
    return CondaEnvironment(packages, pip)


def conda_mirror(project: dict[str, Any]) -> dict[str, CondaSpec]:
    """What environment.yml must list from conda-forge: the dependencies and the
    :data:`CONDA_EXTRAS` of pyproject.toml, under their conda-forge names and lower bounds."""
    texts = list(project["dependencies"])
    for extra in CONDA_EXTRAS:
        texts += project["optional-dependencies"][extra]
    wanted = {}
    for text in texts:
        req = Requirement(text)
        name = req.name.lower()
        bound = lower_bound(req)
        wanted[CONDA_NAMES.get(name, name)] = CondaSpec(">=" if bound else None, bound)
    return wanted


def mirror_differences(project: dict[str, Any], env: CondaEnvironment) -> list[str]:
    """How environment.yml departs from pyproject.toml (empty when it mirrors it)."""
    wanted = conda_mirror(project)
    listed = {k: v for k, v in env.packages.items() if k not in CONDA_ONLY}
    problems = [f"{name} {spec} is missing" for name, spec in wanted.items() if name not in listed]
    problems += [f"{name} is not in pyproject.toml" for name in listed if name not in wanted]
    problems += [
        f"{name}: {listed[name]} in environment.yml, {spec} in pyproject.toml"
        for name, spec in wanted.items()
        if name in listed and listed[name] != spec
    ]
    extras = ",".join((*CONDA_EXTRAS, *PINNED_EXTRAS))
    if env.pip != ["-c constraints.txt", f"-e .[{extras}]"]:
        problems.append(f"pip entries {env.pip} are not ['-c constraints.txt', '-e .[{extras}]']")
    return problems


# -- the dependency split -------------------------------------------------------------------
def test_engine_and_cli_need_pyyaml_only() -> None:
    project = pyproject()["project"]
    assert [Requirement(t).name.lower() for t in project["dependencies"]] == ["pyyaml"]
    lab = {Requirement(t).name.lower() for t in project["optional-dependencies"]["lab"]}
    assert lab == LAB_PACKAGES


# -- environment.yml mirrors pyproject.toml ------------------------------------------------
def test_environment_mirrors_pyproject() -> None:
    problems = mirror_differences(pyproject()["project"], conda_environment())
    assert not problems, (
        "environment.yml and pyproject.toml ([project.dependencies] and the lab extra) differ; "
        "keep the same packages (conda-forge names) with the same lower bounds: "
        + "; ".join(problems)
    )


def _drop_pandas(env: CondaEnvironment) -> CondaEnvironment:
    return env._replace(packages={k: v for k, v in env.packages.items() if k != "pandas"})


def _raise_pyyaml_bound(env: CondaEnvironment) -> CondaEnvironment:
    return env._replace(packages={**env.packages, "pyyaml": CondaSpec(">=", "99.0")})


def _add_stray_package(env: CondaEnvironment) -> CondaEnvironment:
    return env._replace(packages={**env.packages, "numpy": CondaSpec(None, None)})


def _pip_without_extras(env: CondaEnvironment) -> CondaEnvironment:
    return env._replace(pip=["-e ."])


@pytest.mark.parametrize(
    "mutate", [_drop_pandas, _raise_pyyaml_bound, _add_stray_package, _pip_without_extras]
)
def test_mirror_check_catches_a_mismatch(mutate: Any) -> None:
    """The check above fails on an environment.yml that departs from pyproject.toml."""
    project = pyproject()["project"]
    env = conda_environment()
    assert not mirror_differences(project, env)
    assert mirror_differences(project, mutate(env))


def test_mirror_check_catches_a_new_pyproject_dependency() -> None:
    project = pyproject()["project"]
    grown = {**project, "dependencies": [*project["dependencies"], "rich>=13"]}
    assert any("rich" in p for p in mirror_differences(grown, conda_environment()))


def test_environment_python_matches_requires_python() -> None:
    packages = conda_environment().packages
    requires = pyproject()["project"]["requires-python"]
    assert requires.startswith(">=")
    assert packages["python"] == CondaSpec(">=", requires[2:])


def _minor(version: str) -> tuple[int, int]:
    major, minor = re.findall(r"\d+", version)[:2]
    return int(major), int(minor)


def test_environment_pins_kind_and_kubectl() -> None:
    """kind and kubectl from conda-forge (``kubernetes-client``), pinned to a minor version
    (``name=X.Y``): kind the minor of the pinned kind release, kubectl within one minor of
    the node image's Kubernetes, kubectl's version skew policy."""
    pins = yaml.safe_load((ROOT / "clusters" / "calico" / "versions.yaml").read_text())
    packages = conda_environment().packages
    kind, kubectl = packages["kind"], packages["kubernetes-client"]
    assert kind.operator == "=" and kind.version is not None
    assert _minor(kind.version) == _minor(pins["kind"]["version"])
    assert kubectl.operator == "=" and kubectl.version is not None
    server = _minor(pins["node_images"]["default"]["kubernetes"])
    client = _minor(kubectl.version)
    assert client[0] == server[0] and abs(client[1] - server[1]) <= 1, (kubectl, server)
    assert "pip" in packages


# -- exact versions of the linters and test tools ------------------------------------------
def constraints() -> dict[str, str]:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            specs = list(req.specifier)
            assert len(specs) == 1 and specs[0].operator == "==", f"pin {line!r} exactly (==)"
            pinned[req.name.lower()] = specs[0].version
    return pinned


def test_constraints_pin_every_linter_and_test_tool() -> None:
    optional = pyproject()["project"]["optional-dependencies"]
    tools = [Requirement(t) for extra in PINNED_EXTRAS for t in optional[extra]]
    pinned = constraints()
    assert set(pinned) == {req.name.lower() for req in tools}, (
        f"constraints.txt must pin exactly the {PINNED_EXTRAS} extras"
    )
    for req in tools:
        assert req.specifier.contains(pinned[req.name.lower()]), (req, pinned[req.name.lower()])


def test_install_step_uses_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [line for line in makefile.splitlines() if "pip install" in line and "-e" in line]
    assert installs, "the Makefile has no `pip install -e` step"
    for line in installs:
        assert "-c constraints.txt" in line and "'.[lab,test,browser]'" in line, line
    stamp = re.search(r"^\$\(STAMP\):(.*)$", makefile, flags=re.MULTILINE)
    assert stamp and "constraints.txt" in stamp.group(1).split(), "reinstall when pins change"


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


MAX_STATEMENTS = 50
"""Statements per function (ruff's PLR0915, pylint's default limit), set in pyproject.toml."""


def test_function_length_is_checked() -> None:
    """``make lint`` (ruff, with the project's settings) rejects a function of more than
    :data:`MAX_STATEMENTS` statements and accepts one of exactly that many."""
    settings = pyproject()["tool"]["ruff"]["lint"]
    assert "PLR0915" in settings["select"]
    assert settings["pylint"]["max-statements"] == MAX_STATEMENTS

    def lint(statements: int) -> subprocess.CompletedProcess[str]:
        body = "".join(f"    x{i} = {i}\n" for i in range(statements))
        source = f"def long_function() -> None:\n{body}"
        return subprocess.run(
            [
                str(RUFF),
                "check",
                "--config",
                str(ROOT / "pyproject.toml"),
                "--select",
                "PLR0915",
                "--stdin-filename",
                "labkit/_length_probe.py",
                "-",
            ],
            input=source,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    too_long = lint(MAX_STATEMENTS + 1)
    assert too_long.returncode == 1 and "PLR0915" in too_long.stdout, too_long.stdout
    at_limit = lint(MAX_STATEMENTS)
    assert at_limit.returncode == 0, at_limit.stdout


@pytest.mark.parametrize("package", ["engine", "model", "probe"])
def test_layer_packages_say_what_they_hold(package: str) -> None:
    """Each layer's docstring names every module and subpackage it holds, and its layer
    rule, so that a reader starts from the package and not from a file listing."""
    folder = PACKAGE / package
    doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"labkit/{package}/__init__.py has no docstring"
    parts = [p.stem for p in folder.glob("*.py") if p.stem != "__init__"]
    parts += [p.name for p in folder.iterdir() if (p / "__init__.py").is_file()]
    unnamed = sorted(name for name in parts if f":mod:`.{name}`" not in doc)
    assert not unnamed, f"labkit/{package}/__init__.py does not name {unnamed}"
    assert "Layer rule" in doc


def test_the_wheel_ships_no_instructor_material() -> None:
    """Exercises hold hidden requirements and reference solutions under instructor/: none of
    it may reach a wheel that learners can `pip install`."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = data["tool"]["hatch"]["build"]["targets"]["wheel"]
    shipped = [*wheel.get("force-include", {}), *wheel.get("packages", [])]
    assert not [p for p in shipped if p.split("/")[0] == "exercises" or "instructor" in p]
    assert not list((ROOT / "labkit").rglob("instructor"))
