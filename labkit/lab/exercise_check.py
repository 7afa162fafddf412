"""The notebook self-check of a graded exercise (``lab.check_requirements``).

The same requirement files as ``labkit check``: the exercise's public requirements only, with
feedback for each miss, and never a hidden requirement or an "all tests passed"
(:mod:`labkit.grading.report`). What is checked:

* a path: a manifest file or folder, or a notebook whose cells tagged ``answer`` hold YAML
  (the exercise notebooks pass their own saved file), read as data
  (:func:`labkit.grading.read_submission`);
* YAML text, one object or a list of objects: written to a temporary file and read the same
  way (same limits, same checks);
* nothing: what the learner applied to the lab cluster, taken from the cluster's current
  objects (its NetworkPolicies, and any namespace or pod whose labels differ from the lab's,
  which the exercise then rejects with a reason).
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from labkit.model.objects import MANAGED_LABEL

if TYPE_CHECKING:
    from labkit.grading import Exercise, Grade, Submission
    from labkit.model.loader import RawObject

SET_BY_THE_CLUSTER = frozenset({MANAGED_LABEL, "kubernetes.io/metadata.name"})
"""Labels labkit or the API server puts on objects: not a learner's change."""

SubmissionLike = str | Path | Mapping[str, object] | Sequence[Mapping[str, object]] | None


@dataclass(frozen=True)
class SelfCheck:
    """A self-check's result: the public checks as a table with feedback, then the count."""

    grade: Grade
    source: str
    hints: tuple[tuple[str, str], ...] = ()
    """``(requirement id, hint)`` for failing requirements (:mod:`labkit.lab.lesson_check`)."""

    @property
    def passed(self) -> bool:
        """Every public check passes (hidden checks have not run)."""
        return all(r.passed for r in self.grade.requirements if not r.hidden)

    def __str__(self) -> str:
        from labkit.grading.report import grade_lines

        hints = [f"hint for {rid}: {text}" for rid, text in self.hints]
        lines = grade_lines(self.grade, public_only=True)
        return "\n".join([f"checked: {self.source}", *lines, *hints])

    def _repr_html_(self) -> str:
        from labkit.grading.report import grade_table_html, summary_line

        summary = html.escape(summary_line(self.grade, public_only=True))
        return (
            f'<div class="labkit-selfcheck"><p>Checked: {html.escape(self.source)}</p>'
            f"{grade_table_html(self.grade, public_only=True)}"
            f'<p class="labkit-selfcheck-summary"><b>{summary}</b></p>{self._hints_html()}</div>'
        )

    def _hints_html(self) -> str:
        return "".join(
            f'<p class="labkit-hint">Hint for {html.escape(rid)}: {html.escape(text)}</p>'
            for rid, text in self.hints
        )


def find(exercise: str | Path) -> Exercise:
    """An exercise by id (in the exercises folder) or by its folder, or a lesson's
    requirement file ``notebooks/requirements/<lesson>.yaml`` (:mod:`labkit.lab.lesson_check`)."""
    from labkit.grading import find_exercise
    from labkit.lab.lesson_check import lesson_exercise, lesson_file

    lesson = lesson_file(exercise)
    if lesson is not None:
        return lesson_exercise(lesson)
    given = Path(exercise)
    if given.is_dir():
        return find_exercise(given, given.parent)
    from labkit.cluster.grading_inputs import exercises_dir

    return find_exercise(str(exercise), exercises_dir())


def check_requirements(
    exercise: str | Path, submission: SubmissionLike = None, *, hint_level: int | None = None
) -> SelfCheck:
    """Check ``submission`` (see the module) against ``exercise``'s public requirements (an
    exercise or a lesson); record each requirement and add the next hint for each failure."""
    from labkit.cluster.grading_inputs import lab_world
    from labkit.grading import check
    from labkit.lab import lesson_check

    found = find(exercise)
    base = lab_world()
    if submission is None and lesson_check.lesson_file(exercise) is not None:
        base = _lesson_world(base)
    read, source = _read(submission, base)
    grade = check(found, read, base)
    hints = lesson_check.hints_for(found, grade, hint_level=hint_level)
    lesson_check.record(found.id, grade)
    return SelfCheck(grade, source, hints)


def _lesson_world(base: Sequence[RawObject]) -> list[RawObject]:
    from labkit.cluster.grading_inputs import cluster_objects
    from labkit.cluster.lifecycle import connect
    from labkit.lab.lesson_check import live_world

    return live_world(base, cluster_objects(connect()))


def _read(submission: SubmissionLike, base: Sequence[RawObject]) -> tuple[Submission, str]:
    from labkit.grading import read_submission

    if submission is None:
        from labkit.cluster.grading_inputs import cluster_objects
        from labkit.cluster.lifecycle import connect

        lab = connect()
        return _applied_changes(cluster_objects(lab), base), f"the {lab.name} lab cluster"
    if isinstance(submission, Path) or (isinstance(submission, str) and _is_path(submission)):
        return read_submission(submission), str(submission)
    text = submission if isinstance(submission, str) else _as_yaml(submission)
    with tempfile.TemporaryDirectory(prefix="labkit-check-") as folder:
        path = Path(folder) / "answer.yaml"
        path.write_text(text, encoding="utf-8")
        return read_submission(path), "the YAML given"


def _is_path(text: str) -> bool:
    return "\n" not in text and not text.lstrip().startswith(("apiVersion", "kind", "{", "---"))


def _as_yaml(objects: Mapping[str, object] | Sequence[Mapping[str, object]]) -> str:
    items = [objects] if isinstance(objects, Mapping) else list(objects)
    return yaml.safe_dump_all([dict(i) for i in items], sort_keys=False)


def _applied_changes(objects: Sequence[RawObject], base: Sequence[RawObject]) -> Submission:
    """What the learner changed on the cluster: every NetworkPolicy outside the system
    namespaces, and namespaces and pods that the lab does not have or labels differently."""
    from labkit.cluster.topology import SYSTEM_NAMESPACES
    from labkit.grading import Submission
    from labkit.grading.world import object_key

    lab = {object_key(o): _labels(o) for o in base}
    changed = []
    for raw in objects:
        key = object_key(raw)
        namespace = raw.name if raw.kind == "Namespace" else raw.namespace
        if namespace in SYSTEM_NAMESPACES and key not in lab:
            continue
        if raw.kind == "NetworkPolicy" or lab.get(key) != _labels(raw):
            changed.append(raw)
    return Submission(tuple(changed))


def _labels(raw: RawObject) -> dict[str, str]:
    labels = raw.metadata.get("labels")
    if not isinstance(labels, Mapping):
        return {}
    return {str(k): str(v) for k, v in labels.items() if k not in SET_BY_THE_CLUSTER}
