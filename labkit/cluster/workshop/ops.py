"""The instructor's side of workshop mode: ``labkit workshop init | doctor | reset |
teardown`` (``status`` and ``dashboard`` are :mod:`labkit.cli.workshop_views`'s).

**init** (:func:`init_workshop`) reads the learners file
(:func:`labkit.model.workshop.parse_learners`: every bad line at once, ``file:line``), picks
the wall's API from what the cluster serves (:func:`labkit.model.wall.choose_flavour`; the
simulated cluster takes Calico's), refuses learners beyond what the IP pools hold
(:func:`labkit.model.workshop_objects.pool_room`), then applies, each batch all or nothing
through the host (:meth:`~labkit.cluster.workshop.host.WorkshopHost.provision`: a server-side
dry run of the whole batch first on a real cluster):

1. the workshop's shared objects (:func:`~labkit.model.workshop_objects.workshop_objects`:
   hub and canary namespaces, shared Roles, the ``labkit-workshop`` ConfigMap, the admission
   policy), the Calico tier of the walls, and the doctor's two pseudo-learners with their
   walls and a server and a client each (:func:`labkit.cluster.workshop.doctor.doctor_objects`);
2. the safety checks: the enforcement canary in ``ID-canary`` and the wall (doctor-a ->
   doctor-a allowed, doctor-b -> doctor-a and doctor-a -> doctor-b blocked). A cluster that
   fails them is refused, and a workshop this run created is removed again, by its label;
3. every learner's objects (:func:`~labkit.model.workshop_objects.learner_objects`), the lab
   topology's pods translated into the learner's namespaces
   (:meth:`~labkit.model.workshop.LearnerSpace.to_real_object`) and the learner's wall, in
   batches of :data:`LEARNER_BATCH` learners.

Server-side apply makes init idempotent: run again with a longer learners file, it adds the
new learners (the learners already in the workshop's ConfigMap stay). It writes the
KubeSpawner hook (:func:`~labkit.model.workshop_objects.spawn_hook`) and records the workshop
in ``<lab folder>/workshops/ID/workshop.json`` (the context, the hub namespace, the wall's
API) so that later commands need only ``--id``. ``dry_run`` renders everything and writes
nothing: not to the cluster, not to the lab folder.

**teardown** (:func:`teardown_workshop`) counts, kind by kind, what carries
``labkit.dev/workshop=ID`` and deletes exactly that, by label selector (the API server
selects, ``kubectl delete KINDS -l labkit.dev/workshop=ID``; never names from a list labkit
filtered): namespaces first (everything in them goes along), then RBAC, ServiceAccounts,
the ConfigMap, the walls and, last, the admission policy. The Calico tier is shared by every
workshop on the cluster: it goes only when no wall of any workshop remains.

**reset** (:func:`reset_learner`): one learner's lab back to the topology
(:meth:`labkit.cluster.workshop.learner.LearnerCluster.reset`), selected by that learner's
labels.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.cluster.labdir import write_json_atomic
from labkit.cluster.progress import LogProgress, Progress
from labkit.cluster.workshop.doctor import (
    DoctorReport,
    WorkshopCheck,
    cluster_pools,
    doctor_objects,
    run_checks,
    safety_checks,
    wall_kinds,
)
from labkit.cluster.workshop.host import (
    KubeHost,
    SimulatedHost,
    WorkshopHost,
    workshop_folder,
    workshop_state_path,
)
from labkit.errors import ClusterError, LabkitError
from labkit.model.loader import RawObject
from labkit.model.workshop import (
    DEFAULT_HUB_NAMESPACE,
    HUB_LABEL,
    LEARNER_KINDS,
    WALL_LABEL,
    WORKSHOP_CONFIGMAP,
    Learner,
    Workshop,
    WorkshopError,
    check_workshop_id,
    parse_learners,
)

log = logging.getLogger(__name__)

RECORD_FILE = "workshop.json"
"""``<lab folder>/workshops/ID/workshop.json``: how later commands find the workshop (keys
``simulated``, ``context``, ``hub_namespace``, ``flavour``, ``learners``)."""
LEARNER_BATCH = 20
"""Learners applied per all-or-nothing batch (about 60 objects each)."""
SOURCE = "<workshop init>"
SHARED_KINDS = (
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ServiceAccount",
    "ConfigMap",
)
"""What teardown deletes after the namespaces (namespaced kinds across every namespace: the
roles in kube-system and the hub namespace, the ServiceAccounts and the ConfigMap)."""
ADMISSION_KINDS = ("ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy")


def hook_path(workshop_id: str, given: Path | None = None) -> Path:
    """``--hook-file``, else ``./labkit-workshop-ID-hook.py``."""
    return given if given is not None else Path.cwd() / f"labkit-workshop-{workshop_id}-hook.py"


# -- the record ---------------------------------------------------------------------------------
def record_path(workshop_id: str, home: Path | None = None) -> Path:
    return workshop_folder(workshop_id, home) / RECORD_FILE


def load_record(workshop_id: str, home: Path | None = None) -> dict[str, Any]:
    """What ``workshop init`` recorded, or ``{}``."""
    path = record_path(workshop_id, home)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClusterError(
            f"{path}: cannot read the workshop record ({exc})\n    fix: run `labkit workshop "
            f"init --id {workshop_id} ...` again, or pass --context"
        ) from None
    return data if isinstance(data, dict) else {}


def save_record(
    workshop: Workshop, *, simulated: bool, context: str | None, flavour: Any, home: Path | None
) -> Path:
    path = record_path(workshop.id, home)
    write_json_atomic(
        path,
        {
            "id": workshop.id,
            "simulated": simulated,
            "context": context,
            "hub_namespace": workshop.hub_namespace,
            "flavour": str(flavour.value),
            "learners": [[x.name, x.hub_user] for x in workshop.learners],
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return path


# -- reaching the cluster -------------------------------------------------------------------------
def attach(context: str) -> KubeHost:
    """The real cluster of kubeconfig context ``context``, as a workshop host (changes
    nothing; tests replace this function with one returning a host over fakes)."""
    from labkit.cluster.existing import ExistingCluster

    return KubeHost(ExistingCluster.attach(context))


def served_flavour(host: WorkshopHost) -> Any:
    """The wall's API: Calico's on the simulated cluster, else what the cluster serves
    (:func:`labkit.model.wall.choose_flavour`; none is a :class:`WorkshopError`)."""
    from labkit.model.wall import WallFlavour, choose_flavour

    if isinstance(host, SimulatedHost):
        return WallFlavour.CALICO
    reads = host.cluster.reads if isinstance(host, KubeHost) else None
    if reads is None:
        raise ClusterError(f"cannot ask the host {type(host).__name__} what it serves")
    return choose_flavour(reads.served_resources())


def _recorded_flavour(record: dict[str, Any], context: str | None, host: WorkshopHost) -> Any:
    """The wall's API recorded by init for this cluster, else what ``host`` serves now."""
    if record.get("flavour") and (record.get("context") or None) == context:
        return _flavour(record["flavour"])
    return served_flavour(host)


