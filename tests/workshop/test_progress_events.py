"""A workshop learner's progress events: rate limit on a fake clock, the ConfigMap round trip
through the simulated host, the size bound, and the facade's hook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from labkit.cluster import learner_progress
from labkit.cluster.learner_progress import Recorded
from labkit.cluster.workshop.progress_events import (
    EVENTS_KEY,
    KEEP,
    MAX_BYTES,
    Event,
    EventLog,
    encode,
    event_from_record,
    events_from_data,
    learner_log,
    read_events,
)
from labkit.model.workshop import PROGRESS_CONFIGMAP

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def event(n: int = 0, **fields: object) -> Event:
    values: dict[str, object] = {
        "time": T0 + timedelta(seconds=n),
        "kind": "check",
        "lesson": "01-namespaces",
        "item": f"req-{n}",
        "passed": False,
    }
    values.update(fields)
    return Event(**values)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeTimer:
    """Records what EventLog schedules; ``fire()`` runs it as the timer would."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Callable[[], None]]] = []
        self.cancelled = 0

    def __call__(self, delay: float, action: Callable[[], None]) -> Callable[[], None]:
        self.calls.append((delay, action))
        return self.cancel

    def cancel(self) -> None:
        self.cancelled += 1

    def fire(self) -> None:
        self.calls[-1][1]()


def test_at_most_one_write_per_interval_and_batches_between() -> None:
    clock, timer, written = FakeClock(), FakeTimer(), []
    log = EventLog(written.append, clock=clock, schedule=timer)
    log.add(event(0))
    assert len(written) == 1  # the first event goes out at once
    clock.now = 1.0
    log.add(event(1))
    clock.now = 2.0
    log.add(event(2))
    assert len(written) == 1 and log.pending == 2
    assert len(timer.calls) == 1 and timer.calls[0][0] == pytest.approx(14.0)
    clock.now = 14.9
    timer.fire()  # the timer writes the batch when the interval has passed
    assert len(written) == 2 and [e.item for e in written[1]] == ["req-0", "req-1", "req-2"]
    clock.now = 20.0
    log.add(event(3))  # 5.1 s after the last write: batched again
    assert len(written) == 2
    clock.now = 30.0
    log.add(event(4))  # 15.1 s after: written with the batch
    assert len(written) == 3 and log.pending == 0
    assert [e.item for e in written[2]][-2:] == ["req-3", "req-4"]


def test_flush_writes_now_whatever_the_limit() -> None:
    clock, timer, written = FakeClock(), FakeTimer(), []
    log = EventLog(written.append, clock=clock, schedule=timer)
    log.add(event(0))
    log.add(event(1))
    assert log.flush() is True
    assert len(written) == 2 and timer.cancelled == 1
    assert log.flush() is False  # nothing pending: no write
    assert len(written) == 2


def test_keeps_the_newest_events_only() -> None:
    written: list[tuple[Event, ...]] = []
    log = EventLog(written.append, clock=FakeClock(), schedule=None)
    for n in range(KEEP + 50):
        log.add(event(n))
    log.flush()
    assert len(written[-1]) == KEEP
    assert written[-1][0].item == "req-50" and written[-1][-1].item == f"req-{KEEP + 49}"


def test_event_json_round_trip() -> None:
    original = event(
        3,
        kind="prediction",
        lesson="",
        item="dns-trap",
        detail="2 cells wrong\nsecond line",
        wrong_cells=("a/x -> b/y 53/UDP (predicted allowed)",),
        messages=("spec.ingress[0]: Invalid value",),
    )
    line = original.to_json()
    assert "\n" not in line
    assert Event.from_json(line) == original
    data = {EVENTS_KEY: encode([original, event(4)])}
    assert events_from_data(data) == [original, event(4)]


def test_unreadable_lines_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    data = {EVENTS_KEY: event(1).to_json() + "\nnot json\n{}\n"}
    with caplog.at_level(logging.WARNING):
        assert events_from_data(data, who="learner alice") == [event(1)]
    assert "2 unreadable" in caplog.text and "alice" in caplog.text


