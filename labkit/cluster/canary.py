"""The enforcement canary: proof that a cluster enforces NetworkPolicy, for every backend.

Some clusters accept NetworkPolicy objects and silently ignore them (kindnet where the kernel
lacks nftables/nfqueue support, such as WSL2 or OrbStack; CNIs without policy support). So
after every cluster start, and before grading, labkit runs this test in ``labkit-canary``
through public :class:`LabCluster` operations (``apply``, ``runner``, ``delete``), so the
simulated, kind and existing backends run the very same check:

1. a server and a control server (``agnhost netexec --http-port=8080``) and a client
   (``agnhost pause``); with two or more schedulable nodes the client must run on another
   node than both servers (required pod anti-affinity on ``kubernetes.io/hostname``), so the
   proof covers traffic between nodes;
2. the client reaches both servers (``agnhost connect``) with no policy;
3. a deny-all-ingress policy selecting only the server is applied; the proof is
   ``consecutive`` probes in a row that time out (``TIMEOUT``: Calico drops denied packets)
   while the control, not selected by the policy, stays reachable. ``REFUSED`` is not a
   block: the packet reached the pod and nothing listened (or the CNI rejects), see
   :mod:`labkit.cluster.agnhost`. A control that fails too means the network broke, which
   proves nothing. Programming is asynchronous (about 10 s at most on a healthy cluster), so
   the probes repeat until ``block_s``;
4. the policy is deleted; the client must reach the server again within ``restore_s``.

If step 3 never shows the block, the cluster does not enforce policy and labkit says so
instead of reporting it ready. The namespace is deleted afterwards.

The namespace is a parameter (``namespace``, default ``labkit-canary``) and so are extra
``labels`` every canary object carries: ``labkit workshop doctor`` runs this very canary in
``ID-canary`` with the workshop's labels (:mod:`labkit.cluster.workshop.doctor`), never a
second implementation. There the namespace is the workshop's own and stays
(``keep_namespace``): the canary waits for its previous pods to be gone instead of the
namespace, and deletes its pods instead of the namespace afterwards. On real clusters a
result is cached per cluster identity (kube-system's uid and every node's Ready transition
time), so a restart of any node runs the canary again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labkit.cluster.backend import LabCluster
from labkit.cluster.progress import LogProgress, Progress
from labkit.cluster.reads import Reads
from labkit.cluster.waits import poll_until
from labkit.errors import ClusterNotReady, LabkitError
from labkit.model.objects import MANAGED_LABEL
from labkit.probe.jobs import Job, Outcome, ProbeSpec, Result
from labkit.probe.runner import Runner

log = logging.getLogger(__name__)

CANARY_NAMESPACE = "labkit-canary"
DENY_POLICY = "labkit-canary-deny"
PORT = 8080
SERVER, CONTROL, CLIENT = "server", "control", "client"
HOSTNAME_KEY = "kubernetes.io/hostname"
MANAGED = {MANAGED_LABEL: "true"}


@dataclass(frozen=True)
class CanarySettings:
    """Time limits (seconds) of the canary's steps and the proof it asks for."""

    ready_s: float = 180.0
    baseline_s: float = 60.0
    block_s: float = 30.0
    restore_s: float = 30.0
    consecutive: int = 3
    interval: float = 1.0


@dataclass(frozen=True)
class CanaryResult:
    enforced: bool
    detail: str
    block_s: float = 0.0
    restore_s: float = 0.0
    identity: str = ""
    checked_at: float = 0.0
    placement: str = ""

    def line(self) -> str:
        if self.enforced:
            where = f"; {self.placement}" if self.placement else ""
            return (
                f"enforced (deny took effect in {self.block_s:.1f} s, removal in "
                f"{self.restore_s:.1f} s{where})"
            )
        return f"NOT enforced: {self.detail}"


# -- objects -----------------------------------------------------------------------------------
def _server(
    name: str,
    image: str,
    namespace: str = CANARY_NAMESPACE,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**MANAGED, **(labels or {}), "app": f"canary-{name}"},
        },
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": name,
                    "image": image,
                    "args": ["netexec", f"--http-port={PORT}", "--udp-port=-1"],
                    "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": PORT}, "periodSeconds": 1},
                }
            ],
        },
    }


