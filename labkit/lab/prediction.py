"""Predict, then verify: ``lab.predict`` and ``lab.verify``.

:class:`Prediction` holds the learner's matrix for one probe: rows are sources, columns
destinations, each cell ``True`` (allowed), ``False`` (blocked) or ``None`` (not predicted yet;
every cell starts so). In a notebook it shows as a grid of buttons; a click cycles a cell
between allowed and blocked. :meth:`Prediction.set` fills it from code. Headless runs (no
front end: widgets do nothing) take the value from the lesson's solutions when the
environment variable ``LABKIT_LESSON_ANSWERS`` names a YAML mapping with the key
``prediction:<key>`` -> a matrix of booleans (``labkit lessons verify`` sets it). Each change
is saved in the progress store under ``predictions.<key>`` (:mod:`labkit.lab.progress_store`).

:func:`verify` compares with a probe run now: :class:`Verification` draws prediction,
observation and their difference side by side, explains each wrong cell with the engine's
``explain`` and records the check ``prediction:<key>`` (passed when every cell was right).
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labkit.errors import LabkitError
from labkit.probe.jobs import Outcome, ProbeSpec
from labkit.probe.table import TruthTable

log = logging.getLogger(__name__)

ANSWERS_ENV = "LABKIT_LESSON_ANSWERS"
Cell = bool | None


def preset(key: str) -> list[list[bool]] | None:
    """The matrix for ``prediction:<key>`` in ``$LABKIT_LESSON_ANSWERS``, if any."""
    path = os.environ.get(ANSWERS_ENV, "").strip()
    if not path:
        return None
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LabkitError(f"{ANSWERS_ENV}={path}: cannot read the answers: {exc}") from None
    value = data.get(f"prediction:{key}") if isinstance(data, dict) else None
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(row, list) and all(isinstance(c, bool) for c in row) for row in value
    ):
        raise LabkitError(f"{path}: prediction:{key} must be a list of rows of true/false")
    return [list(row) for row in value]


class Prediction:
    """A learner's predicted matrix (see the module); ``value`` is a tuple of rows."""

    def __init__(
        self, key: str, probe: ProbeSpec, sources: Sequence[str], destinations: Sequence[str]
    ) -> None:
        if not key.strip():
            raise LabkitError("a prediction needs a key (predict(..., key='dns-trap'))")
        self.key = key
        self.probe = probe
        self.sources = tuple(sources)
        self.destinations = tuple(destinations)
        self._cells: list[list[Cell]] = [[None] * len(self.destinations) for _ in self.sources]
        self._buttons: list[list[Any]] = []
        found = preset(key)
        if found is not None:
            self.set(found)

    @property
    def value(self) -> tuple[tuple[Cell, ...], ...]:
        return tuple(tuple(row) for row in self._cells)

    @property
    def complete(self) -> bool:
        return all(c is not None for row in self._cells for c in row)

    def set(self, matrix: Sequence[Sequence[bool]]) -> Prediction:
        """Fill every cell (rows: sources, columns: destinations; True = allowed)."""
        shape = (len(self.sources), len(self.destinations))
        if len(matrix) != shape[0] or any(len(row) != shape[1] for row in matrix):
            raise LabkitError(
                f"prediction {self.key!r} is {shape[0]} rows x {shape[1]} columns "
                f"({', '.join(self.sources)} -> {', '.join(self.destinations)})"
            )
        self._cells = [[bool(c) for c in row] for row in matrix]
        for i, row in enumerate(self._buttons):
            for j, button in enumerate(row):
                _style(button, self._cells[i][j])
        self._save()
        return self

    def toggle(self, row: int, column: int) -> None:
        """What a click does: unset or blocked becomes allowed, allowed becomes blocked."""
        self._cells[row][column] = not self._cells[row][column]
        if self._buttons:
            _style(self._buttons[row][column], self._cells[row][column])
        self._save()

    def as_table(self) -> TruthTable:
        def outcome(cell: Cell) -> Outcome:
            return Outcome.NOT_APPLICABLE if cell is None else _outcome(cell)

        cells = tuple(tuple(outcome(c) for c in row) for row in self._cells)
        return TruthTable(self.probe, self.sources, cells, destinations=self.destinations)

    def _save(self) -> None:
        from labkit.lab.progress_store import record_quietly

        record_quietly("prediction", self.key, self._record())

    def _record(self) -> dict[str, Any]:
        return {
            "probe": str(self.probe),
            "rows": list(self.sources),
            "columns": list(self.destinations),
            "matrix": [list(row) for row in self._cells],
        }

    def widget(self) -> Any:
        """The clickable grid (ipywidgets)."""
        import ipywidgets as widgets

        corner = widgets.HTML(value=f"<b>{html.escape(str(self.probe))}</b> from \\ to")
        header = [corner, *(widgets.HTML(value=html.escape(d)) for d in self.destinations)]
        self._buttons = []
        rows = [widgets.HBox(header)]
        for i, src in enumerate(self.sources):
            buttons = []
            for j, dst in enumerate(self.destinations):
                button = widgets.Button(tooltip=f"{src} -> {dst}")
                button.add_class("labkit-predict-cell")
                _style(button, self._cells[i][j])
                button.on_click(_on_click(self, i, j))
                buttons.append(button)
            self._buttons.append(buttons)
            rows.append(widgets.HBox([widgets.HTML(value=html.escape(src)), *buttons]))
        box = widgets.VBox(rows)
        box.add_class("labkit-predict")
        return box

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return (
            f"Prediction({self.key!r}, {self.probe}, {len(self.sources)}x{len(self.destinations)})"
        )