def test_size_stays_well_below_a_configmap_limit() -> None:
    huge = [
        event(n, detail="x" * 10_000, wrong_cells=("c" * 1000,) * 50, messages=("m" * 5000,) * 50)
        for n in range(KEEP)
    ]
    text = encode(huge)
    assert len(text.encode("utf-8")) <= MAX_BYTES < 1024 * 1024
    kept = events_from_data({EVENTS_KEY: text})
    assert kept and kept[-1].item == f"req-{KEEP - 1}"  # the newest survive
    assert all(len(e.detail) <= 500 and len(e.wrong_cells) <= 20 for e in kept)


def test_events_from_records() -> None:
    quiz = event_from_record(Recorded("quiz", "04-egress-and-dns:dns-trap", False, "option 2"), T0)
    assert quiz is not None
    assert (quiz.kind, quiz.lesson, quiz.item, quiz.passed, quiz.detail) == (
        "quiz",
        "04-egress-and-dns",
        "dns-trap",
        False,
        "option 2",
    )
    verify = event_from_record(Recorded("check", "prediction:dns-trap", True), T0)
    assert verify is not None and (verify.kind, verify.item) == ("prediction", "dns-trap")
    probe = event_from_record(Recorded("check", "check:a/x->b/y:80/TCP", False), T0)
    assert probe is not None and (probe.kind, probe.lesson, probe.item) == (
        "check",
        "",
        "a/x->b/y:80/TCP",
    )
    assert event_from_record(Recorded("prediction", "dns-trap", {"matrix": []}), T0) is None


def test_configmap_round_trip_through_the_simulated_host(workshop) -> None:  # type: ignore[no-untyped-def]
    host, ws = workshop(["alice", "bob"])
    alice = ws.space("alice")
    log = learner_log(host, alice, clock=FakeClock(), schedule=None)
    log.add(event(1, kind="quiz", detail="option 2"))
    log.add(event(2, messages=("spec: Invalid value",)))
    log.flush()
    assert read_events(host, alice) == [
        event(1, kind="quiz", detail="option 2"),
        event(2, messages=("spec: Invalid value",)),
    ]
    assert read_events(host, ws.space("bob")) == []
    stored = [
        e["object"]
        for e in host.entries()
        if e["object"].get("kind") == "ConfigMap"
        and e["object"]["metadata"]["name"] == PROGRESS_CONFIGMAP
    ]
    assert len(stored) == 1
    meta = stored[0]["metadata"]
    assert meta["namespace"] == alice.home
    assert meta["labels"]["labkit.dev/learner"] == "alice"
    # a restarted kernel keeps the history: the next log reads what is there first
    again = learner_log(host, alice, clock=FakeClock(), schedule=None)
    again.add(event(3))
    again.flush()
    assert [e.item for e in read_events(host, alice)] == ["req-1", "req-2", "req-3"]


