"""``labkit lessons verify``: run every lesson headless with its reference and starter answers.

Each lesson ``notebooks/<lesson>.ipynb`` runs twice through nbclient, each time in a kernel of
its own with a fresh temporary lab folder (``LABKIT_HOME``) and the backend asked for
(``LABKIT_BACKEND``):

* **solutions**: the answer cells (tagged ``answer``, ``metadata.labkit.answer = "<id>"``)
  get their source from ``notebooks/solutions/<lesson>.yaml`` (``{answer id: cell source}``)
  and ``LABKIT_LESSON_ANSWERS`` names that file, so a headless ``lab.predict`` takes the
  value stored under ``prediction:<key>``. Every check the run records must pass, and no
  cell may raise (unless tagged ``raises-exception``, nbclient's rule).
* **starters**: the notebook as committed. The checks recorded under the lesson's
  requirement file (``<lesson>:<requirement id>``) must fail: a starter that already passes
  checks nothing. A lesson without a requirement file has no such check (no starter run).

With ``workshop`` (``labkit lessons verify --workshop``) every run is a learner's: the run's
temporary lab folder first gets a fresh simulated workshop (:data:`WORKSHOP_ID`, made by
``labkit workshop init --simulated``'s own code, :func:`labkit.cluster.workshop.ops.init_workshop`)
with two learners, :data:`LEARNER` and :data:`NEIGHBOUR`, and the kernel runs as
:data:`LEARNER` (``LABKIT_WORKSHOP``/``LABKIT_LEARNER``): the lessons then run in the
learner's logical view, behind the wall, as on a workshop's JupyterHub.

The checks are read back from the run's progress store (``<lab folder>/progress.json``,
:mod:`labkit.cluster.learner_progress`). Each run is a kernel process, which is why this
module lives in :mod:`labkit.cluster`, the one package that starts processes. Both runs of
all lessons, ``jobs`` at a time (one kernel each), run side by side: two cores, two kernels.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from labkit.cluster import learner_progress
from labkit.cluster.labdir import lab_home
from labkit.errors import LabkitError

log = logging.getLogger(__name__)

ANSWERS_ENV = "LABKIT_LESSON_ANSWERS"
LEARNER = "labkit-lessons-verify"
"""``$LABKIT_LEARNER`` of the headless runs, whose progress is read back (with
``workshop``, also the learner's name in the rehearsal workshop: a valid learner name)."""
WORKSHOP_ID = "verify"
"""The simulated workshop of a ``--workshop`` run (in the run's temporary lab folder)."""
NEIGHBOUR = "neighbour"
"""The second learner of that workshop: the lessons run behind a wall, as in a workshop."""
CELL_TIMEOUT = 300
KERNEL_LOG = "kernel.log"
"""The kernel's stderr (shown when a run stops), kept out of the command's own output."""
SHARED_WITH_LIVE_RUNS = ("cluster.json", "kubeconfig")
Gate = asyncio.Semaphore
"""At most ``jobs`` notebook runs (kernels) at once."""


@dataclass(frozen=True)
class CheckCounts:
    """How many recorded checks passed and failed in one run, and the names of the ones
    that went the wrong way (failed with solutions, passed with starters) or the cell
    errors, for the text report."""

    passed: int = 0
    failed: int = 0
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, int]:
        return {"passed": self.passed, "failed": self.failed}


