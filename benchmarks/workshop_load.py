"""Workshop load: N learners on one cluster, each applying policies and probing at once.

    .venv/bin/python benchmarks/workshop_load.py --learners 50 --context kind-labkit \\
        [--id load] [--duration 600] [--kubeconfig PATH] [--hub-namespace jhub] [-o json]
    .venv/bin/python benchmarks/workshop_load.py --learners 3 --simulated --duration 5

Bring-up: ``labkit workshop init --id ID`` for learners ``l0001 ... lNNNN`` (timed), or the
workshop ID as it is when every learner's namespaces exist already (reused, not timed).

Then one thread per learner, for ``--duration`` seconds, does what a class does:

* **apply to enforcement**: every ``--apply-every`` s (jittered) it applies, or deletes, a
  set of three NetworkPolicies in its ``my-segment`` (logical names, translated by
  :class:`labkit.model.workshop.LearnerSpace`), then probes the two cells the change flips
  (two execs, in parallel) until both show what the engine predicts; the time from the
  apply call to that first agreement is one sample (no agreement within
  ``--enforcement-timeout`` counts as a timeout, reported apart);
* **live matrix**: once every ``--matrix-every`` s (60: "every learner probes once a
  minute"), first at a random moment of the first interval, then with +-10 % jitter, the 9 x 9
  matrix on 80/TCP: one exec per source pod (9 execs), each probing the 9 destinations in
  the pod; the matrix time is from the first exec to the last answer; its cells are
  compared with the engine's prediction.

Each learner keeps labkit's own limit of 2 exec streams at a time
(:class:`labkit.cluster.workshop.throttle.ExecLimiter`); every exec is timed (exec p50/p95).

On a real cluster each learner acts through the official client (:class:`KubeApi`) with its
own identity: a token of its ServiceAccount (``kubectl create token labkit-L -n HUB``) in a
kubeconfig of its own, so every request is subject to the learner's RBAC, as from a
notebook pod. API server load is read as the cluster admin from ``kubectl get --raw
/metrics`` before and after the run (and every 15 s during it, for the gauges):
``apiserver_request_total`` (counter: requests during the run, by verb, exec requests,
``code="429"`` answers), ``apiserver_current_inflight_requests`` (gauge, by
``request_kind``: the highest sample) and ``apiserver_longrunning_requests`` with
``subresource="exec"`` (gauge: exec streams open, the highest sample).

``--simulated`` (alias ``--dry-run``) runs the same loop against a simulated workshop: every
learner's space (the topology in its real names) in one in-process simulated cluster, its
probes answered by the simulated CNI; an exec is one source's probes. Those figures measure
labkit's own overhead, not a cluster: they are printed as such.

The figures are printed beside the issue's targets (:data:`TARGETS`); nothing is asserted
and the exit status is 0 whatever the figures (1 only when the run could not happen).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from labkit.cluster.commands import Completed
from labkit.cluster.topology import LAB_NAMESPACES, LAB_PODS, topology_manifests
from labkit.cluster.workshop.throttle import EXEC_CONCURRENCY, ExecLimiter
from labkit.engine.evaluator import Engine
from labkit.errors import LabkitError
from labkit.model.inventory import build_inventory
from labkit.model.loader import load_text
from labkit.model.objects import MANAGED_LABEL
from labkit.model.workshop import LEARNER_KINDS, LearnerSpace, Workshop
from labkit.probe.jobs import Job, Outcome, ProbeSpec, Result
from labkit.probe.runner import EngineRunner

TARGETS: dict[str, float] = {
    "bring_up_s": 600.0,  # 200 learners
    "apply_to_enforcement_p95_s": 10.0,
    "live_matrix_p95_s": 15.0,  # while every learner probes once a minute
    "dashboard_s": 5.0,  # benchmarks/workshop_dashboard.py measures it
}
PROBE = ProbeSpec(80)
POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: load-default-deny, namespace: my-segment}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: load-frontend-to-backend, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: backend}}
  ingress:
    - from: [{podSelector: {matchLabels: {role: frontend}}}]
      ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: load-trusted-to-database, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: database}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: trusted}}}]
"""
FLIPPED = (("untrusted/client", "my-segment/backend"), ("untrusted/client", "my-segment/database"))
"""Cells (logical) the policies turn from allowed to blocked: probed after each change."""
KEPT = ("trusted/client", "my-segment/database")
"""A cell that stays allowed (a second source, so the check takes two execs)."""


