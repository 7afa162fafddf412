"""The facade's learning loop, kept out of ``labkit/lab/__init__.py``: building predictions
for the lab's peers, verifying them with a probe run now, and the quiz of a bank."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.lab.prediction import Prediction, Verification, compare
from labkit.probe.jobs import Job, ProbeSpec

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster
    from labkit.probe.table import TruthTable


def peers_of(
    lab: LabCluster, sources: Sequence[str] | None, destinations: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """Rows and columns: the names given (``ns/*``, ``svc:``, DNS names expanded by
    :func:`labkit.engine.peer_names.expand`), else the lab's pods."""
    from labkit.engine.peer_names import expand

    inventory = lab.inventory()
    rows = expand(inventory, sources, destinations=False) if sources else lab.peers()
    columns = expand(inventory, destinations, destinations=True) if destinations else rows
    return rows, list(columns)


def make_prediction(
    lab: LabCluster,
    probe: ProbeSpec,
    sources: Sequence[str] | None,
    destinations: Sequence[str] | None,
    key: str,
) -> Prediction:
    rows, columns = peers_of(lab, sources, destinations)
    return Prediction(key, probe, rows, columns)


def before_table(before: object, probe: ProbeSpec) -> TruthTable | None:
    """The table for ``probe`` in ``before``: a TruthTable, a list of them (``Matrices``) or
    anything holding one as ``.matrices`` (``lab.snapshot()``); None when it has none."""
    from labkit.probe.table import TruthTable

    held = getattr(before, "matrices", before)
    tables: list[object] = [held]
    if isinstance(held, Sequence):
        tables = list(held)
    return next((t for t in tables if isinstance(t, TruthTable) and t.probe == probe), None)


def verify_prediction(
    lab: LabCluster, prediction: Prediction, before: object = None
) -> Verification:
    """Probe the prediction's pairs now, compare, explain each wrong cell, record the check."""
    from labkit.lab import explain
    from labkit.lab.progress_store import record_quietly
    from labkit.probe.table import TruthTable

    spec = prediction.probe
    jobs = [Job(s, d, spec) for s in prediction.sources for d in prediction.destinations]
    results = lab.runner().run(jobs)
    observed = TruthTable.from_results(
        prediction.sources, spec, results, destinations=prediction.destinations
    )

    def why(src: str, dst: str) -> str:
        found = explain(src, dst, spec)
        return str(getattr(found, "summary", "") or found)

    old = before_table(before, spec) if before is not None else None
    verification = compare(prediction, observed, why, old)
    record_quietly("check", f"prediction:{prediction.key}", verification.passed)
    return verification


def bank_quiz(bank: str) -> Any:
    from labkit.lab.quiz_widgets import bank_widget
    from labkit.lab.quizzes import bank as named_bank

    return bank_widget(named_bank(bank))
