"""Grades in words: the text of ``labkit check``/``grade``, one HTML report per student, and
the class summary (a page and a figure: the score distribution and the requirements missed
most).

A self-check (``public_only``) never shows a hidden requirement, and never says "all tests
passed": it says how many public checks pass and that hidden checks run only when graded (the
trap nbgrader and otter-grader users report). Everything a submission controls (file names,
object names, feedback quoting them) is HTML-escaped. matplotlib is imported only to draw the
figure, inside :class:`labkit.extras.lab_extra`.
"""

from __future__ import annotations

import html
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from labkit.grading.gradebook import StudentGrade
    from labkit.grading.privilege import LeastPrivilege
    from labkit.grading.score import Grade, RequirementResult

log = logging.getLogger(__name__)

SUMMARY_FIGURE = "summary.png"


def _points(value: float) -> str:
    return f"{value:g}"


def shown_requirements(grade: Grade, public_only: bool) -> list[RequirementResult]:
    return [r for r in grade.requirements if not (public_only and r.hidden)]


def summary_line(grade: Grade, *, public_only: bool = False) -> str:
    """``3 of 4 public checks pass; hidden checks run only when graded`` (self-check) or
    ``score 7/10 (least privilege 1.5/2)``."""
    if public_only:
        from labkit.grading.score import check_summary

        return check_summary(grade)
    lp = grade.least_privilege
    note = privilege_note(lp)
    return (
        f"{grade.exercise}: score {_points(grade.score)}/{_points(grade.max_score)} "
        f"(least privilege {_points(lp.score)}/{_points(lp.max_score)}, "
        f"{lp.excess_flows} excess flows{': ' + note if lp.gated else ''})"
    )


def privilege_note(lp: LeastPrivilege) -> str:
    """Why the least-privilege points are what they are, in one line ("" when full)."""
    if lp.gated:
        return "counts only once every graded requirement passes"
    if lp.score < lp.max_score:
        return f"{lp.excess_flows} of {lp.open_flows} flows open beyond what the task needs"
    return ""


def grade_lines(grade: Grade, *, public_only: bool = False) -> list[str]:
    """The grade as text: one line per requirement (feedback indented under a miss), what
    was rejected and what was invalid, then the summary line."""
    lines: list[str] = []
    for r in shown_requirements(grade, public_only):
        mark = "pass" if r.passed else "MISS"
        tag = " (hidden)" if r.hidden else ""
        lines.append(
            f"[{mark}] {r.id}{tag} {_points(r.points)}/{_points(r.max_points)}: {r.description}"
        )
        if r.feedback and (not r.passed or r.points < r.max_points):
            lines += [f"       {line}" for line in r.feedback.splitlines()]
    lines += [f"rejected: {_joined(r.file, r.object, r.reason)}" for r in grade.rejected]
    lines += [f"invalid: {_error_text(e)}" for e in grade.errors]
    lines.append(summary_line(grade, public_only=public_only))
    return lines


def _joined(*parts: str) -> str:
    """``file: object: reason`` without the empty parts."""
    return ": ".join(part for part in parts if part)


def _error_text(error: Mapping[str, str]) -> str:
    """A ``labkit validate`` error as ``file: object: message``."""
    return _joined(*(str(error.get(k, "")) for k in ("file", "object", "message")))