def _apart_from_servers() -> dict[str, Any]:
    """Required anti-affinity: the client never shares a node with either server."""
    return {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {
                        "matchExpressions": [
                            {
                                "key": "app",
                                "operator": "In",
                                "values": [f"canary-{SERVER}", f"canary-{CONTROL}"],
                            }
                        ]
                    },
                    "topologyKey": HOSTNAME_KEY,
                }
            ]
        }
    }


def canary_objects(
    agnhost_image: str,
    *,
    spread: bool = False,
    namespace: str = CANARY_NAMESPACE,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Namespace, server, control and client in ``namespace``, each labelled managed and
    ``labels``; with ``spread`` the client is kept off the servers' nodes."""
    extra = dict(labels or {})
    client_spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": CLIENT, "image": agnhost_image, "args": ["pause"]}],
    }
    if spread:
        client_spec["affinity"] = _apart_from_servers()
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {**MANAGED, **extra}},
        },
        _server(SERVER, agnhost_image, namespace, extra),
        _server(CONTROL, agnhost_image, namespace, extra),
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": CLIENT,
                "namespace": namespace,
                "labels": {**MANAGED, **extra, "app": f"canary-{CLIENT}"},
            },
            "spec": client_spec,
        },
    ]


def deny_policy(
    namespace: str = CANARY_NAMESPACE, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Deny all ingress to the server (only): the control stays reachable."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": DENY_POLICY,
            "namespace": namespace,
            "labels": {**MANAGED, **(labels or {})},
        },
        "spec": {
            "podSelector": {"matchLabels": {"app": f"canary-{SERVER}"}},
            "policyTypes": ["Ingress"],
        },
    }


def schedulable_nodes(nodes: Iterable[Mapping[str, Any]]) -> list[str]:
    """Nodes that take ordinary pods: Ready, not cordoned, no ``NoSchedule``/``NoExecute``
    taint (a kind control-plane node has ``node-role.kubernetes.io/control-plane:NoSchedule``)."""
    found = []
    for node in nodes:
        spec, status = node.get("spec") or {}, node.get("status") or {}
        if spec.get("unschedulable"):
            continue
        if any(t.get("effect") in ("NoSchedule", "NoExecute") for t in spec.get("taints") or ()):
            continue
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or ()
        )
        if ready:
            found.append(str((node.get("metadata") or {}).get("name", "")))
    return sorted(found)


# -- identity and cache --------------------------------------------------------------------------
def cluster_identity(reads: Reads) -> str:
    """Changes when the cluster is recreated or any node restarts."""
    namespaces = reads.list("namespaces", field_selector="metadata.name=kube-system").items
    uid = str(((namespaces[0] if namespaces else {}).get("metadata") or {}).get("uid", ""))
    parts = []
    for node in reads.list("nodes").items:
        ready: dict[str, Any] = next(
            (
                c
                for c in (node.get("status") or {}).get("conditions") or ()
                if c.get("type") == "Ready"
            ),
            {},
        )
        parts.append(f"{node['metadata']['name']}={ready.get('lastTransitionTime', '')}")
    return ";".join([*sorted(parts), uid])


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


def require_enforced(result: CanaryResult) -> None:
    if not result.enforced:
        raise ClusterNotReady(
            f"the cluster does not enforce NetworkPolicy: {result.detail}\n    fix: use the "
            "kind + Calico cluster (`labkit up`), or install a CNI that enforces policy; "
            "labkit will not grade on this cluster"
        )


# -- the run --------------------------------------------------------------------------------------
def _key(name: str, namespace: str = CANARY_NAMESPACE) -> str:
    return f"{namespace}/{name}"


def canary_jobs(namespace: str = CANARY_NAMESPACE) -> tuple[Job, Job]:
    """client -> server and client -> control, in ``namespace``."""
    return (
        Job(_key(CLIENT, namespace), _key(SERVER, namespace), ProbeSpec(PORT)),
        Job(_key(CLIENT, namespace), _key(CONTROL, namespace), ProbeSpec(PORT)),
    )


JOBS = canary_jobs()


