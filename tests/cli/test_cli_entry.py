"""The ``labkit`` console script (:func:`labkit.cli.main.entry`) in a real process.

``entry`` ends the offline commands with a fast exit (no heap teardown); these rows check
that nothing is lost on the way out: the whole output, the exit status, the log lines on
stderr, for output to a pipe and to a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "clusters" / "topology" / "topology.yaml"
SCRIPT = "import sys; from labkit.cli.main import entry; sys.argv[0] = 'labkit'; entry()"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as usual


def _labkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=ENV,
    )


def test_matrix_output_is_complete_on_a_fast_exit() -> None:
    done = _labkit("matrix", "-f", str(LAB), "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # the whole document arrived
    n = len(data["peers"])
    assert n >= 9
    assert len(data["connectivity"]) == n
    assert all(len(row) == n for row in data["connectivity"])


def test_output_to_a_file_is_flushed(tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    with out.open("w", encoding="utf-8") as handle:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, "matrix", "-f", str(LAB), "-o", "csv"],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            env=ENV,
        )
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    assert len(lines) == len(header)  # a header row and one row per peer


def test_invalid_input_keeps_its_status_and_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n"
        "spec:\n  podSelector: {}\n  policyTypes: [Sideways]\n",
        encoding="utf-8",
    )
    done = _labkit("validate", "-f", str(bad))
    assert done.returncode == 1
    assert "spec.policyTypes[0]" in done.stderr + done.stdout


@pytest.mark.parametrize("args", [("-v", "matrix"), ("matrix",)])
def test_warnings_reach_stderr_before_the_exit(tmp_path: Path, args: tuple[str, ...]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n"
        "apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\n",
        encoding="utf-8",
    )
    done = _labkit(*args, "-f", str(empty), "-o", "json")
    assert done.returncode == 0, done.stderr
    assert "Widget" in done.stderr  # the unknown kind's warning was logged and flushed
    json.loads(done.stdout)


def test_cluster_commands_exit_the_normal_way() -> None:
    """``labkit doctor`` is not in FAST_EXIT_MODULES: atexit handlers still run."""
    from labkit.cli.main import FAST_EXIT_MODULES, command_module

    assert command_module(["doctor"]) not in FAST_EXIT_MODULES
    assert command_module(["matrix", "-f", "x"]) in FAST_EXIT_MODULES
    assert command_module(["-v", "audit"]) in FAST_EXIT_MODULES