def _flavour(value: object) -> Any:
    from labkit.model.wall import WallFlavour

    try:
        return WallFlavour(str(value))
    except ValueError:
        raise ClusterError(
            f"the workshop record names the wall API {value!r}, which labkit does not know"
            "\n    fix: run `labkit workshop init` for this workshop again"
        ) from None


@dataclass(frozen=True)
class Opened:
    """A workshop found again: its host, its definition and the wall's API."""

    host: WorkshopHost
    workshop: Workshop
    flavour: Any
    simulated: bool
    context: str | None


def _workshop_data(host: WorkshopHost, hub: str) -> dict[str, str] | None:
    if isinstance(host, SimulatedHost):
        found = host.workshop_data()
        return None if found is None else dict(found[1])
    if isinstance(host, KubeHost):
        from labkit.cluster.workshop.identity import read_workshop

        data = read_workshop(host.cluster.reads, hub)
        return None if data is None else dict(data)
    return None


def open_workshop(
    workshop_id: str, *, context: str | None = None, home: Path | None = None
) -> Opened:
    """Workshop ``workshop_id`` as ``init`` left it: with ``context``, on that cluster; else
    as recorded in ``<lab folder>/workshops/ID/workshop.json``; else the simulated workshop
    of that id. The definition is read from the ``labkit-workshop`` ConfigMap."""
    from labkit.model.workshop_objects import workshop_config

    check_workshop_id(workshop_id)
    record = load_record(workshop_id, home)
    context = context or record.get("context") or None
    hub = str(record.get("hub_namespace") or DEFAULT_HUB_NAMESPACE)
    simulated = context is None
    host: WorkshopHost
    if simulated:
        if not record and not SimulatedHost(workshop_id, home).exists():
            raise WorkshopError(
                f"no workshop {workshop_id!r} is recorded in this lab folder "
                f"({record_path(workshop_id, home)}) and there is no simulated one\n    fix: "
                f"pass --context CTX (the cluster it runs on), or run `labkit workshop init "
                f"--id {workshop_id} ...` first"
            )
        host = SimulatedHost.open(workshop_id, home)
    else:
        assert context is not None
        host = attach(context)
    data = _workshop_data(host, hub)
    if data is None:
        raise WorkshopError(
            f"workshop {workshop_id}: no {WORKSHOP_CONFIGMAP} ConfigMap in namespace {hub} on "
            f"the {host.where()}\n    fix: run `labkit workshop init --id {workshop_id} ...` "
            "first (or pass the --context it runs on)"
        )
    workshop = workshop_config(data)
    if workshop.id != workshop_id:
        raise WorkshopError(
            f"the {WORKSHOP_CONFIGMAP} ConfigMap on the {host.where()} describes workshop "
            f"{workshop.id}, not {workshop_id}\n    fix: pass the right --id or --context"
        )
    return Opened(host, workshop, _recorded_flavour(record, context, host), simulated, context)


