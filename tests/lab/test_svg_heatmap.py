"""The SVG heatmap of the interactive views: marks beside colours, a distinct diagonal,
namespace separators and labels, legends for what is present only, and its speed."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest

from labkit.lab.svg_heatmap import groups, labels, svg_heatmap
from labkit.lab.views import Matrices
from labkit.probe.jobs import Outcome, ProbeSpec
from labkit.probe.table import TruthTable

A, B, F, N = Outcome.ALLOWED, Outcome.BLOCKED, Outcome.FAILED, Outcome.NOT_APPLICABLE
SVG = "{http://www.w3.org/2000/svg}"
LAB = (
    "my-segment/frontend",
    "my-segment/backend",
    "my-segment/database",
    "my-segment/critical-app",
    "trusted/client",
    "untrusted/client",
    "branch-office/client",
    "backup-site/server",
    "legacy-dc/client",
)


def _square(cells: list[list[Outcome]], peers: tuple[str, ...]) -> TruthTable:
    return TruthTable(ProbeSpec(80), peers, tuple(map(tuple, cells)))


def _lab_table(blocked_to: str = "my-segment/database") -> TruthTable:
    j = LAB.index(blocked_to)
    return _square([[B if k == j and i != j else A for k in range(9)] for i in range(9)], LAB)


def _cells(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f".//{SVG}g[@class='labkit-cell']")


def _legend_text(svg: str) -> set[str]:
    return {t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")}


def test_every_cell_has_its_mark_and_words() -> None:
    table = _square([[A, B], [F, N]], ("a/x", "b/y"))
    cells = _cells(svg_heatmap(table))
    assert [c.get("data-outcome") for c in cells] == ["allowed", "blocked", "failed", "n/a"]
    marks = [c.find(f"{SVG}text").text for c in cells]  # type: ignore[union-attr]
    assert marks == ["✓", "✗", "?", "–"]
    titles = [c.find(f"{SVG}title").text for c in cells]  # type: ignore[union-attr]
    assert titles[1] == "from a/x to b/y: blocked"


@pytest.mark.parametrize(
    ("cells", "shown", "hidden"),
    [
        ([[A, A], [A, A]], {"✓ allowed"}, {"✗ blocked", "? probe failed", "– n/a"}),
        ([[A, B], [B, A]], {"✓ allowed", "✗ blocked"}, {"? probe failed", "– n/a"}),
        ([[F, N], [B, A]], {"✓ allowed", "✗ blocked", "? probe failed", "– n/a"}, set()),
    ],
)
def test_legend_lists_only_what_is_present(
    cells: list[list[Outcome]], shown: set[str], hidden: set[str]
) -> None:
    texts = _legend_text(svg_heatmap(_square(cells, ("a/x", "a/y"))))
    assert shown <= texts and not hidden & texts
    assert "Δ changed" not in texts


def test_diagonal_is_distinct_and_only_on_self_pairs() -> None:
    svg = svg_heatmap(_lab_table())
    hatched = [c for c in _cells(svg) if "url(#labkit-self)" in ET.tostring(c, encoding="unicode")]
    assert [(c.get("data-from"), c.get("data-to")) for c in hatched] == [(p, p) for p in LAB]
    assert "a pod to itself (no policy applies)" in _legend_text(svg)
    rect = TruthTable(ProbeSpec(80), ("a/x",), ((A,),), destinations=("b/y",))
    assert "a pod to itself" not in " ".join(_legend_text(svg_heatmap(rect)))


def test_namespace_separators_and_labels() -> None:
    svg = svg_heatmap(_lab_table())
    found = groups(LAB)
    assert [g.namespace for g in found][:2] == ["my-segment", "trusted"]
    separators = ET.fromstring(svg).findall(f"{SVG}line")
    assert len(separators) == 2 * (len(found) - 1)
    texts = _legend_text(svg)
    assert "my-segment" in texts and "frontend" in texts
    # a one-pod namespace has no room for a band label: its pods are named in full
    assert "trusted/client" in labels(LAB) and "frontend" in labels(LAB)


def test_changed_cells_are_outlined_and_marked() -> None:
    table = _lab_table()
    changed = {("trusted/client", "my-segment/database"): A}
    svg = svg_heatmap(table, changed=changed)
    marked = [c for c in _cells(svg) if c.get("data-changed") == "1"]
    assert [(c.get("data-from"), c.get("data-to")) for c in marked] == list(changed)
    assert "Δ" in ET.tostring(marked[0], encoding="unicode")
    assert "(changed, was allowed)" in ET.tostring(marked[0], encoding="unicode")
    assert "Δ changed" in _legend_text(svg)


def test_rectangular_tables_draw_rows_by_columns() -> None:
    rect = TruthTable(
        ProbeSpec(80),
        ("trusted/client", "untrusted/client"),
        ((A, B, A), (B, B, A)),
        destinations=("svc:my-segment/db", "my-segment/backend", "my-segment/frontend"),
    )
    cells = _cells(svg_heatmap(rect))
    assert len(cells) == 6
    assert cells[0].get("data-to") == "svc:my-segment/db"
    assert rect.outcome("untrusted/client", "my-segment/frontend") is A
    assert rect.jobs()[2].dst == "my-segment/frontend"


def test_matrices_display_as_svg_not_png() -> None:
    shown = Matrices((_lab_table(),), "test")._repr_html_()
    assert shown.count("<svg") == 1 and "<img" not in shown


def test_two_9x9_heatmaps_draw_well_within_the_budget() -> None:
    tables = (_lab_table(), _lab_table("trusted/client"))
    start = time.perf_counter()
    for _ in range(10):
        html = "".join(Matrices((t,), "x")._repr_html_() for t in tables)
    per_redraw = (time.perf_counter() - start) / 10
    assert per_redraw < 0.05, f"{per_redraw * 1000:.1f} ms for two 9x9 heatmaps"
    assert len(re.findall("labkit-cell", html)) == 2 * 81


# -- the static (matplotlib) pictures follow the same rules ----------------------------------
STATIC_WORLD = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {role: web}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.0.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {role: db}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.0.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: guest, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.0.1.5}
"""
PEERS = ("shop/web", "shop/db", "guest/client")


