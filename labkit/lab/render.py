"""HTML pieces shared by the notebook views: a figure as an inline PNG, a kubectl aside, and
the two side by side. Pure string building; matplotlib is imported only to save a figure."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from labkit.lab.kubectl import Commands


def figure_png(figure: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (no pyplot, no global figure registry)."""
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def figure_html(figure: Figure, alt: str = "") -> str:
    data = base64.b64encode(figure_png(figure)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def commands_html(commands: Commands) -> str:
    """A small titled block of shell commands."""
    body = html.escape("\n".join(f"$ {line}" for line in commands.lines))
    note = f"<div style='font-size:85%;opacity:.8'>{html.escape(commands.note)}</div>"
    return (
        "<div class='labkit-kubectl' style='min-width:18em;max-width:42em'>"
        "<div style='font-weight:bold'>kubectl equivalent</div>"
        f"{note if commands.note else ''}"
        f"<pre style='white-space:pre;overflow-x:auto;font-size:85%;margin:.3em 0'>{body}</pre></div>"
    )


def beside(main: str, commands: Commands | None) -> str:
    """``main`` with the kubectl equivalent to its right (wrapping below on narrow screens)."""
    if commands is None:
        return main
    return (
        "<div style='display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start'>"
        f"<div>{main}</div>{commands_html(commands)}</div>"
    )


def definition_list(rows: Iterable[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table style='width:auto'>{cells}</table>"
