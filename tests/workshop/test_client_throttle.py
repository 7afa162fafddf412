"""A learner's self-imposed limits on a shared cluster (labkit.cluster.workshop.throttle):
a token bucket and the live-matrix spacing on a virtual clock, the exec limit with real
threads."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import pytest

from labkit.cluster.waits import VirtualClock
from labkit.cluster.workshop.throttle import (
    EXEC_CONCURRENCY,
    MATRIX_INTERVAL_S,
    ExecLimiter,
    MatrixLimiter,
    TokenBucket,
)


# -- TokenBucket --------------------------------------------------------------------------------
def test_a_full_bucket_gives_its_burst_at_once_then_paces_at_the_rate() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(2.0, 5.0, clock, clock.sleep)
    assert [bucket.acquire() for _ in range(5)] == [0.0] * 5
    assert clock.sleeps == []
    assert bucket.acquire() == pytest.approx(0.5)
    assert bucket.acquire() == pytest.approx(0.5)
    assert clock.now == pytest.approx(1.0)
    assert clock.sleeps == pytest.approx([0.5, 0.5])


def test_idle_time_refills_up_to_the_capacity_and_no_further() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(1.0, 3.0, clock, clock.sleep)
    for _ in range(3):
        bucket.acquire()
    clock.now += 1.5
    assert bucket.available == pytest.approx(1.5)
    clock.now += 100.0
    assert bucket.available == pytest.approx(3.0)
    assert [bucket.acquire() for _ in range(3)] == [0.0] * 3
    assert bucket.acquire() == pytest.approx(1.0)


def test_a_larger_request_waits_for_all_its_tokens() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(4.0, 8.0, clock, clock.sleep)
    assert bucket.acquire(8) == 0.0
    assert bucket.acquire(2) == pytest.approx(0.5)
    assert bucket.acquire(4) == pytest.approx(1.0)


def test_the_rate_over_a_long_run_is_the_configured_rate() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(5.0, 10.0, clock, clock.sleep)
    for _ in range(510):
        bucket.acquire()
    # 10 from the burst, 500 at 5 a second
    assert clock.now == pytest.approx(100.0)


@pytest.mark.parametrize(("rate", "capacity"), [(0, 1), (-1, 1), (1, 0)])
def test_a_bucket_needs_a_positive_rate_and_capacity(rate: float, capacity: float) -> None:
    with pytest.raises(ValueError, match="positive rate and capacity"):
        TokenBucket(rate, capacity)


def test_more_than_the_capacity_can_never_be_acquired() -> None:
    bucket = TokenBucket(1.0, 2.0, VirtualClock(), VirtualClock().sleep)
    with pytest.raises(ValueError, match="capacity"):
        bucket.acquire(3)


def test_concurrent_callers_each_wait_their_own_share() -> None:
    """Real threads on a frozen clock: every caller beyond the burst reserves its tokens,
    so the waits are 0.1, 0.2, ... 1.5 s (one each), never two callers on the same token."""
    sleeps: list[float] = []
    bucket = TokenBucket(10.0, 5.0, clock=lambda: 0.0, sleep=sleeps.append)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        waited = bucket.acquire()
        with lock:
            waits.append(waited)

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([0.0] * 5 + [k / 10 for k in range(1, 16)])
    assert sorted(sleeps) == pytest.approx([k / 10 for k in range(1, 16)])


# -- MatrixLimiter ------------------------------------------------------------------------------
def test_the_first_live_matrix_goes_at_once_the_next_waits_the_interval_plus_jitter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock()
    limiter = MatrixLimiter(clock=clock, sleep=clock.sleep, rng=random.Random(7))
    expected_jitter = random.Random(7).uniform(0, 3.0)
    assert limiter.acquire() == 0.0
    clock.now += 5.0
    with caplog.at_level(logging.INFO, logger="labkit.cluster.workshop.throttle"):
        waited = limiter.acquire()
    assert waited == pytest.approx(15.0 + expected_jitter)
    assert clock.now == pytest.approx(20.0 + expected_jitter)
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        f"workshop: the live matrix waits {waited:.1f} s (one live matrix per learner every "
        "20 s); predictions are free"
    )


def test_a_matrix_after_the_interval_does_not_wait(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock()
    limiter = MatrixLimiter(clock=clock, sleep=clock.sleep, rng=random.Random(1))
    limiter.acquire()
    clock.now += MATRIX_INTERVAL_S
    with caplog.at_level(logging.INFO):
        assert limiter.acquire() == 0.0
    assert clock.sleeps == []
    assert not caplog.records


def test_the_jitter_stays_within_its_bounds_and_spreads() -> None:
    clock = VirtualClock()
    limiter = MatrixLimiter(20.0, 3.0, clock, clock.sleep, random.Random(2024))
    limiter.acquire()
    extra = [limiter.acquire() - 20.0 for _ in range(300)]
    assert all(0.0 <= e <= 3.0 for e in extra)
    assert max(extra) - min(extra) > 2.5
    # the same seed gives the same waits: a reproducible schedule
    again = VirtualClock()
    twin = MatrixLimiter(20.0, 3.0, again, again.sleep, random.Random(2024))
    twin.acquire()
    assert [twin.acquire() - 20.0 for _ in range(300)] == pytest.approx(extra)


def test_two_hundred_learners_who_wait_do_not_fire_together() -> None:
    """Every learner ran a matrix at t=0 and asks again at t=1: their next matrices start
    spread over [20, 23] s, not all at t=20."""
    starts = []
    for n in range(200):
        clock = VirtualClock()
        limiter = MatrixLimiter(clock=clock, sleep=clock.sleep, rng=random.Random(n))
        limiter.acquire()
        clock.now = 1.0
        limiter.acquire()
        starts.append(clock.now)
    assert all(20.0 <= s <= 23.0 for s in starts)
    assert len({round(s, 3) for s in starts}) > 190
    in_first_second = sum(1 for s in starts if s < 21.0)
    assert 40 <= in_first_second <= 95  # about a third, not all of them


def test_concurrent_matrix_requests_are_spaced_too() -> None:
    """Two threads asking at the same instant: one goes, the other waits an interval."""
    sleeps: list[float] = []
    limiter = MatrixLimiter(20.0, 0.0, clock=lambda: 0.0, sleep=sleeps.append)
    waits: list[float] = []
    threads = [threading.Thread(target=lambda: waits.append(limiter.acquire())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == [0.0, 20.0, 40.0]


# -- ExecLimiter --------------------------------------------------------------------------------
class ConcurrencyProbe:
    """A fake exec that records how many calls run at once; each call waits (up to 2 s) at
    a barrier of ``pair`` parties, so ``pair`` calls must really overlap."""

    def __init__(self, pair: int) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.calls: list[tuple[str, str, list[str], float]] = []
        self.barrier = threading.Barrier(pair, timeout=2.0)

    def __call__(self, namespace: str, pod: str, argv: list[str], timeout: float) -> str:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.calls.append((namespace, pod, list(argv), timeout))
        try:
            self.barrier.wait()
            time.sleep(0.01)
        finally:
            with self.lock:
                self.active -= 1
        return f"ran in {pod}"


def run_threads(fn: Callable[[int], object], count: int) -> list[object]:
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            results[i] = fn(i)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_never_more_than_two_execs_at_once_with_eight_threads() -> None:
    probe = ConcurrencyProbe(pair=2)
    limited = ExecLimiter().wrap(probe)
    results = run_threads(lambda i: limited("ws1-alice-trusted", f"p{i}", ["true"], 5.0), 8)
    assert EXEC_CONCURRENCY == 2
    assert probe.peak == 2
    assert len(probe.calls) == 8
    assert results == [f"ran in p{i}" for i in range(8)]


def test_without_the_limiter_the_same_threads_do_overlap() -> None:
    """The control: the probe does see more than two at once when nothing limits them."""
    probe = ConcurrencyProbe(pair=4)
    run_threads(lambda i: probe("ns", f"p{i}", ["true"], 5.0), 8)
    assert probe.peak >= 4


def test_a_failing_exec_gives_its_slot_back() -> None:
    limiter = ExecLimiter(1)

    def boom(namespace: str, pod: str) -> None:
        raise RuntimeError(f"exec in {namespace}/{pod} failed")

    limited = limiter.wrap(boom)
    for _ in range(3):
        with pytest.raises(RuntimeError, match="exec in ns/p failed"):
            limited("ns", pod="p")
    assert limiter.wrap(lambda: "free")() == "free"


def test_an_exec_limit_needs_at_least_one_slot() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ExecLimiter(0)
