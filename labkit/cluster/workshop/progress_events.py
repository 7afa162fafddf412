"""A workshop learner's progress events, written to the ConfigMap ``labkit-progress`` in the
learner's first namespace, for the instructor's dashboard (issue 10).

Each check, quiz answer, verified prediction and failed apply of a learner becomes an
:class:`Event` (time, kind, lesson, item, passed, a detail sentence, the wrong cells
``src -> dst 80/TCP`` and the audit or validation messages). :class:`EventLog` batches them in
memory and writes the newest :data:`KEEP` as JSON lines under the key :data:`EVENTS_KEY` of
:data:`labkit.model.workshop.PROGRESS_CONFIGMAP` in ``space.home``, through the workshop host
(an apply of a ConfigMap: the learner's Role allows ConfigMaps in the learner's namespaces).

Bounds, so 200 learners cannot load the API server or etcd:

* at most one write per :data:`MIN_INTERVAL` seconds per learner (events in between are
  batched; a timer writes the batch when the interval has passed, so a learner who stops
  still has the last events published); :meth:`EventLog.flush` writes now (tests);
* a ConfigMap's data may hold at most 1 MiB (``MaxSecretSize``/ConfigMap validation in the
  API server: "must have at most 1048576 bytes"); the log keeps its data below
  :data:`MAX_BYTES` (256 KiB) by cutting long texts (:data:`MAX_TEXT`) and dropping the
  oldest events first.

The clock (for the rate limit), the wall clock (event times) and the timer are injectable.
:func:`events_from_data` reads the events back from a ConfigMap's ``data`` (the dashboard);
lines it cannot read are skipped, with a warning naming the learner.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from labkit.model.workshop import PROGRESS_CONFIGMAP

if TYPE_CHECKING:
    from labkit.cluster.learner_progress import Recorded
    from labkit.cluster.workshop.host import WorkshopHost
    from labkit.model.workshop import LearnerSpace

log = logging.getLogger(__name__)

EVENTS_KEY = "events.jsonl"
"""The ConfigMap key holding the events, one JSON object a line, oldest first."""
MIN_INTERVAL = 15.0
"""Seconds between two writes of one learner's ConfigMap."""
KEEP = 200
"""How many events the ConfigMap keeps (the newest)."""
MAX_BYTES = 256 * 1024
"""The most the ConfigMap's data may take (the API server's limit is 1 MiB)."""
MAX_TEXT = 500
"""The longest detail or message kept (longer ones end in ``…``)."""
MAX_ITEMS = 20
"""The most wrong cells or messages kept per event."""

