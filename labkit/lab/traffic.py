"""Watching traffic (lesson 10): ``lab.flows()``, ``lab.snapshot()``, ``lab.changes(a, b)``.

The records come from :mod:`labkit.cluster.flows` (the simulated backend's probes, or
Calico's Goldmane on kind); a snapshot is the observed matrix at one moment, and
``changes`` draws what differs between two snapshots (:mod:`labkit.lab.diffview`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from labkit.cluster.flows import FlowRecord

if TYPE_CHECKING:
    import pandas as pd

    from labkit.lab.diffview import Diff
    from labkit.lab.views import Matrices

COLUMNS = ("time", "source", "destination", "port", "protocol", "verdict", "policy")


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%H:%M:%S")


@dataclass(frozen=True)
class Flows(Sequence[FlowRecord]):
    """Flow records, oldest first; ``.frame`` is a pandas DataFrame of them."""

    records: tuple[FlowRecord, ...]
    source: str

    def __getitem__(self, index: int) -> FlowRecord:  # type: ignore[override]
        return self.records[index]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[FlowRecord]:
        return iter(self.records)

    @property
    def frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [r.as_dict() for r in self.records]
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
        return frame

    def __str__(self) -> str:
        lines = [f"{len(self)} flows ({self.source})"]
        lines += [
            f"{_when(r.time)} {r.source} -> {r.destination} {r.port}/{r.protocol} "
            f"{r.verdict}: {r.policy}"
            for r in self.records
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = f"<p>{len(self)} flows ({html.escape(self.source)})</p>"
        if not self.records:
            return head + "<p>No flows yet: run a probe (lab.check or lab.probe_matrix).</p>"
        return head + str(self.frame.to_html(index=False))


@dataclass(frozen=True)
class Snapshot:
    """The observed matrices at one moment."""

    taken: float
    matrices: Matrices

    def _repr_html_(self) -> str:
        return f"<p>snapshot at {_when(self.taken)} UTC</p>" + self.matrices._repr_html_()


def snapshot(matrices: Matrices) -> Snapshot:
    return Snapshot(time.time(), matrices)


def changes(before: Snapshot, after: Snapshot) -> Diff:
    from labkit.lab.diffview import diff_tables

    return diff_tables(before.matrices.tables, after.matrices.tables)