# -- init ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InitOptions:
    workshop_id: str
    learners_file: Path
    context: str | None = None
    simulated: bool = False
    hub_namespace: str | None = None
    dry_run: bool = False
    hook_file: Path | None = None
    home: Path | None = None


@dataclass(frozen=True)
class InitResult:
    workshop: Workshop
    where: str
    flavour: str
    namespaces: tuple[str, ...]
    counts: dict[str, int]
    """Objects rendered (dry run) or applied, by kind."""
    dry_run: bool = False
    hook_file: Path | None = None
    timings: tuple[tuple[str, float], ...] = ()
    checks: tuple[WorkshopCheck, ...] = ()
    added: tuple[str, ...] = ()
    """Learners this run added (all of them on a first run)."""

    @property
    def check_lines(self) -> list[str]:
        return [c.line() for c in self.checks]


@dataclass
class _Plan:
    """What init applies: the shared batch, then one batch per group of learners."""

    shared: list[dict[str, Any]] = field(default_factory=list)
    learners: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    def all(self) -> list[dict[str, Any]]:
        return [*self.shared, *(d for _, docs in self.learners for d in docs)]


def read_learners(path: Path, workshop_id: str) -> tuple[Learner, ...]:
    from labkit.cluster.topology import LAB_NAMESPACES

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkshopError(
            f"cannot read the learners file {path}: {getattr(exc, 'strerror', None) or exc}"
            "\n    fix: give --learners a text file, one learner per line (NAME or NAME HUB_USER)"
        ) from None
    return parse_learners(text, str(path), workshop_id, LAB_NAMESPACES)


def _with_recorded_hub_users(
    existing: Workshop | None, record: Mapping[str, Any]
) -> Workshop | None:
    """The workshop as its ConfigMap says, with the JupyterHub user names this machine recorded
    at the last ``init`` (the ConfigMap, which every learner can read, holds none)."""
    if existing is None:
        return None
    known = {
        str(item[0]): str(item[1])
        for item in record.get("learners") or ()
        if isinstance(item, list) and len(item) == 2
    }
    return replace(
        existing,
        learners=tuple(Learner(x.name, known.get(x.name, x.hub_user)) for x in existing.learners),
    )