# -- figures --------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 100); ``None`` without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@dataclass
class Recorder:
    """Every sample, from every learner thread."""

    exec_s: list[float] = field(default_factory=list)
    enforcement_s: list[float] = field(default_factory=list)
    enforcement_timeouts: int = 0
    matrix_s: list[float] = field(default_factory=list)
    matrix_disagreements: int = 0
    matrix_failed: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, value: float) -> None:
        with self.lock:
            getattr(self, name).append(value)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def error(self, text: str) -> None:
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(text)


def summary(values: Sequence[float]) -> dict[str, Any]:
    p50, p95 = percentile(values, 50), percentile(values, 95)
    return {
        "count": len(values),
        "p50_s": None if p50 is None else round(p50, 3),
        "p95_s": None if p95 is None else round(p95, 3),
        "max_s": round(max(values), 3) if values else None,
    }


# -- the engine's prediction (logical names: the same in every learner's space) -------------
def predictions() -> dict[bool, dict[tuple[str, str], Outcome]]:
    """``{policies applied?: {(src, dst): outcome}}`` for 80/TCP over the 9 lab pods."""
    base = topology_manifests()
    found: dict[bool, dict[tuple[str, str], Outcome]] = {}
    for applied in (False, True):
        objects = [*base, *(load_text(POLICIES, "<load policies>") if applied else [])]
        runner = EngineRunner(Engine(build_inventory(objects)))
        jobs = [Job(s, d, PROBE) for s in LAB_PODS for d in LAB_PODS]
        found[applied] = {(r.job.src, r.job.dst): r.outcome for r in runner.run(jobs)}
    return found


# -- a learner's side -----------------------------------------------------------------------
class Learner(Protocol):
    """One learner as the load loop sees it: logical names in and out."""

    name: str

    def apply(self) -> None: ...

    def remove(self) -> None: ...

    def exec_source(self, src: str, destinations: Sequence[str]) -> list[Outcome]:
        """One exec: probe ``destinations`` from ``src`` (80/TCP)."""
        ...


class World(Protocol):
    description: str
    recorder: Recorder

    def bring_up(self, count: int) -> tuple[list[Learner], float | None]:
        """The learners, and the seconds bring-up took (``None``: reused)."""
        ...

    def metrics(self) -> str | None:
        """The API server's /metrics text (``None``: there is no API server)."""
        ...

    def close(self) -> None: ...


def learner_names(count: int) -> list[str]:
    return [f"l{i:04d}" for i in range(1, count + 1)]


def timed_exec(
    fn: Callable[..., Completed], limiter: ExecLimiter, recorder: Recorder
) -> Callable[..., Completed]:
    """``fn`` holding one of the learner's exec slots, each call timed (waiting for the slot
    is not exec time)."""

    def call(*args: Any, **kwargs: Any) -> Completed:
        with limiter.slot():
            started = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                recorder.add("exec_s", time.monotonic() - started)

    return call