_LOOKS = {None: ("?", ""), True: ("✓ allowed", "success"), False: ("✗ blocked", "danger")}


def _style(button: Any, cell: Cell) -> None:
    button.description, button.button_style = _LOOKS[cell]


def _on_click(prediction: Prediction, row: int, column: int) -> Callable[[Any], None]:
    def handle(_button: Any) -> None:
        prediction.toggle(row, column)

    return handle


@dataclass(frozen=True)
class WrongCell:
    source: str
    destination: str
    predicted: Cell
    observed: Outcome
    why: str


@dataclass(frozen=True)
class Verification:
    """Prediction, observation and the cells that differ, each explained."""

    key: str
    prediction: TruthTable
    observed: TruthTable
    wrong: tuple[WrongCell, ...]
    changed: dict[tuple[str, str], Outcome | None] = field(default_factory=dict)
    """With ``verify(prediction, before=...)``: pairs whose outcome changed since ``before``,
    mapped to the outcome they had then."""

    @property
    def passed(self) -> bool:
        """Every cell right, and every probe worked (a failed probe proves nothing)."""
        return not self.wrong and not any(Outcome.FAILED in row for row in self.observed.cells)

    def lines(self) -> list[str]:
        total = len(self.observed.peers) * len(self.observed.columns)
        head = f"prediction {self.key}: {total - len(self.wrong)} of {total} cells right"
        return [head, *(_wrong_line(w) for w in self.wrong)]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        from labkit.lab.svg_heatmap import svg_heatmap

        pairs = {(w.source, w.destination): _predicted_outcome(w.predicted) for w in self.wrong}
        panels = [
            ("Your prediction", svg_heatmap(self.prediction)),
            ("Observed now", svg_heatmap(self.observed)),
            ("Difference (Δ: you predicted otherwise)", svg_heatmap(self.observed, changed=pairs)),
        ]
        if self.changed:
            since = svg_heatmap(self.observed, changed=self.changed)
            panels.append(("Before/after (Δ: changed since before)", since))
        body = "".join(
            f"<div class='labkit-verify-panel'><b>{html.escape(t)}</b>{svg}</div>"
            for t, svg in panels
        )
        items = "".join(f"<li>{html.escape(_wrong_line(w))}</li>" for w in self.wrong)
        return (
            f"<div class='labkit-verify'><p><b>{html.escape(self.lines()[0])}</b></p>"
            f"<div style='display:flex;flex-wrap:wrap;gap:1em'>{body}</div>"
            f"<ul class='labkit-verify-wrong'>{items}</ul></div>"
        )


def _predicted_outcome(cell: Cell) -> Outcome | None:
    return None if cell is None else _outcome(cell)


def _outcome(allowed: bool) -> Outcome:
    return Outcome.ALLOWED if allowed else Outcome.BLOCKED


def _wrong_line(w: WrongCell) -> str:
    said = "nothing" if w.predicted is None else "allowed" if w.predicted else "blocked"
    return f"{w.source} -> {w.destination}: you said {said}, observed {w.observed.value}. {w.why}"


def changes_since(before: TruthTable, now: TruthTable) -> dict[tuple[str, str], Outcome | None]:
    """Pairs of ``now`` whose outcome differs from ``before`` (matched by name), with the old
    outcome; pairs ``before`` does not hold are left out."""
    old = {
        (src, dst): before.cells[i][j]
        for i, src in enumerate(before.peers)
        for j, dst in enumerate(before.columns)
    }
    return {
        (src, dst): old[src, dst]
        for i, src in enumerate(now.peers)
        for j, dst in enumerate(now.columns)
        if (src, dst) in old and old[src, dst] != now.cells[i][j]
    }


def compare(
    prediction: Prediction,
    observed: TruthTable,
    explain: Callable[[str, str], str],
    before: TruthTable | None = None,
) -> Verification:
    """The verification of ``prediction`` against ``observed`` (same rows and columns);
    ``explain(src, dst)`` says why a wrong cell came out as it did; ``before``: the same
    probe's matrix before the change, for the before/after panel."""
    wrong = []
    for i, src in enumerate(observed.peers):
        for j, dst in enumerate(observed.columns):
            seen = observed.cells[i][j]
            said = prediction.value[i][j]
            if seen in (Outcome.ALLOWED, Outcome.BLOCKED) and said is not (seen is Outcome.ALLOWED):
                wrong.append(WrongCell(src, dst, said, seen, explain(src, dst)))
    changed = changes_since(before, observed) if before is not None else {}
    return Verification(prediction.key, prediction.as_table(), observed, tuple(wrong), changed)
