"""Entry point of the ``labkit`` command.

Each subcommand lives in its own module exposing ``register(subparsers)``; heavy imports
happen inside the handlers so that ``labkit matrix`` starts fast. When the command line
names a command (after nothing but ``-v``/``--verbose``), only the module that registers it
is imported and only its parser is built; anything else (no command, ``--help``, an unknown
command, another option first) builds the full parser, so help and errors list every command.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from labkit.errors import LabkitError

COMMAND_MODULES = (
    "labkit.cli.cmd_validate",
    "labkit.cli.cmd_matrix",
    "labkit.cli.cmd_explain",
    "labkit.cli.cmd_audit",
    "labkit.cli.cmd_cluster",
    "labkit.cli.cmd_probe",
    "labkit.cli.cmd_images",
    "labkit.cli.cmd_grade",
    "labkit.cli.cmd_exercises",
    "labkit.cli.cmd_lessons",
    "labkit.cli.cmd_scenario",
    "labkit.cli.cmd_auth",
    "labkit.cli.cmd_progress",
    "labkit.cli.cmd_workshop",
)

FAST_EXIT_MODULES = frozenset(
    {
        "labkit.cli.cmd_validate",
        "labkit.cli.cmd_matrix",
        "labkit.cli.cmd_explain",
        "labkit.cli.cmd_audit",
    }
)
"""Commands that only read files and write a report: :func:`entry` ends them without
tearing the heap down."""

# The module that registers each command (tests hold this to what the modules register).
COMMANDS = {
    "validate": "labkit.cli.cmd_validate",
    "matrix": "labkit.cli.cmd_matrix",
    "explain": "labkit.cli.cmd_explain",
    "audit": "labkit.cli.cmd_audit",
    "up": "labkit.cli.cmd_cluster",
    "down": "labkit.cli.cmd_cluster",
    "status": "labkit.cli.cmd_cluster",
    "doctor": "labkit.cli.cmd_cluster",
    "reset": "labkit.cli.cmd_cluster",
    "apply": "labkit.cli.cmd_cluster",
    "delete": "labkit.cli.cmd_cluster",
    "label": "labkit.cli.cmd_cluster",
    "get": "labkit.cli.cmd_cluster",
    "describe": "labkit.cli.cmd_cluster",
    "probe": "labkit.cli.cmd_probe",
    "images": "labkit.cli.cmd_images",
    "check": "labkit.cli.cmd_grade",
    "grade": "labkit.cli.cmd_grade",
    "exercises": "labkit.cli.cmd_exercises",
    "lessons": "labkit.cli.cmd_lessons",
    "scenario": "labkit.cli.cmd_scenario",
    "progress": "labkit.cli.cmd_progress",
    "auth": "labkit.cli.cmd_auth",
    "workshop": "labkit.cli.cmd_workshop",
}


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` (``$COLUMNS``, else the terminal's width, else
    80) without importing :mod:`shutil`, which costs ~1.6 ms of every run's start-up."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
    return size.columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter; its default width is computed as argparse does (terminal width
    minus 2) by :func:`terminal_columns`. argparse builds one per ``add_argument`` call."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class CommandParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` using :class:`HelpFormatter` unless told
    otherwise; subcommand parsers are of the same class."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(**kwargs)


class VersionAction(argparse.Action):
    """``--version``: the installed distribution's version (:mod:`importlib.metadata`, read
    only when asked: importing it costs every other command's start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("labkit")
        except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
            text = "unknown (not installed)"
        sys.stdout.write(f"labkit {text}\n")
        parser.exit()


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The ``labkit`` parser with the commands of ``modules`` (by default every command)."""
    parser, _ = _build(modules)
    return parser


def parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser ``argv`` needs: the named command's alone when that is all it can use,
    else every command's (same help, same errors)."""
    module = command_module(argv)
    if module is not None:
        parser, registered = _build((module,))
        if registered:
            return parser
    return build_parser()


def command_module(argv: Sequence[str]) -> str | None:
    """The module registering the command ``argv`` names, when only verbose flags come
    before it; else ``None`` (no command, ``-h``, an unknown command or option)."""
    for arg in argv:
        if not arg.startswith("-"):
            return COMMANDS.get(arg)
        if not is_verbose_flag(arg):
            return None
    return None


def is_verbose_flag(arg: str) -> bool:
    """``-v``, ``-vv``, ... or ``--verbose`` and the prefixes argparse accepts for it
    (``--verb`` ... ``--verbos``: shorter ones are ambiguous with ``--version``; ``-h`` is
    the only other top-level option)."""
    return (len(arg) > 1 and arg.strip("v") == "-") or (
        len(arg) > 5 and "--verbose".startswith(arg)
    )


def _build(modules: Sequence[str]) -> tuple[argparse.ArgumentParser, int]:
    """The parser and how many of ``modules`` registered commands (modules not written yet
    are skipped)."""
    parser = CommandParser(
        prog="labkit",
        description="Kubernetes network segmentation lab: validate, evaluate, explain, audit "
        "and probe NetworkPolicies on a kind+Calico, existing or simulated cluster.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("--version", action=VersionAction, help="print labkit's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered = 0
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
        registered += 1
    return parser, registered


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = parser_for(words)
    args = parser.parse_args(words)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except LabkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def entry() -> NoReturn:
    """The ``labkit`` console script: :func:`main`, tuned for a process that runs one command.

    * The cyclic garbage collector runs rarely (a first-generation threshold of 50,000
      allocations instead of 700): reading manifests creates hundreds of thousands of
      objects, none of them garbage, and every collection walks the survivors again.
    * The offline commands of :data:`FAST_EXIT_MODULES` end without tearing the heap down:
      logging is shut down and the output flushed, then the process exits at once, as
      mypy's fast exit does; freeing every object one by one only delays the prompt.
      Commands that manage clusters exit the normal way.

    Notebooks and tests call :func:`main` and keep Python's defaults.
    """
    gc.set_threshold(50_000, 20, 100)
    argv = sys.argv[1:]
    code = main(argv)
    if command_module(argv) in FAST_EXIT_MODULES:
        logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):  # a closed pipe or stream: nothing to flush to
            pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