def _merged(
    given: Sequence[Learner], existing: Workshop | None
) -> tuple[tuple[Learner, ...], tuple[str, ...]]:
    """The learners already in the workshop, then the new ones of the file; the file's hub
    user wins for a learner in both. Returns ``(learners, names added)``."""
    if existing is None:
        return tuple(given), tuple(x.name for x in given)
    by_name = {x.name: x for x in given}
    kept = [by_name.pop(x.name, x) for x in existing.learners]
    added = [x for x in given if x.name in by_name]
    return (*kept, *added), tuple(x.name for x in added)


def _hub_exists(host: WorkshopHost | None, hub: str) -> bool:
    if host is None:
        return False
    if isinstance(host, SimulatedHost):
        return hub in host.cluster.inventory().namespace_map
    if isinstance(host, KubeHost):
        found = host.cluster.reads.list("namespaces", field_selector=f"metadata.name={hub}")
        return bool(found.items)
    return False


def plan_objects(
    workshop: Workshop, flavour: Any, *, hub_namespace_exists: bool, agnhost_image: str = ""
) -> _Plan:
    """Every object init applies, rendered (nothing touches a cluster)."""
    from labkit.cluster.topology import AGNHOST_IMAGE, topology_manifests
    from labkit.model.wall import render_tier, render_wall
    from labkit.model.workshop_objects import learner_objects, workshop_objects

    topology = topology_manifests()
    namespaces = [o for o in topology if o.kind == "Namespace"]
    pods = [o for o in topology if o.kind == "Pod"]
    plan = _Plan()
    plan.shared += workshop_objects(workshop, hub_namespace_exists=hub_namespace_exists)
    plan.shared += render_tier(flavour)
    plan.shared += doctor_objects(workshop, flavour, agnhost_image or AGNHOST_IMAGE)
    for learner in workshop.learners:
        space = workshop.space(learner.name)
        docs = learner_objects(workshop, learner.name, namespaces)
        docs += [space.to_real_object(p, allowed_kinds=LEARNER_KINDS).data for p in pods]
        docs.append(render_wall(workshop.id, learner.name, flavour))
        plan.learners.append((learner.name, docs))
    return plan