@dataclass(frozen=True)
class LessonResult:
    lesson: str
    solutions: CheckCounts
    starters: CheckCounts
    seconds: float

    @property
    def ok(self) -> bool:
        """Every solution check passed (no cell raised) and no starter check passed."""
        return self.solutions.failed == 0 and self.starters.passed == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "lesson": self.lesson,
            "solutions": self.solutions.to_json(),
            "starters": self.starters.to_json(),
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class VerifyReport:
    lessons: tuple[LessonResult, ...]
    seconds: float
    workshop: bool = False
    """Whether the lessons ran as a learner of a simulated workshop."""

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.lessons)

    def to_json(self) -> dict[str, Any]:
        """The issue's contract: ``{"lessons": [{"lesson", "solutions": {"passed",
        "failed"}, "starters": {"passed", "failed"}, "seconds"}], "seconds"}``."""
        return {
            "lessons": [result.to_json() for result in self.lessons],
            "seconds": round(self.seconds, 2),
        }

    def to_text(self) -> str:
        lines = [f"{'lesson':<40} {'solutions':>14} {'starters':>14} {'seconds':>8}"]
        for r in self.lessons:
            sol = f"{r.solutions.passed} ok/{r.solutions.failed} fail"
            start = f"{r.starters.passed} ok/{r.starters.failed} fail"
            mark = "" if r.ok else "  <- FAILED"
            lines.append(f"{r.lesson:<40} {sol:>14} {start:>14} {r.seconds:>8.1f}{mark}")
            lines += [f"    solutions: {p}" for p in r.solutions.problems]
            lines += [f"    starters: {p}" for p in r.starters.problems]
        verdict = "all lessons verified" if self.ok else "some lessons FAILED"
        if self.workshop:
            verdict += f" (as learner {LEARNER} of a simulated workshop {WORKSHOP_ID})"
        lines.append(f"{verdict} in {self.seconds:.1f} s")
        return "\n".join(lines)


@dataclass(frozen=True)
class RunOutcome:
    """One headless run: the checks it recorded (name -> passed) and its cell errors."""

    checks: Mapping[str, bool]
    errors: tuple[str, ...] = field(default=())


# -- finding lessons and their answers --------------------------------------------------------


def find_lessons(notebooks_dir: Path, only: Sequence[str] = ()) -> list[Path]:
    """The lesson notebooks directly in ``notebooks_dir`` (``NN-name.ipynb``), sorted; with
    ``only``, those whose stem or number prefix is named (``04`` or ``04-egress-and-dns``)."""
    found = sorted(p for p in notebooks_dir.glob("[0-9][0-9]-*.ipynb") if p.is_file())
    if not only:
        return found
    chosen = [p for p in found if p.stem in only or p.stem[:2] in only]
    missing = [name for name in only if not any(name in (p.stem, p.stem[:2]) for p in found)]
    if missing:
        names = ", ".join(p.stem for p in found) or "none"
        raise LabkitError(
            f"--only {', '.join(missing)}: no such lesson in {notebooks_dir} (lessons: {names})"
        )
    return chosen


