"""Truth tables as SVG heatmaps, for the interactive views (predict, verify, diff, what-if).

Built as a string in a few milliseconds (no matplotlib, whose figures take a quarter of a
second each), so a policy edit redraws at once. The picture follows the lab's rules:

* rows are sources, columns destinations; a rectangular table is drawn as it is;
* colour is never the only signal: each cell carries its mark (``✓ ✗ ? –``), a pair that
  changed has a thick outline and a ``Δ``, and every cell has a tooltip in words;
* the diagonal (a pod to itself) is hatched and outlined with dashes, since that traffic
  never leaves the pod and no policy applies to it;
* pods are grouped by namespace, with a separator line and the namespace's name on both axes;
* the legend lists only what the picture shows.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from labkit.lab.heatmap import OUTCOME_COLOURS, OUTCOME_LABELS, OUTCOME_MARKS, OUTCOME_ORDER
from labkit.probe.jobs import Outcome
from labkit.probe.table import TruthTable

CELL = 30
"""Side of a cell, in pixels."""
CHAR = 7.0
"""Width of one label character at the labels' font size (12 px), in pixels."""
BAND = 18
"""Height of the namespace band above the columns and width of the one left of the rows."""
LEGEND_ROW = 18
DARK_TEXT = frozenset({Outcome.FAILED})
"""Outcomes whose colour is light enough for black marks (the others take white)."""

Pair = tuple[str, str]


@dataclass(frozen=True)
class Group:
    """A run of consecutive peers of one namespace: its name, first index and length."""

    namespace: str
    start: int
    size: int


def namespace_of(peer: str) -> str:
    """The namespace a peer is drawn under (``svc:NS/NAME`` under NS; addresses apart)."""
    if peer.startswith("ip:"):
        return "addresses"
    return peer.removeprefix("svc:").partition("/")[0] if "/" in peer else ""


def short_name(peer: str) -> str:
    """The label of a peer inside its namespace group."""
    if peer.startswith("ip:"):
        return peer[3:]
    prefix = "svc:" if peer.startswith("svc:") else ""
    return prefix + peer.removeprefix("svc:").partition("/")[2] if "/" in peer else peer


def band_fits(group: Group) -> bool:
    """Whether the namespace's name fits in its band (else each label says its namespace)."""
    return len(group.namespace) * CHAR * 0.9 <= group.size * CELL


def labels(peers: Sequence[str]) -> list[str]:
    """Each peer's label: its short name under a namespace band it fits in, else in full."""
    out: list[str] = []
    for group in groups(peers):
        run = peers[group.start : group.start + group.size]
        fits = band_fits(group)
        out += [short_name(p) if fits else p.removeprefix("ip:") for p in run]
    return out


def groups(peers: Sequence[str]) -> list[Group]:
    """Consecutive runs of peers in the same namespace."""
    out: list[Group] = []
    for index, peer in enumerate(peers):
        namespace = namespace_of(peer)
        if out and out[-1].namespace == namespace:
            last = out[-1]
            out[-1] = Group(namespace, last.start, last.size + 1)
        else:
            out.append(Group(namespace, index, 1))
    return out


def _text(x: float, y: float, text: str, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" {extra}>{html.escape(text)}</text>'


def _legend(x: float, y: float, outcomes: Sequence[Outcome], diagonal: bool, changed: bool) -> str:
    items = [
        (
            f'<rect width="12" height="12" fill="{OUTCOME_COLOURS[o]}"/>',
            f"{OUTCOME_MARKS[o]} {OUTCOME_LABELS[o]}",
        )
        for o in outcomes
    ]
    if diagonal:
        items.append(
            (
                '<rect width="12" height="12" fill="url(#labkit-self)" stroke="#333" '
                'stroke-dasharray="2,2"/>',
                "a pod to itself (no policy applies)",
            )
        )
    if changed:
        items.append(
            (
                '<rect width="12" height="12" fill="none" stroke="#000" stroke-width="3"/>',
                "Δ changed",
            )
        )
    return "".join(
        f'<g transform="translate({x:.1f},{y + k * LEGEND_ROW:.1f})">{swatch}'
        + _text(18, 11, label)
        + "</g>"
        for k, (swatch, label) in enumerate(items)
    )


def _cell(
    table: TruthTable, i: int, j: int, x: float, y: float, changed: dict[Pair, Outcome | None]
) -> str:
    src, dst = table.peers[i], table.columns[j]
    outcome = table.cells[i][j]
    was = changed.get((src, dst))
    tip = f"from {src} to {dst}: {OUTCOME_LABELS[outcome]}"
    is_changed = (src, dst) in changed
    if is_changed:
        tip += f" (changed, was {OUTCOME_LABELS[was]})" if was is not None else " (changed)"
    fill = OUTCOME_COLOURS[outcome]
    colour = "#000" if outcome in DARK_TEXT else "#fff"
    flag = ' data-changed="1"' if is_changed else ""
    parts = [
        f'<g class="labkit-cell" data-from="{html.escape(src)}" data-to="{html.escape(dst)}" '
        f'data-outcome="{outcome.value}"{flag}>'
        f"<title>{html.escape(tip)}</title>"
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{CELL}" height="{CELL}" fill="{fill}" '
        'stroke="#fff" stroke-width="1"/>'
    ]
    if src == dst:
        parts.append(
            f'<rect x="{x + 1.5:.1f}" y="{y + 1.5:.1f}" width="{CELL - 3}" height="{CELL - 3}" '
            'fill="url(#labkit-self)" stroke="#222" stroke-dasharray="3,2" stroke-width="1.5"/>'
        )
    mark = OUTCOME_MARKS[outcome]
    parts.append(
        _text(
            x + CELL / 2,
            y + CELL / 2 + 5,
            mark,
            f'text-anchor="middle" fill="{colour}" font-size="15" font-weight="bold"',
        )
    )
    if is_changed:
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y + 2:.1f}" width="{CELL - 4}" height="{CELL - 4}" '
            'fill="none" stroke="#000" stroke-width="3"/>'
            + _text(x + CELL - 4, y + 11, "Δ", f'text-anchor="end" fill="{colour}" font-size="9"')
        )
    parts.append("</g>")
    return "".join(parts)


