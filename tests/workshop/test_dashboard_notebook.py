"""The instructor's notebook ``notebooks/workshop-dashboard.ipynb`` runs end to end against a
simulated workshop of three learners with some progress, and is not taken for a lesson."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from labkit.cluster.lessons_verify import find_lessons
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.cluster.workshop.progress_events import Event, learner_log

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "workshop-dashboard.ipynb"


def test_the_dashboard_is_not_a_lesson() -> None:
    lessons = find_lessons(ROOT / "notebooks")
    assert lessons and NOTEBOOK not in lessons


def test_the_notebook_shows_the_workshop(workshop, lab_home: Path) -> None:  # type: ignore[no-untyped-def]
    from test_dashboard import LESSON, solution

    host, ws = workshop(["alice", "bob", "carol"])
    LearnerCluster(host, ws, "alice").apply(solution(LESSON, "01-segment-wall"))
    log = learner_log(host, ws.space("bob"), schedule=None)
    log.add(
        Event(
            datetime.now(UTC),
            "quiz",
            "04-egress-and-dns",
            "dns-trap",
            False,
            detail="option 2: DNS needs no egress rule",
        )
    )
    log.flush()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {
        **os.environ,
        "LABKIT_HOME": str(lab_home),
        "LABKIT_BACKEND": "simulated",
        "LABKIT_DASHBOARD_WORKSHOP": "ws1",
        "MPLBACKEND": "Agg",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    for name in ("LABKIT_WORKSHOP", "LABKIT_LEARNER"):
        env.pop(name, None)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute(env=env)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pages = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(pages) >= 2  # the dashboard, and the refreshed one
    page = pages[0]
    assert "Workshop ws1" in page and page.count('<td class="name">') == 3
    assert 'title="alice 01-namespaces:outside-stays-out">✓' in page
    assert 'title="carol 01-namespaces:outside-stays-out">✗' in page
    assert "option 2: DNS needs no egress rule" in page  # bob's wrong answer
    assert "Legend" in page
    texts = "".join(str(o.get("text", "")) for o in outputs)
    assert "rehearsal" not in texts  # the workshop existed: nothing was created