def _static_labels(cells: list[list[Outcome]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    from labkit.lab.heatmap import heatmap

    legend = heatmap(_square(cells, PEERS)).axes[0].get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def test_static_heatmap_legend_lists_only_what_is_present() -> None:
    assert _static_labels([[A] * 3] * 3) == ["✓ allowed"]
    assert _static_labels([[A, B, A], [A, A, A], [A, A, F]]) == [
        "✓ allowed",
        "✗ blocked",
        "? probe failed",
    ]


def test_static_heatmap_diagonal_and_separators() -> None:
    from labkit.lab.heatmap import heatmap

    ax = heatmap(_square([[A] * 3] * 3, PEERS)).axes[0]
    selves = sorted(str(p.get_gid()) for p in ax.patches if str(p.get_gid()).startswith("self:"))
    assert selves == sorted(f"self:{p}" for p in PEERS)
    separators = [ln for ln in ax.lines if str(ln.get_gid()).startswith("separator:")]
    assert len(separators) == 2  # one between shop and guest, across and down
    rect = TruthTable(ProbeSpec(80), ("guest/client",), ((A, B),), destinations=PEERS[:2])
    rect_ax = heatmap(rect).axes[0]
    assert [t.get_text() for t in rect_ax.get_xticklabels()] == list(PEERS[:2])
    assert not [p for p in rect_ax.patches if str(p.get_gid()).startswith("self:")]


def test_topology_arrows_only_for_chosen_pairs() -> None:
    from matplotlib.patches import FancyArrowPatch

    from labkit.lab.topology import ARROWS_UP_TO, allowed_pairs, arrows, draw_topology
    from labkit.model.inventory import inventory_from_text

    inventory = inventory_from_text(STATIC_WORLD)
    table = _square([[A, B, A], [A, A, B], [A, A, A]], PEERS)
    chosen = [("guest/client", "shop/db"), ("shop/web", "shop/db")]
    ax = draw_topology(inventory, table=table, pairs=chosen).axes[0]
    drawn = sorted(str(p.get_gid()) for p in ax.patches if isinstance(p, FancyArrowPatch))
    assert drawn == ["allowed:guest/client->shop/db", "blocked:shop/web->shop/db"]
    marks = {t.get_text() for t in ax.texts if str(t.get_gid()).startswith("mark:")}
    assert marks == {"✓", "✗"}  # the outcome is written on the arrow, not only coloured
    many = TruthTable(ProbeSpec(80), tuple(f"n/p{k}" for k in range(5)), ((A,) * 5,) * 5)
    assert len(allowed_pairs(many)) == 20 > ARROWS_UP_TO
    assert arrows(many) == []  # a tangle of arrows hides the picture: choose pairs instead
