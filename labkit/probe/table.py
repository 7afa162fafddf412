"""Truth tables: one per probe (an outcome per ordered pair). Rendering to text, CSV, JSON
and pandas lives here, apart from evaluation. The full connectivity table (allowed ports per
pair) lives in :mod:`labkit.probe.connectivity` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.extras import lab_extra
from labkit.probe.connectivity import ConnectivityTable
from labkit.probe.jobs import Job, Outcome, ProbeSpec, Result

if TYPE_CHECKING:  # pandas is imported lazily: `labkit matrix` must start fast
    import pandas as pd

    from labkit.engine.matrix import ConnectivityMatrix

__all__ = ["ConnectivityTable", "TruthTable"]


@dataclass(frozen=True)
class TruthTable:
    """Outcomes for every ordered pair of ``peers`` on one probe (rows are sources). A
    rectangular table gives its columns in ``destinations``; without them the columns are
    ``peers`` too (:attr:`columns`)."""

    probe: ProbeSpec
    peers: tuple[str, ...]
    cells: tuple[tuple[Outcome, ...], ...]
    details: tuple[tuple[str, ...], ...] = ()
    destinations: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The destinations (columns): ``destinations`` when given, else ``peers``."""
        return self.destinations or self.peers

    @staticmethod
    def from_matrix(matrix: ConnectivityMatrix, probe: ProbeSpec) -> TruthTable:
        grid = matrix.allowed(probe.port, probe.protocol)
        cells = tuple(
            tuple(
                Outcome.NOT_APPLICABLE if v is None else Outcome.ALLOWED if v else Outcome.BLOCKED
                for v in row
            )
            for row in grid
        )
        return TruthTable(probe, matrix.peers, cells)

    @staticmethod
    def from_results(
        peers: Sequence[str],
        probe: ProbeSpec,
        results: Iterable[Result],
        destinations: Sequence[str] | None = None,
    ) -> TruthTable:
        columns = list(peers) if destinations is None else list(destinations)
        rows = {p: i for i, p in enumerate(peers)}
        cols = {p: j for j, p in enumerate(columns)}
        grid = [[Outcome.NOT_APPLICABLE] * len(columns) for _ in peers]
        notes = [[""] * len(columns) for _ in peers]
        for res in results:
            if res.job.probe != probe:
                continue
            i, j = rows[res.job.src], cols[res.job.dst]
            grid[i][j] = res.outcome
            notes[i][j] = res.detail
        rectangular = () if destinations is None else tuple(columns)
        return TruthTable(
            probe, tuple(peers), tuple(map(tuple, grid)), tuple(map(tuple, notes)), rectangular
        )

    def jobs(self) -> list[Job]:
        return [Job(s, d, self.probe) for s in self.peers for d in self.columns]

    def outcome(self, src: str, dst: str) -> Outcome:
        return self.cells[self.peers.index(src)][self.columns.index(dst)]

    def allowed(self) -> list[list[bool | None]]:
        return [
            [
                None if c in (Outcome.NOT_APPLICABLE, Outcome.FAILED) else c is Outcome.ALLOWED
                for c in row
            ]
            for row in self.cells
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "port": self.probe.port,
            "protocol": self.probe.protocol.value,
            "allowed": self.allowed(),
        }

    def to_text(self) -> str:
        """An ASCII grid: ``.`` allowed, ``X`` blocked, ``?`` probe failed, ``-`` n/a."""
        width = max((len(p) for p in self.peers), default=4)
        head = " " * width + " | " + " ".join(f"{i:>2}" for i in range(len(self.columns)))
        lines = [
            f"probe {self.probe}  (rows: from, columns: to; . allowed, X blocked, ? probe failed)",
            head,
            "-" * len(head),
        ]
        for i, peer in enumerate(self.peers):
            lines.append(f"{peer:<{width}} | " + " ".join(f"{c.symbol:>2}" for c in self.cells[i]))
        lines.append("columns: " + ", ".join(f"{i}={p}" for i, p in enumerate(self.columns)))
        return "\n".join(lines)

    def to_csv(self) -> str:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["from\\to", *self.columns])
        for peer, row in zip(self.peers, self.cells, strict=True):
            writer.writerow([peer, *(c.value for c in row)])
        return buf.getvalue()

    def to_dataframe(self) -> pd.DataFrame:
        with lab_extra("TruthTable.to_dataframe()"):
            import pandas as pd

        return pd.DataFrame(
            [[c.value for c in row] for row in self.cells],
            index=pd.Index(self.peers, name="from"),
            columns=pd.Index(self.columns, name="to"),
        )

    def disagreements(self, other: TruthTable) -> list[tuple[str, str, Outcome, Outcome]]:
        """Cells where two tables over the same peers differ: ``(src, dst, mine, theirs)``."""
        out = []
        for i, src in enumerate(self.peers):
            for j, dst in enumerate(self.columns):
                a, b = self.cells[i][j], other.outcome(src, dst)
                if a != b:
                    out.append((src, dst, a, b))
        return out

    def _repr_html_(self) -> str:
        colours = {
            Outcome.ALLOWED: "#2e7d32",
            Outcome.BLOCKED: "#c62828",
            Outcome.FAILED: "#f9a825",
            Outcome.NOT_APPLICABLE: "#9e9e9e",
        }
        head = "".join(f"<th>{p}</th>" for p in self.columns)
        rows = "".join(
            f"<tr><th>{peer}</th>"
            + "".join(
                f'<td style="background:{colours[c]};color:white;text-align:center">{c.symbol}</td>'
                for c in row
            )
            + "</tr>"
            for peer, row in zip(self.peers, self.cells, strict=True)
        )
        return (
            f"<table><caption>probe {self.probe} (rows: from)</caption>"
            f"<tr><th>from \\ to</th>{head}</tr>{rows}</table>"
        )
