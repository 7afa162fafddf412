"""The ``lab`` extra: what the notebook lab needs beyond the engine and the CLI.

``pip install labkit`` brings PyYAML only, enough for the engine and every offline command
(``validate``, ``matrix``, ``explain -f``, ``audit -f``). ``pip install 'labkit[lab]'`` adds
JupyterLab, ipywidgets, matplotlib, pandas and the official ``kubernetes`` client. Code that
needs one of those imports it where it is used, inside :func:`lab_extra`, so that a missing
package becomes a :class:`~labkit.errors.MissingExtra` that says what to install::

    with lab_extra("a table as a pandas DataFrame"):
        import pandas as pd

:mod:`labkit.lab`, which needs the extra throughout, checks with :func:`require_lab_extra`
when it is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from labkit.errors import MissingExtra

if TYPE_CHECKING:
    from types import TracebackType

LAB_EXTRA_MODULES = frozenset(
    {"IPython", "ipywidgets", "jupyterlab", "kubernetes", "matplotlib", "pandas"}
)
"""Top-level modules that come with ``labkit[lab]`` (IPython with JupyterLab's kernel)."""

INSTALL_HINT = "pip install 'labkit[lab]'"


def _missing_message(feature: str, packages: Iterable[str]) -> str:
    names = ", ".join(packages)
    return (
        f"{feature} needs {names}, not installed: the lab extra brings them "
        f"({INSTALL_HINT}, or `make lab` in a clone of labkit)"
    )


def require_lab_extra(
    feature: str, packages: Iterable[str] = ("ipywidgets", "matplotlib", "pandas")
) -> None:
    """Raise :class:`~labkit.errors.MissingExtra` naming ``feature`` and every package of
    ``packages`` that cannot be imported (found without importing them)."""
    import importlib.util

    missing = [name for name in packages if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(_missing_message(feature, missing))


class lab_extra:  # lower case: it reads as a statement, `with lab_extra(...):`
    """Around an import of a ``lab`` extra package: a missing one raises
    :class:`~labkit.errors.MissingExtra` naming ``feature``, the package and the fix.

    Only a module of :data:`LAB_EXTRA_MODULES` is turned into ``MissingExtra``: any other
    missing module (a broken install of labkit itself) propagates unchanged.
    """

    def __init__(self, feature: str) -> None:
        self.feature = feature

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not isinstance(exc, ModuleNotFoundError):
            return
        package = (exc.name or "").partition(".")[0]
        if package in LAB_EXTRA_MODULES:
            raise MissingExtra(_missing_message(self.feature, [package])) from exc
