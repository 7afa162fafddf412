"""``lab.diff(before, after)``: what changed between two sets of matrices (probed or
predicted), as heatmaps of ``after`` with each changed cell outlined and marked ``Δ``, and a
list of the changes in words (colour is never the only signal)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from labkit.lab.heatmap import OUTCOME_LABELS
from labkit.lab.svg_heatmap import svg_heatmap
from labkit.probe.jobs import Outcome, ProbeSpec
from labkit.probe.table import TruthTable


@dataclass(frozen=True)
class Change:
    """One pair whose outcome differs between ``before`` and ``after`` on one probe."""

    probe: ProbeSpec
    src: str
    dst: str
    before: Outcome
    after: Outcome

    def __str__(self) -> str:
        return (
            f"{self.src} -> {self.dst} {self.probe}: "
            f"{OUTCOME_LABELS[self.before]} -> {OUTCOME_LABELS[self.after]}"
        )


def table_changes(before: TruthTable, after: TruthTable) -> list[Change]:
    """The cells of the pairs both tables hold whose outcome differs, in ``after``'s order."""
    rows, cols = set(before.peers), set(before.columns)
    return [
        Change(after.probe, src, dst, before.outcome(src, dst), after.cells[i][j])
        for i, src in enumerate(after.peers)
        if src in rows
        for j, dst in enumerate(after.columns)
        if dst in cols and before.outcome(src, dst) != after.cells[i][j]
    ]


@dataclass(frozen=True)
class Diff(Sequence[Change]):
    """Changed cells between two sets of matrices; displays as heatmaps with the changes
    marked, and the changes in words. Index it like a list of :class:`Change`."""

    after: tuple[TruthTable, ...]
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Change]: ...

    def __getitem__(self, index: int | slice) -> Change | Sequence[Change]:
        return self.changes[index]

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def summary(self) -> str:
        if not self.changes:
            return "nothing changed"
        n = len(self.changes)
        return f"{n} pair{'s' if n != 1 else ''} changed"

    def __str__(self) -> str:
        return "\n".join([self.summary(), *(f"  {c}" for c in self.changes), *self.notes])

    def _repr_html_(self) -> str:
        pictures = []
        for table in self.after:
            marked = {(c.src, c.dst): c.before for c in self.changes if c.probe == table.probe}
            pictures.append(
                "<div class='labkit-diff-matrix'>"
                + svg_heatmap(table, changed=marked, title=f"after, probe {table.probe}")
                + "</div>"
            )
        words = "".join(f"<li>{html.escape(str(c))}</li>" for c in self.changes)
        notes = "".join(f"<div><i>{html.escape(n)}</i></div>" for n in self.notes)
        return (
            f"<div class='labkit-diff'><b>{html.escape(self.summary())}</b>"
            "<div style='display:flex;flex-wrap:wrap;gap:1em'>"
            + "".join(pictures)
            + f"</div><ul>{words}</ul>{notes}</div>"
        )


def _by_probe(tables: Iterable[TruthTable]) -> dict[ProbeSpec, TruthTable]:
    return {t.probe: t for t in tables}


def diff_tables(before: Iterable[TruthTable], after: Iterable[TruthTable]) -> Diff:
    """Compare the tables of the same probe; pairs only one side holds are noted, not compared."""
    old, new = _by_probe(before), _by_probe(after)
    changes: list[Change] = []
    notes: list[str] = []
    for probe, table in new.items():
        if probe not in old:
            notes.append(f"probe {probe} is only in 'after': not compared")
            continue
        changes += table_changes(old[probe], table)
        if set(old[probe].peers) != set(table.peers) or set(old[probe].columns) != set(
            table.columns
        ):
            notes.append(f"probe {probe}: only the pairs both matrices hold are compared")
    notes += [f"probe {p} is only in 'before': not compared" for p in old if p not in new]
    return Diff(tuple(new.values()), tuple(changes), tuple(notes))
