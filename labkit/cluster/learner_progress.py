"""A learner's progress, saved in ``<lab folder>/progress.json`` (the notebook facade uses it
through :mod:`labkit.lab.progress_store`; the CLI reads it from here).

The file holds every learner of the lab folder (``$LABKIT_LEARNER``, else the OS user)::

    {"version": 1,
     "learners": {
       "alice": {
         "checks": {"02-first-ingress-policy:frontend-isolated":
                        {"passed": true, "attempts": 3, "failures": 0,
                         "time": "2026-12-01T23:10:00+00:00"},
                    "prediction:dns-trap": {"passed": false, "attempts": 1, "time": "..."},
                    "check:a/client->b/server:80/TCP": {...}},
         "quizzes": {"04-egress-and-dns:dns-trap":
                        {"correct": true, "attempts": 2, "time": "..."}},
         "predictions": {"dns-trap": {"probe": "80/TCP", "rows": ["a/x"], "columns": ["b/y"],
                                     "matrix": [[true]], "time": "..."}}}}}

``passed``/``correct`` is the latest attempt's outcome; ``attempts`` counts every attempt;
``failures`` (checks) counts failed attempts since the last pass (it picks the next hint).
Check names: ``<exercise or lesson>:<requirement id>`` (``check_requirements``),
``prediction:<key>`` (``verify``), ``check:<src>-><dst>:<probe>`` (``check``), and quiz
answers ``<bank>:<question id>``. Writes are atomic (:func:`labkit.cluster.labdir.write_json_atomic`).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError

log = logging.getLogger(__name__)

LEARNER_ENV = "LABKIT_LEARNER"
FILE_NAME = "progress.json"
VERSION = 1


def learner() -> str:
    """``$LABKIT_LEARNER``, else the OS user name."""
    name = os.environ.get(LEARNER_ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "learner"


def progress_path(home: Path | None = None) -> Path:
    from labkit.cluster.labdir import lab_home

    return (home or lab_home()) / FILE_NAME


@dataclass(frozen=True)
class Progress:
    """One learner's record (the ``learners.<name>`` part of the file)."""

    learner: str
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    quizzes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    predictions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def passed(self) -> tuple[str, ...]:
        return tuple(sorted(k for k, v in self.checks.items() if v.get("passed")))

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(sorted(k for k, v in self.checks.items() if not v.get("passed")))

    def as_json(self) -> dict[str, Any]:
        return {
            "learner": self.learner,
            "checks": dict(self.checks),
            "quizzes": dict(self.quizzes),
            "predictions": dict(self.predictions),
        }

    def lines(self) -> list[str]:
        right = sum(1 for v in self.quizzes.values() if v.get("correct"))
        out = [
            f"learner: {self.learner}",
            f"checks: {len(self.passed)} passed, {len(self.failed)} failing",
            f"quiz questions: {right} of {len(self.quizzes)} answered correctly",
            f"predictions: {len(self.predictions)}",
        ]
        for name in sorted(self.checks):
            entry = self.checks[name]
            mark = "pass" if entry.get("passed") else "FAIL"
            out.append(f"  {mark}  {name}  ({entry.get('attempts', 1)} attempts)")
        for name in sorted(self.quizzes):
            entry = self.quizzes[name]
            mark = "right" if entry.get("correct") else "wrong"
            out.append(f"  {mark}  quiz {name}  ({entry.get('attempts', 1)} attempts)")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        import html

        return f"<pre class='labkit-learner-progress'>{html.escape(str(self))}</pre>"


def _read_all(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": VERSION, "learners": {}}
    except (OSError, ValueError) as exc:
        raise LabkitError(
            f"{path}: cannot read the progress file ({exc}); move it aside to start afresh"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("learners"), dict):
        raise LabkitError(f"{path}: not a labkit progress file (no 'learners' mapping)")
    return data


def load(name: str | None = None, *, home: Path | None = None) -> Progress:
    """The progress of ``name`` (default: :func:`learner`)."""
    who = name or learner()
    record = _read_all(progress_path(home))["learners"].get(who) or {}
    return Progress(
        who,
        record.get("checks", {}),
        record.get("quizzes", {}),
        record.get("predictions", {}),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _update(section: str, key: str, values: Mapping[str, Any], home: Path | None) -> None:
    from labkit.cluster.labdir import write_json_atomic

    path = progress_path(home)
    data = _read_all(path)
    record = data["learners"].setdefault(learner(), {})
    entries = record.setdefault(section, {})
    previous = entries.get(key) or {}
    entries[key] = {**values, "attempts": int(previous.get("attempts", 0)) + 1, "time": _now()}
    if values.get("passed") is False:
        entries[key]["failures"] = int(previous.get("failures", 0)) + 1
    write_json_atomic(path, data)


def record_check(name: str, passed: bool, *, home: Path | None = None) -> None:
    """Record one check's outcome (each call is an attempt)."""
    _update("checks", name, {"passed": bool(passed)}, home)


def record_quiz(key: str, correct: bool, *, home: Path | None = None) -> None:
    _update("quizzes", key, {"correct": bool(correct)}, home)


def record_prediction(key: str, value: Mapping[str, Any], *, home: Path | None = None) -> None:
    _update("predictions", key, value, home)


def record_quietly(kind: str, key: str, outcome: Any, *, detail: str = "") -> None:
    """Record without ever breaking the lesson: an unwritable lab folder is logged. Then the
    listeners hear of it (:func:`notify`; ``detail``: e.g. the quiz option chosen)."""
    recorders: dict[str, Callable[[str, Any], None]] = {
        "check": record_check,
        "quiz": record_quiz,
        "prediction": record_prediction,
    }
    try:
        recorders[kind](key, outcome)
    except LabkitError as exc:
        log.warning("progress not saved: %s", exc)
    notify(Recorded(kind, key, outcome, detail=detail))


# -- the hook point: who else hears of each record (workshop mode's progress events) --------
@dataclass(frozen=True)
class Recorded:
    """One record as listeners hear it: ``kind`` (check, quiz, prediction, apply), the key as
    stored (``<lesson>:<requirement id>``...), the outcome, and what a caller adds: a
    ``detail`` sentence, the ``wrong_cells`` (``src -> dst 80/TCP``) and messages (audit or
    validation) of a failed attempt."""

    kind: str
    key: str
    outcome: Any
    detail: str = ""
    wrong_cells: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()


Listener = Callable[[Recorded], None]
_listeners: list[Listener] = []
_held: ContextVar[list[Recorded] | None] = ContextVar("labkit_progress_held", default=None)
_warned: set[str] = set()


def add_listener(listener: Listener) -> None:
    """Call ``listener`` with every :class:`Recorded` from now on (once, however often added)."""
    if listener not in _listeners:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


@contextmanager
def held_records() -> Iterator[list[Recorded]]:
    """Inside, records are kept back in the yielded list instead of reaching the listeners,
    so a caller that knows more (the wrong cells of a verification) can enrich them and
    :func:`notify` them itself."""
    held: list[Recorded] = []
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)


def notify(record: Recorded) -> None:
    """Tell every listener of ``record``; never raises (a listener's failure is logged as a
    warning, once per kind of failure: the learner's notebook must go on)."""
    held = _held.get()
    if held is not None:
        held.append(record)
        return
    for listener in list(_listeners):
        try:
            listener(record)
        except Exception as exc:  # a listener must never break the lesson
            reason = f"{type(exc).__name__}"
            if reason not in _warned:
                _warned.add(reason)
                log.warning("progress event not published (%s); the lesson goes on", exc)
