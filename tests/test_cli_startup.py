"""Start-up of the ``labkit`` command: a named command builds only its own parser.

``labkit matrix ...`` imports and registers only :mod:`labkit.cli.cmd_matrix`; every other
command line (no command, ``--help``, an unknown command or option) builds the full parser.
These tests hold the fast path to the full parser: same parse, same help, same errors, same
exit status, and the command table to what the modules register.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from labkit.cli.main import (
    COMMAND_MODULES,
    COMMANDS,
    HelpFormatter,
    build_parser,
    command_module,
    is_verbose_flag,
    main,
    parser_for,
)

ROOT = Path(__file__).resolve().parents[1]

WORLD = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers:
  - {name: web, image: agnhost, ports: [{name: http, containerPort: 80}]}
status: {podIP: 10.1.0.10}
"""


@pytest.fixture(autouse=True)
def fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Help text wraps at the terminal width; pin it so outputs compare byte for byte."""
    monkeypatch.setenv("COLUMNS", "100")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


def outcome(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[Any, ...]:
    """What parsing ``argv`` gives: the namespace, or the exit status and what was printed."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return ("exit", exc.code, out.getvalue(), err.getvalue())
    return ("parsed", vars(args), out.getvalue(), err.getvalue())


# -- the command table -----------------------------------------------------------------------
def test_command_table_is_what_the_modules_register() -> None:
    """Each module of ``COMMAND_MODULES``, registered alone, gives exactly the commands the
    table maps to it, and together they give the full parser's commands."""
    registered = {
        name: module for module in COMMAND_MODULES for name in _subcommands(build_parser((module,)))
    }
    assert registered == COMMANDS
    assert list(_subcommands(build_parser())) == list(registered)


def test_top_level_options_are_help_verbose_and_version() -> None:
    """:func:`is_verbose_flag` relies on these being the only top-level options: ``--v`` to
    ``--ver`` are ambiguous between ``--verbose`` and ``--version``; revisit it on a new one."""
    strings = {s for a in build_parser()._actions for s in a.option_strings}
    assert strings == {"-h", "--help", "-v", "--verbose", "--version"}


@pytest.mark.parametrize(
    ("arg", "verbose"),
    [
        ("-v", True),
        ("-vv", True),
        ("-vvv", True),
        ("--verbose", True),
        ("--verb", True),
        ("--v", False),  # ambiguous: --verbose or --version
        ("--ver", False),
        ("--verb", True),
        ("--version", False),
        ("-", False),
        ("--", False),
        ("-h", False),
        ("--help", False),
        ("--h", False),
        ("-vh", False),
        ("-hv", False),
        ("--verbose=1", False),
        ("--verbosee", False),
        ("-x", False),
        ("-V", False),
    ],
)
def test_is_verbose_flag(arg: str, verbose: bool) -> None:
    assert is_verbose_flag(arg) is verbose


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        ([], None),
        (["-v"], None),
        (["matrix", "-f", "x"], "labkit.cli.cmd_matrix"),
        (["-v", "matrix"], "labkit.cli.cmd_matrix"),
        (["-vv", "--verbose", "validate"], "labkit.cli.cmd_validate"),
        (["--verb", "get", "pods"], "labkit.cli.cmd_cluster"),
        (["apply", "-f", "x"], "labkit.cli.cmd_cluster"),
        (["images", "list"], "labkit.cli.cmd_images"),
        (["-h", "matrix"], None),
        (["--help", "matrix"], None),
        (["nosuch", "matrix"], None),
        (["-", "matrix"], None),
        (["--", "matrix"], None),
        (["-x", "matrix"], None),
        (["--verbose=2", "matrix"], None),
    ],
)
def test_command_module(argv: list[str], module: str | None) -> None:
    assert command_module(argv) == module


def test_fast_parser_has_only_the_named_command() -> None:
    assert set(_subcommands(parser_for(["-v", "matrix", "-f", "x"]))) == {"matrix"}
    assert set(_subcommands(parser_for(["nosuch"]))) == set(COMMANDS)


# -- same behaviour as the full parser -------------------------------------------------------
SAME_AS_FULL = [
    [],
    ["-v"],
    ["-h"],
    ["--help"],
    ["-v", "--help"],
    ["-h", "matrix"],
    ["--help", "matrix", "-f", "x"],
    ["nosuch"],
    ["-v", "nosuch", "x"],
    ["-x", "matrix"],
    ["-", "matrix"],
    ["--verbose=2", "matrix", "-f", "x"],
    ["matrix"],
    ["matrix", "-h"],
    ["-vv", "matrix", "--help"],
    ["matrix", "-f", "x"],
    ["-v", "--verbose", "matrix", "-f", "a", "-f", "b", "--probe", "80", "-o", "csv"],
    ["--verb", "matrix", "-f", "x", "--bogus"],
    ["matrix", "-f", "x", "-o", "yaml"],
    ["matrix", "-f", "x", "stray"],
    ["matrix", "-f", "x", "-v"],
    ["--", "matrix", "-f", "x"],
    ["validate", "-f", "x", "-o", "json"],
    ["explain", "-h"],
    ["up", "--nodes", "2"],
    ["get", "pods", "-v"],
    ["get"],
    ["images"],
    ["probe", "--help"],
]