class _Prober:
    """Probes client -> server and client -> control, once per call, and keeps count of the
    consecutive blocks (server timed out while the control answered)."""

    def __init__(
        self,
        cluster: LabCluster,
        clock: Callable[[], float],
        namespace: str = CANARY_NAMESPACE,
    ) -> None:
        from labkit.cluster.live_probe import LiveRunner

        self.clock = clock
        self.jobs = canary_jobs(namespace)
        self.first_block = 0.0
        """When the current streak of blocks began (the deny took effect)."""

        runner: Runner = cluster.runner()
        if isinstance(runner, LiveRunner):  # a real cluster: pod addresses stay, probe once
            self.once: Callable[[list[Job]], list[Result]] = runner.run_once
        else:  # a simulated cluster answers from its current objects: a new runner each time
            self.once = lambda jobs: cluster.runner().run(jobs)
        self.server = self.control = Result(self.jobs[0], Outcome.FAILED, "not probed yet")
        self.streak = 0
        self.control_failures = 0

    def probe(self) -> None:
        self.server, self.control = self.once(list(self.jobs))

    def both_reachable(self) -> tuple[bool, str]:
        self.probe()
        ok = self.server.outcome is Outcome.ALLOWED and self.control.outcome is Outcome.ALLOWED
        return ok, f"server: {self.server.detail or self.server.outcome.value}; control: " + (
            self.control.detail or self.control.outcome.value
        )

    def blocked(self, consecutive: int) -> Callable[[], tuple[bool, str]]:
        def check() -> tuple[bool, str]:
            self.probe()
            control_ok = self.control.outcome is Outcome.ALLOWED
            self.control_failures = 0 if control_ok else self.control_failures + 1
            timed_out = self.server.outcome is Outcome.BLOCKED
            self.streak = self.streak + 1 if timed_out and control_ok else 0
            if self.streak == 1:
                self.first_block = self.clock()
            return self.streak >= consecutive, (
                f"{self.streak}/{consecutive} timeouts in a row (server: "
                f"{self.server.detail or self.server.outcome.value}; control: "
                f"{self.control.detail or self.control.outcome.value})"
            )

        return check

    def server_reachable(self) -> tuple[bool, str]:
        self.probe()
        return self.server.outcome is Outcome.ALLOWED, (
            f"server: {self.server.detail or self.server.outcome.value}"
        )


def _kube_prepare(
    cluster: LabCluster,
    progress: Progress,
    namespace: str = CANARY_NAMESPACE,
    keep_namespace: bool = False,
) -> bool:
    """On a real cluster: wait for a previous canary namespace (``keep_namespace``: the
    previous canary pods) to be gone; returns whether there are several schedulable nodes
    (then client and servers are spread)."""
    from labkit.cluster.kind import readiness
    from labkit.cluster.kube import KubeCluster

    if not isinstance(cluster, KubeCluster):
        return False
    if keep_namespace:
        readiness.wait(
            "previous canary pods",
            readiness.gone_wait(cluster.reads, "pods", [SERVER, CONTROL, CLIENT], namespace),
            timeout=120,
            progress=progress,
            fix=f"`kubectl get pods -n {namespace}` shows what it waits for",
        )
    else:
        readiness.wait(
            "previous canary namespace",
            readiness.gone_wait(cluster.reads, "namespaces", [namespace]),
            timeout=120,
            progress=progress,
            fix=f"`kubectl get namespace {namespace} -o yaml` shows what it waits for",
        )
    return len(schedulable_nodes(cluster.reads.list("nodes").items)) >= 2


def _kube_wait_pods(
    cluster: LabCluster,
    settings: CanarySettings,
    progress: Progress,
    namespace: str = CANARY_NAMESPACE,
) -> str:
    """On a real cluster: wait for the canary pods; returns where they run."""
    from labkit.cluster.kind import readiness
    from labkit.cluster.kube import KubeCluster

    if not isinstance(cluster, KubeCluster):
        return ""
    readiness.wait(
        "canary pods",
        readiness.pods_wait(cluster.reads, [namespace], 3),
        timeout=settings.ready_s,
        progress=progress,
        fix=f"`kubectl get pods -n {namespace} -o wide` (image pull? CNI not ready? "
        "too few nodes for the client to run apart from the servers?)",
    )
    nodes = {p.name: p.node for p in cluster.pods(namespace)}
    return f"client on {nodes.get(CLIENT) or '?'}, server on {nodes.get(SERVER) or '?'}"


