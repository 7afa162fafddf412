"""The enforcement canary: proof that the cluster enforces NetworkPolicy.

Some clusters accept NetworkPolicy objects and silently ignore them (kindnet where the kernel
lacks nftables/nfqueue support, such as WSL2 or OrbStack; CNIs without policy support). So
after every cluster start, and before grading, labkit runs this test in the namespace
``labkit-canary``:

1. a server (``agnhost netexec --http-port=8080``, Service ``server``) and a client
   (``agnhost pause``);
2. ``agnhost connect --timeout=2s server:8080`` from the client must succeed;
3. a default-deny ingress policy is applied; the connection must start failing with
   ``TIMEOUT`` (a CNI that rejects gives ``REFUSED``, also proof) within ``block_s``:
   programming is asynchronous, about 10 s at most on a healthy cluster;
4. the policy is deleted; the connection must succeed again within ``restore_s``.

If step 3 never fails the cluster does not enforce policy, and labkit says so instead of
reporting the cluster ready. The namespace is deleted afterwards. A result is cached per
cluster identity (kube-system's uid and every node's Ready transition time), so a restart of
any node runs the canary again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labkit.cluster.agnhost import Observation, Seen, classify, connect_argv
from labkit.cluster.kind.readiness import pods_check, wait_for
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.progress import Progress
from labkit.errors import ClusterError, ClusterNotReady
from labkit.model.objects import MANAGED_LABEL
from labkit.model.ports import Protocol

log = logging.getLogger(__name__)

CANARY_NAMESPACE = "labkit-canary"
DENY_POLICY = "labkit-canary-deny"
MANAGED = {MANAGED_LABEL: "true"}


@dataclass(frozen=True)
class CanaryResult:
    enforced: bool
    detail: str
    block_s: float = 0.0
    restore_s: float = 0.0
    identity: str = ""
    checked_at: float = 0.0

    def line(self) -> str:
        if self.enforced:
            return (
                f"enforced (deny took effect in {self.block_s:.1f} s, removal in "
                f"{self.restore_s:.1f} s)"
            )
        return f"NOT enforced: {self.detail}"


def canary_objects(agnhost_image: str) -> list[dict[str, Any]]:
    meta = {"namespace": CANARY_NAMESPACE, "labels": {**MANAGED, "app": "server"}}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": CANARY_NAMESPACE, "labels": dict(MANAGED)},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "server", **meta},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "server",
                        "image": agnhost_image,
                        "args": ["netexec", "--http-port=8080"],
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {
                            "httpGet": {"path": "/", "port": 8080},
                            "periodSeconds": 1,
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "server", **meta},
            "spec": {
                "selector": {"app": "server"},
                "ports": [{"name": "http", "port": 8080, "targetPort": 8080}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "client",
                "namespace": CANARY_NAMESPACE,
                "labels": {**MANAGED, "app": "client"},
            },
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "client", "image": agnhost_image, "args": ["pause"]}],
            },
        },
    ]


def deny_policy() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": DENY_POLICY, "namespace": CANARY_NAMESPACE, "labels": dict(MANAGED)},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def cluster_identity(kube: Kubectl) -> str:
    """Changes when the cluster is recreated or any node restarts."""
    ns = kube.get_json(["get", "namespace", "kube-system"])
    parts = [str((ns.get("metadata") or {}).get("uid", ""))]
    for node in kube.items(["get", "nodes"]):
        ready: dict[str, Any] = next(
            (
                c
                for c in (node.get("status") or {}).get("conditions") or ()
                if c.get("type") == "Ready"
            ),
            {},
        )
        parts.append(f"{node['metadata']['name']}={ready.get('lastTransitionTime', '')}")
    return ";".join(sorted(parts[1:]) + parts[:1])


def load_cached(path: Path, identity: str) -> CanaryResult | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        result = CanaryResult(**data)
    except (OSError, ValueError, TypeError):
        return None
    return result if result.identity == identity else None


def save_cached(path: Path, result: CanaryResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")


def _connect(kube: Kubectl, timeout_s: float) -> Observation:
    argv = connect_argv("server", 8080, Protocol.TCP, timeout_s)
    try:
        done = kube.exec(CANARY_NAMESPACE, "client", argv, timeout=timeout_s + 30)
    except ClusterError as exc:
        return Observation(Seen.UNKNOWN, f"exec failed: {str(exc).splitlines()[0]}")
    return classify(done.returncode, done.stderr + done.stdout)


def _poll(
    kube: Kubectl,
    want: set[Seen],
    within: float,
    timeout_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> tuple[bool, Observation, float]:
    start = clock()
    while True:
        obs = _connect(kube, timeout_s)
        elapsed = clock() - start
        if obs.seen in want:
            return True, obs, elapsed
        if elapsed >= within:
            return False, obs, elapsed
        sleep(1.0)


def run_canary(
    kube: Kubectl,
    agnhost_image: str,
    progress: Progress,
    *,
    identity: str = "",
    connect_timeout_s: float = 2.0,
    ready_s: float = 180.0,
    baseline_s: float = 60.0,
    block_s: float = 20.0,
    restore_s: float = 20.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> CanaryResult:
    """Run the canary; raises :class:`ClusterNotReady` when it cannot run at all, returns
    ``enforced=False`` when the cluster ignores policy."""
    progress.step("enforcement canary", total=4)
    kube.run(
        ["wait", "--for=delete", f"namespace/{CANARY_NAMESPACE}", "--timeout=120s"],
        timeout=150,
        check=False,
    )  # a previous run's namespace may still be terminating
    try:
        kube.apply(canary_objects(agnhost_image))
        wait_for(
            "canary pods",
            pods_check(kube, [CANARY_NAMESPACE], 2),
            timeout=ready_s,
            progress=progress,
            fix="check `kubectl get pods -n labkit-canary` (image pull? CNI not ready?)",
            clock=clock,
            sleep=sleep,
        )
        progress.advance("client -> server with no policy")
        ok, obs, _ = _poll(kube, {Seen.CONNECTED}, baseline_s, connect_timeout_s, clock, sleep)
        if not ok:
            raise ClusterNotReady(
                f"canary: the client cannot reach server:8080 before any policy exists "
                f"({obs.detail()})\n    fix: pod networking or DNS is broken; check "
                "`kubectl get pods -A` for CoreDNS and Calico, then run `labkit up` again"
            )
        progress.advance("apply default-deny ingress; waiting for it to take effect")
        kube.apply([deny_policy()])
        blocked, obs, block_time = _poll(
            kube, {Seen.TIMEOUT, Seen.REFUSED}, block_s, connect_timeout_s, clock, sleep
        )
        if not blocked:
            return CanaryResult(
                False,
                f"the connection still succeeds {block_s:.0f} s after a default-deny "
                "ingress policy: this cluster does not enforce NetworkPolicy (kindnet on a "
                "kernel without nftables/nfqueue, e.g. WSL2 or OrbStack, or a CNI without "
                "policy support)",
                identity=identity,
                checked_at=time.time(),
            )
        progress.advance("delete the policy; waiting for traffic to flow again")
        kube.run(
            [
                "delete",
                "networkpolicies.networking.k8s.io",
                DENY_POLICY,
                "-n",
                CANARY_NAMESPACE,
                "--ignore-not-found",
            ]
        )
        restored, obs, restore_time = _poll(
            kube, {Seen.CONNECTED}, restore_s, connect_timeout_s, clock, sleep
        )
        if not restored:
            raise ClusterNotReady(
                f"canary: traffic did not flow again {restore_s:.0f} s after the deny policy "
                f"was deleted ({obs.detail()})\n    fix: check calico-node logs "
                "(`kubectl logs -n calico-system ds/calico-node`), then `labkit up` again"
            )
        result = CanaryResult(
            True,
            "default-deny blocked the canary and its removal restored it",
            block_time,
            restore_time,
            identity,
            time.time(),
        )
        progress.finish(f"canary: {result.line()}")
        return result
    finally:
        kube.run(
            ["delete", "namespace", CANARY_NAMESPACE, "--ignore-not-found", "--wait=false"],
            check=False,
        )


def require_enforced(result: CanaryResult) -> None:
    if not result.enforced:
        raise ClusterNotReady(
            f"the cluster does not enforce NetworkPolicy: {result.detail}\n    fix: use the "
            "kind + Calico cluster (`labkit up`), or install a CNI that enforces policy; "
            "labkit will not grade on this cluster"
        )