@pytest.mark.parametrize("argv", SAME_AS_FULL, ids=lambda a: " ".join(a) or "(none)")
def test_parse_is_the_full_parsers(argv: list[str]) -> None:
    assert outcome(parser_for(argv), argv) == outcome(build_parser(), argv)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_help_is_the_full_parsers(command: str) -> None:
    fast = outcome(parser_for([command, "--help"]), [command, "--help"])
    assert fast == outcome(build_parser(), [command, "--help"])
    assert fast[0] == "exit" and fast[1] == 0 and f"usage: labkit {command}" in fast[2]


@pytest.mark.parametrize("argv", [[], ["-v"], ["-vv"]])
def test_no_command_prints_the_full_help(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == build_parser().format_help() and err == ""
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch"], "argument COMMAND: invalid choice: 'nosuch' (choose from 'validate'"),
        (["matrix"], "labkit matrix: error: the following arguments are required: -f"),
        (["-v", "matrix", "-f", "x", "-o", "yaml"], "argument -o/--output: invalid choice"),
        (["matrix", "-f", "x", "stray"], "labkit: error: unrecognized arguments: stray"),
    ],
)
def test_errors_exit_2_as_before(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err
    assert ("exit", 2, out, err) == outcome(build_parser(), argv)


def test_labkit_errors_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(WORLD, encoding="utf-8")
    assert main(["-v", "matrix", "-f", str(path), "--probe", "80/SCTPX"]) == 1
    assert capsys.readouterr().err.startswith("error: --probe: ")


# -- the help width, computed as argparse does -----------------------------------------------
@pytest.mark.parametrize("columns", [None, "", "abc", "0", "-5", "57", "200"])
def test_help_width_is_argparses(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    ours, theirs = HelpFormatter("labkit"), argparse.HelpFormatter("labkit")
    assert (ours._width, ours._max_help_position) == (theirs._width, theirs._max_help_position)


# -- what a fresh `labkit matrix` imports ----------------------------------------------------
def test_matrix_imports_only_what_it_needs(tmp_path: Path) -> None:
    """A fresh ``labkit matrix -o json`` (no ``--probe``) imports no other command's module,
    no probe/truth-table module and no :mod:`shutil` (argparse's help width import, ~1.6 ms);
    each would add to every run's start-up."""
    path = tmp_path / "world.yaml"
    path.write_text(WORLD, encoding="utf-8")
    code = (
        "import io, json, sys\n"
        "from contextlib import redirect_stdout\n"
        "from labkit.cli.main import main\n"
        "with redirect_stdout(io.StringIO()) as out:\n"
        f"    status = main(['matrix', '-f', {str(path)!r}, '-o', 'json'])\n"
        "print(json.dumps({'status': status, 'out': out.getvalue(), 'modules': sorted(sys.modules)}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == 0
    assert json.loads(report["out"])["peers"] == ["shop/web"]
    modules = set(report["modules"])
    assert {m for m in modules if m.startswith("labkit.cli.cmd_")} == {"labkit.cli.cmd_matrix"}
    unwanted = {"labkit.probe.jobs", "labkit.probe.table", "shutil", "csv"} & modules
    assert not unwanted, f"imported on the matrix path: {sorted(unwanted)}"


# -- the README's command table and --version ---------------------------------------------------
def _readme_commands() -> list[str]:
    """The backticked ``labkit ...`` spans of the README's command table (first column)."""
    import re

    rows = [
        line.split(" | ")[0]
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `labkit")
    ]
    return [span.replace("\\|", "|") for row in rows for span in re.findall(r"`([^`]+)`", row)]


def test_readme_command_table_names_only_real_commands_and_options() -> None:
    import re

    parser = build_parser()
    commands = _subcommands(parser)
    spans = _readme_commands()
    assert len(spans) >= 12
    top_options = {o for a in parser._actions for o in a.option_strings}
    checked = 0
    for span in spans:
        words = span.split()
        name = words[1] if words[0] == "labkit" and len(words) > 1 else None
        owner = commands.get(name or "")
        known = (
            top_options if owner is None else {o for a in owner._actions for o in a.option_strings}
        )
        for option in re.findall(r"(?<![\w/-])(--?[a-z][a-z-]*)", span):
            assert option in known, f"README: {span!r}: {option} is not an option of labkit {name}"
            checked += 1
        assert "PATH..." not in span, f"README: {span!r}: -f repeats (-f PATH [-f PATH ...])"
    assert checked >= 20


def test_every_command_is_in_the_readme_table() -> None:
    named = {span.split()[1] for span in _readme_commands() if len(span.split()) > 1}
    named |= {w.strip("`,") for span in _readme_commands() for w in span.split()}
    assert set(COMMANDS) <= named | {"describe"}


def test_version_comes_from_the_installed_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"labkit {version('labkit')}\n"
