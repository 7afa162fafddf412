"""Truth tables and connectivity tables as heatmaps (rows: from, columns: to).

Colours never carry the meaning alone: every cell is also marked (``✓`` allowed, ``✗``
blocked, ``?`` the probe itself failed, ``–`` not applicable), so the figure reads in grey
scale and for colour-blind learners. Figures are built without pyplot, so drawing one in a
loop leaks nothing and shows nothing until it is displayed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.probe.jobs import Outcome
from labkit.probe.table import ConnectivityTable, TruthTable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OUTCOME_ORDER: tuple[Outcome, ...] = (
    Outcome.ALLOWED,
    Outcome.BLOCKED,
    Outcome.FAILED,
    Outcome.NOT_APPLICABLE,
)
OUTCOME_COLOURS: dict[Outcome, str] = {
    Outcome.ALLOWED: "#2e7d32",
    Outcome.BLOCKED: "#c62828",
    Outcome.FAILED: "#f9a825",
    Outcome.NOT_APPLICABLE: "#9e9e9e",
}
OUTCOME_MARKS: dict[Outcome, str] = {
    Outcome.ALLOWED: "✓",
    Outcome.BLOCKED: "✗",
    Outcome.FAILED: "?",
    Outcome.NOT_APPLICABLE: "–",
}
OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.ALLOWED: "allowed",
    Outcome.BLOCKED: "blocked",
    Outcome.FAILED: "probe failed",
    Outcome.NOT_APPLICABLE: "n/a",
}

CONNECTIVITY_ORDER: tuple[str, ...] = ("all", "some", "nothing", "n/a")
CONNECTIVITY_COLOURS: dict[str, str] = {
    "all": "#2e7d32",
    "some": "#1565c0",
    "nothing": "#c62828",
    "n/a": "#9e9e9e",
}
CONNECTIVITY_LABELS: dict[str, str] = {
    "all": "every port",
    "some": "some ports",
    "nothing": "nothing",
    "n/a": "n/a",
}
ANNOTATE_UP_TO = 40
"""Cells are annotated while the table has at most this many peers (beyond, text is noise)."""
SHORT_PORT_TEXT = 9
"""Port text up to this many characters is written in the cell; longer text reads ``some``."""


def _axes(ax: Axes | None, n: int) -> tuple[Figure, Axes]:
    if ax is not None:
        return _root_figure(ax), ax
    from matplotlib.figure import Figure

    side = min(1.6 + 0.36 * n, 14.0)
    fig = Figure(figsize=(side + 2.4, side + 0.4), layout="constrained")
    return fig, fig.add_subplot()


def _root_figure(ax: Axes) -> Figure:
    from matplotlib.figure import Figure, SubFigure

    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    assert isinstance(fig, Figure)
    return fig


def _grid(
    ax: Axes,
    codes: list[list[int]],
    colours: list[str],
    peers: tuple[str, ...],
    marks: list[list[str]],
    columns: tuple[str, ...] | None = None,
) -> None:
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cols = peers if columns is None else columns
    n, m = len(peers), len(cols)
    if not n or not m:
        ax.text(0.5, 0.5, "no pods to show", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    cmap = ListedColormap(colours)
    norm = BoundaryNorm([k - 0.5 for k in range(len(colours) + 1)], len(colours))
    ax.imshow(codes, cmap=cmap, norm=norm, aspect="equal", interpolation="none")
    ax.set_xticks(range(m), labels=list(cols), rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), labels=list(peers))
    ax.set_xlabel("to (destination)")
    ax.set_ylabel("from (source)")
    ax.set_xticks([k - 0.5 for k in range(m + 1)], minor=True)
    ax.set_yticks([k - 0.5 for k in range(n + 1)], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    if max(n, m) <= ANNOTATE_UP_TO:
        size = 10 if max(n, m) <= 12 else 7
        for i in range(n):
            for j in range(m):
                ax.text(j, i, marks[i][j], ha="center", va="center", color="white", fontsize=size)
    _diagonal(ax, peers, cols)
    _namespace_separators(ax, peers, cols)


def _diagonal(ax: Axes, rows: tuple[str, ...], cols: tuple[str, ...]) -> None:
    """Hatch each pod-to-itself cell (no policy applies to it) with a dashed outline."""
    from matplotlib.patches import Rectangle

    where = {peer: j for j, peer in enumerate(cols)}
    for i, peer in enumerate(rows):
        if peer in where:
            j = where[peer]
            ax.add_patch(
                Rectangle(
                    (j - 0.45, i - 0.45),
                    0.9,
                    0.9,
                    fill=False,
                    hatch="////",
                    linestyle="--",
                    edgecolor="white",
                    linewidth=1.0,
                    gid=f"self:{peer}",
                )
            )


def _namespace_separators(ax: Axes, rows: tuple[str, ...], cols: tuple[str, ...]) -> None:
    """A dark line between namespaces (the tick labels name each pod with its namespace)."""
    from labkit.lab.svg_heatmap import groups

    for group in groups(rows)[1:]:
        ax.axhline(group.start - 0.5, color="#111", linewidth=2, gid=f"separator:{group.namespace}")
    for group in groups(cols)[1:]:
        ax.axvline(group.start - 0.5, color="#111", linewidth=2, gid=f"separator:{group.namespace}")


def heatmap(table: TruthTable, ax: Axes | None = None) -> Figure:
    """One probe's outcomes for every ordered pair; rows are sources, columns destinations."""
    from matplotlib.patches import Patch

    fig, ax = _axes(ax, max(len(table.peers), len(table.columns)))
    codes = [[OUTCOME_ORDER.index(c) for c in row] for row in table.cells]
    marks = [[OUTCOME_MARKS[c] for c in row] for row in table.cells]
    colours = [OUTCOME_COLOURS[o] for o in OUTCOME_ORDER]
    _grid(ax, codes, colours, table.peers, marks, table.columns)
    counts = {o: sum(row.count(o) for row in table.cells) for o in OUTCOME_ORDER}
    ax.set_title(
        f"probe {table.probe}: "
        + ", ".join(f"{counts[o]} {OUTCOME_LABELS[o]}" for o in OUTCOME_ORDER if counts[o])
    )
    ax.legend(
        handles=[
            Patch(facecolor=OUTCOME_COLOURS[o], label=f"{OUTCOME_MARKS[o]} {OUTCOME_LABELS[o]}")
            for o in OUTCOME_ORDER
            if counts[o]
        ],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
    )
    return fig