KINDS = ("check", "quiz", "prediction", "apply")


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Event:
    """One attempt of a learner: ``kind`` (check, quiz, prediction, apply), ``lesson`` (the
    lesson or quiz bank, ``""`` when not known), ``item`` (requirement id, question id,
    prediction key, probed pair, applied source), whether it ``passed``, a ``detail`` (the
    option chosen, the feedback), the ``wrong_cells`` and the audit or validation
    ``messages``. ``time`` is timezone-aware (UTC)."""

    time: datetime
    kind: str
    lesson: str
    item: str
    passed: bool
    detail: str = ""
    wrong_cells: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    def bounded(self) -> Event:
        """This event with its texts cut to the log's bounds."""
        return replace(
            self,
            lesson=_cut(self.lesson, 200),
            item=_cut(self.item, 200),
            detail=_cut(self.detail),
            wrong_cells=tuple(_cut(c, 200) for c in self.wrong_cells[:MAX_ITEMS]),
            messages=tuple(_cut(m) for m in self.messages[:MAX_ITEMS]),
        )

    def to_json(self) -> str:
        """One JSON line (no newline inside: JSON escapes them)."""
        body: dict[str, Any] = {
            "time": self.time.astimezone(UTC).isoformat(timespec="seconds"),
            "kind": self.kind,
            "lesson": self.lesson,
            "item": self.item,
            "passed": self.passed,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.wrong_cells:
            body["wrong_cells"] = list(self.wrong_cells)
        if self.messages:
            body["messages"] = list(self.messages)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Event:
        """The event of one line; :class:`ValueError` when it is not one."""
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        when = datetime.fromisoformat(str(data["time"]))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return cls(
            time=when,
            kind=str(data["kind"]),
            lesson=str(data.get("lesson", "")),
            item=str(data.get("item", "")),
            passed=bool(data["passed"]),
            detail=str(data.get("detail", "")),
            wrong_cells=tuple(str(c) for c in data.get("wrong_cells") or ()),
            messages=tuple(str(m) for m in data.get("messages") or ()),
        )


def event_from_record(record: Recorded, when: datetime) -> Event | None:
    """The event of a progress record (:mod:`labkit.cluster.learner_progress`), or ``None``
    for records that are no attempt (a prediction's cells being filled in).

    Keys: ``<lesson>:<requirement id>`` (lesson checks), ``prediction:<key>`` (verify),
    ``check:<src>-><dst>:<probe>`` (a probe check), ``<bank>:<question>`` (quiz answers),
    ``<source>`` (apply)."""
    if record.kind == "prediction":
        return None
    key = str(record.key)
    lesson, _, item = key.partition(":")
    if record.kind == "check" and lesson == "prediction":
        kind, lesson = "prediction", ""
    elif record.kind == "check" and lesson == "check":
        kind, lesson = "check", ""
    elif record.kind == "apply":
        kind, lesson, item = "apply", "", key
    else:
        kind = record.kind
        if not item:
            lesson, item = "", key
    return Event(
        time=when,
        kind=kind,
        lesson=lesson,
        item=item,
        passed=bool(record.outcome),
        detail=record.detail,
        wrong_cells=tuple(record.wrong_cells),
        messages=tuple(record.messages),
    ).bounded()


def encode(events: Sequence[Event], *, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> str:
    """The newest ``keep`` events as JSON lines, oldest first, dropping the oldest further
    until the text takes at most ``max_bytes`` bytes (UTF-8)."""
    lines: list[str] = []
    size = 0
    for event in reversed(events[-keep:] if keep else []):
        line = event.bounded().to_json() + "\n"
        size += len(line.encode("utf-8"))
        if size > max_bytes:
            break
        lines.append(line)
    return "".join(reversed(lines))


def events_from_data(data: Mapping[str, str] | None, *, who: str = "") -> list[Event]:
    """The events of a ``labkit-progress`` ConfigMap's ``data``, oldest first."""
    text = (data or {}).get(EVENTS_KEY, "")
    found: list[Event] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            found.append(Event.from_json(line))
        except (ValueError, KeyError, TypeError):
            bad += 1
    if bad:
        log.warning("%d unreadable progress event line(s) skipped%s", bad, f" ({who})" * bool(who))
    found.sort(key=lambda e: e.time)
    return found


def progress_configmap(space: LearnerSpace, events: Sequence[Event], when: datetime) -> Any:
    """The ConfigMap (a :class:`RawObject`, real names, the learner's labels)."""
    from labkit.model.loader import RawObject

    data = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": PROGRESS_CONFIGMAP,
            "namespace": space.home,
            "labels": space.labels(),
        },
        "data": {
            EVENTS_KEY: encode(events),
            "learner": space.learner,
            "updated": when.astimezone(UTC).isoformat(timespec="seconds"),
        },
    }
    return RawObject(data, f"<{PROGRESS_CONFIGMAP}>")


def _timer(delay: float, action: Callable[[], None]) -> Callable[[], None]:
    """Run ``action`` once after ``delay`` seconds in a daemon thread; returns a cancel."""
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()
    return timer.cancel


Schedule = Callable[[float, Callable[[], None]], Callable[[], None]]


