"""``labkit grade --live``: the submission on the lab cluster, where the probes decide.

The lab cluster (:func:`labkit.cluster.lifecycle.connect`) is reset to the topology, then the
exercise's ``world/`` objects and the submission's accepted objects (what
:func:`labkit.grading.build_world` keeps; rejected objects are never applied) are applied in
one validated batch. Every ordered pair of the lab's pods is probed on the ports the lab's
pods serve (80/TCP, 81/UDP, 9090/TCP). The probes decide those ports: they are passed to the
grader as observations (:meth:`labkit.grading.evaluate.View.observed`), so a requirement on a
probed port is judged on what the cluster did; every other port of the full connectivity is
the engine's. Each answer that differs from the engine's prediction is reported too: the
cluster's CNI and the engine disagree on this submission. A probe that failed (pod not ready,
exec error) decides nothing and is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.probe.jobs import Job, Outcome, ProbeSpec, Result

if TYPE_CHECKING:
    from labkit.grading import Exercise, Submission
    from labkit.grading.evaluate import Observation
    from labkit.model.loader import RawObject

LIVE_PROBES = (ProbeSpec.parse("80/TCP"), ProbeSpec.parse("81/UDP"), ProbeSpec.parse("9090/TCP"))
"""The ports every lab pod serves (clusters/topology/topology.yaml)."""


@dataclass(frozen=True)
class Disagreement:
    src: str
    dst: str
    probe: str
    probed: str
    predicted: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "from": self.src,
            "to": self.dst,
            "probe": self.probe,
            "probed": self.probed,
            "predicted": self.predicted,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class LiveCheck:
    backend: str
    applied: tuple[str, ...]
    probes: int
    disagreements: tuple[Disagreement, ...]
    observations: tuple[Observation, ...] = ()
    """What the probes saw (failed probes left out): the grade's evidence on those ports."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "applied": list(self.applied),
            "probes": self.probes,
            "agrees": not self.disagreements,
            "disagreements": [d.as_dict() for d in self.disagreements],
        }

    def lines(self) -> list[str]:
        head = (
            f"live ({self.backend}): {self.probes} probes after applying "
            f"{len(self.applied)} objects: "
        )
        if not self.disagreements:
            return [head + "every probe agrees with the engine"]
        lines = [head + f"{len(self.disagreements)} disagree with the engine"]
        lines += [
            f"  {d.src} -> {d.dst} on {d.probe}: probed {d.probed}, engine says {d.predicted}"
            + (f" ({d.detail})" if d.detail else "")
            for d in self.disagreements
        ]
        return lines


def objects_to_apply(base: Sequence[RawObject], graded: Sequence[RawObject]) -> list[RawObject]:
    """The graded world's objects that the lab's reset does not create (``world/`` objects
    and the submission's accepted ones), in order."""
    from labkit.grading.world import object_key

    before = {object_key(o): o.data for o in base}
    return [o for o in graded if before.get(object_key(o)) != o.data]


def live_check(exercise: Exercise, submission: Submission, base: Sequence[RawObject]) -> LiveCheck:
    """Reset the lab cluster, apply the graded objects, probe and compare (see the module)."""
    from labkit.cluster.lifecycle import connect
    from labkit.engine.evaluator import Engine
    from labkit.grading import build_world
    from labkit.probe.runner import EngineRunner

    world = build_world(base, exercise.world_objects(), submission, exercise.allowed)
    objects = objects_to_apply(base, world.objects)
    cluster = connect()
    cluster.reset()
    if objects:
        cluster.apply([o.data for o in objects])
    peers = cluster.peers()
    jobs = [Job(s, d, spec) for spec in LIVE_PROBES for s in peers for d in peers if s != d]
    probed = cluster.runner().run(jobs)
    predicted = EngineRunner(Engine(world.inventory)).run(jobs)
    return LiveCheck(
        cluster.name,
        tuple(o.title for o in objects),
        len(jobs),
        tuple(compare(probed, predicted)),
        tuple(observations(probed)),
    )


def observations(probed: Sequence[Result]) -> list[Observation]:
    """The probes' answers as the grader's observations (a failed probe decides nothing)."""
    from labkit.grading.evaluate import Observation

    found = []
    for r in probed:
        if r.outcome in (Outcome.ALLOWED, Outcome.BLOCKED):
            job = r.job
            allowed = r.outcome == Outcome.ALLOWED
            found.append(Observation(job.src, job.dst, job.probe.port, job.probe.protocol, allowed))
    return found


def compare(probed: Sequence[Result], predicted: Sequence[Result]) -> list[Disagreement]:
    """Jobs whose probe and prediction differ (a failed probe counts as a disagreement: the
    cluster could not answer)."""
    found = []
    for live, engine in zip(probed, predicted, strict=True):
        if live.outcome == engine.outcome and live.outcome != Outcome.FAILED:
            continue
        job = live.job
        found.append(
            Disagreement(
                job.src,
                job.dst,
                str(job.probe),
                live.outcome.value,
                engine.outcome.value,
                live.detail,
            )
        )
    return found