class SimulatedLearner:
    """One learner's space (the topology in its real names) in a simulated cluster of its
    own: what the learner's backend sees, since it reads only the learner's namespaces."""

    def __init__(self, space: LearnerSpace, home: Path, recorder: Recorder) -> None:
        from labkit.cluster.sim_store import MemoryStore
        from labkit.cluster.simulated import SimulatedCluster

        self.name = space.learner
        self.space = space
        self.limiter = ExecLimiter(EXEC_CONCURRENCY)
        self.recorder = recorder
        self.lock = threading.Lock()
        self.cluster = SimulatedCluster(home, store=MemoryStore())
        self.cluster.reset(topology=False, fresh=True)
        self.cluster.apply(
            [
                space.to_real_object(raw, allowed_kinds=LEARNER_KINDS).data
                for raw in topology_manifests()
            ]
        )
        self.objects = [
            space.to_real_object(raw, allowed_kinds=LEARNER_KINDS).data
            for raw in load_text(POLICIES, "<load policies>")
        ]

    def apply(self) -> None:
        with self.lock:
            self.cluster.apply(self.objects)

    def remove(self) -> None:
        with self.lock:
            for obj in self.objects:
                meta = obj["metadata"]
                self.cluster.delete("NetworkPolicy", meta["name"], meta["namespace"])

    def _run(self, jobs: list[Job]) -> Completed:
        with self.lock:
            results = self.cluster.runner().run(jobs)
        out = "\n".join(f"{i} {r.outcome.value}" for i, r in enumerate(results))
        return Completed(("simulated-exec",), 0, out, "", 0.0)

    def exec_source(self, src: str, destinations: Sequence[str]) -> list[Outcome]:
        real = self.space.peer_to_real
        jobs = [Job(real(src), real(d), PROBE) for d in destinations]
        done = timed_exec(self._run, self.limiter, self.recorder)(jobs)
        return [Outcome(line.split(" ", 1)[1]) for line in done.stdout.splitlines()]


class SimulatedWorld:
    """A simulated workshop: each learner's space in an in-process simulated cluster (the
    simulated CNI answers the probes; no API server)."""

    description = (
        "simulated workshop (in-process simulated clusters; no API server, no CNI: the "
        "figures are labkit's own overhead)"
    )

    def __init__(self, workshop_id: str, recorder: Recorder) -> None:
        self.id = workshop_id
        self.recorder = recorder
        self._home = tempfile.TemporaryDirectory(prefix="labkit-workshop-load-")

    def bring_up(self, count: int) -> tuple[list[Learner], float | None]:
        from labkit.model.workshop import Learner as WorkshopLearner

        started = time.monotonic()
        workshop = Workshop(
            self.id, tuple(WorkshopLearner(n) for n in learner_names(count)), LAB_NAMESPACES
        )
        learners: list[Learner] = [
            SimulatedLearner(space, Path(self._home.name), self.recorder)
            for space in workshop.spaces()
        ]
        return learners, time.monotonic() - started

    def metrics(self) -> str | None:
        return None

    def close(self) -> None:
        self._home.cleanup()


class LiveLearner:
    """A learner acting through the official client with its ServiceAccount's token."""

    def __init__(
        self, space: LearnerSpace, kubeconfig: Path, recorder: Recorder, probe_timeout_s: float
    ) -> None:
        from labkit.cluster.kube_api import KubeApi
        from labkit.cluster.live_inventory import snapshot_from_items
        from labkit.cluster.live_probe import LiveRunner

        self.name = space.learner
        self.space = space
        self.api = KubeApi(kubeconfig, space.learner)
        self.recorder = recorder
        items = [  # namespaced reads, as the learner may do (never a cluster-wide list)
            item
            for ns in space.real_namespaces
            for item in self.api.list("pods", namespace=ns).items
        ]
        exec_fn = timed_exec(
            lambda ns, pod, argv, timeout: self.api.exec(ns, pod, argv, timeout=timeout),
            ExecLimiter(EXEC_CONCURRENCY),
            recorder,
        )
        self.runner = LiveRunner(
            snapshot_from_items(items, MANAGED_LABEL),
            exec_fn,
            timeout_s=probe_timeout_s,
            retries=1,
            workers=len(LAB_PODS),
        )
        self.objects = [
            space.to_real_object(raw, allowed_kinds=LEARNER_KINDS).data
            for raw in load_text(POLICIES, "<load policies>")
        ]

    def apply(self) -> None:
        self.api.apply(self.objects, dry_run=True)  # all or nothing, as labkit applies
        self.api.apply(self.objects)

    def remove(self) -> None:
        for obj in self.objects:
            meta = obj["metadata"]
            self.api.delete("NetworkPolicy", meta["namespace"], meta["name"])

    def exec_source(self, src: str, destinations: Sequence[str]) -> list[Outcome]:
        real = self.space.peer_to_real
        jobs = [Job(real(src), real(d), PROBE) for d in destinations]
        results: list[Result] = self.runner.run_once(jobs)
        return [r.outcome for r in results]