class EventLog:
    """One learner's events, batched and rate-limited (see the module docstring).

    ``write(events)`` publishes the whole log (newest :data:`KEEP`); ``read()`` (optional)
    gives the events already published, read once before the first write so a restarted
    kernel keeps the learner's history."""

    def __init__(
        self,
        write: Callable[[Sequence[Event]], None],
        *,
        read: Callable[[], Iterable[Event]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        interval: float = MIN_INTERVAL,
        keep: int = KEEP,
        schedule: Schedule | None = _timer,
    ) -> None:
        self._write = write
        self._read = read
        self.clock = clock
        self.now = now
        self.interval = interval
        self.keep = keep
        self._schedule = schedule
        self._events: deque[Event] = deque(maxlen=keep)
        self._pending = 0
        self._last: float | None = None
        self._cancel: Callable[[], None] | None = None
        self._lock = threading.RLock()
        self.writes = 0

    @property
    def events(self) -> tuple[Event, ...]:
        """What the log holds now (published or not), oldest first."""
        return tuple(self._events)

    @property
    def pending(self) -> int:
        """Events added since the last write."""
        return self._pending

    def add(self, event: Event) -> None:
        """Queue ``event``; written now when the last write is :attr:`interval` old, else
        with the batch when it is (a timer, or the next :meth:`add` or :meth:`flush`)."""
        with self._lock:
            self._events.append(event.bounded())
            self._pending += 1
            wait = self._wait()
            if wait <= 0:
                self._flush_locked()
            elif self._cancel is None and self._schedule is not None:
                self._cancel = self._schedule(wait, self._due)

    def record(self, record: Recorded) -> None:
        """Queue the event of a progress record (nothing for records that are no attempt)."""
        event = event_from_record(record, self.now())
        if event is not None:
            self.add(event)

    def _wait(self) -> float:
        if self._last is None:
            return 0.0
        return self.interval - (self.clock() - self._last)

    def _due(self) -> None:
        with self._lock:
            self._cancel = None
            if not self._pending:
                return
            try:
                self._flush_locked()
            except Exception as exc:  # a timer thread has no caller to tell
                log.warning("progress events not written: %s", exc)

    def flush(self) -> bool:
        """Write the pending events now, whatever the rate limit; ``False`` if none."""
        with self._lock:
            if self._cancel is not None:
                self._cancel()
                self._cancel = None
            if not self._pending:
                return False
            self._flush_locked()
            return True

    def _flush_locked(self) -> None:
        if self._read is not None:
            read, self._read = self._read, None
            try:
                earlier = [e for e in read() if e.time <= self._events[0].time]
            except Exception as exc:  # history is a nicety; the new events still go out
                log.warning("earlier progress events not read: %s", exc)
                earlier = []
            mine = list(self._events)
            self._events.clear()
            self._events.extend([*earlier, *mine][-self.keep :])
        self._last = self.clock()
        self._pending = 0
        self.writes += 1
        self._write(tuple(self._events))


def host_writer(host: WorkshopHost, space: LearnerSpace) -> Callable[[Sequence[Event]], None]:
    """Write the events to ``space``'s ConfigMap through ``host`` (one apply)."""

    def write(events: Sequence[Event]) -> None:
        host.apply([progress_configmap(space, events, datetime.now(UTC))])

    return write


def read_events(host: Any, space: LearnerSpace) -> list[Event]:
    """The events published in ``space``'s ConfigMap (``[]`` when there is none): the
    simulated host's store, or a real cluster's ``GET`` of the ConfigMap by name."""
    data = _configmap_data(host, space.home)
    return events_from_data(data, who=f"learner {space.learner}")


def _configmap_data(host: Any, namespace: str) -> Mapping[str, str] | None:
    entries = getattr(host, "entries", None)
    if callable(entries):  # the simulated host
        for entry in entries():
            obj = entry["object"]
            meta = obj.get("metadata") or {}
            if (
                obj.get("kind") == "ConfigMap"
                and meta.get("name") == PROGRESS_CONFIGMAP
                and meta.get("namespace") == namespace
            ):
                return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
        return None
    obj = host.cluster.reads.get("configmaps", namespace, PROGRESS_CONFIGMAP)
    return None if obj is None else {str(k): str(v) for k, v in (obj.get("data") or {}).items()}


def learner_log(host: WorkshopHost, space: LearnerSpace, **options: Any) -> EventLog:
    """An :class:`EventLog` writing to ``space``'s ConfigMap through ``host``, seeded with
    the events already there."""
    return EventLog(host_writer(host, space), read=lambda: read_events(host, space), **options)
