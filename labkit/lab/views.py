"""What the facade's steps return: values a learner can use, that display themselves in a
notebook with the kubectl equivalent beside them."""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

from labkit.lab.kubectl import Commands
from labkit.lab.render import beside, definition_list, figure_html
from labkit.probe.jobs import Outcome, ProbeSpec
from labkit.probe.table import ConnectivityTable, TruthTable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from labkit.cluster.backend import ApplyReport, ClusterStatus, LabCluster
    from labkit.engine.audit.model import Finding
    from labkit.engine.explain import Explanation


@dataclass(frozen=True)
class LabSession:
    """The running lab: its cluster, status, and why this backend was chosen."""

    cluster: LabCluster
    status: ClusterStatus
    why: str
    commands: Commands | None = None

    @property
    def backend(self) -> str:
        return self.status.backend

    def __str__(self) -> str:
        lines = [line for line in self.status.lines() if not line.startswith("why:")]
        return "\n".join([*lines, f"why:      {self.why}"])

    def _repr_html_(self) -> str:
        rows = [line.split(":", 1) for line in self.status.lines()]
        table = definition_list(
            (k.strip(), v.strip()) for k, v in rows if k.strip() not in ("backend", "why")
        )
        main = (
            f"<div class='labkit-session'><b>Lab backend: {html.escape(self.backend)}</b>"
            f"<p>{html.escape(self.why)}</p>{table}</div>"
        )
        return beside(main, self.commands)


@dataclass(frozen=True)
class Picture:
    """A matplotlib figure that displays as an inline PNG, with its kubectl equivalent."""

    figure: Figure
    commands: Commands | None = None
    alt: str = ""

    def _repr_html_(self) -> str:
        return beside(figure_html(self.figure, self.alt), self.commands)


def outcome_counts(table: TruthTable) -> dict[Outcome, int]:
    """How many ordered pairs ended in each outcome."""
    counts = dict.fromkeys(Outcome, 0)
    for row in table.cells:
        for cell in row:
            counts[cell] += 1
    return counts


@dataclass(frozen=True)
class Matrices(Sequence[TruthTable]):
    """One truth table per probe, shown as heatmaps; index it like a list, or by probe
    (``matrices.table("81/UDP")``)."""

    tables: tuple[TruthTable, ...]
    source: str
    commands: Commands | None = None
    warning: str = ""
    """Said above the heatmaps: e.g. policies of kinds the engine does not evaluate."""

    @overload
    def __getitem__(self, index: int) -> TruthTable: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[TruthTable]: ...

    def __getitem__(self, index: int | slice) -> TruthTable | Sequence[TruthTable]:
        return self.tables[index]

    def __len__(self) -> int:
        return len(self.tables)

    def __iter__(self) -> Iterator[TruthTable]:
        return iter(self.tables)

    def table(self, probe: str | ProbeSpec) -> TruthTable:
        wanted = ProbeSpec.parse(probe) if isinstance(probe, str) else probe
        for table in self.tables:
            if table.probe == wanted:
                return table
        from labkit.errors import LabkitError

        raise LabkitError(
            f"no table for probe {wanted}; probes: {', '.join(str(t.probe) for t in self.tables)}"
        )

    def __str__(self) -> str:
        tables = "\n\n".join(t.to_text() for t in self.tables)
        return f"warning: {self.warning}\n\n{tables}" if self.warning else tables

    def _repr_html_(self) -> str:
        """SVG heatmaps side by side (:mod:`labkit.lab.svg_heatmap`: milliseconds to draw,
        so an edit redraws at once); :func:`labkit.lab.heatmap.heatmap` draws static ones."""
        from labkit.lab.svg_heatmap import heatmaps_html

        head = f"<div><i>{html.escape(self.source)}</i></div>"
        if self.warning:
            head = (
                f'<div class="labkit-warning" role="note"><b>warning:</b> '
                f"{html.escape(self.warning)}</div>" + head
            )
        return beside(head + heatmaps_html(self.tables), self.commands)


@dataclass(frozen=True)
class Connectivity:
    """Every port and protocol allowed per pair, as the policy engine predicts it."""

    table: ConnectivityTable
    commands: Commands | None = None

    def __str__(self) -> str:
        return self.table.to_text()

    def _repr_html_(self) -> str:
        from labkit.lab.heatmap import connectivity_heatmap

        figure = connectivity_heatmap(self.table)
        return beside(figure_html(figure, "allowed ports per pair"), self.commands)