class LiveWorld:
    """A real cluster: bring-up through ``labkit workshop init``, learners through tokens."""

    def __init__(
        self,
        workshop_id: str,
        context: str,
        kubeconfig: str | None,
        hub: str,
        recorder: Recorder,
        probe_timeout_s: float,
    ) -> None:
        self.id = workshop_id
        self.context = context
        self.kubeconfig = kubeconfig
        self.hub = hub
        self.recorder = recorder
        self.probe_timeout_s = probe_timeout_s
        self._dir = tempfile.TemporaryDirectory(prefix="labkit-workshop-load-")
        self.description = f"cluster context {context} (the official client, one token each)"

    def _env(self) -> dict[str, str] | None:
        import os

        return {**os.environ, "KUBECONFIG": self.kubeconfig} if self.kubeconfig else None

    def kubectl(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            ["kubectl", "--context", self.context, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._env(),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def bring_up(self, count: int) -> tuple[list[Learner], float | None]:
        names = learner_names(count)
        homes = set(
            self.kubectl(
                "get", "namespaces", "-l", f"labkit.dev/workshop={self.id}", "-o", "name"
            ).split()
        )
        spaces = [LearnerSpace(self.id, n, LAB_NAMESPACES) for n in names]
        took: float | None = None
        if not all(f"namespace/{s.home}" in homes for s in spaces):
            learners_file = Path(self._dir.name) / "learners.txt"
            learners_file.write_text("\n".join(names) + "\n")
            started = time.monotonic()
            done = subprocess.run(
                [
                    str(Path(sys.executable).with_name("labkit")),
                    "workshop",
                    "init",
                    "--id",
                    self.id,
                    "--learners",
                    str(learners_file),
                    "--context",
                    self.context,
                    "--hub-namespace",
                    self.hub,
                ],
                capture_output=True,
                text=True,
                env=self._env(),
                check=False,
            )
            took = time.monotonic() - started
            if done.returncode != 0:
                raise RuntimeError(f"labkit workshop init failed:\n{done.stdout}{done.stderr}")
        view = json.loads(
            self.kubectl("config", "view", "--raw", "--minify", "-o", "json")
        )  # the admin's cluster entry: server and CA
        cluster = view["clusters"][0]["cluster"]

        def learner(space: LearnerSpace) -> Learner:
            token = self.kubectl(
                "create", "token", f"labkit-{space.learner}", "-n", self.hub, "--duration=4h"
            ).strip()
            path = Path(self._dir.name) / f"{space.learner}.kubeconfig"
            path.write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "v1",
                        "kind": "Config",
                        "clusters": [{"name": "workshop", "cluster": cluster}],
                        "users": [{"name": space.learner, "user": {"token": token}}],
                        "contexts": [
                            {
                                "name": space.learner,
                                "context": {"cluster": "workshop", "user": space.learner},
                            }
                        ],
                    }
                )
            )
            return LiveLearner(space, path, self.recorder, self.probe_timeout_s)

        with ThreadPoolExecutor(max_workers=8) as pool:
            learners = list(pool.map(learner, spaces))
        return learners, took

    def metrics(self) -> str | None:
        return self.kubectl("get", "--raw", "/metrics", timeout=60)

    def close(self) -> None:
        self._dir.cleanup()


