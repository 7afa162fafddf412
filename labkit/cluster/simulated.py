"""The simulated cluster: the lab topology in a file, enforced by the policy engine.

No Docker, no nodes: applied objects are kept (in order) in ``<lab folder>/simulated.json``, so
the CLI and a notebook see the same cluster, and a probe is answered by the same engine that
makes predictions, with the same jobs and results as on a real cluster. It behaves like an API
server where learners can tell (:mod:`labkit.cluster.sim_apply`): batches are validated and
applied all-or-nothing, namespaces must exist, pods keep their addresses, pod specs are
immutable. A probe from or to a pod that does not exist fails (``Outcome.FAILED``), as
``kubectl exec`` into a missing pod would; it is never shown as blocked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from labkit.cluster.backend import ApplyReport, ClusterStatus, LabCluster
from labkit.cluster.labdir import lab_home, simulated_state_path
from labkit.cluster.progress import LogProgress, Progress
from labkit.cluster.sim_apply import (
    build,
    canonical_kind,
    delete,
    key_of,
    merge,
    reset_entries,
    set_labels,
    to_raw,
)
from labkit.cluster.sim_store import Entry, FileStore, MemoryStore, StateDamaged, Store
from labkit.cluster.topology import (
    kube_system_manifests,
    summarise,
    topology_manifests,
)
from labkit.engine.evaluator import Engine
from labkit.errors import ClusterError, UnknownPeer
from labkit.model.inventory import Inventory, check_objects
from labkit.model.ipam import IPPlan
from labkit.model.loader import RawObject
from labkit.probe.jobs import Job, Outcome, Result
from labkit.probe.runner import Runner

log = logging.getLogger(__name__)

CNI_TEXT = "labkit policy engine (simulates Calico NetworkPolicy enforcement)"
CNI_NONE_TEXT = (
    "none (simulates a CNI without NetworkPolicy support: policies are stored, never enforced)"
)
CNIS = ("calico", "none")
"""The simulated CNIs: ``calico`` enforces as the engine predicts; ``none`` enforces nothing,
as kindnet on a kernel without nftables/nfqueue or flannel alone would (the API server
accepts NetworkPolicy objects whatever the CNI does with them)."""
NOT_ENFORCED = "simulated CNI 'none': nothing enforces NetworkPolicy, so every probe gets through"
NODES_TEXT = "simulated (no nodes)"


def plan_for(entries: Sequence[Entry]) -> IPPlan:
    """Calico's allocation for these objects: the one address plan of every path (the lab's
    pools, the IPPools applied, namespace and pod pool annotations)."""
    return IPPlan().including(to_raw(entry) for entry in entries)


def base_objects(topology: bool = True) -> list[RawObject]:
    """A new simulated cluster: the system namespaces and CoreDNS, plus the lab topology;
    without ``topology``, only the four namespaces every cluster has (an empty cluster)."""
    if not topology:
        return kube_system_manifests(coredns=False)
    return [*kube_system_manifests(), *topology_manifests()]


class SimulatedRunner:
    """Answers probe jobs from the engine over one snapshot of the cluster.

    Same verdicts as :class:`labkit.probe.runner.EngineRunner`; a job whose source or
    destination pod does not exist is ``FAILED`` with a sentence saying which.
    """

    def __init__(
        self,
        inventory: Inventory,
        *,
        enforce: bool = True,
        record: Callable[[Engine, Sequence[Result]], None] | None = None,
    ) -> None:
        self.engine = Engine(inventory)
        self.enforce = enforce
        self.record = record

    def run(self, jobs: Sequence[Job]) -> list[Result]:
        results = self._answer(jobs)
        if self.record is not None:
            self.record(self.engine, results)
        return results

    def _answer(self, jobs: Sequence[Job]) -> list[Result]:
        results: list[Result] = []
        for job in jobs:
            try:
                side = "source"
                src = self.engine.endpoint(job.src)
                side = "destination"
                dst = self.engine.endpoint(job.dst)
            except UnknownPeer:
                peer = job.src if side == "source" else job.dst
                results.append(
                    Result(
                        job,
                        Outcome.FAILED,
                        f"probe could not run: the {side} {peer} does not exist in the simulated "
                        "cluster (pods are NAMESPACE/POD; see `labkit get pods -A`)",
                    )
                )
                continue
            verdict = self.engine.allowed(src, dst, job.probe.port, job.probe.protocol)
            if not self.enforce and verdict is not None:
                results.append(Result(job, Outcome.ALLOWED, NOT_ENFORCED))
            elif verdict is None:
                results.append(
                    Result(
                        job,
                        Outcome.NOT_APPLICABLE,
                        "no policy can apply between two non-pod addresses",
                    )
                )
            elif verdict:
                results.append(
                    Result(
                        job, Outcome.ALLOWED, "simulated cluster: the policies in force allow it"
                    )
                )
            else:
                results.append(
                    Result(
                        job, Outcome.BLOCKED, "simulated cluster: the policies in force block it"
                    )
                )
        return results


class SimulatedCluster(LabCluster):
    """The in-process cluster (backend ``simulated``)."""

    name = "simulated"

    def __init__(
        self, home: Path | None = None, *, store: Store | None = None, cni: str = "calico"
    ) -> None:
        if cni not in CNIS:
            raise ClusterError(f"unknown simulated CNI {cni!r}; use one of {', '.join(CNIS)}")
        self.cni = cni
        self.home = home if home is not None else lab_home()
        self.store: Store = (
            store if store is not None else FileStore(simulated_state_path(self.home))
        )
        self._cached: tuple[object, Inventory] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def up(
        cls,
        home: Path | None = None,
        progress: Progress | None = None,
        *,
        topology: bool = True,
        fresh: bool = False,
    ) -> SimulatedCluster:
        """Create the cluster with the topology, or keep the one that exists (``fresh``
        recreates it)."""
        cluster = cls(home)
        prog = progress or LogProgress()
        if cluster.store.exists() and not fresh:
            prog.step("Simulated cluster exists; keeping its state")
            cluster.raw_objects()  # fails now, with a fix, if the file is damaged
            prog.finish(
                f"simulated cluster at {cluster.state_path} (labkit reset restores the topology)"
            )
            return cluster
        prog.step("Creating the simulated cluster", 2)
        report = cluster.reset(topology=topology, fresh=True)
        prog.advance(f"{len(report.applied)} objects applied")
        prog.finish(f"simulated cluster ready at {cluster.state_path}")
        return cluster

    @classmethod
    def in_memory(
        cls, objects: Iterable[RawObject] = (), *, validate: bool = True, cni: str = "calico"
    ) -> SimulatedCluster:
        """A throwaway cluster holding ``objects`` (nothing is written to disk)."""
        cluster = cls(Path("<memory>"), store=MemoryStore([]), cni=cni)
        items = list(objects)
        if validate:
            check_objects(items, cluster.kubernetes_version)
        cluster.store.update(lambda entries: merge(entries, items, plan_for))
        return cluster

    @property
    def state_path(self) -> Path | None:
        return self.store.path if isinstance(self.store, FileStore) else None

    def exists(self) -> bool:
        return self.store.exists()

    def reset(self, *, topology: bool = True, fresh: bool = False) -> ApplyReport:
        """Back to the system namespaces, CoreDNS and the topology (or, without ``topology``,
        an empty cluster): what labkit created is deleted, objects without the managed label
        stay (:func:`~labkit.cluster.sim_apply.reset_entries`). ``fresh`` (or no state yet,
        or a damaged one) starts from nothing."""
        objects = base_objects(topology)
        check_objects(objects, self.kubernetes_version)
        if not fresh and self.store.exists():
            try:
                own = base_objects()
                return self.store.update(
                    lambda entries: reset_entries(entries, objects, plan_for, own)
                )
            except StateDamaged as exc:
                log.warning("%s; starting again from nothing", str(exc).split(";")[0])
        entries, report = merge([], objects, plan_for)
        self.store.replace(entries)
        return report

    def down(self) -> bool:
        """Delete the cluster's state; ``False`` when there was none."""
        return self.store.remove()

    # -- primitives ------------------------------------------------------------------------
    def raw_objects(self) -> list[RawObject]:
        """Every stored object, in the order applied (status as the cluster set it)."""
        return [to_raw(e) for e in self.store.read()]

    def inventory(self) -> Inventory:
        stamp = self.store.stamp()
        if self._cached is not None and stamp is not None and self._cached[0] == stamp:
            return self._cached[1]
        entries = self.store.read()
        inventory = build(entries, plan_for(entries))
        self._cached = (stamp, inventory)
        return inventory

    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        return self.store.update(lambda entries: merge(entries, objects, plan_for))

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        return self.store.update(lambda entries: delete(entries, kind, namespace, name))

    def _set_labels(
        self, kind: str, namespace: str, name: str, changes: Mapping[str, str | None]
    ) -> None:
        def workload_of() -> str | None:
            for pod in self.inventory().pods:
                if pod.namespace == namespace and pod.name == name and pod.workload:
                    return pod.workload
            return None

        kind = canonical_kind([], kind)
        self.store.update(
            lambda entries: (set_labels(entries, kind, namespace, name, changes, workload_of), None)
        )

    def runner(self) -> Runner:
        record = None
        if isinstance(self.store, FileStore):
            from labkit.cluster.flows import recorder

            record = recorder(self.home)
        return SimulatedRunner(self.inventory(), enforce=self.cni != "none", record=record)

    def status(self) -> ClusterStatus:
        from labkit.cluster.canary import run_canary
        from labkit.cluster.topology import AGNHOST_IMAGE
        from labkit.cluster.waits import VirtualClock

        inventory = self.inventory()
        copy = SimulatedCluster.in_memory(self.raw_objects(), validate=False, cni=self.cni)
        clock = VirtualClock()  # probes here are instant: no real waiting
        canary = run_canary(copy, AGNHOST_IMAGE, clock=clock, sleep=clock.sleep, cleanup=False)
        return ClusterStatus(
            backend=self.name,
            ready=canary.enforced,
            nodes=(NODES_TEXT,),
            cni=CNI_NONE_TEXT if self.cni == "none" else CNI_TEXT,
            topology=summarise((p.key for p in inventory.pods), len(inventory.policies)),
            canary=canary.line() + " (run on a copy of this cluster)",
            details=(("state", str(self.state_path or "in memory")),),
        )

    def object_keys(self) -> list[tuple[str, str, str]]:
        """``(kind, namespace, name)`` of every stored object, in order."""
        return [key_of(e["object"]) for e in self.store.read()]