def load_solutions(path: Path) -> dict[str, Any]:
    """``notebooks/solutions/<lesson>.yaml`` as a mapping; empty when there is none."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LabkitError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LabkitError(
            f"{path}: expected a mapping {{answer id: cell source}}, got {type(data).__name__}"
        )
    return {str(key): value for key, value in data.items()}


def answer_id(cell: Any) -> str | None:
    labkit_meta = cell.get("metadata", {}).get("labkit", {})
    value = labkit_meta.get("answer") if isinstance(labkit_meta, dict) else None
    return str(value) if value is not None else None


def with_solutions(nb: Any, solutions: Mapping[str, Any]) -> tuple[Any, tuple[str, ...]]:
    """A copy of ``nb`` whose answer cells hold the reference answers, and the answer ids
    that have none (those cells keep their starter; the lesson then fails verification)."""
    solved = copy.deepcopy(nb)
    missing: list[str] = []
    for cell in solved.cells:
        key = answer_id(cell)
        if key is None:
            continue
        if key in solutions:
            cell.source = str(solutions[key]).rstrip("\n")
        else:
            missing.append(key)
    return solved, tuple(missing)


# -- reading the recorded checks ----------------------------------------------------------------


def recorded_checks(home: Path) -> dict[str, bool]:
    """The checks a run recorded in its lab folder's progress store: name -> whether its
    latest attempt passed. Quiz attempts and predictions are not checks (``lab.verify``
    records each prediction's outcome as the check ``prediction:<key>``)."""
    progress = learner_progress.load(LEARNER, home=home)
    return {name: bool(entry.get("passed")) for name, entry in progress.checks.items()}


# -- running ------------------------------------------------------------------------------------


def kernel_env(
    home: Path, backend: str, answers: Path | None, workshop: bool = False
) -> dict[str, str]:
    from labkit.model.workshop import WORKSHOP_ENV

    env = {
        **os.environ,
        "LABKIT_HOME": str(home),
        "LABKIT_BACKEND": backend,
        learner_progress.LEARNER_ENV: LEARNER,
        "MPLBACKEND": "Agg",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    env.pop(ANSWERS_ENV, None)
    env.pop(WORKSHOP_ENV, None)
    if answers is not None:
        env[ANSWERS_ENV] = str(answers)
    if workshop:
        env[WORKSHOP_ENV] = WORKSHOP_ID
    return env


def provision_workshop(home: Path) -> None:
    """A fresh simulated workshop :data:`WORKSHOP_ID` in ``home`` with the learners
    :data:`LEARNER` and :data:`NEIGHBOUR`, made as ``labkit workshop init --simulated`` makes
    one (safety checks included); its spawn hook goes to ``home`` too."""
    from labkit.cluster.workshop.ops import InitOptions, init_workshop

    learners = home / "workshop-learners.txt"
    learners.write_text(f"{LEARNER}\n{NEIGHBOUR}\n", encoding="utf-8")
    init_workshop(
        InitOptions(
            WORKSHOP_ID,
            learners,
            simulated=True,
            home=home,
            hook_file=home / f"labkit-workshop-{WORKSHOP_ID}-hook.py",
        )
    )


def seed_home(home: Path, backend: str) -> None:
    """A fresh lab folder for a live backend still needs to find the cluster: copy the
    current lab folder's backend record and kubeconfig (never the simulated cluster's
    state, and never the progress)."""
    if backend == "simulated":
        return
    current = lab_home()
    for name in SHARED_WITH_LIVE_RUNS:
        source = current / name
        if source.is_file():
            shutil.copy2(source, home / name)


def cell_errors(nb: Any) -> tuple[str, ...]:
    """The errors cells raised, except in cells tagged ``raises-exception``."""
    return tuple(
        f"cell {k}: {out.get('ename')}: {out.get('evalue')}"
        for k, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", [])
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    )


async def run_once(
    nb: Any,
    folder: Path,
    backend: str,
    answers: Path | None,
    timeout: int,
    workshop: bool = False,
) -> RunOutcome:
    """Execute ``nb`` (a copy) in a fresh kernel and lab folder (``workshop``: as
    :data:`LEARNER` of a fresh simulated workshop there); its checks and errors."""
    with tempfile.TemporaryDirectory(prefix="labkit-lesson-") as tmp:
        home = Path(tmp)
        seed_home(home, backend)
        if workshop:
            provision_workshop(home)
        kernel = nb.metadata.get("kernelspec", {}).get("name") or "python3"
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name=kernel,
            allow_errors=True,
            resources={"metadata": {"path": str(folder)}},
        )
        kernel_log = home / KERNEL_LOG
        try:
            with kernel_log.open("w", encoding="utf-8") as stderr:
                await client.async_execute(
                    env=kernel_env(home, backend, answers, workshop), stderr=stderr
                )
        except (CellExecutionError, TimeoutError, RuntimeError) as exc:
            tail = kernel_log.read_text(encoding="utf-8", errors="replace")[-2000:]
            return RunOutcome(recorded_checks(home), (f"the run stopped: {exc}\n{tail}",))
        return RunOutcome(recorded_checks(home), cell_errors(nb))


def solution_counts(outcome: RunOutcome, unanswered: Sequence[str] = ()) -> CheckCounts:
    """Failed: the recorded checks that failed, each cell error, and each answer cell the
    solutions file has no reference answer for."""
    failed = sorted(name for name, ok in outcome.checks.items() if not ok)
    passed = len(outcome.checks) - len(failed)
    problems = (
        *(
            f"no reference answer for answer cell {key!r} in the solutions file"
            for key in unanswered
        ),
        *outcome.errors,
        *(f"check failed: {name}" for name in failed),
    )
    return CheckCounts(passed, len(failed) + len(outcome.errors) + len(unanswered), problems)


def starter_counts(outcome: RunOutcome, lesson: str) -> CheckCounts:
    """Only the checks of the lesson's requirement file count; a cell error of the starter
    (a half-written answer) is expected and not counted."""
    answer_checks = {n: ok for n, ok in outcome.checks.items() if n.startswith(f"{lesson}:")}
    passed = sorted(name for name, ok in answer_checks.items() if ok)
    problems = tuple(f"passes with the starter answer: {name}" for name in passed)
    return CheckCounts(len(passed), len(answer_checks) - len(passed), problems)


async def verify_lesson(
    path: Path, backend: str, timeout: int, gate: Gate, workshop: bool = False
) -> LessonResult:
    """Both runs of one lesson (each waits for a free slot of ``gate``). A lesson without a
    requirement file (``notebooks/requirements/<lesson>.yaml``) records no check a starter
    could pass, so its starter run is skipped (lesson 00). Its seconds: the time its runs
    took, together."""
    lesson = path.stem
    solutions_file = path.parent / "solutions" / f"{lesson}.yaml"
    starter: Any = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    solved, unanswered = with_solutions(starter, load_solutions(solutions_file))
    answers = solutions_file if solutions_file.is_file() else None
    runs = [_timed(gate, run_once(solved, path.parent, backend, answers, timeout, workshop))]
    if (path.parent / "requirements" / f"{lesson}.yaml").is_file():
        runs.append(_timed(gate, run_once(starter, path.parent, backend, None, timeout, workshop)))
    timed = await asyncio.gather(*runs)
    outcomes = [outcome for outcome, _ in timed]
    starters = starter_counts(outcomes[1], lesson) if len(outcomes) > 1 else CheckCounts()
    return LessonResult(
        lesson,
        solution_counts(outcomes[0], unanswered),
        starters,
        sum(seconds for _, seconds in timed),
    )


async def _timed(gate: Gate, run: Coroutine[Any, Any, RunOutcome]) -> tuple[RunOutcome, float]:
    async with gate:
        started = time.monotonic()
        outcome = await run
        return outcome, time.monotonic() - started


async def _verify_all(
    lessons: Sequence[Path], backend: str, jobs: int, timeout: int, workshop: bool = False
) -> Any:
    gate = asyncio.Semaphore(max(1, jobs))
    return await asyncio.gather(
        *(verify_lesson(p, backend, timeout, gate, workshop) for p in lessons)
    )


def verify_lessons(
    notebooks_dir: Path,
    *,
    backend: str = "simulated",
    only: Sequence[str] = (),
    jobs: int = 2,
    timeout: int = CELL_TIMEOUT,
    workshop: bool = False,
) -> VerifyReport:
    """Run the lessons of ``notebooks_dir`` (all, or ``only`` those) with their solutions
    and their starters on ``backend``; ``jobs`` runs (kernels) at once. ``workshop``: each
    run as a learner of a fresh simulated workshop (see the module docstring)."""
    if workshop and backend != "simulated":
        raise LabkitError(
            f"--workshop rehearses the lessons as a learner of a simulated workshop, not on "
            f"the {backend} backend\n    fix: drop --backend (or give --backend simulated)"
        )
    started = time.monotonic()
    lessons = find_lessons(notebooks_dir, only)
    results = asyncio.run(_verify_all(lessons, backend, jobs, timeout, workshop))
    return VerifyReport(tuple(results), time.monotonic() - started, workshop)
