"""The instructor's workshop dashboard, from data: learners x checks, who is stuck, the most
common wrong answers, pod health (issue 10). Pure: no cluster access, no clock; the caller
(``labkit workshop dashboard``, the notebook ``lab.workshop_dashboard``) gathers each learner's
state (:mod:`labkit.cluster.workshop.observe`) and passes ``now``.

* **Checks** come from the cluster state, through the grader's own evaluation: each learner's
  logical inventory is the graded world (``after``), the same inventory without the learner's
  NetworkPolicies the starting world (``before``, as a lesson self-check's base is the lab as
  it is, policies aside), and every requirement of every lesson file is checked with
  :func:`labkit.grading.evaluate.check_requirement`: the files and the code of
  ``lab.check_requirements``, ``labkit check`` and ``labkit grade``. A cell passes when the
  requirement's check passes (gates decide points, not this). A requirement that cannot be
  evaluated on a learner's world (a peer that does not exist there) is ``?``, with the reason.
  Learners whose worlds are equal are evaluated once.
* **Stuck**: no progress event for ``stuck_minutes`` minutes, or none at all.
* **Common wrong answers**: failed events grouped by wrong cell (a prediction's or a check's
  ``src -> dst 80/TCP``; a quiz's option chosen) and by audit or validation message, counted
  in learners (and attempts), top :data:`TOP`.
* **Pod health**: ready/total pods per learner, with the reasons of the pods not ready.

Renderers: :func:`dashboard_text` (CLI), :func:`status_json` (``workshop status -o json``),
:func:`dashboard_json` (``workshop dashboard -o json``) and :func:`dashboard_html` (the
notebook: a compact grid where colour is never the only signal: ✓, ✗ and ? marks, a legend).
"""

from __future__ import annotations

import html
import logging
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from labkit.errors import LabkitError
from labkit.grading.evaluate import View, check_requirement
from labkit.grading.requirements import RequirementSet
from labkit.model.inventory import Inventory

log = logging.getLogger(__name__)

TOP = 10
PASS, FAIL, UNKNOWN = "✓", "✗", "?"