def table_lines(grade: Grade) -> list[str]:
    """The requirements as a fixed-width table (``labkit grade -o table``)."""
    rows = [("REQUIREMENT", "HIDDEN", "POINTS", "PASSED")]
    rows += [
        (
            r.id,
            "yes" if r.hidden else "no",
            f"{_points(r.points)}/{_points(r.max_points)}",
            "yes" if r.passed else "no",
        )
        for r in grade.requirements
    ]
    lp = grade.least_privilege
    rows.append(("least-privilege", "no", f"{_points(lp.score)}/{_points(lp.max_score)}", "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return [*lines, summary_line(grade)]


# -- HTML ------------------------------------------------------------------------------------
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
    "text-align:left;vertical-align:top}.pass{color:#1a7f37}.miss{color:#cf222e}"
    "pre{white-space:pre-wrap;margin:0}"
)


def grade_html(grade: Grade, *, title: str = "", public_only: bool = False) -> str:
    """One report as a complete HTML page (``labkit grade -o html``, ``--report-dir``)."""
    heading = html.escape(title or grade.exercise)
    body = [
        f"<h1>{heading}</h1>",
        f'<p class="labkit-grade-summary">{html.escape(summary_line(grade, public_only=public_only))}</p>',
        grade_table_html(grade, public_only=public_only),
        _list_html(
            "Rejected objects (no effect, no credit)",
            [_joined(r.file, r.object, r.reason) for r in grade.rejected],
        ),
        _list_html(
            "Invalid objects (zero for what they would have done)",
            [_error_text(e) for e in grade.errors],
        ),
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{heading}'
        f"</title><style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def grade_table_html(grade: Grade, *, public_only: bool = False) -> str:
    """The requirements as an HTML table (also the notebook self-check's display)."""
    rows = ["<tr><th>Check</th><th>Points</th><th>Result</th><th>Feedback</th></tr>"]
    for r in shown_requirements(grade, public_only):
        result = '<span class="pass">pass</span>' if r.passed else '<span class="miss">miss</span>'
        hidden = " <em>(hidden)</em>" if r.hidden else ""
        shown = r.feedback and (not r.passed or r.points < r.max_points)
        feedback = html.escape(r.feedback) if shown else ""
        rows.append(
            f"<tr><td><code>{html.escape(r.id)}</code>{hidden}<br>{html.escape(r.description)}"
            f"</td><td>{_points(r.points)}/{_points(r.max_points)}</td><td>{result}</td>"
            f"<td><pre>{feedback}</pre></td></tr>"
        )
    if not public_only:
        lp = grade.least_privilege
        rows.append(
            f"<tr><td>least privilege<br>{lp.excess_flows} flows beyond the reference</td>"
            f"<td>{_points(lp.score)}/{_points(lp.max_score)}</td><td></td>"
            f"<td><pre>{html.escape(privilege_note(lp))}</pre></td></tr>"
        )
    return '<table class="labkit-grade">' + "".join(rows) + "</table>"


def _list_html(title: str, items: Sequence[str]) -> str:
    if not items:
        return ""
    entries = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    return f"<h2>{html.escape(title)}</h2><ul>{entries}</ul>"


# -- the class -------------------------------------------------------------------------------
def missed_most(grades: Sequence[StudentGrade]) -> list[tuple[str, int]]:
    """``(requirement id, students who missed it)``, most missed first (ties by id)."""
    counts = Counter(r.id for g in grades for r in g.grade.requirements if not r.passed)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def write_reports(report_dir: Path, grades: Sequence[StudentGrade]) -> list[Path]:
    """One ``<student>.html`` per student, ``index.html`` (every score, the requirements
    missed most and the figure) and ``summary.png``; returns the files written. Without
    matplotlib the figure is left out, with a warning that says what to install."""
    from labkit.errors import MissingExtra

    report_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for item in grades:
        path = report_dir / f"{item.student}.html"
        path.write_text(
            grade_html(item.grade, title=f"{item.student}: {item.grade.exercise}"), encoding="utf-8"
        )
        written.append(path)
    figure: Path | None = report_dir / SUMMARY_FIGURE
    try:
        summary_figure(grades, report_dir / SUMMARY_FIGURE)
    except MissingExtra as exc:
        log.warning("summary figure left out: %s", exc)
        figure = None
    index = report_dir / "index.html"
    index.write_text(summary_html(grades, figure), encoding="utf-8")
    return [*written, *([figure] if figure else []), index]


def summary_html(grades: Sequence[StudentGrade], figure: Path | None) -> str:
    exercise = grades[0].grade.exercise if grades else ""
    rows = "".join(
        f'<tr><td><a href="{html.escape(quote(g.student))}.html">{html.escape(g.student)}</a></td>'
        f"<td>{_points(g.grade.score)}/{_points(g.grade.max_score)}</td></tr>"
        for g in grades
    )
    missed = "".join(
        f"<li><code>{html.escape(rid)}</code>: {count} of {len(grades)}</li>"
        for rid, count in missed_most(grades)
    )
    image = (
        f'<img src="{figure.name}" alt="score distribution and requirements missed most">'
        if figure
        else ""
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(exercise)}: class summary</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{html.escape(exercise)}: {len(grades)} submissions</h1>{image}"
        f"<h2>Requirements missed most</h2><ul>{missed or '<li>none</li>'}</ul>"
        f"<h2>Scores</h2><table><tr><th>Student</th><th>Score</th></tr>{rows}</table>"
        "\n</body></html>\n"
    )


def summary_figure(grades: Sequence[StudentGrade], path: Path) -> None:
    """Save the class figure: a histogram of the scores beside the requirements missed
    most (horizontal bars, most missed on top)."""
    from labkit.extras import lab_extra

    with lab_extra("the class summary figure"):
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    scores_axes, missed_axes = fig.subplots(1, 2)
    scores = [g.grade.score for g in grades]
    top = max((g.grade.max_score for g in grades), default=1.0) or 1.0
    # one bin per point (up to 20 bins), so a bar never spans two very different scores
    scores_axes.hist(scores, bins=max(1, min(20, math.ceil(top))), range=(0, top))
    for axis in (scores_axes.yaxis, missed_axes.xaxis):
        axis.set_major_locator(MaxNLocator(integer=True))  # counts of students
    scores_axes.set_title(f"Score distribution ({len(grades)} submissions)")
    scores_axes.set_xlabel(f"score (max {_points(top)})")
    scores_axes.set_ylabel("students")
    missed = missed_most(grades)[:10]
    names = [rid for rid, _ in reversed(missed)]
    missed_axes.barh(names, [count for _, count in reversed(missed)])
    missed_axes.set_title("Requirements missed most")
    missed_axes.set_xlabel("students who missed it")
    if not missed:
        missed_axes.text(
            0.5,
            0.5,
            "no requirement missed",
            ha="center",
            va="center",
            transform=missed_axes.transAxes,
        )
    fig.savefig(path, dpi=100)
