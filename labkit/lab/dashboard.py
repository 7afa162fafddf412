"""Workshop mode in the notebook: the instructor's dashboard, and the learner's progress
events (issue 10).

* :func:`workshop_dashboard` (``lab.workshop_dashboard(ID)``): the learners x checks grid,
  the stuck learners, the most common wrong answers and the pods not ready
  (:mod:`labkit.grading.dashboard`), gathered from the shared cluster in one read
  (:mod:`labkit.cluster.workshop.observe`). Call it again to refresh.
* :func:`publish`: the listener the facade registers with
  :mod:`labkit.cluster.learner_progress`. When this process is a workshop learner
  (:func:`labkit.cluster.workshop.session.find_learner`), each progress record becomes an
  event in the learner's ``labkit-progress`` ConfigMap
  (:mod:`labkit.cluster.workshop.progress_events`: rate-limited, bounded). In a single-user
  lab it does nothing. A failure is a warning, once; the lesson goes on.
* :func:`publishing`: wraps a facade call so the records it makes are enriched with what
  only the call's result knows (the wrong cells of a verification, a self-check's feedback,
  the validation messages of a failed apply) before they are published.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from labkit.cluster.learner_progress import Recorded, held_records, notify

if TYPE_CHECKING:
    from labkit.cluster.workshop.progress_events import EventLog
    from labkit.grading.dashboard import Dashboard

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
Args = Mapping[str | int, Any]
"""A call's arguments: positional ones by index, keyword ones by name."""
Enrich = Callable[[Sequence[Recorded], Any, BaseException | None, Args], list[Recorded]]

# -- the learner's side: progress events ---------------------------------------------------------
_logs: dict[tuple[str, ...], EventLog | None] = {}


def _learner_key() -> tuple[str, ...]:
    from labkit.model.workshop import LEARNER_ENV, WORKSHOP_ENV

    return tuple(
        os.environ.get(k, "")
        for k in (WORKSHOP_ENV, LEARNER_ENV, "LABKIT_HOME", "KUBERNETES_SERVICE_HOST")
    )


def learner_events() -> EventLog | None:
    """This process's event log when it is a workshop learner (found once per process and
    environment), else ``None``."""
    key = _learner_key()
    if key not in _logs:
        from labkit.cluster.workshop.progress_events import learner_log
        from labkit.cluster.workshop.session import find_learner
        from labkit.errors import LabkitError

        try:
            found = find_learner()
        except LabkitError as exc:
            log.info("not publishing progress events: %s", str(exc).splitlines()[0])
            found = None
        _logs[key] = None if found is None else learner_log(found.host, found.space)
    return _logs[key]


def forget_learner_events() -> None:
    """Forget the event logs found so far (the next record looks for the learner again)."""
    _logs.clear()


def publish(record: Recorded) -> None:
    """Queue the event of ``record`` when this process is a workshop learner."""
    events = learner_events()
    if events is not None:
        events.record(record)


def publishing(enrich: Enrich) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator: the records the call makes are held back, given to ``enrich`` with the
    call's result (or its :class:`LabkitError`) and the call's arguments, then notified."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            from labkit.errors import LabkitError

            named: dict[str | int, Any] = dict(enumerate(args))
            named.update(kwargs)
            result: Any = None
            error: BaseException | None = None
            records: list[Recorded] = []
            try:
                with held_records() as held:
                    try:
                        result = function(*args, **kwargs)
                    except LabkitError as exc:
                        error = exc
                        raise
                    finally:
                        try:
                            records = enrich(tuple(held), result, error, named)
                        except Exception as exc:  # enriching must never break the lesson
                            log.warning("progress event details lost: %s", exc)
                            records = list(held)
            finally:
                for record in records:
                    notify(record)
            return result  # type: ignore[no-any-return]

        return call

    return wrap


def _cell(src: str, dst: str, probe: object) -> str:
    return f"{src} -> {dst} {probe}"


def enrich_check(
    held: Sequence[Recorded],
    result: Any,
    error: BaseException | None,
    args: Mapping[str | int, Any],
) -> list[Recorded]:
    """``lab.check``: a mismatch names its cell and what was expected."""
    if result is None or result.matches:
        return list(held)
    cell = f"{_cell(result.src, result.dst, result.probe)} (expected {result.expected.value})"
    return [replace(r, detail=result.message, wrong_cells=(cell,)) for r in held]


_MISS = re.compile(r"^(\S+) -> (\S+) on (\S+) (.*?):")