class EventLike(Protocol):
    """A progress event (:class:`labkit.cluster.workshop.progress_events.Event`)."""

    @property
    def time(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def lesson(self) -> str: ...
    @property
    def item(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    @property
    def detail(self) -> str: ...
    @property
    def wrong_cells(self) -> tuple[str, ...]: ...
    @property
    def messages(self) -> tuple[str, ...]: ...


class LearnerStateLike(Protocol):
    """One learner's state (:class:`labkit.cluster.workshop.observe.LearnerState`)."""

    @property
    def learner(self) -> str: ...
    @property
    def namespaces(self) -> tuple[str, ...]: ...
    @property
    def inventory(self) -> Inventory: ...
    @property
    def pods_ready(self) -> int: ...
    @property
    def pods_total(self) -> int: ...
    @property
    def not_ready(self) -> tuple[str, ...]: ...
    @property
    def events(self) -> Sequence[EventLike]: ...
    @property
    def last_activity(self) -> datetime | None: ...


@dataclass(frozen=True)
class Check:
    """A column of the grid: one requirement of one lesson."""

    lesson: str
    id: str
    description: str

    @property
    def key(self) -> str:
        return f"{self.lesson}:{self.id}"


@dataclass(frozen=True)
class LearnerRow:
    """A row: ``results`` per check (``True`` pass, ``False`` fail, ``None`` not
    evaluable: see ``problems``)."""

    learner: str
    namespaces: tuple[str, ...]
    results: tuple[bool | None, ...]
    pods_ready: int
    pods_total: int
    not_ready: tuple[str, ...]
    last_activity: datetime | None
    stuck: bool
    events: int
    problems: tuple[str, ...] = ()

    @property
    def checks_passed(self) -> int:
        return sum(1 for r in self.results if r)

    @property
    def ready(self) -> str:
        """``ready/total`` pods, as kubectl's READY column."""
        return f"{self.pods_ready}/{self.pods_total}"

    @property
    def healthy(self) -> bool:
        return self.pods_total > 0 and self.pods_ready == self.pods_total


@dataclass(frozen=True)
class WrongAnswer:
    """A wrong answer many gave: ``where`` (``lesson item`` or ``kind item``), the ``answer``
    (a wrong cell, an option, a message), in how many ``learners`` and ``attempts``."""

    where: str
    answer: str
    learners: int
    attempts: int
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    workshop: str
    now: datetime
    stuck_minutes: float
    checks: tuple[Check, ...]
    rows: tuple[LearnerRow, ...]
    wrong_cells: tuple[WrongAnswer, ...]
    wrong_messages: tuple[WrongAnswer, ...]

    @property
    def stuck(self) -> tuple[LearnerRow, ...]:
        return tuple(r for r in self.rows if r.stuck)

    @property
    def unhealthy(self) -> tuple[LearnerRow, ...]:
        return tuple(r for r in self.rows if not r.healthy)

    def lessons(self) -> list[tuple[str, int]]:
        """``(lesson, number of its checks)`` in column order."""
        counts: dict[str, int] = {}
        for check in self.checks:
            counts[check.lesson] = counts.get(check.lesson, 0) + 1
        return list(counts.items())

    def row(self, learner: str) -> LearnerRow:
        for row in self.rows:
            if row.learner == learner:
                return row
        raise KeyError(learner)

    def result(self, learner: str, check_key: str) -> bool | None:
        index = [c.key for c in self.checks].index(check_key)
        return self.row(learner).results[index]


# -- building ---------------------------------------------------------------------------------
def build_dashboard(
    states: Sequence[LearnerStateLike],
    requirements: Mapping[str, RequirementSet],
    *,
    now: datetime,
    stuck_minutes: float = 10,
    workshop: str = "",
) -> Dashboard:
    """The dashboard of ``states`` against ``requirements`` (lesson -> its requirement set,
    as :func:`labkit.grading.requirements.load_requirements` reads a lesson file)."""
    checks = tuple(
        Check(lesson, r.id, r.description)
        for lesson, rs in requirements.items()
        for r in rs.requirements
    )
    evaluated: dict[Hashable, tuple[tuple[bool | None, ...], tuple[str, ...]]] = {}
    rows = []
    for state in states:
        key: Hashable = _key(state.inventory)
        found = evaluated.get(key) if key is not None else None
        if found is None:
            found = _evaluate(state.inventory, requirements)
            if key is not None:
                evaluated[key] = found
        results, problems = found
        last = state.last_activity
        stuck = last is None or now - last > timedelta(minutes=stuck_minutes)
        rows.append(
            LearnerRow(
                learner=state.learner,
                namespaces=tuple(state.namespaces),
                results=results,
                pods_ready=state.pods_ready,
                pods_total=state.pods_total,
                not_ready=tuple(state.not_ready),
                last_activity=last,
                stuck=stuck,
                events=len(state.events),
                problems=problems,
            )
        )
    cells, messages = _wrong_answers(states)
    return Dashboard(workshop, now, stuck_minutes, checks, tuple(rows), cells, messages)


def _key(inventory: Inventory) -> Hashable | None:
    try:
        hash(inventory)
    except TypeError:
        return None
    return inventory


def _evaluate(
    inventory: Inventory, requirements: Mapping[str, RequirementSet]
) -> tuple[tuple[bool | None, ...], tuple[str, ...]]:
    """Every requirement checked on ``inventory`` (one View per set of externals)."""
    start = replace(inventory, policies=())
    views: dict[tuple[Any, ...], tuple[View, View]] = {}
    results: list[bool | None] = []
    problems: list[str] = []
    for lesson, rs in requirements.items():
        externals = tuple(rs.externals)
        if externals not in views:
            views[externals] = (View(inventory, externals), View(start, externals))
        after, before = views[externals]
        for req in rs.requirements:
            try:
                results.append(check_requirement(req, after, before).passed)
            except LabkitError as exc:
                results.append(None)
                problems.append(f"{lesson}:{req.id}: {str(exc).splitlines()[0]}")
    return tuple(results), tuple(problems)


def _where(event: EventLike) -> str:
    return " ".join(p for p in (event.lesson or event.kind, event.item) if p)


def _wrong_answers(
    states: Sequence[LearnerStateLike],
) -> tuple[tuple[WrongAnswer, ...], tuple[WrongAnswer, ...]]:
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    messages: dict[tuple[str, str], list[str]] = defaultdict(list)
    for state in states:
        for event in state.events:
            if event.passed:
                continue
            where = _where(event)
            answers = list(event.wrong_cells)
            if event.kind == "quiz" and event.detail:
                answers.append(event.detail)
            for answer in dict.fromkeys(answers):
                cells[(where, answer)].append(state.learner)
            for message in dict.fromkeys(event.messages):
                messages[(event.kind, message)].append(state.learner)
    return _top(cells), _top(messages)


def _top(groups: Mapping[tuple[str, str], list[str]]) -> tuple[WrongAnswer, ...]:
    found = []
    for (where, answer), names in groups.items():
        people = Counter(names)
        found.append(WrongAnswer(where, answer, len(people), len(names), tuple(sorted(people))))
    found.sort(key=lambda w: (-w.learners, -w.attempts, w.where, w.answer))
    return tuple(found[:TOP])


# -- rendering --------------------------------------------------------------------------------
def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")


def ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    minutes = int((now - when).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


def _mark(result: bool | None) -> str:
    return UNKNOWN if result is None else PASS if result else FAIL


def status_json(board: Dashboard) -> dict[str, Any]:
    """``labkit workshop status -o json``: ``{"workshop", "learners": [{"name",
    "namespaces", "ready" ("ready/total" pods, as kubectl's READY), "checks_passed",
    "last_activity" (ISO 8601 or null)}]}``."""
    return {
        "workshop": board.workshop,
        "learners": [
            {
                "name": row.learner,
                "namespaces": list(row.namespaces),
                "ready": row.ready,
                "checks_passed": row.checks_passed,
                "last_activity": _iso(row.last_activity),
            }
            for row in board.rows
        ],
    }


def _answer_json(answer: WrongAnswer) -> dict[str, Any]:
    return {
        "where": answer.where,
        "answer": answer.answer,
        "learners": answer.learners,
        "attempts": answer.attempts,
        "names": list(answer.names),
    }


def dashboard_json(board: Dashboard) -> dict[str, Any]:
    """``labkit workshop dashboard -o json``: the status fields of each learner plus its
    results (check key -> true, false or null), and the dashboard's lists."""
    status = status_json(board)
    for entry, row in zip(status["learners"], board.rows, strict=True):
        entry |= {
            "pods_ready": row.pods_ready,
            "pods_total": row.pods_total,
            "not_ready": list(row.not_ready),
            "stuck": row.stuck,
            "events": row.events,
            "results": {c.key: r for c, r in zip(board.checks, row.results, strict=True)},
            "problems": list(row.problems),
        }
    return {
        **status,
        "now": _iso(board.now),
        "stuck_minutes": board.stuck_minutes,
        "checks": [
            {"key": c.key, "lesson": c.lesson, "id": c.id, "description": c.description}
            for c in board.checks
        ],
        "stuck": [row.learner for row in board.stuck],
        "wrong_cells": [_answer_json(a) for a in board.wrong_cells],
        "wrong_messages": [_answer_json(a) for a in board.wrong_messages],
    }


LEGEND = f"{PASS} passes   {FAIL} fails   {UNKNOWN} cannot be evaluated   ⏸ stuck"


def dashboard_text(board: Dashboard) -> str:
    """The dashboard for a terminal: one line per learner (marks grouped by lesson), then
    the stuck learners, the common wrong answers and the pods that are not ready."""
    lessons = board.lessons()
    name_width = max([len("LEARNER"), *(len(r.learner) for r in board.rows)])
    lines = [
        f"workshop {board.workshop}: {len(board.rows)} learners, {len(board.checks)} checks "
        f"in {len(lessons)} lessons; stuck = no progress for {board.stuck_minutes:g} min",
        f"legend: {LEGEND}",
        "lessons: " + ", ".join(f"{n}={lesson}" for n, (lesson, _) in enumerate(lessons, 1)),
        f"{'LEARNER'.ljust(name_width)}  PODS    CHECKS  LAST ACTIVITY  MARKS (per lesson)",
    ]
    for row in board.rows:
        marks, start = [], 0
        for _, count in lessons:
            marks.append("".join(_mark(r) for r in row.results[start : start + count]))
            start += count
        stuck = "⏸ " if row.stuck else "  "
        lines.append(
            f"{row.learner.ljust(name_width)}  {row.ready.ljust(6)}  "
            f"{f'{row.checks_passed}/{len(board.checks)}'.ljust(6)}  "
            f"{stuck}{ago(row.last_activity, board.now).ljust(11)}  {' '.join(marks)}"
        )
    lines.append("")
    stuck_rows = board.stuck
    names = ", ".join(r.learner for r in stuck_rows) if stuck_rows else "nobody"
    lines.append(f"stuck ({len(stuck_rows)}): {names}")
    for title, answers in (
        ("most common wrong answers (cells, options)", board.wrong_cells),
        ("most common audit/validation messages", board.wrong_messages),
    ):
        lines.append(f"{title}:")
        lines += [
            f"  {a.learners} learners ({a.attempts} attempts)  {a.where}: {a.answer}"
            for a in answers
        ] or ["  none"]
    unhealthy = board.unhealthy
    lines.append(f"pods not ready ({len(unhealthy)} learners):")
    lines += [
        f"  {r.learner} {r.ready}: " + ("; ".join(r.not_ready) or "no pods") for r in unhealthy
    ] or ["  none"]
    problems = sorted({p for r in board.rows for p in r.problems})
    if problems:
        lines.append("checks that cannot be evaluated (?):")
        lines += [f"  {p}" for p in problems[:TOP]]
    return "\n".join(lines)


STYLE = (
    ".labkit-dash{font-family:sans-serif;font-size:12px}"
    ".labkit-dash table{border-collapse:collapse}"
    ".labkit-dash th,.labkit-dash td{border:1px solid #ccc;padding:1px 3px;text-align:center;"
    "white-space:nowrap}"
    ".labkit-dash thead th{position:sticky;top:0;background:#f6f8fa}"
    ".labkit-dash td.name{text-align:left;font-weight:bold}"
    ".labkit-dash .pass{background:#dafbe1;color:#1a7f37}"
    ".labkit-dash .fail{background:#ffebe9;color:#cf222e}"
    ".labkit-dash .unknown{background:#fff8c5;color:#7d4e00}"
    ".labkit-dash .stuck{background:#fff8c5}"
    ".labkit-dash .grid{max-height:40em;overflow:auto}"
    ".labkit-dash td.left{text-align:left;white-space:normal}"
)
_CLASS = {True: "pass", False: "fail", None: "unknown"}


def dashboard_html(board: Dashboard) -> str:
    """The dashboard for a notebook: the learners x checks grid (one column per
    requirement, grouped under its lesson; a sticky header; every cell a mark and a
    tooltip), then the stuck learners, the common wrong answers and the pod problems."""
    e = html.escape
    lessons = board.lessons()
    head1 = "".join(
        f'<th colspan="{n}" title="{e(lesson)}">{e(lesson[:14])}</th>' for lesson, n in lessons
    )
    head2 = "".join(
        f'<th title="{e(c.key)}: {e(c.description)}">{i}</th>'
        for i, c in enumerate(board.checks, 1)
    )
    rows = []
    for row in board.rows:
        cells = "".join(
            f'<td class="{_CLASS[r]}" title="{e(row.learner)} {e(c.key)}">{_mark(r)}</td>'
            for c, r in zip(board.checks, row.results, strict=True)
        )
        pods = (PASS if row.healthy else "⚠") + " " + row.ready
        pods_title = "; ".join(row.not_ready) or "all pods ready"
        stuck = "⏸ " if row.stuck else ""
        rows.append(
            f'<tr><td class="name">{e(row.learner)}</td>'
            f'<td class="{"pass" if row.healthy else "fail"}" title="{e(pods_title)}">'
            f"{e(pods)}</td><td>{row.checks_passed}/{len(board.checks)}</td>"
            f'<td class="{"stuck" if row.stuck else ""}">{stuck}'
            f"{e(ago(row.last_activity, board.now))}</td>{cells}</tr>"
        )
    grid = (
        '<div class="grid"><table class="labkit-dash-grid"><thead>'
        f'<tr><th rowspan="2">learner</th><th rowspan="2">pods</th>'
        f'<th rowspan="2">checks</th><th rowspan="2">last activity</th>{head1}</tr>'
        f"<tr>{head2}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    columns = "".join(
        f"<li><b>{i}</b> <code>{e(c.key)}</code>: {e(c.description)}</li>"
        for i, c in enumerate(board.checks, 1)
    )
    stuck_rows = board.stuck
    stuck_text = ", ".join(e(r.learner) for r in stuck_rows) if stuck_rows else "nobody"
    unhealthy = "".join(
        f"<li>{e(r.learner)} {e(r.ready)}: {e('; '.join(r.not_ready) or 'no pods')}</li>"
        for r in board.unhealthy
    )
    return (
        f'<div class="labkit-dash"><style>{STYLE}</style>'
        f"<p><b>Workshop {e(board.workshop)}</b>: {len(board.rows)} learners, "
        f"{len(board.checks)} checks, at {e(board.now.strftime('%H:%M:%S'))}. "
        f'<span class="labkit-dash-legend">Legend: <span class="pass">{PASS} passes</span> '
        f'<span class="fail">{FAIL} fails</span> '
        f'<span class="unknown">{UNKNOWN} cannot be evaluated</span> '
        f'<span class="stuck">⏸ stuck: no progress for {board.stuck_minutes:g} min</span> '
        f"⚠ pods not ready (hover for the reasons)</span></p>{grid}"
        f"<details><summary>Columns</summary><ol>{columns}</ol></details>"
        f'<h4>Stuck ({len(stuck_rows)})</h4><p class="labkit-dash-stuck">{stuck_text}</p>'
        f"<h4>Most common wrong answers</h4>{_answers_html(board.wrong_cells, 'answer')}"
        f"<h4>Most common audit and validation messages</h4>"
        f"{_answers_html(board.wrong_messages, 'message')}"
        f"<h4>Pods not ready</h4><ul>{unhealthy or '<li>none</li>'}</ul></div>"
    )


def _answers_html(answers: Sequence[WrongAnswer], label: str) -> str:
    if not answers:
        return "<p>none</p>"
    e = html.escape
    body = "".join(
        f'<tr><td>{a.learners}</td><td>{a.attempts}</td><td class="left">{e(a.where)}</td>'
        f'<td class="left">{e(a.answer)}</td><td class="left">{e(", ".join(a.names[:10]))}'
        f"{' …' if len(a.names) > 10 else ''}</td></tr>"
        for a in answers
    )
    return (
        f'<table class="labkit-dash-answers"><tr><th>learners</th><th>attempts</th>'
        f"<th>where</th><th>{label}</th><th>who</th></tr>{body}</table>"
    )


def dashboard_page(board: Dashboard) -> str:
    """A complete HTML page of the dashboard (``labkit workshop dashboard --html FILE``)."""
    title = html.escape(f"workshop {board.workshop}: dashboard")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}'
        f"</title></head><body>{dashboard_html(board)}</body></html>\n"
    )
