"""Heatmaps and the topology map: right labels, one cell per pair, colours per outcome."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.colors import to_hex
from matplotlib.image import AxesImage
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from labkit.engine.evaluator import Engine
from labkit.engine.matrix import compute_matrix
from labkit.lab.heatmap import (
    OUTCOME_COLOURS,
    OUTCOME_MARKS,
    connectivity_category,
    connectivity_heatmap,
    connectivity_mark,
    heatmap,
)
from labkit.lab.topology import allowed_pairs, draw_topology, layout_topology
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import load_text
from labkit.probe.jobs import Outcome, ProbeSpec
from labkit.probe.table import ConnectivityTable, TruthTable

A, B, F, N = Outcome.ALLOWED, Outcome.BLOCKED, Outcome.FAILED, Outcome.NOT_APPLICABLE
PEERS = ("shop/web", "shop/db", "guest/client")

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {role: web, labkit.dev/managed: "true"}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {role: db}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 5432}]}]}
status: {podIP: 10.0.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: guest, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.0.1.5}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: web}}}]
    ports: [{port: 5432}]
"""


@pytest.fixture
def inventory() -> Inventory:
    return build_inventory(load_text(MANIFESTS))


@pytest.fixture
def table() -> TruthTable:
    cells = ((A, B, F), (N, A, B), (A, A, A))
    return TruthTable(ProbeSpec(80), PEERS, cells)


def _image(fig: matplotlib.figure.Figure) -> AxesImage:
    images = fig.axes[0].get_images()
    assert len(images) == 1
    return images[0]


def test_heatmap_labels_rows_are_sources(table: TruthTable) -> None:
    fig = heatmap(table)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(PEERS)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(PEERS)
    assert "from" in ax.get_ylabel() and "to" in ax.get_xlabel()
    assert "80/TCP" in ax.get_title()
    assert "5 allowed" in ax.get_title() and "2 blocked" in ax.get_title()


def test_heatmap_has_one_annotated_cell_per_pair(table: TruthTable) -> None:
    fig = heatmap(table)
    ax = fig.axes[0]
    assert _image(fig).get_array().shape == (3, 3)
    marks = {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts
    }
    assert len(ax.texts) == 9
    for i, row in enumerate(table.cells):
        for j, cell in enumerate(row):
            assert marks[(i, j)] == OUTCOME_MARKS[cell]


@pytest.mark.parametrize(("i", "j", "outcome"), [(0, 0, A), (0, 1, B), (0, 2, F), (1, 0, N)])
def test_heatmap_colour_per_outcome(table: TruthTable, i: int, j: int, outcome: Outcome) -> None:
    image = _image(heatmap(table))
    value = image.get_array()[i, j]
    assert to_hex(image.to_rgba(value)) == OUTCOME_COLOURS[outcome]


def test_heatmap_legend_names_every_outcome(table: TruthTable) -> None:
    legend = heatmap(table).axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["✓ allowed", "✗ blocked", "? probe failed", "– n/a"]


def test_heatmap_draws_into_given_axes(table: TruthTable) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert heatmap(table, ax=right) is fig
    assert not left.get_images() and right.get_images()


@pytest.mark.parametrize(
    ("text", "category", "mark"),
    [
        ("All", "all", "all"),
        ("", "nothing", "✗"),
        (None, "n/a", "–"),
        ("TCP 5432", "some", "TCP 5432"),
        ("TCP 80,443; UDP 53", "some", "some"),
    ],
)
def test_connectivity_cells(text: str | None, category: str, mark: str) -> None:
    assert connectivity_category(text) == category
    assert connectivity_mark(text) == mark


def test_connectivity_heatmap_from_engine(inventory: Inventory) -> None:
    engine = Engine(inventory)
    matrix = compute_matrix(engine, list(inventory.pods))
    fig = connectivity_heatmap(ConnectivityTable(matrix))
    ax = fig.axes[0]
    peers = [t.get_text() for t in ax.get_yticklabels()]
    assert peers == list(matrix.peers)
    texts = {
        (peers[round(t.get_position()[1])], peers[round(t.get_position()[0])]): t.get_text()
        for t in ax.texts
    }
    assert len(texts) == 9
    assert texts[("shop/web", "shop/db")] == "TCP 5432"  # the policy's one port
    assert texts[("guest/client", "shop/db")] == "✗"  # not selected by the rule's peer
    assert texts[("shop/db", "guest/client")] == "all"  # nothing isolates the client


def test_layout_stacks_pods_inside_their_namespace(inventory: Inventory) -> None:
    boxes = layout_topology(inventory, captions={"shop": "pool X"})
    assert [b.name for b in boxes] == ["guest", "shop"]
    shop = boxes[1]
    assert shop.caption == "pool X"
    assert [p.name for p in shop.pods] == ["db", "web"]
    for pod in shop.pods:
        assert shop.x <= pod.x and pod.x + 2.8 <= shop.x + shop.width
        assert shop.y <= pod.y and pod.y + 1.0 <= shop.y + shop.height
    web = shop.pods[1]
    assert web.ip == "10.0.0.10"
    assert web.labels == ("role=web",)  # the managed label is hidden


def test_layout_pod_order(inventory: Inventory) -> None:
    boxes = layout_topology(inventory, pod_order=["shop/web"])
    assert [p.name for p in boxes[1].pods] == ["web", "db"]


def test_layout_one_column_stacks(inventory: Inventory) -> None:
    boxes = layout_topology(inventory, columns=1)
    assert boxes[0].x == boxes[1].x
    assert boxes[1].y + boxes[1].height < boxes[0].y


def test_layout_fills_the_shortest_column(inventory: Inventory) -> None:
    # shop (2 pods) goes left, guest (1 pod) right; a third namespace goes under guest
    boxes = layout_topology(inventory, namespaces=["shop", "guest", "extra"], columns=2)
    shop, guest, extra = boxes
    assert shop.x == 0 and guest.x > shop.x and extra.x == guest.x
    assert extra.y + extra.height < guest.y
    assert shop.height > guest.height


def test_draw_topology_shows_names_and_addresses(inventory: Inventory) -> None:
    fig = draw_topology(inventory)
    ax = fig.axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert {"guest", "shop", "web", "db", "client"} <= texts
    assert {"10.0.0.10", "10.0.0.11", "10.0.1.5"} <= texts
    gids = [p.get_gid() for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert sorted(gids) == [
        "namespace:guest",
        "namespace:shop",
        "pod:guest/client",
        "pod:shop/db",
        "pod:shop/web",
    ]
    assert not [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def test_draw_topology_arrows_for_allowed_pairs(inventory: Inventory, table: TruthTable) -> None:
    fig = draw_topology(inventory, table=table)
    arrows = [p.get_gid() for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    # allowed pairs of different peers: client->web, client->db (self pairs are not drawn)
    assert allowed_pairs(table) == [("guest/client", "shop/web"), ("guest/client", "shop/db")]
    assert sorted(arrows) == ["allowed:guest/client->shop/db", "allowed:guest/client->shop/web"]


def test_draw_topology_only_asked_namespaces(inventory: Inventory) -> None:
    fig = draw_topology(inventory, namespaces=["shop"])
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert "shop" in texts and "guest" not in texts and "client" not in texts


def test_heatmap_of_an_empty_table_says_so() -> None:
    fig = heatmap(TruthTable(ProbeSpec(80), (), ()))
    ax = fig.axes[0]
    assert not ax.get_images()
    assert [t.get_text() for t in ax.texts] == ["no pods to show"]
