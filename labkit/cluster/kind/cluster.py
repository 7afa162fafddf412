"""The kind + Calico lab cluster: create, repair, reuse, describe and delete it.

``KindCluster.up`` is idempotent. A ready cluster (nodes Ready, Calico available, the lab's
pools and pods in place, a cached canary result for this cluster identity) is returned in
seconds. A half-made one is completed step by step (every step is idempotent); one that
cannot be repaired (API server unreachable, wrong node count or Kubernetes version, other
Calico install mode) is deleted and created again. The cluster is reported ready only after
the enforcement canary proved that NetworkPolicy is enforced.

Every kubectl call names ``--kubeconfig <lab folder>/kubeconfig --context kind-<name>``;
``kind create`` writes only that file, so the user's kubeconfig and current context are
never touched. No ``--wait`` on ``kind create``: with the default CNI disabled the nodes stay
NotReady until Calico runs, so kind would wait out its timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from labkit.cluster import commands, doctor
from labkit.cluster.address_plan import AddressPlan, load_address_plan
from labkit.cluster.backend import ClusterStatus
from labkit.cluster.canary import cluster_identity, load_cached
from labkit.cluster.deploy import canary_cache, deploy_topology, ensure_enforced
from labkit.cluster.kind import calico, images, readiness
from labkit.cluster.kind.config import load_config
from labkit.cluster.kind.options import (
    KindOptions,
    create_command,
    delete_command,
    effective_node_image,
    export_kubeconfig,
    kind_clusters,
    kubernetes_minor,
)
from labkit.cluster.kind.pins import CALICO_MODES, CalicoRelease, Pins, load_pins
from labkit.cluster.kind.preflight import preflight
from labkit.cluster.kube import KubeCluster
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.paths import default_kubeconfig
from labkit.cluster.progress import LogProgress, Progress
from labkit.errors import ClusterError, ClusterNotReady, CommandFailed, PrerequisiteMissing

__all__ = ["KindCluster", "KindOptions", "create_command", "effective_node_image", "kind_clusters"]

log = logging.getLogger(__name__)

KIND_CREATE_TIMEOUT = 600.0
COREDNS = ("deployments", "kube-system", "coredns")


API_RESUME_WAIT_S = 180.0
"""How long ``up`` waits for the API server of an existing cluster: after a laptop resumes,
the node containers restart first and the API server answers a minute or two later."""


@dataclass(frozen=True)
class Health:
    ready: bool
    recreate: str = ""
    reason: str = ""
    fix: str = ""


class KindCluster(KubeCluster):
    """The lab's kind cluster with Calico."""

    name = "kind"

    def __init__(
        self,
        options: KindOptions,
        node_image: str | None = None,
        release: CalicoRelease | None = None,
    ) -> None:
        super().__init__(Kubectl(options.kubeconfig, options.context))
        self.options = options
        self.node_image = node_image or options.node_image
        self.kubernetes_version = kubernetes_minor(self.node_image)
        self.release = release

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def up(
        cls,
        options: KindOptions,
        progress: Progress | None = None,
        *,
        recreate: bool = False,
        interrupted: bool = False,
        before_create: Callable[[], None] | None = None,
    ) -> KindCluster:
        """Create, repair or reuse the cluster; returns it only once policy is enforced.

        A cluster is deleted only when ``recreate`` asks for it, or when ``interrupted`` (the
        lab record says a ``kind create`` did not finish) and it cannot be used; any other
        cluster that cannot be reused raises :class:`ClusterNotReady` with the advice to retry
        or to ``labkit up --recreate``. ``before_create`` runs just before ``kind create`` (the
        lifecycle records the backend there, so an interrupted create is found again)."""
        progress = progress or LogProgress()
        started = time.monotonic()
        progress.step("checking prerequisites")
        usable, why = doctor.docker_usable()
        if not usable:
            raise PrerequisiteMissing(
                f"kind needs a working container engine: {why}\n    fix: start Docker (see "
                "`labkit doctor`), or use the simulated cluster"
            )
        for tool in ("kind", "kubectl"):
            if commands.which(tool) is None:
                raise PrerequisiteMissing(
                    f"`{tool}` is not installed\n    fix: {commands.INSTALL_HINTS[tool]}"
                )
        if options.calico_mode not in CALICO_MODES:
            raise ClusterError(
                f"unknown Calico install mode {options.calico_mode!r}\n    fix: "
                "use operator or manifest"
            )
        preflight(options, progress)  # image digests, kind >= 0.32, host, kind network
        pins = load_pins()
        release = pins.calico_release(options.calico_version or None)
        plan = load_address_plan()
        config, _ = load_config(options.nodes)
        image, why_image = effective_node_image(options, pins, doctor.cgroup_v2())
        cluster = cls(options, image, release)
        if options.name in kind_clusters() and recreate:
            progress.step(f"re-creating kind cluster {options.name} (--recreate)")
            commands.run(delete_command(options), timeout=300)
        elif options.name in kind_clusters():
            health = cluster._reusable(plan, pins, progress)
            if health.ready:
                progress.finish(
                    f"kind cluster {options.name} is ready (reused in "
                    f"{time.monotonic() - started:.1f} s)"
                )
                return cluster
            if health.recreate:
                cluster._replace_unusable(health, interrupted, progress)
            else:
                progress.step(f"repairing kind cluster {options.name}: {health.reason}")
        if options.name not in kind_clusters():
            image = images.resolve_node_image(image)
            progress.step(
                f"creating kind cluster {options.name} ({options.nodes} node(s), "
                f"{image}: {why_image})"
            )
            options.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
            if before_create is not None:
                before_create()
            commands.run(
                create_command(options, config, image),
                timeout=KIND_CREATE_TIMEOUT,
                hint="see `labkit doctor`; on Linux check the inotify limits and "
                "free memory; `kind delete cluster --name "
                f"{options.name}` clears a failed attempt",
            )
            loaded = images.load_into_cluster(
                images.lab_images(pins, release, options.calico_mode, ""),
                options.name,
                progress,
            )
            if loaded:
                log.info("preloaded %d image(s) from Docker", len(loaded))
        cluster._install(pins, release, plan, progress, started)
        progress.finish(
            f"kind cluster {options.name} ready in {time.monotonic() - started:.0f} s "
            f"(kubeconfig {options.kubeconfig}, context {options.context})"
        )
        return cluster

    def _reusable(self, plan: AddressPlan, pins: Pins, progress: Progress) -> Health:
        """:meth:`_health` of the cluster found, after exporting its kubeconfig and waiting
        for its API server (up to :data:`API_RESUME_WAIT_S`, saying so)."""
        try:
            export_kubeconfig(self.options)
        except CommandFailed as exc:
            return Health(
                False,
                recreate="its kubeconfig cannot be exported, so its control plane never came "
                f"up ({_first_line(exc)})",
            )
        problem = self._api_problem(progress)
        if problem:
            return Health(
                False,
                recreate=f"its API server does not answer ({problem})",
                fix=f"run `labkit up` again in a minute: after a laptop resumes, the node "
                "containers restart first (`docker ps -a --filter "
                f"label=io.x-k8s.kind.cluster={self.options.name}` shows them)",
            )
        return self._health(plan, pins)

    def _api_problem(self, progress: Progress) -> str:
        """``""`` once the API server answers, else why it did not within
        :data:`API_RESUME_WAIT_S` (the wait is announced)."""

        def answers() -> tuple[bool, str]:
            return bool(self.reads.list("nodes").items), "no nodes yet"

        try:
            if answers()[0]:
                return ""
        except ClusterError as exc:
            first = _first_line(exc)
        else:
            first = "no nodes yet"
        progress.advance(
            f"the API server of kind cluster {self.options.name} does not answer yet ({first}); "
            f"after a laptop resumes it takes a minute or two: waiting up to "
            f"{API_RESUME_WAIT_S:.0f} s"
        )
        try:
            readiness.wait_for(
                "Kubernetes API", answers, timeout=API_RESUME_WAIT_S, progress=progress
            )
        except ClusterError as exc:
            return _first_line(exc)
        return ""

    def _replace_unusable(self, health: Health, interrupted: bool, progress: Progress) -> None:
        """Delete the cluster found when an interrupted ``kind create`` left it unusable;
        otherwise refuse, saying how to retry or to ask for ``--recreate``."""
        name = self.options.name
        if not interrupted:
            fix = f"{health.fix}; or " if health.fix else ""
            raise ClusterNotReady(
                f"kind cluster {name} cannot be reused: {health.recreate}\n    fix: {fix}"
                f"`labkit up --recreate` deletes it and creates it again (what you applied "
                "to it is lost); labkit never deletes a cluster unless asked"
            )
        progress.step(
            f"re-creating kind cluster {name}: an interrupted `labkit up` left it half-made "
            f"({health.recreate})"
        )
        commands.run(delete_command(self.options), timeout=300)

    def _remaining(self, started: float) -> float:
        left = self.options.timeout_s - (time.monotonic() - started)
        if left <= 0:
            raise ClusterNotReady(
                f"`labkit up` ran out of its {self.options.timeout_s:.0f} s "
                "budget\n    fix: run `labkit up` again: it resumes where it stopped (a slow "
                "network pulling images is the usual cause; `labkit images pull` first helps)"
            )
        return left

    def _install(
        self,
        pins: Pins,
        release: CalicoRelease,
        plan: AddressPlan,
        progress: Progress,
        started: float,
    ) -> None:
        kube, mode, reads = self.kubectl, self.options.calico_mode, self.reads
        progress.step(f"Calico {release.version} ({mode})", total=6)
        readiness.wait_for(
            "Kubernetes API",
            lambda: (bool(reads.list("nodes").items), ""),
            timeout=min(120.0, self._remaining(started)),
            progress=progress,
        )
        calico.install(kube, release, mode, plan, progress)
        if mode == "operator":
            readiness.wait(
                "Calico (tigerastatus)",
                readiness.tigerastatus_wait(reads),
                timeout=self._remaining(started),
                progress=progress,
                fix="`kubectl get tigerastatus` and `kubectl get pods -n "
                "calico-system` show the component that waits",
            )
        else:
            readiness.wait(
                "calico-node",
                readiness.rollout_wait(reads, "daemonsets", "kube-system", "calico-node"),
                timeout=self._remaining(started),
                progress=progress,
                fix="`kubectl -n kube-system describe ds calico-node`",
            )
        readiness.wait(
            "nodes",
            readiness.nodes_wait(reads, self.options.nodes),
            timeout=self._remaining(started),
            progress=progress,
            fix="`kubectl describe nodes`; CNI problems show in the Ready condition's message",
        )
        progress.advance("dedicated IP pools (clusters/calico/ippools.yaml)")
        readiness.wait_for(
            "IP pools",
            lambda: _pools_applied(kube, mode, plan),
            timeout=min(180.0, self._remaining(started)),
            progress=progress,
            fix="`kubectl get ippools.crd.projectcalico.org`",
        )
        readiness.wait(
            "CoreDNS",
            readiness.rollout_wait(reads, *COREDNS),
            timeout=self._remaining(started),
            progress=progress,
            fix="CoreDNS stays Pending until the CNI works: check Calico",
        )
        deploy_topology(self, progress, timeout=self._remaining(started), plan=plan)
        ensure_enforced(
            self,
            pins.agnhost_image,
            progress,
            canary_cache(self.name, self.options.name),
            rerun=True,
        )

    def _health(self, plan: AddressPlan, pins: Pins) -> Health:
        """Whether the existing cluster is ready, must be re-created, or can be repaired."""
        kube = self.kubectl
        try:
            readiness.wait_for(
                "Kubernetes API",
                lambda: (bool(self.reads.list("nodes").items), ""),
                timeout=60,
                progress=LogProgress(),
            )
            nodes = self.reads.list("nodes").items
        except ClusterError as exc:
            return Health(False, recreate=f"its API server does not answer ({exc})")
        if len(nodes) != self.options.nodes:
            return Health(
                False, recreate=f"it has {len(nodes)} node(s), {self.options.nodes} wanted"
            )
        kubelet = str(
            ((nodes[0].get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
        )
        if not kubelet.startswith(f"v{self.kubernetes_version}."):
            return Health(
                False,
                recreate=f"it runs Kubernetes {kubelet}, the node image is "
                f"{self.kubernetes_version}",
            )
        operator = bool(
            self.reads.list("namespaces", field_selector="metadata.name=tigera-operator").items
        )
        if operator != (self.options.calico_mode == "operator"):
            return Health(False, recreate="Calico was installed in the other mode")
        checks = [readiness.nodes_ready(nodes, self.options.nodes)]
        try:
            if self.options.calico_mode == "operator":
                checks.append(readiness.tigerastatus_wait(self.reads).check())
            else:
                checks.append(
                    readiness.rollout_wait(
                        self.reads, "daemonsets", "kube-system", "calico-node"
                    ).check()
                )
            problems = calico.verify_pools(kube, plan)
            checks.append((not problems, "; ".join(problems)))
            checks.append(self._lab_pods_ready())
            identity = cluster_identity(self.reads)
        except ClusterError as exc:
            return Health(False, reason=str(exc).splitlines()[0])
        cached = load_cached(canary_cache(self.name, self.options.name), identity)
        checks.append(
            (cached is not None and cached.enforced, "canary not run since the cluster (re)started")
        )
        waiting = [msg for ok, msg in checks if not ok]
        return Health(not waiting, reason="; ".join(waiting))

    def _lab_pods_ready(self) -> tuple[bool, str]:
        from labkit.cluster.deploy import lab_namespaces, lab_pod_keys
        from labkit.cluster.topology import topology_manifests

        objects = list(topology_manifests())
        expected = sum(1 for o in objects if o.kind == "Pod")
        return readiness.pods_wait(
            self.reads,
            lab_namespaces(objects),
            expected,
            lab_pod_keys(objects),
            "labkit.dev/managed=true",
        ).check()

    @classmethod
    def attach(cls, options: KindOptions) -> KindCluster:
        """The existing cluster, changing nothing in it (its kubeconfig file is re-exported
        when missing)."""
        if options.name not in kind_clusters():
            raise ClusterNotReady(
                f"there is no kind cluster named {options.name}\n    fix: run `labkit up`"
            )
        if not options.kubeconfig.exists():
            export_kubeconfig(options)
        pins = load_pins()
        image, _ = effective_node_image(options, pins, doctor.cgroup_v2())
        return cls(options, image, pins.calico_release(options.calico_version or None))

    def down(self) -> None:
        """Delete the kind cluster, its canary record and labkit's kubeconfig; nothing else."""
        commands.run(delete_command(self.options), timeout=300)
        canary_cache(self.name, self.options.name).unlink(missing_ok=True)
        if self.options.kubeconfig == default_kubeconfig():
            self.options.kubeconfig.unlink(missing_ok=True)

    # -- description ---------------------------------------------------------------------------
    def status(self) -> ClusterStatus:
        mode = self.options.calico_mode
        version = self.release.version if self.release else "?"
        try:
            nodes = self.reads.list("nodes").items
            nodes_ok, nodes_msg = readiness.nodes_ready(nodes, self.options.nodes)
            if mode == "operator":
                cni_ok, cni_msg = readiness.tigerastatus_wait(self.reads).check()
            else:
                cni_ok, cni_msg = readiness.rollout_wait(
                    self.reads, "daemonsets", "kube-system", "calico-node"
                ).check()
            pods_ok, pods_msg = self._lab_pods_ready()
            cached = load_cached(
                canary_cache(self.name, self.options.name), cluster_identity(self.reads)
            )
        except ClusterError as exc:
            return ClusterStatus(
                self.name,
                False,
                details=(("error", str(exc).splitlines()[0]), ("fix", "labkit up")),
            )
        names = tuple(f"{n['metadata']['name']}" for n in nodes)
        return ClusterStatus(
            backend=self.name,
            ready=nodes_ok and cni_ok and pods_ok and cached is not None and cached.enforced,
            nodes=names,
            cni=f"Calico {version} ({mode}): {cni_msg}",
            topology=pods_msg,
            canary=cached.line() if cached else "not run since the cluster started (labkit up)",
            details=(
                ("nodes", nodes_msg),
                ("context", self.options.context),
                ("kubeconfig", str(self.options.kubeconfig)),
            ),
        )

    @staticmethod
    def plan(options: KindOptions) -> str:
        """What ``labkit up`` would do (``--dry-run``): commands, config, pins, images."""
        from labkit.cluster.kind.plan import plan_text

        return plan_text(options)


def _pools_applied(kube: Kubectl, mode: str, plan: AddressPlan) -> tuple[bool, str]:
    """Apply the dedicated pools (the Calico API server may still be starting) and compare
    the cluster's pools with the plan."""
    calico.apply_pools(kube, mode)
    problems = calico.verify_pools(kube, plan)
    return not problems, "; ".join(problems)


def _first_line(exc: Exception) -> str:
    """What went wrong in one line: a failed command's last line of stderr (where kind and
    kubectl say why), else the error's first line."""
    if isinstance(exc, CommandFailed) and exc.stderr.strip():
        return exc.stderr.strip().splitlines()[-1]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