def enrich_self_check(
    held: Sequence[Recorded],
    result: Any,
    error: BaseException | None,
    args: Mapping[str | int, Any],
) -> list[Recorded]:
    """``lab.check_requirements``: a failed requirement carries its feedback, and its first
    failing pair as the wrong cell (``a -> b 80/TCP is blocked but must be allowed``)."""
    if result is None:
        return list(held)
    exercise = result.grade.exercise
    feedback = {f"{exercise}:{r.id}": r.feedback for r in result.grade.requirements if not r.passed}
    out = []
    for record in held:
        text = feedback.get(record.key)
        if text is None:
            out.append(record)
            continue
        match = _MISS.match(text)
        cells = (f"{_cell(*match.group(1, 2, 3))} {match.group(4)}",) if match else ()
        out.append(replace(record, detail=text, wrong_cells=cells))
    return out


def enrich_verify(
    held: Sequence[Recorded],
    result: Any,
    error: BaseException | None,
    args: Mapping[str | int, Any],
) -> list[Recorded]:
    """``lab.verify``: the wrong cells, each with what was predicted."""
    if result is None or not result.wrong:
        return list(held)
    probe = result.observed.probe

    def said(cell: object) -> str:
        return "nothing" if cell is None else "allowed" if cell else "blocked"

    cells = tuple(
        f"{_cell(w.source, w.destination, probe)} (predicted {said(w.predicted)})"
        for w in result.wrong
    )
    return [
        replace(r, wrong_cells=cells, detail=f"{len(cells)} cells wrong")
        if r.key == f"prediction:{result.key}"
        else r
        for r in held
    ]


def enrich_apply(
    held: Sequence[Recorded],
    result: Any,
    error: BaseException | None,
    args: Mapping[str | int, Any],
) -> list[Recorded]:
    """``lab.apply``: an event of its own; a refusal carries the API server's messages
    (``field: Type: detail``), a success its warnings."""
    source = args.get(0, args.get("source", ""))
    shown = str(source) if isinstance(source, (str, os.PathLike)) else "objects"
    shown = shown if "\n" not in shown else "YAML text"
    if error is not None:
        issues = getattr(error, "issues", ())
        messages = tuple(f"{i.object}: {i.message}" for i in issues) or (
            str(error).splitlines()[0],
        )
        return [
            *held,
            Recorded("apply", shown, False, detail=str(error).splitlines()[0], messages=messages),
        ]
    prefix = "warning: "
    warnings = tuple(
        line[len(prefix) :] for line in str(result).splitlines() if line.startswith(prefix)
    )
    return [*held, Recorded("apply", shown, True, messages=warnings)]


# -- the instructor's side: the dashboard ----------------------------------------------------------
@dataclass(frozen=True)
class WorkshopDashboard:
    """The dashboard as a notebook shows it (HTML grid) and prints it (text)."""

    board: Dashboard
    seconds: float
    """How long gathering and building took."""

    def __str__(self) -> str:
        from labkit.grading.dashboard import dashboard_text

        return dashboard_text(self.board)

    def _repr_html_(self) -> str:
        from labkit.grading.dashboard import dashboard_html

        return (
            dashboard_html(self.board)
            + f"<p><small>gathered in {self.seconds:.2f} s; run the cell again to "
            f"refresh</small></p>"
        )

    @property
    def frame(self) -> Any:
        """Learners x checks as a pandas DataFrame (``True``/``False``/``None``)."""
        import pandas as pd

        board = self.board
        return pd.DataFrame(
            [list(row.results) for row in board.rows],
            index=[row.learner for row in board.rows],
            columns=[c.key for c in board.checks],
        )


def lesson_requirements() -> dict[str, Any]:
    """Lesson -> its requirement set, from the files ``lab.check_requirements`` reads."""
    from labkit.cluster.workshop.observe import lesson_requirement_files
    from labkit.grading.requirements import load_requirements

    return {path.stem: load_requirements(path) for path in lesson_requirement_files()}


def workshop_dashboard(
    workshop_id: str, stuck_minutes: float = 10, *, context: str | None = None
) -> WorkshopDashboard:
    """The dashboard of workshop ``workshop_id`` now (see the module docstring)."""
    import time

    from labkit.cluster.workshop.observe import learner_states, open_workshop
    from labkit.grading.dashboard import build_dashboard

    start = time.perf_counter()
    host, workshop = open_workshop(workshop_id, context=context)
    states = learner_states(host, workshop)
    board = build_dashboard(
        states,
        lesson_requirements(),
        now=datetime.now(UTC),
        stuck_minutes=stuck_minutes,
        workshop=workshop.id,
    )
    return WorkshopDashboard(board, time.perf_counter() - start)
