"""Probe jobs whose destination is a Service (``svc:NAMESPACE/NAME``), as policy decides
them (conformance rule 13): the traffic is DNATed to one backend pod and its target port
before any policy applies, so each backend is probed on its target port; the connection is
allowed when every backend allows it, blocked when one does not (which backend kube-proxy
picks is chance), and fails before any policy when there is no backend. A port the Service
does not declare has no forwarding rule at all (kube-proxy programs only declared ports), so
that cell is not applicable rather than an answer about policy."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.engine.services import SERVICE_PREFIX, resolve_service_target
from labkit.errors import EvaluationError
from labkit.model.inventory import Inventory
from labkit.probe.jobs import Job, Outcome, ProbeSpec, Result
from labkit.probe.runner import Runner


def backend_jobs(inventory: Inventory, job: Job) -> list[Job]:
    """The jobs to the backends of a Service job (each on its target port)."""
    service = job.dst[len(SERVICE_PREFIX) :]
    spec = job.probe
    return [
        Job(job.src, pod.key, ProbeSpec(port, spec.protocol))
        for pod, port in resolve_service_target(inventory, service, spec.port, spec.protocol)
    ]


def combine(job: Job, results: Sequence[Result]) -> Result:
    """One verdict for a Service job from the results of its backends."""
    if not results:
        why = f"{job.dst} has no backend for {job.probe}: the connection fails before policy"
        return Result(job, Outcome.BLOCKED, why)
    outcomes = {r.outcome for r in results}
    each = "; ".join(f"{r.job.dst}:{r.job.probe.port} {r.outcome.value}" for r in results)
    if Outcome.FAILED in outcomes:
        return Result(job, Outcome.FAILED, f"a backend probe failed: {each}")
    if outcomes == {Outcome.ALLOWED}:
        return Result(job, Outcome.ALLOWED, f"every backend allows it: {each}")
    return Result(job, Outcome.BLOCKED, f"blocked to at least one backend: {each}")


def _planned(inventory: Inventory, job: Job) -> list[Job] | str:
    """The jobs that answer ``job``, or why none can (a port the Service does not declare)."""
    if not job.dst.startswith(SERVICE_PREFIX):
        return [job]
    try:
        return backend_jobs(inventory, job)
    except EvaluationError as exc:
        return str(exc)


def run_jobs(runner: Runner, inventory: Inventory, jobs: Sequence[Job]) -> list[Result]:
    """Run ``jobs`` in one batch, a Service destination as its backends; one result per job."""
    plan = [_planned(inventory, job) for job in jobs]
    flat = [j for group in plan if not isinstance(group, str) for j in group]
    results = iter(runner.run(flat))
    out = []
    for job, group in zip(jobs, plan, strict=True):
        if isinstance(group, str):
            out.append(Result(job, Outcome.NOT_APPLICABLE, group))
            continue
        got = [next(results) for _ in group]
        direct = not job.dst.startswith(SERVICE_PREFIX)
        out.append(got[0] if direct else combine(job, got))
    return out
