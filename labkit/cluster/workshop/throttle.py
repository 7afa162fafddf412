"""How a learner's notebook limits itself on a shared cluster (workshop mode).

The API server protects itself with API Priority and Fairness, but not from exec: "requests
classified as long-running, such as remote command execution or log tailing, are not subject
to the API Priority and Fairness filter" (Kubernetes docs, "API Priority and Fairness"; the
same holds for ``--max-requests-inflight``). A live matrix is one exec per source pod, each
held open for about a probe timeout, so 200 learners probing at once would open hundreds of
exec streams through the API server and the kubelets with nothing queueing them. labkit
therefore limits each learner itself:

* :class:`ExecLimiter`: at most :data:`EXEC_CONCURRENCY` (2) exec streams at a time;
* :class:`MatrixLimiter`: one live matrix every :data:`MATRIX_INTERVAL_S` (20 s), with a
  random jitter on each wait so learners who wait do not fire together; predictions (the
  engine, no cluster) never ask it;
* :class:`TokenBucket`: a request rate with bursts, for other paced calls (progress
  events, status reads).

Everything takes its clock (``Callable[[], float]``) and ``sleep`` (``Callable[[float],
None]``): :class:`labkit.cluster.waits.VirtualClock` is both, so tests wait for nothing.
All three are thread-safe; none holds its lock while it sleeps.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
P = ParamSpec("P")
R = TypeVar("R")

EXEC_CONCURRENCY = 2
"""Exec streams one learner may have open at once."""
MATRIX_INTERVAL_S = 20.0
"""Seconds between the starts of two live matrices of one learner."""
MATRIX_JITTER_S = 3.0
"""The most a waiting live matrix waits beyond :data:`MATRIX_INTERVAL_S` (uniform)."""


class TokenBucket:
    """``rate_per_s`` tokens a second, at most ``capacity`` stored (the burst); the bucket
    starts full. :meth:`acquire` takes ``n`` tokens, sleeping until they are there.

    A caller that must wait reserves its tokens before it sleeps (the balance goes below
    zero), so concurrent callers queue in the order they asked and each sleeps exactly its
    own share; nobody sleeps holding the lock."""

    def __init__(
        self,
        rate_per_s: float,
        capacity: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate_per_s <= 0 or capacity <= 0:
            raise ValueError(
                f"a token bucket needs a positive rate and capacity, got rate {rate_per_s}/s "
                f"and capacity {capacity}"
            )
        self.rate_per_s = float(rate_per_s)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._stamp = clock()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate_per_s)
        self._stamp = now

    @property
    def available(self) -> float:
        """Tokens there now (negative while callers wait for reserved ones)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    def acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens (at most ``capacity``), sleeping until they are there; returns
        the seconds slept (0 when they were there)."""
        if n <= 0 or n > self.capacity:
            raise ValueError(f"acquire between 0 and the capacity {self.capacity:g}, not {n:g}")
        with self._lock:
            self._refill(self._clock())
            self._tokens -= n
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s
        if wait > 0:
            self._sleep(wait)
        return wait


class ExecLimiter:
    """At most ``max_concurrent`` exec streams of one learner at once (a bounded
    semaphore): exec is a long-running request that API Priority and Fairness does not
    queue, so the client queues its own. One limiter per learner: in a notebook pod, one
    per process."""

    def __init__(self, max_concurrent: int = EXEC_CONCURRENCY) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self.max_concurrent = max_concurrent
        self._slots = threading.BoundedSemaphore(max_concurrent)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the slots (blocks until one is free)."""
        with self._slots:
            yield

    def wrap(self, exec_fn: Callable[P, R]) -> Callable[P, R]:
        """``exec_fn`` (an :data:`labkit.cluster.live_probe.ExecFn`, or
        :meth:`labkit.cluster.kube_api.KubeApi.exec`) that holds a slot while it runs."""

        @wraps(exec_fn)
        def limited(*args: P.args, **kwargs: P.kwargs) -> R:
            with self.slot():
                return exec_fn(*args, **kwargs)

        return limited


class MatrixLimiter:
    """One live matrix per learner every ``interval_s`` seconds. :meth:`acquire` is called
    before a live matrix starts: the first goes at once; one asked for sooner waits for the
    rest of the interval plus a uniform random jitter in ``[0, jitter_s]`` (so learners told
    "run the matrix now" do not all fire again at the same instant), and logs at INFO why.
    Predictions never call it: they cost the cluster nothing."""

    def __init__(
        self,
        interval_s: float = MATRIX_INTERVAL_S,
        jitter_s: float = MATRIX_JITTER_S,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if interval_s < 0 or jitter_s < 0:
            raise ValueError(
                f"interval and jitter must not be negative, got {interval_s} and {jitter_s}"
            )
        self.interval_s = float(interval_s)
        self.jitter_s = float(jitter_s)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        self._last: float | None = None

    def acquire(self) -> float:
        """Wait until this learner may start a live matrix; returns the seconds waited. The
        start is reserved before the wait, so concurrent callers are spaced too."""
        with self._lock:
            now = self._clock()
            wait = 0.0
            if self._last is not None and now < self._last + self.interval_s:
                wait = self._last + self.interval_s - now + self._rng.uniform(0, self.jitter_s)
            self._last = now + wait
        if wait > 0:
            log.info(
                "workshop: the live matrix waits %.1f s (one live matrix per learner every "
                "%g s); predictions are free",
                wait,
                self.interval_s,
            )
            self._sleep(wait)
        return wait