@dataclass(frozen=True)
class Done:
    """A step that changed the cluster: what happened, and the kubectl equivalent."""

    text: str
    commands: Commands | None = None

    @staticmethod
    def applied(report: ApplyReport, commands: Commands) -> Done:
        lines = [str(report), *(f"warning: {w}" for w in report.warnings)]
        return Done("\n".join(lines), commands)

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return beside(f"<pre>{html.escape(self.text)}</pre>", self.commands)


SEVERITY_COLOURS = {"high": "#c62828", "medium": "#ef6c00", "low": "#f9a825", "info": "#607d8b"}


@dataclass(frozen=True)
class Audit(Sequence["Finding"]):
    """Audit findings, most severe first, as a table with the fix for each."""

    findings: tuple[Finding, ...]
    commands: Commands | None = None

    @overload
    def __getitem__(self, index: int) -> Finding: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Finding]: ...

    def __getitem__(self, index: int | slice) -> Finding | Sequence[Finding]:
        return self.findings[index]

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __str__(self) -> str:
        from labkit.engine.audit.render import to_text

        return to_text(self.findings)

    def _repr_html_(self) -> str:
        from labkit.engine.audit.render import summary_line

        rows = "".join(
            "<tr>"
            f"<td style='color:{SEVERITY_COLOURS.get(f.severity, '#000')};font-weight:bold'>"
            f"{html.escape(f.severity)}</td>"
            f"<td><code>{html.escape(f.code)}</code></td>"
            f"<td>{html.escape(f'{f.object} {f.field}'.strip())}</td>"
            f"<td style='text-align:left'>{html.escape(f.message)}<br/>"
            f"<i>fix:</i> {html.escape(f.fix)}</td></tr>"
            for f in self.findings
        )
        table = (
            "<table class='labkit-audit'><tr><th>severity</th><th>check</th><th>where</th>"
            f"<th>finding and fix</th></tr>{rows}</table>"
            if self.findings
            else ""
        )
        main = f"<div><b>{html.escape(summary_line(self.findings))}</b></div>{table}"
        return beside(main, self.commands)


@dataclass(frozen=True)
class BackendExplanation:
    """One backend pod of a Service, the port traffic lands on, and why it is (not) allowed."""

    pod: str
    port: int
    explanation: Explanation


@dataclass(frozen=True)
class ServiceExplanation(Sequence[BackendExplanation]):
    """``explain`` through a Service: traffic to it is rewritten to one backend pod and its
    target port before any policy applies (conformance rule 13), so each backend is explained
    on its own, as ``labkit explain --to svc:NS/NAME`` does."""

    source: str
    service: str
    probe: ProbeSpec
    backends: tuple[BackendExplanation, ...]

    @overload
    def __getitem__(self, index: int) -> BackendExplanation: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[BackendExplanation]: ...

    def __getitem__(self, index: int | slice) -> BackendExplanation | Sequence[BackendExplanation]:
        return self.backends[index]

    def __len__(self) -> int:
        return len(self.backends)

    def __iter__(self) -> Iterator[BackendExplanation]:
        return iter(self.backends)

    @property
    def headline(self) -> str:
        if not self.backends:
            return (
                f"service {self.service} has no backend for {self.probe}: its selector matches "
                "no pod of its namespace (or a named targetPort resolves on none), so the "
                "connection fails before any policy applies"
            )
        return (
            f"{self.source} -> service {self.service} {self.probe}: policies see the backend "
            "pod and its target port, never the Service"
        )

    def __str__(self) -> str:
        parts = [self.headline]
        for b in self.backends:
            parts.append(f"== backend {b.pod}, port {b.port}/{self.probe.protocol.value}")
            parts.append(str(b.explanation))
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        parts = [f"<div><b>{html.escape(self.headline)}</b></div>"]
        for b in self.backends:
            title = f"backend {b.pod}, port {b.port}/{self.probe.protocol.value}"
            parts.append(f"<h4>{html.escape(title)}</h4>{b.explanation._repr_html_()}")
        return "".join(parts)