# -- the API server's metrics ---------------------------------------------------------------
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(text: str, name: str) -> Iterable[tuple[dict[str, str], float]]:
    """``(labels, value)`` of every sample of metric ``name`` in Prometheus text format."""
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match[1] == name:
            try:
                yield dict(_LABEL.findall(match[2] or "")), float(match[3])
            except ValueError:
                continue


def request_totals(text: str) -> dict[str, float]:
    """``apiserver_request_total`` summed: all, per verb, exec, and 429 answers."""
    out: dict[str, float] = {"all": 0.0, "exec": 0.0, "code_429": 0.0}
    for labels, value in samples(text, "apiserver_request_total"):
        out["all"] += value
        verb = "verb_" + labels.get("verb", "?")
        out[verb] = out.get(verb, 0.0) + value
        if labels.get("subresource") == "exec":
            out["exec"] += value
        if labels.get("code") == "429":
            out["code_429"] += value
    return out


def gauges(text: str) -> dict[str, float]:
    """In-flight requests by kind, and exec streams open now."""
    out: dict[str, float] = {}
    for labels, value in samples(text, "apiserver_current_inflight_requests"):
        out["inflight_" + labels.get("request_kind", "?")] = value
    out["longrunning_exec"] = sum(
        v
        for labels, v in samples(text, "apiserver_longrunning_requests")
        if labels.get("subresource") == "exec"
    )
    return out


class MetricsWatch:
    """/metrics before, every ``every_s`` during (the gauges' highest values) and after."""

    def __init__(self, world: World, every_s: float = 15.0) -> None:
        self.world = world
        self.every_s = every_s
        self.before: dict[str, float] | None = None
        self.highest: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.error = ""

    def _read(self) -> str | None:
        try:
            return self.world.metrics()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self.error = str(exc).splitlines()[0]
            return None

    def _sample(self, text: str) -> None:
        for key, value in gauges(text).items():
            self.highest[key] = max(self.highest.get(key, value), value)

    def start(self) -> None:
        text = self._read()
        if text is not None:
            self.before = request_totals(text)
            self._sample(text)
            self.thread.start()

    def _watch(self) -> None:
        while not self.stop.wait(self.every_s):
            text = self._read()
            if text is not None:
                self._sample(text)

    def finish(self, seconds: float) -> dict[str, Any]:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        if self.before is None:
            return {
                "read": "nothing: "
                + (self.error or "a simulated workshop has no API server (no /metrics)"),
            }
        text = self._read()
        if text is None:
            return {"read": f"/metrics before the run only; after: {self.error}"}
        self._sample(text)
        after = request_totals(text)
        delta = {k: round(after.get(k, 0.0) - self.before.get(k, 0.0)) for k in after}
        return {
            "read": "kubectl get --raw /metrics (as the admin) before, every "
            f"{self.every_s:g} s during and after the run: apiserver_request_total (delta), "
            "apiserver_current_inflight_requests and apiserver_longrunning_requests"
            '{subresource="exec"} (highest sample); one API server instance (behind a load '
            "balancer each instance counts its own)",
            "requests": delta.get("all", 0),
            "requests_per_s": round(delta.get("all", 0) / seconds, 1) if seconds else None,
            "exec_requests": delta.get("exec", 0),
            "throttled_429": delta.get("code_429", 0),
            "by_verb": {k[5:]: v for k, v in sorted(delta.items()) if k.startswith("verb_") and v},
            "highest": {k: round(v) for k, v in sorted(self.highest.items())},
        }


# -- the loop -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    duration_s: float
    matrix_every_s: float
    apply_every_s: float
    enforcement_timeout_s: float
    poll_s: float


