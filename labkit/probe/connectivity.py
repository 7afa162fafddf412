"""The full connectivity table: allowed ports and protocols per ordered pair of peers, with its
renderings to text, CSV, JSON rows and pandas. Apart from :mod:`labkit.probe.table` (the
per-probe truth tables) so that ``labkit matrix`` without ``--probe`` imports only this.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from labkit.engine.endpoints import on_pod_network
from labkit.extras import lab_extra

if TYPE_CHECKING:  # pandas is imported lazily: `labkit matrix` must start fast
    import pandas as pd

    from labkit.engine.matrix import ConnectivityMatrix
    from labkit.engine.portset import PortSet


@dataclass(frozen=True)
class ConnectivityTable:
    """Allowed ports and protocols for every ordered pair (``All``, ``TCP 80``, ``""``)."""

    matrix: ConnectivityMatrix

    @property
    def peers(self) -> tuple[str, ...]:
        return self.matrix.peers

    def rows(self) -> Iterable[list[str]]:
        return self.matrix.text_rows()

    def _external(self) -> list[bool]:
        # addresses and hostNetwork pods: no policy speaks between two of them
        return [not on_pod_network(e) for e in self.matrix.endpoints]

    def to_json_rows(self) -> Iterable[str]:
        """Each row as a JSON array (``json.dumps`` of :meth:`rows`), ``null`` between two
        ``ip:`` peers, where no policy can speak (``ConnectivityMatrix.cell``).

        The row of a source class is serialised once; a pod's row differs from it at most on
        its own cell (traffic to itself, allowed by default), which is spliced in by offset.
        """
        m = self.matrix
        external = self._external()
        dst_class = m.dst_class
        all_text = json.dumps("All")
        encoded: dict[int, str] = {}  # id(PortSet) -> its text as a JSON string

        def enc(ps: PortSet) -> str:
            text = encoded.get(id(ps))
            if text is None:
                text = encoded[id(ps)] = json.dumps(str(ps))
            return text

        class_rows: dict[int, tuple[str, array[int]]] = {}
        for i in range(len(m.peers)):
            c = m.src_class[i]
            if external[i]:
                cells = m.table[c]
                yield json.dumps(
                    [None if external[j] else str(cells[d]) for j, d in enumerate(dst_class)]
                )
                continue
            cached = class_rows.get(c)
            if cached is None:
                class_cells = [enc(ps) for ps in m.table[c]]
                row = [class_cells[d] for d in dst_class]
                # starts[j]: offset of cell j in "[c0, c1, ...]"
                starts = array("q", accumulate((len(t) + 2 for t in row), initial=1))
                cached = class_rows[c] = ("[" + ", ".join(row) + "]", starts)
            text, starts = cached
            start = starts[i]
            if m.self_allowed and not text.startswith(all_text, start):
                end = starts[i + 1] - 2
                yield text[:start] + all_text + text[end:]
            else:
                yield text

    def to_csv(self) -> str:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["from\\to", *self.peers])
        for peer, row in zip(self.peers, self.rows(), strict=True):
            writer.writerow([peer, *row])
        return buf.getvalue()

    def to_text(self) -> str:
        """``src => dst : ports`` per connected pair, then the count of pairs with nothing
        allowed (pairs of two ``ip:`` peers are not applicable and not counted)."""
        external = self._external()
        lines = []
        denied = 0
        for i, (peer, row) in enumerate(zip(self.peers, self.rows(), strict=True)):
            for j, (dst, cell) in enumerate(zip(self.peers, row, strict=True)):
                if i == j or (external[i] and external[j]):
                    continue
                if cell:
                    lines.append(f"{peer} => {dst} : {cell}")
                else:
                    denied += 1
        lines.append(f"({denied} ordered pairs have no allowed connection)")
        return "\n".join(lines)

    def to_dataframe(self) -> pd.DataFrame:
        with lab_extra("ConnectivityTable.to_dataframe()"):
            import pandas as pd

        return pd.DataFrame(
            list(self.rows()),
            index=pd.Index(self.peers, name="from"),
            columns=pd.Index(self.peers, name="to"),
        )
