"""Probing a real cluster: ``agnhost connect`` run inside the source pods.

Design: one exec per source pod, running a small shell script that starts one
``agnhost connect`` per target in the background (at most ``parallel`` at a time) and prints
one tagged line per target; source pods are handled by a small thread pool. An exec costs
about as much as a probe's timeout, so one per source (rather than one per cell) and the
in-pod fan-out bound a source's time to roughly one probe timeout per batch. The exec is
``kubectl exec`` where kubectl is installed (its own process per source), else the official
client's exec stream, with one ApiClient per thread (:mod:`labkit.cluster.kube_api`).

Outcomes (see :mod:`labkit.cluster.agnhost`): connected or refused -> ALLOWED (refused means
the packet passed policy and nothing listens), timeout -> BLOCKED, anything else -> FAILED
(pod not ready, no address, exec error, DNS, OTHER). A not-ready pod is never probed: its
timeouts would look like a block.

Calico programs policy asynchronously, so with a ``predictor`` (the policy engine) every cell
that disagrees with the prediction is probed again, up to ``retries`` attempts in all,
``retry_delay_s`` apart, before the disagreement is reported.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from labkit.cluster.agnhost import AGNHOST, classify, connect_argv
from labkit.cluster.commands import Completed
from labkit.cluster.live_inventory import Snapshot
from labkit.errors import CommandFailed, LabkitError
from labkit.model.objects import Pod
from labkit.model.ports import Protocol
from labkit.probe.jobs import Job, Outcome, Result
from labkit.probe.runner import Runner

log = logging.getLogger(__name__)

ExecFn = Callable[[str, str, Sequence[str], float], Completed]
"""``(namespace, pod, argv, timeout_s) -> Completed`` (kubectl exec, or a fake in tests)."""

MARK = "@@labkit"


@dataclass(frozen=True)
class Target:
    index: int
    address: str
    port: int
    protocol: Protocol


def probe_script(
    targets: Sequence[Target], timeout_s: float, parallel: int = 32, agnhost: str = AGNHOST
) -> str:
    """A POSIX shell script (busybox sh in the agnhost image) probing every target.

    Each target prints ``@@labkit <index> <exit status> <agnhost output on one line>``; one
    short ``printf`` per line keeps lines whole when background jobs finish together.
    """
    lines = [
        "p() {",
        "  i=$1; shift",
        '  out=$("$@" 2>&1); rc=$?',
        f'  printf \'{MARK} %s %s %s\\n\' "$i" "$rc" "$(printf %s "$out" | tr \'\\n\' \' \' '
        '| cut -c1-300)"',
        "}",
    ]
    for n, t in enumerate(targets):
        argv = shlex.join(connect_argv(t.address, t.port, t.protocol, timeout_s, agnhost))
        lines.append(f"p {t.index} {argv} &")
        if (n + 1) % parallel == 0:
            lines.append("wait")
    lines.append("wait")
    return "\n".join(lines) + "\n"


def parse_output(stdout: str) -> dict[int, tuple[int, str]]:
    """``{target index: (exit status, agnhost output)}`` from the script's output."""
    found: dict[int, tuple[int, str]] = {}
    for line in stdout.splitlines():
        if not line.startswith(MARK + " "):
            continue
        parts = line.split(" ", 3)
        if len(parts) < 3:
            continue
        try:
            index, code = int(parts[1]), int(parts[2])
        except ValueError:
            continue
        found[index] = (code, parts[3].strip() if len(parts) > 3 else "")
    return found


