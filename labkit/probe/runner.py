"""The runner interface, and the runner that asks the engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol as TypingProtocol

from labkit.engine.evaluator import Engine
from labkit.probe.jobs import Job, Outcome, Result


class Runner(TypingProtocol):
    """Anything that can run probe jobs: the engine, a simulated cluster, a real cluster."""

    def run(self, jobs: Sequence[Job]) -> list[Result]:
        """Run every job and return one result per job, in order."""
        ...


class EngineRunner:
    """Answers jobs from the policy engine: the prediction a live probe is compared with."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def run(self, jobs: Sequence[Job]) -> list[Result]:
        results: list[Result] = []
        for job in jobs:
            src = self.engine.endpoint(job.src)
            dst = self.engine.endpoint(job.dst)
            verdict = self.engine.allowed(src, dst, job.probe.port, job.probe.protocol)
            if verdict is None:
                outcome = Outcome.NOT_APPLICABLE
            else:
                outcome = Outcome.ALLOWED if verdict else Outcome.BLOCKED
            results.append(Result(job, outcome, "predicted by the policy engine"))
        return results
