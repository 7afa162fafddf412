"""The enforcement canary over :class:`LabCluster` operations, for any backend.

A cluster whose CNI ignores NetworkPolicy accepts policies and then lets everything through;
every lesson would show wrong results. The check: a server (``agnhost netexec
--http-port=8080``) and a client (``agnhost pause``) in their own namespace; the client reaches
the server; a default-deny ingress policy is applied and the probe must turn ``blocked``
(programming is asynchronous on a real CNI, so it is polled); the policy is deleted and the
probe must succeed again. Only public :class:`LabCluster` operations are used (``apply``,
``probe``, ``delete``), so the simulated cluster runs the very same check as a real one
(:mod:`labkit.cluster.canary` is the kubectl-level canary of the kind backend).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.cluster.backend import LabCluster
from labkit.cluster.progress import LogProgress, Progress
from labkit.cluster.topology import AGNHOST_IMAGE
from labkit.errors import LabkitError
from labkit.model.objects import MANAGED_LABEL
from labkit.probe.jobs import Outcome, Result

log = logging.getLogger(__name__)

CANARY_NAMESPACE = "labkit-canary"
CANARY_PORT = 8080
SERVER = f"{CANARY_NAMESPACE}/server"
CLIENT = f"{CANARY_NAMESPACE}/client"
DENY_POLICY = "labkit-canary-deny"


def canary_manifests() -> list[dict[str, Any]]:
    """The canary's namespace, server pod and client pod."""
    managed = {MANAGED_LABEL: "true"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": CANARY_NAMESPACE, "labels": dict(managed)},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "server",
                "namespace": CANARY_NAMESPACE,
                "labels": {"app": "canary-server", **managed},
            },
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "server",
                        "image": AGNHOST_IMAGE,
                        "args": ["netexec", f"--http-port={CANARY_PORT}", "--udp-port=-1"],
                        "ports": [
                            {"name": "http", "containerPort": CANARY_PORT, "protocol": "TCP"}
                        ],
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "client",
                "namespace": CANARY_NAMESPACE,
                "labels": {"app": "canary-client", **managed},
            },
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "client", "image": AGNHOST_IMAGE, "args": ["pause"]}],
            },
        },
    ]


def deny_policy() -> dict[str, Any]:
    """Default-deny ingress for every pod of the canary namespace."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": DENY_POLICY,
            "namespace": CANARY_NAMESPACE,
            "labels": {MANAGED_LABEL: "true"},
        },
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


@dataclass(frozen=True)
class EnforcementResult:
    """``passed`` and one sentence saying what was seen (and, on failure, what to do)."""

    passed: bool
    message: str
    steps: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.message


def check_enforcement(
    cluster: LabCluster,
    *,
    timeout: float = 10.0,
    ready_timeout: float = 90.0,
    interval: float = 0.5,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    cleanup: bool = True,
) -> EnforcementResult:
    """Run the canary on ``cluster``; a cluster that fails the check is a result, not an
    exception."""
    prog = progress or LogProgress()
    steps: list[str] = []

    def wait(want: Outcome, limit: float, what: str) -> Result:
        prog.advance(what)
        deadline = clock() + limit
        while True:
            result = cluster.probe(CLIENT, SERVER, CANARY_PORT)
            if result.outcome is want or clock() >= deadline:
                steps.append(f"{what}: {result.outcome.value}")
                return result
            sleep(interval)

    prog.step("Checking that the cluster enforces NetworkPolicy (canary)", 3)
    try:
        cluster.apply(canary_manifests())
        first = wait(Outcome.ALLOWED, ready_timeout, "client reaches server with no policy")
        if first.outcome is not Outcome.ALLOWED:
            return _done(
                prog,
                False,
                steps,
                f"failed: the canary client could not reach its server on "
                f"{CANARY_PORT}/TCP before any policy was applied ({first.outcome.value}"
                f"{': ' + first.detail if first.detail else ''}); the pod network is "
                "not working: run `labkit doctor`",
            )
        cluster.apply(deny_policy())
        denied = wait(Outcome.BLOCKED, timeout, "default-deny ingress blocks it")
        if denied.outcome is not Outcome.BLOCKED:
            return _done(
                prog,
                False,
                steps,
                f"FAILED: traffic still flowed {timeout:g} s after a default-deny "
                "ingress policy: this cluster does NOT enforce NetworkPolicy (a CNI "
                "without policy support, or kindnet on a kernel without "
                "nftables/nfqueue); lesson results would be wrong: use the kind + "
                "Calico cluster (`labkit up --backend kind`) or the simulated one",
            )
        cluster.delete("NetworkPolicy", DENY_POLICY, CANARY_NAMESPACE)
        again = wait(Outcome.ALLOWED, timeout, "deleting the policy lets it through again")
        if again.outcome is not Outcome.ALLOWED:
            return _done(
                prog,
                False,
                steps,
                f"failed: traffic did not resume {timeout:g} s after the default-deny "
                "policy was deleted; policy updates are not being programmed: run "
                "`labkit doctor`",
            )
        return _done(
            prog,
            True,
            steps,
            "passed: allowed with no policy, blocked under default-deny ingress, "
            "allowed again after deleting it",
        )
    except LabkitError as exc:
        return _done(prog, False, steps, f"failed: the canary could not run: {exc}")
    finally:
        if cleanup:
            try:
                cluster.delete("Namespace", CANARY_NAMESPACE)
            except LabkitError as exc:
                log.warning("could not delete the canary namespace %s: %s", CANARY_NAMESPACE, exc)


def _done(prog: Progress, passed: bool, steps: list[str], message: str) -> EnforcementResult:
    prog.advance(f"canary {message}")
    if not passed:
        log.warning("canary %s", message)
    return EnforcementResult(passed, message, tuple(steps))
