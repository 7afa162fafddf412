"""``labkit workshop status`` and ``labkit workshop dashboard`` (issue 10).

Both find the workshop (:func:`labkit.cluster.workshop.observe.open_workshop`: ``--context``,
else what ``workshop init`` recorded, else the simulated workshop of that id in the lab
folder), read the shared cluster once (:func:`~labkit.cluster.workshop.observe.learner_states`)
and build the dashboard (:func:`labkit.grading.dashboard.build_dashboard`) against the lesson
requirement files. ``status`` prints one line per learner (``-o json``: ``{"workshop",
"learners": [{"name", "namespaces", "ready", "checks_passed", "last_activity"}]}``);
``dashboard`` prints the grid, the stuck learners, the common wrong answers and the pods not
ready (``-o json`` the same as data; ``--html FILE`` writes a page). Exit 0.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.cli.common import emit_json

if TYPE_CHECKING:
    from labkit.grading.dashboard import Dashboard

DEFAULT_STUCK_MINUTES = 10.0


def _arg(args: argparse.Namespace, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            return value
    return default


def gather(
    workshop_id: str,
    *,
    context: str | None = None,
    stuck_minutes: float = DEFAULT_STUCK_MINUTES,
    now: datetime | None = None,
) -> Dashboard:
    """The dashboard of ``workshop_id`` now: one read of the cluster, then the grader."""
    from labkit.cluster.workshop.observe import (
        learner_states,
        lesson_requirement_files,
        open_workshop,
    )
    from labkit.grading.dashboard import build_dashboard
    from labkit.grading.requirements import load_requirements

    host, workshop = open_workshop(workshop_id, context=context)
    states = learner_states(host, workshop)
    requirements = {p.stem: load_requirements(p) for p in lesson_requirement_files()}
    return build_dashboard(
        states,
        requirements,
        now=now or datetime.now(UTC),
        stuck_minutes=stuck_minutes,
        workshop=workshop.id,
    )


def _board(args: argparse.Namespace) -> Dashboard:
    return gather(
        str(_arg(args, "workshop_id", "id")),
        context=_arg(args, "context"),
        stuck_minutes=float(_arg(args, "stuck_minutes", default=DEFAULT_STUCK_MINUTES)),
    )


def status_lines(board: Dashboard) -> list[str]:
    """One line per learner: namespaces, pods ready, checks passed, last activity."""
    from labkit.grading.dashboard import ago

    width = max([len("LEARNER"), *(len(r.learner) for r in board.rows)])
    lines = [
        f"workshop {board.workshop}: {len(board.rows)} learners, {len(board.checks)} checks",
        f"{'LEARNER'.ljust(width)}  NAMESPACES  READY  CHECKS  LAST ACTIVITY",
    ]
    for row in board.rows:
        lines.append(
            f"{row.learner.ljust(width)}  {str(len(row.namespaces)).ljust(10)}  "
            f"{row.ready.ljust(5)}  {f'{row.checks_passed}/{len(board.checks)}'.ljust(6)}  "
            f"{ago(row.last_activity, board.now)}"
        )
    return lines


def status(args: argparse.Namespace) -> int:
    """``labkit workshop status --id ID [-o json]``."""
    from labkit.grading.dashboard import status_json

    board = _board(args)
    if _arg(args, "output", default="text") == "json":
        emit_json(status_json(board))
    else:
        sys.stdout.write("\n".join(status_lines(board)) + "\n")
    return 0


def dashboard(args: argparse.Namespace) -> int:
    """``labkit workshop dashboard --id ID [-o json] [--stuck-minutes N] [--html FILE]``."""
    from labkit.grading.dashboard import dashboard_json, dashboard_page, dashboard_text

    board = _board(args)
    page = _arg(args, "html")
    if page is not None:
        Path(page).write_text(dashboard_page(board), encoding="utf-8")
    if _arg(args, "output", default="text") == "json":
        emit_json(dashboard_json(board))
    else:
        sys.stdout.write(dashboard_text(board) + "\n")
        if page is not None:
            sys.stdout.write(f"wrote {page}\n")
    return 0