def kind_counts(docs: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for doc in docs:
        kind = str(doc.get("kind", "?"))
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def namespace_names(docs: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(
        str((d.get("metadata") or {}).get("name", "")) for d in docs if d.get("kind") == "Namespace"
    )


def _raws(docs: Sequence[dict[str, Any]]) -> list[RawObject]:
    return [RawObject(d, SOURCE) for d in docs]


def _existing(host: WorkshopHost | None, hub: str) -> Workshop | None:
    """The workshop as its ConfigMap describes it now (a re-run), else ``None``."""
    from labkit.model.workshop_objects import workshop_config

    if host is None:
        return None
    data = _workshop_data(host, hub)
    return None if data is None else workshop_config(data)


MIN_KUBERNETES = (1, 30)
"""ValidatingAdmissionPolicy is ``admissionregistration.k8s.io/v1`` (GA) from Kubernetes 1.30,
SelfSubjectReview ``authentication.k8s.io/v1`` from 1.28: a workshop needs both."""


def _check_cluster(
    host: WorkshopHost | None, workshop: Workshop, existing: Workshop | None
) -> None:
    """Refuse, before any write, a real cluster older than :data:`MIN_KUBERNETES`, and a hub
    namespace whose ``labkit-workshop`` ConfigMap belongs to another workshop (one ConfigMap
    names the workshop of the notebooks in that namespace: one workshop per hub namespace)."""
    if existing is not None and existing.id != workshop.id:
        raise WorkshopError(
            f"hub namespace {workshop.hub_namespace} already serves workshop {existing.id} "
            f"(its ConfigMap {WORKSHOP_CONFIGMAP} says so); the notebooks there find one "
            f"workshop\n    fix: use another --hub-namespace for {workshop.id}, or `labkit "
            f"workshop teardown --id {existing.id} --confirm {existing.id}` first"
        )
    version = str(getattr(getattr(host, "cluster", None), "kubernetes_version", "") or "")
    if not isinstance(host, KubeHost) or not version:
        return
    try:
        found = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return
    if found < MIN_KUBERNETES:
        raise WorkshopError(
            f"the cluster runs Kubernetes {version}; workshop mode needs "
            f"{'.'.join(map(str, MIN_KUBERNETES))} or newer (ValidatingAdmissionPolicy v1 guards "
            "the labels the wall depends on)\n    fix: upgrade the cluster, or run the workshop "
            "on a newer one"
        )


def _refuse_checks(checks: Sequence[WorkshopCheck], workshop: Workshop, removed: bool) -> None:
    failed = [c for c in checks if not c.ok and c.required]
    what = "\n  ".join(c.line() for c in failed)
    done = (
        "everything this run created was removed again (by the label "
        f"labkit.dev/workshop={workshop.id})"
        if removed
        else "the existing workshop was left as it was; no learner was added"
    )
    raise WorkshopError(
        f"workshop {workshop.id}: the cluster failed the safety checks, so no learner gets a "
        f"lab on it:\n  {what}\n  {done}\n    fix: fix what the checks name, then run "
        "`labkit workshop init` again"
    )


@dataclass(frozen=True)
class _Target:
    """Where init works: the host (``None``: a simulated workshop not created yet, which
    init creates only once every check before applying has passed), what it is, and
    whether this run creates it."""

    host: WorkshopHost | None
    where: str
    created: bool


def _target(options: InitOptions, workshop_id: str) -> _Target:
    if options.simulated == bool(options.context):
        raise WorkshopError(
            "workshop init needs exactly one of --context CTX (a real cluster) and --simulated"
            "\n    fix: labkit workshop init --id ID --learners FILE --context CTX"
        )
    if not options.simulated:
        assert options.context
        host: WorkshopHost = attach(options.context)
        return _Target(host, host.where(), False)
    if SimulatedHost(workshop_id, options.home).exists():
        host = SimulatedHost.open(workshop_id, options.home)
        return _Target(host, host.where(), False)
    path = workshop_state_path(workshop_id, options.home)
    return _Target(None, f"simulated shared cluster {path}", True)


def _hub(options: InitOptions, workshop_id: str) -> str:
    record = load_record(workshop_id, options.home)
    recorded = record.get("hub_namespace")
    if recorded and options.hub_namespace not in (None, recorded):
        raise WorkshopError(
            f"workshop {workshop_id} runs with hub namespace {recorded}, not "
            f"{options.hub_namespace}\n    fix: drop --hub-namespace, or tear the workshop "
            "down first (`labkit workshop teardown`)"
        )
    return options.hub_namespace or str(recorded or DEFAULT_HUB_NAMESPACE)


def _check_pool_room(workshop: Workshop, host: WorkshopHost | None) -> None:
    from labkit.cluster.topology import topology_manifests
    from labkit.model.workshop_objects import pool_room

    pools = cluster_pools(host) if host is not None else _lab_pools()
    if pools is None:
        return  # the cluster gives its own addresses: no lab pool to fill
    problems = pool_room(workshop, topology_manifests(), pools)
    if problems:
        raise WorkshopError(
            f"workshop {workshop.id}: {len(workshop.learners)} learners do not fit the IP "
            "pools; nothing was applied\n  " + "\n  ".join(problems)
        )


def _provision_learners(host: WorkshopHost, plan: _Plan, progress: Progress) -> None:
    for start in range(0, len(plan.learners), LEARNER_BATCH):
        group = plan.learners[start : start + LEARNER_BATCH]
        names = ", ".join(name for name, _ in group[:3]) + (" ..." if len(group) > 3 else "")
        progress.advance(
            f"learners {start + 1}-{start + len(group)} of {len(plan.learners)}: {names}"
        )
        host.provision(_raws([d for _, docs in group for d in docs]))


def init_workshop(
    options: InitOptions,
    progress: Progress | None = None,
    *,
    canary_settings: Any = None,
    wall_timeout: float = 30.0,
) -> InitResult:
    """``labkit workshop init`` (see the module docstring)."""
    from labkit.model.workshop_objects import spawn_hook

    prog = progress or LogProgress()
    started = mark = time.monotonic()
    timings: list[tuple[str, float]] = []

    def lap(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        timings.append((name, now - mark))
        mark = now

    workshop_id = check_workshop_id(options.workshop_id)
    given = read_learners(options.learners_file, workshop_id)
    hub = _hub(options, workshop_id)
    target = _target(options, workshop_id)
    host = target.host
    prog.step(f"workshop {workshop_id} on the {target.where}", total=4)
    flavour = served_flavour(host) if host is not None else served_flavour_simulated()
    existing = _with_recorded_hub_users(
        _existing(host, hub), load_record(workshop_id, options.home)
    )
    learners, added = _merged(given, existing if existing and existing.id == workshop_id else None)
    workshop = Workshop(workshop_id, learners, _lab_namespaces(), hub)
    _check_cluster(host, workshop, existing)
    _check_pool_room(workshop, host)
    plan = plan_objects(workshop, flavour, hub_namespace_exists=_hub_exists(host, hub))
    lap("render")
    docs = plan.all()
    result = InitResult(
        workshop,
        target.where,
        str(flavour.value),
        namespace_names(docs),
        kind_counts(docs),
        dry_run=options.dry_run,
        added=added,
    )
    if options.dry_run:
        prog.finish(f"workshop {workshop_id}: dry run, nothing was changed")
        return replace(result, timings=tuple(timings))
    if host is None:
        host = SimulatedHost.create(workshop_id, options.home)
    prog.advance(f"shared objects: {len(plan.shared)}")
    host.provision(_raws(plan.shared))
    lap("shared objects")
    prog.advance("safety checks: the enforcement canary and the wall")
    checks = safety_checks(
        host, workshop, flavour, prog, canary_settings=canary_settings, wall_timeout=wall_timeout
    )
    lap("canary and wall")
    if any(not c.ok and c.required for c in checks):
        if existing is None:
            remove_workshop(host, workshop, flavour)
            _remove_tier(host, flavour)
            if isinstance(host, SimulatedHost) and target.created:
                host.destroy()  # the simulated cluster this run made for the workshop
        _refuse_checks(checks, workshop, existing is None)
    _provision_learners(host, plan, prog)
    lap("learners")
    save_record(
        workshop,
        simulated=options.simulated,
        context=options.context,
        flavour=flavour,
        home=options.home,
    )
    hook = hook_path(workshop_id, options.hook_file)
    _write_hook(hook, spawn_hook(workshop))
    timings.append(("total", time.monotonic() - started))
    prog.finish(f"workshop {workshop_id}: {len(learners)} learners ready")
    return replace(result, hook_file=hook, timings=tuple(timings), checks=tuple(checks))


def served_flavour_simulated() -> Any:
    from labkit.model.wall import WallFlavour

    return WallFlavour.CALICO


def _lab_namespaces() -> tuple[str, ...]:
    from labkit.cluster.topology import LAB_NAMESPACES

    return tuple(LAB_NAMESPACES)


def _lab_pools() -> list[Any]:
    from labkit.model.ippools import lab_pools

    return list(lab_pools())


def _write_hook(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LabkitError(
            f"cannot write the KubeSpawner hook to {path}: {exc.strerror or exc}\n    fix: "
            "pass --hook-file PATH in a folder you can write"
        ) from None


# -- doctor -------------------------------------------------------------------------------------
def doctor_workshop(
    workshop_id: str,
    *,
    context: str | None = None,
    home: Path | None = None,
    progress: Progress | None = None,
    canary_settings: Any = None,
    wall_timeout: float = 30.0,
) -> DoctorReport:
    """``labkit workshop doctor``: every check of :func:`labkit.cluster.workshop.doctor.run_checks`."""
    opened = open_workshop(workshop_id, context=context, home=home)
    return run_checks(
        opened.host,
        opened.workshop,
        opened.flavour,
        progress,
        canary_settings=canary_settings,
        wall_timeout=wall_timeout,
    )


# -- reset --------------------------------------------------------------------------------------
def reset_learner(
    workshop_id: str, learner: str, *, context: str | None = None, home: Path | None = None
) -> str:
    """``labkit workshop reset``: learner ``learner``'s lab back to the topology; only objects
    carrying that learner's labels are touched. Returns a one-line summary."""
    from labkit.cluster.workshop.learner import LearnerCluster

    opened = open_workshop(workshop_id, context=context, home=home)
    opened.workshop.learner(learner)  # WorkshopError naming the learners when unknown
    report = LearnerCluster(opened.host, opened.workshop, learner).reset()
    return f"{len(report.applied)} applied, {len(report.unchanged)} unchanged"


# -- teardown -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TeardownResult:
    selector: str
    where: str
    counts: dict[str, int]
    tier_deleted: bool = False
    tier_kept: str = ""


def _kinds(host: WorkshopHost, flavour: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the kinds teardown counts and deletes in order, the wall kinds), named as ``host``
    names them."""
    walls = wall_kinds(flavour)
    if isinstance(host, SimulatedHost):
        walls = tuple(k.partition(".")[0] for k in walls)
    return ("Namespace", *SHARED_KINDS, *walls, *ADMISSION_KINDS), walls


def remove_workshop(host: WorkshopHost, workshop: Workshop, flavour: Any) -> dict[str, int]:
    """Delete what carries ``labkit.dev/workshop=ID``, by that label selector, kind by kind
    (namespaces first, admission policy last); returns the counts per kind."""
    selector = workshop.selector()
    kinds, _ = _kinds(host, flavour)
    counts: dict[str, int] = {}
    for kind in kinds:
        found = len(host.selected(_removal_selector(selector, kind), (kind,)))
        if found:
            counts[kind.partition(".")[0]] = found
    for kind in kinds:
        if counts.get(kind.partition(".")[0]):
            host.delete_selected(_removal_selector(selector, kind), (kind,))
    return counts


def _removal_selector(selector: str, kind: str) -> str:
    """The workshop's selector; for Namespaces, without the hub namespace ``init`` created
    (:data:`HUB_LABEL`): the workshop's objects in it go, the namespace stays."""
    return f"{selector},!{HUB_LABEL}" if kind.partition(".")[0] == "Namespace" else selector


def _remove_tier(host: WorkshopHost, flavour: Any) -> tuple[bool, str]:
    """Delete the shared Calico tier when no wall of any workshop remains."""
    if not flavour.is_calico:
        return False, ""
    _, walls = _kinds(host, flavour)
    left = host.selected(f"{WALL_LABEL}=true", walls)
    if left:
        owners = sorted({name for _, _, name in left})
        return False, f"{len(left)} walls of other workshops remain ({', '.join(owners[:4])})"
    tier = "Tier"
    if isinstance(host, KubeHost) and flavour.value.startswith("crd."):
        tier = "Tier.crd.projectcalico.org"
    try:
        removed = host.delete_selected(f"{WALL_LABEL}=true", (tier,))
    except ClusterError as exc:
        return False, f"could not delete it: {str(exc).splitlines()[0]}"
    return removed > 0, "" if removed else "there was none"


def teardown_workshop(
    workshop_id: str, *, context: str | None = None, home: Path | None = None
) -> TeardownResult:
    """``labkit workshop teardown`` once confirmed (see the module docstring)."""
    check_workshop_id(workshop_id)
    record = load_record(workshop_id, home)
    context = context or record.get("context") or None
    host: WorkshopHost
    if context is None:
        host = SimulatedHost.open(workshop_id, home)
    else:
        host = attach(context)
    flavour = _recorded_flavour(record, context, host)
    workshop = Workshop(workshop_id, (), _lab_namespaces())
    counts = remove_workshop(host, workshop, flavour)
    deleted, kept = _remove_tier(host, flavour)
    if deleted:
        counts["Tier"] = 1
    record_path(workshop_id, home).unlink(missing_ok=True)
    return TeardownResult(workshop.selector(), host.where(), counts, deleted, kept)


__all__ = [
    "InitOptions",
    "InitResult",
    "Opened",
    "TeardownResult",
    "doctor_workshop",
    "init_workshop",
    "open_workshop",
    "reset_learner",
    "teardown_workshop",
]