def test_the_facade_hook_publishes_records_of_a_learner(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    import labkit.lab  # noqa: F401  (registers the listener)
    from labkit.lab import dashboard

    host, ws = workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    dashboard.forget_learner_events()
    learner_progress.record_quietly("quiz", "01-namespaces:q1", False, detail="option 3")
    learner_progress.record_quietly("check", "01-namespaces:outside-stays-out", True)
    events = dashboard.learner_events()
    assert events is not None
    events.flush()
    found = read_events(host, ws.space("alice"))
    assert [(e.kind, e.item, e.passed, e.detail) for e in found] == [
        ("quiz", "q1", False, "option 3"),
        ("check", "outside-stays-out", True, ""),
    ]
    assert read_events(host, ws.space("bob")) == []
    dashboard.forget_learner_events()


def test_a_single_user_lab_publishes_nothing(lab_home, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from labkit.lab import dashboard

    dashboard.forget_learner_events()
    learner_progress.record_quietly("check", "01-namespaces:x", True)
    assert dashboard.learner_events() is None


def test_a_failing_publisher_never_breaks_the_lesson(
    lab_home, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    calls = []

    def broken(record: Recorded) -> None:
        calls.append(record)
        raise RuntimeError("API server unreachable")

    learner_progress.add_listener(broken)
    try:
        with caplog.at_level(logging.WARNING):
            learner_progress.record_quietly("check", "01-namespaces:x", False)
            learner_progress.record_quietly("check", "01-namespaces:y", False)
    finally:
        learner_progress.remove_listener(broken)
    assert len(calls) == 2
    assert caplog.text.count("progress event not published") <= 1  # warned once at most
    assert learner_progress.load().checks["01-namespaces:y"]["passed"] is False


def test_facade_enrichment_adds_wrong_cells_and_messages() -> None:
    from labkit.errors import Issue, ValidationFailed
    from labkit.lab import dashboard

    seen: list[Recorded] = []
    learner_progress.add_listener(seen.append)
    try:

        @dashboard.publishing(dashboard.enrich_apply)
        def apply(source: str) -> None:
            raise ValidationFailed(
                [
                    Issue(
                        "f.yaml", "NetworkPolicy my-segment/x", "spec.podSelector", "Required value"
                    )
                ]
            )

        with pytest.raises(ValidationFailed):
            apply("policy.yaml")
    finally:
        learner_progress.remove_listener(seen.append)
    assert [(r.kind, r.key, r.outcome) for r in seen] == [("apply", "policy.yaml", False)]
    assert seen[0].messages == ("NetworkPolicy my-segment/x: spec.podSelector: Required value",)


def test_facade_calls_of_a_learner_reach_the_configmap(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    import labkit.lab as lab
    from labkit.errors import ValidationFailed
    from labkit.lab import dashboard

    host, ws = workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    dashboard.forget_learner_events()
    bad = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: my-segment}\nspec: {policyTypes: [Sideways]}\n"
    with pytest.raises(ValidationFailed):
        lab.apply(bad)
    result = lab.check("untrusted/client", "my-segment/frontend", "80/TCP", expect="blocked")
    assert not result.matches  # no policy yet: allowed
    events = dashboard.learner_events()
    assert events is not None
    events.flush()
    found = read_events(host, ws.space("alice"))
    assert [(e.kind, e.passed) for e in found] == [("apply", False), ("check", False)]
    apply, check = found
    assert apply.item == "YAML text" and any("policyTypes" in m for m in apply.messages)
    assert check.wrong_cells == (
        "untrusted/client -> my-segment/frontend 80/TCP (expected blocked)",
    )
    dashboard.forget_learner_events()


def test_self_check_and_verify_records_carry_feedback_and_wrong_cells() -> None:
    from types import SimpleNamespace

    from labkit.lab import dashboard
    from labkit.probe.jobs import Outcome

    miss = (
        "untrusted/client -> my-segment/frontend on 80/TCP is allowed but must be blocked: "
        "no policy selects my-segment/frontend"
    )
    grade = SimpleNamespace(
        exercise="01-namespaces",
        requirements=(
            SimpleNamespace(id="outside-stays-out", passed=False, feedback=miss),
            SimpleNamespace(id="inside-reaches-my-segment", passed=True, feedback="passed"),
        ),
    )
    held = [
        Recorded("check", "01-namespaces:outside-stays-out", False),
        Recorded("check", "01-namespaces:inside-reaches-my-segment", True),
    ]
    out = dashboard.enrich_self_check(held, SimpleNamespace(grade=grade), None, {})
    assert out[0].wrong_cells == (
        "untrusted/client -> my-segment/frontend 80/TCP is allowed but must be blocked",
    )
    assert out[0].detail == miss and out[1] == held[1]
    wrong = SimpleNamespace(
        source="trusted/client",
        destination="my-segment/database",
        predicted=True,
        observed=Outcome.BLOCKED,
        why="",
    )
    verification = SimpleNamespace(
        key="dns-trap", wrong=(wrong,), observed=SimpleNamespace(probe="80/TCP")
    )
    out = dashboard.enrich_verify(
        [Recorded("check", "prediction:dns-trap", False)], verification, None, {}
    )
    assert out[0].wrong_cells == (
        "trusted/client -> my-segment/database 80/TCP (predicted allowed)",
    )
