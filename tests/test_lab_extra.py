"""The engine and the CLI need PyYAML only; the notebook lab needs the ``lab`` extra.

The offline commands run in a process where every package of the extra is blocked
(``sys.modules[name] = None`` makes any import of it fail) and print exactly what they print
with the extra installed; lab-only features say what to install instead of a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from labkit.errors import MissingExtra
from labkit.extras import lab_extra
from labkit.model.ports import Protocol
from labkit.probe.jobs import Outcome, ProbeSpec
from labkit.probe.table import TruthTable

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGY = str(ROOT / "tests" / "fixtures" / "topology")
POLICIES = str(ROOT / "tests" / "fixtures" / "lab-policies")
LAB_PACKAGES = ("IPython", "ipywidgets", "jupyterlab", "kubernetes", "matplotlib", "pandas")
"""The packages ``labkit[lab]`` brings (pyproject.toml), blocked below."""

RUNNER = """
import sys
blocked = sys.argv[1].split(",") if sys.argv[1] else []
for name in blocked:
    sys.modules[name] = None
from labkit.cli.main import main
code = main(sys.argv[2:])
sys.stdout.flush()
sys.exit(code)
"""

OFFLINE_COMMANDS = {
    "validate": ["validate", "-f", TOPOLOGY, "-f", POLICIES],
    "matrix": ["matrix", "-f", TOPOLOGY, "-f", POLICIES, "-o", "json"],
    "matrix --probe": ["matrix", "-f", TOPOLOGY, "-f", POLICIES, "--probe", "80/TCP"],
    "explain -f": [
        "explain",
        "-f",
        TOPOLOGY,
        "-f",
        POLICIES,
        "--from",
        "my-segment/frontend",
        "--to",
        "my-segment/backend",
        "--port",
        "8080/TCP",
    ],
    "audit -f": ["audit", "-f", TOPOLOGY, "-f", POLICIES, "-o", "json"],
}


def run_cli(args: list[str], blocked: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, ",".join(blocked), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", sorted(OFFLINE_COMMANDS))
def test_offline_commands_need_no_lab_extra(command: str) -> None:
    args = OFFLINE_COMMANDS[command]
    without = run_cli(args, LAB_PACKAGES)
    assert without.returncode == 0, without.stderr
    assert without.stdout.strip(), "the command printed nothing"
    with_extra = run_cli(args, ())
    assert with_extra.returncode == 0, with_extra.stderr
    assert without.stdout == with_extra.stdout


def test_blocking_works() -> None:
    """The runner's blocking is real: a blocked module cannot be imported in it."""
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['pandas'] = None; import pandas"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr


def test_dataframe_without_pandas_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    table = TruthTable(
        ProbeSpec(80, Protocol.TCP), ("a/x", "a/y"), ((Outcome.ALLOWED, Outcome.BLOCKED),) * 2
    )
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtra, match=r"TruthTable\.to_dataframe\(\) needs pandas") as info:
        table.to_dataframe()
    assert "pip install 'labkit[lab]'" in str(info.value)


def test_lab_facade_without_the_extra_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "from labkit.errors import MissingExtra\n"
        "try:\n"
        "    import labkit.lab\n"
        "except MissingExtra as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    print('imported')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "labkit.lab" in result.stdout and "matplotlib" in result.stdout
    assert "pip install 'labkit[lab]'" in result.stdout


def test_lab_extra_leaves_other_missing_modules_alone() -> None:
    """Only the extra's packages become MissingExtra: a missing module of labkit itself (a
    broken install) is not disguised as a missing extra."""
    with pytest.raises(ModuleNotFoundError, match=r"labkit\._no_such_module"):
        with lab_extra("something"):
            import labkit._no_such_module  # noqa: F401
    with pytest.raises(MissingExtra, match="something needs kubernetes"):
        with lab_extra("something"):
            raise ModuleNotFoundError(
                "No module named 'kubernetes.client'", name="kubernetes.client"
            )