def live_matrix(
    learner: Learner, expected: dict[tuple[str, str], Outcome], recorder: Recorder
) -> None:
    """The 9 x 9 matrix: one exec per source (the learner's limiter keeps 2 in flight)."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(LAB_PODS)) as pool:
        rows = list(pool.map(lambda s: learner.exec_source(s, LAB_PODS), LAB_PODS))
    recorder.add("matrix_s", time.monotonic() - started)
    cells = [
        (s, d, o)
        for s, row in zip(LAB_PODS, rows, strict=True)
        for d, o in zip(LAB_PODS, row, strict=True)
    ]
    recorder.count("matrix_failed", sum(o is Outcome.FAILED for _, _, o in cells))
    recorder.count(
        "matrix_disagreements",
        sum(o is not Outcome.FAILED and o is not expected[s, d] for s, d, o in cells),
    )


def enforcement(
    learner: Learner,
    applied: bool,
    expected: dict[tuple[str, str], Outcome],
    plan: Plan,
    recorder: Recorder,
) -> None:
    """Apply (or delete) the policies, then probe until the flipped cells agree."""
    checks = {src: [d for s, d in (*FLIPPED, KEPT) if s == src] for src, _ in (*FLIPPED, KEPT)}
    started = time.monotonic()
    if applied:
        learner.apply()
    else:
        learner.remove()
    while True:
        with ThreadPoolExecutor(max_workers=len(checks)) as pool:
            rows = list(pool.map(lambda s: learner.exec_source(s, checks[s]), checks))
        seen = dict(zip(checks, rows, strict=True))
        if all(
            o is expected[s, d]
            for s, dsts in checks.items()
            for d, o in zip(dsts, seen[s], strict=True)
        ):
            recorder.add("enforcement_s", time.monotonic() - started)
            return
        if time.monotonic() - started > plan.enforcement_timeout_s:
            recorder.count("enforcement_timeouts")
            return
        time.sleep(plan.poll_s)


def learner_loop(
    learner: Learner,
    expected: dict[bool, dict[tuple[str, str], Outcome]],
    plan: Plan,
    recorder: Recorder,
    rng: random.Random,
) -> None:
    start = time.monotonic()
    deadline = start + plan.duration_s
    next_matrix = start + rng.uniform(0, min(plan.matrix_every_s, plan.duration_s / 2))
    next_apply = start + rng.uniform(0, min(plan.apply_every_s, plan.duration_s / 2))
    applied = False
    while time.monotonic() < deadline:
        now = time.monotonic()
        try:
            if now >= next_matrix:
                live_matrix(learner, expected[applied], recorder)
                next_matrix += plan.matrix_every_s * rng.uniform(0.9, 1.1)
            elif now >= next_apply:
                applied = not applied
                enforcement(learner, applied, expected[applied], plan, recorder)
                next_apply += plan.apply_every_s * rng.uniform(0.9, 1.1)
        except Exception as exc:  # a load run reports errors; it does not stop
            recorder.error(f"{learner.name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            time.sleep(plan.poll_s)
        pause = min(next_matrix, next_apply, deadline) - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    if applied:
        try:
            learner.remove()
        except Exception as exc:
            recorder.error(f"{learner.name}: cleanup: {exc}")


def run(world: World, count: int, plan: Plan, seed: int) -> dict[str, Any]:
    recorder = world.recorder
    learners, bring_up_s = world.bring_up(count)
    expected = predictions()
    watch = MetricsWatch(world)
    watch.start()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(learners)) as pool:
        futures = [
            pool.submit(learner_loop, learner, expected, plan, recorder, random.Random(seed + i))
            for i, learner in enumerate(learners)
        ]
        for future in futures:
            future.result()
    seconds = time.monotonic() - started
    return {
        "world": world.description,
        "learners": len(learners),
        "duration_s": round(seconds, 1),
        "bring_up_s": None if bring_up_s is None else round(bring_up_s, 2),
        "exec": summary(recorder.exec_s),
        "apply_to_enforcement": {
            **summary(recorder.enforcement_s),
            "timeouts": recorder.enforcement_timeouts,
        },
        "live_matrix": {
            **summary(recorder.matrix_s),
            "disagreements": recorder.matrix_disagreements,
            "failed": recorder.matrix_failed,
        },
        "api_server": watch.finish(seconds),
        "errors": recorder.errors,
        "targets": TARGETS,
    }


# -- output ---------------------------------------------------------------------------------
def _s(value: object) -> str:
    return "-" if value is None else f"{value} s"


def text_report(figures: dict[str, Any]) -> str:
    ex, en, mx = figures["exec"], figures["apply_to_enforcement"], figures["live_matrix"]
    t = figures["targets"]
    rows = [
        ("figure", "measured", "target (200 learners)"),
        (
            "bring-up",
            "reused (not timed)" if figures["bring_up_s"] is None else _s(figures["bring_up_s"]),
            f"<= {t['bring_up_s']:g} s",
        ),
        (
            "exec p50 / p95",
            f"{_s(ex['p50_s'])} / {_s(ex['p95_s'])} ({ex['count']} execs)",
            "none (context)",
        ),
        (
            "apply-to-enforcement p50 / p95",
            f"{_s(en['p50_s'])} / {_s(en['p95_s'])} ({en['count']} changes, "
            f"{en['timeouts']} timed out)",
            f"p95 <= {t['apply_to_enforcement_p95_s']:g} s",
        ),
        (
            "live matrix p50 / p95",
            f"{_s(mx['p50_s'])} / {_s(mx['p95_s'])} ({mx['count']} matrices, "
            f"{mx['disagreements']} cells disagree, {mx['failed']} failed)",
            f"p95 <= {t['live_matrix_p95_s']:g} s",
        ),
        (
            "dashboard",
            "not measured here (benchmarks/workshop_dashboard.py)",
            f"<= {t['dashboard_s']:g} s",
        ),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        f"workshop load: {figures['learners']} learners for {figures['duration_s']} s on "
        f"{figures['world']}",
        "",
    ]
    lines += ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    api = figures["api_server"]
    lines += ["", f"API server: read {api['read']}"]
    for key in (
        "requests",
        "requests_per_s",
        "exec_requests",
        "throttled_429",
        "by_verb",
        "highest",
    ):
        if key in api:
            lines.append(f"  {key}: {api[key]}")
    if figures["errors"]:
        lines += ["", "errors (first 20):", *(f"  {e}" for e in figures["errors"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--learners", type=int, required=True, metavar="N")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--context", metavar="CTX", help="kubeconfig context of the cluster")
    where.add_argument(
        "--simulated",
        "--dry-run",
        action="store_true",
        help="run the same loop against a simulated workshop (no cluster)",
    )
    parser.add_argument("--id", default="load", help="workshop id (default load)")
    parser.add_argument("--duration", type=float, default=600.0, metavar="S")
    parser.add_argument("--matrix-every", type=float, default=60.0, metavar="S")
    parser.add_argument("--apply-every", type=float, default=60.0, metavar="S")
    parser.add_argument("--enforcement-timeout", type=float, default=60.0, metavar="S")
    parser.add_argument("--poll", type=float, default=0.5, metavar="S", help="re-probe pause")
    parser.add_argument("--probe-timeout", type=float, default=2.0, metavar="S")
    parser.add_argument("--kubeconfig", metavar="PATH", help="default: $KUBECONFIG")
    parser.add_argument("--hub-namespace", default="jhub", metavar="NS")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    if args.learners < 1 or args.duration <= 0:
        parser.error("--learners must be at least 1 and --duration more than 0")
    plan = Plan(
        args.duration, args.matrix_every, args.apply_every, args.enforcement_timeout, args.poll
    )
    recorder = Recorder()
    world: SimulatedWorld | LiveWorld = (
        SimulatedWorld(args.id, recorder)
        if args.simulated
        else LiveWorld(
            args.id, args.context, args.kubeconfig, args.hub_namespace, recorder, args.probe_timeout
        )
    )
    try:
        figures = run(world, args.learners, plan, args.seed)
    except (LabkitError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"workshop load could not run: {exc}", file=sys.stderr)
        return 1
    finally:
        world.close()
    if args.output == "json":
        json.dump(figures, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(text_report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