class LiveRunner:
    """Runs probe jobs in a real cluster (implements :class:`labkit.probe.runner.Runner`)."""

    def __init__(
        self,
        snapshot: Snapshot,
        exec_fn: ExecFn,
        *,
        predictor: Runner | None = None,
        timeout_s: float = 2.0,
        retries: int = 3,
        retry_delay_s: float = 2.0,
        workers: int = 8,
        parallel: int = 32,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout_s <= 0:
            raise LabkitError("probe timeout must be more than 0 s (agnhost's 0 means never)")
        self.snapshot = snapshot
        self.exec_fn = exec_fn
        self.predictor = predictor
        self.timeout_s = timeout_s
        self.retries = max(1, retries)
        self.retry_delay_s = retry_delay_s
        self.workers = max(1, workers)
        self.parallel = max(1, parallel)
        self.sleep = sleep

    # -- one pass ------------------------------------------------------------------------------
    def _pod(self, peer: str) -> Pod | None:
        if peer.startswith("ip:"):
            return None
        return self.snapshot.inventory.pod_map.get(peer)

    def _precheck(self, job: Job) -> tuple[Pod | None, str, str]:
        """``(source pod, destination address, "")`` or ``(None, "", why it cannot run)``."""
        src = self._pod(job.src)
        if job.src.startswith("ip:"):
            return None, "", "cannot probe from an address outside the pod network"
        if src is None:
            return None, "", f"source pod {job.src} does not exist"
        if job.src in self.snapshot.not_ready:
            return None, "", f"source pod not ready: {self.snapshot.not_ready[job.src]}"
        if job.dst.startswith("ip:"):
            return src, job.dst[3:], ""
        dst = self._pod(job.dst)
        if dst is None:
            return None, "", f"destination pod {job.dst} does not exist"
        if job.dst in self.snapshot.not_ready:
            return None, "", f"destination pod not ready: {self.snapshot.not_ready[job.dst]}"
        if dst.ip is None:
            return None, "", f"destination pod {job.dst} has no address yet"
        return src, str(dst.ip), ""

    def _run_source(self, src: Pod, items: list[tuple[int, Job, str]]) -> dict[int, Result]:
        targets = [Target(i, addr, job.probe.port, job.probe.protocol) for i, job, addr in items]
        script = probe_script(targets, self.timeout_s, self.parallel)
        batches = (len(targets) + self.parallel - 1) // self.parallel
        budget = self.timeout_s * batches + 30.0
        jobs = {i: job for i, job, _ in items}
        try:
            done = self.exec_fn(src.namespace, src.name, ["/bin/sh", "-c", script], budget)
        except LabkitError as exc:
            stderr = exc.stderr.strip() if isinstance(exc, CommandFailed) else ""
            why = stderr.splitlines()[-1] if stderr else str(exc).splitlines()[0]
            return {
                i: Result(job, Outcome.FAILED, f"probe failed: exec error: {why}")
                for i, job in jobs.items()
            }
        seen = parse_output(done.stdout)
        out: dict[int, Result] = {}
        for i, job in jobs.items():
            if i not in seen:
                err = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
                out[i] = Result(job, Outcome.FAILED, f"probe failed: exec error: {err}")
                continue
            obs = classify(*seen[i])
            out[i] = Result(job, obs.outcome, obs.detail(job.probe.protocol))
        return out

    def run_once(self, jobs: Sequence[Job]) -> list[Result]:
        """Probe every job once (no comparison with a prediction)."""
        results: dict[int, Result] = {}
        by_source: dict[str, tuple[Pod, list[tuple[int, Job, str]]]] = {}
        for i, job in enumerate(jobs):
            src, address, why = self._precheck(job)
            if src is None:
                results[i] = Result(job, Outcome.FAILED, f"probe failed: {why}")
                continue
            by_source.setdefault(src.key, (src, []))[1].append((i, job, address))
        if by_source:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(by_source))) as pool:
                for part in pool.map(lambda kv: self._run_source(*kv), by_source.values()):
                    results.update(part)
        return [results[i] for i in range(len(jobs))]

    # -- with re-probing -------------------------------------------------------------------------
    def run(self, jobs: Sequence[Job]) -> list[Result]:
        results = self.run_once(jobs)
        if self.predictor is None:
            return results
        predicted = self.predictor.run(jobs)
        expected = [p.outcome for p in predicted]

        def disagree(i: int) -> bool:
            want = expected[i]
            return want is not Outcome.NOT_APPLICABLE and results[i].outcome is not want

        pending = [i for i in range(len(jobs)) if disagree(i)]
        attempt = 1
        while pending and attempt < self.retries:
            attempt += 1
            log.info(
                "re-probing %d cell(s) that disagree with the policy engine (attempt %d/%d)",
                len(pending),
                attempt,
                self.retries,
            )
            self.sleep(self.retry_delay_s)
            again = self.run_once([jobs[i] for i in pending])
            for i, res in zip(pending, again, strict=True):
                results[i] = replace(res, attempts=attempt)
            pending = [i for i in pending if disagree(i)]
        for i in pending:
            res = results[i]
            results[i] = replace(
                res,
                attempts=attempt,
                detail=f"{res.detail}; the policy engine predicts {expected[i].value} "
                f"(still different after {attempt} attempt{'s' if attempt > 1 else ''})",
            )
        return results
