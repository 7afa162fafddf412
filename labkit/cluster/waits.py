"""The one waiting loop of labkit: every wait on a cluster (nodes, Calico, pods, the canary's
probes, a namespace going away) goes through :func:`poll_until` or :func:`wait_for`.

A wait is a ``check`` returning ``(ready, what is still missing)``, a deadline, and a way to
pause between checks: a plain ``sleep`` with an interval that grows by ``backoff`` up to
``max_interval`` (polling), or a ``pause`` that returns as soon as the watched API objects
change (a watch, :meth:`labkit.cluster.reads.ObjectWait.pause`). Progress gets each new
"still missing" message once; on timeout :func:`wait_for` raises :class:`ClusterNotReady`
saying what was still not ready after how long, and how to fix it. A check that raises
:class:`ClusterError` (an API server not answering yet) counts as "not ready" with the
error's first line as the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from labkit.cluster.image_pull import pull_hint
from labkit.cluster.progress import Progress
from labkit.errors import ClusterError, ClusterNotReady

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]
Pause = Callable[[float], None]


@dataclass(frozen=True)
class Waited:
    """How a wait ended: ``ok``, the last message of the check and the seconds it took."""

    ok: bool
    message: str
    seconds: float


class VirtualClock:
    """A clock whose ``sleep`` only moves it forward: for backends where waiting costs
    nothing (the simulated cluster) and for tests."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def _run(check: Check) -> tuple[bool, str]:
    try:
        return check()
    except ClusterError as exc:
        return False, str(exc).splitlines()[0]


def poll_until(
    what: str,
    check: Check,
    *,
    timeout: float,
    progress: Progress | None = None,
    interval: float = 1.0,
    backoff: float = 1.0,
    max_interval: float = 10.0,
    pause: Pause | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Waited:
    """Run ``check`` until it is ready or ``timeout`` seconds passed; never raises for a
    timeout (see :func:`wait_for`). With ``pause`` (a watch), the loop waits for a change
    for up to the time left instead of sleeping ``interval``."""
    start = clock()
    last = ""
    step = interval
    while True:
        ok, message = _run(check)
        elapsed = clock() - start
        if ok:
            log.info("%s ready after %.1f s", what, elapsed)
            return Waited(True, message, elapsed)
        if message and message != last and progress is not None:
            progress.advance(f"{what}: {message}")
        last = message
        left = timeout - elapsed
        if left <= 0:
            return Waited(False, message, elapsed)
        if pause is not None:
            try:
                pause(left)
                continue
            except ClusterError as exc:
                log.info("%s: watch failed (%s); polling instead", what, exc)
                pause = None
        sleep(min(step, left))
        step = min(step * backoff, max_interval)


def wait_for(
    what: str,
    check: Check,
    *,
    timeout: float,
    progress: Progress | None = None,
    interval: float = 2.0,
    backoff: float = 1.0,
    max_interval: float = 10.0,
    pause: Pause | None = None,
    fix: str = "",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """:func:`poll_until`, raising :class:`ClusterNotReady` on timeout; returns the seconds
    it took."""
    done = poll_until(
        what,
        check,
        timeout=timeout,
        progress=progress,
        interval=interval,
        backoff=backoff,
        max_interval=max_interval,
        pause=pause,
        clock=clock,
        sleep=sleep,
    )
    if not done.ok:
        text = f"{what} not ready after {timeout:.0f} s: {done.message or 'no answer'}"
        pulled = pull_hint(done.message)  # ErrImagePull/ImagePullBackOff: labkit images ...
        fix = f"{fix}; {pulled}" if fix and pulled else (fix or pulled)
        raise ClusterNotReady(text + (f"\n    fix: {fix}" if fix else ""))
    return done.seconds