def connectivity_category(text: str | None) -> str:
    """``all``, ``some``, ``nothing`` or ``n/a`` for a connectivity cell (``None`` is n/a)."""
    if text is None:
        return "n/a"
    if text == "All":
        return "all"
    return "some" if text else "nothing"


def connectivity_mark(text: str | None, short: int = SHORT_PORT_TEXT) -> str:
    """The text written in a connectivity cell: the ports when they are short."""
    category = connectivity_category(text)
    if category == "some":
        assert text is not None
        return text if len(text) <= short else "some"
    return {"all": "all", "nothing": "✗", "n/a": "–"}[category]


def connectivity_heatmap(table: ConnectivityTable, ax: Axes | None = None) -> Figure:
    """Every port and protocol allowed per ordered pair: all, some ports, or nothing."""
    from matplotlib.patches import Patch

    matrix = table.matrix
    peers = matrix.peers
    n = len(peers)
    texts: list[list[str | None]] = []
    for i in range(n):
        row: list[str | None] = []
        for j in range(n):
            cell = matrix.cell(i, j)
            row.append(None if cell is None else str(cell))
        texts.append(row)
    fig, ax = _axes(ax, n)
    codes = [[CONNECTIVITY_ORDER.index(connectivity_category(t)) for t in row] for row in texts]
    marks = [[connectivity_mark(t) for t in row] for row in texts]
    _grid(ax, codes, [CONNECTIVITY_COLOURS[c] for c in CONNECTIVITY_ORDER], peers, marks)
    for text in ax.texts:  # port lists are longer than a mark: make them fit the cell
        if len(text.get_text()) > 2:
            text.set_fontsize(6)
    ax.set_title("allowed ports and protocols per pair")
    ax.legend(
        handles=[
            Patch(facecolor=CONNECTIVITY_COLOURS[c], label=CONNECTIVITY_LABELS[c])
            for c in CONNECTIVITY_ORDER
            if any(CONNECTIVITY_ORDER.index(c) in row for row in codes)
        ],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
    )
    return fig
