"""The lab drawn as a map: namespaces as boxes, pods inside with their name, address and
labels, and optionally an arrow for every allowed pair of a probe's truth table.

The layout is a pure function (:func:`layout_topology`) so it is tested apart from drawing;
drawing is plain matplotlib, without pyplot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.model.inventory import Inventory
from labkit.model.objects import MANAGED_LABEL
from labkit.probe.jobs import Outcome
from labkit.probe.table import TruthTable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

HIDDEN_LABELS = frozenset({MANAGED_LABEL})
"""Labels every lab pod carries; shown on no pod, because they tell pods apart not at all."""

POD_W, POD_H, POD_GAP = 2.8, 1.0, 0.25
PAD, TITLE_H, NS_GAP = 0.25, 0.75, 0.5
NAMESPACE_COLOUR = "#e3f2fd"
POD_COLOUR = "#ffffff"
ARROW_COLOUR = "#2e7d32"


@dataclass(frozen=True)
class PodBox:
    """Where one pod is drawn (``x``, ``y`` is the lower left corner)."""

    key: str
    name: str
    ip: str
    labels: tuple[str, ...]
    x: float
    y: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + POD_W / 2, self.y + POD_H / 2)


@dataclass(frozen=True)
class NamespaceBox:
    name: str
    caption: str
    x: float
    y: float
    width: float
    height: float
    pods: tuple[PodBox, ...]


def layout_topology(
    inventory: Inventory,
    *,
    namespaces: Iterable[str] | None = None,
    columns: int = 3,
    captions: Mapping[str, str] | None = None,
    pod_order: Sequence[str] = (),
) -> tuple[NamespaceBox, ...]:
    """Place every namespace that has pods (or the ``namespaces`` asked for, in that order)
    in ``columns`` columns, each into the column that is shortest so far (leftmost on a tie),
    its pods stacked inside it (pods named in ``pod_order`` first, in that order, then the
    others by name)."""
    wanted = (
        list(namespaces)
        if namespaces is not None
        else sorted({p.namespace for p in inventory.pods})
    )
    captions = captions or {}
    columns = max(1, min(columns, len(wanted) or 1))
    rank = {key: k for k, key in enumerate(pod_order)}
    ordered = sorted(inventory.pods, key=lambda p: (rank.get(p.key, len(rank)), p.key))
    pods_of = {ns: [p for p in ordered if p.namespace == ns] for ns in wanted}
    width = POD_W + 2 * PAD
    depth = [0.0] * columns  # how far down each column is filled
    boxes: list[NamespaceBox] = []
    for ns in wanted:
        col = depth.index(min(depth))
        height = TITLE_H + PAD + max(1, len(pods_of[ns])) * (POD_H + POD_GAP) - POD_GAP + PAD
        x, top = col * (width + NS_GAP), -depth[col]
        pods = []
        for k, pod in enumerate(pods_of[ns]):
            py = top - TITLE_H - PAD - (k + 1) * POD_H - k * POD_GAP
            labels = tuple(
                f"{key}={value}" for key, value in pod.labels if key not in HIDDEN_LABELS
            )
            pods.append(PodBox(pod.key, pod.name, str(pod.ip or "no address"), labels, x + PAD, py))
        boxes.append(
            NamespaceBox(ns, captions.get(ns, ""), x, top - height, width, height, tuple(pods))
        )
        depth[col] += height + NS_GAP
    return tuple(boxes)


def allowed_pairs(table: TruthTable) -> list[tuple[str, str]]:
    """Ordered pairs of different peers that the table shows as allowed."""
    return [
        (src, dst)
        for i, src in enumerate(table.peers)
        for j, dst in enumerate(table.peers)
        if i != j and table.cells[i][j] is Outcome.ALLOWED
    ]


ARROWS_UP_TO = 12
"""Without chosen ``pairs``, arrows are drawn only while this few pairs are allowed (more are
a tangle that hides the picture: choose the pairs, or draw the changed ones)."""
ARROW_STYLES: dict[Outcome, tuple[str, str, str]] = {
    Outcome.ALLOWED: ("#2e7d32", "solid", "✓"),
    Outcome.BLOCKED: ("#c62828", "dashed", "✗"),
    Outcome.FAILED: ("#f9a825", "dotted", "?"),
}
"""Colour, line style and mark of an arrow per outcome: colour is never the only signal."""


def arrows(
    table: TruthTable, pairs: Iterable[tuple[str, str]] | None = None
) -> list[tuple[str, str, Outcome]]:
    """The arrows to draw: the chosen ``pairs`` with their outcome (any outcome but n/a), or
    without them every allowed pair while there are at most :data:`ARROWS_UP_TO`."""
    if pairs is None:
        found = allowed_pairs(table)
        return [(s, d, Outcome.ALLOWED) for s, d in found] if len(found) <= ARROWS_UP_TO else []
    chosen = [(s, d, table.outcome(s, d)) for s, d in pairs]
    return [(s, d, o) for s, d, o in chosen if o in ARROW_STYLES]


def _draw_arrows(
    ax: Axes, centres: Mapping[str, tuple[float, float]], drawn: list[tuple[str, str, Outcome]]
) -> None:
    from matplotlib.patches import FancyArrowPatch

    chosen = len(drawn) <= ARROWS_UP_TO
    for src, dst, outcome in drawn:
        if src not in centres or dst not in centres:
            continue
        colour, style, mark = ARROW_STYLES[outcome]
        ax.add_patch(
            FancyArrowPatch(
                centres[src],
                centres[dst],
                arrowstyle="-|>",
                mutation_scale=11 if chosen else 9,
                connectionstyle="arc3,rad=0.2",
                color=colour,
                linestyle=style,
                alpha=0.9 if chosen else 0.35,
                linewidth=1.6 if chosen else 0.8,
                gid=f"{outcome.value}:{src}->{dst}",
            )
        )
        (x1, y1), (x2, y2) = centres[src], centres[dst]
        ax.text(
            (x1 + x2) / 2,
            (y1 + y2) / 2,
            mark,
            color=colour,
            fontsize=11,
            ha="center",
            va="center",
            fontweight="bold",
            gid=f"mark:{src}->{dst}",
        )


def draw_topology(
    inventory: Inventory,
    ax: Axes | None = None,
    *,
    table: TruthTable | None = None,
    pairs: Iterable[tuple[str, str]] | None = None,
    namespaces: Iterable[str] | None = None,
    columns: int = 3,
    captions: Mapping[str, str] | None = None,
    pod_order: Sequence[str] = (),
    title: str = "",
) -> Figure:
    """Draw namespaces, pods (name, address, labels) and, with ``table``, arrows between pods
    on the map: for the chosen ``pairs`` (allowed ✓ solid, blocked ✗ dashed), or without
    them for every allowed pair while they are few (:func:`arrows`)."""
    from matplotlib.patches import FancyBboxPatch

    boxes = layout_topology(
        inventory, namespaces=namespaces, columns=columns, captions=captions, pod_order=pod_order
    )
    right = max((b.x + b.width for b in boxes), default=1.0)
    bottom = min((b.y for b in boxes), default=-1.0)
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(max(4.0, right * 1.15), max(2.5, -bottom * 1.05)))
        ax = fig.add_axes((0.01, 0.01, 0.98, 0.98 if not title else 0.92))
    else:
        from labkit.lab.heatmap import _root_figure

        fig = _root_figure(ax)
    centres: dict[str, tuple[float, float]] = {}
    for box in boxes:
        ax.add_patch(
            FancyBboxPatch(
                (box.x, box.y),
                box.width,
                box.height,
                boxstyle="round,pad=0,rounding_size=0.15",
                facecolor=NAMESPACE_COLOUR,
                edgecolor="#1565c0",
                linewidth=1.2,
                gid=f"namespace:{box.name}",
            )
        )
        ax.text(
            box.x + PAD,
            box.y + box.height - 0.28,
            box.name,
            fontsize=9.5,
            fontweight="bold",
            va="center",
            color="#0d47a1",
        )
        if box.caption:
            ax.text(
                box.x + PAD,
                box.y + box.height - 0.58,
                box.caption,
                fontsize=7,
                va="center",
                color="#1565c0",
            )
        for pod in box.pods:
            centres[pod.key] = pod.centre
            ax.add_patch(
                FancyBboxPatch(
                    (pod.x, pod.y),
                    POD_W,
                    POD_H,
                    boxstyle="round,pad=0,rounding_size=0.1",
                    facecolor=POD_COLOUR,
                    edgecolor="#546e7a",
                    gid=f"pod:{pod.key}",
                )
            )
            ax.text(
                pod.x + 0.12,
                pod.y + POD_H - 0.22,
                pod.name,
                fontsize=8.5,
                fontweight="bold",
                va="center",
            )
            ax.text(pod.x + 0.12, pod.y + POD_H - 0.5, pod.ip, fontsize=8, va="center")
            if pod.labels:
                ax.text(
                    pod.x + 0.12,
                    pod.y + 0.2,
                    ", ".join(pod.labels),
                    fontsize=7,
                    va="center",
                    color="#455a64",
                )
    drawn = arrows(table, pairs) if table is not None else []
    _draw_arrows(ax, centres, drawn)
    ax.set_xlim(-0.1, right + 0.1)
    ax.set_ylim(bottom - 0.1, 0.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    elif table is not None and pairs is not None:
        ax.set_title(f"arrows: the chosen pairs on {table.probe} (✓ allowed, ✗ blocked)")
    elif table is not None and drawn:
        ax.set_title(f"arrows: allowed on {table.probe}")
    elif table is not None:
        ax.set_title(f"too many allowed pairs on {table.probe} to draw: choose pairs=")
    return fig