def _separators(
    row_groups: list[Group], col_groups: list[Group], left: float, top: float, w: float, h: float
) -> str:
    lines = [
        f'<line x1="{left - BAND:.1f}" y1="{top + g.start * CELL:.1f}" x2="{left + w:.1f}" '
        f'y2="{top + g.start * CELL:.1f}" stroke="#111" stroke-width="2"/>'
        for g in row_groups[1:]
    ]
    lines += [
        f'<line x1="{left + g.start * CELL:.1f}" y1="{top - BAND:.1f}" '
        f'x2="{left + g.start * CELL:.1f}" y2="{top + h:.1f}" stroke="#111" stroke-width="2"/>'
        for g in col_groups[1:]
    ]
    return "".join(lines)


def _namespace_bands(
    row_groups: list[Group], col_groups: list[Group], left: float, top: float
) -> str:
    parts = []
    for g in filter(band_fits, col_groups):
        mid = left + (g.start + g.size / 2) * CELL
        parts.append(
            _text(
                mid, top - 5, g.namespace, 'text-anchor="middle" font-weight="bold" font-size="11"'
            )
        )
    for g in filter(band_fits, row_groups):
        mid = top + (g.start + g.size / 2) * CELL
        parts.append(
            _text(
                left - BAND + 12,
                mid,
                g.namespace,
                f'text-anchor="middle" font-weight="bold" '
                f'font-size="11" transform="rotate(-90 {left - BAND + 12:.1f} {mid:.1f})"',
            )
        )
    return "".join(parts)


def svg_heatmap(
    table: TruthTable,
    *,
    changed: Collection[Pair] | dict[Pair, Outcome | None] = (),
    title: str | None = None,
) -> str:
    """One probe's outcomes as an ``<svg>``; ``changed`` marks pairs (``(src, dst)``, or a
    mapping to the outcome they had before) with an outline and ``Δ``."""
    was: dict[Pair, Outcome | None] = (
        dict(changed) if isinstance(changed, dict) else dict.fromkeys(changed)
    )
    rows, cols = table.peers, table.columns
    row_names, col_names = labels(rows), labels(cols)
    row_labels = max(map(len, row_names), default=4) * CHAR + 8
    col_labels = max(map(len, col_names), default=4) * CHAR * 0.72 + 8
    left, top = row_labels + BAND + 4, col_labels + BAND + 26
    width, height = len(cols) * CELL, len(rows) * CELL
    present = [o for o in OUTCOME_ORDER if any(o in row for row in table.cells)]
    diagonal = any(r in cols for r in rows)
    counts = ", ".join(
        f"{sum(row.count(o) for row in table.cells)} {OUTCOME_LABELS[o]}" for o in present
    )
    heading = title or f"probe {table.probe}: {counts}"
    legend_x = left + width + 16
    legend_rows = len(present) + int(diagonal) + int(bool(was))
    total_w = legend_x + 250
    total_h = max(top + height + 24, top + legend_rows * LEGEND_ROW + 8)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="labkit-heatmap" role="img" '
        f'width="{total_w:.0f}" height="{total_h:.0f}" font-family="sans-serif" font-size="12" '
        f'aria-label="{html.escape(heading)}">'
        '<defs><pattern id="labkit-self" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="none"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-opacity=".55" '
        'stroke-width="2"/></pattern></defs>',
        _text(4, 16, heading, 'font-weight="bold" font-size="13"'),
        _text(left + width / 2, top + height + 18, "to (destination) →", 'text-anchor="middle"'),
    ]
    for j, name in enumerate(col_names):
        x = left + j * CELL + CELL / 2 + 4
        y = top - BAND - 4
        parts.append(_text(x, y, name, f'transform="rotate(-45 {x:.1f} {y:.1f})"'))
    for i, name in enumerate(row_names):
        parts.append(
            _text(
                left - BAND - 6,
                top + i * CELL + CELL / 2 + 4,
                name,
                'text-anchor="end"',
            )
        )
    parts.append(_text(4, top - 6, "from ↓", 'font-style="italic"'))
    parts += [
        _cell(table, i, j, left + j * CELL, top + i * CELL, was)
        for i in range(len(rows))
        for j in range(len(cols))
    ]
    parts.append(_separators(groups(rows), groups(cols), left, top, width, height))
    parts.append(_namespace_bands(groups(rows), groups(cols), left, top))
    parts.append(_legend(legend_x, top, present, diagonal, bool(was)))
    parts.append("</svg>")
    return "".join(parts)


def heatmaps_html(tables: Sequence[TruthTable], captions: Sequence[str] = ()) -> str:
    """Several heatmaps side by side (wrapping on narrow screens), each with a caption."""
    cells = []
    for k, table in enumerate(tables):
        caption = captions[k] if k < len(captions) else ""
        head = f"<div><b>{html.escape(caption)}</b></div>" if caption else ""
        cells.append(
            f"<div class='labkit-matrix' data-probe='{html.escape(str(table.probe))}'>"
            f"{head}{svg_heatmap(table)}</div>"
        )
    return (
        "<div style='display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start'>"
        + "".join(cells)
        + "</div>"
    )