def run_canary(
    cluster: LabCluster,
    agnhost_image: str,
    progress: Progress | None = None,
    *,
    identity: str = "",
    settings: CanarySettings = CanarySettings(),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    cleanup: bool = True,
    namespace: str = CANARY_NAMESPACE,
    labels: Mapping[str, str] | None = None,
    keep_namespace: bool = False,
) -> CanaryResult:
    """Run the canary in ``namespace`` (its objects labelled ``labels`` too; with
    ``keep_namespace`` the namespace stays and only the canary's pods are deleted); raises
    :class:`ClusterNotReady` when it cannot run or prove anything (broken pod network),
    returns ``enforced=False`` when the cluster ignores policy."""
    prog = progress or LogProgress()
    prog.step("enforcement canary", total=4)

    def poll(what: str, check: Callable[[], tuple[bool, str]], timeout: float) -> Any:
        return poll_until(
            what,
            check,
            timeout=timeout,
            progress=prog,
            interval=settings.interval,
            clock=clock,
            sleep=sleep,
        )

    try:
        spread = _kube_prepare(cluster, prog, namespace, keep_namespace)
        cluster.apply(
            canary_objects(agnhost_image, spread=spread, namespace=namespace, labels=labels)
        )
        placement = _kube_wait_pods(cluster, settings, prog, namespace)
        prober = _Prober(cluster, clock, namespace)
        prog.advance("client -> server and control with no policy")
        first = poll("canary with no policy", prober.both_reachable, settings.baseline_s)
        if not first.ok:
            raise ClusterNotReady(
                f"canary: the client cannot reach its servers on {PORT}/TCP before any policy "
                f"exists ({first.message})\n    fix: pod networking is broken; check "
                "`kubectl get pods -A` for CoreDNS and Calico (`labkit doctor`), then run "
                "`labkit up` again"
            )
        prog.advance("deny ingress to the server; waiting for it to take effect")
        cluster.apply(deny_policy(namespace, labels))
        denied_at = clock()
        denied = poll(
            "canary under the deny", prober.blocked(settings.consecutive), settings.block_s
        )
        if not denied.ok:
            if prober.control_failures:
                raise ClusterNotReady(
                    "canary: the control server, which the deny does not select, became "
                    f"unreachable too ({prober.control.detail}): the network broke, which "
                    "proves nothing about policy\n    fix: check the CNI (`labkit doctor`), "
                    "then run `labkit up` again"
                )
            return CanaryResult(
                False,
                f"no {settings.consecutive} timeouts in a row {settings.block_s:.0f} s after a "
                f"deny-all-ingress policy (last probe: {prober.server.detail or 'allowed'}): "
                "this cluster does not enforce NetworkPolicy (kindnet on a kernel without "
                "nftables/nfqueue, e.g. WSL2 or OrbStack, or a CNI without policy support)",
                identity=identity,
                checked_at=time.time(),
                placement=placement,
            )
        prog.advance("delete the policy; waiting for traffic to flow again")
        cluster.delete("NetworkPolicy", DENY_POLICY, namespace)
        again = poll("canary after the deny", prober.server_reachable, settings.restore_s)
        if not again.ok:
            raise ClusterNotReady(
                f"canary: traffic did not flow again {settings.restore_s:.0f} s after the deny "
                f"policy was deleted ({again.message})\n    fix: check calico-node logs "
                "(`kubectl logs -n calico-system ds/calico-node`), then `labkit up` again"
            )
        result = CanaryResult(
            True,
            "allowed with no policy; timed out under the deny while the control stayed "
            "reachable; allowed again after deleting it",
            max(0.0, prober.first_block - denied_at),
            again.seconds,
            identity,
            time.time(),
            placement,
        )
        prog.finish(f"canary: {result.line()}")
        return result
    finally:
        if cleanup:
            try:
                if keep_namespace:
                    cluster.delete("NetworkPolicy", DENY_POLICY, namespace)
                    for pod in (SERVER, CONTROL, CLIENT):
                        cluster.delete("Pod", pod, namespace)
                else:
                    cluster.delete("Namespace", namespace)
            except LabkitError as exc:
                log.warning("could not clean up the canary in %s: %s", namespace, exc)
